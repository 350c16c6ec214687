// Firmware images, update jobs (one UpdateFirmware / SignedUpdateFirmware to one charger) and
// rollouts (jobs over a set of chargers). One implementation over a two-method SQL port: the SQL
// here is the common subset of SQLite and PostgreSQL (`?` placeholders, RETURNING, ON CONFLICT),
// so each store only hands over how it reads and how it queues a write.
import { invalid, pageBounds, requireInt, requireText } from './checks.ts';
import { Where } from './rows.ts';
import { toIso, toMs } from './time.ts';
import type { IsoTime, JsonValue, Page, PageQuery, TimeInput } from './types.ts';

/** How a store runs the firmware SQL: reads at once, writes through its write queue. */
export interface FirmwareSqlPort {
  rows(sql: string, params: readonly unknown[]): Promise<any[]>;
  /** One statement as one queued write, committed before it resolves; the rows it RETURNS. */
  write(sql: string, params: readonly unknown[]): Promise<any[]>;
}

export interface FirmwareImageRecord {
  id: string;
  /** The file name given at upload (what a charger sees at the end of the URL). */
  name: string;
  version: string;
  size: number;
  sha256: string;
  /** The file under the data folder, relative to it. */
  file: string;
  /** Security extension (Secure firmware update): PEM signing certificate and base64 signature. */
  signingCertificate: string | null;
  signature: string | null;
  createdAt: IsoTime;
}

export type FirmwareJobState = 'queued' | 'running' | 'succeeded' | 'failed' | 'timed-out' | 'cancelled';
export const FIRMWARE_JOB_STATES: readonly FirmwareJobState[] = [
  'queued',
  'running',
  'succeeded',
  'failed',
  'timed-out',
  'cancelled',
];
export const FINISHED_JOB_STATES: readonly FirmwareJobState[] = ['succeeded', 'failed', 'timed-out', 'cancelled'];

export interface FirmwareStatusEntry {
  status: string;
  at: IsoTime;
}

export interface FirmwareJobRecord {
  id: number;
  chargerId: string;
  imageId: string;
  rolloutId: number | null;
  /** `UpdateFirmware` (OCPP 1.6 §5.19) or `SignedUpdateFirmware` (security extension). */
  method: string;
  state: FirmwareJobState;
  /** The charger's last FirmwareStatusNotification / SignedFirmwareStatusNotification status. */
  status: string | null;
  /** Every status heard, oldest first, with Ampere's own steps (Sent, Confirmed, TimedOut…). */
  history: FirmwareStatusEntry[];
  error: string | null;
  retrieveDate: IsoTime | null;
  retries: number | null;
  retryInterval: number | null;
  versionBefore: string | null;
  versionAfter: string | null;
  createdAt: IsoTime;
  updatedAt: IsoTime;
  /** When the charger was last heard about this job (or it was sent): the timeout counts from here. */
  lastHeardAt: IsoTime | null;
  finishedAt: IsoTime | null;
}

export interface FirmwareJobInput {
  chargerId: string;
  imageId: string;
  rolloutId?: number | null;
  method: string;
  state: FirmwareJobState;
  retrieveDate?: TimeInput | null;
  retries?: number | null;
  retryInterval?: number | null;
  versionBefore?: string | null;
}

export interface FirmwareJobPatch {
  method?: string;
  state?: FirmwareJobState;
  status?: string | null;
  /** Appended to the history. */
  entry?: { status: string; at: TimeInput };
  error?: string | null;
  retrieveDate?: TimeInput | null;
  versionBefore?: string | null;
  versionAfter?: string | null;
  lastHeardAt?: TimeInput | null;
  finishedAt?: TimeInput | null;
}

export interface FirmwareJobQuery extends PageQuery {
  chargerId?: string;
  rolloutId?: number;
  imageId?: string;
  state?: FirmwareJobState;
  /** Only jobs not finished (queued or running). */
  open?: boolean;
}

export type FirmwareRolloutState = 'running' | 'paused' | 'halted' | 'cancelled' | 'completed';

export interface FirmwareRolloutRecord {
  id: number;
  imageId: string;
  state: FirmwareRolloutState;
  /** What was asked for: charger ids, vendor/model, charger tag (kept as given). */
  target: JsonValue;
  concurrency: number;
  maxFailureRate: number;
  minFinished: number;
  /** retries, retryInterval, the base URL chargers download from, signed preference… */
  options: JsonValue;
  haltReason: string | null;
  createdAt: IsoTime;
  updatedAt: IsoTime;
}

