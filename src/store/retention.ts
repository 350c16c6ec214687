// Meter-value retention, the part both dialects share: input checks, row mapping, and the timer
// that prunes in batches. Meter values older than the retention age are folded into one row per
// connector and UTC day (energy register lowest/highest, highest power, readings) and deleted;
// the SQL of that fold is per dialect (sqlite-writes.ts, postgres.ts).
import { invalid, requireInt, requireText } from './checks.ts';
import { ENERGY_DEFAULT } from './shared.ts';
import { toMs } from './time.ts';
import type { MeterDailyQuery, MeterDailyRecord, MeterRetentionStore, TimeInput } from './types.ts';

/** OCPP 1.6 §7.31: a sampled value without a measurand is this register. */
export const ENERGY_REGISTER = ENERGY_DEFAULT;
export const ACTIVE_POWER = 'Power.Active.Import';

/** [before (epoch ms), limit] after checking both. */
export function pruneArgs(before: TimeInput, limit: number): [number, number] {
  const n = requireInt(limit, 'limit');
  if (n < 1 || n > 100_000) throw invalid('limit: from 1 to 100000');
  return [toMs(before, 'before'), n];
}

const DAY = /^\d{4}-\d{2}-\d{2}$/;

/** The query's filters as [SQL condition with `?`, parameters], over meter_daily. */
export function meterDailyWhere(q: MeterDailyQuery): [string, unknown[]] {
  const conditions = ['charger_id = ?'];
  const params: unknown[] = [requireText(q.chargerId, 'chargerId')];
  if (q.connectorId !== undefined) {
    conditions.push('connector_id = ?');
    params.push(requireInt(q.connectorId, 'connectorId'));
  }
  for (const [key, op] of [
    ['from', '>='],
    ['to', '<='],
  ] as const) {
    const v = q[key];
    if (v === undefined) continue;
    if (typeof v !== 'string' || !DAY.test(v)) throw invalid(`${key}: a UTC day, YYYY-MM-DD`);
    conditions.push(`day ${op} ?`);
    params.push(v);
  }
  return [conditions.join(' AND '), params];
}

export interface MeterDailyRow {
  charger_id: string;
  connector_id: number;
  day: string;
  min_wh: number | null;
  max_wh: number | null;
  max_w: number | null;
  readings: number;
}

export function meterDailyRecord(r: MeterDailyRow): MeterDailyRecord {
  const first = r.min_wh === null ? null : Number(r.min_wh);
  const last = r.max_wh === null ? null : Number(r.max_wh);
  return {
    chargerId: r.charger_id,
    connectorId: Number(r.connector_id),
    day: r.day,
    energyWh: first === null || last === null ? null : last - first,
    firstWh: first,
    lastWh: last,
    maxPowerW: r.max_w === null ? null : Number(r.max_w),
    readings: Number(r.readings),
  };
}

export interface RetentionTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface RetentionOptions {
  store: MeterRetentionStore;
  /** Meter values older than this many days are folded and deleted. */
  days: number;
  clock: { now(): number };
  timers: RetentionTimers;
  /** meterValues per transaction (default 1000: short enough not to hold up the chargers' commits). */
  batch?: number;
  /** Between two runs (ms, default one hour). */
  intervalMs?: number;
  log?: { info(obj: object, msg: string): void; error(obj: object, msg: string): void };
}

export interface Retention {
  /** Prunes everything older than the retention age now, batch after batch; returns how many went. */
  runOnce(): Promise<number>;
  /** No further runs; resolves once a run under way has finished its batch. */
  stop(): Promise<void>;
}

const DAY_MS = 86_400_000;

/** Prunes at start and then every `intervalMs`. */
export function startRetention(o: RetentionOptions): Retention {
  const batch = o.batch ?? 1000;
  const intervalMs = o.intervalMs ?? 3_600_000;
  let stopped = false;
  let timer: unknown;
  let running: Promise<number> | undefined;

  const runOnce = (): Promise<number> => {
    running ??= (async () => {
      const before = o.clock.now() - o.days * DAY_MS;
      let total = 0;
      for (;;) {
        const n = await o.store.pruneMeterValues(before, batch);
        total += n;
        if (n < batch || stopped) break;
      }
      if (total > 0)
        o.log?.info({ pruned: total, days: o.days }, 'meter values past retention folded into daily totals');
      return total;
    })().finally(() => {
      running = undefined;
    });
    return running;
  };

  const schedule = (ms: number) => {
    if (stopped) return;
    timer = o.timers.setTimeout(() => {
      runOnce().then(
        () => schedule(intervalMs),
        (err: unknown) => {
          o.log?.error({ err }, 'meter-value retention failed; retrying at the next run');
          schedule(intervalMs);
        },
      );
    }, ms);
  };
  schedule(0);

  return {
    runOnce,
    async stop() {
      stopped = true;
      if (timer !== undefined) o.timers.clearTimeout(timer);
      await running?.catch(() => {});
    },
  };
}
