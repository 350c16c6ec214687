// OCPP-J framing (OCPP-J 1.6 §4): a pure function of text. A string goes in; a typed frame or an
// OcppError comes out. No socket, clock or validation of payloads here.
import { isOcppErrorCode, OcppError, type OcppErrorCode } from './errors.ts';

export const CALL = 2;
export const CALLRESULT = 3;
export const CALLERROR = 4;

/** OCPP-J 1.6 §4.1.4: the uniqueId is a string of at most 36 characters. */
export const MAX_UNIQUE_ID_LENGTH = 36;

/**
 * Deepest nesting of arrays and objects accepted in a frame. The deepest 1.6 message
 * (StopTransaction.transactionData) nests 5 levels under the frame; anything far deeper is an
 * attack on recursive code further on (validation, logging, storage), not a charger.
 */
export const MAX_JSON_DEPTH = 32;

/** Nesting depth of a parsed JSON value, without recursion (a hostile value cannot blow the stack). */
export function jsonDepth(value: unknown, limit = Number.POSITIVE_INFINITY): number {
  if (typeof value !== 'object' || value === null) return 0;
  // Two parallel stacks (containers and their depths): no tuple or Object.values array per node.
  const values: object[] = [value];
  const depths: number[] = [1];
  let max = 1;
  if (max > limit) return max;
  while (values.length > 0) {
    const v = values.pop()!;
    const depth = depths.pop()! + 1;
    if (Array.isArray(v)) {
      for (let i = 0; i < v.length; i++) {
        const child: unknown = v[i];
        if (typeof child === 'object' && child !== null) {
          if (depth > max) {
            max = depth;
            if (max > limit) return max;
          }
          values.push(child);
          depths.push(depth);
        }
      }
    } else {
      for (const k in v) {
        if (!Object.hasOwn(v, k)) continue;
        const child: unknown = (v as Record<string, unknown>)[k];
        if (typeof child === 'object' && child !== null) {
          if (depth > max) {
            max = depth;
            if (max > limit) return max;
          }
          values.push(child);
          depths.push(depth);
        }
      }
    }
  }
  return max;
}

/**
 * Whether `text` holds at most `limit` opening brackets (`[` or `{`, inside strings too). A JSON
 * value cannot nest deeper than the brackets it contains, so a frame under the limit needs no walk:
 * a MeterValues frame has about a dozen, and `indexOf` counts them far faster than the walk.
 */
export function fewBrackets(text: string, limit: number): boolean {
  let n = 0;
  for (let i = text.indexOf('{'); i >= 0; i = text.indexOf('{', i + 1)) if (++n > limit) return false;
  for (let i = text.indexOf('['); i >= 0; i = text.indexOf('[', i + 1)) if (++n > limit) return false;
  return true;
}

export type CallFrame = [type: 2, uniqueId: string, action: string, payload: Record<string, unknown>];
export type CallResultFrame = [type: 3, uniqueId: string, payload: Record<string, unknown>];
export type CallErrorFrame = [
  type: 4,
  uniqueId: string,
  errorCode: OcppErrorCode,
  errorDescription: string,
  errorDetails: Record<string, unknown>,
];
export type Frame = CallFrame | CallResultFrame | CallErrorFrame;

/** What a frame that is not a well-formed CALL/CALLRESULT/CALLERROR was, so the session can react. */
export class FrameError extends OcppError {
  /** The message type id if one could be read (2, 3, 4), else undefined. */
  readonly messageType: number | undefined;