export interface FirmwareRolloutInput {
  imageId: string;
  target: JsonValue;
  concurrency: number;
  maxFailureRate: number;
  minFinished: number;
  options: JsonValue;
}

function num(v: unknown): number | null {
  return v === null || v === undefined ? null : Number(v);
}
function iso(v: unknown): IsoTime | null {
  return v === null || v === undefined ? null : toIso(Number(v));
}

function imageRecord(r: any): FirmwareImageRecord {
  return {
    id: r.id,
    name: r.name,
    version: r.version,
    size: Number(r.size),
    sha256: r.sha256,
    file: r.file,
    signingCertificate: r.signing_certificate ?? null,
    signature: r.signature ?? null,
    createdAt: toIso(Number(r.created_at)),
  };
}

function jobRecord(r: any): FirmwareJobRecord {
  return {
    id: Number(r.id),
    chargerId: r.charger_id,
    imageId: r.image_id,
    rolloutId: num(r.rollout_id),
    method: r.method,
    state: r.state,
    status: r.status ?? null,
    history: JSON.parse(r.history ?? '[]'),
    error: r.error ?? null,
    retrieveDate: iso(r.retrieve_at),
    retries: num(r.retries),
    retryInterval: num(r.retry_interval),
    versionBefore: r.version_before ?? null,
    versionAfter: r.version_after ?? null,
    createdAt: toIso(Number(r.created_at)),
    updatedAt: toIso(Number(r.updated_at)),
    lastHeardAt: iso(r.last_heard_at),
    finishedAt: iso(r.finished_at),
  };
}

function rolloutRecord(r: any): FirmwareRolloutRecord {
  return {
    id: Number(r.id),
    imageId: r.image_id,
    state: r.state,
    target: JSON.parse(r.target),
    concurrency: Number(r.concurrency),
    maxFailureRate: Number(r.max_failure_rate),
    minFinished: Number(r.min_finished),
    options: JSON.parse(r.options),
    haltReason: r.halt_reason ?? null,
    createdAt: toIso(Number(r.created_at)),
    updatedAt: toIso(Number(r.updated_at)),
  };
}

function checkState(s: unknown): FirmwareJobState {
  if (!(FIRMWARE_JOB_STATES as readonly unknown[]).includes(s)) {
    throw invalid(`state: one of ${FIRMWARE_JOB_STATES.join(', ')} is required`);
  }
  return s as FirmwareJobState;
}

function optionalMs(v: TimeInput | null | undefined, field: string): number | null {
  return v === null || v === undefined ? null : toMs(v, field);
}

export class FirmwareStore {
  readonly #sql: FirmwareSqlPort;

  constructor(sql: FirmwareSqlPort) {
    this.#sql = sql;
  }

  // ---------------------------------------------------------------- images

