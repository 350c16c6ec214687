// A fixed-bucket latency histogram (microseconds), cheap to record and to merge across processes.
// 10 µs resolution below 1 ms, 100 µs below 100 ms, 10 ms below 10 s, then one overflow bucket.

export const BUCKETS = 100 + 990 + 990 + 1;

export function newHist(): Uint32Array {
  return new Uint32Array(BUCKETS);
}

export function record(h: Uint32Array, us: number): void {
  let i: number;
  if (us < 1_000) i = us < 0 ? 0 : (us / 10) | 0;
  else if (us < 100_000) i = 100 + (((us - 1_000) / 100) | 0);
  else if (us < 10_000_000) i = 1_090 + (((us - 100_000) / 10_000) | 0);
  else i = BUCKETS - 1;
  h[i] = (h[i] ?? 0) + 1;
}

/** Upper bound of bucket i, in microseconds. */
function upper(i: number): number {
  if (i < 100) return (i + 1) * 10;
  if (i < 1_090) return 1_000 + (i - 99) * 100;
  if (i < BUCKETS - 1) return 100_000 + (i - 1_089) * 10_000;
  return Number.POSITIVE_INFINITY;
}

export function merge(into: Uint32Array, from: ArrayLike<number>): void {
  for (let i = 0; i < BUCKETS; i++) into[i] = (into[i] ?? 0) + (from[i] ?? 0);
}

export function count(h: Uint32Array): number {
  let n = 0;
  for (const c of h) n += c;
  return n;
}

/** The q-quantile (0..1) in milliseconds, or NaN when empty. */
export function quantileMs(h: Uint32Array, q: number): number {
  const n = count(h);
  if (n === 0) return Number.NaN;
  const rank = Math.max(1, Math.ceil(q * n));
  let seen = 0;
  for (let i = 0; i < BUCKETS; i++) {
    seen += h[i] ?? 0;
    if (seen >= rank) return upper(i) / 1_000;
  }
  return Number.POSITIVE_INFINITY;
}
