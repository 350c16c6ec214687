// Pieces of SQL building and row mapping that the SQLite and PostgreSQL stores share: both keep
// the same logical schema and column names, so a row maps to the same record either way.
import { invalid } from './checks.ts';
import { toIso } from './time.ts';
import type { MeterBucket, MeterBucketQuery, MeterValueRecord } from './types.ts';

/** A WHERE clause built from optional filters; the SQL text doubles as the statement cache key. */
export class Where {
  parts: string[] = [];
  params: unknown[] = [];
  add(sql: string, ...params: unknown[]): this {
    this.parts.push(sql);
    this.params.push(...params);
    return this;
  }
  toString(): string {
    return this.parts.length === 0 ? '' : ` WHERE ${this.parts.join(' AND ')}`;
  }
}

/** One sampled value, expanded from a meter_values row's samples array (k = its position). */
export interface MeterRow {
  id: number;
  k: number;
  charger_id: string;
  connector_id: number;
  transaction_id: number | null;
  ts: number;
  source: MeterValueRecord['source'];
  value: string;
  context: string | null;
  format: string | null;
  measurand: string | null;
  phase: string | null;
  location: string | null;
  unit: string | null;
  wh: number | null;
  w: number | null;
}

export function meterValueRecord(r: MeterRow): MeterValueRecord {
  return {
    id: r.id,
    index: r.k,
    chargerId: r.charger_id,
    connectorId: r.connector_id,
    transactionId: r.transaction_id,
    timestamp: toIso(r.ts),
    value: r.value,
    context: r.context,
    format: r.format,
    measurand: r.measurand,
    phase: r.phase,
    location: r.location,
    unit: r.unit,
    wh: r.wh,
    w: r.w,
    source: r.source,
  };
}

/** Bucket width in ms from a downsampling query (at least 1 ms). */
export function bucketStepMs(q: MeterBucketQuery): number {
  if (typeof q.stepSeconds !== 'number' || !(q.stepSeconds > 0)) throw invalid('stepSeconds: a positive number');
  return Math.max(1, Math.round(q.stepSeconds * 1000));
}

/** One grouped series in one bucket: registers carry their last sample, the rest averages. */
export interface BucketRow {
  bucket: number;
  connector_id: number;
  m: string;
  phase: string | null;
  location: string | null;
  unit: string | null;
  last_value: string | null;
  last_wh: number | null;
  last_w: number | null;
  n: number;
  avg_value: number | null;
  avg_wh: number | null;
  avg_w: number | null;
}

export function meterBucket(r: BucketRow): MeterBucket {
  // Energy registers keep the bucket's last reading; everything else is averaged.
  const register = r.m.endsWith('.Register');
  let value: number | null;
  if (register) {
    const v = Number(r.last_value);
    value = typeof r.last_value === 'string' && r.last_value.trim() !== '' && Number.isFinite(v) ? v : null;
  } else value = r.avg_value;
  return {
    timestamp: toIso(r.bucket),
    connectorId: r.connector_id,
    measurand: r.m,
    phase: r.phase,
    location: r.location,
    unit: r.unit,
    value,
    wh: register ? r.last_wh : r.avg_wh,
    w: register ? r.last_w : r.avg_w,
    samples: r.n,
  };
}

/**
 * A StopTransaction received for the transaction (not a repeat), in either dialect: when there is
 * none, a stopped transaction was closed by the central system (stale), not by the charger.
 */
export const RECEIVED_STOP =
  'SELECT 1 FROM transaction_stops WHERE transaction_id = ? AND charger_id = ? AND known = TRUE AND duplicate = FALSE LIMIT 1';