  constructor(message: string, uniqueId: string | undefined, messageType: number | undefined) {
    // OCPP-J 1.6 §4.2.3: a frame that is not a valid OCPP-J message is a FormationViolation;
    // when no uniqueId can be read we answer with "-1", as the OCA test tools expect.
    super('FormationViolation', message, {}, uniqueId ?? '-1');
    this.name = 'FrameError';
    this.messageType = messageType;
  }
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** Parses one WebSocket text message into a frame. Throws FrameError on anything malformed. */
export function parseFrame(text: string): Frame {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch {
    throw new FrameError('Message is not valid JSON', undefined, undefined);
  }
  if (!Array.isArray(data) || data.length === 0) {
    throw new FrameError('Message is not an OCPP-J array', undefined, undefined);
  }
  const type = data[0];
  const rawId = data[1];
  const id = typeof rawId === 'string' ? rawId : undefined;
  const messageType = type === CALL || type === CALLRESULT || type === CALLERROR ? type : undefined;
  if (messageType === undefined) {
    throw new FrameError(`Unknown message type id ${JSON.stringify(type)}`, id, undefined);
  }
  if (id === undefined) throw new FrameError('uniqueId is not a string', undefined, messageType);
  if (id.length === 0 || id.length > MAX_UNIQUE_ID_LENGTH) {
    throw new FrameError(`uniqueId must have 1 to ${MAX_UNIQUE_ID_LENGTH} characters`, id, messageType);
  }
  if (!fewBrackets(text, MAX_JSON_DEPTH) && jsonDepth(data, MAX_JSON_DEPTH) > MAX_JSON_DEPTH) {
    throw new FrameError(`The message nests deeper than ${MAX_JSON_DEPTH} levels`, id, messageType);
  }
  switch (messageType) {
    case CALL: {
      if (data.length !== 4) throw new FrameError('A CALL has exactly 4 elements', id, messageType);
      const action = data[2];
      if (typeof action !== 'string' || action.length === 0) {
        throw new FrameError('The action of a CALL must be a non-empty string', id, messageType);
      }
      if (!isPlainObject(data[3])) throw new FrameError('The payload of a CALL must be an object', id, messageType);
      // Every element checked: the parsed array is the frame (no copy per message).
      return data as CallFrame;
    }
    case CALLRESULT: {
      if (data.length !== 3) throw new FrameError('A CALLRESULT has exactly 3 elements', id, messageType);
      if (!isPlainObject(data[2]))
        throw new FrameError('The payload of a CALLRESULT must be an object', id, messageType);
      return [CALLRESULT, id, data[2]];
    }
    default: {
      if (data.length < 4 || data.length > 5) throw new FrameError('A CALLERROR has 5 elements', id, messageType);
      const code = data[2];
      const description = data[3];
      const details = data[4] ?? {};
      if (typeof description !== 'string' || !isPlainObject(details)) {
        throw new FrameError('A CALLERROR needs a description string and a details object', id, messageType);
      }
      // An unknown code from a peer is kept readable rather than rejected: GenericError is the
      // spec's catch-all (OCPP-J 1.6 §4.2.3).
      return [CALLERROR, id, isOcppErrorCode(code) ? code : 'GenericError', description, details];
    }
  }
}

/** Drops null members: OCPP-J peers reject `null` where a field is optional, so we never send it. */
export function withoutNulls<T>(value: T): T {
  if (Array.isArray(value)) return value.map(withoutNulls) as T;
  if (isPlainObject(value)) {
    const out: Record<string, unknown> = {};
    for (const k of Object.keys(value)) {
      const v = value[k];
      if (v !== null && v !== undefined) out[k] = withoutNulls(v);
    }
    return out as T;
  }
  return value;
}

export function serializeCall(uniqueId: string, action: string, payload: object): string {
  return JSON.stringify([CALL, uniqueId, action, withoutNulls(payload)]);
}

export function serializeCallResult(uniqueId: string, payload: object): string {
  return JSON.stringify([CALLRESULT, uniqueId, withoutNulls(payload)]);
}

export function serializeCallError(
  uniqueId: string,
  code: OcppErrorCode,
  description: string,
  details: Record<string, unknown> = {},
): string {
  return JSON.stringify([CALLERROR, uniqueId, code, description, withoutNulls(details)]);
}
