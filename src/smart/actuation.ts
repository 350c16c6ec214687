// Actuation that fits each charger: a capability model (vendor table + what the charger says about
// itself + how it answered), and a pure choice of the OCPP commands that apply a current limit.
// Nothing is sent here: the central system sends the commands, records each answer as a new
// learned fact, and calls deriveCapabilities again, so a NotSupported moves it to the next
// mechanism on the following run.
//
// Order of preference (issue 6 item 5): SetChargingProfile (a TxProfile for the running
// transaction, or a ChargePointMaxProfile on a one-connector charger), then a vendor current key
// through ChangeConfiguration, then on/off with RemoteStopTransaction / RemoteStartTransaction
// (what ev.energy falls back to). A table entry may reorder them.

import type { ChargingProfile, ChargingRateUnit, SetChargingProfileRequest } from './types.ts';
import { DEFAULT_VOLTAGE, floorLimit } from './units.ts';
import {
  findVendorEntry,
  type LimitMechanism,
  VENDOR_CAPABILITIES,
  type VendorCapabilityEntry,
} from './vendor-capabilities.ts';

export type Support = 'yes' | 'no' | 'unknown';

/** One answer of the charger to a command Ampere sent. */
export interface LearnedAnswer {
  action: string;
  /**
   * The conf status (Accepted, Rejected, NotSupported, RebootRequired…) or the CALLERROR code
   * (NotImplemented, NotSupported…).
   */
  status: string;
  /** ChangeConfiguration: the key. */
  key?: string;
  /** SetChargingProfile: the purpose sent. */
  purpose?: string;
}

export interface ChargerFacts {
  /** BootNotification chargePointVendor / chargePointModel. */
  vendor?: string;
  model?: string;
  /** Configuration keys reported by GetConfiguration, with their values (absent = not read yet). */
  configuration?: Readonly<Record<string, string | undefined>>;
  /** Answers, oldest first: a later answer overrides an earlier one for the same capability. */
  answers?: readonly LearnedAnswer[];
  numberOfConnectors?: number;
}

export interface Capabilities {
  vendorEntry?: string;
  txProfile: Support;
  chargePointMaxProfile: Support;
  /** The live current key, if there is one we may use. */
  currentKey?: string;
  remoteStartStop: Support;
  phaseSwitching: boolean;
  rateUnits: ChargingRateUnit[];
  maxStackLevel?: number;
  mechanisms: LimitMechanism[];
  /**
   * Granularity of the limits the charger takes with its first mechanism (A): 1 for a vendor
   * current key or a model that takes whole amperes, else 0.1 (§7.14: one decimal).
   */
  stepA: number;
  /** Why each conclusion was reached, for the operator. */
  reasons: string[];
}

const MISSING = new Set(['NotSupported', 'NotImplemented']);

function keyValue(facts: ChargerFacts, entry: VendorCapabilityEntry | undefined, key: string): string | undefined {
  const cfg = facts.configuration;
  if (cfg === undefined) return undefined;
  return cfg[key] ?? cfg[entry?.keyAliases?.[key] ?? ''];
}

