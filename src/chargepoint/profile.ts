// The shape of a vendor profile: everything that makes one charger model differ from another is
// data of this shape (docs/architecture.md, "Vendor knowledge is data"). Station code reads these fields; it never names a vendor.
import type { Action } from '../ocpp/index.ts';

export type KeyType = 'bool' | 'int' | 'string' | 'csl';

export interface KeyDef {
  key: string;
  value: string;
  type: KeyType;
  readonly?: boolean;
  /** ChangeConfiguration answers RebootRequired; the new value takes effect after the next boot. */
  rebootRequired?: boolean;
  /** Listed in the manual but not implemented: treated like an unknown key. */
  implemented?: boolean;
  /** Lower/upper bounds for int keys (ChangeConfiguration answers Rejected outside them). */
  min?: number;
  max?: number;
}

/** How a profile answers a CALL it does not (fully) support. */
export type Refusal =
  | { callError: 'NotImplemented' | 'NotSupported'; message?: string }
  | { respond: Record<string, unknown> };

export interface VendorProfile {
  name: string;
  description: string;
  chargePointVendor: string;
  chargePointModel: string;
  firmwareVersion: string;
  /** Path used when the --url has none; the charge point id is always appended as the last segment. */
  defaultPath: string;
  defaultIdPrefix: string;
  /** The id a single simulated station uses when none is given (the manual's example). */
  defaultId?: string;
  connectors: number;
  phases: 1 | 3;
  maxCurrentA: number;
  voltage: number;
  securityProfiles: number[];
  /** Actions this charger initiates. A station never sends an action outside this set. */
  sends: Action[];
  /** Central-system actions the charger handles; every other action is refused by `refusals` or `defaultRefusal`. */
  receives: Action[];
  refusals: Partial<Record<Action, Refusal>>;
  defaultRefusal: Refusal;
  /** Messages TriggerMessage may request (OCPP 1.6 §5.17); others answer NotImplemented. */
  triggerable: string[];
  keys: KeyDef[];
  /** Keys GetConfiguration answers only when asked by name (not listed without keys). */
  actionKeys?: Record<string, string>;
  /** ChangeConfiguration on an action key: allowed values. */
  actionKeyValues?: Record<string, string[]>;
  /** Vendor DataTransfer: vendorId, the message ids it knows and the key selecting the enabled ones. */
  dataTransfer?: { vendorId: string; messageIds: string[]; enabledKey?: string };
  /** Config key names with a role in station behaviour (a vendor key may replace a standard one). */
  roles?: {
    /** Current limit in A applied to each connector (e.g. Weidmüller ConnectorMaximumCurrent). */
    maxCurrentKey?: string;
    /** Reconnect backoff keys (Eaton). */
    backoffMinKey?: string;
    backoffRandomKey?: string;
    backoffRepeatKey?: string;
    /** Plug & charge without a card while config `key` equals `value`; transactions use `idTag`. */
    freeCharging?: { key: string; value: string; idTag: string };
  };
  /** Honour numberPhases in charging schedule periods (3 → 1 phase switching). */
  phaseSwitching: boolean;
  /** Backoff defaults (seconds) when the profile has no keys for them. */
  backoff: { minS: number; randomS: number; repeat: number; fixedS: number };
  /** Send BootNotification again after every reconnect, not only after a (re)boot. */
  bootOnReconnect: boolean;
  /** Report every connector's status after a reconnect (default true); false = a quiet charger. */
  statusOnReconnect?: boolean;
  /** Local HTTP API (go-e). */
  httpApi?: 'go-e';
}
