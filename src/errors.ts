// The registry of Ampere's own error codes (docs/architecture.md, "Two error vocabularies"). Every error Ampere throws carries
// one of these codes; where it can reach the operator API it also carries the HTTP status.
// This file is a leaf that every room may import: it imports nothing.
// docs/errors.md documents each code; a test checks the two agree.

export const AMPERE_ERRORS = {
  AMPERE_ERR_BAD_REQUEST: { status: 400, title: 'The request is malformed or fails its schema' },
  AMPERE_ERR_UNAUTHORIZED: { status: 401, title: 'Missing or wrong credentials' },
  AMPERE_ERR_FORBIDDEN: { status: 403, title: 'The credentials do not allow this' },
  AMPERE_ERR_NOT_FOUND: { status: 404, title: 'No such resource' },
  AMPERE_ERR_CONFLICT: { status: 409, title: 'The resource is in a state that does not allow this' },
  AMPERE_ERR_CHARGER_OFFLINE: { status: 409, title: 'The charger is not connected' },
  AMPERE_ERR_SESSION_CLOSED: { status: 409, title: 'The connection closed before the charger answered' },
  AMPERE_ERR_CALL_TIMEOUT: { status: 504, title: 'The charger did not answer in time' },
  AMPERE_ERR_CHARGER_CALLERROR: { status: 502, title: 'The charger answered with a CALLERROR' },
  AMPERE_ERR_CHARGER_BAD_RESPONSE: { status: 502, title: 'The charger answered with a payload that fails its schema' },
  AMPERE_ERR_INVALID_OUTGOING: { status: 400, title: 'A message to a charger fails its schema' },
  AMPERE_ERR_CALL_REFUSED: { status: 409, title: 'OCPP manners forbid this call now' },
  AMPERE_ERR_CONFIG: { status: 500, title: 'Invalid configuration' },
  AMPERE_ERR_STORE: { status: 500, title: 'The store failed' },
  AMPERE_ERR_STORE_INVALID: { status: 400, title: 'The store refused a value (e.g. a time it cannot read)' },
  AMPERE_ERR_STORE_CLOSED: { status: 503, title: 'The store is closed (the server is shutting down)' },
  AMPERE_ERR_UNSUPPORTED_MEDIA_TYPE: {
    status: 415,
    title: 'The request body has a content type this route does not take',
  },
  AMPERE_ERR_PAYLOAD_TOO_LARGE: { status: 413, title: 'The request body is too large' },
  AMPERE_ERR_RATE_LIMITED: { status: 429, title: 'Too many requests' },
  AMPERE_ERR_INTERNAL: { status: 500, title: 'Internal error' },
  AMPERE_ERR_CSRF: { status: 403, title: 'A change through the console session lacks its CSRF token' },
  AMPERE_ERR_UI_NOT_BUILT: { status: 503, title: 'The web console bundle is missing' },
  AMPERE_ERR_DIAGNOSTICS_CREDENTIAL: {
    status: 401,
    title: 'A diagnostics upload credential that is wrong, expired or already used',
  },
  AMPERE_ERR_DIAGNOSTICS_TOO_LARGE: { status: 413, title: 'A diagnostics upload larger than the size limit' },
  AMPERE_ERR_DIAGNOSTICS_TRANSPORT: { status: 409, title: 'The diagnostics upload transport asked for is off' },
  AMPERE_ERR_FIRMWARE_URL_EXPIRED: { status: 403, title: 'The firmware download link has expired' },
  AMPERE_ERR_FIRMWARE_URL_INVALID: { status: 403, title: 'The firmware download link is not one Ampere signed' },
  AMPERE_ERR_FIRMWARE_IN_USE: { status: 409, title: 'The firmware image is used by an open update or rollout' },
  AMPERE_ERR_FIRMWARE_BUSY: { status: 409, title: 'The charger already has a firmware update in progress' },
  AMPERE_ERR_FIRMWARE_SIGNATURE: {
    status: 400,
    title: 'The firmware signature does not verify with its signing certificate',
  },
  AMPERE_ERR_DRAINING: { status: 503, title: 'The server is shutting down and takes no new requests' },
  AMPERE_ERR_NOT_READY: { status: 503, title: 'A readiness check failed (the database does not answer, …)' },
} as const;

export type AmpereErrorCode = keyof typeof AMPERE_ERRORS;

export class AmpereError extends Error {
  readonly code: AmpereErrorCode;
  readonly status: number;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: AmpereErrorCode, message?: string, details?: Record<string, unknown>) {
    super(message ?? AMPERE_ERRORS[code].title);
    this.name = 'AmpereError';
    this.code = code;
    this.status = AMPERE_ERRORS[code].status;
    this.details = details;
  }
}

export function isAmpereError(e: unknown, code?: AmpereErrorCode): e is AmpereError {
  return e instanceof AmpereError && (code === undefined || e.code === code);
}