export function deriveCapabilities(
  facts: ChargerFacts,
  table: readonly VendorCapabilityEntry[] = VENDOR_CAPABILITIES,
): Capabilities {
  const entry = findVendorEntry(facts.vendor, facts.model, table);
  const reasons: string[] = entry ? [...entry.notes] : [];
  const unusable = new Set(entry?.unusableActions ?? []);

  // SupportedFeatureProfiles (§9.1.28) is a first hint only: the table or an answer beats it.
  const profiles = keyValue(facts, entry, 'SupportedFeatureProfiles')
    ?.split(',')
    .map((s) => s.trim());
  let smart: Support = profiles === undefined ? 'unknown' : profiles.includes('SmartCharging') ? 'yes' : 'no';
  if (profiles !== undefined && smart === 'no') reasons.push('SupportedFeatureProfiles lacks SmartCharging');
  if (unusable.has('SetChargingProfile')) smart = 'no';
  let txProfile: Support = smart;
  let cpMax: Support = smart;
  let remote: Support = unusable.has('RemoteStopTransaction') ? 'no' : 'yes';
  let phaseSwitching = entry?.phaseSwitching === true;
  const switchKey = keyValue(facts, entry, 'ConnectorSwitch3to1PhaseSupported');
  if (switchKey !== undefined) phaseSwitching = switchKey.toLowerCase() === 'true';

  // A vendor current key is usable unless GetConfiguration shows the charger lacks it.
  let currentKey = entry?.currentKey;
  if (currentKey !== undefined && facts.configuration !== undefined && !(currentKey in facts.configuration)) {
    reasons.push(`${currentKey} not reported by GetConfiguration`);
    currentKey = undefined;
  }

  for (const a of facts.answers ?? []) {
    const missing = MISSING.has(a.status);
    if (a.action === 'SetChargingProfile') {
      if (missing) {
        txProfile = 'no';
        cpMax = 'no';
        reasons.push(`SetChargingProfile answered ${a.status}`);
      } else if (a.status === 'Rejected' || a.status === 'Accepted') {
        const s: Support = a.status === 'Accepted' ? 'yes' : 'no';
        if (a.purpose === 'ChargePointMaxProfile') cpMax = s;
        else txProfile = s;
        if (s === 'no') reasons.push(`SetChargingProfile (${a.purpose ?? 'TxProfile'}) answered Rejected`);
      }
    } else if (
      a.action === 'ChangeConfiguration' &&
      a.key !== undefined &&
      a.key === (entry?.currentKey ?? currentKey)
    ) {
      // RebootRequired is useless for a live limit, so it counts as missing too.
      if (a.status === 'Accepted') currentKey = a.key;
      else {
        currentKey = undefined;
        reasons.push(`ChangeConfiguration ${a.key} answered ${a.status}`);
      }
    } else if ((a.action === 'RemoteStopTransaction' || a.action === 'RemoteStartTransaction') && missing) {
      remote = 'no';
      reasons.push(`${a.action} answered ${a.status}`);
    }
  }

  // §9.4 ChargingScheduleAllowedChargingRateUnit: "Current" and/or "Power".
  const unitsKey = keyValue(facts, entry, 'ChargingScheduleAllowedChargingRateUnit');
  const rateUnits: ChargingRateUnit[] = [];
  if (unitsKey === undefined || /current/i.test(unitsKey)) rateUnits.push('A');
  if (unitsKey !== undefined && /power/i.test(unitsKey)) rateUnits.push('W');
  const maxStack = Number(keyValue(facts, entry, 'ChargeProfileMaxStackLevel'));

  const order = entry?.preferredMechanisms ?? (['chargingProfile', 'configKey', 'onOff'] as const);
  const mechanisms = order.filter((m) =>
    m === 'chargingProfile'
      ? txProfile !== 'no' || (cpMax !== 'no' && (facts.numberOfConnectors ?? 1) === 1)
      : m === 'configKey'
        ? currentKey !== undefined
        : remote !== 'no',
  );
  return {
    ...(entry ? { vendorEntry: entry.name } : {}),
    txProfile,
    chargePointMaxProfile: cpMax,
    ...(currentKey !== undefined ? { currentKey } : {}),
    remoteStartStop: remote,
    phaseSwitching: phaseSwitching && txProfile !== 'no',
    rateUnits,
    ...(Number.isInteger(maxStack) && maxStack >= 0 ? { maxStackLevel: maxStack } : {}),
    mechanisms: [...mechanisms],
    stepA: mechanisms[0] === 'configKey' || entry?.wholeAmperes === true ? 1 : 0.1,
    reasons,
  };
}

/** How the balancer must treat a charger: an on/off-only charger runs at its maximum or not at all. */
export function balancerHints(caps: Capabilities): { onOffOnly: boolean; supportsPhaseSwitching: boolean } {
  const first = caps.mechanisms[0];
  return { onOffOnly: first === 'onOff' || first === undefined, supportsPhaseSwitching: caps.phaseSwitching };
}

export type OcppCommand =
  | { action: 'SetChargingProfile'; payload: SetChargingProfileRequest }
  | { action: 'ChangeConfiguration'; payload: { key: string; value: string } }
  | { action: 'RemoteStopTransaction'; payload: { transactionId: number } }
  | {
      action: 'RemoteStartTransaction';
      payload: { connectorId: number; idTag: string; chargingProfile?: ChargingProfile };
    };

export interface LimitRequest {
  connectorId: number;
  /** The running transaction, if any. */
  transactionId?: number;
  /** A per phase; 0 pauses. */
  currentA: number;
  /** 1 asks for 3→1 phase switching (used only when the charger supports it). */
  phases?: number;
  /** To resume a session Ampere paused with RemoteStopTransaction. */
  resume?: { idTag: string };
  voltage?: number;
  /**
   * A standing limit for a connector without a transaction: what the next session may draw before
   * the central system has balanced it. Set as a TxDefaultProfile, which a later TxProfile overrides
   * (§3.13.2), rather than a ChargePointMaxProfile, which would keep capping the session.
   */
  standing?: boolean;
  /** Ampere's profile id and stack level for its own limits (kept stable so each one replaces the last). */
  chargingProfileId?: number;
  stackLevel?: number;
}

export interface ActuationPlan {
  mechanism: LimitMechanism | 'none';
  commands: OcppCommand[];
  note?: string;
}

/** Ampere's own profile ids: one per connector, so a new limit replaces the previous (§5.16.3). */
export const AMPERE_PROFILE_ID_BASE = 9_000;
/** Standing (TxDefaultProfile) limits get their own ids so they never replace a TxProfile. */
const STANDING_ID_OFFSET = 100;