  async putImage(img: Omit<FirmwareImageRecord, 'createdAt'>, at: TimeInput): Promise<FirmwareImageRecord> {
    const size = requireInt(img.size, 'size');
    if (!/^[0-9a-f]{64}$/.test(img.sha256)) throw invalid('sha256: 64 lower-case hex digits are required');
    const rows = await this.#sql.write(
      `INSERT INTO firmware_images (id, name, version, size, sha256, file, signing_certificate, signature, created_at)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
       ON CONFLICT (id) DO UPDATE SET signing_certificate = excluded.signing_certificate,
         signature = excluded.signature
       RETURNING *`,
      [
        requireText(img.id, 'id'),
        requireText(img.name, 'name'),
        requireText(img.version, 'version'),
        size,
        img.sha256,
        requireText(img.file, 'file'),
        img.signingCertificate,
        img.signature,
        toMs(at, 'at'),
      ],
    );
    return imageRecord(rows[0]);
  }

  async getImage(id: string): Promise<FirmwareImageRecord | null> {
    const [r] = await this.#sql.rows('SELECT * FROM firmware_images WHERE id = ?', [id]);
    return r ? imageRecord(r) : null;
  }

  /** Newest first. */
  async listImages(): Promise<FirmwareImageRecord[]> {
    return (await this.#sql.rows('SELECT * FROM firmware_images ORDER BY created_at DESC, id', [])).map(imageRecord);
  }

  async deleteImage(id: string): Promise<boolean> {
    return (await this.#sql.write('DELETE FROM firmware_images WHERE id = ? RETURNING id', [id])).length > 0;
  }

  // ---------------------------------------------------------------- jobs

  async createJob(j: FirmwareJobInput, at: TimeInput): Promise<FirmwareJobRecord> {
    const ms = toMs(at, 'at');
    const rows = await this.#sql.write(
      `INSERT INTO firmware_jobs (charger_id, image_id, rollout_id, method, state, history, retrieve_at, retries,
         retry_interval, version_before, created_at, updated_at)
       VALUES (?, ?, ?, ?, ?, '[]', ?, ?, ?, ?, ?, ?) RETURNING *`,
      [
        requireText(j.chargerId, 'chargerId'),
        requireText(j.imageId, 'imageId'),
        j.rolloutId ?? null,
        requireText(j.method, 'method'),
        checkState(j.state),
        optionalMs(j.retrieveDate, 'retrieveDate'),
        j.retries ?? null,
        j.retryInterval ?? null,
        j.versionBefore ?? null,
        ms,
        ms,
      ],
    );
    return jobRecord(rows[0]);
  }

  /** Applies the patch; an `entry` is appended to the job's history. Null when there is no such job. */
  async updateJob(id: number, patch: FirmwareJobPatch, at: TimeInput): Promise<FirmwareJobRecord | null> {
    const sets: string[] = [];
    const params: unknown[] = [];
    const set = (col: string, v: unknown) => {
      sets.push(`${col} = ?`);
      params.push(v);
    };
    if (patch.method !== undefined) set('method', requireText(patch.method, 'method'));
    if (patch.state !== undefined) set('state', checkState(patch.state));
    if (patch.status !== undefined) set('status', patch.status);
    if (patch.error !== undefined) set('error', patch.error);
    if (patch.retrieveDate !== undefined) set('retrieve_at', optionalMs(patch.retrieveDate, 'retrieveDate'));
    if (patch.versionBefore !== undefined) set('version_before', patch.versionBefore);
    if (patch.versionAfter !== undefined) set('version_after', patch.versionAfter);
    if (patch.lastHeardAt !== undefined) set('last_heard_at', optionalMs(patch.lastHeardAt, 'lastHeardAt'));
    if (patch.finishedAt !== undefined) set('finished_at', optionalMs(patch.finishedAt, 'finishedAt'));
    set('updated_at', toMs(at, 'at'));
    const job = await this.getJob(id);
    if (!job) return null;
    if (patch.entry) {
      const history = [...job.history, { status: patch.entry.status, at: toIso(toMs(patch.entry.at, 'entry.at')) }];
      set('history', JSON.stringify(history));
    }
    const rows = await this.#sql.write(`UPDATE firmware_jobs SET ${sets.join(', ')} WHERE id = ? RETURNING *`, [
      ...params,
      id,
    ]);
    return rows[0] ? jobRecord(rows[0]) : null;
  }

  async getJob(id: number): Promise<FirmwareJobRecord | null> {
    const [r] = await this.#sql.rows('SELECT * FROM firmware_jobs WHERE id = ?', [id]);
    return r ? jobRecord(r) : null;
  }

  /** Newest first. */
  async listJobs(q: FirmwareJobQuery = {}): Promise<Page<FirmwareJobRecord>> {
    const w = new Where();
    if (q.chargerId !== undefined) w.add('charger_id = ?', q.chargerId);
    if (q.rolloutId !== undefined) w.add('rollout_id = ?', q.rolloutId);
    if (q.imageId !== undefined) w.add('image_id = ?', q.imageId);
    if (q.state !== undefined) w.add('state = ?', checkState(q.state));
    if (q.open) w.add("state IN ('queued', 'running')");
    const { limit, offset } = pageBounds(q);
    const [{ n }] = await this.#sql.rows(`SELECT count(*) AS n FROM firmware_jobs${w}`, w.params);
    const rows = await this.#sql.rows(`SELECT * FROM firmware_jobs${w} ORDER BY id DESC LIMIT ? OFFSET ?`, [
      ...w.params,
      limit,
      offset,
    ]);
    return { items: rows.map(jobRecord), total: Number(n) };
  }

  // ---------------------------------------------------------------- rollouts

  async createRollout(r: FirmwareRolloutInput, at: TimeInput): Promise<FirmwareRolloutRecord> {
    const ms = toMs(at, 'at');
    const rows = await this.#sql.write(
      `INSERT INTO firmware_rollouts (image_id, state, target, concurrency, max_failure_rate, min_finished, options,
         created_at, updated_at)
       VALUES (?, 'running', ?, ?, ?, ?, ?, ?, ?) RETURNING *`,
      [
        requireText(r.imageId, 'imageId'),
        JSON.stringify(r.target),
        requireInt(r.concurrency, 'concurrency'),
        r.maxFailureRate,
        requireInt(r.minFinished, 'minFinished'),
        JSON.stringify(r.options),
        ms,
        ms,
      ],
    );
    return rolloutRecord(rows[0]);
  }

  async updateRollout(
    id: number,
    patch: { state: FirmwareRolloutState; haltReason?: string | null; options?: JsonValue },
    at: TimeInput,
  ): Promise<FirmwareRolloutRecord | null> {
    const options = patch.options === undefined ? '' : ', options = ?';
    const rows = await this.#sql.write(
      `UPDATE firmware_rollouts SET state = ?, halt_reason = ?, updated_at = ?${options} WHERE id = ? RETURNING *`,
      [
        patch.state,
        patch.haltReason ?? null,
        toMs(at, 'at'),
        ...(patch.options === undefined ? [] : [JSON.stringify(patch.options)]),
        id,
      ],
    );
    return rows[0] ? rolloutRecord(rows[0]) : null;
  }

  async getRollout(id: number): Promise<FirmwareRolloutRecord | null> {
    const [r] = await this.#sql.rows('SELECT * FROM firmware_rollouts WHERE id = ?', [id]);
    return r ? rolloutRecord(r) : null;
  }

  /** Newest first. */
  async listRollouts(q: { state?: FirmwareRolloutState } = {}): Promise<FirmwareRolloutRecord[]> {
    const w = new Where();
    if (q.state !== undefined) w.add('state = ?', q.state);
    return (await this.#sql.rows(`SELECT * FROM firmware_rollouts${w} ORDER BY id DESC`, w.params)).map(rolloutRecord);
  }
}

