// Work a feature does after a charger's BootNotification was answered Accepted (configuration
// policies, local lists): run once the answer has gone out, its failure logged, never thrown.
// And the triggers on connect: StatusNotification after a boot or a reconnect when the charger
// did not report its connectors by itself, BootNotification from a charger that connected without
// booting and was never Accepted here.
import { supportsTriggerMessage } from './approvals.ts';
import type { BootAnswer, ChargerLink } from './link.ts';
import type { CentralHost, EventSource } from './ports.ts';

/** The triggers need the live connection (its boot answer): they run on the node that holds it. */
export interface LocalCentral extends CentralHost {
  link(chargerId: string): ChargerLink | undefined;
}

// ---------------------------------------------------------------- the after-boot queue

/** Boots in the last second above which a reconnect storm is under way. */
export const STORM_BOOTS_PER_SECOND = 50;
/** After-boot tasks running at once. */
export const AFTER_BOOT_CONCURRENCY = 8;
/** How often a waiting queue looks again whether the storm is over. */
const STORM_RECHECK_MS = 250;
/** The longest a task is held by a storm: a storm that never ends does not starve the housekeeping. */
export const AFTER_BOOT_MAX_HOLD_MS = 30_000;

/**
 * After-boot work (configuration policies, local lists, triggers on connect) is housekeeping: it
 * must never delay the boots themselves. It goes through one queue per central system, at most
 * AFTER_BOOT_CONCURRENCY tasks at a time, and waits while boots keep arriving faster than
 * STORM_BOOTS_PER_SECOND: after a server restart or a network outage, every charger gets its
 * BootNotification answered first, then its housekeeping. A charger gone by then is skipped by
 * the task itself (it finds no connection).
 */
export class AfterBootQueue {
  private readonly tasks: (() => Promise<unknown>)[] = [];
  /** When each task was queued (clock ms), by the same index. */
  private readonly queuedAt: number[] = [];
  private head = 0;
  private running = 0;
  /** Boots counted in the current one-second bucket and the one before it. */
  private bucket = 0;
  private bucketStart = 0;
  private previous = 0;
  private recheck: NodeJS.Timeout | undefined;

  constructor(
    private readonly now: () => number = Date.now,
    private readonly stormPerSecond = STORM_BOOTS_PER_SECOND,
    private readonly concurrency = AFTER_BOOT_CONCURRENCY,
  ) {}

  /** Counts a boot (the queue subscribes itself to charger.boot through afterBootQueue()). */
  noteBoot(): void {
    this.roll();
    this.bucket++;
  }

  /** True while boots arrive faster than the storm threshold (over the last one to two seconds). */
  get storming(): boolean {
    this.roll();
    const elapsed = Math.min(1, (this.now() - this.bucketStart) / 1000);
    // The previous bucket counts for the part of the last second it still covers.
    return this.bucket + this.previous * (1 - elapsed) > this.stormPerSecond;
  }

  get pending(): number {
    return this.tasks.length - this.head;
  }

  /** Queues `task`; it starts on a later turn of the event loop, never inside the caller. */
  push(task: () => Promise<unknown>): void {
    this.tasks.push(task);
    this.queuedAt.push(this.now());
    setImmediate(() => this.pump());
  }

  private roll(): void {
    const now = this.now();
    if (now - this.bucketStart < 1000) return;
    this.previous = now - this.bucketStart < 2000 ? this.bucket : 0;
    this.bucket = 0;
    this.bucketStart = now - ((now - this.bucketStart) % 1000);
  }

  private pump(): void {
    if (this.pending === 0) return;
    if (this.storming && this.now() - this.queuedAt[this.head]! < AFTER_BOOT_MAX_HOLD_MS) {
      if (this.recheck === undefined) {
        this.recheck = setTimeout(() => {
          this.recheck = undefined;
          this.pump();
        }, STORM_RECHECK_MS);
        this.recheck.unref();
      }
      return;
    }
    while (this.running < this.concurrency && this.pending > 0) {
      const task = this.tasks[this.head]!;
      this.tasks[this.head++] = undefined as never;
      if (this.head > 1024 && this.head * 2 > this.tasks.length) {
        this.tasks.splice(0, this.head);
        this.queuedAt.splice(0, this.head);
        this.head = 0;
      }
      this.running++;
      task()
        .catch(() => {}) // each task logs its own failure
        .finally(() => {
          this.running--;
          this.pump();
        });
    }
  }
}

const queues = new WeakMap<object, AfterBootQueue>();

/** The after-boot queue of this central system (one per event bus), created on first use. */
export function afterBootQueue(central: { readonly events: EventSource }): AfterBootQueue {
  let q = queues.get(central.events);
  if (!q) {
    const queue = new AfterBootQueue();
    central.events.subscribe((e) => {
      if (e.type === 'charger.boot') queue.noteBoot();
    });
    queues.set(central.events, queue);
    q = queue;
  }
  return q;
}

/** Calls `fn` after each Accepted boot, through the after-boot queue; returns the unsubscribe. */
export function onAcceptedBoot(
  central: CentralHost,
  what: string,
  fn: (chargerId: string) => Promise<unknown>,
): () => void {
  const queue = afterBootQueue(central);
  return central.events.subscribe((e) => {
    if (e.type !== 'charger.boot' || e.data.status !== 'Accepted' || !e.chargerId) return;
    const chargerId = e.chargerId;
    // The event comes from inside the boot handler: the queue starts the task on a later turn,
    // once its BootNotification.conf is out, since a charger acts on calls only once it knows
    // it is Accepted.
    queue.push(() =>
      fn(chargerId).catch((err) => central.log.warn({ chargerId, err: (err as Error).message }, `${what} failed`)),
    );
  });
}

