// The SQLite writes, as data: each write of the store is an operation code plus plain
// parameters, run by `runWriteOp` on whichever connection holds the write side (the store's own
// connection, or the writer thread's; see sqlite.ts and sqlite-writer.ts). Parameters are
// validated and encoded by the caller before queueing; an operation only binds them, and may run
// twice (write-queue.ts: savepoint re-run), so it has no effect outside the database. Its result
// is plain data (structured-cloneable), and so are the errors it throws, once `encodeError`d.
import Database from 'better-sqlite3';
import { DIAGNOSTICS_INSERT } from './diagnostics.ts';
import { StoreError, type StoreErrorCode } from './errors.ts';
import { METER_COLUMNS } from './meter-samples.ts';
import { ACTIVE_POWER, ENERGY_REGISTER } from './retention.ts';
import { RECEIVED_STOP } from './rows.ts';
import { BOOT_IDENTITY_SET } from './shared.ts';
import { toIso, toIsoOrNull } from './time.ts';
import type {
  ChargerRecord,
  IdTagRecord,
  IdTagStatus,
  JsonValue,
  StartTransactionResult,
  StopTransactionResult,
  TransactionRecord,
} from './types.ts';
import type { TxControl } from './write-queue.ts';

export type Stmt = Database.Statement<unknown[], unknown>;
/** Prepared statement by SQL text, cached per connection. */
export type Prepare = (sql: string) => Stmt;

export function statementCache(db: Database.Database): Prepare {
  const cache = new Map<string, Stmt>();
  return (sql) => {
    let s = cache.get(sql);
    if (s === undefined) {
      s = db.prepare(sql);
      cache.set(sql, s);
    }
    return s;
  };
}

/**
 * WAL pages (4 KiB) at which the writing connection checkpoints inside a COMMIT; SQLite's default
 * is 1000. The background checkpointer copies the WAL into the database every 500 ms, but under a
 * steady stream of commits SQLite rarely finds it all copied when a transaction begins (when it
 * would start the WAL over), so the WAL grows to this limit, and that checkpoint holds every write
 * for 15-30 ms here (measured in the writer thread). At 40 000 pages (160 MB of WAL at most) an
 * open loop of 5 000 msg/s meets it every few seconds instead of every second (bench/README.md).
 */
const WAL_AUTOCHECKPOINT_PAGES = 40_000;

/** Per-connection settings, the same for the store's connection and the writer thread's. */
export function configureConnection(db: Database.Database, busyTimeoutMs: number): void {
  // WAL + synchronous=NORMAL: a commit is durable once written to the WAL, which survives a
  // killed process (kill -9); only an OS crash or power loss can lose the last commits.
  db.pragma('journal_mode = WAL');
  db.pragma('synchronous = NORMAL');
  db.pragma(`busy_timeout = ${Math.trunc(busyTimeoutMs)}`);
  db.pragma('foreign_keys = OFF');
  // Keep temporary b-trees (sorting, GROUP BY of downsampling) in memory.
  db.pragma('temp_store = MEMORY');
  // Checkpoint in the COMMIT only at 160 MB of WAL rather than SQLite's 4 MB: the hot pages (the
  // tail of each table) are rewritten by every commit, and a rarer checkpoint copies each of them
  // once instead of many times (measured at 40 MB: commit cost per meter value −40 %).
  db.pragma(`wal_autocheckpoint = ${WAL_AUTOCHECKPOINT_PAGES}`);
}

export function txControl(db: Database.Database): TxControl {
  const begin = db.prepare('BEGIN IMMEDIATE');
  const commit = db.prepare('COMMIT');
  const rollback = db.prepare('ROLLBACK');
  const savepoint = db.prepare('SAVEPOINT w');
  const release = db.prepare('RELEASE w');
  const rollbackTo = db.prepare('ROLLBACK TO w');
  return {
    begin: () => begin.run(),
    commit: () => commit.run(),
    rollback: () => rollback.run(),
    savepoint: () => savepoint.run(),
    release: () => release.run(),
    rollbackToSavepoint: () => rollbackTo.run(),
    get inTransaction() {
      return db.inTransaction;
    },
  };
}

