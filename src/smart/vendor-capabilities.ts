// What each charger model really supports for smart charging, as DATA (docs/architecture.md, "Vendor knowledge is data").
// Sources: docs/chargers.md and the vendor documents in seeds/. Nothing outside this table may
// branch on a vendor; actuation.ts reads these entries through deriveCapabilities().

/** The ways Ampere can make a charger follow a current limit, in the default order of preference. */
export type LimitMechanism = 'chargingProfile' | 'configKey' | 'onOff';

export interface VendorCapabilityEntry {
  /** Also the simulator's profile name, where there is one. */
  name: string;
  /** Case-insensitive substrings of BootNotification chargePointVendor. */
  vendors: readonly string[];
  /** Case-insensitive prefixes of chargePointModel; absent = every model of the vendor. */
  models?: readonly string[];
  /** Actions the model has but must not be used, or does not have at all. */
  unusableActions: readonly string[];
  /** A configuration key that sets the current limit live (A, per phase). */
  currentKey?: string;
  /** SetChargingProfile with numberPhases = 1 switches the charger to one phase. */
  phaseSwitching?: boolean;
  /** The model takes only whole amperes in its charging profiles. */
  wholeAmperes?: boolean;
  /** Overrides the default order of mechanisms. */
  preferredMechanisms?: readonly LimitMechanism[];
  /** Keys the model spells its own way: standard name → the model's name. */
  keyAliases?: Readonly<Record<string, string>>;
  /** Why, for the operator (shown with the capability). */
  notes: readonly string[];
}

export const VENDOR_CAPABILITIES: readonly VendorCapabilityEntry[] = [
  {
    name: 'eaton-green-motion',
    vendors: ['GreenMotion', 'Green Motion', 'Eaton'],
    // Eaton marks these "L": present but "must not be used yet".
    unusableActions: [
      'SetChargingProfile',
      'ClearChargingProfile',
      'GetCompositeSchedule',
      'ClearCache',
      'GetLocalListVersion',
      'SendLocalList',
    ],
    notes: [
      'Smart Charging messages are marked limited (must not be used yet) by Eaton',
      'SupportedFeatureProfiles still lists SmartCharging: not trusted for this model',
      'Load-balancing keys (LoadBalancing*, GridMaxCurrentPerPhase) mostly need a reboot: not used for live limits',
    ],
  },
  {
    name: 'go-e',
    vendors: ['go-e', 'goe', 'go-eCharger'],
    unusableActions: [
      'ChangeAvailability',
      'ClearCache',
      'DataTransfer',
      'GetDiagnostics',
      'GetLocalListVersion',
      'SendLocalList',
      'CancelReservation',
      'ReserveNow',
      'GetCompositeSchedule',
    ],
    phaseSwitching: true,
    notes: ['SetChargingProfile supported, including numberPhases = 1 for 3→1 phase switching'],
  },
  {
    name: 'weidmueller-ac-smart',
    vendors: ['Weidmüller', 'Weidmueller', 'Weidmuller'],
    unusableActions: ['TriggerMessage', 'ClearCache', 'DataTransfer', 'GetLocalListVersion', 'SendLocalList'],
    currentKey: 'ConnectorMaximumCurrent',
    // The vendor documents ConnectorMaximumCurrent as its current limit; profiles stay a fallback.
    preferredMechanisms: ['configKey', 'chargingProfile', 'onOff'],
    keyAliases: { ChargingScheduleAllowedChargingRateUnit: 'ChargeScheduleAllowedChargingRateUnit' },
    notes: ['Current limit through the vendor key ConnectorMaximumCurrent'],
  },
];

/** The table entry for a BootNotification vendor/model, if any. */
export function findVendorEntry(
  vendor: string | undefined,
  model: string | undefined,
  table: readonly VendorCapabilityEntry[] = VENDOR_CAPABILITIES,
): VendorCapabilityEntry | undefined {
  if (vendor === undefined) return undefined;
  const v = vendor.toLowerCase();
  const m = (model ?? '').toLowerCase();
  return table.find(
    (e) =>
      e.vendors.some((x) => v.includes(x.toLowerCase())) &&
      (e.models === undefined || e.models.some((x) => m.startsWith(x.toLowerCase()))),
  );
}
