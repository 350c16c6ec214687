// OCPP-J 1.6 CALLERROR codes (OCPP-J 1.6 §4.2.3), spelled as the spec spells them, including
// "OccurenceConstraintViolation" with one "r".

export const OCPP_ERROR_CODES = [
  'NotImplemented',
  'NotSupported',
  'InternalError',
  'ProtocolError',
  'SecurityError',
  'FormationViolation',
  'PropertyConstraintViolation',
  'OccurenceConstraintViolation',
  'TypeConstraintViolation',
  'GenericError',
] as const;

export type OcppErrorCode = (typeof OCPP_ERROR_CODES)[number];

export function isOcppErrorCode(v: unknown): v is OcppErrorCode {
  return typeof v === 'string' && (OCPP_ERROR_CODES as readonly string[]).includes(v);
}

/** An error that becomes (or came from) a CALLERROR. Throw it from a handler to answer with `code`. */
export class OcppError extends Error {
  readonly code: OcppErrorCode;
  readonly details: Record<string, unknown>;
  /** The uniqueId to echo when the error concerns a frame whose CALL could not be fully read. */
  readonly uniqueId: string | undefined;

  constructor(code: OcppErrorCode, message: string, details: Record<string, unknown> = {}, uniqueId?: string) {
    super(message);
    this.name = 'OcppError';
    this.code = code;
    this.details = details;
    this.uniqueId = uniqueId;
  }
}

/**
 * Which CALLERROR code a failed JSON-schema keyword means. The 1.6 codes are defined in
 * OCPP-J 1.6 §4.2.3: a missing field is an occurrence problem, a wrong JSON type a type problem,
 * a value outside its enum/length/format a property problem, a field the PDU does not have is a
 * formation problem.
 */
export function errorCodeForKeyword(keyword: string): OcppErrorCode {
  switch (keyword) {
    case 'required':
      return 'OccurenceConstraintViolation';
    case 'type':
      return 'TypeConstraintViolation';
    case 'additionalProperties':
      return 'FormationViolation';
    default:
      // enum, maxLength, format, multipleOf, minItems, …
      return 'PropertyConstraintViolation';
  }
}