export function parseJson(text: string | null): JsonValue | null {
  return text === null ? null : (JSON.parse(text) as JsonValue);
}

// ---------------------------------------------------------------- rows

export interface ChargerRow {
  id: string;
  registration: ChargerRecord['registration'];
  vendor: string | null;
  model: string | null;
  charge_point_serial_number: string | null;
  charge_box_serial_number: string | null;
  firmware_version: string | null;
  iccid: string | null;
  imsi: string | null;
  meter_type: string | null;
  meter_serial_number: string | null;
  last_boot_at: number | null;
  last_seen_at: number | null;
  connected: number;
  remote_address: string | null;
  heartbeat_interval: number | null;
  validation_mode: ChargerRecord['validationMode'];
  notes: string | null;
  security_profile: number;
  auth_key_hash: string | null;
  created_at: number;
  updated_at: number;
}

export function chargerRecord(r: ChargerRow): ChargerRecord {
  return {
    id: r.id,
    registration: r.registration,
    vendor: r.vendor,
    model: r.model,
    chargePointSerialNumber: r.charge_point_serial_number,
    chargeBoxSerialNumber: r.charge_box_serial_number,
    firmwareVersion: r.firmware_version,
    iccid: r.iccid,
    imsi: r.imsi,
    meterType: r.meter_type,
    meterSerialNumber: r.meter_serial_number,
    lastBootAt: toIsoOrNull(r.last_boot_at),
    lastSeenAt: toIsoOrNull(r.last_seen_at),
    connected: r.connected === 1,
    remoteAddress: r.remote_address,
    heartbeatInterval: r.heartbeat_interval,
    validationMode: r.validation_mode,
    notes: r.notes,
    securityProfile: r.security_profile as ChargerRecord['securityProfile'],
    authKeyHash: r.auth_key_hash,
    createdAt: toIso(r.created_at),
    updatedAt: toIso(r.updated_at),
  };
}

export interface IdTagRow {
  id_tag: string;
  status: IdTagStatus;
  expiry_date: number | null;
  parent_id_tag: string | null;
  note: string | null;
  smart_plan: string | null;
  created_at: number;
  updated_at: number;
}

export function idTagRecord(r: IdTagRow): IdTagRecord {
  return {
    idTag: r.id_tag,
    status: r.status,
    expiryDate: toIsoOrNull(r.expiry_date),
    parentIdTag: r.parent_id_tag,
    note: r.note,
    smartPlan: parseJson(r.smart_plan),
    createdAt: toIso(r.created_at),
    updatedAt: toIso(r.updated_at),
  };
}

export interface TransactionRow {
  id: number;
  charger_id: string;
  connector_id: number;
  id_tag: string;
  started_at: number;
  meter_start: number;
  reservation_id: number | null;
  stopped_at: number | null;
  meter_stop: number | null;
  stop_reason: string | null;
  stop_id_tag: string | null;
  created_at: number;
}

export function transactionRecord(r: TransactionRow): TransactionRecord {
  return {
    id: r.id,
    chargerId: r.charger_id,
    connectorId: r.connector_id,
    idTag: r.id_tag,
    startedAt: toIso(r.started_at),
    meterStart: r.meter_start,
    reservationId: r.reservation_id,
    stoppedAt: toIsoOrNull(r.stopped_at),
    meterStop: r.meter_stop,
    stopReason: r.stop_reason,
    stopIdTag: r.stop_id_tag,
    energyWh: r.stopped_at !== null && r.meter_stop !== null ? r.meter_stop - r.meter_start : null,
    createdAt: toIso(r.created_at),
  };
}

// ---------------------------------------------------------------- operations

const UPSERT_TAG = `INSERT INTO id_tags (id_tag_key, id_tag, status, expiry_date, parent_id_tag, note, smart_plan,
    created_at, updated_at)
  VALUES (@key, @idTag, coalesce(@status, 'Accepted'), @expiry, @parent, @note, @plan, @now, @now)
  ON CONFLICT (id_tag_key) DO UPDATE SET
    id_tag = excluded.id_tag,
    status = CASE WHEN @hasStatus THEN excluded.status ELSE status END,
    expiry_date = CASE WHEN @hasExpiry THEN excluded.expiry_date ELSE expiry_date END,
    parent_id_tag = CASE WHEN @hasParent THEN excluded.parent_id_tag ELSE parent_id_tag END,
    note = CASE WHEN @hasNote THEN excluded.note ELSE note END,
    smart_plan = CASE WHEN @hasPlan THEN excluded.smart_plan ELSE smart_plan END,
    updated_at = excluded.updated_at`;

