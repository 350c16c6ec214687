// Eaton Green Motion AC, from its OCPP 1.6J implementation notes (seed 000, chargers.md).
//
// Unsupported messages: the manual marks ClearCache, GetLocalListVersion, SendLocalList,
// SetChargingProfile, ClearChargingProfile and GetCompositeSchedule "L" (present, must not be used
// yet). Being present, they are answered inside the protocol with each message's own refusal value
// (ClearCache Rejected, GetLocalListVersion -1 = "not supported" per OCPP 1.6 §5.10, SendLocalList
// and SetChargingProfile NotSupported, ClearChargingProfile Unknown, GetCompositeSchedule Rejected),
// while SupportedFeatureProfiles still claims all six profiles, as the real one does.
// CALLs outside 1.6 (security extension) get a CALLERROR NotImplemented (OCPP-J §4.2.3).
//
// Assumptions where the manual is silent: "most keys take effect only after a reboot" is modelled
// as RebootRequired on the behavioural and vendor keys, while the metering and heartbeat keys apply
// at once; after RetryRepeatTimes the fixed reconnect interval is WaitMinimum + RandomRange (16 s).
import type { KeyDef, VendorProfile } from '../profile.ts';
import { ALL_SENT, ALL_TRIGGERABLE, ro } from './common.ts';

const k = (
  key: string,
  value: string,
  type: KeyDef['type'],
  access: 'R' | 'RW',
  impl = true,
  reboot = false,
): KeyDef => {
  const d: KeyDef = { key, value, type };
  if (access === 'R') d.readonly = true;
  if (!impl) d.implemented = false;
  if (reboot && access === 'RW') d.rebootRequired = true;
  return d;
};

const SIX = 'Core,FirmwareManagement,LocalAuthListManagement,Reservation,RemoteTrigger,SmartCharging';
const DATA_TRANSFER_IDS = [
  'ChargeError',
  'ChargeLogs',
  'ChargePhase',
  'ChargeStopError',
  'ConvDerating',
  'ConvFault',
  'ConvFwVersion',
  'ConvMeasures',
  'ConvStatus',
  'EVSEStatus',
  'MachineMismatch',
  'MeasFlagTemp0',
  'MeasFlagTemp1',
  'MeasFlagTemp2',
  'PlugType',
  'RemoteShutOff',
  'StopSource',
];

const AC_DATA_TRANSFER_IDS = ['ChargeStopError', 'MachineMismatch', 'PlugType', 'RemoteShutOff', 'StopSource'];

