// Charging-profile types shaped exactly like the OCPP 1.6 JSON (§7.7 ChargingProfile, §7.13
// ChargingSchedule, §7.14 ChargingSchedulePeriod). smart/ imports nothing of ours, so it keeps its
// own copy; the shapes are structurally identical to the generated 1.6 types, so central/ can pass
// its payloads in unchanged.

export type ChargingProfilePurpose = 'ChargePointMaxProfile' | 'TxDefaultProfile' | 'TxProfile';
export type ChargingProfileKind = 'Absolute' | 'Recurring' | 'Relative';
export type RecurrencyKind = 'Daily' | 'Weekly';
export type ChargingRateUnit = 'A' | 'W';

export interface ChargingSchedulePeriod {
  /** Seconds from the start of the schedule. */
  startPeriod: number;
  /** A (per phase) or W, one decimal (§7.14). */
  limit: number;
  /** 1..3; absent means 3 (§7.14). */
  numberPhases?: number;
}

export interface ChargingSchedule {
  /** Seconds; absent means the last period lasts until the profile ends (or the next recurrence). */
  duration?: number;
  /** ISO date-time; absent for Relative (§7.13). */
  startSchedule?: string;
  chargingRateUnit: ChargingRateUnit;
  chargingSchedulePeriod: ChargingSchedulePeriod[];
  minChargingRate?: number;
}

export interface ChargingProfile {
  chargingProfileId: number;
  transactionId?: number;
  stackLevel: number;
  chargingProfilePurpose: ChargingProfilePurpose;
  chargingProfileKind: ChargingProfileKind;
  recurrencyKind?: RecurrencyKind;
  validFrom?: string;
  validTo?: string;
  chargingSchedule: ChargingSchedule;
}

/** SetChargingProfile.req (§6.43). */
export interface SetChargingProfileRequest {
  connectorId: number;
  csChargingProfiles: ChargingProfile;
}

/** ClearChargingProfile.req (§6.13): every field optional. */
export interface ClearChargingProfileRequest {
  id?: number;
  connectorId?: number;
  chargingProfilePurpose?: ChargingProfilePurpose;
  stackLevel?: number;
}

/** A profile as installed on a charger: the connector it was set on, and when (epoch ms). */
export interface InstalledProfile {
  connectorId: number;
  profile: ChargingProfile;
  /** Epoch ms of installation: the start of an Absolute schedule without startSchedule. */
  installedAt?: number;
}

/** GetCompositeSchedule.conf (§6.23) as Ampere computes it. */
export interface CompositeScheduleConf {
  status: 'Accepted' | 'Rejected';
  connectorId?: number;
  scheduleStart?: string;
  chargingSchedule?: ChargingSchedule;
}

/** A 3-phase grid: phases are numbered 1..3 (L1, L2, L3). */
export type GridPhase = 1 | 2 | 3;
