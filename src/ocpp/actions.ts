// Who sends which message (OCPP 1.6 §4 and §5; security whitepaper §4 for the extension messages).
import type { Action } from './types.generated.ts';

/** Core-spec messages a charger sends and a central system answers (OCPP 1.6 §4). */
export const CHARGER_CORE_ACTIONS = [
  'Authorize',
  'BootNotification',
  'DataTransfer',
  'DiagnosticsStatusNotification',
  'FirmwareStatusNotification',
  'Heartbeat',
  'MeterValues',
  'StartTransaction',
  'StatusNotification',
  'StopTransaction',
] as const satisfies readonly Action[];

/** Messages a charger sends and a central system answers, security extension included. */
export const CHARGER_ACTIONS = [
  ...CHARGER_CORE_ACTIONS,
  'LogStatusNotification',
  'SecurityEventNotification',
  'SignCertificate',
  'SignedFirmwareStatusNotification',
] as const satisfies readonly Action[];

/** Core-spec messages a central system sends and a charger answers (OCPP 1.6 §5; DataTransfer goes both ways). */
export const CENTRAL_CORE_ACTIONS = [
  'CancelReservation',
  'ChangeAvailability',
  'ChangeConfiguration',
  'ClearCache',
  'ClearChargingProfile',
  'DataTransfer',
  'GetCompositeSchedule',
  'GetConfiguration',
  'GetDiagnostics',
  'GetLocalListVersion',
  'RemoteStartTransaction',
  'RemoteStopTransaction',
  'ReserveNow',
  'Reset',
  'SendLocalList',
  'SetChargingProfile',
  'TriggerMessage',
  'UnlockConnector',
  'UpdateFirmware',
] as const satisfies readonly Action[];

/** Messages a central system sends and a charger answers, security extension included. */
export const CENTRAL_ACTIONS = [
  ...CENTRAL_CORE_ACTIONS,
  'CertificateSigned',
  'DeleteCertificate',
  'ExtendedTriggerMessage',
  'GetInstalledCertificateIds',
  'GetLog',
  'InstallCertificate',
  'SignedUpdateFirmware',
] as const satisfies readonly Action[];

export type ChargerAction = (typeof CHARGER_ACTIONS)[number];
export type CentralAction = (typeof CENTRAL_ACTIONS)[number];
