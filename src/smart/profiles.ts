// Charging profiles: validation for SetChargingProfile / RemoteStartTransaction, and the set of
// profiles installed on one charger with the install, replace and clear rules of OCPP 1.6.
// Pure: an installed set goes in, a new one comes out; nothing is mutated.

import { parseTime } from './time.ts';
import type {
  ChargingProfile,
  ChargingRateUnit,
  ChargingSchedulePeriod,
  ClearChargingProfileRequest,
  InstalledProfile,
  SetChargingProfileRequest,
} from './types.ts';
import { DEFAULT_PHASES, roundLimit } from './units.ts';

/** Where a profile travels: its own SetChargingProfile.req, or inside RemoteStartTransaction.req. */
export type ProfileContext = 'SetChargingProfile' | 'RemoteStartTransaction';

export interface ValidateOptions {
  context?: ProfileContext;
  /**
   * The transaction running on the connector: a number, null for none, undefined for "not known".
   * §5.16.3: a TxProfile for a connector without that transaction is discarded by the charger.
   */
  activeTransactionId?: number | null;
  /** ChargeProfileMaxStackLevel (§9.4), when the charger reported it. */
  maxStackLevel?: number;
  /** ChargingScheduleMaxPeriods (§9.4). */
  maxPeriods?: number;
  /** ChargingScheduleAllowedChargingRateUnit (§9.4), mapped to 'A' (Current) / 'W' (Power). */
  allowedUnits?: readonly ChargingRateUnit[];
  /** NumberOfConnectors (§9.1.22): connectorId above it is refused. */
  numberOfConnectors?: number;
  /** Reject limits with more than one decimal instead of rounding them (schema `multipleOf: 0.1`). */
  strictDecimals?: boolean;
}

export interface ProfileIssue {
  field: string;
  message: string;
}

export type ValidationResult =
  | { ok: true; profile: ChargingProfile; warnings: ProfileIssue[] }
  | { ok: false; errors: ProfileIssue[]; warnings: ProfileIssue[] };

const PURPOSES = new Set(['ChargePointMaxProfile', 'TxDefaultProfile', 'TxProfile']);
const KINDS = new Set(['Absolute', 'Recurring', 'Relative']);

function isInt(n: unknown): n is number {
  return typeof n === 'number' && Number.isInteger(n);
}

function hasMoreThanOneDecimal(n: number): boolean {
  return Math.abs(n * 10 - Math.round(n * 10)) > 1e-9;
}

/**
 * Checks a profile before it is sent (or when the API receives one) and returns it normalised:
 * limits rounded to one decimal, numberPhases made explicit (3 when absent, §7.14).
 * `connectorId` is undefined for a RemoteStartTransaction.req without one.
 */
