// The composite charging schedule of a connector (OCPP 1.6 §3.13.2 stacking, §3.13.3 combining
// purposes, §5.7 GetCompositeSchedule): the limit in force at each instant of [start, start+duration).
//
// Rules, in the order they are applied at an instant t:
//  1. A profile is a candidate when t is inside [validFrom, validTo) (§7.7) and its schedule is in
//     force at t: t is at or after the schedule start and before start + duration (§7.13). A
//     schedule past its duration is NOT a limit of zero: it drops out, and the next lower stack
//     level (or no limit) shows through (§3.13.2, errata on "duration").
//  2. Per purpose, the candidate with the highest stackLevel wins (§3.13.2). At an equal level a
//     profile set on the connector itself beats one set on connector 0: the 1.6 text is silent on
//     that tie; we follow what OCPP 2.0.1 made explicit (the more specific profile wins).
//  3. A TxProfile, when one is in force for the running transaction, overrules the TxDefaultProfile
//     (§3.13.1); connector-0 TxDefaultProfiles apply to every connector (§3.13.1).
//  4. The ChargePointMaxProfile (connector 0 only) caps the result: the composite is the minimum of
//     the two, interval by interval (§3.13.3). The connector-0 composite is the ChargePointMax alone.
//
// Anchors (§7.8 ChargingProfileKindType): Absolute starts at startSchedule; Recurring restarts
// every day / week from startSchedule (UTC arithmetic: a day is 86 400 s, DST is not applied);
// Relative starts with the transaction. Without a transaction, a Relative (or an Absolute without
// startSchedule) is shown as if a transaction started at the requested start: that is the limit a
// car plugging in then would get, which is what an operator asks GetCompositeSchedule for.

import { DAY, parseTime, recurrence, recurrenceIndex, SECOND, toMs, WEEK } from './time.ts';
import type {
  ChargingProfile,
  ChargingProfilePurpose,
  ChargingRateUnit,
  ChargingSchedulePeriod,
  CompositeScheduleConf,
  InstalledProfile,
} from './types.ts';
import { convertLimit, DEFAULT_PHASES, DEFAULT_VOLTAGE, floorLimit } from './units.ts';

/** Without any profile the connector is limited by its hardware only; 32 A is the usual AC maximum. */
export const DEFAULT_MAX_CURRENT_A = 32;

export interface CompositeOptions {
  connectorId: number;
  start: Date | number;
  /** Seconds (GetCompositeSchedule.req duration). */
  duration: number;
  /** GetCompositeSchedule.req chargingRateUnit; 'A' when absent. */
  chargingRateUnit?: ChargingRateUnit;
  voltage?: number;
  /** The transaction on the connector: TxProfiles apply only to it, Relative schedules start with it. */
  transaction?: { transactionId?: number; startedAt: Date | number };
  /** The connector's hardware limit, shown for intervals no profile limits. */
  maxCurrentA?: number;
  /** NumberOfConnectors: a larger connectorId is Rejected (§5.7). */
  numberOfConnectors?: number;
  /**
   * IANA time zone of the site: a Recurring profile recurs on its wall clock (a daily 23:00 stays
   * 23:00 across daylight saving). UTC when absent.
   */
  timeZone?: string;
}

/** One interval of the composite. limit is in the requested unit; null means "no profile limits". */
export interface CompositeSegment {
  start: number;
  end: number;
  limit: number | null;
  numberPhases: number;
  /** The profile that set the limit (for explanations and mismatch reports). */
  chargingProfileId?: number;
  purpose?: ChargingProfilePurpose;
}

interface Anchor {
  windowStart: number;
  txStart: number | undefined;
  timeZone?: string;
}

function recurrenceMs(p: ChargingProfile): number {
  return p.recurrencyKind === 'Weekly' ? WEEK : DAY;
}

/** The start of the occurrence of the schedule that covers t (may lie after t for non-recurring kinds). */
function scheduleStartFor(ip: InstalledProfile, t: number, a: Anchor): number | undefined {
  const p = ip.profile;
  const s = parseTime(p.chargingSchedule.startSchedule);
  switch (p.chargingProfileKind) {
    case 'Absolute':
      return s ?? a.txStart ?? ip.installedAt ?? a.windowStart;
    case 'Relative':
      return a.txStart ?? a.windowStart;
    case 'Recurring': {
      if (s === undefined) return undefined;
      const r = recurrenceMs(p);
      return recurrence(s, recurrenceIndex(s, t, r, a.timeZone), r, a.timeZone);
    }
  }
}

function scheduleLengthMs(p: ChargingProfile): number {
  const d = p.chargingSchedule.duration;
  const len = d === undefined ? Number.POSITIVE_INFINITY : d * SECOND;
  // A recurring schedule ends at the next recurrence at the latest.
  return p.chargingProfileKind === 'Recurring' ? Math.min(len, recurrenceMs(p)) : len;
}

