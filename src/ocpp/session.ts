// The OCPP-J RPC session: correlation of CALL and CALLRESULT/CALLERROR, validation both ways,
// one outgoing CALL in flight with a queue behind it, timeouts, and idempotent repeats.
// Transport-free: text goes in through receive(), text comes out through send().
import { AmpereError } from '../errors.ts';
import { OcppError } from './errors.ts';
import {
  CALL,
  CALLERROR,
  CALLRESULT,
  type Frame,
  type FrameError,
  parseFrame,
  serializeCall,
  serializeCallError,
  withoutNulls,
} from './frame.ts';
import type { Action, ActionMap } from './types.generated.ts';
import { type Finding, isAction, type ValidationMode, type Validator } from './validate.ts';

export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export const realTimers: Timers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

export interface SessionLogger {
  debug(obj: object, msg?: string): void;
  info(obj: object, msg?: string): void;
  warn(obj: object, msg?: string): void;
  error(obj: object, msg?: string): void;
}

const silent: SessionLogger = { debug() {}, info() {}, warn() {}, error() {} };

export interface IncomingCall {
  uniqueId: string;
  action: Action;
  payload: Record<string, unknown>;
  /** Deviations repaired in tolerant mode (empty when the payload was valid as sent). */
  findings: readonly Finding[];
  /** The payload exactly as received, when repairs changed it. */
  original: Record<string, unknown> | undefined;
}

export type CallHandler = (call: IncomingCall) => Promise<object> | object;

export interface RpcSessionOptions {
  validator: Validator;
  /** Validation mode, read per message so a per-charger setting takes effect at once. */
  mode: () => ValidationMode;
  send: (text: string) => void;
  handle: CallHandler;
  /** Actions this side answers; a known action outside it gets NotSupported. */
  handles: ReadonlySet<string>;
  callTimeoutMs: number;
  timers?: Timers;
  log?: SessionLogger;
  /**
   * Central side: send no CALL before the charger's first CALL has been answered, but wait at most
   * this long (ms) from the session's start; 0 or absent = no hold. OCPP 1.6 has no such rule: it
   * is a courtesy for chargers that boot, and must never keep a command from a quiet charger.
   */
  holdCallsMs?: number;
  /** Called for every CALLERROR sent or received (for events and logs). */
  onCallError?: (e: {
    direction: 'in' | 'out';
    uniqueId: string;
    action?: string;
    code: string;
    description: string;
  }) => void;
  /** Called for every CALL received ('in') or sent ('out'), for metrics: keep it cheap. */
  onCall?: (direction: 'in' | 'out', action: string) => void;
  /** Called when an outgoing CALL is answered (or fails). */
  onCallDone?: (e: { action: string; ok: boolean; ms: number }) => void;
  /**
   * How many answered uniqueIds are remembered for idempotent repeats (default 8). A charger has
   * one CALL in flight and retries the one that went unanswered, so a few suffice; each costs
   * ~0.2 KiB for as long as the connection lasts (32 of them were ~6 KiB per idle charger).
   */
  repeatWindow?: number;
  newId?: () => string;
}

interface PendingCall {
  id: string;
  action: Action;
  text: string;
  resolve: (v: unknown) => void;
  reject: (e: unknown) => void;
  sentAt: number;
  timer?: unknown;
}

interface AnsweredCall {
  uniqueId: string;
  action: string;
  /** Dropped once answered. */
  payload: Record<string, unknown> | undefined;
  /** The answer, once there is one. */
  text: string | undefined;
  /** Repeats received while the answer was being prepared: each is answered too. */
  repeats: number;
}

/** True for `{}` (no own enumerable key), without building a key array. */
function isEmptyObject(o: object): boolean {
  for (const k in o) if (Object.hasOwn(o, k)) return false;
  return true;
}

let idCounter = 0;
const idPrefix = Math.random().toString(36).slice(2, 8);
function defaultId(): string {
  idCounter = (idCounter + 1) % Number.MAX_SAFE_INTEGER;
  return `${idPrefix}-${idCounter.toString(36)}`;
}

