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

const offsetFormatters = new Map<string, Intl.DateTimeFormat>();

/** The offset of a time zone from UTC at an instant (ms; +3 600 000 for CET). */
export function zoneOffsetMs(at: number, timeZone: string): number {
  let f = offsetFormatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    offsetFormatters.set(timeZone, f);
  }
  const p = Object.fromEntries(f.formatToParts(new Date(at)).map((x) => [x.type, x.value]));
  const wall = Date.UTC(+p.year!, +p.month! - 1, +p.day!, +p.hour!, +p.minute!, +p.second!);
  return wall - Math.floor(at / 1000) * 1000;
}

/**
 * The k-th recurrence of `start` every `periodMs` (a day or a week) on the wall clock of
 * `timeZone`: 23:00 stays 23:00 across a daylight-saving change. In UTC when no zone is given.
 */
export function recurrence(start: number, k: number, periodMs: number, timeZone?: string): number {
  if (!timeZone || timeZone === 'UTC') return start + k * periodMs;
  const wall = start + zoneOffsetMs(start, timeZone) + k * periodMs;
  // The offset at the result: guess with the wall time, then correct once (a change in between).
  let t = wall - zoneOffsetMs(wall, timeZone);
  t = wall - zoneOffsetMs(t, timeZone);
  return t;
}

/** The index of the last recurrence of `start` at or before t (may be negative). */
export function recurrenceIndex(start: number, t: number, periodMs: number, timeZone?: string): number {
  let k = Math.floor((t - start) / periodMs);
  // A daylight-saving hour can move the wall-clock occurrence either side of t.
  while (recurrence(start, k + 1, periodMs, timeZone) <= t) k++;
  while (k > Number.MIN_SAFE_INTEGER && recurrence(start, k, periodMs, timeZone) > t) k--;
  return k;
}
