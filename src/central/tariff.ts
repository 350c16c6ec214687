// Tariffs: what a kWh costs, flat or by time of use, and the cost of a transaction from its
// energy register samples. Pure functions of data and time; the tariff itself is a store setting.

export interface FlatTariff {
  type: 'flat';
  currency: string;
  pricePerKwh: number;
}

export interface TouPeriod {
  /** Local time HH:MM, inclusive. */
  from: string;
  /** Local time HH:MM, exclusive; a `to` before `from` wraps past midnight. */
  to: string;
  /** ISO weekdays, 1 = Monday; every day when omitted. */
  days?: number[];
  pricePerKwh: number;
}

export interface TimeOfUseTariff {
  type: 'time-of-use';
  currency: string;
  /** IANA time zone of the periods (default UTC). */
  timeZone?: string;
  defaultPricePerKwh: number;
  periods: TouPeriod[];
}

export type Tariff = FlatTariff | TimeOfUseTariff;

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

/** Price per kWh at an instant. */
export function priceAt(tariff: Tariff, at: number): number {
  if (tariff.type === 'flat') return tariff.pricePerKwh;
  const { minutes, weekday } = localClock(at, tariff.timeZone ?? 'UTC');
  for (const p of tariff.periods) {
    if (p.days && p.days.length > 0 && !p.days.includes(weekday)) continue;
    const from = hm(p.from);
    const to = hm(p.to);
    const inside = from <= to ? minutes >= from && minutes < to : minutes >= from || minutes < to;
    if (inside) return p.pricePerKwh;
  }
  return tariff.defaultPricePerKwh;
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
