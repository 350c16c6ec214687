// Meter value time series: raw samples, or epoch-aligned buckets with `?step=60s`.
import { AmpereError } from '../../errors.ts';
import type { MeterQuery, Store } from '../../store/types.ts';
import { defined } from '../context.ts';

export interface MeterSeriesQuery {
  measurand?: string;
  phase?: string;
  connectorId?: number;
  step?: string;
  from?: string;
  to?: string;
  limit?: number;
  offset?: number;
}

const UNITS: Record<string, number> = { ms: 0.001, s: 1, m: 60, h: 3600, d: 86400 };

/** `60s`, `15m`, `1h`, `90` (seconds) → seconds. */
export function parseStep(step: string): number {
  const m = /^([0-9]+)(ms|s|m|h|d)?$/.exec(step);
  const seconds = m ? Number(m[1]) * UNITS[m[2] ?? 's']! : Number.NaN;
  if (!(seconds >= 1)) {
    throw new AmpereError('AMPERE_ERR_BAD_REQUEST', 'query.step must be at least 1s', { field: 'query.step' });
  }
  return seconds;
}

const ENERGY = 'Energy.Active.Import.Register';

function numeric(value: string): number | string {
  const n = Number(value);
  return value.trim() !== '' && Number.isFinite(n) ? n : value;
}

export async function meterSeries(store: Store, scope: Partial<MeterQuery>, q: MeterSeriesQuery) {
  const base: MeterQuery = defined({
    ...scope,
    measurand: q.measurand,
    phase: q.phase,
    connectorId: q.connectorId,
    from: q.from,
    to: q.to,
    limit: q.limit ?? 1000,
    offset: q.offset,
  });
  if (q.step !== undefined) {
    const step = parseStep(q.step);
    const buckets = await store.queryMeterBuckets({ ...base, stepSeconds: step });
    return {
      step,
      items: buckets.map((b) => ({
        timestamp: b.timestamp,
        connectorId: b.connectorId,
        transactionId: scope.transactionId ?? null,
        measurand: b.measurand,
        phase: b.phase,
        location: b.location,
        unit: b.unit,
        context: null,
        value: b.value,
        wh: b.wh,
        w: b.w,
        samples: b.samples,
      })),
    };
  }
  const rows = await store.queryMeterValues(base);
  return {
    step: null,
    items: rows.map((r) => ({
      timestamp: r.timestamp,
      connectorId: r.connectorId,
      transactionId: r.transactionId,
      measurand: r.measurand ?? ENERGY,
      phase: r.phase,
      location: r.location,
      unit: r.unit,
      context: r.context,
      value: numeric(r.value),
      wh: r.wh,
      w: r.w,
      samples: 1,
    })),
  };
}