const keys: KeyDef[] = [
  // Standard keys (manual table 4): default, type, access, implemented.
  k('AllowOfflineTxForUnknownId', 'false', 'bool', 'RW', true, true),
  k('AuthorizationCacheEnabled', '', 'bool', 'RW', false),
  k('AuthorizeRemoteTxRequests', 'false', 'bool', 'R'),
  k('BlinkRepeat', '', 'int', 'RW', false),
  k('ClockAlignedDataInterval', '0', 'int', 'RW'),
  k('ConnectionTimeOut', '120', 'int', 'RW', true, true),
  k('ConnectorPhaseRotation', '', 'string', 'RW', true, true),
  k('ConnectorPhaseRotationMaxLength', '', 'int', 'R', false),
  k('GetConfigurationMaxKeys', '0', 'int', 'R'),
  k('HeartbeatInterval', '600', 'int', 'RW'),
  k('LightIntensity', '66', 'int', 'RW', true, true),
  k('LocalAuthorizeOffline', 'true', 'bool', 'RW', true, true),
  k('LocalPreAuthorize', 'false', 'bool', 'RW', true, true),
  k('MaxEnergyOnInvalidId', '', 'int', 'RW', false),
  k('MeterValuesAlignedData', '', 'csl', 'RW'),
  k('MeterValuesAlignedDataMaxLength', '', 'int', 'R', false),
  k('MeterValuesSampledData', 'Energy.Active.Import.Register', 'csl', 'RW'),
  k('MeterValuesSampledDataMaxLength', '', 'int', 'R', false),
  k('MeterValueSampleInterval', '10', 'int', 'RW'),
  k('MinimumStatusDuration', '', 'int', 'RW', false),
  k('NumberOfConnectors', '1', 'int', 'R'),
  k('ResetRetries', '', 'int', 'RW', false),
  k('StopTransactionOnEVSideDisconnect', 'true', 'bool', 'RW', true, true),
  k('StopTransactionOnInvalidId', '', 'bool', 'RW', false),
  k('StopTxnAlignedData', '', 'csl', 'RW'),
  k('StopTxnAlignedDataMaxLength', '50', 'int', 'R'),
  k('StopTxnSampledData', 'Energy.Active.Import.Register', 'csl', 'RW'),
  k('StopTxnSampledDataMaxLength', '100', 'int', 'R'),
  k('SupportedFeatureProfiles', SIX, 'csl', 'R'),
  k('SupportedFeatureProfilesMaxLength', '', 'int', 'R', false),
  k('TransactionMessageAttempts', '5', 'int', 'RW', true, true),
  k('TransactionMessageRetryInterval', '5', 'int', 'RW', true, true),
  k('UnlockConnectorOnEVSideDisconnect', 'true', 'bool', 'RW', true, true),
  k('WebSocketPingInterval', '0', 'int', 'RW', true, true),
  k('LocalAuthListEnabled', '', 'bool', 'RW', false),
  k('LocalAuthListMaxLength', '', 'int', 'R', false),
  k('SendLocalListMaxLength', '', 'int', 'R', false),
  k('ReserveConnectorZeroSupported', 'false', 'bool', 'R'),
  k('ChargeProfileMaxStackLevel', '', 'int', 'R', false),
  k('ChargingScheduleAllowedChargingRateUnit', '', 'string', 'R', false),
  k('ChargingScheduleMaxPeriods', '', 'int', 'R', false),
  k('ConnectorSwitch3to1PhaseSupported', '', 'bool', 'R', false),
  k('MaxChargingProfilesInstalled', '3', 'int', 'R'),
  // Vendor keys (manual 4.2).
  k('BoxId', '14452', 'int', 'RW', true, true),
  k('BoxName', '', 'string', 'RW'),
  k('CsMode', '1', 'int', 'RW', true, true),
  k('CurrentLocale', 'en', 'string', 'RW'),
  k(
    'EnabledDataTransfer',
    DATA_TRANSFER_IDS.filter((id) => !['ChargeStopError', 'MachineMismatch'].includes(id)).join(','),
    'csl',
    'RW',
  ),
  k('EnergyMeterType', 'None', 'string', 'R'),
  k('EnergyMeterEVReady', 'false', 'bool', 'RW', true, true),
  k('Endpoint', 'wss://localhost/ocppj/v1.6/14452', 'string', 'RW', true, true),
  k('EVSES', '[{"id":1,"maxPower":11000}]', 'string', 'R'),
  k('HWatchdog', '1', 'int', 'RW', true, true),
  k('LogLevelAppService', '0', 'int', 'RW'),
  k('LogLevelAuth', '0', 'int', 'RW'),
  k('LogLevelCan', '0', 'int', 'RW'),
  k('MasterSerial', '11111111', 'string', 'RW'),
  k('SerialNumber', 'TH00M00000', 'string', 'R'),
  k('VendorId', 'GreenMotion', 'string', 'R'),
  k('Version', 'ocpp1.6', 'string', 'R'),
  k('LoadBalancingAlgo', 'SUSPENDABLE', 'string', 'RW', true, true),
  k('LoadBalancingChargerPrivilege', 'AC05', 'string', 'RW', true, true),
  k('LoadBalancingEnabled', 'false', 'bool', 'RW', true, true),
  k('LoadBalancingEnergyMeterEnabled', 'false', 'bool', 'RW', true, true),
  k('LoadBalancingEnergyMeterIP', '', 'string', 'RW', true, true),
  k('LoadBalancingEnergyMeterType', 'Janitza', 'string', 'RW', true, true),
  k('LoadBalancingFallbackCurrent', '6', 'int', 'RW', true, true),
  k('LoadBalancingMasterURI', 'wss://eatongm:8443/14452', 'string', 'RW', true, true),
  k('LoadBalancingMaxBuilding', '0', 'int', 'RW', true, true),
  k('LoadBalancingMaxCluster', '0', 'int', 'RW', true, true),
  k('LoadBalancingMinCluster', '0', 'int', 'RW', true, true),
  k('LoadBalancingMode', 'Slave', 'string', 'RW', true, true),
  k('LoadBalancingPhaseBalBound', '16', 'int', 'RW', true, true),
  k('LoadBalancingPhaseBalTrigger', 'true', 'bool', 'RW', true, true),
  k('LoadBalancingStartCurrent', '0', 'int', 'RW', true, true),
  ro('LocalListVersion', '0', 'int'),
  k('GridMaxCurrentPerPhase', '16', 'int', 'RW', true, true),
  k('GridMaxPower', '11000', 'int', 'RW', true, true),
  k('GridPhaseConnection', '[1,2,3]', 'string', 'RW', true, true),
  k('GridVoltage', '230', 'int', 'RW', true, true),
  k('MaxCurrentLimit', '16', 'int', 'RW', true, true),
  k('MaxPowerLimit', '11000', 'int', 'RW', true, true),
  k('MaxVoltageLimit', '253', 'int', 'RW', true, true),
  k('ModelId', 'GMAC11', 'string', 'R'),
  k('ProtocolMode', 'ocpp', 'string', 'RW', true, true),
  k('RetryBackoffRandomRange', '6', 'int', 'RW', true, true),
  k('RetryRepeatTimes', '9', 'int', 'RW', true, true),
  k('RetryBackoffWaitMinimum', '10', 'int', 'RW', true, true),
  k('RfidType', '4', 'int', 'RW', true, true),
  k('ServerMode', 'offline', 'string', 'RW', true, true),
  k('TamperDetectionEnabled', 'false', 'bool', 'RW', true, true),
  k('WebServiceCors', '*', 'string', 'R'),
  k('WebServicePort', '8081', 'int', 'R'),
];

