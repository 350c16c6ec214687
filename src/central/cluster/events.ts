// The events of every node, in one order: each node appends its own events to the cluster's
// event table in batches (one INSERT and one notice per batch, not per event), and a node whose
// API streams are open reads the table after the last id it delivered. Ids come from the database
// and grow in commit order, so Last-Event-ID resumes from the table on any node.
import type { Logger } from 'pino';
import type { ClusterBackplane, ClusterEventInput, ClusterEventRow } from '../../store/cluster.ts';
import type { CentralEvent, CentralEventType } from '../events.ts';
import type { EventSource, Timers } from '../ports.ts';

/** What the API's event stream reads: live events and the history after an id. */
export interface EventLog extends EventSource {
  readonly lastId: number;
  /** A stream is open and may resume later: keep the history (EventBus); returns its end. */
  watch?(): () => void;
  since(
    id: number,
  ): { events: CentralEvent[]; complete: boolean } | Promise<{ events: CentralEvent[]; complete: boolean }>;
}

export interface ClusterEventsOptions {
  backplane: ClusterBackplane;
  /** This node's own events (the EventBus). */
  local: EventSource;
  timers: Timers;
  log: Logger;
  /** How long events gather before one INSERT (ms). */
  flushMs?: number;
  /** Events read per query. */
  readBatch?: number;
}

const RESUME_LIMIT = 10_000;

function toEvent(r: ClusterEventRow): CentralEvent {
  return {
    id: r.id,
    type: r.type as CentralEventType,
    chargerId: r.chargerId,
    at: r.at,
    data: JSON.parse(r.data) as Record<string, unknown>,
  };
}

export class ClusterEvents implements EventLog {
  private readonly o: ClusterEventsOptions;
  private readonly subscribers = new Set<(e: CentralEvent) => void>();
  private queue: ClusterEventInput[] = [];
  private flushTimer: unknown;
  /** The INSERT under way; while it runs, events gather for the next (bigger) one. */
  private writing: Promise<void> | undefined;
  private cursor = 0;
  /** The highest id announced; reads run until the cursor reaches it. */
  private announced = 0;
  private reading: Promise<void> | undefined;
  private unsubscribeLocal: (() => void) | undefined;
  private closed = false;

  constructor(o: ClusterEventsOptions) {
    this.o = o;
  }

  async start(): Promise<void> {
    const { backplane, local } = this.o;
    backplane.onEvents((last) => this.announce(last));
    backplane.onResync(() => {
      backplane.eventBounds().then(
        (b) => this.announce(b.last),
        () => {},
      );
    });
    const { last } = await backplane.eventBounds();
    this.cursor = Math.max(this.cursor, last);
    this.announced = Math.max(this.announced, last);
    this.unsubscribeLocal = local.subscribe((e) => this.append(e));
  }

  // ------------------------------------------------------------------ writing this node's events

  private append(e: CentralEvent): void {
    if (this.closed) return;
    this.queue.push({ type: e.type, chargerId: e.chargerId, at: e.at, data: JSON.stringify(e.data) });
    this.schedule();
  }

  private schedule(): void {
    if (this.flushTimer !== undefined || this.writing !== undefined || this.queue.length === 0) return;
    this.flushTimer = this.o.timers.setTimeout(() => {
      this.flushTimer = undefined;
      this.write();
    }, this.o.flushMs ?? 10);
  }

  /**
   * One INSERT at a time per node, so this node's order is kept; what arrives meanwhile goes into
   * the next one, so batches grow with the load instead of queueing small writes behind each other.
   */
  private write(): void {
    if (this.writing !== undefined || this.queue.length === 0) return;
    const rows = this.queue;
    this.queue = [];
    this.writing = this.o.backplane
      .appendEvents(rows)
      .then(
        () => undefined,
        (e) => this.o.log.warn({ err: e, events: rows.length }, 'cluster: could not write events'),
      )
      .finally(() => {
        this.writing = undefined;
        this.schedule();
      });
  }

  /** Writes every event gathered so far (shutdown). */
  async flush(): Promise<void> {
    if (this.flushTimer !== undefined) this.o.timers.clearTimeout(this.flushTimer);
    this.flushTimer = undefined;
    while (this.writing !== undefined || this.queue.length > 0) {
      if (this.writing === undefined) this.write();
      await this.writing;
    }
  }

  // ------------------------------------------------------------------ reading every node's events

  private announce(last: number): void {
    this.announced = Math.max(this.announced, last);
    if (this.subscribers.size === 0) {
      // Nobody follows here: nothing to read, the cursor only moves on.
      this.cursor = Math.max(this.cursor, this.announced);
      return;
    }
    this.reading ??= this.read().finally(() => {
      this.reading = undefined;
    });
  }

  private async read(): Promise<void> {
    const limit = this.o.readBatch ?? 1000;
    while (this.cursor < this.announced && this.subscribers.size > 0 && !this.closed) {
      let rows: ClusterEventRow[];
      try {
        rows = await this.o.backplane.eventsAfter(this.cursor, limit);
      } catch (e) {
        this.o.log.warn({ err: e }, 'cluster: could not read events');
        return;
      }
      if (rows.length === 0) {
        // Trimmed meanwhile, or announced ahead of a commit we cannot see yet: skip to what exists.
        this.cursor = this.announced;
        return;
      }
      for (const r of rows) {
        this.cursor = r.id;
        const e = toEvent(r);
        for (const fn of this.subscribers) fn(e);
      }
    }
  }

  subscribe(fn: (e: CentralEvent) => void): () => void {
    this.subscribers.add(fn);
    return () => this.subscribers.delete(fn);
  }

  get lastId(): number {
    return this.cursor;
  }

  async since(id: number): Promise<{ events: CentralEvent[]; complete: boolean }> {
    const { oldest } = await this.o.backplane.eventBounds();
    const rows = await this.o.backplane.eventsAfter(id, RESUME_LIMIT);
    const complete = oldest === 0 || oldest <= id + 1;
    return { events: rows.map(toEvent), complete };
  }

  async close(): Promise<void> {
    this.unsubscribeLocal?.();
    await this.flush();
    this.closed = true;
    this.subscribers.clear();
  }
}