export class RpcSession {
  private readonly opts: RpcSessionOptions;
  private readonly timers: Timers;
  private readonly log: SessionLogger;
  private readonly queue: PendingCall[] = [];
  private inFlight: PendingCall | undefined;
  /** CALLs received and not yet answered, oldest first. */
  private readonly incoming: AnsweredCall[] = [];
  private draining = false;
  /** The CALL whose handler is running (at most one: see drain). */
  private pending: AnsweredCall | undefined;
  /**
   * The last answered (or in-progress) CALLs, for idempotent repeats: a ring in arrival order,
   * searched newest first. A few entries scanned cost less than a Map set and delete per message,
   * whose table a busy session rebuilt again and again.
   */
  private readonly answered: AnsweredCall[] = [];
  /** The ring's next slot to write once it is full (its oldest entry). */
  private answeredNext = 0;
  /** False while outgoing CALLs are held (see holdCallsMs). */
  private released: boolean;
  private holdTimer: unknown;
  private closedWith: Error | undefined;

  constructor(opts: RpcSessionOptions) {
    this.opts = opts;
    this.timers = opts.timers ?? realTimers;
    this.log = opts.log ?? silent;
    const hold = opts.holdCallsMs ?? 0;
    this.released = hold <= 0;
    if (!this.released) {
      this.holdTimer = this.timers.setTimeout(() => {
        this.holdTimer = undefined;
        if (!this.released && this.queue.length > 0) {
          this.log.info({ holdMs: hold, queued: this.queue.length }, 'charger sent nothing: held CALLs released');
        }
        this.release();
      }, hold);
    }
  }

  /** Ends the hold on outgoing CALLs (first answer sent, or the grace is over). */
  private release(): void {
    if (this.released) return;
    this.released = true;
    if (this.holdTimer !== undefined) this.timers.clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    this.pump();
  }

  get closed(): boolean {
    return this.closedWith !== undefined;
  }

  /** Feeds one received text message. Never throws: every problem becomes a CALLERROR or a log line. */
  receive(text: string): void {
    let frame: Frame;
    try {
      frame = parseFrame(text);
    } catch (e) {
      const err = e as FrameError;
      // A broken CALLRESULT/CALLERROR is not answered: answering a response would start a ping-pong.
      if (err.messageType === CALLRESULT || err.messageType === CALLERROR) {
        this.log.warn({ err: err.message }, 'malformed response frame ignored');
        return;
      }
      this.sendError(err.uniqueId ?? '-1', err.code, err.message, err.details, undefined);
      return;
    }
    if (frame[0] === CALL) this.onCall(frame[1], frame[2], frame[3]);
    else if (frame[0] === CALLRESULT) this.onResult(frame[1], frame[2]);
    else this.onError(frame[1], frame[2], frame[3], frame[4]);
  }

  private onCall(uniqueId: string, action: string, payload: Record<string, unknown>): void {
    this.opts.onCall?.('in', action);
    // OCPP-J 1.6 §4.1.4: a repeated uniqueId is the same message retried; answer it again without
    // running the handler twice (a retried StartTransaction must not open a second transaction).
    const seen = this.lastWith(uniqueId);
    if (seen && seen.action === action) {
      if (seen.text !== undefined) this.rawSend(seen.text);
      else seen.repeats++;
      return;
    }
    const entry: AnsweredCall = { uniqueId, action, payload, text: undefined, repeats: 0 };
    this.remember(entry);
    // Incoming CALLs are answered one at a time, in order: a CALL arriving while another is being
    // answered waits in `incoming` for the drain that is already running.
    if (this.draining) this.incoming.push(entry);
    else this.drain(entry);
  }

  private remember(entry: AnsweredCall): void {
    const max = Math.max(1, this.opts.repeatWindow ?? 8);
    const ring = this.answered;
    if (ring.length < max) ring.push(entry);
    else {
      ring[this.answeredNext] = entry;
      this.answeredNext = (this.answeredNext + 1) % max;
    }
  }

