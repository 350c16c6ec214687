// What the SQLite and PostgreSQL stores share beyond their SQL: the checks of each write's input
// (one set of rules and messages), the filters of the list queries (both speak `?` placeholders
// through Where), and the mapping of rows to records. A dialect differs only in how a row carries
// JSON (text or parsed) and booleans (0/1 or true/false): a `Decode` says which.
import { invalid, jsonText, optionalInt, optionalText, requireInt, requireText } from './checks.ts';
import { Where } from './rows.ts';
import { toIso, toIsoOrNull, toMs, toMsOrNull } from './time.ts';
import type {
  BootFields,
  ChargerPatch,
  ChargingProfileFilter,
  ChargingProfileInput,
  ChargingProfileRecord,
  CloseTransactionInput,
  ConnectionAttemptRecord,
  ConnectorRecord,
  EventInput,
  EventQuery,
  EventRecord,
  FindingInput,
  FindingQuery,
  FindingRecord,
  JsonValue,
  MeterQuery,
  PageQuery,
  ReservationQuery,
  StartTransactionInput,
  StatusHistoryQuery,
  StatusInput,
  StopRecord,
  StopTransactionInput,
  TimeInput,
  TransactionQuery,
} from './types.ts';

/** How a dialect's rows carry JSON columns and booleans. */
export interface Decode {
  json(v: unknown): JsonValue | null;
  bool(v: unknown): boolean;
}

/** OCPP 1.6 §7.31: the default measurand. */
export const ENERGY_DEFAULT = 'Energy.Active.Import.Register';
const REGISTRATIONS = new Set(['accepted', 'pending', 'rejected']);
const VALIDATION_MODES = new Set(['strict', 'tolerant']);

// ---------------------------------------------------------------- write inputs

/** upsertCharger: checks the patch; returns the time of the change (now unless given). */
export function checkChargerPatch(id: string, patch: ChargerPatch, at: TimeInput | undefined): number {
  requireText(id, 'id');
  const now = at === undefined ? Date.now() : toMs(at);
  if (patch.registration !== undefined && !REGISTRATIONS.has(patch.registration))
    throw invalid(`registration: one of accepted, pending, rejected`);
  if (patch.validationMode != null && !VALIDATION_MODES.has(patch.validationMode))
    throw invalid('validationMode: strict, tolerant or null');
  if (patch.securityProfile !== undefined && ![0, 1, 2, 3].includes(patch.securityProfile))
    throw invalid('securityProfile: 0, 1, 2 or 3');
  if (patch.heartbeatInterval != null && (!Number.isInteger(patch.heartbeatInterval) || patch.heartbeatInterval < 0))
    throw invalid('heartbeatInterval: a non-negative integer or null');
  return now;
}

/** recordBoot: the identity fields, checked. */
export function bootFields(id: string, boot: BootFields, at: TimeInput) {
  return {
    id: requireText(id, 'id'),
    at: toMs(at, 'at'),
    vendor: optionalText(boot.chargePointVendor, 'chargePointVendor'),
    model: optionalText(boot.chargePointModel, 'chargePointModel'),
    cpsn: optionalText(boot.chargePointSerialNumber, 'chargePointSerialNumber'),
    cbsn: optionalText(boot.chargeBoxSerialNumber, 'chargeBoxSerialNumber'),
    fw: optionalText(boot.firmwareVersion, 'firmwareVersion'),
    iccid: optionalText(boot.iccid, 'iccid'),
    imsi: optionalText(boot.imsi, 'imsi'),
    meterType: optionalText(boot.meterType, 'meterType'),
    meterSn: optionalText(boot.meterSerialNumber, 'meterSerialNumber'),
  };
}

/**
 * The identity a BootNotification replaces in an existing charger's row (recordBoot, bootCharger),
 * for an `INSERT … ON CONFLICT (id) DO UPDATE SET`; each dialect adds its own last_seen_at rule.
 */
export const BOOT_IDENTITY_SET = `vendor = excluded.vendor, model = excluded.model,
  charge_point_serial_number = excluded.charge_point_serial_number,
  charge_box_serial_number = excluded.charge_box_serial_number,
  firmware_version = excluded.firmware_version, iccid = excluded.iccid, imsi = excluded.imsi,
  meter_type = excluded.meter_type, meter_serial_number = excluded.meter_serial_number,
  last_boot_at = excluded.last_boot_at`;

