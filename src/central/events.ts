// The central system's event bus: what the API's event stream, the MQTT bridge and the smart
// charging loop follow. Events are plain JSON; every event gets a growing sequence number.
import { EventEmitter } from 'node:events';

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
  | 'diagnostics.status'
  | 'conformance.finding'
  | 'security.event'
  | 'smart.actuation'
  | 'smart.mismatch';

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

export class EventBus {
  private readonly emitter = new EventEmitter();
  private readonly buffer: CentralEvent[] = [];
  private seq = 0;
  private readonly size: number;
  private readonly now: () => number;

  constructor(opts: EventBusOptions) {
    this.now = opts.now;
    this.size = opts.bufferSize ?? 10_000;
    this.emitter.setMaxListeners(0);
  }

  emit(type: CentralEventType, chargerId: string | null, data: Record<string, unknown> = {}): CentralEvent {
    const event: CentralEvent = { id: ++this.seq, type, chargerId, at: new Date(this.now()).toISOString(), data };
    this.buffer.push(event);
    if (this.buffer.length > this.size) this.buffer.splice(0, this.buffer.length - this.size);
    this.emitter.emit('event', event);
    return event;
  }

  subscribe(fn: (e: CentralEvent) => void): () => void {
    this.emitter.on('event', fn);
    return () => this.emitter.off('event', fn);
  }

  /** Events after `id` still in the buffer, oldest first; `complete` is false when some were already dropped. */
  since(id: number): { events: CentralEvent[]; complete: boolean } {
    const first = this.buffer[0];
    const complete = !first || first.id <= id + 1;
    return { events: this.buffer.filter((e) => e.id > id), complete };
  }

  get lastId(): number {
    return this.seq;
  }
}
