// Keeping Ampere's copy of a charger's state in step with the commands it accepted.
import type { ActionMap, CentralAction } from '../../ocpp/index.ts';
import { REDACTED, SECRET_CONFIGURATION_KEYS } from '../security/charger-security.ts';
import type { HandlerHost } from './context.ts';
import { afterSecurityCommand } from './security.ts';

export async function afterCommand<A extends CentralAction>(
  central: HandlerHost,
  chargerId: string,
  action: A,
  request: ActionMap[A]['request'],
  response: ActionMap[A]['response'],
): Promise<void> {
  const now = central.clock.now();
  const store = central.store;
  await afterSecurityCommand(central, chargerId, action, request, response);
  switch (action) {
    case 'GetConfiguration': {
      const req = request as ActionMap['GetConfiguration']['request'];
      const res = response as ActionMap['GetConfiguration']['response'];
      const entries = (res.configurationKey ?? []).map((k) => ({
        key: k.key,
        // A charger that reads back its AuthorizationKey: the copy never keeps it.
        value: SECRET_CONFIGURATION_KEYS.has(k.key) && k.value ? REDACTED : (k.value ?? null),
        readonly: k.readonly,
      }));
      // A request without keys returns the whole configuration: the copy is replaced, not merged.
      await store.saveConfiguration(chargerId, entries, now, { replace: !req.key || req.key.length === 0 });
      return;
    }
    case 'ChangeConfiguration': {
      const req = request as ActionMap['ChangeConfiguration']['request'];
      const res = response as ActionMap['ChangeConfiguration']['response'];
      if (res.status === 'Accepted' || res.status === 'RebootRequired') {
        const known = (await store.getConfiguration(chargerId)).find((e) => e.key === req.key);
        await store.saveConfiguration(
          chargerId,
          [
            {
              key: req.key,
              value: SECRET_CONFIGURATION_KEYS.has(req.key) ? REDACTED : req.value,
              readonly: known?.readonly ?? false,
            },
          ],
          now,
        );
      }
      return;
    }
    case 'SetChargingProfile': {
      const req = request as ActionMap['SetChargingProfile']['request'];
      const res = response as ActionMap['SetChargingProfile']['response'];
      if (res.status === 'Accepted') {
        const p = req.csChargingProfiles;
        await store.saveChargingProfile({
          chargerId,
          connectorId: req.connectorId,
          chargingProfileId: p.chargingProfileId,
          stackLevel: p.stackLevel,
          purpose: p.chargingProfilePurpose,
          profile: p as never,
          at: now,
        });
      }
      return;
    }
    case 'ClearChargingProfile': {
      const req = request as ActionMap['ClearChargingProfile']['request'];
      const res = response as ActionMap['ClearChargingProfile']['response'];
      if (res.status === 'Accepted') {
        // OCPP 1.6 §5.5 and errata: an id clears that profile whatever the other fields say.
        const filter =
          req.id !== undefined
            ? { chargingProfileId: req.id }
            : {
                ...(req.connectorId !== undefined ? { connectorId: req.connectorId } : {}),
                ...(req.chargingProfilePurpose ? { purpose: req.chargingProfilePurpose } : {}),
                ...(req.stackLevel !== undefined ? { stackLevel: req.stackLevel } : {}),
              };
        await store.clearChargingProfiles(chargerId, filter);
      }
      return;
    }
    default:
      return;
  }
}