/** bootCharger: the identity fields, the registration of a new charger and the address, checked. */
export function bootChargerFields(
  id: string,
  boot: BootFields,
  at: TimeInput,
  connection: { registrationIfNew: string; remoteAddress: string | null },
) {
  if (!REGISTRATIONS.has(connection.registrationIfNew))
    throw invalid('registrationIfNew: accepted, pending or rejected');
  return {
    ...bootFields(id, boot, at),
    registration: connection.registrationIfNew,
    address: optionalText(connection.remoteAddress, 'remoteAddress'),
  };
}

/** recordStatus: charger, connector, status, error code, info, vendor id, vendor error, timestamp, received. */
export function statusParams(s: StatusInput): unknown[] {
  return [
    requireText(s.chargerId, 'chargerId'),
    requireInt(s.connectorId, 'connectorId'),
    requireText(s.status, 'status'),
    requireText(s.errorCode, 'errorCode'),
    optionalText(s.info, 'info'),
    optionalText(s.vendorId, 'vendorId'),
    optionalText(s.vendorErrorCode, 'vendorErrorCode'),
    toMsOrNull(s.timestamp, 'timestamp'),
    toMs(s.at, 'at'),
  ];
}

/** startTransaction: charger, connector, idTag, its key, timestamp, meterStart, reservation, created. */
export function startParams(t: StartTransactionInput): unknown[] {
  return [
    requireText(t.chargerId, 'chargerId'),
    requireInt(t.connectorId, 'connectorId'),
    requireText(t.idTag, 'idTag'),
    t.idTag.toLowerCase(),
    toMs(t.timestamp, 'timestamp'),
    requireInt(t.meterStart, 'meterStart'),
    optionalInt(t.reservationId, 'reservationId'),
    Date.now(),
  ];
}

/** stopTransaction's input, checked; transactionData as JSON text. */
export function stopParams(
  t: StopTransactionInput,
): [
  transactionId: number,
  chargerId: string,
  idTag: string | null,
  timestamp: number,
  meterStop: number,
  reason: string | null,
  transactionData: string | null,
  receivedAt: number,
] {
  return [
    // Negative or odd ids (some firmware sends -1) must still be stored: an integer is enough.
    requireInt(t.transactionId, 'transactionId'),
    requireText(t.chargerId, 'chargerId'),
    optionalText(t.idTag, 'idTag'),
    toMs(t.timestamp, 'timestamp'),
    requireInt(t.meterStop, 'meterStop'),
    optionalText(t.reason, 'reason'),
    jsonText(t.transactionData),
    Date.now(),
  ];
}

/** closeTransaction's input, checked. */
export function closeParams(
  c: CloseTransactionInput,
): [txId: number, chargerId: string, ts: number, meterStop: number, reason: string] {
  return [
    requireInt(c.transactionId, 'transactionId'),
    requireText(c.chargerId, 'chargerId'),
    toMs(c.timestamp, 'timestamp'),
    requireInt(c.meterStop, 'meterStop'),
    requireText(c.reason, 'reason'),
  ];
}

/** saveChargingProfile: charger, profile id, connector, stack level, purpose, profile JSON, time. */
export function profileParams(p: ChargingProfileInput): unknown[] {
  return [
    requireText(p.chargerId, 'chargerId'),
    requireInt(p.chargingProfileId, 'chargingProfileId'),
    requireInt(p.connectorId, 'connectorId'),
    requireInt(p.stackLevel, 'stackLevel'),
    requireText(p.purpose, 'purpose'),
    JSON.stringify(p.profile),
    toMs(p.at, 'at'),
  ];
}

/** recordEvent: charger, kind, payload JSON, time. */
export function eventParams(e: EventInput): [chargerId: string | null, kind: string, payload: string, at: number] {
  return [
    optionalText(e.chargerId, 'chargerId'),
    requireText(e.kind, 'kind'),
    JSON.stringify(e.payload ?? null),
    toMs(e.at, 'at'),
  ];
}