  /** The newest remembered CALL with this uniqueId (a later CALL may reuse an id, with another action). */
  private lastWith(uniqueId: string): AnsweredCall | undefined {
    const ring = this.answered;
    const n = ring.length;
    if (n === 0) return undefined;
    // The newest entry sits just before the next slot to write (the end while the ring fills).
    let i = (this.answeredNext + n - 1) % n;
    for (let k = 0; k < n; k++) {
      const e = ring[i]!;
      if (e.uniqueId === uniqueId) return e;
      i = i === 0 ? n - 1 : i - 1;
    }
    return undefined;
  }

  /**
   * Answers `entry`, then every CALL that queued behind it. An answer known at once (a CALLERROR,
   * a handler that returns a value) is sent in this turn; a pending handler continues the drain
   * from its one `then`, so a message costs one promise of the session's own, not an async chain.
   */
  private drain(first: AnsweredCall): void {
    this.draining = true;
    for (let entry: AnsweredCall | undefined = first; entry !== undefined; entry = this.incoming.shift()) {
      const out = this.begin(entry);
      if (typeof out !== 'string') {
        // Answers go one at a time: `pending` is the only CALL awaiting its handler.
        this.pending = entry;
        try {
          out.then(this.onHandled, this.onHandlerFailed);
          return;
        } catch (e) {
          // A thenable whose then() throws: answered here, and the drain goes on.
          this.pending = undefined;
          this.answerWith(entry, this.handlerFailed(entry.uniqueId, entry.action, e));
          continue;
        }
      }
      this.answerWith(entry, out);
    }
    this.draining = false;
  }

  // Made once per session: a pending handler costs no closure of its own.
  private readonly onHandled = (result: object): void => {
    const entry = this.pending;
    if (entry === undefined) return;
    this.pending = undefined;
    this.resume(entry, this.resultText(entry.uniqueId, entry.action, result));
  };

  private readonly onHandlerFailed = (e: unknown): void => {
    const entry = this.pending;
    if (entry === undefined) return;
    this.pending = undefined;
    this.resume(entry, this.handlerFailed(entry.uniqueId, entry.action, e));
  };

  private resume(entry: AnsweredCall, text: string): void {
    this.answerWith(entry, text);
    const next = this.incoming.shift();
    if (next !== undefined) this.drain(next);
    else this.draining = false;
  }

  /** Sends an answer (to each repeat too). Never throws: the drain must go on whatever happens. */
  private answerWith(entry: AnsweredCall, text: string): void {
    entry.text = text;
    for (let i = 0; i <= entry.repeats; i++) this.rawSend(text);
    try {
      this.release();
    } catch (e) {
      this.log.error({ err: e }, 'sending held CALLs failed');
    }
  }

  /** Checks and validates a CALL and runs its handler: the answer's text, or the handler's pending result. */
  private begin(entry: AnsweredCall): string | PromiseLike<object> {
    const { uniqueId, action } = entry;
    const payload = entry.payload!;
    entry.payload = undefined;
    try {
      if (!isAction(action)) {
        return this.errorText(uniqueId, 'NotImplemented', `Unknown action ${action}`, {}, action);
      }
      if (!this.opts.handles.has(action)) {
        return this.errorText(uniqueId, 'NotSupported', `${action} is not supported here`, {}, action);
      }
      const v = this.opts.validator.validate(action, 'req', payload, this.opts.mode());
      if (!v.ok) return this.errorText(uniqueId, v.error.code, v.error.message, v.error.details, action);
      let result: Promise<object> | object;
      try {
        result = this.opts.handle({
          uniqueId,
          action,
          payload: v.payload,
          findings: v.findings,
          original: v.findings.length > 0 ? payload : undefined,
        });
      } catch (e) {
        return this.handlerFailed(uniqueId, action, e);
      }
      if (typeof (result as PromiseLike<object>).then === 'function') return result as PromiseLike<object>;
      return this.resultText(uniqueId, action, result);
    } catch (e) {
      this.log.error({ err: e, action, uniqueId }, 'answer failed');
      return serializeCallError(uniqueId, 'InternalError', `${action} could not be processed`, {});
    }
  }

