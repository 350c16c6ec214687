// Time conversion at the store boundary: epoch ms inside the database (compact, indexable,
// bucketable with integer division), ISO strings outside.
import { StoreError } from './errors.ts';
import type { IsoTime, TimeInput } from './types.ts';

const HAS_ZONE = /(?:[zZ]|[+-]\d\d(?::?\d\d)?)$/;

// The sampled values of one MeterValues message share one timestamp string, and a batch
// often repeats it; one remembered conversion saves a Date.parse per row.
let lastText = '';
let lastMs = 0;

export function toMs(t: TimeInput, field = 'time'): number {
  if (typeof t === 'number') {
    if (Number.isFinite(t)) return Math.trunc(t);
  } else if (typeof t === 'string') {
    if (t === lastText) return lastMs;
    // A time without a zone is read as UTC, never as the server's local time, so the result
    // does not depend on where the process runs (chargers in the field do send such times).
    const ms = Date.parse(HAS_ZONE.test(t) ? t : `${t}Z`);
    if (Number.isFinite(ms)) {
      lastText = t;
      lastMs = ms;
      return ms;
    }
  } else if (t instanceof Date) {
    const ms = t.getTime();
    if (Number.isFinite(ms)) return ms;
  }
  throw new StoreError('AMPERE_ERR_STORE_INVALID', `${field}: not a valid time: ${String(t)}`);
}

export function toMsOrNull(t: TimeInput | null | undefined, field?: string): number | null {
  return t === null || t === undefined ? null : toMs(t, field);
}

export function toIso(ms: number): IsoTime {
  return new Date(ms).toISOString();
}

export function toIsoOrNull(ms: number | null): IsoTime | null {
  return ms === null ? null : new Date(ms).toISOString();
}
