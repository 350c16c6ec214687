// go-eCharger (seed 001, chargers.md): Core, FirmwareManagement, SmartCharging (with numberPhases
// = 1 phase switching), RemoteTrigger; no LocalAuthListManagement, no Reservation.
//
// Unsupported messages (ChangeAvailability, ClearCache, DataTransfer, GetDiagnostics,
// GetLocalListVersion, SendLocalList, CancelReservation, ReserveNow, GetCompositeSchedule) are not
// implemented in its firmware at all, so they get a CALLERROR NotImplemented (OCPP-J §4.2.3:
// "Requested Action is not known by receiver"). It never sends DataTransfer or
// DiagnosticsStatusNotification. MeterValuesSampledData is read-only: ChangeConfiguration answers
// Rejected (OCPP 1.6 §5.3), which platforms such as ev.energy must cope with. Keys the manual does
// not list are unknown (GetConfiguration unknownKey, ChangeConfiguration NotSupported).
// OCPP is switched on and pointed at a server through the local HTTP API (goe-http-api.ts).
import type { VendorProfile } from '../profile.ts';
import { standardKeys } from './common.ts';

const RW = new Set([
  'AllowOfflineTxForUnknownId',
  'ClockAlignedDataInterval',
  'HeartbeatInterval',
  'LightIntensity',
  'LocalAuthorizeOffline',
  'MeterValueSampleInterval',
  'UnlockConnectorOnEVSideDisconnect',
  'WebSocketPingInterval',
  'LocalAuthListEnabled',
]);
const R = new Set([
  'AuthorizeRemoteTxRequests',
  'ConnectorPhaseRotation',
  'ConnectorPhaseRotationMaxLength',
  'GetConfigurationMaxKeys',
  'MeterValuesSampledData',
  'MeterValuesSampledDataMaxLength',
  'NumberOfConnectors',
  'SupportedFeatureProfiles',
  'SupportedFeatureProfilesMaxLength',
  'ChargeProfileMaxStackLevel',
  'ChargingScheduleAllowedChargingRateUnit',
  'ChargingScheduleMaxPeriods',
  'ConnectorSwitch3to1PhaseSupported',
  'MaxChargingProfilesInstalled',
]);

const base = standardKeys({ connectors: 1, profiles: 'Core,FirmwareManagement,SmartCharging,RemoteTrigger' });
const extra = [
  { key: 'LightIntensity', value: '100', type: 'int' as const },
  { key: 'ConnectorPhaseRotationMaxLength', value: '1', type: 'int' as const },
  { key: 'SupportedFeatureProfilesMaxLength', value: '4', type: 'int' as const },
];

export const goE: VendorProfile = {
  name: 'go-e',
  description: 'go-eCharger (HOME/Gemini), 1 connector, 3 x 16 A, 1/3-phase switching; local HTTP API',
  chargePointVendor: 'go-e',
  chargePointModel: 'go-eCharger',
  firmwareVersion: '055.7',
  defaultPath: '/ocpp',
  defaultIdPrefix: 'GOE',
  defaultId: '201564',
  connectors: 1,
  phases: 3,
  maxCurrentA: 16,
  voltage: 230,
  securityProfiles: [0, 1, 2],
  sends: [
    'Authorize',
    'BootNotification',
    'Heartbeat',
    'MeterValues',
    'StartTransaction',
    'StatusNotification',
    'StopTransaction',
    'FirmwareStatusNotification',
  ],
  receives: [
    'ChangeConfiguration',
    'GetConfiguration',
    'RemoteStartTransaction',
    'RemoteStopTransaction',
    'Reset',
    'UnlockConnector',
    'UpdateFirmware',
    'ClearChargingProfile',
    'SetChargingProfile',
    'TriggerMessage',
  ],
  refusals: {},
  defaultRefusal: { callError: 'NotImplemented' },
  triggerable: ['BootNotification', 'Heartbeat', 'MeterValues', 'StatusNotification', 'FirmwareStatusNotification'],
  keys: [...base, ...extra]
    .filter((k) => RW.has(k.key) || R.has(k.key))
    .map((k) => {
      const readonly = R.has(k.key);
      const d = { ...k, readonly };
      if (k.key === 'ConnectorSwitch3to1PhaseSupported') d.value = 'true';
      if (k.key === 'MeterValuesSampledData')
        d.value = 'Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage';
      return d;
    }),
  phaseSwitching: true,
  backoff: { minS: 5, randomS: 5, repeat: 10, fixedS: 30 },
  bootOnReconnect: false,
  httpApi: 'go-e',
};
