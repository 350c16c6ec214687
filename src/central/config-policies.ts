// Configuration policies: the configuration an operator wants on a charger (fleet-wide, per
// vendor + model, or per charger; the more specific wins), sent with ChangeConfiguration after
// each Accepted boot (what ev.energy does on connect), with the charger's answer kept per key.
// A key the charger refused (Rejected: read-only or an invalid value, e.g. go-e's
// MeterValuesSampledData; NotSupported: unknown key) is not sent again until its desired value
// changes, so a read-only key is not retried forever.
import { AmpereError, isAmpereError } from '../errors.ts';
import type { ChargerRecord, ConfigOutcomeInput, ConfigOutcomeRecord, ConfigPolicyRecord } from '../store/types.ts';
import { onAcceptedBoot } from './after-boot.ts';
import type { CentralHost } from './ports.ts';

export interface DesiredKey {
  key: string;
  value: string;
  /** Which policy gave the value. */
  scope: ConfigPolicyRecord['scope'];
}

export interface ApplyResult extends ConfigOutcomeInput {
  /** Not sent now: the charger refused this value before. */
  skipped: boolean;
}

export interface DriftItem {
  key: string;
  desired: string;
  scope: ConfigPolicyRecord['scope'];
  /** The charger's value (null: it does not report the key). */
  actual: string | null;
  readonly: boolean | null;
  inSync: boolean;
  outcome: Omit<ConfigOutcomeRecord, 'chargerId'> | null;
}

export interface DriftReport {
  chargerId: string;
  /** `charger`: read now with GetConfiguration; `stored`: the last copy (the charger is offline). */
  source: 'charger' | 'stored';
  items: DriftItem[];
}

/** Answers after which a value is not sent again (OCPP 1.6 §5.3: Rejected, NotSupported). */
const FINAL = new Set(['Rejected', 'NotSupported']);

const NOTES: Record<string, string> = {
  Rejected: 'not settable on this model (read-only or value refused); not retried until the desired value changes',
  NotSupported: 'the charger does not know this key; not retried until the desired value changes',
  RebootRequired: 'takes effect after the charger reboots',
};

const RANK = { fleet: 0, model: 1, charger: 2 } as const;

/** The desired configuration of one charger: fleet < vendor + model < charger. */
export function desiredConfiguration(
  policies: readonly ConfigPolicyRecord[],
  charger: Pick<ChargerRecord, 'id' | 'vendor' | 'model'>,
): DesiredKey[] {
  const out = new Map<string, DesiredKey & { rank: number }>();
  for (const p of policies) {
    const applies =
      p.scope === 'fleet' ||
      (p.scope === 'model' && p.vendor === charger.vendor && p.model === charger.model) ||
      (p.scope === 'charger' && p.chargerId === charger.id);
    if (!applies) continue;
    const rank = RANK[p.scope];
    const before = out.get(p.key);
    if (!before || before.rank <= rank) out.set(p.key, { key: p.key, value: p.value, scope: p.scope, rank });
  }
  return [...out.values()].sort((a, b) => a.key.localeCompare(b.key)).map(({ rank: _r, ...d }) => d);
}

async function desiredFor(central: CentralHost, chargerId: string): Promise<DesiredKey[]> {
  const charger = await central.store.getCharger(chargerId);
  if (!charger) throw new AmpereError('AMPERE_ERR_NOT_FOUND', `No charger "${chargerId}"`, { chargerId });
  return desiredConfiguration(await central.store.listConfigPolicies(), charger);
}

/**
 * Sends the desired configuration with ChangeConfiguration, one key at a time, and stores each
 * answer. `force` also sends values the charger refused before.
 */
export async function applyConfigPolicies(
  central: CentralHost,
  chargerId: string,
  opts: { force?: boolean } = {},
): Promise<ApplyResult[]> {
  const desired = await desiredFor(central, chargerId);
  if (desired.length === 0) return [];
  const last = new Map((await central.store.listConfigOutcomes(chargerId)).map((o) => [o.key, o]));
  const results: ApplyResult[] = [];
  for (const d of desired) {
    const before = last.get(d.key);
    if (!opts.force && before && before.value === d.value && FINAL.has(before.status)) {
      results.push({ key: d.key, value: d.value, status: before.status, note: before.note, skipped: true });
      continue;
    }
    try {
      const { status } = await central.call(chargerId, 'ChangeConfiguration', { key: d.key, value: d.value });
      results.push({ key: d.key, value: d.value, status, note: NOTES[status] ?? null, skipped: false });
    } catch (e) {
      // Offline or gone: nothing more can be sent now; the next boot tries again.
      if (isAmpereError(e, 'AMPERE_ERR_CHARGER_OFFLINE') || isAmpereError(e, 'AMPERE_ERR_SESSION_CLOSED')) break;
      results.push({ key: d.key, value: d.value, status: 'Failed', note: (e as Error).message, skipped: false });
    }
  }
  const sent = results.filter((r) => !r.skipped);
  if (sent.length > 0) {
    await central.store.recordConfigOutcomes(
      chargerId,
      sent.map(({ skipped: _s, ...o }) => o),
      central.clock.now(),
    );
  }
  return results;
}

/** Desired against actual: read with GetConfiguration when connected, else the stored copy. */
export async function configurationDrift(central: CentralHost, chargerId: string): Promise<DriftReport> {
  const desired = await desiredFor(central, chargerId);
  let source: DriftReport['source'] = 'stored';
  const actual = new Map<string, { value: string | null; readonly: boolean }>();
  if (central.isConnected(chargerId) && desired.length > 0) {
    const r = await central.call(chargerId, 'GetConfiguration', { key: desired.map((d) => d.key) });
    for (const k of r.configurationKey ?? []) actual.set(k.key, { value: k.value ?? null, readonly: k.readonly });
    source = 'charger';
  } else {
    for (const k of await central.store.getConfiguration(chargerId)) actual.set(k.key, k);
  }
  const outcomes = new Map((await central.store.listConfigOutcomes(chargerId)).map((o) => [o.key, o]));
  return {
    chargerId,
    source,
    items: desired.map((d) => {
      const a = actual.get(d.key);
      const o = outcomes.get(d.key);
      return {
        key: d.key,
        desired: d.value,
        scope: d.scope,
        actual: a?.value ?? null,
        readonly: a ? a.readonly : null,
        inSync: a?.value === d.value,
        outcome: o ? { key: o.key, value: o.value, status: o.status, note: o.note, at: o.at } : null,
      };
    }),
  };
}

/** Applies the policies after every Accepted BootNotification; returns the unsubscribe. */
export function startConfigPolicies(central: CentralHost): () => void {
  return onAcceptedBoot(central, 'configuration policies', (id) => applyConfigPolicies(central, id));
}
