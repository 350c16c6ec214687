// The central system's event bus: what the API's event stream, the MQTT bridge and the smart
// charging loop follow. Events are plain JSON; every event gets a growing sequence number.

export type CentralEventType =
  | 'charger.connected'
  | 'charger.disconnected'
  | 'charger.boot'
  | 'charger.registration'
  | 'connector.status'
  | 'transaction.started'
  | 'transaction.stopped'
  | 'meter.values'
  | 'command.sent'
  | 'command.answered'
  | 'callerror'
  | 'datatransfer'
  | 'firmware.status'
  | 'firmware.job'
  | 'firmware.rollout'
  | 'diagnostics.status'
  | 'diagnostics.requested'
  | 'diagnostics.received'
  | 'diagnostics.refused'
  | 'config.reboot'
  | 'conformance.finding'
  | 'security.event'
  | 'smart.actuation'
  | 'smart.mismatch'
  | 'smart.violation';

export interface CentralEvent {
  id: number;
  type: CentralEventType;
  chargerId: string | null;
  at: string;
  data: Record<string, unknown>;
}

export interface EventBusOptions {
  now: () => number;
  /** How many recent events are kept for resume (Last-Event-ID). */
  bufferSize?: number;
}

/**
 * The history for resuming a stream (Last-Event-ID) is kept while an event stream is open and
 * this long after the last one closed, so a client that reconnects finds what it missed. With no
 * stream for longer (a headless server fed by the API and MQTT), no event is retained: holding
 * the last 10 000 events, meter values included, costs the garbage collector on every message.
 */
export const HISTORY_AFTER_STREAMS_MS = 10 * 60_000;

export class EventBus {
  /**
   * The subscribers, replaced (never changed in place) on subscribe and unsubscribe: emit walks
   * the array it finds, as EventEmitter did, without copying it for every event.
   */
  private listeners: readonly ((e: CentralEvent) => void)[] = [];
  /** Ring buffer of the last `size` events: slot `id % size` holds event `id`. */
  private readonly ring: (CentralEvent | undefined)[];
  private seq = 0;
  private readonly size: number;
  private readonly now: () => number;
  // One ISO string per millisecond: at tens of thousands of events per second most share it.
  private lastMs = Number.NaN;
  private lastAt = '';
  /** Open streams (watch()); the history is recorded while any is open or recently was. */
  private watchers = 0;
  private watchedUntil = Number.NEGATIVE_INFINITY;
  private recording = false;
  /** The first id of the current recording: the ring holds nothing older. */
  private recordedFrom = 1;

  constructor(opts: EventBusOptions) {
    this.now = opts.now;
    this.size = Math.max(1, opts.bufferSize ?? 10_000);
    this.ring = new Array<CentralEvent | undefined>(this.size);
  }

  emit(type: CentralEventType, chargerId: string | null, data: Record<string, unknown> = {}): CentralEvent {
    const ms = this.now();
    if (ms !== this.lastMs) {
      this.lastMs = ms;
      this.lastAt = new Date(ms).toISOString();
    }
    const id = ++this.seq;
    const event: CentralEvent = { id, type, chargerId, at: this.lastAt, data };
    if (this.recording) {
      if (this.watchers === 0 && ms > this.watchedUntil) {
        // No stream for HISTORY_AFTER_STREAMS_MS: let the retained events go.
        this.recording = false;
        this.ring.fill(undefined);
      } else this.ring[id % this.size] = event;
    }
    const listeners = this.listeners;
    for (let i = 0; i < listeners.length; i++) listeners[i]!(event);
    return event;
  }

  /**
   * An event stream is open: keep the history from now on, and for HISTORY_AFTER_STREAMS_MS after
   * the last stream closed. Returns the call that says it closed.
   */
  watch(): () => void {
    this.watchers++;
    if (!this.recording) {
      this.recording = true;
      this.recordedFrom = this.seq + 1;
    }
    let closed = false;
    return () => {
      if (closed) return;
      closed = true;
      if (--this.watchers === 0) this.watchedUntil = this.now() + HISTORY_AFTER_STREAMS_MS;
    };
  }

  subscribe(fn: (e: CentralEvent) => void): () => void {
    this.listeners = [...this.listeners, fn];
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      const i = this.listeners.lastIndexOf(fn);
      if (i >= 0) this.listeners = [...this.listeners.slice(0, i), ...this.listeners.slice(i + 1)];
    };
  }

  /** Events after `id` still in the buffer, oldest first; `complete` is false when some were already dropped. */
  since(id: number): { events: CentralEvent[]; complete: boolean } {
    const oldest = Math.max(1, this.seq - this.size + 1, this.recording ? this.recordedFrom : this.seq + 1);
    const from = Math.max(id + 1, oldest);
    const events: CentralEvent[] = [];
    for (let i = from; i <= this.seq; i++) events.push(this.ring[i % this.size]!);
    const complete = this.seq === 0 || oldest <= id + 1;
    return { events, complete };
  }

  get lastId(): number {
    return this.seq;
  }
}