// Retention: one row per connector and UTC day. The total (phase-less) energy register and active
// power only; a day folded in several batches merges (lowest, highest, more readings).
const PRUNE_FOLD = `INSERT INTO meter_daily (charger_id, connector_id, day, min_wh, max_wh, max_w, readings)
  SELECT m.charger_id, m.connector_id, strftime('%Y-%m-%d', m.ts / 1000, 'unixepoch'),
    min(CASE WHEN coalesce(j.value ->> 3, '${ENERGY_REGISTER}') = '${ENERGY_REGISTER}' AND j.value ->> 4 IS NULL THEN j.value ->> 7 END),
    max(CASE WHEN coalesce(j.value ->> 3, '${ENERGY_REGISTER}') = '${ENERGY_REGISTER}' AND j.value ->> 4 IS NULL THEN j.value ->> 7 END),
    max(CASE WHEN j.value ->> 3 = '${ACTIVE_POWER}' AND j.value ->> 4 IS NULL THEN j.value ->> 8 END),
    count(DISTINCT m.id)
  FROM meter_values m, json_each(m.samples) j
  WHERE m.id IN (BATCH)
  GROUP BY 1, 2, 3
  ON CONFLICT (charger_id, connector_id, day) DO UPDATE SET
    min_wh = min(coalesce(min_wh, excluded.min_wh), coalesce(excluded.min_wh, min_wh)),
    max_wh = max(coalesce(max_wh, excluded.max_wh), coalesce(excluded.max_wh, max_wh)),
    max_w = max(coalesce(max_w, excluded.max_w), coalesce(excluded.max_w, max_w)),
    readings = readings + excluded.readings`;

/** BOOT_IDENTITY_SET (shared.ts) and this dialect's rule for last_seen_at: it never goes back. */
const BOOT_SET = `${BOOT_IDENTITY_SET},
  last_seen_at = max(coalesce(last_seen_at, 0), excluded.last_seen_at)`;

