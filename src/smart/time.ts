// Date handling for the pure smart-charging functions: no clock is read here, time comes in.

/** Parses an ISO 8601 date-time; undefined for absent or unparseable input. */
export function parseTime(iso: string | undefined): number | undefined {
  if (iso === undefined) return undefined;
  const t = Date.parse(iso);
  return Number.isFinite(t) ? t : undefined;
}

/** Accepts a Date or epoch ms. */
export function toMs(t: Date | number): number {
  return typeof t === 'number' ? t : t.getTime();
}

export const SECOND = 1000;
export const DAY = 86_400_000;
export const WEEK = 7 * DAY;