  /** The CALLRESULT of a handler's answer, or an InternalError if that answer fails its own schema. */
  private resultText(uniqueId: string, action: string, result: object): string {
    try {
      // An empty answer (MeterValues, StatusNotification, …) is the common case: its schema's
      // verdict on {} is known per action, and its text needs no copy or serialiser.
      if (isEmptyObject(result) && this.opts.validator.acceptsEmpty(action as Action, 'conf')) {
        return `[3,${JSON.stringify(uniqueId)},{}]`;
      }
      // Validate both ways (docs/architecture.md): an answer that fails its own schema is our bug, and
      // the charger gets an InternalError rather than a payload it would have to reject.
      const clean = withoutNulls(result);
      const check = this.opts.validator.validate(action as Action, 'conf', clean, 'strict');
      if (!check.ok) {
        this.log.error({ action, uniqueId, err: check.error.message }, 'handler answer fails its schema');
        return this.errorText(uniqueId, 'InternalError', `${action} could not be answered`, {}, action);
      }
      // `clean` has no nulls left: serialised as is (serializeCallResult would copy it again).
      return JSON.stringify([CALLRESULT, uniqueId, clean]);
    } catch (e) {
      this.log.error({ err: e, action, uniqueId }, 'answer failed');
      return serializeCallError(uniqueId, 'InternalError', `${action} could not be processed`, {});
    }
  }

  private handlerFailed(uniqueId: string, action: string, e: unknown): string {
    try {
      if (e instanceof OcppError) return this.errorText(uniqueId, e.code, e.message, e.details, action);
      // A handler's failure is logged with its stack here and answered without it.
      this.log.error({ err: e, action, uniqueId }, 'handler failed');
      return this.errorText(uniqueId, 'InternalError', `${action} could not be processed`, {}, action);
    } catch {
      return serializeCallError(uniqueId, 'InternalError', `${action} could not be processed`, {});
    }
  }

  private errorText(
    uniqueId: string,
    code: OcppError['code'],
    description: string,
    details: Record<string, unknown>,
    action: string | undefined,
  ): string {
    this.opts.onCallError?.({ direction: 'out', uniqueId, ...(action ? { action } : {}), code, description });
    this.log.warn({ uniqueId, action, code, description }, 'CALLERROR sent');
    return serializeCallError(uniqueId, code, description, details);
  }

  private sendError(
    uniqueId: string,
    code: OcppError['code'],
    description: string,
    details: Record<string, unknown>,
    action: string | undefined,
  ): void {
    this.rawSend(this.errorText(uniqueId, code, description, details, action));
  }

  private rawSend(text: string): void {
    if (this.closedWith) return;
    try {
      this.opts.send(text);
    } catch (e) {
      this.log.warn({ err: (e as Error).message }, 'send failed');
    }
  }

  private onResult(uniqueId: string, payload: Record<string, unknown>): void {
    const call = this.inFlight;
    if (!call || call.id !== uniqueId) {
      // OCPP-J 1.6 §4.2: a response to nothing we are waiting for (late, after a timeout, or
      // unsolicited) is ignored.
      this.log.warn({ uniqueId }, 'unexpected CALLRESULT ignored');
      return;
    }
    const v = this.opts.validator.validate(call.action, 'conf', payload, this.opts.mode());
    if (v.ok) {
      if (v.findings.length > 0) this.log.info({ action: call.action, findings: v.findings }, 'response repaired');
      this.finish(call, true, v.payload);
    } else {
      this.finish(
        call,
        false,
        new AmpereError('AMPERE_ERR_CHARGER_BAD_RESPONSE', v.error.message, {
          action: call.action,
          ocppCode: v.error.code,
        }),
      );
    }
  }

