// Which handler answers which charger → central action. An action missing here is answered
// NotSupported by the session (a known action this server does not handle).
import * as core from './core.ts';
import * as firmware from './firmware.ts';
import * as security from './security.ts';

export type { HandlerContext } from './context.ts';

export const HANDLERS = {
  BootNotification: core.bootNotification,
  Heartbeat: core.heartbeat,
  StatusNotification: core.statusNotification,
  Authorize: core.authorize,
  StartTransaction: core.startTransaction,
  StopTransaction: core.stopTransaction,
  MeterValues: core.meterValues,
  DataTransfer: core.dataTransfer,
  DiagnosticsStatusNotification: firmware.diagnosticsStatusNotification,
  FirmwareStatusNotification: firmware.firmwareStatusNotification,
  // Security extension (whitepaper §4-§6)
  SecurityEventNotification: security.securityEventNotification,
  SignCertificate: security.signCertificate,
  LogStatusNotification: security.logStatusNotification,
  SignedFirmwareStatusNotification: security.signedFirmwareStatusNotification,
} as const;