/**
 * Migration 13 in one text for both dialects: $KEY is a text key (bytewise order in PostgreSQL,
 * as in SQLite), $ID an autoincrement key, $BIGINT epoch ms, $REAL a float.
 */
const FIRMWARE_SCHEMA = `
CREATE TABLE firmware_images (
  id $KEY PRIMARY KEY,
  name TEXT NOT NULL,
  version TEXT NOT NULL,
  size $BIGINT NOT NULL,
  sha256 TEXT NOT NULL,
  file TEXT NOT NULL,
  signing_certificate TEXT,
  signature TEXT,
  created_at $BIGINT NOT NULL
);

CREATE TABLE firmware_jobs (
  id $ID,
  charger_id $KEY NOT NULL,
  image_id $KEY NOT NULL,
  rollout_id $BIGINT,
  method TEXT NOT NULL,
  state $KEY NOT NULL,
  status TEXT,
  history TEXT NOT NULL,
  error TEXT,
  retrieve_at $BIGINT,
  retries INTEGER,
  retry_interval INTEGER,
  version_before TEXT,
  version_after TEXT,
  created_at $BIGINT NOT NULL,
  updated_at $BIGINT NOT NULL,
  last_heard_at $BIGINT,
  finished_at $BIGINT
);
CREATE INDEX firmware_jobs_by_charger ON firmware_jobs (charger_id, state);
CREATE INDEX firmware_jobs_by_rollout ON firmware_jobs (rollout_id, state);

CREATE TABLE firmware_rollouts (
  id $ID,
  image_id $KEY NOT NULL,
  state $KEY NOT NULL,
  target TEXT NOT NULL,
  concurrency INTEGER NOT NULL,
  max_failure_rate $REAL NOT NULL,
  min_finished INTEGER NOT NULL,
  options TEXT NOT NULL,
  halt_reason TEXT,
  created_at $BIGINT NOT NULL,
  updated_at $BIGINT NOT NULL
);
`;

function dialect(types: Record<'KEY' | 'ID' | 'BIGINT' | 'REAL', string>): string {
  return FIRMWARE_SCHEMA.replace(/\$(KEY|ID|BIGINT|REAL)\b/g, (_m, t: 'KEY') => types[t]);
}

export const FIRMWARE_SQLITE_SQL = dialect({
  KEY: 'TEXT',
  ID: 'INTEGER PRIMARY KEY AUTOINCREMENT',
  BIGINT: 'INTEGER',
  REAL: 'REAL',
});

export const FIRMWARE_POSTGRES_SQL = dialect({
  KEY: 'TEXT COLLATE "C"',
  ID: 'BIGINT GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY',
  BIGINT: 'BIGINT',
  REAL: 'DOUBLE PRECISION',
});
