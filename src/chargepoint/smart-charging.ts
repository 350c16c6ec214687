// Charging profiles as a charger applies them (OCPP 1.6 §3.13 Smart Charging, §5.16, §5.5, §5.7).
// Kept inside chargepoint/ on purpose: the simulator must not borrow the central system's
// calculation (the simulator never imports central/: docs/architecture.md), so a bug in one cannot hide the same bug in the other.
import type { SetChargingProfileRequest } from '../ocpp/index.ts';

export type ChargingProfile = SetChargingProfileRequest['csChargingProfiles'];
export type Purpose = ChargingProfile['chargingProfilePurpose'];

export interface Installed {
  connectorId: number;
  profile: ChargingProfile;
  installedAt: number;
}

/**
 * A limit as the schedules state it: in A per phase and/or in W (Infinity where no schedule of that
 * unit applies), plus the phase count asked for. W become A only once the phases in use are known.
 */
export interface Limit {
  amps: number;
  watts: number;
  numberPhases?: number;
}

/** The current per phase that `l` allows on `phases` phases at `voltage`. */
export function ampsFor(l: Limit, phases: number, voltage: number): number {
  return Math.min(l.amps, l.watts / (voltage * phases));
}

export interface TxContext {
  transactionId?: number;
  startedAt: number;
}

const DAY = 86_400_000;

export class SmartCharging {
  private installed: Installed[] = [];

  constructor(
    private readonly voltage: number,
    private readonly defaultPhases: number,
  ) {}

  list(): readonly Installed[] {
    return this.installed;
  }

  /** OCPP 1.6 §5.16; returns the SetChargingProfile.conf status. */
  set(connectorId: number, profile: ChargingProfile, now: number, tx: TxContext | undefined, maxStackLevel: number) {
    if (profile.stackLevel > maxStackLevel) return 'Rejected' as const;
    if (profile.chargingProfilePurpose === 'ChargePointMaxProfile' && connectorId !== 0) return 'Rejected' as const;
    // §3.13.3: a TxProfile needs a transaction on that connector.
    if (profile.chargingProfilePurpose === 'TxProfile') {
      if (connectorId === 0 || !tx) return 'Rejected' as const;
      if (profile.transactionId !== undefined && profile.transactionId !== tx.transactionId) return 'Rejected' as const;
    }
    if (profile.chargingProfileKind === 'Recurring' && !profile.recurrencyKind) return 'Rejected' as const;
    // A profile replaces one with the same id, or the same purpose and stack level on the same connector (§3.13.2).
    this.installed = this.installed.filter(
      (i) =>
        i.profile.chargingProfileId !== profile.chargingProfileId &&
        !(
          i.connectorId === connectorId &&
          i.profile.stackLevel === profile.stackLevel &&
          i.profile.chargingProfilePurpose === profile.chargingProfilePurpose
        ),
    );
    this.installed.push({ connectorId, profile, installedAt: now });
    return 'Accepted' as const;
  }

  /** OCPP 1.6 §5.5: every given criterion must match; no criteria clears everything. */
  clear(req: { id?: number; connectorId?: number; chargingProfilePurpose?: Purpose; stackLevel?: number }) {
    const before = this.installed.length;
    this.installed = this.installed.filter((i) => {
      if (req.id !== undefined) return i.profile.chargingProfileId !== req.id;
      const match =
        (req.connectorId === undefined || req.connectorId === i.connectorId) &&
        (req.chargingProfilePurpose === undefined || req.chargingProfilePurpose === i.profile.chargingProfilePurpose) &&
        (req.stackLevel === undefined || req.stackLevel === i.profile.stackLevel);
      return !match;
    });
    return this.installed.length < before ? ('Accepted' as const) : ('Unknown' as const);
  }

  /** TxProfiles end with their transaction (§3.13.3). */
  endTransaction(connectorId: number): void {
    this.installed = this.installed.filter(
      (i) => !(i.connectorId === connectorId && i.profile.chargingProfilePurpose === 'TxProfile'),
    );
  }

  /** The limit on `connectorId` at `t`: min(ChargePointMax, Tx or else TxDefault). */
  limitAt(connectorId: number, t: number, tx: TxContext | undefined): Limit | undefined {
    const cpMax = this.best('ChargePointMaxProfile', connectorId, t, tx);
    const txLimit =
      (tx && this.best('TxProfile', connectorId, t, tx)) ?? this.best('TxDefaultProfile', connectorId, t, tx);
    if (!cpMax) return txLimit;
    if (!txLimit) return cpMax;
    const out: Limit = { amps: Math.min(cpMax.amps, txLimit.amps), watts: Math.min(cpMax.watts, txLimit.watts) };
    const numberPhases = Math.min(cpMax.numberPhases ?? 3, txLimit.numberPhases ?? 3);
    if (numberPhases < 3) out.numberPhases = numberPhases;
    return out;
  }