export function validateChargingProfile(
  connectorId: number | undefined,
  profile: ChargingProfile,
  opts: ValidateOptions = {},
): ValidationResult {
  const errors: ProfileIssue[] = [];
  const warnings: ProfileIssue[] = [];
  const err = (field: string, message: string) => errors.push({ field, message });
  const context = opts.context ?? 'SetChargingProfile';

  if (connectorId !== undefined) {
    if (!isInt(connectorId) || connectorId < 0) err('connectorId', 'must be an integer >= 0');
    else if (opts.numberOfConnectors !== undefined && connectorId > opts.numberOfConnectors)
      err('connectorId', `the charger has ${opts.numberOfConnectors} connector(s)`);
  }
  if (!isInt(profile.chargingProfileId)) err('chargingProfileId', 'must be an integer');
  if (!isInt(profile.stackLevel) || profile.stackLevel < 0) err('stackLevel', 'must be an integer >= 0');
  else if (opts.maxStackLevel !== undefined && profile.stackLevel > opts.maxStackLevel)
    err('stackLevel', `above ChargeProfileMaxStackLevel (${opts.maxStackLevel})`);
  if (!PURPOSES.has(profile.chargingProfilePurpose)) err('chargingProfilePurpose', 'unknown purpose');
  if (!KINDS.has(profile.chargingProfileKind)) err('chargingProfileKind', 'unknown kind');

  const purpose = profile.chargingProfilePurpose;
  if (context === 'RemoteStartTransaction') {
    // §5.11 / §5.16.2: only a TxProfile, and the transaction does not exist yet.
    if (purpose !== 'TxProfile') err('chargingProfilePurpose', 'RemoteStartTransaction carries a TxProfile only');
    if (profile.transactionId !== undefined)
      err('transactionId', 'must not be set inside RemoteStartTransaction (§5.16.2)');
    if (connectorId === 0) err('connectorId', 'RemoteStartTransaction needs a connector > 0');
  } else {
    // §3.13.1: ChargePointMaxProfile limits the whole charge point, so it lives on connector 0.
    if (purpose === 'ChargePointMaxProfile' && connectorId !== 0)
      err('connectorId', 'ChargePointMaxProfile can only be set on connectorId 0 (§3.13.1)');
    if (purpose === 'TxProfile') {
      // §5.16.3: a TxProfile belongs to a running transaction on a real connector; the transactionId
      // is what lets the charger refuse a profile meant for a transaction that already ended.
      if (connectorId === 0) err('connectorId', 'a TxProfile needs a connector > 0 (§5.16.3)');
      if (profile.transactionId === undefined) err('transactionId', 'a TxProfile needs its transactionId (§5.16.3)');
      else if (opts.activeTransactionId === null)
        err('transactionId', 'no transaction is active on the connector (§5.16.3)');
      else if (opts.activeTransactionId !== undefined && opts.activeTransactionId !== profile.transactionId)
        err('transactionId', `the connector runs transaction ${opts.activeTransactionId} (§5.16.3)`);
    }
  }
  // §7.7: transactionId is only valid with purpose TxProfile.
  if (purpose !== 'TxProfile' && profile.transactionId !== undefined)
    err('transactionId', 'only a TxProfile may carry a transactionId (§7.7)');

  const validFrom = parseTime(profile.validFrom);
  const validTo = parseTime(profile.validTo);
  if (profile.validFrom !== undefined && validFrom === undefined) err('validFrom', 'not an ISO date-time');
  if (profile.validTo !== undefined && validTo === undefined) err('validTo', 'not an ISO date-time');
  if (validFrom !== undefined && validTo !== undefined && validTo <= validFrom)
    err('validTo', 'must be after validFrom');

  const schedule = profile.chargingSchedule;
  if (schedule === undefined || typeof schedule !== 'object') {
    err('chargingSchedule', 'required');
    return { ok: false, errors, warnings };
  }
  const startSchedule = parseTime(schedule.startSchedule);
  if (schedule.startSchedule !== undefined && startSchedule === undefined)
    err('chargingSchedule.startSchedule', 'not an ISO date-time');

  // §7.8 / §7.13: the kind decides what the schedule is anchored to.
  switch (profile.chargingProfileKind) {
    case 'Absolute':
      if (profile.recurrencyKind !== undefined) err('recurrencyKind', 'only for a Recurring profile');
      if (schedule.startSchedule === undefined)
        warnings.push({
          field: 'chargingSchedule.startSchedule',
          message: 'absent: the schedule starts at the transaction start (or when installed)',
        });
      break;
    case 'Recurring':
      if (profile.recurrencyKind !== 'Daily' && profile.recurrencyKind !== 'Weekly')
        err('recurrencyKind', 'a Recurring profile needs Daily or Weekly');
      if (schedule.startSchedule === undefined)
        err('chargingSchedule.startSchedule', 'a Recurring profile needs the start of its recurrence');
      if (schedule.duration !== undefined) {
        const period = profile.recurrencyKind === 'Weekly' ? 7 * 86400 : 86400;
        if (schedule.duration > period)
          warnings.push({ field: 'chargingSchedule.duration', message: 'longer than the recurrence: cut at it' });
      }
      break;
    case 'Relative':
      if (profile.recurrencyKind !== undefined) err('recurrencyKind', 'only for a Recurring profile');
      // A relative schedule starts with the transaction; a startSchedule would contradict it.
      if (schedule.startSchedule !== undefined)
        err('chargingSchedule.startSchedule', 'a Relative profile has no startSchedule (§7.13)');
      break;
  }

  if (schedule.chargingRateUnit !== 'A' && schedule.chargingRateUnit !== 'W')
    err('chargingSchedule.chargingRateUnit', "must be 'A' or 'W'");
  else if (opts.allowedUnits !== undefined && !opts.allowedUnits.includes(schedule.chargingRateUnit))
    err('chargingSchedule.chargingRateUnit', `the charger accepts ${opts.allowedUnits.join(', ')}`);
  if (schedule.duration !== undefined && (!isInt(schedule.duration) || schedule.duration <= 0))
    err('chargingSchedule.duration', 'must be a positive integer (seconds)');

  const periods = schedule.chargingSchedulePeriod;
  const normalised: ChargingSchedulePeriod[] = [];
  if (!Array.isArray(periods) || periods.length === 0) {
    err('chargingSchedule.chargingSchedulePeriod', 'needs at least one period');
  } else {
    if (opts.maxPeriods !== undefined && periods.length > opts.maxPeriods)
      err('chargingSchedule.chargingSchedulePeriod', `more than ChargingScheduleMaxPeriods (${opts.maxPeriods})`);
    periods.forEach((p, i) => {
      const f = `chargingSchedule.chargingSchedulePeriod[${i}]`;
      if (!isInt(p.startPeriod) || p.startPeriod < 0) err(`${f}.startPeriod`, 'must be an integer >= 0');
      // §7.14: each startPeriod ends the previous period, so they must strictly increase, from 0.
      if (i === 0 && p.startPeriod !== 0) err(`${f}.startPeriod`, 'the first period starts at 0');
      const prev = periods[i - 1];
      if (prev !== undefined && p.startPeriod <= prev.startPeriod) err(`${f}.startPeriod`, 'must increase');
      if (schedule.duration !== undefined && p.startPeriod >= schedule.duration)
        warnings.push({ field: `${f}.startPeriod`, message: 'starts after the schedule duration: never in force' });
      if (typeof p.limit !== 'number' || !Number.isFinite(p.limit) || p.limit < 0)
        err(`${f}.limit`, 'must be a number >= 0');
      else if (hasMoreThanOneDecimal(p.limit)) {
        if (opts.strictDecimals) err(`${f}.limit`, 'at most one decimal (§7.14)');
        else warnings.push({ field: `${f}.limit`, message: `rounded to ${roundLimit(p.limit)} (one decimal, §7.14)` });
      }
      const phases = p.numberPhases ?? DEFAULT_PHASES;
      if (!isInt(phases) || phases < 1 || phases > 3) err(`${f}.numberPhases`, 'must be 1, 2 or 3');
      normalised.push({ startPeriod: p.startPeriod, limit: roundLimit(p.limit), numberPhases: phases });
    });
  }
  if (schedule.minChargingRate !== undefined) {
    if (typeof schedule.minChargingRate !== 'number' || schedule.minChargingRate < 0)
      err('chargingSchedule.minChargingRate', 'must be a number >= 0');
    else if (opts.strictDecimals && hasMoreThanOneDecimal(schedule.minChargingRate))
      err('chargingSchedule.minChargingRate', 'at most one decimal');
  }

  if (errors.length > 0) return { ok: false, errors, warnings };
  const out: ChargingProfile = {
    ...profile,
    chargingSchedule: {
      ...schedule,
      chargingSchedulePeriod: normalised,
      ...(schedule.minChargingRate !== undefined ? { minChargingRate: roundLimit(schedule.minChargingRate) } : {}),
    },
  };
  return { ok: true, profile: out, warnings };
}