export const writeOps = {
  noop(): void {},

  upsertCharger(s: Prepare, p: Record<string, unknown> & { id: string }): ChargerRecord {
    s(`INSERT INTO chargers (id, registration, heartbeat_interval, validation_mode, notes,
        security_profile, auth_key_hash, created_at, updated_at)
      VALUES (@id, coalesce(@registration, 'pending'), @heartbeatInterval, @validationMode, @notes,
        coalesce(@securityProfile, 0), @authKeyHash, @now, @now)
      ON CONFLICT (id) DO UPDATE SET
        registration = CASE WHEN @hasRegistration THEN excluded.registration ELSE registration END,
        heartbeat_interval = CASE WHEN @hasHeartbeatInterval THEN excluded.heartbeat_interval ELSE heartbeat_interval END,
        validation_mode = CASE WHEN @hasValidationMode THEN excluded.validation_mode ELSE validation_mode END,
        notes = CASE WHEN @hasNotes THEN excluded.notes ELSE notes END,
        security_profile = CASE WHEN @hasSecurityProfile THEN excluded.security_profile ELSE security_profile END,
        auth_key_hash = CASE WHEN @hasAuthKeyHash THEN excluded.auth_key_hash ELSE auth_key_hash END,
        updated_at = excluded.updated_at`).run(p);
    return chargerRecord(s('SELECT * FROM chargers WHERE id = ?').get(p.id) as ChargerRow);
  },

  deleteCharger(s: Prepare, id: string): boolean {
    // History (transactions, meter values, status, events, findings) is kept: it is evidence.
    s('DELETE FROM connectors WHERE charger_id = ?').run(id);
    s('DELETE FROM configuration WHERE charger_id = ?').run(id);
    s('DELETE FROM charging_profiles WHERE charger_id = ?').run(id);
    s('DELETE FROM connection_attempts WHERE id = ?').run(id);
    return s('DELETE FROM chargers WHERE id = ?').run(id).changes > 0;
  },

  recordBoot(s: Prepare, p: Record<string, unknown> & { id: string }): ChargerRecord {
    // Every boot replaces the whole identity: a field the charger stopped sending is gone.
    s(`INSERT INTO chargers (id, vendor, model, charge_point_serial_number, charge_box_serial_number,
        firmware_version, iccid, imsi, meter_type, meter_serial_number, last_boot_at, last_seen_at,
        created_at, updated_at)
      VALUES (@id, @vendor, @model, @cpsn, @cbsn, @fw, @iccid, @imsi, @meterType, @meterSn, @at, @at, @at, @at)
      ON CONFLICT (id) DO UPDATE SET
        ${BOOT_SET},
        updated_at = excluded.updated_at`).run(p);
    return chargerRecord(s('SELECT * FROM chargers WHERE id = ?').get(p.id) as ChargerRow);
  },

  /** lastSeenAt by charger id, coalesced by the caller. */
  touchChargers(s: Prepare, touches: Map<string, number>): void {
    const stmt = s('UPDATE chargers SET last_seen_at = max(coalesce(last_seen_at, 0), ?) WHERE id = ?');
    for (const [id, t] of touches) stmt.run(t, id);
  },

  setConnection(s: Prepare, p: [connected: number, address: string | null, at: number, id: string]): void {
    s(`UPDATE chargers SET connected = ?, remote_address = coalesce(?, remote_address),
        last_seen_at = max(coalesce(last_seen_at, 0), ?) WHERE id = ?`).run(p);
  },

  markAllDisconnected(s: Prepare): number {
    return s('UPDATE chargers SET connected = 0 WHERE connected = 1').run().changes;
  },

  recordConnectionAttempt(s: Prepare, p: [id: string, first: number, last: number, address: string | null]): void {
    s(`INSERT INTO connection_attempts (id, count, first_at, last_at, remote_address) VALUES (?, 1, ?, ?, ?)
      ON CONFLICT (id) DO UPDATE SET count = count + 1, first_at = min(first_at, excluded.first_at),
        last_at = max(last_at, excluded.last_at), remote_address = excluded.remote_address`).run(p);
  },

  deleteConnectionAttempt(s: Prepare, id: string): boolean {
    return s('DELETE FROM connection_attempts WHERE id = ?').run(id).changes > 0;
  },

  recordStatus(s: Prepare, p: unknown[]): void {
    s(`INSERT OR REPLACE INTO connectors (charger_id, connector_id, status, error_code, info, vendor_id,
      vendor_error_code, timestamp, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(p);
    s(`INSERT INTO status_history (charger_id, connector_id, status, error_code, info, vendor_id,
      vendor_error_code, timestamp, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(p);
  },

  upsertIdTag(s: Prepare, p: Record<string, unknown> & { key: string }): IdTagRecord {
    s(UPSERT_TAG).run(p);
    return idTagRecord(s('SELECT * FROM id_tags WHERE id_tag_key = ?').get(p.key) as IdTagRow);
  },

  upsertIdTags(s: Prepare, all: Record<string, unknown>[]): number {
    const stmt = s(UPSERT_TAG);
    for (const p of all) stmt.run(p);
    return all.length;
  },

  deleteIdTag(s: Prepare, key: string): boolean {
    return s('DELETE FROM id_tags WHERE id_tag_key = ?').run(key).changes > 0;
  },

  /** [chargerId, connectorId, idTag, idTagKey, startedAt, meterStart, reservationId, createdAt] */
  startTransaction(s: Prepare, p: unknown[]): StartTransactionResult {
    const r = s(`INSERT INTO transactions (charger_id, connector_id, id_tag, id_tag_key, started_at,
        meter_start, reservation_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (charger_id, connector_id, id_tag_key, started_at, meter_start) DO NOTHING`).run(p);
    if (r.changes > 0) return { transactionId: Number(r.lastInsertRowid), duplicate: false };
    // Persistence rules (docs/architecture.md): a retried StartTransaction gets the transactionId it was given the first time.
    const row = s(`SELECT id FROM transactions WHERE charger_id = ? AND connector_id = ?
        AND id_tag_key = ? AND started_at = ? AND meter_start = ?`).get(p[0], p[1], p[3], p[4], p[5]) as {
      id: number;
    };
    return { transactionId: row.id, duplicate: true };
  },

  stopTransaction(
    s: Prepare,
    p: [
      txId: number,
      chargerId: string,
      idTag: string | null,
      ts: number,
      meterStop: number,
      reason: string | null,
      data: string | null,
      now: number,
    ],
  ): StopTransactionResult {
    const [txId, chargerId, idTag, ts, meterStop, reason, data, now] = p;
    const row = s('SELECT * FROM transactions WHERE id = ?').get(txId) as TransactionRow | undefined;
    const known = row !== undefined && row.charger_id === chargerId;
    const stopped = known && row.stopped_at !== null;
    // Stopped without a StopTransaction received: the central system closed it as stale.
    const reconciled = stopped && s(RECEIVED_STOP).get(txId, chargerId) === undefined;
    const alreadyStopped = stopped && !reconciled;
    s(`INSERT INTO transaction_stops (transaction_id, charger_id, id_tag, timestamp, meter_stop, reason,
        transaction_data, known, duplicate, received_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`).run(
      txId,
      chargerId,
      idTag,
      ts,
      meterStop,
      reason,
      data,
      known ? 1 : 0,
      alreadyStopped ? 1 : 0,
      now,
    );
    if (!known) return { known: false, alreadyStopped: false, reconciled: false, transaction: null };
    if (!alreadyStopped) {
      s(`UPDATE transactions SET stopped_at = ?, meter_stop = ?, stop_reason = ?, stop_id_tag = ?
        WHERE id = ?`).run(ts, meterStop, reason, idTag, txId);
    }
    const after = s('SELECT * FROM transactions WHERE id = ?').get(txId) as TransactionRow;
    return { known: true, alreadyStopped, reconciled, transaction: transactionRecord(after) };
  },

  /** [txId, chargerId, ts, meterStop, reason] */
  closeTransaction(
    s: Prepare,
    p: [txId: number, chargerId: string, ts: number, meterStop: number, reason: string],
  ): TransactionRecord | null {
    const [txId, chargerId, ts, meterStop, reason] = p;
    const r = s(`UPDATE transactions SET stopped_at = ?, meter_stop = ?, stop_reason = ?
      WHERE id = ? AND charger_id = ? AND stopped_at IS NULL`).run(ts, meterStop, reason, txId, chargerId);
    if (r.changes === 0) return null;
    return transactionRecord(s('SELECT * FROM transactions WHERE id = ?').get(txId) as TransactionRow);
  },

  /** METER_COLUMNS values per row: charger, connector, transaction, ts, source, samples (JSON). */
  insertMeterValues(s: Prepare, p: unknown[]): void {
    const stmt = s(
      'INSERT INTO meter_values (charger_id, connector_id, transaction_id, ts, source, samples) VALUES (?, ?, ?, ?, ?, ?)',
    );
    for (let i = 0; i < p.length; i += METER_COLUMNS) stmt.run(p[i], p[i + 1], p[i + 2], p[i + 3], p[i + 4], p[i + 5]);
  },

  recordEvent(s: Prepare, p: [chargerId: string | null, kind: string, payload: string, at: number]): number {
    return Number(s('INSERT INTO events (charger_id, kind, payload, at) VALUES (?, ?, ?, ?)').run(p).lastInsertRowid);
  },

  recordFindings(s: Prepare, rows: unknown[][]): void {
    const stmt = s(
      'INSERT INTO findings (charger_id, action, path, rule, original, repaired, at) VALUES (?, ?, ?, ?, ?, ?, ?)',
    );
    for (const r of rows) stmt.run(r);
  },

  saveConfiguration(s: Prepare, p: { chargerId: string; replace: boolean; rows: unknown[][] }): void {
    if (p.replace) s('DELETE FROM configuration WHERE charger_id = ?').run(p.chargerId);
    const stmt = s(
      'INSERT OR REPLACE INTO configuration (charger_id, key, value, readonly, updated_at) VALUES (?, ?, ?, ?, ?)',
    );
    for (const r of p.rows) stmt.run(r);
  },

  /** [chargerId, chargingProfileId, connectorId, stackLevel, purpose, profile (JSON), updatedAt] */
  saveChargingProfile(s: Prepare, v: unknown[]): void {
    // OCPP 1.6 §5.16.2: a profile with the same stackLevel and purpose replaces the old one.
    s(`DELETE FROM charging_profiles WHERE charger_id = ? AND connector_id = ? AND stack_level = ?
      AND purpose = ? AND charging_profile_id <> ?`).run(v[0], v[2], v[3], v[4], v[1]);
    s(`INSERT OR REPLACE INTO charging_profiles (charger_id, charging_profile_id, connector_id,
      stack_level, purpose, profile, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)`).run(v);
  },

  /** A DELETE built by the caller from the filter. */
  clearChargingProfiles(s: Prepare, p: { sql: string; params: unknown[] }): number {
    return s(p.sql).run(p.params).changes;
  },

  /** [scope, vendor, model, chargerId, key, value, updatedAt] */
  putConfigPolicy(s: Prepare, v: unknown[]): void {
    s(`INSERT OR REPLACE INTO config_policies (scope, vendor, model, charger_id, key, value, updated_at)
      VALUES (?, ?, ?, ?, ?, ?, ?)`).run(v);
  },

  /** [scope, vendor, model, chargerId, key] */
  deleteConfigPolicy(s: Prepare, v: unknown[]): boolean {
    return (
      s('DELETE FROM config_policies WHERE scope = ? AND vendor = ? AND model = ? AND charger_id = ? AND key = ?').run(
        v,
      ).changes > 0
    );
  },

  /** Replaces a charger's id tag rows: { chargerId, rows: [chargerId, kind, idTag][] }. */
  setChargerTags(s: Prepare, p: { chargerId: string; rows: unknown[][] }): void {
    s('DELETE FROM charger_id_tags WHERE charger_id = ?').run(p.chargerId);
    const stmt = s('INSERT INTO charger_id_tags (charger_id, kind, id_tag) VALUES (?, ?, ?)');
    for (const r of p.rows) stmt.run(r);
  },

  /** reservationRow(): returns the new reservation id. */
  createReservation(s: Prepare, v: unknown[]): number {
    return Number(
      s(`INSERT INTO reservations (charger_id, connector_id, id_tag, parent_id_tag, expiry_at, status, created_at,
        updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`).run(v).lastInsertRowid,
    );
  },

  /** [status, transactionId | undefined, updatedAt, id] */
  updateReservation(s: Prepare, v: [string, number | null | undefined, number, number]): boolean {
    const sql =
      v[1] === undefined
        ? 'UPDATE reservations SET status = ?, updated_at = ? WHERE id = ?'
        : 'UPDATE reservations SET status = ?, transaction_id = ?, updated_at = ? WHERE id = ?';
    return s(sql).run(v[1] === undefined ? [v[0], v[2], v[3]] : v).changes > 0;
  },

  /** Rows of [chargerId, key, value, status, note, at]. */
  recordConfigOutcomes(s: Prepare, rows: unknown[][]): void {
    const stmt = s(`INSERT OR REPLACE INTO config_outcomes (charger_id, key, value, status, note, at)
      VALUES (?, ?, ?, ?, ?, ?)`);
    for (const r of rows) stmt.run(r);
  },

  /** The values of DIAGNOSTICS_INSERT (src/store/diagnostics.ts); returns the new id. */
  createDiagnosticsRequest(s: Prepare, v: unknown[]): number {
    return Number(s(DIAGNOSTICS_INSERT).run(v).lastInsertRowid);
  },

  /** [SET clause built by diagnosticsPatchSql from a fixed list of columns, its values, id] */
  updateDiagnosticsRequest(s: Prepare, p: [set: string, values: unknown[], id: number]): boolean {
    return s(`UPDATE diagnostics_requests SET ${p[0]} WHERE id = ?`).run([...p[1], p[2]]).changes > 0;
  },

  setSetting(s: Prepare, p: [key: string, value: string | null]): void {
    if (p[1] === null) s('DELETE FROM settings WHERE key = ?').run(p[0]);
    else s('INSERT OR REPLACE INTO settings (key, value) VALUES (?, ?)').run(p);
  },

  /** One statement of src/store/firmware.ts: the rows it returns (RETURNING), else none. */
  firmwareWrite(s: Prepare, p: { sql: string; params: unknown[] }): unknown[] {
    const stmt = s(p.sql);
    if (stmt.reader) return stmt.all(p.params);
    stmt.run(p.params);
    return [];
  },

  /** Retention (src/store/retention.ts): [before, limit] → how many meterValues were folded and deleted. */
  pruneMeterValues(s: Prepare, p: [before: number, limit: number]): number {
    const batch = 'SELECT id FROM meter_values WHERE ts < ? ORDER BY id LIMIT ?';
    s(PRUNE_FOLD.replace('BATCH', batch)).run(p);
    return s(`DELETE FROM meter_values WHERE id IN (${batch})`).run(p).changes;
  },

  /** A connected charger's BootNotification (store.bootCharger): identity, connection, new row. */
  bootCharger(
    s: Prepare,
    p: Record<string, unknown> & { id: string; registration: string; address: string | null },
  ): { record: ChargerRecord; created: boolean } {
    const created = s('SELECT 1 FROM chargers WHERE id = ?').get(p.id) === undefined;
    // Every boot replaces the whole identity (as recordBoot); a new charger gets its registration.
    s(`INSERT INTO chargers (id, registration, vendor, model, charge_point_serial_number,
        charge_box_serial_number, firmware_version, iccid, imsi, meter_type, meter_serial_number,
        last_boot_at, last_seen_at, connected, remote_address, created_at, updated_at)
      VALUES (@id, @registration, @vendor, @model, @cpsn, @cbsn, @fw, @iccid, @imsi, @meterType, @meterSn,
        @at, @at, 1, @address, @at, @at)
      ON CONFLICT (id) DO UPDATE SET
        ${BOOT_SET},
        connected = 1, remote_address = coalesce(excluded.remote_address, remote_address),
        updated_at = excluded.updated_at`).run(p);
    return { record: chargerRecord(s('SELECT * FROM chargers WHERE id = ?').get(p.id) as ChargerRow), created };
  },
} satisfies Record<string, (s: Prepare, p: any) => unknown>;

export type WriteOps = typeof writeOps;
export type WriteOpName = keyof WriteOps;
export type WriteParams<K extends WriteOpName> = Parameters<WriteOps[K]>[1];
export type WriteResult<K extends WriteOpName> = ReturnType<WriteOps[K]>;

const OP_FNS = Object.values(writeOps) as ((s: Prepare, p: unknown) => unknown)[];
/** Operation codes: what crosses to the writer thread instead of a name. */
export const WRITE_OP = Object.fromEntries(Object.keys(writeOps).map((name, i) => [name, i])) as Record<
  WriteOpName,
  number
>;

export function runWriteOp(s: Prepare, code: number, params: unknown): unknown {
  return OP_FNS[code]!(s, params);
}

// ---------------------------------------------------------------- errors across threads

/** An error as plain data: structured cloning keeps neither its class nor its `code`. */
export interface EncodedError {
  name: string;
  message: string;
  code: string | undefined;
  stack: string | undefined;
}

export function encodeError(err: unknown): EncodedError {
  if (err instanceof Error) {
    const code = (err as { code?: unknown }).code;
    return {
      name: err.name,
      message: err.message,
      code: typeof code === 'string' ? code : undefined,
      stack: err.stack,
    };
  }
  return { name: 'Error', message: String(err), code: undefined, stack: undefined };
}

/** The error again, as the class the caller would have seen in-thread (StoreError, SqliteError). */
export function decodeError(e: EncodedError): Error {
  let err: Error;
  if (e.name === 'StoreError') err = new StoreError(e.code as StoreErrorCode, e.message);
  else if (e.name === 'SqliteError') err = new Database.SqliteError(e.message, e.code ?? 'SQLITE_ERROR');
  else {
    err = new Error(e.message);
    err.name = e.name;
    if (e.code !== undefined) (err as Error & { code: string }).code = e.code;
  }
  if (e.stack !== undefined) err.stack = e.stack;
  return err;
}