/** The period of `ip` in force at t, or undefined when the profile does not limit t (rule 1). */
function periodAt(ip: InstalledProfile, t: number, a: Anchor): ChargingSchedulePeriod | undefined {
  const p = ip.profile;
  const from = parseTime(p.validFrom);
  const to = parseTime(p.validTo);
  if (from !== undefined && t < from) return undefined;
  if (to !== undefined && t >= to) return undefined;
  const start = scheduleStartFor(ip, t, a);
  if (start === undefined) return undefined;
  const offset = t - start;
  if (offset < 0 || offset >= scheduleLengthMs(p)) return undefined;
  let found: ChargingSchedulePeriod | undefined;
  for (const period of p.chargingSchedule.chargingSchedulePeriod) {
    if (period.startPeriod * SECOND <= offset) found = period;
    else break;
  }
  return found;
}

/** Profiles that can apply to a connector, by purpose (rules 2 and 3). */
function applicable(installed: readonly InstalledProfile[], connectorId: number, txId: number | undefined | null) {
  const byPurpose: Record<ChargingProfilePurpose, InstalledProfile[]> = {
    ChargePointMaxProfile: [],
    TxDefaultProfile: [],
    TxProfile: [],
  };
  for (const ip of installed) {
    const purpose = ip.profile.chargingProfilePurpose;
    if (purpose === 'ChargePointMaxProfile') {
      if (ip.connectorId === 0) byPurpose.ChargePointMaxProfile.push(ip);
    } else if (connectorId === 0) {
      // connector 0 reports the charge point as a whole: only its maximum applies.
    } else if (purpose === 'TxDefaultProfile') {
      if (ip.connectorId === 0 || ip.connectorId === connectorId) byPurpose.TxDefaultProfile.push(ip);
    } else if (ip.connectorId === connectorId && txId !== null) {
      // A TxProfile applies to its transaction only; one still without an id came with
      // RemoteStartTransaction and belongs to the transaction running now (§5.16.2).
      const pid = ip.profile.transactionId;
      if (pid === undefined || txId === undefined || pid === txId) byPurpose.TxProfile.push(ip);
    }
  }
  // Highest stackLevel first; at a tie the connector-specific profile first (rule 2).
  const order = (x: InstalledProfile, y: InstalledProfile) =>
    y.profile.stackLevel - x.profile.stackLevel ||
    (y.connectorId === 0 ? 0 : 1) - (x.connectorId === 0 ? 0 : 1) ||
    y.profile.chargingProfileId - x.profile.chargingProfileId;
  for (const list of Object.values(byPurpose)) list.sort(order);
  return byPurpose;
}

interface Pick {
  limit: number;
  numberPhases: number;
  ip: InstalledProfile;
}

function winner(list: readonly InstalledProfile[], t: number, a: Anchor, unit: ChargingRateUnit, voltage: number) {
  for (const ip of list) {
    const period = periodAt(ip, t, a);
    if (period === undefined) continue;
    const phases = period.numberPhases ?? DEFAULT_PHASES;
    const limit = convertLimit(period.limit, ip.profile.chargingSchedule.chargingRateUnit, unit, phases, voltage);
    return { limit, numberPhases: phases, ip } satisfies Pick;
  }
  return undefined;
}

function combine(txLike: Pick | undefined, cpMax: Pick | undefined): Pick | undefined {
  if (txLike === undefined) return cpMax;
  if (cpMax === undefined || txLike.limit <= cpMax.limit) return txLike;
  // The cap wins on the amount, but the phases stay those the transaction's profile asked for.
  return { ...cpMax, numberPhases: txLike.numberPhases };
}

function prepare(installed: readonly InstalledProfile[], opts: CompositeOptions) {
  const txStart = opts.transaction ? toMs(opts.transaction.startedAt) : undefined;
  const txId = opts.transaction ? opts.transaction.transactionId : null;
  const anchor: Anchor = {
    windowStart: toMs(opts.start),
    txStart,
    ...(opts.timeZone ? { timeZone: opts.timeZone } : {}),
  };
  return { anchor, lists: applicable(installed, opts.connectorId, txId) };
}

/** The limit in force at one instant (in the requested unit), or undefined when nothing limits it. */
export function limitAt(
  installed: readonly InstalledProfile[],
  opts: CompositeOptions,
  at: Date | number,
): { limit: number; numberPhases: number; chargingProfileId: number; purpose: ChargingProfilePurpose } | undefined {
  const { anchor, lists } = prepare(installed, opts);
  const unit = opts.chargingRateUnit ?? 'A';
  const voltage = opts.voltage ?? DEFAULT_VOLTAGE;
  const t = toMs(at);
  const tx =
    winner(lists.TxProfile, t, anchor, unit, voltage) ?? winner(lists.TxDefaultProfile, t, anchor, unit, voltage);
  const pick = combine(tx, winner(lists.ChargePointMaxProfile, t, anchor, unit, voltage));
  if (pick === undefined) return undefined;
  return {
    limit: pick.limit,
    numberPhases: pick.numberPhases,
    chargingProfileId: pick.ip.profile.chargingProfileId,
    purpose: pick.ip.profile.chargingProfilePurpose,
  };
}