export interface InstallOptions extends ValidateOptions {
  /** When the charger accepted it: anchors an Absolute schedule without startSchedule. */
  now?: Date | number;
  /** MaxChargingProfilesInstalled (§9.4). */
  maxInstalled?: number;
}

export interface InstallResult {
  /** What SetChargingProfile.conf a conforming charger answers. */
  status: 'Accepted' | 'Rejected';
  profiles: InstalledProfile[];
  replaced: InstalledProfile[];
  errors: ProfileIssue[];
}

/**
 * True when `b` replaces `a`. §5.16.3: the same chargingProfileId, or the same stackLevel and
 * chargingProfilePurpose; the errata (and §3.13.2's "per connector" stacking) narrow the second
 * case to the same connector, so a TxDefaultProfile on connector 1 does not evict one on connector 0.
 */
export function replaces(a: InstalledProfile, b: InstalledProfile): boolean {
  if (a.profile.chargingProfileId === b.profile.chargingProfileId) return true;
  return (
    a.connectorId === b.connectorId &&
    a.profile.stackLevel === b.profile.stackLevel &&
    a.profile.chargingProfilePurpose === b.profile.chargingProfilePurpose
  );
}

/**
 * Applies a SetChargingProfile.req to the installed set, as the charger would (tracking the
 * charger's state on the central side, issue 6 item 2).
 */