export const eatonGreenMotion: VendorProfile = {
  name: 'eaton-green-motion',
  description: 'Eaton Green Motion AC, 1 connector, 3 x 16 A; L-marked messages answered as not supported',
  chargePointVendor: 'GreenMotion',
  chargePointModel: 'GMAC11',
  firmwareVersion: '4.3.2',
  defaultPath: '/ocppj/v1.6',
  defaultIdPrefix: 'GM',
  defaultId: '14452',
  connectors: 1,
  phases: 3,
  maxCurrentA: 16,
  voltage: 230,
  securityProfiles: [0, 1, 2],
  sends: ALL_SENT,
  receives: [
    'ChangeAvailability',
    'ChangeConfiguration',
    'DataTransfer',
    'GetConfiguration',
    'RemoteStartTransaction',
    'RemoteStopTransaction',
    'Reset',
    'UnlockConnector',
    'GetDiagnostics',
    'UpdateFirmware',
    'CancelReservation',
    'ReserveNow',
    'TriggerMessage',
  ],
  refusals: {
    ClearCache: { respond: { status: 'Rejected' } },
    GetLocalListVersion: { respond: { listVersion: -1 } },
    SendLocalList: { respond: { status: 'NotSupported' } },
    SetChargingProfile: { respond: { status: 'NotSupported' } },
    ClearChargingProfile: { respond: { status: 'Unknown' } },
    GetCompositeSchedule: { respond: { status: 'Rejected' } },
  },
  defaultRefusal: { callError: 'NotImplemented' },
  triggerable: ALL_TRIGGERABLE,
  keys,
  actionKeys: {
    FactoryReset: 'Inactive',
    NetworkConfig:
      '[{"link":"eth1","enabled":true,"dhcp":"server","routing":"no","ip":"192.168.51.2","mask":"255.255.255.0","bridge":false}]',
    NetworkStatus:
      '[{"link":"wlan0","state":"connected","ipv4":"192.168.53.1","mask":"255.255.255.0","mac":"00:06:67:08:21:AA","enabled":true,"rx-quality":0,"rx-level":0,"rx-noise":0}]',
    RSSI: '-999',
  },
  actionKeyValues: { FactoryReset: ['Active', 'Active-now', 'Inactive'] },
  // An AC box sends only the AC ids; DataTransfer from the CS is checked against EnabledDataTransfer.
  dataTransfer: { vendorId: 'GreenMotion', messageIds: AC_DATA_TRANSFER_IDS, enabledKey: 'EnabledDataTransfer' },
  roles: {
    maxCurrentKey: 'MaxCurrentLimit',
    backoffMinKey: 'RetryBackoffWaitMinimum',
    backoffRandomKey: 'RetryBackoffRandomRange',
    backoffRepeatKey: 'RetryRepeatTimes',
    // CsMode 1 = "Free / Plug&Start": plugging in starts a transaction without a card.
    freeCharging: { key: 'CsMode', value: '1', idTag: 'FREECHARGING' },
  },
  phaseSwitching: false,
  backoff: { minS: 10, randomS: 6, repeat: 9, fixedS: 16 },
  bootOnReconnect: false,
};