function limitProfile(
  caps: Capabilities,
  req: LimitRequest,
  purpose: 'TxProfile' | 'TxDefaultProfile' | 'ChargePointMaxProfile',
  inRemoteStart: boolean,
): ChargingProfile {
  const phases = req.phases === 1 && caps.phaseSwitching ? 1 : 3;
  const unit: ChargingRateUnit = caps.rateUnits.includes('A') ? 'A' : 'W';
  const value = unit === 'A' ? req.currentA : req.currentA * (req.voltage ?? DEFAULT_VOLTAGE) * phases;
  return {
    chargingProfileId:
      req.chargingProfileId ??
      AMPERE_PROFILE_ID_BASE + (purpose === 'TxDefaultProfile' ? STANDING_ID_OFFSET : 0) + req.connectorId,
    ...(purpose === 'TxProfile' && !inRemoteStart && req.transactionId !== undefined
      ? { transactionId: req.transactionId }
      : {}),
    stackLevel: req.stackLevel ?? caps.maxStackLevel ?? 1,
    chargingProfilePurpose: purpose,
    // Relative with one open-ended period: a constant limit that does not depend on the charger's clock.
    chargingProfileKind: 'Relative',
    chargingSchedule: {
      chargingRateUnit: unit,
      chargingSchedulePeriod: [{ startPeriod: 0, limit: floorLimit(value), numberPhases: phases }],
    },
  };
}

/**
 * The commands that make a charger follow `req`, using the first mechanism its capabilities allow.
 * A limit of 0 with a profile pauses in place (the car stays in its transaction); without a profile
 * it stops the transaction, to be resumed later with RemoteStartTransaction (`req.resume`).
 */
export function planActuation(caps: Capabilities, req: LimitRequest): ActuationPlan {
  const running = req.transactionId !== undefined;
  const pause = req.currentA <= 0;
  for (const m of caps.mechanisms) {
    if (m === 'chargingProfile') {
      if (running && caps.txProfile !== 'no') {
        return {
          mechanism: m,
          commands: [
            {
              action: 'SetChargingProfile',
              payload: {
                connectorId: req.connectorId,
                csChargingProfiles: limitProfile(caps, req, 'TxProfile', false),
              },
            },
          ],
        };
      }
      if (!running && req.resume && !pause && caps.txProfile !== 'no' && caps.remoteStartStop !== 'no') {
        // §5.11 / §5.16.2: the limit rides along with the start, as a TxProfile without transactionId.
        return {
          mechanism: m,
          commands: [
            {
              action: 'RemoteStartTransaction',
              payload: {
                connectorId: req.connectorId,
                idTag: req.resume.idTag,
                chargingProfile: limitProfile(caps, req, 'TxProfile', true),
              },
            },
          ],
        };
      }
      if (!running && req.standing && caps.txProfile !== 'no') {
        return {
          mechanism: m,
          commands: [
            {
              action: 'SetChargingProfile',
              payload: {
                connectorId: req.connectorId,
                csChargingProfiles: limitProfile(caps, req, 'TxDefaultProfile', false),
              },
            },
          ],
        };
      }
      if (caps.chargePointMaxProfile !== 'no') {
        // §3.13.1: ChargePointMaxProfile sits on connector 0 and caps the whole (one-connector) charger.
        return {
          mechanism: m,
          commands: [
            {
              action: 'SetChargingProfile',
              payload: { connectorId: 0, csChargingProfiles: limitProfile(caps, req, 'ChargePointMaxProfile', false) },
            },
          ],
        };
      }
      continue;
    }
    if (m === 'configKey' && caps.currentKey !== undefined) {
      // A key of 0 A pauses in place (below 6 A there is no PWM signal to charge on, IEC 61851-1):
      // the transaction stays. A charger that refuses 0 moves on to the next mechanism.
      // Whole amperes: a vendor key is an integer on the chargers we know; rounding down keeps the limit.
      const commands: OcppCommand[] = [
        { action: 'ChangeConfiguration', payload: { key: caps.currentKey, value: String(Math.floor(req.currentA)) } },
      ];
      if (!running && req.resume && !pause && caps.remoteStartStop !== 'no')
        commands.push({
          action: 'RemoteStartTransaction',
          payload: { connectorId: req.connectorId, idTag: req.resume.idTag },
        });
      return { mechanism: m, commands };
    }
    if (m === 'onOff') {
      if (pause && running)
        return {
          mechanism: m,
          commands: [{ action: 'RemoteStopTransaction', payload: { transactionId: req.transactionId! } }],
        };
      if (!pause && !running && req.resume)
        return {
          mechanism: m,
          commands: [
            { action: 'RemoteStartTransaction', payload: { connectorId: req.connectorId, idTag: req.resume.idTag } },
          ],
          note: 'on/off only: the charger runs at its own maximum',
        };
      return {
        mechanism: m,
        commands: [],
        note: pause ? 'nothing is charging' : 'on/off only: the charger runs at its own maximum',
      };
    }
  }
  return { mechanism: 'none', commands: [], note: 'no usable mechanism: the charger cannot be limited' };
}
