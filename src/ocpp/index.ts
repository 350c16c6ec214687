// The public surface of the protocol core.

export {
  CENTRAL_ACTIONS,
  CENTRAL_CORE_ACTIONS,
  type CentralAction,
  CHARGER_ACTIONS,
  CHARGER_CORE_ACTIONS,
  type ChargerAction,
} from './actions.ts';
export { type CertificateHashData, certificateHashData, normalSerial, sameCertificate } from './certificates.ts';
export { errorCodeForKeyword, isOcppErrorCode, OCPP_ERROR_CODES, OcppError, type OcppErrorCode } from './errors.ts';
export {
  CALL,
  CALLERROR,
  CALLRESULT,
  type CallErrorFrame,
  type CallFrame,
  type CallResultFrame,
  type Frame,
  FrameError,
  jsonDepth,
  MAX_JSON_DEPTH,
  MAX_UNIQUE_ID_LENGTH,
  parseFrame,
  serializeCall,
  serializeCallError,
  serializeCallResult,
  withoutNulls,
} from './frame.ts';
export {
  type CallHandler,
  type IncomingCall,
  RpcSession,
  type RpcSessionOptions,
  realTimers,
  type SessionLogger,
  type Timers,
} from './session.ts';
export { formatTimestamp } from './time.ts';
export * from './types.generated.ts';
export {
  type Finding,
  isAction,
  type JsonSchema,
  loadSchemas,
  type ValidationMode,
  type ValidationResult,
  Validator,
} from './validate.ts';
export { attachWebSocket, OCPP16_SUBPROTOCOL } from './ws.ts';

import type { ActionMap } from './types.generated.ts';
import { Validator } from './validate.ts';

export type RequestOf<A extends keyof ActionMap> = ActionMap[A]['request'];
export type ResponseOf<A extends keyof ActionMap> = ActionMap[A]['response'];

/** Compiles the 78 schemas once; share the result across sessions. */
export function createValidator(): Validator {
  return new Validator();
}