/** Every instant in (from, to) where some candidate profile may change its limit. */
function breakpoints(list: readonly InstalledProfile[], from: number, to: number, a: Anchor): number[] {
  const out: number[] = [];
  const add = (t: number | undefined) => {
    if (t !== undefined && t > from && t < to) out.push(t);
  };
  for (const ip of list) {
    const p = ip.profile;
    add(parseTime(p.validFrom));
    add(parseTime(p.validTo));
    const len = scheduleLengthMs(p);
    const occurrences: number[] = [];
    if (p.chargingProfileKind === 'Recurring') {
      const s0 = parseTime(p.chargingSchedule.startSchedule);
      if (s0 === undefined) continue;
      const r = recurrenceMs(p);
      for (let k = recurrenceIndex(s0, from, r, a.timeZone); ; k++) {
        const s = recurrence(s0, k, r, a.timeZone);
        if (s >= to) break;
        occurrences.push(s);
      }
    } else {
      const s = scheduleStartFor(ip, from, a);
      if (s !== undefined) occurrences.push(s);
    }
    for (const s of occurrences) {
      add(s);
      if (Number.isFinite(len)) add(s + len);
      for (const period of p.chargingSchedule.chargingSchedulePeriod) add(s + period.startPeriod * SECOND);
    }
  }
  return out;
}

/**
 * The composite schedule as intervals. Between two breakpoints nothing changes, so evaluating each
 * interval at its start is exact. Adjacent intervals with the same limit and phases are merged.
 */
export function compositeSegments(installed: readonly InstalledProfile[], opts: CompositeOptions): CompositeSegment[] {
  const { anchor, lists } = prepare(installed, opts);
  const unit = opts.chargingRateUnit ?? 'A';
  const voltage = opts.voltage ?? DEFAULT_VOLTAGE;
  const from = toMs(opts.start);
  const to = from + opts.duration * SECOND;
  const all = [...lists.ChargePointMaxProfile, ...lists.TxDefaultProfile, ...lists.TxProfile];
  const points = [from, ...new Set(breakpoints(all, from, to, anchor))].sort((x, y) => x - y);
  points.push(to);
  const out: CompositeSegment[] = [];
  for (let i = 0; i + 1 < points.length; i++) {
    const t = points[i]!;
    const tx =
      winner(lists.TxProfile, t, anchor, unit, voltage) ?? winner(lists.TxDefaultProfile, t, anchor, unit, voltage);
    const pick = combine(tx, winner(lists.ChargePointMaxProfile, t, anchor, unit, voltage));
    const seg: CompositeSegment =
      pick === undefined
        ? { start: t, end: points[i + 1]!, limit: null, numberPhases: DEFAULT_PHASES }
        : {
            start: t,
            end: points[i + 1]!,
            limit: pick.limit,
            numberPhases: pick.numberPhases,
            chargingProfileId: pick.ip.profile.chargingProfileId,
            purpose: pick.ip.profile.chargingProfilePurpose,
          };
    const last = out[out.length - 1];
    if (last && last.limit === seg.limit && last.numberPhases === seg.numberPhases) last.end = seg.end;
    else out.push(seg);
  }
  return out;
}

/**
 * GetCompositeSchedule.conf as Ampere computes it (§5.7, §6.23): scheduleStart is the requested
 * start, periods are relative to it. Limits are rounded down to one decimal so the reported
 * schedule never allows more than the profiles do. Intervals no profile limits show the connector's
 * hardware maximum (`maxCurrentA`, converted to the requested unit).
 */
export function compositeSchedule(
  installed: readonly InstalledProfile[],
  opts: CompositeOptions,
): CompositeScheduleConf {
  if (
    !Number.isInteger(opts.connectorId) ||
    opts.connectorId < 0 ||
    (opts.numberOfConnectors !== undefined && opts.connectorId > opts.numberOfConnectors)
  ) {
    return { status: 'Rejected' };
  }
  const unit = opts.chargingRateUnit ?? 'A';
  const voltage = opts.voltage ?? DEFAULT_VOLTAGE;
  const from = toMs(opts.start);
  const segments = compositeSegments(installed, opts);
  const periods: ChargingSchedulePeriod[] = [];
  for (const seg of segments) {
    const raw =
      seg.limit ?? convertLimit(opts.maxCurrentA ?? DEFAULT_MAX_CURRENT_A, 'A', unit, seg.numberPhases, voltage);
    const period = {
      startPeriod: Math.round((seg.start - from) / SECOND),
      limit: floorLimit(raw),
      numberPhases: seg.numberPhases,
    };
    const last = periods[periods.length - 1];
    if (last && last.limit === period.limit && last.numberPhases === period.numberPhases) continue;
    if (last && last.startPeriod === period.startPeriod) periods[periods.length - 1] = period;
    else periods.push(period);
  }
  return {
    status: 'Accepted',
    connectorId: opts.connectorId,
    scheduleStart: new Date(from).toISOString(),
    chargingSchedule: {
      duration: opts.duration,
      startSchedule: new Date(from).toISOString(),
      chargingRateUnit: unit,
      chargingSchedulePeriod: periods,
    },
  };
}