/** recordFindings: one [path, rule, original JSON, repaired JSON] per finding, and the time. */
export function findingParams(
  chargerId: string,
  action: string,
  findings: readonly FindingInput[],
  at: TimeInput,
): { at: number; rows: [path: string, rule: string, original: string, repaired: string][] } {
  requireText(chargerId, 'chargerId');
  requireText(action, 'action');
  const ms = toMs(at, 'at');
  return {
    at: ms,
    rows: findings.map((f, i) => [
      requireText(f.path ?? '', `findings[${i}].path`),
      requireText(f.rule, `findings[${i}].rule`),
      JSON.stringify(f.original ?? null),
      JSON.stringify(f.repaired ?? null),
    ]),
  };
}

// ---------------------------------------------------------------- list filters

export function statusHistoryWhere(chargerId: string, q: StatusHistoryQuery): Where {
  const w = new Where().add('charger_id = ?', chargerId);
  if (q.connectorId !== undefined) w.add('connector_id = ?', q.connectorId);
  if (q.from !== undefined) w.add('received_at >= ?', toMs(q.from, 'from'));
  if (q.to !== undefined) w.add('received_at < ?', toMs(q.to, 'to'));
  return w;
}

export function transactionWhere(q: TransactionQuery): Where {
  const w = new Where();
  if (q.chargerId !== undefined) w.add('charger_id = ?', q.chargerId);
  if (q.connectorId !== undefined) w.add('connector_id = ?', q.connectorId);
  if (q.idTag !== undefined) w.add('id_tag_key = ?', q.idTag.toLowerCase());
  if (q.active !== undefined) w.add(q.active ? 'stopped_at IS NULL' : 'stopped_at IS NOT NULL');
  // Overlap with [from, to): a session running across `from` counts.
  if (q.from !== undefined) w.add('(stopped_at IS NULL OR stopped_at >= ?)', toMs(q.from, 'from'));
  if (q.to !== undefined) w.add('started_at < ?', toMs(q.to, 'to'));
  return w;
}

export function stopWhere(q: PageQuery & { chargerId?: string; transactionId?: number }): Where {
  const w = new Where();
  if (q.chargerId !== undefined) w.add('charger_id = ?', q.chargerId);
  if (q.transactionId !== undefined) w.add('transaction_id = ?', q.transactionId);
  return w;
}

export function eventWhere(q: EventQuery): Where {
  const w = new Where();
  if (q.chargerId !== undefined) w.add('charger_id = ?', q.chargerId);
  if (q.kind !== undefined) w.add('kind = ?', q.kind);
  if (q.from !== undefined) w.add('at >= ?', toMs(q.from, 'from'));
  if (q.to !== undefined) w.add('at < ?', toMs(q.to, 'to'));
  return w;
}

export function findingWhere(chargerId: string, q: FindingQuery): Where {
  const w = new Where().add('charger_id = ?', chargerId);
  if (q.action !== undefined) w.add('action = ?', q.action);
  if (q.rule !== undefined) w.add('rule = ?', q.rule);
  return w;
}

/**
 * Filters over meter_values `m` joined with its samples, one row per sampledValue; `sample` is
 * that row's JSON array in the dialect (`j.value` in SQLite, `j.v` in PostgreSQL).
 */
export function meterWhere(q: MeterQuery, sample: string): Where {
  const w = new Where();
  if (q.chargerId !== undefined) w.add('m.charger_id = ?', q.chargerId);
  if (q.connectorId !== undefined) w.add('m.connector_id = ?', q.connectorId);
  if (q.transactionId !== undefined) w.add('m.transaction_id = ?', q.transactionId);
  if (q.from !== undefined) w.add('m.ts >= ?', toMs(q.from, 'from'));
  if (q.to !== undefined) w.add('m.ts < ?', toMs(q.to, 'to'));
  if (q.measurand !== undefined) w.add(`coalesce(${sample} ->> 3, '${ENERGY_DEFAULT}') = ?`, q.measurand);
  if (q.phase !== undefined) w.add(`${sample} ->> 4 = ?`, q.phase);
  return w;
}

// ---------------------------------------------------------------- rows

export interface ConnectorRow {
  id?: number;
  charger_id: string;
  connector_id: number;
  status: string;
  error_code: string;
  info: string | null;
  vendor_id: string | null;
  vendor_error_code: string | null;
  timestamp: number | null;
  updated_at?: number;
  received_at?: number;
}

