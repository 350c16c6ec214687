// The PostgreSQL implementation of the Store port (node-postgres). Reads go through a pool;
// writes go through ONE dedicated connection, group-committed (postgres-write-queue.ts), so
// what a charger sends is committed before its CALLRESULT at one COMMIT per batch, not per
// message. Same logical schema, same rules and the same contract suite as sqlite.ts.
import pg from 'pg';
import { invalid, jsonText, optionalText, pageBounds, requireInt, requireText } from './checks.ts';
import {
  chargerTagRows,
  chargerTagsRecord,
  outcomeRecord,
  outcomeRows,
  POLICY_ORDER,
  policyKeyRow,
  policyRecord,
  policyRow,
  reservationRecord,
  reservationRow,
} from './config-policies.ts';
import { DIAGNOSTICS_INSERT, diagnosticsPatchSql, diagnosticsRecord, diagnosticsRow } from './diagnostics.ts';
import { StoreError } from './errors.ts';
import { FirmwareStore } from './firmware.ts';
import { encodeMeterReadings, encodeMeterRows, METER_COLUMNS } from './meter-samples.ts';
import { migratePostgres } from './postgres-migrations.ts';
import { type Exec, type MergeGroup, PgWriteQueue, type WriteConnection } from './postgres-write-queue.ts';
import { ACTIVE_POWER, ENERGY_REGISTER, meterDailyRecord, meterDailyWhere, pruneArgs } from './retention.ts';
import { bucketStepMs, meterBucket, meterValueRecord, RECEIVED_STOP, Where } from './rows.ts';
import {
  BOOT_IDENTITY_SET,
  bootChargerFields,
  bootFields,
  chargingProfileRecord,
  chargingProfileWhere,
  checkChargerPatch,
  closeParams,
  connectionAttemptRecord,
  connectorRecord,
  type Decode,
  ENERGY_DEFAULT,
  eventParams,
  eventRecord,
  eventWhere,
  findingParams,
  findingRecord,
  findingWhere,
  meterWhere,
  profileParams,
  reservationWhere,
  startParams,
  statusHistoryWhere,
  statusParams,
  stopParams,
  stopRecord,
  stopWhere,
  TouchBatch,
  transactionWhere,
} from './shared.ts';
import { toIso, toIsoOrNull, toMs, toMsOrNull } from './time.ts';
import type {
  BootFields,
  ChargerPatch,
  ChargerQuery,
  ChargerRecord,
  ChargerTagsRecord,
  ChargingProfileFilter,
  ChargingProfileInput,
  ChargingProfileRecord,
  CloseTransactionInput,
  CommitObserver,
  ConfigOutcomeInput,
  ConfigOutcomeRecord,
  ConfigPolicyInput,
  ConfigPolicyRecord,
  ConfigPolicyTarget,
  ConfigurationEntry,
  ConfigurationInput,
  ConnectionAttemptRecord,
  ConnectorRecord,
  DiagnosticsPatch,
  DiagnosticsRequestInput,
  DiagnosticsRequestRecord,
  EventInput,
  EventQuery,
  EventRecord,
  FindingInput,
  FindingQuery,
  FindingRecord,
  IdTagInput,
  IdTagQuery,
  IdTagRecord,
  IdTagStatus,
  JsonValue,
  MeterBucket,
  MeterBucketQuery,
  MeterDailyQuery,
  MeterDailyRecord,
  MeterQuery,
  MeterReadings,
  MeterValueInput,
  MeterValueRecord,
  Page,
  PageQuery,
  ReservationInput,
  ReservationQuery,
  ReservationRecord,
  StartTransactionInput,
  StartTransactionResult,
  StatusHistoryQuery,
  StatusHistoryRecord,
  StatusInput,
  StopRecord,
  StopTransactionInput,
  StopTransactionResult,
  Store,
  TimeInput,
  TransactionMeterSummary,
  TransactionQuery,
  TransactionRecord,
} from './types.ts';

export interface PostgresStoreOptions {
  /** `postgres://user:password@host:port/database` (libpq URL syntax, as node-postgres reads it). */
  url: string;
  /** Schema holding the tables (created if missing); default: the role's search_path (`public`). */
  schema?: string;
  /** Read connections; the writer has its own. Default 8. */
  poolSize?: number;
  /** Told the duration of every group commit. */
  onCommit?: CommitObserver;
}

const INT8 = 20;
const NUMERIC = 1700;

// Epoch ms and ids are BIGINT; node-postgres returns those (and numeric) as strings by default
// because they may exceed 2^53. Ours never do, so they come back as numbers.
const types: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => {
    if (oid === INT8 || oid === NUMERIC) return (v: string) => Number(v);
    return pg.types.getTypeParser(oid, format);
  }) as pg.CustomTypesConfig['getTypeParser'],
};

function quoteIdent(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

export async function openPostgresStore(opts: PostgresStoreOptions): Promise<PostgresStore> {
  if (opts.schema !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(opts.schema))
    throw new StoreError('AMPERE_ERR_STORE_INVALID', 'schema: letters, digits and underscores only');
  const config: pg.ClientConfig = {
    connectionString: opts.url,
    types,
    application_name: 'ampere',
    ...(opts.schema === undefined ? {} : { options: `-c search_path=${opts.schema}` }),
  };
  const writer = new pg.Client(config);
  // A dropped connection surfaces as a failed batch (and a fresh connection for the next one);
  // without a listener the 'error' event would crash the process.
  writer.on('error', () => {});
  await writer.connect();
  const pool = new pg.Pool({ ...config, max: opts.poolSize ?? 8 });
  // The pool drops a broken idle connection by itself.
  pool.on('error', () => {});
  try {
    if (opts.schema !== undefined) {
      // IF NOT EXISTS alone still races (a unique violation) when processes start together.
      await writer.query('BEGIN');
      await writer.query('SELECT pg_advisory_xact_lock(hashtext($1))', [`ampere.schema.${opts.schema}`]);
      await writer.query(`CREATE SCHEMA IF NOT EXISTS ${quoteIdent(opts.schema)}`);
      await writer.query('COMMIT');
    }
    await migratePostgres(writer);
    // One warm read connection, so the first read does not wait for a TCP + auth handshake.
    (await pool.connect()).release();
  } catch (err) {
    await writer.end().catch(() => {});
    await pool.end().catch(() => {});
    throw err;
  }
  return new PostgresStore(config, writer, pool, opts.onCommit);
}

const TAG_STATUSES = new Set(['Accepted', 'Blocked', 'Expired', 'Invalid', 'ConcurrentTx']);
// A plain decimal number: what CAST(value AS REAL) of SQLite reads; anything else is not averaged.
// (Written without `?`: that character is the placeholder of this file's SQL.)
const NUMERIC_TEXT = String.raw`^\s*[-+]{0,1}([0-9]+\.{0,1}[0-9]*|\.[0-9]+)([eE][-+]{0,1}[0-9]+){0,1}\s*$`;

/** `?` placeholders (as in sqlite.ts) to PostgreSQL's `$n`. No SQL here uses a literal `?`. */
function numbered(sql: string, from = 1): string {
  let n = from - 1;
  return sql.replace(/\?/g, () => `$${++n}`);
}

/** PostgreSQL rows: JSON columns come parsed, booleans as booleans. */
const POSTGRES: Decode = { json: (v) => (v ?? null) as JsonValue | null, bool: (v) => v === true };

// ---------------------------------------------------------------- rows

function chargerRecord(r: any): ChargerRecord {
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
    connected: r.connected,
    remoteAddress: r.remote_address,
    heartbeatInterval: r.heartbeat_interval,
    validationMode: r.validation_mode,
    notes: r.notes,
    securityProfile: r.security_profile,
    authKeyHash: r.auth_key_hash,
    createdAt: toIso(r.created_at),
    updatedAt: toIso(r.updated_at),
  };
}

