// Tariffs: what a kWh costs (and, optionally, how much CO2 it carries), flat, by time of use
// (recurring weekly rules), or from a site's day-ahead series where that covers the instant, with
// the tariff after it. One price model for both the planner and the cost of a transaction. Pure
// functions of data and time; the tariff itself is a store setting, the series a site setting.

export interface FlatTariff {
  type: 'flat';
  currency: string;
  pricePerKwh: number;
  /** g CO2 per kWh, when known. */
  co2PerKwh?: number;
}

export interface TouPeriod {
  /** Local time HH:MM, inclusive. */
  from: string;
  /** Local time HH:MM, exclusive; a `to` before `from` wraps past midnight. */
  to: string;
  /** ISO weekdays, 1 = Monday; every day when omitted. */
  days?: number[];
  pricePerKwh: number;
  co2PerKwh?: number;
}

export interface TimeOfUseTariff {
  type: 'time-of-use';
  currency: string;
  /** IANA time zone of the periods (default UTC). */
  timeZone?: string;
  defaultPricePerKwh: number;
  defaultCo2PerKwh?: number;
  periods: TouPeriod[];
}

/** A day-ahead series: evenly spaced slots with a price (and CO2) each. */
export interface PriceSeries {
  /** ISO start of the first slot. */
  start: string;
  slotMinutes: number;
  price: number[];
  co2?: number[];
}

/** A site's series in front of the tariff: the series where it covers an instant, else the tariff. */
export interface DynamicTariff {
  type: 'dynamic';
  currency: string;
  series: PriceSeries;
  fallback: FlatTariff | TimeOfUseTariff | null;
}

export type Tariff = FlatTariff | TimeOfUseTariff | DynamicTariff;

/** The one price model of a site: its series (if any) in front of the tariff (if any). */
export function effectiveTariff(tariff: Tariff | null, series: PriceSeries | null | undefined): Tariff | null {
  if (!series || series.price.length === 0) return tariff;
  const fallback = tariff && tariff.type !== 'dynamic' ? tariff : null;
  return { type: 'dynamic', currency: fallback?.currency ?? 'EUR', series, fallback };
}

/** The end of a series (epoch ms). */
export function seriesEnd(series: PriceSeries): number {
  return Date.parse(series.start) + series.price.length * series.slotMinutes * 60_000;
}

function seriesSlot(series: PriceSeries, at: number): number | undefined {
  const i = Math.floor((at - Date.parse(series.start)) / (series.slotMinutes * 60_000));
  return i >= 0 && i < series.price.length ? i : undefined;
}

/** A reading of the energy register: epoch ms and Wh. */
export interface EnergyReading {
  at: number;
  wh: number;
}

export interface Cost {
  currency: string;
  amount: number;
  energyWh: number;
  tariff: Tariff['type'];
}

export const TARIFF_SETTING = 'tariff';

const WEEKDAYS: Record<string, number> = { Mon: 1, Tue: 2, Wed: 3, Thu: 4, Fri: 5, Sat: 6, Sun: 7 };
const formatters = new Map<string, Intl.DateTimeFormat>();

function localClock(at: number, timeZone: string): { minutes: number; weekday: number } {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-GB', {
      timeZone,
      weekday: 'short',
      hour: '2-digit',
      minute: '2-digit',
      hourCycle: 'h23',
    });
    formatters.set(timeZone, f);
  }
  const parts = Object.fromEntries(f.formatToParts(new Date(at)).map((p) => [p.type, p.value]));
  return { minutes: Number(parts.hour) * 60 + Number(parts.minute), weekday: WEEKDAYS[parts.weekday ?? 'Mon'] ?? 1 };
}

const hm = (s: string) => Number(s.slice(0, 2)) * 60 + Number(s.slice(3, 5));

/** Throws a RangeError for a time zone Intl does not know. */
export function checkTimeZone(timeZone: string): void {
  new Intl.DateTimeFormat('en-GB', { timeZone });
}

/** Price and CO2 per kWh at an instant, and where they come from; null when nothing covers it. */
export function rateAt(
  tariff: Tariff,
  at: number,
): { price: number; co2?: number; source: 'series' | 'tariff' } | null {
  if (tariff.type === 'dynamic') {
    const i = seriesSlot(tariff.series, at);
    if (i !== undefined) {
      const co2 = tariff.series.co2?.[i];
      return { price: tariff.series.price[i]!, ...(co2 !== undefined ? { co2 } : {}), source: 'series' };
    }
    return tariff.fallback ? rateAt(tariff.fallback, at) : null;
  }
  if (tariff.type === 'flat')
    return {
      price: tariff.pricePerKwh,
      ...(tariff.co2PerKwh !== undefined ? { co2: tariff.co2PerKwh } : {}),
      source: 'tariff',
    };
  const { minutes, weekday } = localClock(at, tariff.timeZone ?? 'UTC');
  for (const p of tariff.periods) {
    if (p.days && p.days.length > 0 && !p.days.includes(weekday)) continue;
    const from = hm(p.from);
    const to = hm(p.to);
    const inside = from <= to ? minutes >= from && minutes < to : minutes >= from || minutes < to;
    if (inside) {
      const co2 = p.co2PerKwh ?? tariff.defaultCo2PerKwh;
      return { price: p.pricePerKwh, ...(co2 !== undefined ? { co2 } : {}), source: 'tariff' };
    }
  }
  return {
    price: tariff.defaultPricePerKwh,
    ...(tariff.defaultCo2PerKwh !== undefined ? { co2: tariff.defaultCo2PerKwh } : {}),
    source: 'tariff',
  };
}

/** Price per kWh at an instant (0 where a series ends with no tariff after it). */
export function priceAt(tariff: Tariff, at: number): number {
  return rateAt(tariff, at)?.price ?? 0;
}

const MINUTE = 60_000;

/**
 * The cost of the energy between consecutive readings. Under time of use the energy of each
 * interval is spread evenly over its minutes, so a session crossing a period boundary with few
 * samples is still priced in proportion.
 */
export function costOf(tariff: Tariff, readings: readonly EnergyReading[]): Cost {
  const sorted = [...readings].sort((a, b) => a.at - b.at);
  let amount = 0;
  let energyWh = 0;
  for (let i = 1; i < sorted.length; i++) {
    const a = sorted[i - 1]!;
    const b = sorted[i]!;
    const wh = b.wh - a.wh;
    if (!(wh > 0)) continue; // a meter reset or rollback delivers nothing billable
    energyWh += wh;
    if (tariff.type === 'flat' || b.at - a.at <= MINUTE) {
      amount += (wh / 1000) * priceAt(tariff, a.at + (b.at - a.at) / 2);
      continue;
    }
    const span = b.at - a.at;
    for (let t = a.at; t < b.at; t += MINUTE) {
      const slice = Math.min(MINUTE, b.at - t);
      amount += ((wh * slice) / span / 1000) * priceAt(tariff, t + slice / 2);
    }
  }
  return { currency: tariff.currency, amount: Math.round(amount * 10_000) / 10_000, energyWh, tariff: tariff.type };
}
