// The SQLite implementation of the Store port (better-sqlite3: synchronous, in-process, so a
// write costs microseconds and group commit makes durability per tick, not per message).
//
// A file store moves its writes to a writer thread (sqlite-writer.ts) once it is busy: the
// thread owns the write connection and runs the group-commit batches, while this thread keeps
// its connection for reads (WAL: a read sees every commit the writer has reported). A write's
// promise still settles only after its COMMIT. In memory, and until the thread is up, the
// batches run here on the one connection.
import { createRequire } from 'node:module';
import { Worker } from 'node:worker_threads';
import Database from 'better-sqlite3';
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
import { diagnosticsPatchSql, diagnosticsRecord, diagnosticsRow } from './diagnostics.ts';
import { StoreError } from './errors.ts';
import { FirmwareStore } from './firmware.ts';
import { encodeMeterReadings, encodeMeterRows } from './meter-samples.ts';
import { migrateSqlite } from './migrations.ts';
import { type MeterDailyRow, meterDailyRecord, meterDailyWhere, pruneArgs } from './retention.ts';
import { type BucketRow, bucketStepMs, type MeterRow, meterBucket, meterValueRecord, Where } from './rows.ts';
import {
  bootChargerFields,
  bootFields,
  type ConnectorRow,
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
import { MeterIndexer, type MeterIndexOptions, meterSource } from './sqlite-meter-index.ts';
import type { WriterData } from './sqlite-writer.ts';
import {
  type ChargerRow,
  chargerRecord,
  configureConnection,
  decodeError,
  type EncodedError,
  type IdTagRow,
  idTagRecord,
  parseJson,
  runWriteOp,
  type Stmt,
  statementCache,
  type TransactionRow,
  transactionRecord,
  txControl,
  WRITE_OP,
  type WriteOpName,
  type WriteParams,
  type WriteResult,
} from './sqlite-writes.ts';
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
import { type BatchOutcome, type BatchSink, runBatch, WriteQueue } from './write-queue.ts';

export interface SqliteStoreOptions {
  /** A file path, or ':memory:' (tests). */
  file: string;
  /** Group-commit window; only 'tick' (one transaction per event-loop turn) exists today. */
  batchWindow?: 'tick';
  /** Milliseconds to wait for a lock held by another process (e.g. the CLI). */
  busyTimeoutMs?: number;
  /**
   * Where a file store's writes run: 'auto' (default) moves them to a writer thread after
   * BACKGROUND_AFTER_WRITES writes, 'worker' from the start, 'thread' never. In memory they run
   * on the caller's thread whatever this says (a worker cannot share an in-memory database).
   */
  writer?: 'auto' | 'worker' | 'thread';
  /** Told the duration of every group commit. */
  onCommit?: CommitObserver;
  /** When the writer indexes fresh meter values (sqlite-meter-index.ts); tests make it eager. */
  meterIndex?: MeterIndexOptions;
}

/**
 * Writes after which a file store starts its background checkpointer and writer thread: a CLI
 * command or a test rarely gets there, and does not pay for two threads.
 */
const BACKGROUND_AFTER_WRITES = 2_000;
/**
 * Each PASSIVE checkpoint copies the pages committed since the last one, once each, however often
 * they were rewritten meanwhile (a table's last page, an index's tail pages). Every 500 ms instead
 * of 100 ms: 2.8-3.5 µs less CPU per MeterValues off the event loop in the 1 000-charger closed
 * loop, 56 vs 61-67 % server CPU in the open loop at 5 000 msg/s, and the writer's batches wait no
 * longer (over 10 ms: 15 vs 11 in two 15 s runs each, none over 30 ms); bench/README.md, round 5.
 */
const CHECKPOINT_INTERVAL_MS = 500;

// The checkpointer: its own connection on a worker thread, running PASSIVE checkpoints (which
// never block the writer and never wait for it) every CHECKPOINT_INTERVAL_MS. Copying WAL pages
// into the database file and its fsync then happen beside the event loop, not inside a COMMIT.
// Plain CommonJS evaluated in the worker: no loader or build step involved.
const CHECKPOINTER_SOURCE = `
const { parentPort, workerData } = require('node:worker_threads');
const Database = require(workerData.driver);
const db = new Database(workerData.file, { fileMustExist: true });
const timer = setInterval(() => {
  try { db.pragma('wal_checkpoint(PASSIVE)'); } catch {}
}, workerData.intervalMs);
parentPort.on('message', () => {
  clearInterval(timer);
  try { db.close(); } catch {}
  parentPort.close();
});
`;

interface Checkpointer {
  worker: Worker;
  exited: Promise<void>;
}

function startCheckpointer(file: string): Checkpointer | null {
  try {
    const driver = createRequire(import.meta.url).resolve('better-sqlite3');
    const worker = new Worker(CHECKPOINTER_SOURCE, {
      eval: true,
      workerData: { driver, file, intervalMs: CHECKPOINT_INTERVAL_MS },
    });
    worker.on('error', () => {}); // the fallback autocheckpoint keeps working without it
    const exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.unref();
    return { worker, exited };
  } catch {
    return null;
  }
}

async function stopCheckpointer({ worker, exited }: Checkpointer): Promise<void> {
  // Referenced again while stopping: an unreferenced worker's exit would not keep close() awaited.
  worker.ref();
  worker.postMessage('stop');
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<void>((resolve) => {
    timer = setTimeout(resolve, 2_000);
  });
  await Promise.race([exited, timeout]);
  clearTimeout(timer);
  await worker.terminate();
}

// The writer thread's client. From source sqlite-writer.ts is TypeScript: the worker registers the
// tsx loader itself (loader hooks are per thread), then imports it. The thread runs batches in the
// order posted and replies once per batch, so each reply pairs with the oldest waiting batch.
class WriterThread {
  readonly #worker: Worker;
  readonly #exited: Promise<void>;
  #waiting: [resolve: (o: BatchOutcome) => void, reject: (err: unknown) => void][] = [];
  #dead: Error | null = null;
  /** Called once if the thread dies; the store then writes on its own connection again. */
  onDeath: (() => void) | null = null;

  #ready: { resolve: () => void; reject: (err: Error) => void } | null = null;

  private constructor(worker: Worker) {
    this.#worker = worker;
    this.#exited = new Promise<void>((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', this.#onMessage);
    worker.on('error', (err) => this.#die(err));
    worker.on('exit', (code) => this.#die(new Error(`writer thread exited (${code})`)));
  }

  static async start(data: WriterData): Promise<WriterThread> {
    // Compiled (dist/store/sqlite.js) the thread imports the compiled writer directly; from source
    // it registers tsx first.
    const compiled = import.meta.url.endsWith('.js');
    const entry = JSON.stringify(new URL(compiled ? './sqlite-writer.js' : './sqlite-writer.ts', import.meta.url).href);
    const boot = compiled
      ? `await import(${entry});`
      : `import { register } from ${JSON.stringify(import.meta.resolve('tsx/esm/api'))};
register();
await import(${entry});`;
    const worker = new Worker(new URL(`data:text/javascript,${encodeURIComponent(boot)}`), { workerData: data });
    const w = new WriterThread(worker);
    try {
      await new Promise<void>((resolve, reject) => {
        w.#ready = { resolve, reject };
      });
    } catch (err) {
      await worker.terminate();
      throw err;
    }
    // Referenced only while a batch is in flight: an idle store does not keep the process alive.
    worker.unref();
    return w;
  }

  readonly sink: BatchSink = (codes, params) => {
    if (this.#dead !== null) throw this.#dead;
    return new Promise<BatchOutcome>((resolve, reject) => {
      if (this.#waiting.length === 0) this.#worker.ref();
      this.#waiting.push([resolve, reject]);
      this.#worker.postMessage([codes, params]);
    });
  };

  #onMessage = (o: BatchOutcome<EncodedError> | 'ready'): void => {
    if (o === 'ready') {
      this.#ready?.resolve();
      this.#ready = null;
      return;
    }
    const w = this.#waiting.shift();
    if (this.#waiting.length === 0) this.#worker.unref();
    if (w === undefined) return;
    if (o.failures === null && o.fatal === null) w[0](o);
    else
      w[0]({
        ...o,
        failures: o.failures?.map(([i, e]) => [i, decodeError(e)]) ?? null,
        fatal: o.fatal === null ? null : { error: decodeError(o.fatal.error) },
      });
  };

  #die(err: Error): void {
    if (this.#dead !== null) return;
    this.#dead = err;
    this.#ready?.reject(err);
    this.#ready = null;
    // A batch in flight may or may not have committed: its writes reject (never acknowledged).
    for (const [, reject] of this.#waiting.splice(0)) reject(err);
    this.onDeath?.();
  }

  /** Closes the write connection and ends the thread; call when no batch is in flight. */
  async stop(): Promise<void> {
    if (this.#dead === null) {
      this.#dead = new StoreError('AMPERE_ERR_STORE_CLOSED', 'store is closed');
      this.#worker.ref();
      this.#worker.postMessage('close');
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<void>((resolve) => {
        timer = setTimeout(resolve, 5_000);
      });
      await Promise.race([this.#exited, timeout]);
      clearTimeout(timer);
    }
    await this.#worker.terminate();
  }
}

export async function openSqliteStore(opts: SqliteStoreOptions): Promise<SqliteStore> {
  const db = new Database(opts.file);
  const busyTimeoutMs = opts.busyTimeoutMs ?? 5000;
  try {
    configureConnection(db, busyTimeoutMs);
    migrateSqlite(db);
  } catch (err) {
    db.close();
    throw err;
  }
  const file = opts.file === ':memory:' || opts.file === '' ? null : opts.file;
  const store = new SqliteStore(db, file, busyTimeoutMs, opts.writer ?? 'auto', opts.onCommit, opts.meterIndex);
  if (file !== null && opts.writer === 'worker') {
    try {
      await store.startWriter();
    } catch (err) {
      await store.close();
      throw err;
    }
  }
  return store;
}

const TAG_STATUSES = new Set(['Accepted', 'Blocked', 'Expired', 'Invalid', 'ConcurrentTx']);

/** The statement of queryMeterValues, and its parameters (exported for its query-plan test). */
export function meterValuesSql(q: MeterQuery): { sql: string; params: unknown[] } {
  const { limit, offset } = pageBounds(q, 1000, 100_000);
  const w = meterWhere(q, 'j.value');
  const src = meterSource(q);
  return {
    sql: `SELECT m.id, m.charger_id, m.connector_id, m.transaction_id, m.ts, m.source,
        j.key AS k, j.value ->> 0 AS value, j.value ->> 1 AS context, j.value ->> 2 AS format,
        j.value ->> 3 AS measurand, j.value ->> 4 AS phase, j.value ->> 5 AS location, j.value ->> 6 AS unit,
        j.value ->> 7 AS wh, j.value ->> 8 AS w
      FROM ${src.sql} m, json_each(m.samples) j${w} ORDER BY m.ts, m.id, j.key LIMIT ? OFFSET ?`,
    params: [...src.params, ...w.params, limit, offset],
  };
}

// ---------------------------------------------------------------- rows

/** SQLite rows: JSON columns are text, booleans 0/1. */
const SQLITE: Decode = { json: (v) => parseJson(v as string | null), bool: (v) => v === 1 };

// ---------------------------------------------------------------- the store

export class SqliteStore implements Store {
  readonly kind = 'sqlite' as const;
  readonly firmware: FirmwareStore;
  readonly #db: Database.Database;
  readonly #queue: WriteQueue;
  readonly #stmt: (sql: string) => Stmt;
  #closed = false;
  /** The database file, for the background threads (null in memory). */
  readonly #file: string | null;
  readonly #busyTimeoutMs: number;
  readonly #writerMode: 'auto' | 'worker' | 'thread';
  #backgroundStarted = false;
  #checkpointer: Checkpointer | null = null;
  #writer: WriterThread | null = null;
  #writerStarting: Promise<void> | null = null;
  /** Runs batches on this thread's connection (in memory, before the writer thread is up, or after it died). */
  readonly #localSink: BatchSink;
  readonly #onCommit: CommitObserver | undefined;
  readonly #meterIndex: MeterIndexOptions;
  // touchCharger coalescing: one UPDATE per charger per batch, whatever the frame rate.
  readonly #touchBatch: TouchBatch;

  constructor(
    db: Database.Database,
    file: string | null = null,
    busyTimeoutMs = 5000,
    writer: 'auto' | 'worker' | 'thread' = 'auto',
    onCommit?: CommitObserver,
    meterIndex: MeterIndexOptions = {},
  ) {
    this.#db = db;
    this.#onCommit = onCommit;
    this.#file = file;
    this.#busyTimeoutMs = busyTimeoutMs;
    this.#writerMode = file === null ? 'thread' : writer;
    this.#stmt = statementCache(db);
    const tx = txControl(db);
    const prepare = this.#stmt;
    this.#meterIndex = meterIndex;
    const indexer = new MeterIndexer(db, tx, () => performance.now(), meterIndex);
    this.#localSink = this.#timed((codes, params) => {
      const out = runBatch(tx, codes.length, (i) => runWriteOp(prepare, codes[i]!, params[i]));
      indexer.afterBatch(codes, params, out);
      return out;
    });
    this.#queue = new WriteQueue(this.#localSink, WRITE_OP.noop);
    this.firmware = new FirmwareStore({
      rows: async (sql, params) => {
        this.#read();
        return this.#stmt(sql).all(params) as any[];
      },
      write: (sql, params) => this.#write('firmwareWrite', () => ({ sql, params: [...params] })) as Promise<any[]>,
    });
    this.#touchBatch = new TouchBatch((touches) => this.#queue.push(WRITE_OP.touchChargers, touches));
  }

  /** Group-commit counters (batches, writes, isolated retries). */
  get writeStats(): Readonly<WriteQueue['stats']> {
    return this.#queue.stats;
  }

  /** Where writes run now: the writer thread or this one. */
  get writerThread(): boolean {
    return this.#writer !== null;
  }

  /**
   * Moves the writes to a writer thread; batches already handed over ran here and have
   * committed, so the order holds. Rejects (and writes stay here) if the thread cannot start.
   */
  startWriter(): Promise<void> {
    if (this.#file === null) return Promise.resolve();
    this.#writerStarting ??= WriterThread.start({
      file: this.#file,
      busyTimeoutMs: this.#busyTimeoutMs,
      meterIndex: this.#meterIndex,
    }).then(async (w) => {
      if (this.#closed) {
        await w.stop();
        return;
      }
      w.onDeath = () => {
        this.#writer = null;
        this.#queue.setSink(this.#localSink);
      };
      this.#writer = w;
      this.#queue.setSink(this.#timed(w.sink));
    });
    return this.#writerStarting;
  }

  /** The sink, timed for the commit observer (once per batch, never per write). */
  #timed(sink: BatchSink): BatchSink {
    const observe = this.#onCommit;
    if (observe === undefined) return sink;
    const done = (started: number, o: BatchOutcome): BatchOutcome => {
      if (o.fatal === null) observe((performance.now() - started) / 1000);
      return o;
    };
    return (codes, params) => {
      const started = performance.now();
      const out = sink(codes, params);
      return out instanceof Promise ? out.then((o) => done(started, o)) : done(started, out);
    };
  }

  /** A busy file store starts its background threads (checkpointer, writer). */
  #startBackground(): void {
    this.#backgroundStarted = true;
    if (this.#file === null) return;
    this.#checkpointer = startCheckpointer(this.#file);
    if (this.#writerMode === 'auto') this.startWriter().catch(() => {}); // writes stay on this thread
  }

  #read(): void {
    if (this.#closed) throw new StoreError('AMPERE_ERR_STORE_CLOSED', 'store is closed');
  }

  /** Queues a write; input is validated before queueing so a bad call rejects at once. */
  #write<K extends WriteOpName>(op: K, prepare: () => WriteParams<K>): Promise<WriteResult<K>> {
    let params: WriteParams<K>;
    try {
      params = prepare();
    } catch (err) {
      return Promise.reject(err);
    }
    // Any busy store, not only one taking meter values (a reconnect storm writes boots alone).
    if (!this.#backgroundStarted && this.#queue.stats.writes > BACKGROUND_AFTER_WRITES) this.#startBackground();
    return this.#queue.push(WRITE_OP[op], params);
  }

  #page<T>(table: string, where: Where, order: string, q: PageQuery | undefined, map: (r: any) => T): Page<T> {
    this.#read();
    const { limit, offset } = pageBounds(q);
    const w = where.toString();
    const total = (this.#stmt(`SELECT count(*) AS n FROM ${table}${w}`).get(...where.params) as { n: number }).n;
    const rows = this.#stmt(`SELECT * FROM ${table}${w} ORDER BY ${order} LIMIT ? OFFSET ?`).all(
      ...where.params,
      limit,
      offset,
    );
    return { items: rows.map(map), total };
  }

  // ---------------------------------------------------------------- chargers

  async getCharger(id: string): Promise<ChargerRecord | null> {
    this.#read();
    const r = this.#stmt('SELECT * FROM chargers WHERE id = ?').get(id) as ChargerRow | undefined;
    return r ? chargerRecord(r) : null;
  }

  async listChargers(q: ChargerQuery = {}): Promise<Page<ChargerRecord>> {
    const w = new Where();
    if (q.connected !== undefined) w.add('connected = ?', q.connected ? 1 : 0);
    if (q.registration !== undefined) w.add('registration = ?', q.registration);
    if (q.vendor !== undefined) w.add('vendor = ? COLLATE NOCASE', q.vendor);
    if (q.model !== undefined) w.add('model = ? COLLATE NOCASE', q.model);
    return this.#page('chargers', w, 'id', q, chargerRecord);
  }

  upsertCharger(id: string, patch: ChargerPatch = {}, at?: TimeInput): Promise<ChargerRecord> {
    return this.#write('upsertCharger', () => {
      const now = checkChargerPatch(id, patch, at);
      const has = (k: keyof ChargerPatch) => (patch[k] !== undefined ? 1 : 0);
      return {
        id,
        now,
        registration: patch.registration ?? null,
        heartbeatInterval: patch.heartbeatInterval ?? null,
        validationMode: patch.validationMode ?? null,
        notes: optionalText(patch.notes, 'notes'),
        securityProfile: patch.securityProfile ?? null,
        authKeyHash: optionalText(patch.authKeyHash, 'authKeyHash'),
        hasRegistration: has('registration'),
        hasHeartbeatInterval: has('heartbeatInterval'),
        hasValidationMode: has('validationMode'),
        hasNotes: has('notes'),
        hasSecurityProfile: has('securityProfile'),
        hasAuthKeyHash: has('authKeyHash'),
      };
    });
  }

  deleteCharger(id: string): Promise<boolean> {
    return this.#write('deleteCharger', () => id);
  }

  recordBoot(id: string, boot: BootFields, at: TimeInput): Promise<ChargerRecord> {
    return this.#write('recordBoot', () => bootFields(id, boot, at));
  }

  bootCharger(
    id: string,
    boot: BootFields,
    at: TimeInput,
    connection: { registrationIfNew: ChargerRecord['registration']; remoteAddress: string | null },
  ): Promise<{ record: ChargerRecord; created: boolean }> {
    return this.#write('bootCharger', () => bootChargerFields(id, boot, at, connection));
  }

  touchCharger(id: string, at: TimeInput): Promise<void> {
    return this.#touchBatch.touch(id, at, this.#queue.generation);
  }

  setConnection(id: string, connected: boolean, remoteAddress: string | null, at: TimeInput): Promise<void> {
    return this.#write('setConnection', () => {
      const ms = toMs(at, 'at');
      const addr = optionalText(remoteAddress, 'remoteAddress');
      return [connected ? 1 : 0, addr, ms, id];
    });
  }

  markAllDisconnected(at: TimeInput): Promise<number> {
    return this.#write('markAllDisconnected', () => {
      toMs(at, 'at');
      return undefined;
    });
  }

  recordConnectionAttempt(id: string, remoteAddress: string | null, at: TimeInput): Promise<void> {
    return this.#write('recordConnectionAttempt', () => {
      requireText(id, 'id');
      const ms = toMs(at, 'at');
      return [id, ms, ms, optionalText(remoteAddress, 'remoteAddress')];
    });
  }

  async listConnectionAttempts(q?: PageQuery): Promise<Page<ConnectionAttemptRecord>> {
    return this.#page('connection_attempts', new Where(), 'last_at DESC, id', q, connectionAttemptRecord);
  }

  deleteConnectionAttempt(id: string): Promise<boolean> {
    return this.#write('deleteConnectionAttempt', () => id);
  }

  // ---------------------------------------------------------------- connectors

  recordStatus(s: StatusInput): Promise<void> {
    return this.#write('recordStatus', () => statusParams(s));
  }

  async listConnectors(chargerId: string): Promise<ConnectorRecord[]> {
    this.#read();
    const rows = this.#stmt('SELECT * FROM connectors WHERE charger_id = ? ORDER BY connector_id').all(chargerId);
    return (rows as ConnectorRow[]).map(connectorRecord);
  }

  async listStatusHistory(chargerId: string, q: StatusHistoryQuery = {}): Promise<Page<StatusHistoryRecord>> {
    const w = statusHistoryWhere(chargerId, q);
    return this.#page('status_history', w, 'received_at DESC, id DESC', q, (r: ConnectorRow) => ({
      id: r.id!,
      ...connectorRecord(r),
    }));
  }

  // ---------------------------------------------------------------- id tags

  async getIdTag(idTag: string): Promise<IdTagRecord | null> {
    this.#read();
    const r = this.#stmt('SELECT * FROM id_tags WHERE id_tag_key = ?').get(idTag.toLowerCase()) as IdTagRow | undefined;
    return r ? idTagRecord(r) : null;
  }

  async listIdTags(q: IdTagQuery = {}): Promise<Page<IdTagRecord>> {
    const w = new Where();
    if (q.status !== undefined) w.add('status = ?', q.status);
    if (q.search !== undefined && q.search !== '') w.add('instr(id_tag_key, ?) > 0', q.search.toLowerCase());
    return this.#page('id_tags', w, 'id_tag_key', q, idTagRecord);
  }

  #tagParams(t: IdTagInput, now: number): Record<string, unknown> & { key: string } {
    requireText(t.idTag, 'idTag');
    if (t.status !== undefined && !TAG_STATUSES.has(t.status))
      throw invalid(`status: not an id tag status: ${t.status}`);
    const has = (k: keyof IdTagInput) => (t[k] !== undefined ? 1 : 0);
    return {
      key: t.idTag.toLowerCase(),
      idTag: t.idTag,
      status: t.status ?? null,
      expiry: toMsOrNull(t.expiryDate, 'expiryDate'),
      parent: optionalText(t.parentIdTag, 'parentIdTag'),
      note: optionalText(t.note, 'note'),
      plan: jsonText(t.smartPlan),
      now,
      hasStatus: has('status'),
      hasExpiry: has('expiryDate'),
      hasParent: has('parentIdTag'),
      hasNote: has('note'),
      hasPlan: has('smartPlan'),
    };
  }

  upsertIdTag(tag: IdTagInput, at?: TimeInput): Promise<IdTagRecord> {
    return this.#write('upsertIdTag', () => this.#tagParams(tag, at === undefined ? Date.now() : toMs(at)));
  }

  upsertIdTags(tags: IdTagInput[], at?: TimeInput): Promise<number> {
    return this.#write('upsertIdTags', () => {
      const now = at === undefined ? Date.now() : toMs(at);
      return tags.map((t, i) => {
        try {
          return this.#tagParams(t, now);
        } catch (err) {
          throw invalid(`tags[${i}]: ${(err as Error).message}`);
        }
      });
    });
  }

  deleteIdTag(idTag: string): Promise<boolean> {
    return this.#write('deleteIdTag', () => requireText(idTag, 'idTag').toLowerCase());
  }

  // ---------------------------------------------------------------- transactions

  startTransaction(t: StartTransactionInput): Promise<StartTransactionResult> {
    return this.#write('startTransaction', () => startParams(t));
  }

  stopTransaction(t: StopTransactionInput): Promise<StopTransactionResult> {
    return this.#write('stopTransaction', () => stopParams(t));
  }

  closeTransaction(c: CloseTransactionInput): Promise<TransactionRecord | null> {
    return this.#write('closeTransaction', () => closeParams(c));
  }

  async getTransaction(id: number): Promise<TransactionRecord | null> {
    this.#read();
    const r = this.#stmt('SELECT * FROM transactions WHERE id = ?').get(id) as TransactionRow | undefined;
    return r ? transactionRecord(r) : null;
  }

  async listTransactions(q: TransactionQuery = {}): Promise<Page<TransactionRecord>> {
    return this.#page('transactions', transactionWhere(q), 'started_at DESC, id DESC', q, transactionRecord);
  }

  async activeTransactionFor(chargerId: string, connectorId: number): Promise<TransactionRecord | null> {
    this.#read();
    const r = this.#stmt(`SELECT * FROM transactions WHERE charger_id = ? AND connector_id = ? AND stopped_at IS NULL
      ORDER BY started_at DESC, id DESC LIMIT 1`).get(chargerId, connectorId) as TransactionRow | undefined;
    return r ? transactionRecord(r) : null;
  }

  async activeTransactionsByIdTag(idTag: string): Promise<TransactionRecord[]> {
    this.#read();
    const rows = this.#stmt(
      'SELECT * FROM transactions WHERE id_tag_key = ? AND stopped_at IS NULL ORDER BY started_at, id',
    ).all(idTag.toLowerCase());
    return (rows as TransactionRow[]).map(transactionRecord);
  }

  async listStops(q: PageQuery & { chargerId?: string; transactionId?: number } = {}): Promise<Page<StopRecord>> {
    return this.#page('transaction_stops', stopWhere(q), 'id DESC', q, (r) => stopRecord(r, SQLITE));
  }

  async transactionMeterSummary(transactionId: number): Promise<TransactionMeterSummary> {
    this.#read();
    // The transaction's rows: its lookup-table entries and the fresh rows (sqlite-meter-index.ts).
    const src = meterSource({ transactionId });
    const a = this.#stmt(`SELECT count(*) AS n, min(m.ts) AS first, max(m.ts) AS last
      FROM ${src.sql} m, json_each(m.samples) j`).get(...src.params) as {
      n: number;
      first: number | null;
      last: number | null;
    };
    const e = this.#stmt(`SELECT j.value ->> 7 AS wh FROM ${src.sql} m, json_each(m.samples) j
      WHERE j.value ->> 7 IS NOT NULL
      ORDER BY m.ts DESC, m.id DESC, j.key DESC LIMIT 1`).get(...src.params) as { wh: number } | undefined;
    // Power per instant: the phase-less total when the charger sent one, else the sum of phases.
    const p = this.#stmt(`SELECT max(total) AS peak, avg(total) AS mean FROM (
        SELECT CASE WHEN sum(phase IS NULL) > 0 THEN sum(CASE WHEN phase IS NULL THEN w END) ELSE sum(w) END AS total
        FROM (SELECT m.ts AS ts, j.value ->> 4 AS phase, j.value ->> 8 AS w
          FROM ${src.sql} m, json_each(m.samples) j
          WHERE j.value ->> 3 = 'Power.Active.Import')
        WHERE w IS NOT NULL GROUP BY ts)`).get(...src.params) as { peak: number | null; mean: number | null };
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
   * Encodes meter rows with `encode` (meter-samples.ts: METER_COLUMNS values each) and queues
   * them; a row that does not encode rejects the whole call, storing none of it.
   */
  #queueMeter<T>(encode: (input: T, out: unknown[]) => void, input: T): Promise<void> {
    const params: unknown[] = [];
    try {
      encode(input, params);
    } catch (err) {
      return Promise.reject(err);
    }
    if (params.length === 0) return Promise.resolve();
    if (!this.#backgroundStarted && this.#queue.stats.writes > BACKGROUND_AFTER_WRITES) this.#startBackground();
    return this.#queue.push(WRITE_OP.insertMeterValues, params);
  }

  async queryMeterValues(q: MeterQuery): Promise<MeterValueRecord[]> {
    this.#read();
    const { sql, params } = meterValuesSql(q);
    return (this.#stmt(sql).all(...params) as MeterRow[]).map(meterValueRecord);
  }

  async queryMeterBuckets(q: MeterBucketQuery): Promise<MeterBucket[]> {
    this.#read();
    const step = bucketStepMs(q);
    const { limit, offset } = pageBounds(q, 10_000, 100_000);
    const w = meterWhere(q, 'j.value');
    const src = meterSource(q);
    // SQLite returns the bare columns (value, wh, w) of the row holding max(ts) when max() is the
    // query's only min/max aggregate: that is the "last sample" of each bucket for registers.
    // Non-numeric values (SignedData format) are left out of averages instead of counting as 0.
    // `ts - ts % step`, not `ts / step * step`: bound JS numbers are REALs, so `/` would not floor.
    const rows = this.#stmt(`SELECT ts - ts % ? AS bucket, connector_id, m, phase, location, unit,
        max(ts) AS last_ts, value AS last_value, wh AS last_wh, w AS last_w, count(*) AS n,
        avg(CASE WHEN (format IS NULL OR format = 'Raw') AND trim(value) GLOB '[-+.0-9]*' THEN CAST(value AS REAL) END) AS avg_value,
        avg(wh) AS avg_wh, avg(w) AS avg_w
      FROM (SELECT m.ts AS ts, m.connector_id AS connector_id, coalesce(j.value ->> 3, '${ENERGY_DEFAULT}') AS m,
          j.value ->> 4 AS phase, j.value ->> 5 AS location, j.value ->> 6 AS unit, j.value ->> 0 AS value,
          j.value ->> 2 AS format, j.value ->> 7 AS wh, j.value ->> 8 AS w
        FROM ${src.sql} m, json_each(m.samples) j${w})
      GROUP BY bucket, connector_id, m, phase, location, unit
      ORDER BY bucket, connector_id, m, phase, location, unit
      LIMIT ? OFFSET ?`).all(step, ...src.params, ...w.params, limit, offset) as BucketRow[];
    return rows.map(meterBucket);
  }

  // ---------------------------------------------------------------- events and findings

  recordEvent(e: EventInput): Promise<number> {
    return this.#write('recordEvent', () => eventParams(e));
  }

  async listEvents(q: EventQuery = {}): Promise<Page<EventRecord>> {
    return this.#page('events', eventWhere(q), 'at DESC, id DESC', q, (r) => eventRecord(r, SQLITE));
  }

  recordFindings(chargerId: string, action: string, findings: readonly FindingInput[], at: TimeInput): Promise<void> {
    return this.#write('recordFindings', () => {
      const f = findingParams(chargerId, action, findings, at);
      return f.rows.map((r) => [chargerId, action, ...r, f.at]);
    });
  }

  async listFindings(chargerId: string, q: FindingQuery = {}): Promise<Page<FindingRecord>> {
    return this.#page('findings', findingWhere(chargerId, q), 'at DESC, id DESC', q, (r) => findingRecord(r, SQLITE));
  }

  // ---------------------------------------------------------------- configuration

  saveConfiguration(
    chargerId: string,
    entries: readonly ConfigurationInput[],
    at: TimeInput,
    opts: { replace?: boolean } = {},
  ): Promise<void> {
    return this.#write('saveConfiguration', () => {
      requireText(chargerId, 'chargerId');
      const ms = toMs(at, 'at');
      const rows = entries.map((e, i) => [
        chargerId,
        requireText(e.key, `entries[${i}].key`),
        optionalText(e.value, `entries[${i}].value`),
        e.readonly ? 1 : 0,
        ms,
      ]);
      return { chargerId, replace: opts.replace === true, rows };
    });
  }

  async getConfiguration(chargerId: string): Promise<ConfigurationEntry[]> {
    this.#read();
    const rows = this.#stmt('SELECT * FROM configuration WHERE charger_id = ? ORDER BY key').all(chargerId) as {
      key: string;
      value: string | null;
      readonly: number;
      updated_at: number;
    }[];
    return rows.map((r) => ({
      key: r.key,
      value: r.value,
      readonly: r.readonly === 1,
      updatedAt: toIso(r.updated_at),
    }));
  }

  // ---------------------------------------------------------------- charging profiles

  saveChargingProfile(p: ChargingProfileInput): Promise<void> {
    return this.#write('saveChargingProfile', () => profileParams(p));
  }

  async listChargingProfiles(chargerId: string): Promise<ChargingProfileRecord[]> {
    this.#read();
    const rows = this.#stmt(
      'SELECT * FROM charging_profiles WHERE charger_id = ? ORDER BY connector_id, purpose, stack_level, charging_profile_id',
    ).all(chargerId) as any[];
    return rows.map((r) => chargingProfileRecord(r, SQLITE));
  }

  clearChargingProfiles(chargerId: string, filter: ChargingProfileFilter = {}): Promise<number> {
    return this.#write('clearChargingProfiles', () => {
      const w = chargingProfileWhere(chargerId, filter);
      return { sql: `DELETE FROM charging_profiles${w}`, params: w.params };
    });
  }

  // ---------------------------------------------------------------- reservations

  async createReservation(r: ReservationInput, at: TimeInput): Promise<ReservationRecord> {
    const id = await this.#write('createReservation', () => reservationRow(r, at));
    return (await this.getReservation(id))!;
  }

  async updateReservation(
    id: number,
    patch: { status: string; transactionId?: number | null },
    at: TimeInput,
  ): Promise<ReservationRecord | null> {
    const ok = await this.#write('updateReservation', () => [
      requireText(patch.status, 'status'),
      patch.transactionId,
      toMs(at, 'at'),
      requireInt(id, 'id'),
    ]);
    return ok ? this.getReservation(id) : null;
  }

  async getReservation(id: number): Promise<ReservationRecord | null> {
    this.#read();
    const r = this.#stmt('SELECT * FROM reservations WHERE id = ?').get(id);
    return r ? reservationRecord(r) : null;
  }

  async listReservations(q: ReservationQuery = {}): Promise<Page<ReservationRecord>> {
    return this.#page('reservations', reservationWhere(q), 'id DESC', q, reservationRecord);
  }

  // ---------------------------------------------------------------- per-charger id tags

  async getChargerTags(chargerId: string): Promise<ChargerTagsRecord> {
    this.#read();
    const rows = this.#stmt('SELECT kind, id_tag FROM charger_id_tags WHERE charger_id = ?').all(chargerId) as {
      kind: string;
      id_tag: string;
    }[];
    return chargerTagsRecord(chargerId, rows);
  }

  async setChargerTags(
    chargerId: string,
    tags: { allowed: readonly string[]; freeChargingTag: string | null },
  ): Promise<ChargerTagsRecord> {
    const rows = chargerTagRows(chargerId, tags);
    await this.#write('setChargerTags', () => ({ chargerId, rows }));
    return chargerTagsRecord(
      chargerId,
      rows.map(([, kind, id_tag]) => ({ kind, id_tag })),
    );
  }

  // ---------------------------------------------------------------- configuration policies

  async listConfigPolicies(): Promise<ConfigPolicyRecord[]> {
    this.#read();
    return (this.#stmt(`SELECT * FROM config_policies ORDER BY ${POLICY_ORDER}`).all() as any[]).map(policyRecord);
  }

  async putConfigPolicy(p: ConfigPolicyInput, at: TimeInput = Date.now()): Promise<ConfigPolicyRecord> {
    const row = policyRow(p, at);
    await this.#write('putConfigPolicy', () => row);
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
    return this.#write('deleteConfigPolicy', () => policyKeyRow(p));
  }

  recordConfigOutcomes(chargerId: string, outcomes: readonly ConfigOutcomeInput[], at: TimeInput): Promise<void> {
    return this.#write('recordConfigOutcomes', () => outcomeRows(chargerId, outcomes, at));
  }

  async listConfigOutcomes(chargerId: string): Promise<ConfigOutcomeRecord[]> {
    this.#read();
    return (this.#stmt('SELECT * FROM config_outcomes WHERE charger_id = ? ORDER BY key').all(chargerId) as any[]).map(
      outcomeRecord,
    );
  }

  // ---------------------------------------------------------------- diagnostics requests

  async createDiagnosticsRequest(r: DiagnosticsRequestInput, at: TimeInput): Promise<DiagnosticsRequestRecord> {
    const id = await this.#write('createDiagnosticsRequest', () => diagnosticsRow(r, at));
    return (await this.getDiagnosticsRequest(id))!;
  }

  async updateDiagnosticsRequest(
    id: number,
    patch: DiagnosticsPatch,
    at: TimeInput,
  ): Promise<DiagnosticsRequestRecord | null> {
    const ok = await this.#write('updateDiagnosticsRequest', () => {
      const { set, values } = diagnosticsPatchSql(patch, at);
      return [set, values, requireInt(id, 'id')];
    });
    return ok ? this.getDiagnosticsRequest(id) : null;
  }

  async getDiagnosticsRequest(id: number): Promise<DiagnosticsRequestRecord | null> {
    this.#read();
    const r = this.#stmt('SELECT * FROM diagnostics_requests WHERE id = ?').get(id);
    return r ? diagnosticsRecord(r) : null;
  }

  async listDiagnosticsRequests(q: { chargerId?: string; limit?: number } = {}): Promise<DiagnosticsRequestRecord[]> {
    this.#read();
    const limit = q.limit ?? 100;
    const rows =
      q.chargerId === undefined
        ? this.#stmt('SELECT * FROM diagnostics_requests ORDER BY id DESC LIMIT ?').all(limit)
        : this.#stmt('SELECT * FROM diagnostics_requests WHERE charger_id = ? ORDER BY id DESC LIMIT ?').all(
            q.chargerId,
            limit,
          );
    return (rows as any[]).map(diagnosticsRecord);
  }

  // ---------------------------------------------------------------- retention (src/store/retention.ts)

  pruneMeterValues(before: TimeInput, limit: number): Promise<number> {
    return this.#write('pruneMeterValues', () => pruneArgs(before, limit));
  }

  async listMeterDaily(q: MeterDailyQuery): Promise<MeterDailyRecord[]> {
    this.#read();
    const [where, params] = meterDailyWhere(q);
    const rows = this.#stmt(`SELECT * FROM meter_daily WHERE ${where} ORDER BY day, connector_id`).all(
      ...params,
    ) as MeterDailyRow[];
    return rows.map(meterDailyRecord);
  }

  // ---------------------------------------------------------------- settings

  async getSetting(key: string): Promise<string | null> {
    this.#read();
    const r = this.#stmt('SELECT value FROM settings WHERE key = ?').get(key) as { value: string } | undefined;
    return r ? r.value : null;
  }

  setSetting(key: string, value: string | null): Promise<void> {
    return this.#write('setSetting', () => [requireText(key, 'key'), optionalText(value, 'value')]);
  }

  // ---------------------------------------------------------------- lifecycle

  async ping(): Promise<void> {
    this.#read();
    this.#stmt('SELECT 1').get();
  }

  flush(): Promise<void> {
    return this.#queue.drain();
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await this.#queue.close();
    this.#closed = true;
    // A writer thread still starting is stopped as soon as it is up (startWriter).
    await this.#writerStarting?.catch(() => {});
    if (this.#writer !== null) {
      await this.#writer.stop();
      this.#writer = null;
    }
    if (this.#checkpointer !== null) await stopCheckpointer(this.#checkpointer);
    // Folds the WAL back into the main file so a copied data folder is one file.
    try {
      this.#db.pragma('wal_checkpoint(TRUNCATE)');
    } catch {
      // another process may hold a read lock; the WAL stays valid and is replayed at next open
    }
    this.#db.close();
  }
}