  private onError(uniqueId: string, code: OcppError['code'], description: string, details: Record<string, unknown>) {
    const call = this.inFlight;
    if (!call || call.id !== uniqueId) {
      this.log.warn({ uniqueId, code }, 'unexpected CALLERROR ignored');
      return;
    }
    this.opts.onCallError?.({ direction: 'in', uniqueId, action: call.action, code, description });
    this.finish(call, false, new OcppError(code, description, details, uniqueId));
  }

  private finish(call: PendingCall, ok: boolean, value: unknown): void {
    if (call.timer !== undefined) this.timers.clearTimeout(call.timer);
    this.inFlight = undefined;
    this.opts.onCallDone?.({ action: call.action, ok, ms: Date.now() - call.sentAt });
    if (ok) call.resolve(value);
    else call.reject(value);
    this.pump();
  }

  /** Sends a CALL and resolves with the validated response; rejects with OcppError or AmpereError. */
  call<A extends Action>(action: A, payload: ActionMap[A]['request']): Promise<ActionMap[A]['response']> {
    if (this.closedWith) return Promise.reject(this.closedWith);
    // Validate both ways (docs/architecture.md): nothing leaves that the charger would have to reject.
    const v = this.opts.validator.validate(action, 'req', payload, 'strict');
    if (!v.ok) {
      return Promise.reject(
        new AmpereError('AMPERE_ERR_INVALID_OUTGOING', v.error.message, { action, ocppCode: v.error.code }),
      );
    }
    return new Promise((resolve, reject) => {
      const id = (this.opts.newId ?? defaultId)();
      const call: PendingCall = {
        id,
        action,
        text: serializeCall(id, action, payload),
        resolve: resolve as (v: unknown) => void,
        reject,
        sentAt: 0,
      };
      // The timeout counts from acceptance, so the caller gets an answer within callTimeoutMs even
      // when the CALL waits behind another one or behind the hold.
      call.timer = this.timers.setTimeout(() => this.timedOut(call), this.opts.callTimeoutMs);
      this.queue.push(call);
      this.pump();
    });
  }

  private timedOut(call: PendingCall): void {
    call.timer = undefined;
    const error = new AmpereError(
      'AMPERE_ERR_CALL_TIMEOUT',
      `No answer to ${call.action} within ${this.opts.callTimeoutMs} ms`,
      { action: call.action, timeoutMs: this.opts.callTimeoutMs, sent: this.inFlight === call },
    );
    if (this.inFlight === call) {
      this.log.warn({ action: call.action, uniqueId: call.id }, 'CALL timed out');
      this.finish(call, false, error);
      return;
    }
    const i = this.queue.indexOf(call);
    if (i < 0) return;
    // Never sent: it leaves the queue, so the charger never receives a command nobody waits for.
    this.queue.splice(i, 1);
    this.log.warn({ action: call.action, uniqueId: call.id }, 'CALL timed out before it could be sent');
    call.reject(error);
  }

  /** How many outgoing CALLs wait behind the one in flight. */
  get queued(): number {
    return this.queue.length;
  }

  private pump(): void {
    if (this.inFlight || !this.released || this.closedWith) return;
    const next = this.queue.shift();
    if (!next) return;
    this.inFlight = next;
    next.sentAt = Date.now();
    this.opts.onCall?.('out', next.action);
    this.rawSend(next.text);
  }

  /** Ends the session: the CALL in flight and every queued one are rejected with `reason`. */
  close(reason: Error = new AmpereError('AMPERE_ERR_SESSION_CLOSED')): void {
    if (this.closedWith) return;
    this.closedWith = reason;
    if (this.holdTimer !== undefined) this.timers.clearTimeout(this.holdTimer);
    this.holdTimer = undefined;
    const all = this.inFlight ? [this.inFlight, ...this.queue] : [...this.queue];
    this.inFlight = undefined;
    this.queue.length = 0;
    for (const c of all) {
      if (c.timer !== undefined) this.timers.clearTimeout(c.timer);
      c.reject(reason);
    }
  }
}