// ---------------------------------------------------------------- triggers on connect

/** What to ask a charger for when it connects or boots (OCPP 1.6 §5.17 TriggerMessage), or nothing. */
export type ConnectTrigger = 'StatusNotification' | 'BootNotification' | null;

/**
 * The decision, as a pure function. A model without TriggerMessage (vendor table: Weidmüller) is
 * never asked. After an Accepted boot, and on a reconnect of a charger Accepted before, Ampere asks
 * for StatusNotification so its connector states are fresh. A BootNotification is asked for only
 * from a charger that was never Accepted on this server and has not booted on this connection:
 * triggering a boot after one was Accepted is refused (central-system.ts).
 */
export function connectTrigger(s: {
  enabled: boolean;
  supportsTrigger: boolean;
  /** `boot`: its BootNotification was just answered Accepted; `quiet`: connected and said no boot. */
  moment: 'boot' | 'quiet';
  /** The answer to its last BootNotification on this server, if Ampere remembers one. */
  bootAnswer: BootAnswer | undefined;
  /** The store shows an Accepted charger that has booted here before (kept across restarts). */
  acceptedBefore: boolean;
}): ConnectTrigger {
  if (!s.enabled || !s.supportsTrigger) return null;
  if (s.moment === 'boot') return 'StatusNotification';
  if (s.bootAnswer === 'Accepted' || s.acceptedBefore) return 'StatusNotification';
  // Pending or Rejected: the approval flow asks it to boot again when the operator approves.
  if (s.bootAnswer === undefined) return 'BootNotification';
  return null;
}

const CONNECT_TRIGGERS_SETTING = 'connect-triggers';

/** How long after an Accepted boot a charger has to report its connectors before it is asked to. */
export const CONNECT_TRIGGER_AFTER_BOOT_MS = 2000;

export interface ConnectTriggersOptions {
  /** The default (--connect-triggers) until an operator changes it through the API. */
  enabledByDefault: boolean;
  /** How long a new connection may stay quiet before Ampere asks (a charger that boots says so first). */
  quietMs: number;
  /**
   * How long after an Accepted boot Ampere waits for the charger's own StatusNotification before
   * asking for one. Most chargers report every connector right after their boot is accepted;
   * asking them at once doubles that traffic, and in a reconnect storm it competes with the boots.
   */
  afterBootMs: number;
  /** Runs `fn` after `ms` (the composition root's timers; tests may drive their own). */
  schedule(fn: () => void, ms: number): void;
}

/** The setting, readable and changeable through the API (GET/PUT /api/connect-triggers). */
export class ConnectTriggers {
  private readonly booted = new WeakSet<ChargerLink>();
  /** Connections whose charger sent a StatusNotification (since its last boot): nothing to ask. */
  private readonly reported = new WeakSet<ChargerLink>();
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly central: LocalCentral,
    private readonly opts: ConnectTriggersOptions,
  ) {}

  async enabled(): Promise<boolean> {
    const raw = await this.central.store.getSetting(CONNECT_TRIGGERS_SETTING);
    return raw === null ? this.opts.enabledByDefault : raw === 'on';
  }

  async setEnabled(enabled: boolean): Promise<boolean> {
    await this.central.store.setSetting(CONNECT_TRIGGERS_SETTING, enabled ? 'on' : 'off');
    return enabled;
  }

  start(): void {
    this.unsubscribe = this.central.events.subscribe((e) => {
      if (!e.chargerId) return;
      if (e.type !== 'connector.status' && e.type !== 'charger.boot' && e.type !== 'charger.connected') return;
      const link = this.central.link(e.chargerId);
      if (!link) return;
      if (e.type === 'connector.status') {
        this.reported.add(link);
      } else if (e.type === 'charger.boot') {
        this.booted.add(link);
        // A reboot makes the states reported before it stale: wait for fresh ones.
        this.reported.delete(link);
        if (e.data.status === 'Accepted') this.opts.schedule(() => this.queue(link, 'boot'), this.opts.afterBootMs);
      } else if (e.type === 'charger.connected') {
        this.opts.schedule(() => this.queue(link, 'quiet'), this.opts.quietMs);
      }
    });
  }

  stop(): void {
    this.unsubscribe?.();
  }

  /** Through the after-boot queue: a reconnect storm's boots come first. */
  private queue(link: ChargerLink, moment: 'boot' | 'quiet'): void {
    if (link.closed) return;
    afterBootQueue(this.central).push(() => this.run(link, moment));
  }

  private async run(link: ChargerLink, moment: 'boot' | 'quiet'): Promise<void> {
    const id = link.chargerId;
    if (link.closed || this.central.link(id) !== link || (moment === 'quiet' && this.booted.has(link))) return;
    // It reported its connectors by itself after its boot: their states are fresh, nothing to ask.
    if (moment === 'boot' && this.reported.has(link)) return;
    try {
      const record = await this.central.store.getCharger(id);
      const trigger = connectTrigger({
        enabled: await this.enabled(),
        supportsTrigger: record ? supportsTriggerMessage(record) : true,
        moment,
        bootAnswer: link.bootAnswer,
        acceptedBefore: record?.registration === 'accepted' && record.lastBootAt !== null,
      });
      if (trigger === null || link.closed) return;
      if (trigger === 'StatusNotification' && this.reported.has(link)) return;
      const { status } = await this.central.call(id, 'TriggerMessage', { requestedMessage: trigger });
      this.central.log.info({ chargerId: id, trigger, status }, 'trigger on connect');
    } catch (err) {
      this.central.log.info({ chargerId: id, err: (err as Error).message }, 'trigger on connect not sent');
    }
  }
}