export function installProfile(
  installed: readonly InstalledProfile[],
  req: SetChargingProfileRequest,
  opts: InstallOptions = {},
): InstallResult {
  const v = validateChargingProfile(req.connectorId, req.csChargingProfiles, opts);
  if (!v.ok) return { status: 'Rejected', profiles: [...installed], replaced: [], errors: v.errors };
  const entry: InstalledProfile = {
    connectorId: req.connectorId,
    profile: v.profile,
    ...(opts.now !== undefined ? { installedAt: typeof opts.now === 'number' ? opts.now : opts.now.getTime() } : {}),
  };
  const replaced = installed.filter((p) => replaces(p, entry));
  const profiles = [...installed.filter((p) => !replaces(p, entry)), entry];
  if (opts.maxInstalled !== undefined && profiles.length > opts.maxInstalled) {
    return {
      status: 'Rejected',
      profiles: [...installed],
      replaced: [],
      errors: [{ field: 'csChargingProfiles', message: `MaxChargingProfilesInstalled (${opts.maxInstalled}) reached` }],
    };
  }
  return { status: 'Accepted', profiles, replaced, errors: [] };
}

/**
 * True when an installed profile matches a ClearChargingProfile.req. §5.5 / §6.13: with `id`,
 * only that profile (the other fields are then ignored); with no field at all, every profile;
 * otherwise the AND of the fields given.
 */
export function matchesClear(p: InstalledProfile, req: ClearChargingProfileRequest): boolean {
  if (req.id !== undefined) return p.profile.chargingProfileId === req.id;
  if (req.connectorId !== undefined && p.connectorId !== req.connectorId) return false;
  if (req.chargingProfilePurpose !== undefined && p.profile.chargingProfilePurpose !== req.chargingProfilePurpose)
    return false;
  if (req.stackLevel !== undefined && p.profile.stackLevel !== req.stackLevel) return false;
  return true;
}

/** Applies a ClearChargingProfile.req: status Unknown when nothing matched (§7.16). */
export function clearProfiles(
  installed: readonly InstalledProfile[],
  req: ClearChargingProfileRequest,
): { status: 'Accepted' | 'Unknown'; profiles: InstalledProfile[]; cleared: InstalledProfile[] } {
  const cleared = installed.filter((p) => matchesClear(p, req));
  return {
    status: cleared.length > 0 ? 'Accepted' : 'Unknown',
    profiles: installed.filter((p) => !matchesClear(p, req)),
    cleared,
  };
}

/** §3.13.1: a TxProfile lives as long as its transaction; the charger deletes it at the end. */
export function removeTransactionProfiles(
  installed: readonly InstalledProfile[],
  transactionId: number,
): InstalledProfile[] {
  return installed.filter(
    (p) => !(p.profile.chargingProfilePurpose === 'TxProfile' && p.profile.transactionId === transactionId),
  );
}

/**
 * §5.16.2: a TxProfile that came inside RemoteStartTransaction.req belongs to the transaction the
 * charger then starts; once StartTransaction.conf gives it an id, the tracked copy gets it too.
 */
export function bindTransaction(
  installed: readonly InstalledProfile[],
  connectorId: number,
  transactionId: number,
): InstalledProfile[] {
  return installed.map((p) =>
    p.connectorId === connectorId &&
    p.profile.chargingProfilePurpose === 'TxProfile' &&
    p.profile.transactionId === undefined
      ? { ...p, profile: { ...p.profile, transactionId } }
      : p,
  );
}
