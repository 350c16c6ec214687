// Weidmüller AC SMART VALUE / ADVANCED (seed 003, chargers.md).
//
// It sends only Authorize, BootNotification, Heartbeat, MeterValues, StartTransaction,
// StopTransaction and StatusNotification: an UpdateFirmware or GetDiagnostics is carried out, but no
// FirmwareStatusNotification / DiagnosticsStatusNotification follows. It does not receive
// TriggerMessage, ClearCache, DataTransfer or the local list messages: those get a CALLERROR
// NotImplemented (OCPP-J §4.2.3). The vendor key ConnectorMaximumCurrent limits the current on top
// of smart charging. Note the manual's spelling ChargeScheduleAllowedChargingRateUnit (sic).
import type { KeyDef, VendorProfile } from '../profile.ts';

const keys: KeyDef[] = [
  { key: 'ConnectionTimeOut', value: '60', type: 'int', min: 1 },
  { key: 'HeartbeatInterval', value: '300', type: 'int', min: 0 },
  { key: 'MeterValueSampleInterval', value: '60', type: 'int', min: 0 },
  { key: 'TransactionMessageAttempts', value: '3', type: 'int', min: 1 },
  { key: 'TransactionMessageRetryInterval', value: '60', type: 'int', min: 0 },
  { key: 'ConnectorMaximumCurrent', value: '32', type: 'int', min: 0, max: 32 },
  { key: 'WebSocketPingInterval', value: '0', type: 'int', min: 0 },
  { key: 'NumberOfConnectors', value: '1', type: 'int', readonly: true },
  { key: 'GetConfigurationMaxKeys', value: '20', type: 'int', readonly: true },
  {
    key: 'MeterValuesSampledData',
    value: 'Energy.Active.Import.Register,Power.Active.Import,Current.Import',
    type: 'csl',
    readonly: true,
  },
  { key: 'ConnectorPhaseRotation', value: 'NotApplicable', type: 'string', readonly: true },
  { key: 'ChargeProfileMaxStackLevel', value: '5', type: 'int', readonly: true },
  { key: 'ChargeScheduleAllowedChargingRateUnit', value: 'Current', type: 'csl', readonly: true },
  { key: 'ChargingScheduleMaxPeriods', value: '24', type: 'int', readonly: true },
  { key: 'ConnectorSwitch3to1PhaseSupported', value: 'false', type: 'bool', readonly: true },
  { key: 'MaxChargingProfilesInstalled', value: '5', type: 'int', readonly: true },
];

export const weidmuellerAcSmart: VendorProfile = {
  name: 'weidmueller-ac-smart',
  description: 'Weidmüller AC SMART VALUE/ADVANCED, 1 connector, 3 x 32 A; no TriggerMessage, no local list',
  chargePointVendor: 'Weidmueller',
  chargePointModel: 'AC SMART ADVANCED',
  firmwareVersion: '1.9.0',
  defaultPath: '/ocpp',
  defaultIdPrefix: 'ACS',
  connectors: 1,
  phases: 3,
  maxCurrentA: 32,
  voltage: 230,
  securityProfiles: [0, 1, 2],
  sends: [
    'Authorize',
    'BootNotification',
    'Heartbeat',
    'MeterValues',
    'StartTransaction',
    'StopTransaction',
    'StatusNotification',
  ],
  receives: [
    'CancelReservation',
    'ChangeAvailability',
    'ChangeConfiguration',
    'ClearChargingProfile',
    'GetCompositeSchedule',
    'GetConfiguration',
    'GetDiagnostics',
    'RemoteStartTransaction',
    'RemoteStopTransaction',
    'ReserveNow',
    'Reset',
    'SetChargingProfile',
    'UnlockConnector',
    'UpdateFirmware',
  ],
  refusals: {},
  defaultRefusal: { callError: 'NotImplemented' },
  triggerable: [],
  keys,
  roles: { maxCurrentKey: 'ConnectorMaximumCurrent' },
  phaseSwitching: false,
  backoff: { minS: 10, randomS: 10, repeat: 5, fixedS: 60 },
  bootOnReconnect: false,
};