  /** OCPP 1.6 §5.7 GetCompositeSchedule: the limits from now for `durationS`, merged into periods. */
  composite(
    connectorId: number,
    now: number,
    durationS: number,
    unit: 'A' | 'W',
    tx: TxContext | undefined,
    maxAmps = Number.POSITIVE_INFINITY,
  ) {
    const end = now + durationS * 1000;
    const points = new Set<number>([now]);
    for (const i of this.relevant(connectorId)) {
      for (const p of this.breakpoints(i, now, end, tx)) if (p > now && p < end) points.add(p);
    }
    const periods: { startPeriod: number; limit: number; numberPhases?: number }[] = [];
    for (const at of [...points].sort((a, b) => a - b)) {
      const l = this.limitAt(connectorId, at, tx);
      if (!l) continue;
      const phases = l.numberPhases ?? this.defaultPhases;
      const amps = Math.min(maxAmps, ampsFor(l, phases, this.voltage));
      const limit = unit === 'A' ? round1(amps) : Math.round(amps * this.voltage * phases);
      const prev = periods[periods.length - 1];
      if (prev && prev.limit === limit && prev.numberPhases === l.numberPhases) continue;
      const period: { startPeriod: number; limit: number; numberPhases?: number } = {
        startPeriod: Math.round((at - now) / 1000),
        limit,
      };
      if (l.numberPhases !== undefined) period.numberPhases = l.numberPhases;
      periods.push(period);
    }
    return periods;
  }

  private relevant(connectorId: number): Installed[] {
    return this.installed.filter((i) => i.connectorId === connectorId || i.connectorId === 0);
  }

  private best(purpose: Purpose, connectorId: number, t: number, tx: TxContext | undefined): Limit | undefined {
    let chosen: { level: number; specific: boolean; limit: Limit } | undefined;
    for (const i of this.relevant(connectorId)) {
      if (i.profile.chargingProfilePurpose !== purpose) continue;
      if (
        purpose === 'TxProfile' &&
        i.profile.transactionId !== undefined &&
        i.profile.transactionId !== tx?.transactionId
      )
        continue;
      const limit = this.evaluate(i, t, tx);
      if (!limit) continue;
      const level = i.profile.stackLevel;
      const specific = i.connectorId !== 0;
      // Highest stack level wins (§3.13.2); on a tie a connector's own profile beats connector 0's.
      if (!chosen || level > chosen.level || (level === chosen.level && specific && !chosen.specific))
        chosen = { level, specific, limit };
    }
    return chosen?.limit;
  }

  private start(i: Installed, t: number, tx: TxContext | undefined): number | undefined {
    const p = i.profile;
    const s = p.chargingSchedule;
    if (p.chargingProfileKind === 'Relative') return tx?.startedAt;
    const base = s.startSchedule ? Date.parse(s.startSchedule) : p.validFrom ? Date.parse(p.validFrom) : i.installedAt;
    if (p.chargingProfileKind === 'Recurring') {
      const cycle = p.recurrencyKind === 'Weekly' ? 7 * DAY : DAY;
      return base + Math.floor((t - base) / cycle) * cycle;
    }
    return base;
  }

  private evaluate(i: Installed, t: number, tx: TxContext | undefined): Limit | undefined {
    const p = i.profile;
    if (p.validFrom && t < Date.parse(p.validFrom)) return undefined;
    if (p.validTo && t >= Date.parse(p.validTo)) return undefined;
    const start = this.start(i, t, tx);
    if (start === undefined || t < start) return undefined;
    const s = p.chargingSchedule;
    const offsetS = (t - start) / 1000;
    if (s.duration !== undefined && offsetS >= s.duration) return undefined;
    let period: (typeof s.chargingSchedulePeriod)[number] | undefined;
    for (const candidate of s.chargingSchedulePeriod) if (candidate.startPeriod <= offsetS) period = candidate;
    if (!period) return undefined;
    const out: Limit =
      s.chargingRateUnit === 'W'
        ? { amps: Number.POSITIVE_INFINITY, watts: period.limit }
        : { amps: period.limit, watts: Number.POSITIVE_INFINITY };
    if (period.numberPhases !== undefined) out.numberPhases = period.numberPhases;
    return out;
  }

  private breakpoints(i: Installed, from: number, to: number, tx: TxContext | undefined): number[] {
    const p = i.profile;
    const out: number[] = [];
    if (p.validFrom) out.push(Date.parse(p.validFrom));
    if (p.validTo) out.push(Date.parse(p.validTo));
    const cycle = p.chargingProfileKind === 'Recurring' ? (p.recurrencyKind === 'Weekly' ? 7 * DAY : DAY) : 0;
    let start = this.start(i, from, tx);
    if (start === undefined) return out;
    for (let k = 0; k < 400 && start < to; k++) {
      for (const period of p.chargingSchedule.chargingSchedulePeriod) out.push(start + period.startPeriod * 1000);
      if (p.chargingSchedule.duration !== undefined) out.push(start + p.chargingSchedule.duration * 1000);
      if (!cycle) break;
      start += cycle;
    }
    return out;
  }
}

function round1(n: number): number {
  return Math.round(n * 10) / 10;
}
