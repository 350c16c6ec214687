// Building blocks shared by the vendor profiles: the OCPP 1.6 message sets and standard keys.
import { type Action, CENTRAL_CORE_ACTIONS, CHARGER_CORE_ACTIONS } from '../../ocpp/index.ts';
import type { KeyDef } from '../profile.ts';

/** Every CALL a 1.6 charge point can send (OCPP 1.6 §4). */
export const ALL_SENT: Action[] = [...CHARGER_CORE_ACTIONS];

/** Every CALL a 1.6 central system can send (OCPP 1.6 §5). */
export const ALL_RECEIVED: Action[] = [...CENTRAL_CORE_ACTIONS];

/** The security extension's certificate management (whitepaper §3): what a charger with it handles. */
export const CERTIFICATE_RECEIVED: Action[] = [
  'CertificateSigned',
  'DeleteCertificate',
  'ExtendedTriggerMessage',
  'GetInstalledCertificateIds',
  'InstallCertificate',
];

export const ALL_TRIGGERABLE = [
  'BootNotification',
  'DiagnosticsStatusNotification',
  'FirmwareStatusNotification',
  'Heartbeat',
  'MeterValues',
  'StatusNotification',
];

const rw = (key: string, value: string, type: KeyDef['type'], extra: Partial<KeyDef> = {}): KeyDef => ({
  key,
  value,
  type,
  ...extra,
});
const ro = (key: string, value: string, type: KeyDef['type']): KeyDef => ({ key, value, type, readonly: true });

/** The standard keys of OCPP 1.6 §9 with sensible defaults. */
export function standardKeys(o: { connectors: number; profiles: string; maxStack?: number }): KeyDef[] {
  return [
    rw('AllowOfflineTxForUnknownId', 'false', 'bool'),
    rw('AuthorizationCacheEnabled', 'false', 'bool'),
    rw('AuthorizeRemoteTxRequests', 'false', 'bool'),
    rw('ClockAlignedDataInterval', '0', 'int', { min: 0 }),
    rw('ConnectionTimeOut', '60', 'int', { min: 1 }),
    rw('ConnectorPhaseRotation', '0.RST', 'csl'),
    ro('GetConfigurationMaxKeys', '100', 'int'),
    rw('HeartbeatInterval', '300', 'int', { min: 0 }),
    rw('LocalAuthorizeOffline', 'true', 'bool'),
    rw('LocalPreAuthorize', 'false', 'bool'),
    rw('MeterValuesAlignedData', 'Energy.Active.Import.Register', 'csl'),
    ro('MeterValuesAlignedDataMaxLength', '8', 'int'),
    rw('MeterValuesSampledData', 'Energy.Active.Import.Register,Power.Active.Import', 'csl'),
    ro('MeterValuesSampledDataMaxLength', '8', 'int'),
    rw('MeterValueSampleInterval', '60', 'int', { min: 0 }),
    ro('NumberOfConnectors', String(o.connectors), 'int'),
    rw('ResetRetries', '3', 'int'),
    rw('StopTransactionOnEVSideDisconnect', 'true', 'bool'),
    rw('StopTransactionOnInvalidId', 'true', 'bool'),
    rw('StopTxnAlignedData', '', 'csl'),
    ro('StopTxnAlignedDataMaxLength', '8', 'int'),
    rw('StopTxnSampledData', '', 'csl'),
    ro('StopTxnSampledDataMaxLength', '100', 'int'),
    ro('SupportedFeatureProfiles', o.profiles, 'csl'),
    rw('TransactionMessageAttempts', '3', 'int', { min: 1 }),
    rw('TransactionMessageRetryInterval', '60', 'int', { min: 0 }),
    rw('UnlockConnectorOnEVSideDisconnect', 'true', 'bool'),
    rw('WebSocketPingInterval', '0', 'int', { min: 0 }),
    rw('LocalAuthListEnabled', 'true', 'bool'),
    ro('LocalAuthListMaxLength', '1000', 'int'),
    ro('SendLocalListMaxLength', '1000', 'int'),
    ro('LocalListVersion', '0', 'int'),
    ro('ReserveConnectorZeroSupported', 'false', 'bool'),
    ro('ChargeProfileMaxStackLevel', String(o.maxStack ?? 10), 'int'),
    ro('ChargingScheduleAllowedChargingRateUnit', 'Current,Power', 'csl'),
    ro('ChargingScheduleMaxPeriods', '24', 'int'),
    ro('ConnectorSwitch3to1PhaseSupported', 'false', 'bool'),
    ro('MaxChargingProfilesInstalled', '10', 'int'),
  ];
}

export { ro, rw };