export function connectorRecord(r: ConnectorRow): ConnectorRecord {
  return {
    chargerId: r.charger_id,
    connectorId: r.connector_id,
    status: r.status,
    errorCode: r.error_code,
    info: r.info,
    vendorId: r.vendor_id,
    vendorErrorCode: r.vendor_error_code,
    timestamp: toIsoOrNull(r.timestamp),
    updatedAt: toIso((r.updated_at ?? r.received_at)!),
  };
}

export function stopRecord(r: any, d: Decode): StopRecord {
  return {
    id: Number(r.id),
    transactionId: Number(r.transaction_id),
    chargerId: r.charger_id,
    idTag: r.id_tag,
    timestamp: toIso(r.timestamp),
    meterStop: r.meter_stop,
    reason: r.reason,
    transactionData: d.json(r.transaction_data),
    known: d.bool(r.known),
    duplicate: d.bool(r.duplicate),
    receivedAt: toIso(r.received_at),
  };
}

export function eventRecord(r: any, d: Decode): EventRecord {
  return { id: Number(r.id), chargerId: r.charger_id, kind: r.kind, payload: d.json(r.payload), at: toIso(r.at) };
}

export function findingRecord(r: any, d: Decode): FindingRecord {
  return {
    id: Number(r.id),
    chargerId: r.charger_id,
    action: r.action,
    path: r.path,
    rule: r.rule,
    original: d.json(r.original),
    repaired: d.json(r.repaired),
    at: toIso(r.at),
  };
}

export function connectionAttemptRecord(r: any): ConnectionAttemptRecord {
  return {
    id: r.id,
    count: Number(r.count),
    firstAt: toIso(r.first_at),
    lastAt: toIso(r.last_at),
    remoteAddress: r.remote_address,
  };
}

export function chargingProfileRecord(r: any, d: Decode): ChargingProfileRecord {
  return {
    chargerId: r.charger_id,
    connectorId: r.connector_id,
    chargingProfileId: r.charging_profile_id,
    stackLevel: r.stack_level,
    purpose: r.purpose,
    profile: d.json(r.profile),
    updatedAt: toIso(r.updated_at),
  };
}

export function chargingProfileWhere(chargerId: string, filter: ChargingProfileFilter): Where {
  const w = new Where().add('charger_id = ?', chargerId);
  if (filter.chargingProfileId !== undefined) w.add('charging_profile_id = ?', filter.chargingProfileId);
  if (filter.connectorId !== undefined) w.add('connector_id = ?', filter.connectorId);
  if (filter.purpose !== undefined) w.add('purpose = ?', filter.purpose);
  if (filter.stackLevel !== undefined) w.add('stack_level = ?', filter.stackLevel);
  return w;
}

export function reservationWhere(q: ReservationQuery): Where {
  const w = new Where();
  if (q.chargerId !== undefined) w.add('charger_id = ?', q.chargerId);
  if (q.status !== undefined) w.add('status = ?', q.status);
  return w;
}

// ---------------------------------------------------------------- batching

/**
 * lastSeenAt coalescing: every touchCharger of one write batch joins one map (the latest time per
 * charger), written by one operation, whatever the frame rate. `push` queues that operation; the
 * queue's generation tells whether the batch holding it has been handed over yet.
 */
export class TouchBatch {
  #touches: Map<string, number> | null = null;
  #generation = -1;
  #promise: Promise<void> | null = null;
  readonly #push: (touches: Map<string, number>) => Promise<void>;

  constructor(push: (touches: Map<string, number>) => Promise<void>) {
    this.#push = push;
  }

  touch(id: string, at: TimeInput, generation: number): Promise<void> {
    let ms: number;
    try {
      ms = toMs(at, 'at');
    } catch (err) {
      return Promise.reject(err);
    }
    // Join the batch's touch write while that batch has not been handed over.
    if (this.#touches !== null && this.#generation === generation && this.#promise !== null) {
      const prev = this.#touches.get(id);
      if (prev === undefined || prev < ms) this.#touches.set(id, ms);
      return this.#promise;
    }
    const touches = new Map<string, number>([[id, ms]]);
    this.#touches = touches;
    this.#generation = generation;
    // The map travels (or runs) when the batch is handed over; until then touches join it.
    this.#promise = this.#push(touches);
    return this.#promise;
  }
}
