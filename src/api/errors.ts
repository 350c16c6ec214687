// One error shape for every answer that is not a success: `{ error: { code, message, details } }`,
// with an AMPERE_ERR_* code from src/errors.ts. Validation failures name the failing field.
import type { FastifyError, FastifyReply, FastifyRequest } from 'fastify';
import { AMPERE_ERRORS, AmpereError, type AmpereErrorCode } from '../errors.ts';

export interface ErrorBody {
  error: { code: string; message: string; details: Record<string, unknown> | null };
}

export function errorBody(code: AmpereErrorCode, message: string, details?: Record<string, unknown>): ErrorBody {
  return { error: { code, message, details: details ?? null } };
}

export function sendError(
  reply: FastifyReply,
  code: AmpereErrorCode,
  message: string,
  details?: Record<string, unknown>,
): FastifyReply {
  return reply
    .code(AMPERE_ERRORS[code].status)
    .type('application/json')
    .send(errorBody(code, message, details));
}

interface AjvLikeError {
  instancePath?: string;
  keyword: string;
  params?: Record<string, unknown>;
  message?: string;
}

const PART_NAMES: Record<string, string> = { body: 'body', querystring: 'query', params: 'path', headers: 'header' };

/** `body.csChargingProfiles.stackLevel`, `query.limit`: where a request failed its schema. */
export function fieldOf(part: string, err: AjvLikeError): string {
  const segments = (err.instancePath ?? '')
    .split('/')
    .filter((s) => s !== '')
    .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'));
  if (err.keyword === 'required' && typeof err.params?.missingProperty === 'string') {
    segments.push(err.params.missingProperty);
  }
  if (err.keyword === 'additionalProperties' && typeof err.params?.additionalProperty === 'string') {
    segments.push(err.params.additionalProperty);
  }
  return [PART_NAMES[part] ?? part, ...segments].join('.');
}

function describe(field: string, err: AjvLikeError): string {
  switch (err.keyword) {
    case 'required':
      return `${field} is required`;
    case 'additionalProperties':
      return `${field} is not allowed here`;
    case 'enum':
      return `${field} must be one of ${((err.params?.allowedValues as unknown[]) ?? []).join(', ')}`;
    default:
      return `${field} ${err.message ?? `fails ${err.keyword}`}`;
  }
}

export function validationError(part: string, errors: readonly AjvLikeError[]): AmpereError {
  const first = errors[0];
  if (!first) return new AmpereError('AMPERE_ERR_BAD_REQUEST', 'The request fails its schema');
  const field = fieldOf(part, first);
  return new AmpereError('AMPERE_ERR_BAD_REQUEST', describe(field, first), {
    field,
    keyword: first.keyword,
    errors: errors.map((e) => ({ field: fieldOf(part, e), keyword: e.keyword, message: e.message ?? null })),
  });
}

const CLIENT_ERROR_CODES: Partial<Record<number, AmpereErrorCode>> = {
  404: 'AMPERE_ERR_NOT_FOUND',
  413: 'AMPERE_ERR_PAYLOAD_TOO_LARGE',
  415: 'AMPERE_ERR_UNSUPPORTED_MEDIA_TYPE',
  429: 'AMPERE_ERR_RATE_LIMITED',
};

/** The registered code for a fastify client error status; anything else is a plain bad request (400). */
export function clientErrorCode(status: number): AmpereErrorCode {
  return CLIENT_ERROR_CODES[status] ?? 'AMPERE_ERR_BAD_REQUEST';
}

/** The fastify error handler: AmpereErrors keep their code and status; nothing else leaks a stack. */
export function handleError(err: FastifyError | AmpereError | Error, req: FastifyRequest, reply: FastifyReply): void {
  if (err instanceof AmpereError) {
    if (err.status >= 500 && err.code !== 'AMPERE_ERR_CALL_TIMEOUT' && err.code !== 'AMPERE_ERR_CHARGER_CALLERROR') {
      req.log.error({ err }, 'request failed');
    }
    reply
      .code(err.status)
      .type('application/json')
      .send(errorBody(err.code, err.message, err.details));
    return;
  }
  const fe = err as FastifyError & { validationContext?: string };
  if (fe.validation) {
    const v = validationError(fe.validationContext ?? 'body', fe.validation as AjvLikeError[]);
    reply
      .code(400)
      .type('application/json')
      .send(errorBody(v.code, v.message, v.details));
    return;
  }
  if (typeof fe.statusCode === 'number' && fe.statusCode >= 400 && fe.statusCode < 500) {
    // Fastify's own client errors: malformed JSON, unsupported media type, body too large, ...
    // Each answer carries a registered code with the status docs/errors.md gives it.
    const code = clientErrorCode(fe.statusCode);
    reply
      .code(AMPERE_ERRORS[code].status)
      .type('application/json')
      .send(errorBody(code, fe.message, fe.code ? { fastifyCode: fe.code } : undefined));
    return;
  }
  req.log.error({ err }, 'request failed');
  reply.code(500).type('application/json').send(errorBody('AMPERE_ERR_INTERNAL', 'Internal error'));
}