function idTagRecord(r: any): IdTagRecord {
  return {
    idTag: r.id_tag,
    status: r.status as IdTagStatus,
    expiryDate: toIsoOrNull(r.expiry_date),
    parentIdTag: r.parent_id_tag,
    note: r.note,
    smartPlan: r.smart_plan ?? null,
    createdAt: toIso(r.created_at),
    updatedAt: toIso(r.updated_at),
  };
}

function transactionRecord(r: any): TransactionRecord {
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

// Retention: one row per connector and UTC day (see retention.ts); total energy register and
// active power only; a day folded in several batches merges.
const ENERGY_SAMPLE = `coalesce(j.v ->> 3, '${ENERGY_REGISTER}') = '${ENERGY_REGISTER}' AND j.v ->> 4 IS NULL`;
const PRUNE = `WITH batch AS (
    SELECT id FROM meter_values WHERE ts < ? ORDER BY id LIMIT ? FOR UPDATE SKIP LOCKED
  ), folded AS (
    INSERT INTO meter_daily (charger_id, connector_id, day, min_wh, max_wh, max_w, readings)
    SELECT m.charger_id, m.connector_id, to_char(to_timestamp(m.ts / 1000.0) AT TIME ZONE 'UTC', 'YYYY-MM-DD'),
      min((j.v ->> 7)::float8) FILTER (WHERE ${ENERGY_SAMPLE}),
      max((j.v ->> 7)::float8) FILTER (WHERE ${ENERGY_SAMPLE}),
      max((j.v ->> 8)::float8) FILTER (WHERE j.v ->> 3 = '${ACTIVE_POWER}' AND j.v ->> 4 IS NULL),
      count(DISTINCT m.id)
    FROM meter_values m CROSS JOIN LATERAL json_array_elements(m.samples) AS j(v)
    WHERE m.id IN (SELECT id FROM batch)
    GROUP BY 1, 2, 3
    ON CONFLICT (charger_id, connector_id, day) DO UPDATE SET
      min_wh = least(meter_daily.min_wh, excluded.min_wh),
      max_wh = greatest(meter_daily.max_wh, excluded.max_wh),
      max_w = greatest(meter_daily.max_w, excluded.max_w),
      readings = meter_daily.readings + excluded.readings
  )
  DELETE FROM meter_values WHERE id IN (SELECT id FROM batch)`;

/** One meterValue row ready to insert: charger, connector, transaction, ts, source, samples JSON. */
type MeterParams = [string, number, number | null, number, string, string];

const SAMPLE_COLUMNS = `j.v ->> 0 AS value, j.v ->> 1 AS context, j.v ->> 2 AS format, j.v ->> 3 AS measurand,
  j.v ->> 4 AS phase, j.v ->> 5 AS location, j.v ->> 6 AS unit, (j.v ->> 7)::float8 AS wh, (j.v ->> 8)::float8 AS w`;
const SAMPLES = 'meter_values m CROSS JOIN LATERAL json_array_elements(m.samples) WITH ORDINALITY AS j(v, k)';

// ---------------------------------------------------------------- the store

/** BOOT_IDENTITY_SET (shared.ts) and this dialect's rule for last_seen_at: it never goes back. */
const BOOT_SET = `${BOOT_IDENTITY_SET},
  last_seen_at = greatest(c.last_seen_at, excluded.last_seen_at)`;

export class PostgresStore implements Store {
  readonly kind = 'postgres' as const;
  readonly firmware: FirmwareStore;
  readonly #config: pg.ClientConfig;
  readonly #pool: pg.Pool;
  #writer: pg.Client | null;
  readonly #queue: PgWriteQueue;
  readonly #names = new Map<string, string>();
  #closed = false;
  readonly #meterGroup: MergeGroup<MeterParams[]>;
  readonly #onCommit: CommitObserver | undefined;
  readonly #touchBatch: TouchBatch;

  constructor(config: pg.ClientConfig, writer: pg.Client, pool: pg.Pool, onCommit?: CommitObserver) {
    this.#onCommit = onCommit;
    this.#config = config;
    this.#writer = writer;
    this.#pool = pool;
    this.#queue = new PgWriteQueue(() => this.#writeConnection());
    this.firmware = new FirmwareStore({
      rows: (sql, params) => this.#rows(sql, params),
      write: (sql, params) => this.#write(() => async (exec) => (await exec(sql, params)).rows),
    });
    this.#touchBatch = new TouchBatch((touches) =>
      this.#queue.push(async (exec) => {
        // One statement for every charger touched in the batch.
        await exec(
          `UPDATE chargers c SET last_seen_at = greatest(c.last_seen_at, t.at)
            FROM unnest(?::text[], ?::bigint[]) AS t(id, at) WHERE c.id = t.id`,
          [[...touches.keys()], [...touches.values()]],
        );
      }),
    );
    this.#meterGroup = {
      key: 'meter_values',
      runMany: async (exec, items) => {
        // One statement for every meterValue of the batch: arrays in, unnest, one round trip.
        const cols: unknown[][] = [[], [], [], [], [], []];
        for (const rows of items)
          for (const r of rows) for (let c = 0; c < 6; c++) (cols[c] as unknown[]).push(r[c as 0]);
        await exec(
          `INSERT INTO meter_values (charger_id, connector_id, transaction_id, ts, source, samples)
            SELECT * FROM unnest(?::text[], ?::int[], ?::bigint[], ?::bigint[], ?::text[], ?::json[])`,
          cols,
        );
      },
    };
  }

  /** Group-commit counters (batches, writes, isolated retries). */
  get writeStats(): Readonly<PgWriteQueue['stats']> {
    return this.#queue.stats;
  }

  /** Same SQL text, same prepared statement name: parsed once per connection. */
  #query(sql: string, params: readonly unknown[]): pg.QueryConfig {
    let name = this.#names.get(sql);
    if (name === undefined) {
      name = `ampere_${this.#names.size}`;
      this.#names.set(sql, name);
    }
    return { name, text: numbered(sql), values: params as unknown[] };
  }

  #exec: Exec = async (sql, params = []) => {
    const w = this.#writer;
    if (w === null) throw new StoreError('AMPERE_ERR_STORE_CLOSED', 'no writer connection');
    // Transaction verbs are sent as simple queries: nothing to prepare.
    return params.length === 0 && !sql.includes('?') ? w.query(sql) : w.query(this.#query(sql, params));
  };

  async #writeConnection(): Promise<WriteConnection> {
    if (this.#writer === null) {
      const w = new pg.Client(this.#config);
      w.on('error', () => {});
      await w.connect();
      this.#writer = w;
    }
    const w = this.#writer;
    // The queue takes the connection at BEGIN and releases it after COMMIT: one batch.
    const started = this.#onCommit === undefined ? 0 : performance.now();
    return {
      exec: this.#exec,
      release: (broken) => {
        if (!broken) this.#onCommit?.((performance.now() - started) / 1000);
        if (broken && this.#writer === w) {
          // The next batch opens a fresh connection; this one may be dead or mid-transaction.
          this.#writer = null;
          void w.end().catch(() => {});
        }
      },
    };
  }

  #read(): void {
    if (this.#closed) throw new StoreError('AMPERE_ERR_STORE_CLOSED', 'store is closed');
  }

  async #rows(sql: string, params: readonly unknown[] = []): Promise<any[]> {
    this.#read();
    return (await this.#pool.query(this.#query(sql, params))).rows;
  }

  async #one(sql: string, params: readonly unknown[] = []): Promise<any | undefined> {
    return (await this.#rows(sql, params))[0];
  }

  /** Queues a write; input is validated before queueing so a bad call rejects at once. */
  #write<T>(prepare: () => (exec: Exec) => Promise<T>): Promise<T> {
    let run: (exec: Exec) => Promise<T>;
    try {
      run = prepare();
    } catch (err) {
      return Promise.reject(err);
    }
    return this.#queue.push(run);
  }

  async #page<T>(
    table: string,
    where: Where,
    order: string,
    q: PageQuery | undefined,
    map: (r: any) => T,
  ): Promise<Page<T>> {
    this.#read();
    const { limit, offset } = pageBounds(q);
    const w = where.toString();
    const [count, rows] = await Promise.all([
      this.#one(`SELECT count(*) AS n FROM ${table}${w}`, where.params),
      this.#rows(`SELECT * FROM ${table}${w} ORDER BY ${order} LIMIT ? OFFSET ?`, [...where.params, limit, offset]),
    ]);
    return { items: rows.map(map), total: count.n };
  }

  // ---------------------------------------------------------------- chargers

  async getCharger(id: string): Promise<ChargerRecord | null> {
    const r = await this.#one('SELECT * FROM chargers WHERE id = ?', [id]);
    return r ? chargerRecord(r) : null;
  }

  async listChargers(q: ChargerQuery = {}): Promise<Page<ChargerRecord>> {
    const w = new Where();
    if (q.connected !== undefined) w.add('connected = ?', q.connected);
    if (q.registration !== undefined) w.add('registration = ?', q.registration);
    if (q.vendor !== undefined) w.add('lower(vendor) = lower(?)', q.vendor);
    if (q.model !== undefined) w.add('lower(model) = lower(?)', q.model);
    return this.#page('chargers', w, 'id', q, chargerRecord);
  }

  upsertCharger(id: string, patch: ChargerPatch = {}, at?: TimeInput): Promise<ChargerRecord> {
    return this.#write(() => {
      const now = checkChargerPatch(id, patch, at);
      const has = (k: keyof ChargerPatch) => patch[k] !== undefined;
      const params = [
        id,
        patch.registration ?? null,
        patch.heartbeatInterval ?? null,
        patch.validationMode ?? null,
        optionalText(patch.notes, 'notes'),
        patch.securityProfile ?? null,
        optionalText(patch.authKeyHash, 'authKeyHash'),
        now,
        has('registration'),
        has('heartbeatInterval'),
        has('validationMode'),
        has('notes'),
        has('securityProfile'),
        has('authKeyHash'),
      ];
      return async (exec) => {
        const r = await exec(
          `INSERT INTO chargers AS c (id, registration, heartbeat_interval, validation_mode, notes,
            security_profile, auth_key_hash, created_at, updated_at)
          VALUES ($1, coalesce($2::text, 'pending'), $3::int, $4::text, $5::text, coalesce($6::int, 0), $7::text,
            $8::bigint, $8::bigint)
          ON CONFLICT (id) DO UPDATE SET
            registration = CASE WHEN $9::boolean THEN excluded.registration ELSE c.registration END,
            heartbeat_interval = CASE WHEN $10::boolean THEN excluded.heartbeat_interval ELSE c.heartbeat_interval END,
            validation_mode = CASE WHEN $11::boolean THEN excluded.validation_mode ELSE c.validation_mode END,
            notes = CASE WHEN $12::boolean THEN excluded.notes ELSE c.notes END,
            security_profile = CASE WHEN $13::boolean THEN excluded.security_profile ELSE c.security_profile END,
            auth_key_hash = CASE WHEN $14::boolean THEN excluded.auth_key_hash ELSE c.auth_key_hash END,
            updated_at = excluded.updated_at
          RETURNING *`,
          params,
        );
        return chargerRecord(r.rows[0]);
      };
    });
  }

  deleteCharger(id: string): Promise<boolean> {
    return this.#write(() => async (exec) => {
      // History (transactions, meter values, status, events, findings) is kept: it is evidence.
      const r = await exec(
        `WITH a AS (DELETE FROM connectors WHERE charger_id = $1),
          b AS (DELETE FROM configuration WHERE charger_id = $1),
          c AS (DELETE FROM charging_profiles WHERE charger_id = $1),
          d AS (DELETE FROM connection_attempts WHERE id = $1)
        DELETE FROM chargers WHERE id = $1`,
        [id],
      );
      return (r.rowCount ?? 0) > 0;
    });
  }

  bootCharger(
    id: string,
    boot: BootFields,
    at: TimeInput,
    connection: { registrationIfNew: ChargerRecord['registration']; remoteAddress: string | null },
  ): Promise<{ record: ChargerRecord; created: boolean }> {
    return this.#write(() => {
      const b = bootChargerFields(id, boot, at, connection);
      const p = [b.id, b.vendor, b.model, b.cpsn, b.cbsn, b.fw, b.iccid, b.imsi, b.meterType, b.meterSn, b.at];
      return async (exec) => {
        // As recordBoot, plus the connection; a new charger gets its registration. xmax = 0 only
        // on a row this statement inserted.
        const r = await exec(
          `INSERT INTO chargers AS c (id, vendor, model, charge_point_serial_number, charge_box_serial_number,
            firmware_version, iccid, imsi, meter_type, meter_serial_number, last_boot_at, last_seen_at,
            created_at, updated_at, registration, connected, remote_address)
          VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $11, $11, $12, true, $13)
          ON CONFLICT (id) DO UPDATE SET
            ${BOOT_SET},
            connected = true, remote_address = coalesce(excluded.remote_address, c.remote_address),
            updated_at = excluded.updated_at
          RETURNING *, (xmax = 0) AS inserted`,
          [...p, b.registration, b.address],
        );
        return { record: chargerRecord(r.rows[0]), created: r.rows[0].inserted === true };
      };
    });
  }

  recordBoot(id: string, boot: BootFields, at: TimeInput): Promise<ChargerRecord> {
    return this.#write(() => {
      const b = bootFields(id, boot, at);
      const p = [b.id, b.vendor, b.model, b.cpsn, b.cbsn, b.fw, b.iccid, b.imsi, b.meterType, b.meterSn, b.at];
      return async (exec) => {
        // Every boot replaces the whole identity: a field the charger stopped sending is gone.
        const r = await exec(
          `INSERT INTO chargers AS c (id, vendor, model, charge_point_serial_number, charge_box_serial_number,
            firmware_version, iccid, imsi, meter_type, meter_serial_number, last_boot_at, last_seen_at,
            created_at, updated_at)
          VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11, $11, $11)
          ON CONFLICT (id) DO UPDATE SET
            ${BOOT_SET},
            updated_at = excluded.updated_at
          RETURNING *`,
          p,
        );
        return chargerRecord(r.rows[0]);
      };
    });
  }

  touchCharger(id: string, at: TimeInput): Promise<void> {
    return this.#touchBatch.touch(id, at, this.#queue.generation);
  }

  setConnection(id: string, connected: boolean, remoteAddress: string | null, at: TimeInput): Promise<void> {
    return this.#write(() => {
      const ms = toMs(at, 'at');
      const addr = optionalText(remoteAddress, 'remoteAddress');
      return async (exec) => {
        await exec(
          `UPDATE chargers SET connected = ?, remote_address = coalesce(?, remote_address),
            last_seen_at = greatest(last_seen_at, ?::bigint) WHERE id = ?`,
          [connected, addr, ms, id],
        );
      };
    });
  }

  markAllDisconnected(at: TimeInput): Promise<number> {
    return this.#write(() => {
      toMs(at, 'at');
      return async (exec) => (await exec('UPDATE chargers SET connected = false WHERE connected')).rowCount ?? 0;
    });
  }

  recordConnectionAttempt(id: string, remoteAddress: string | null, at: TimeInput): Promise<void> {
    return this.#write(() => {
      requireText(id, 'id');
      const ms = toMs(at, 'at');
      const addr = optionalText(remoteAddress, 'remoteAddress');
      return async (exec) => {
        await exec(
          `INSERT INTO connection_attempts AS a (id, count, first_at, last_at, remote_address) VALUES ($1, 1, $2, $2, $3)
          ON CONFLICT (id) DO UPDATE SET count = a.count + 1, first_at = least(a.first_at, excluded.first_at),
            last_at = greatest(a.last_at, excluded.last_at), remote_address = excluded.remote_address`,
          [id, ms, addr],
        );
      };
    });
  }

  async listConnectionAttempts(q?: PageQuery): Promise<Page<ConnectionAttemptRecord>> {
    return this.#page('connection_attempts', new Where(), 'last_at DESC, id', q, connectionAttemptRecord);
  }

  deleteConnectionAttempt(id: string): Promise<boolean> {
    return this.#write(
      () => async (exec) => ((await exec('DELETE FROM connection_attempts WHERE id = ?', [id])).rowCount ?? 0) > 0,
    );
  }

  // ---------------------------------------------------------------- connectors

  recordStatus(s: StatusInput): Promise<void> {
    return this.#write(() => {
      const p = statusParams(s);
      return async (exec) => {
        // Last status and history in one statement (one round trip).
        await exec(
          `WITH h AS (INSERT INTO status_history (charger_id, connector_id, status, error_code, info, vendor_id,
              vendor_error_code, timestamp, received_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9))
          INSERT INTO connectors (charger_id, connector_id, status, error_code, info, vendor_id,
            vendor_error_code, timestamp, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
          ON CONFLICT (charger_id, connector_id) DO UPDATE SET status = excluded.status,
            error_code = excluded.error_code, info = excluded.info, vendor_id = excluded.vendor_id,
            vendor_error_code = excluded.vendor_error_code, timestamp = excluded.timestamp,
            updated_at = excluded.updated_at`,
          p,
        );
      };
    });
  }

  async listConnectors(chargerId: string): Promise<ConnectorRecord[]> {
    const rows = await this.#rows('SELECT * FROM connectors WHERE charger_id = ? ORDER BY connector_id', [chargerId]);
    return rows.map(connectorRecord);
  }

  async listStatusHistory(chargerId: string, q: StatusHistoryQuery = {}): Promise<Page<StatusHistoryRecord>> {
    const w = statusHistoryWhere(chargerId, q);
    return this.#page('status_history', w, 'received_at DESC, id DESC', q, (r) => ({
      id: r.id,
      ...connectorRecord(r),
    }));
  }

  // ---------------------------------------------------------------- id tags

  async getIdTag(idTag: string): Promise<IdTagRecord | null> {
    const r = await this.#one('SELECT * FROM id_tags WHERE id_tag_key = ?', [idTag.toLowerCase()]);
    return r ? idTagRecord(r) : null;
  }

  async listIdTags(q: IdTagQuery = {}): Promise<Page<IdTagRecord>> {
    const w = new Where();
    if (q.status !== undefined) w.add('status = ?', q.status);
    if (q.search !== undefined && q.search !== '') w.add('strpos(id_tag_key, ?) > 0', q.search.toLowerCase());
    return this.#page('id_tags', w, 'id_tag_key', q, idTagRecord);
  }

  #tagParams(t: IdTagInput, now: number): unknown[] {
    requireText(t.idTag, 'idTag');
    if (t.status !== undefined && !TAG_STATUSES.has(t.status))
      throw invalid(`status: not an id tag status: ${t.status}`);
    const has = (k: keyof IdTagInput) => t[k] !== undefined;
    return [
      t.idTag.toLowerCase(),
      t.idTag,
      t.status ?? null,
      toMsOrNull(t.expiryDate, 'expiryDate'),
      optionalText(t.parentIdTag, 'parentIdTag'),
      optionalText(t.note, 'note'),
      jsonText(t.smartPlan),
      now,
      has('status'),
      has('expiryDate'),
      has('parentIdTag'),
      has('note'),
      has('smartPlan'),
    ];
  }

  static readonly #UPSERT_TAG = `INSERT INTO id_tags AS t (id_tag_key, id_tag, status, expiry_date, parent_id_tag, note,
      smart_plan, created_at, updated_at)
    VALUES ($1, $2, coalesce($3::text, 'Accepted'), $4::bigint, $5::text, $6::text, $7::json, $8::bigint, $8::bigint)
    ON CONFLICT (id_tag_key) DO UPDATE SET
      id_tag = excluded.id_tag,
      status = CASE WHEN $9::boolean THEN excluded.status ELSE t.status END,
      expiry_date = CASE WHEN $10::boolean THEN excluded.expiry_date ELSE t.expiry_date END,
      parent_id_tag = CASE WHEN $11::boolean THEN excluded.parent_id_tag ELSE t.parent_id_tag END,
      note = CASE WHEN $12::boolean THEN excluded.note ELSE t.note END,
      smart_plan = CASE WHEN $13::boolean THEN excluded.smart_plan ELSE t.smart_plan END,
      updated_at = excluded.updated_at
    RETURNING *`;

  upsertIdTag(tag: IdTagInput, at?: TimeInput): Promise<IdTagRecord> {
    return this.#write(() => {
      const p = this.#tagParams(tag, at === undefined ? Date.now() : toMs(at));
      return async (exec) => idTagRecord((await exec(PostgresStore.#UPSERT_TAG, p)).rows[0]);
    });
  }

  upsertIdTags(tags: IdTagInput[], at?: TimeInput): Promise<number> {
    return this.#write(() => {
      const now = at === undefined ? Date.now() : toMs(at);
      const all = tags.map((t, i) => {
        try {
          return this.#tagParams(t, now);
        } catch (err) {
          throw invalid(`tags[${i}]: ${(err as Error).message}`);
        }
      });
      return async (exec) => {
        // Row by row (not one multi-row upsert): a list may name one tag twice in different cases.
        for (const p of all) await exec(PostgresStore.#UPSERT_TAG, p);
        return all.length;
      };
    });
  }

  deleteIdTag(idTag: string): Promise<boolean> {
    return this.#write(() => {
      const key = requireText(idTag, 'idTag').toLowerCase();
      return async (exec) => ((await exec('DELETE FROM id_tags WHERE id_tag_key = ?', [key])).rowCount ?? 0) > 0;
    });
  }

  // ---------------------------------------------------------------- transactions

  startTransaction(t: StartTransactionInput): Promise<StartTransactionResult> {
    return this.#write(() => {
      const p = startParams(t);
      return async (exec): Promise<StartTransactionResult> => {
        // ON CONFLICT also waits for another process inserting the same start, then yields to it.
        const r = await exec(
          `INSERT INTO transactions (charger_id, connector_id, id_tag, id_tag_key, started_at,
            meter_start, reservation_id, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?)
          ON CONFLICT (charger_id, connector_id, id_tag_key, started_at, meter_start) DO NOTHING RETURNING id`,
          p,
        );
        if (r.rows.length > 0) return { transactionId: r.rows[0].id, duplicate: false };
        // Persistence rules (docs/architecture.md): a retried StartTransaction gets the transactionId it was given the first time.
        const row = await exec(
          `SELECT id FROM transactions WHERE charger_id = ? AND connector_id = ?
            AND id_tag_key = ? AND started_at = ? AND meter_start = ?`,
          [p[0], p[1], p[3], p[4], p[5]],
        );
        return { transactionId: row.rows[0].id, duplicate: true };
      };
    });
  }

  stopTransaction(t: StopTransactionInput): Promise<StopTransactionResult> {
    return this.#write(() => {
      const [txId, chargerId, idTag, ts, meterStop, reason, data, now] = stopParams(t);
      return async (exec): Promise<StopTransactionResult> => {
        // FOR UPDATE: another process stopping the same transaction waits, then sees it stopped.
        const row = (await exec('SELECT * FROM transactions WHERE id = ? FOR UPDATE', [txId])).rows[0];
        const known = row !== undefined && row.charger_id === chargerId;
        const stopped = known && row.stopped_at !== null;
        // Stopped without a StopTransaction received: the central system closed it as stale.
        const reconciled = stopped && (await exec(RECEIVED_STOP, [txId, chargerId])).rows.length === 0;
        const alreadyStopped = stopped && !reconciled;
        await exec(
          `INSERT INTO transaction_stops (transaction_id, charger_id, id_tag, timestamp, meter_stop, reason,
            transaction_data, known, duplicate, received_at) VALUES (?, ?, ?, ?, ?, ?, ?::json, ?, ?, ?)`,
          [txId, chargerId, idTag, ts, meterStop, reason, data, known, alreadyStopped, now],
        );
        if (!known) return { known: false, alreadyStopped: false, reconciled: false, transaction: null };
        if (alreadyStopped) return { known: true, alreadyStopped, reconciled, transaction: transactionRecord(row) };
        const after = await exec(
          `UPDATE transactions SET stopped_at = ?, meter_stop = ?, stop_reason = ?, stop_id_tag = ?
            WHERE id = ? RETURNING *`,
          [ts, meterStop, reason, idTag, txId],
        );
        return { known: true, alreadyStopped, reconciled, transaction: transactionRecord(after.rows[0]) };
      };
    });
  }

  closeTransaction(c: CloseTransactionInput): Promise<TransactionRecord | null> {
    return this.#write(() => {
      const [txId, chargerId, ts, meterStop, reason] = closeParams(c);
      const p = [ts, meterStop, reason, txId, chargerId];
      return async (exec): Promise<TransactionRecord | null> => {
        const r = await exec(
          `UPDATE transactions SET stopped_at = ?, meter_stop = ?, stop_reason = ?
            WHERE id = ? AND charger_id = ? AND stopped_at IS NULL RETURNING *`,
          p,
        );
        return r.rows.length > 0 ? transactionRecord(r.rows[0]) : null;
      };
    });
  }

  async getTransaction(id: number): Promise<TransactionRecord | null> {
    if (!Number.isSafeInteger(id)) return null;
    const r = await this.#one('SELECT * FROM transactions WHERE id = ?', [id]);
    return r ? transactionRecord(r) : null;
  }

  async listTransactions(q: TransactionQuery = {}): Promise<Page<TransactionRecord>> {
    return this.#page('transactions', transactionWhere(q), 'started_at DESC, id DESC', q, transactionRecord);
  }

  async activeTransactionFor(chargerId: string, connectorId: number): Promise<TransactionRecord | null> {
    const r = await this.#one(
      `SELECT * FROM transactions WHERE charger_id = ? AND connector_id = ? AND stopped_at IS NULL
        ORDER BY started_at DESC, id DESC LIMIT 1`,
      [chargerId, connectorId],
    );
    return r ? transactionRecord(r) : null;
  }

  async activeTransactionsByIdTag(idTag: string): Promise<TransactionRecord[]> {
    const rows = await this.#rows(
      'SELECT * FROM transactions WHERE id_tag_key = ? AND stopped_at IS NULL ORDER BY started_at, id',
      [idTag.toLowerCase()],
    );
    return rows.map(transactionRecord);
  }

  async listStops(q: PageQuery & { chargerId?: string; transactionId?: number } = {}): Promise<Page<StopRecord>> {
    return this.#page('transaction_stops', stopWhere(q), 'id DESC', q, (r) => stopRecord(r, POSTGRES));
  }

  async transactionMeterSummary(transactionId: number): Promise<TransactionMeterSummary> {
    this.#read();
    const [a, e, p] = await Promise.all([
      this.#one(
        `SELECT count(*) AS n, min(m.ts) AS first, max(m.ts) AS last FROM ${SAMPLES} WHERE m.transaction_id = ?`,
        [transactionId],
      ),
      this.#one(
        `SELECT (j.v ->> 7)::float8 AS wh FROM ${SAMPLES} WHERE m.transaction_id = ? AND j.v ->> 7 IS NOT NULL
          ORDER BY m.ts DESC, m.id DESC, j.k DESC LIMIT 1`,
        [transactionId],
      ),
      // Power per instant: the phase-less total when the charger sent one, else the sum of phases.
      this.#one(
        `SELECT max(total) AS peak, avg(total) AS mean FROM (
          SELECT CASE WHEN count(*) FILTER (WHERE phase IS NULL) > 0 THEN sum(w) FILTER (WHERE phase IS NULL)
            ELSE sum(w) END AS total
          FROM (SELECT m.ts AS ts, j.v ->> 4 AS phase, (j.v ->> 8)::float8 AS w FROM ${SAMPLES}
            WHERE m.transaction_id = ? AND j.v ->> 3 = 'Power.Active.Import') s
          WHERE w IS NOT NULL GROUP BY ts) t`,
        [transactionId],
      ),
    ]);
    return {
      transactionId,
      samples: a.n,
      lastWh: e?.wh ?? null,
      peakW: p.peak,
      avgW: p.mean,
      firstAt: toIsoOrNull(a.first),
      lastAt: toIsoOrNull(a.last),
    };
  }

  // ---------------------------------------------------------------- meter values

  insertMeterReadings(r: MeterReadings): Promise<void> {
    return this.#queueMeter(encodeMeterReadings, r);
  }

  insertMeterValues(rows: readonly MeterValueInput[]): Promise<void> {
    return this.#queueMeter(encodeMeterRows, rows);
  }

  /**
   * Encodes meter rows with `encode` (meter-samples.ts: METER_COLUMNS values each) and queues them
   * for the batch's one INSERT; a row that does not encode rejects the whole call, storing none.
   */
  #queueMeter<T>(encode: (input: T, out: unknown[]) => void, input: T): Promise<void> {
    const flat: unknown[] = [];
    try {
      encode(input, flat);
    } catch (err) {
      return Promise.reject(err);
    }
    if (flat.length === 0) return Promise.resolve();
    const params: MeterParams[] = [];
    for (let i = 0; i < flat.length; i += METER_COLUMNS) params.push(flat.slice(i, i + METER_COLUMNS) as MeterParams);
    return this.#queue.pushMerged(this.#meterGroup, params);
  }

  async queryMeterValues(q: MeterQuery): Promise<MeterValueRecord[]> {
    this.#read();
    const { limit, offset } = pageBounds(q, 1000, 100_000);
    const w = meterWhere(q, 'j.v');
    const rows = await this.#rows(
      `SELECT m.id, m.charger_id, m.connector_id, m.transaction_id, m.ts, m.source, j.k - 1 AS k, ${SAMPLE_COLUMNS}
        FROM ${SAMPLES}${w} ORDER BY m.ts, m.id, j.k LIMIT ? OFFSET ?`,
      [...w.params, limit, offset],
    );
    return rows.map(meterValueRecord);
  }

  async queryMeterBuckets(q: MeterBucketQuery): Promise<MeterBucket[]> {
    this.#read();
    const step = bucketStepMs(q);
    const { limit, offset } = pageBounds(q, 10_000, 100_000);
    const w = meterWhere(q, 'j.v');
    // Registers keep the bucket's last sample (latest ts, then latest row and position);
    // everything else is averaged. Non-numeric values (SignedData format) are left out of averages.
    const rows = await this.#rows(
      `SELECT ts - ts % ?::bigint AS bucket, connector_id, m, phase, location, unit,
          (array_agg(value ORDER BY ts DESC, id DESC, k DESC))[1] AS last_value,
          (array_agg(wh ORDER BY ts DESC, id DESC, k DESC))[1] AS last_wh,
          (array_agg(w ORDER BY ts DESC, id DESC, k DESC))[1] AS last_w,
          count(*) AS n,
          avg(CASE WHEN (format IS NULL OR format = 'Raw') AND value ~ '${NUMERIC_TEXT}' THEN value::float8 END) AS avg_value,
          avg(wh) AS avg_wh, avg(w) AS avg_w
        FROM (SELECT m.id, j.k, m.ts, m.connector_id, coalesce(j.v ->> 3, '${ENERGY_DEFAULT}') AS m,
            ${SAMPLE_COLUMNS} FROM ${SAMPLES}${w}) s
        GROUP BY bucket, connector_id, m, phase, location, unit
        ORDER BY bucket, connector_id, m, phase NULLS FIRST, location NULLS FIRST, unit NULLS FIRST
        LIMIT ? OFFSET ?`,
      [step, ...w.params, limit, offset],
    );
    return rows.map(meterBucket);
  }

  // ---------------------------------------------------------------- events and findings

  recordEvent(e: EventInput): Promise<number> {
    return this.#write(() => {
      const [chargerId, kind, payload, at] = eventParams(e);
      return async (exec) =>
        (
          await exec('INSERT INTO events (charger_id, kind, payload, at) VALUES (?, ?, ?::json, ?) RETURNING id', [
            chargerId,
            kind,
            payload,
            at,
          ])
        ).rows[0].id as number;
    });
  }

  async listEvents(q: EventQuery = {}): Promise<Page<EventRecord>> {
    return this.#page('events', eventWhere(q), 'at DESC, id DESC', q, (r) => eventRecord(r, POSTGRES));
  }

  recordFindings(chargerId: string, action: string, findings: readonly FindingInput[], at: TimeInput): Promise<void> {
    return this.#write(() => {
      const f = findingParams(chargerId, action, findings, at);
      const ms = f.at;
      const paths = f.rows.map((r) => r[0]);
      const rules = f.rows.map((r) => r[1]);
      const originals = f.rows.map((r) => r[2]);
      const repaired = f.rows.map((r) => r[3]);
      return async (exec) => {
        if (paths.length === 0) return;
        await exec(
          `INSERT INTO findings (charger_id, action, path, rule, original, repaired, at)
            SELECT ?, ?, f.path, f.rule, f.original, f.repaired, ? FROM unnest(?::text[], ?::text[], ?::json[], ?::json[])
            WITH ORDINALITY AS f(path, rule, original, repaired, n) ORDER BY f.n`,
          [chargerId, action, ms, paths, rules, originals, repaired],
        );
      };
    });
  }

  async listFindings(chargerId: string, q: FindingQuery = {}): Promise<Page<FindingRecord>> {
    return this.#page('findings', findingWhere(chargerId, q), 'at DESC, id DESC', q, (r) => findingRecord(r, POSTGRES));
  }

  // ---------------------------------------------------------------- configuration

  saveConfiguration(
    chargerId: string,
    entries: readonly ConfigurationInput[],
    at: TimeInput,
    opts: { replace?: boolean } = {},
  ): Promise<void> {
    return this.#write(() => {
      requireText(chargerId, 'chargerId');
      const ms = toMs(at, 'at');
      const rows = entries.map(
        (e, i) =>
          [
            requireText(e.key, `entries[${i}].key`),
            optionalText(e.value, `entries[${i}].value`),
            e.readonly === true,
          ] as const,
      );
      return async (exec) => {
        if (opts.replace) await exec('DELETE FROM configuration WHERE charger_id = ?', [chargerId]);
        for (const r of rows)
          await exec(
            `INSERT INTO configuration (charger_id, key, value, readonly, updated_at) VALUES (?, ?, ?, ?, ?)
              ON CONFLICT (charger_id, key) DO UPDATE SET value = excluded.value, readonly = excluded.readonly,
                updated_at = excluded.updated_at`,
            [chargerId, r[0], r[1], r[2], ms],
          );
      };
    });
  }

  async getConfiguration(chargerId: string): Promise<ConfigurationEntry[]> {
    const rows = await this.#rows('SELECT * FROM configuration WHERE charger_id = ? ORDER BY key', [chargerId]);
    return rows.map((r) => ({ key: r.key, value: r.value, readonly: r.readonly, updatedAt: toIso(r.updated_at) }));
  }

  // ---------------------------------------------------------------- charging profiles

  saveChargingProfile(p: ChargingProfileInput): Promise<void> {
    return this.#write(() => {
      const v = profileParams(p);
      return async (exec) => {
        // OCPP 1.6 §5.16.2: a profile with the same stackLevel and purpose replaces the old one.
        await exec(
          `WITH d AS (DELETE FROM charging_profiles WHERE charger_id = $1 AND connector_id = $3 AND stack_level = $4
              AND purpose = $5 AND charging_profile_id <> $2)
          INSERT INTO charging_profiles (charger_id, charging_profile_id, connector_id, stack_level, purpose,
            profile, updated_at) VALUES ($1, $2, $3, $4, $5, $6::json, $7)
          ON CONFLICT (charger_id, charging_profile_id) DO UPDATE SET connector_id = excluded.connector_id,
            stack_level = excluded.stack_level, purpose = excluded.purpose, profile = excluded.profile,
            updated_at = excluded.updated_at`,
          v,
        );
      };
    });
  }

  async listChargingProfiles(chargerId: string): Promise<ChargingProfileRecord[]> {
    const rows = await this.#rows(
      'SELECT * FROM charging_profiles WHERE charger_id = ? ORDER BY connector_id, purpose, stack_level, charging_profile_id',
      [chargerId],
    );
    return rows.map((r) => chargingProfileRecord(r, POSTGRES));
  }

  clearChargingProfiles(chargerId: string, filter: ChargingProfileFilter = {}): Promise<number> {
    return this.#write(() => {
      const w = chargingProfileWhere(chargerId, filter);
      const sql = `DELETE FROM charging_profiles${w}`;
      return async (exec) => (await exec(sql, w.params)).rowCount ?? 0;
    });
  }

  // ---------------------------------------------------------------- reservations

  async createReservation(r: ReservationInput, at: TimeInput): Promise<ReservationRecord> {
    const row = reservationRow(r, at);
    return this.#write(
      () => async (exec) =>
        reservationRecord(
          (
            await exec(
              `INSERT INTO reservations (charger_id, connector_id, id_tag, parent_id_tag, expiry_at, status,
             created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
              row,
            )
          ).rows[0],
        ),
    );
  }

  updateReservation(
    id: number,
    patch: { status: string; transactionId?: number | null },
    at: TimeInput,
  ): Promise<ReservationRecord | null> {
    return this.#write(() => {
      const status = requireText(patch.status, 'status');
      const ms = toMs(at, 'at');
      requireInt(id, 'id');
      return async (exec) => {
        const r =
          patch.transactionId === undefined
            ? await exec('UPDATE reservations SET status = ?, updated_at = ? WHERE id = ? RETURNING *', [
                status,
                ms,
                id,
              ])
            : await exec(
                'UPDATE reservations SET status = ?, transaction_id = ?, updated_at = ? WHERE id = ? RETURNING *',
                [status, patch.transactionId, ms, id],
              );
        return r.rows[0] ? reservationRecord(r.rows[0]) : null;
      };
    });
  }

  async getReservation(id: number): Promise<ReservationRecord | null> {
    const r = await this.#one('SELECT * FROM reservations WHERE id = ?', [id]);
    return r ? reservationRecord(r) : null;
  }

  listReservations(q: ReservationQuery = {}): Promise<Page<ReservationRecord>> {
    return this.#page('reservations', reservationWhere(q), 'id DESC', q, reservationRecord);
  }

  // ---------------------------------------------------------------- per-charger id tags

  async getChargerTags(chargerId: string): Promise<ChargerTagsRecord> {
    return chargerTagsRecord(
      chargerId,
      await this.#rows('SELECT kind, id_tag FROM charger_id_tags WHERE charger_id = ?', [chargerId]),
    );
  }

  async setChargerTags(
    chargerId: string,
    tags: { allowed: readonly string[]; freeChargingTag: string | null },
  ): Promise<ChargerTagsRecord> {
    const rows = chargerTagRows(chargerId, tags);
    await this.#write(() => async (exec) => {
      await exec('DELETE FROM charger_id_tags WHERE charger_id = ?', [chargerId]);
      for (const r of rows) await exec('INSERT INTO charger_id_tags (charger_id, kind, id_tag) VALUES (?, ?, ?)', r);
    });
    return chargerTagsRecord(
      chargerId,
      rows.map(([, kind, id_tag]) => ({ kind, id_tag })),
    );
  }

  // ---------------------------------------------------------------- configuration policies

  async listConfigPolicies(): Promise<ConfigPolicyRecord[]> {
    return (await this.#rows(`SELECT * FROM config_policies ORDER BY ${POLICY_ORDER}`)).map(policyRecord);
  }

  async putConfigPolicy(p: ConfigPolicyInput, at: TimeInput = Date.now()): Promise<ConfigPolicyRecord> {
    const row = policyRow(p, at);
    await this.#write(() => async (exec) => {
      await exec(
        `INSERT INTO config_policies (scope, vendor, model, charger_id, key, value, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (scope, vendor, model, charger_id, key)
         DO UPDATE SET value = excluded.value, updated_at = excluded.updated_at`,
        row,
      );
    });
    return policyRecord({
      scope: row[0],
      vendor: row[1],
      model: row[2],
      charger_id: row[3],
      key: row[4],
      value: row[5],
      updated_at: row[6],
    });
  }

  deleteConfigPolicy(p: ConfigPolicyTarget): Promise<boolean> {
    return this.#write(() => {
      const row = policyKeyRow(p);
      return async (exec) =>
        ((
          await exec(
            'DELETE FROM config_policies WHERE scope = ? AND vendor = ? AND model = ? AND charger_id = ? AND key = ?',
            row,
          )
        ).rowCount ?? 0) > 0;
    });
  }

  recordConfigOutcomes(chargerId: string, outcomes: readonly ConfigOutcomeInput[], at: TimeInput): Promise<void> {
    return this.#write(() => {
      const rows = outcomeRows(chargerId, outcomes, at);
      return async (exec) => {
        for (const r of rows) {
          await exec(
            `INSERT INTO config_outcomes (charger_id, key, value, status, note, at) VALUES (?, ?, ?, ?, ?, ?)
             ON CONFLICT (charger_id, key) DO UPDATE SET value = excluded.value, status = excluded.status,
             note = excluded.note, at = excluded.at`,
            r,
          );
        }
      };
    });
  }

  async listConfigOutcomes(chargerId: string): Promise<ConfigOutcomeRecord[]> {
    return (await this.#rows('SELECT * FROM config_outcomes WHERE charger_id = ? ORDER BY key', [chargerId])).map(
      outcomeRecord,
    );
  }

  // ---------------------------------------------------------------- diagnostics requests

  async createDiagnosticsRequest(r: DiagnosticsRequestInput, at: TimeInput): Promise<DiagnosticsRequestRecord> {
    const row = diagnosticsRow(r, at);
    return this.#write(
      () => async (exec) => diagnosticsRecord((await exec(`${DIAGNOSTICS_INSERT} RETURNING *`, row)).rows[0]),
    );
  }

  updateDiagnosticsRequest(
    id: number,
    patch: DiagnosticsPatch,
    at: TimeInput,
  ): Promise<DiagnosticsRequestRecord | null> {
    return this.#write(() => {
      const { set, values } = diagnosticsPatchSql(patch, at);
      requireInt(id, 'id');
      return async (exec) => {
        const r = await exec(`UPDATE diagnostics_requests SET ${set} WHERE id = ? RETURNING *`, [...values, id]);
        return r.rows[0] ? diagnosticsRecord(r.rows[0]) : null;
      };
    });
  }

  async getDiagnosticsRequest(id: number): Promise<DiagnosticsRequestRecord | null> {
    const r = await this.#one('SELECT * FROM diagnostics_requests WHERE id = ?', [id]);
    return r ? diagnosticsRecord(r) : null;
  }

  async listDiagnosticsRequests(q: { chargerId?: string; limit?: number } = {}): Promise<DiagnosticsRequestRecord[]> {
    const limit = q.limit ?? 100;
    const rows =
      q.chargerId === undefined
        ? await this.#rows('SELECT * FROM diagnostics_requests ORDER BY id DESC LIMIT ?', [limit])
        : await this.#rows('SELECT * FROM diagnostics_requests WHERE charger_id = ? ORDER BY id DESC LIMIT ?', [
            q.chargerId,
            limit,
          ]);
    return rows.map(diagnosticsRecord);
  }

  // ---------------------------------------------------------------- retention (src/store/retention.ts)

  pruneMeterValues(before: TimeInput, limit: number): Promise<number> {
    return this.#write(() => {
      const p = pruneArgs(before, limit);
      // One statement, one snapshot: the rows folded are exactly the rows deleted, and two nodes
      // pruning at once skip each other's locked rows instead of counting them twice.
      return async (exec) => (await exec(PRUNE, p)).rowCount ?? 0;
    });
  }

  async listMeterDaily(q: MeterDailyQuery): Promise<MeterDailyRecord[]> {
    const [where, params] = meterDailyWhere(q);
    const rows = await this.#rows(`SELECT * FROM meter_daily WHERE ${where} ORDER BY day, connector_id`, params);
    return rows.map(meterDailyRecord);
  }

  // ---------------------------------------------------------------- settings

  async getSetting(key: string): Promise<string | null> {
    const r = await this.#one('SELECT value FROM settings WHERE key = ?', [key]);
    return r ? r.value : null;
  }

  setSetting(key: string, value: string | null): Promise<void> {
    return this.#write(() => {
      requireText(key, 'key');
      const v = optionalText(value, 'value');
      return async (exec) => {
        if (v === null) await exec('DELETE FROM settings WHERE key = ?', [key]);
        else
          await exec(
            'INSERT INTO settings (key, value) VALUES (?, ?) ON CONFLICT (key) DO UPDATE SET value = excluded.value',
            [key, v],
          );
      };
    });
  }

  // ---------------------------------------------------------------- lifecycle

  async ping(): Promise<void> {
    await this.#rows('SELECT 1');
  }

  flush(): Promise<void> {
    return this.#queue.drain();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#queue.close();
    this.#closed = true;
    const w = this.#writer;
    this.#writer = null;
    await Promise.all([w?.end().catch(() => {}), this.#pool.end()]);
  }
}
