// Reservations (OCPP 1.6 §5.13 ReserveNow, §5.3 CancelReservation): Ampere numbers them (the
// reservationId), refuses what a charger cannot do before anything is sent (no Reservation
// profile, as go-e; connector 0 without ReserveConnectorZeroSupported), keeps the charger's
// answer, and a StartTransaction with the reservationId, or with the reserved tag on that
// connector, consumes it.
import { AmpereError } from '../errors.ts';
import type { ReservationRecord, Store } from '../store/types.ts';
import type { CentralHost } from './ports.ts';

export interface ReserveRequest {
  connectorId: number;
  idTag: string;
  parentIdTag?: string;
  expiryDate: string;
}

/** A reservation as the operator sees it: `expired` once an Accepted one is past its expiry. */
export type ReservationView = ReservationRecord;

export function reservationView(r: ReservationRecord, now: number): ReservationView {
  return r.status === 'Accepted' && Date.parse(r.expiryDate) <= now ? { ...r, status: 'expired' } : r;
}

const CAPABILITY_KEYS = ['SupportedFeatureProfiles', 'ReserveConnectorZeroSupported'];

/** The charger's SupportedFeatureProfiles and ReserveConnectorZeroSupported: stored, else asked. */
async function capabilities(central: CentralHost, chargerId: string): Promise<Map<string, string | null>> {
  const known = new Map(
    (await central.store.getConfiguration(chargerId))
      .filter((k) => CAPABILITY_KEYS.includes(k.key))
      .map((k) => [k.key, k.value]),
  );
  if (CAPABILITY_KEYS.every((k) => known.has(k))) return known;
  try {
    const r = await central.call(chargerId, 'GetConfiguration', { key: CAPABILITY_KEYS });
    for (const k of r.configurationKey ?? []) known.set(k.key, k.value ?? null);
  } catch (e) {
    // A charger that cannot say: go on and let ReserveNow's answer speak.
    central.log.info({ chargerId, err: (e as Error).message }, 'reservation capabilities unknown');
  }
  return known;
}

export async function reserve(
  central: CentralHost,
  chargerId: string,
  req: ReserveRequest,
): Promise<{ reservation: ReservationView; status: string }> {
  if (!central.isConnected(chargerId)) {
    throw new AmpereError('AMPERE_ERR_CHARGER_OFFLINE', `Charger ${chargerId} is not connected`, { chargerId });
  }
  const caps = await capabilities(central, chargerId);
  const profiles = caps.get('SupportedFeatureProfiles');
  if (profiles && !profiles.split(',').some((p) => p.trim() === 'Reservation')) {
    throw new AmpereError(
      'AMPERE_ERR_CALL_REFUSED',
      `Charger ${chargerId} does not take reservations: its SupportedFeatureProfiles (${profiles}) have no Reservation profile`,
      { chargerId, supportedFeatureProfiles: profiles },
    );
  }
  // OCPP 1.6 §5.13: connector 0 only when the charger says ReserveConnectorZeroSupported = true.
  if (req.connectorId === 0 && caps.get('ReserveConnectorZeroSupported')?.toLowerCase() !== 'true') {
    throw new AmpereError(
      'AMPERE_ERR_CALL_REFUSED',
      `Charger ${chargerId} does not reserve connector 0 (ReserveConnectorZeroSupported is ${caps.get('ReserveConnectorZeroSupported') ?? 'not reported'}); reserve a connector from 1`,
      { chargerId },
    );
  }
  const now = central.clock.now();
  const created = await central.store.createReservation({ chargerId, ...req }, now);
  let status: string;
  try {
    ({ status } = await central.call(chargerId, 'ReserveNow', {
      connectorId: req.connectorId,
      expiryDate: req.expiryDate,
      idTag: req.idTag,
      reservationId: created.id,
      ...(req.parentIdTag ? { parentIdTag: req.parentIdTag } : {}),
    }));
  } catch (e) {
    await central.store.updateReservation(created.id, { status: 'failed' }, central.clock.now());
    throw e;
  }
  const updated = await central.store.updateReservation(created.id, { status }, central.clock.now());
  return { reservation: reservationView(updated ?? created, central.clock.now()), status };
}

export async function cancelReservation(
  central: CentralHost,
  chargerId: string,
  reservationId: number,
): Promise<{ reservation: ReservationView; status: string }> {
  const r = await central.store.getReservation(reservationId);
  if (!r || r.chargerId !== chargerId) {
    throw new AmpereError('AMPERE_ERR_NOT_FOUND', `No reservation ${reservationId} at charger ${chargerId}`, {
      chargerId,
      reservationId,
    });
  }
  const { status } = await central.call(chargerId, 'CancelReservation', { reservationId });
  const updated =
    status === 'Accepted'
      ? await central.store.updateReservation(reservationId, { status: 'cancelled' }, central.clock.now())
      : r;
  return { reservation: reservationView(updated ?? r, central.clock.now()), status };
}

/**
 * A started transaction consumes the reservation it names, or else an Accepted, unexpired one
 * of the same tag on its connector (or on connector 0) of that charger.
 */
export async function consumeReservation(
  store: Store,
  t: { chargerId: string; connectorId: number; idTag: string; reservationId: number | null; transactionId: number },
  now: number,
): Promise<ReservationRecord | null> {
  let r: ReservationRecord | null = null;
  if (t.reservationId !== null) {
    const named = await store.getReservation(t.reservationId);
    if (named && named.chargerId === t.chargerId && named.status === 'Accepted') r = named;
  } else {
    const open = await store.listReservations({ chargerId: t.chargerId, status: 'Accepted', limit: 100 });
    r =
      open.items.find(
        (x) =>
          x.idTag.toLowerCase() === t.idTag.toLowerCase() &&
          (x.connectorId === t.connectorId || x.connectorId === 0) &&
          Date.parse(x.expiryDate) > now,
      ) ?? null;
  }
  if (!r) return null;
  return store.updateReservation(r.id, { status: 'consumed', transactionId: t.transactionId }, now);
}
