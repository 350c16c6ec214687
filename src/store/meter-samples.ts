// Meter values as the store keeps them: one row per meterValue (a timestamp of one message), its
// sampled values as a JSON array of [value, context, format, measurand, phase, location, unit,
// wh, w], where wh and w are the value normalised to Wh and W when its measurand allows.
//
// Both stores encode through here, in the caller's turn: a bad row rejects the call before it is
// queued, and the write only binds ready values. `encodeMeterRows` takes the rows of
// insertMeterValues (one per sampled value, already normalised); `encodeMeterReadings` turns a
// message's meterValue array into those rows' parameters straight
// from the parsed payload. It is the hottest write of the server (every MeterValues): it builds
// no object per sampled value and reuses one set of sample arrays for JSON.stringify, so a
// message leaves little garbage behind but its parameters.
import { invalid } from './checks.ts';
import { toMs } from './time.ts';
import type { MeterReadings, MeterValueInput, SampledValueInput, TimeInput } from './types.ts';

/** Values per encoded row: charger, connector, transaction, ts (ms), source, samples (JSON). */
export const METER_COLUMNS = 6;

const ENERGY_FACTORS: Record<string, number> = { Wh: 1, kWh: 1000 };
const POWER_FACTORS: Record<string, number> = { W: 1, kW: 1000 };

/**
 * The sampled value in Wh if it is an active energy register in a known unit, else null. OCPP 1.6
 * §7.31: a sampledValue without measurand is Energy.Active.Import.Register, without unit Wh.
 */
export function energyWh(sv: SampledValueInput): number | null {
  if (sv.format === 'SignedData') return null;
  const measurand = sv.measurand ?? 'Energy.Active.Import.Register';
  if (!measurand.startsWith('Energy.Active.')) return null;
  const f = ENERGY_FACTORS[sv.unit ?? 'Wh'];
  const n = Number(sv.value);
  return f === undefined || !Number.isFinite(n) ? null : n * f;
}

/** The sampled value in W if it is an active (or offered) power in a known unit, else null. */
export function powerW(sv: SampledValueInput): number | null {
  if (sv.format === 'SignedData') return null;
  const measurand = sv.measurand;
  if (measurand === undefined || !(measurand.startsWith('Power.Active.') || measurand === 'Power.Offered')) return null;
  const f = POWER_FACTORS[sv.unit ?? 'W'];
  const n = Number(sv.value);
  return f === undefined || !Number.isFinite(n) ? null : n * f;
}

/**
 * Sample arrays reused by every call: JSON.stringify reads them synchronously, so one set serves
 * the whole thread (the writer thread has its own module instance). The pool only grows, and its
 * arrays are made as literals: JSON.stringify takes its fast path only on packed arrays, and an
 * array made with `new Array(9)` is holey.
 */
const pool: unknown[][] = [];

function putSample(at: number, sv: SampledValueInput, i: number, j: number): void {
  if (typeof sv.value !== 'string') throw invalid(`meterValue[${i}].sampledValue[${j}].value: a string is required`);
  let s = pool[at];
  if (s === undefined) {
    s = [null, null, null, null, null, null, null, null, null];
    pool.push(s);
  }
  s[0] = sv.value;
  s[1] = sv.context ?? null;
  s[2] = sv.format ?? null;
  s[3] = sv.measurand ?? null;
  s[4] = sv.phase ?? null;
  s[5] = sv.location ?? null;
  s[6] = sv.unit ?? null;
  s[7] = energyWh(sv);
  s[8] = powerW(sv);
}

/** toMs, naming the meterValue in its error only when there is one (no string built per message). */
function timeOf(t: TimeInput, i: number): number {
  try {
    return toMs(t);
  } catch {
    return toMs(t, `meterValue[${i}].timestamp`);
  }
}

function pushRow(r: MeterReadings, ts: number, count: number, out: unknown[]): void {
  const samples = count === pool.length ? pool : pool.slice(0, count);
  out.push(r.chargerId, r.connectorId, r.transactionId, ts, r.source, JSON.stringify(samples));
}

/**
 * Appends METER_COLUMNS values per row to `out`. The sampled values of consecutive meterValues
 * with the same time make one row, as consecutive rows of insertMeterValues do. Throws
 * (StoreError) on a time or value the store cannot keep, with nothing appended.
 */
export function encodeMeterReadings(r: MeterReadings, out: unknown[]): void {
  const start = out.length;
  const mvs = r.meterValue;
  let count = 0;
  let ts = 0;
  try {
    for (let i = 0; i < mvs.length; i++) {
      const svs = mvs[i]!.sampledValue;
      if (svs.length === 0) continue;
      const t = timeOf(mvs[i]!.timestamp, i);
      if (count > 0 && t !== ts) {
        pushRow(r, ts, count, out);
        count = 0;
      }
      ts = t;
      for (let j = 0; j < svs.length; j++) putSample(count++, svs[j]!, i, j);
    }
    if (count > 0) pushRow(r, ts, count, out);
  } catch (err) {
    out.length = start;
    throw err;
  }
}

/**
 * The same for rows of insertMeterValues, one per sampled value: consecutive rows sharing charger,
 * connector, transaction, time and source make one row.
 */
export function encodeMeterRows(rows: readonly MeterValueInput[], out: unknown[]): void {
  const start = out.length;
  let samples: unknown[] = [];
  let head: MeterValueInput | null = null;
  let headTs = 0;
  const push = (h: MeterValueInput) =>
    out.push(h.chargerId, h.connectorId, h.transactionId, headTs, h.source, JSON.stringify(samples));
  try {
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      // The rows of one meterValue share their timestamp: convert it once.
      const ts = head !== null && r.timestamp === head.timestamp ? headTs : toMs(r.timestamp, `rows[${i}].timestamp`);
      if (
        head === null ||
        ts !== headTs ||
        r.chargerId !== head.chargerId ||
        r.connectorId !== head.connectorId ||
        r.transactionId !== head.transactionId ||
        r.source !== head.source
      ) {
        if (head !== null) push(head);
        head = r;
        headTs = ts;
        samples = [];
      }
      if (typeof r.value !== 'string') throw invalid(`rows[${i}].value: a string is required`);
      samples.push([r.value, r.context, r.format, r.measurand, r.phase, r.location, r.unit, r.wh, r.w]);
    }
    if (head !== null) push(head);
  } catch (err) {
    out.length = start;
    throw err;
  }
}
