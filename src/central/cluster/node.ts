// This process as one node of a cluster: registers itself, heartbeats, declares dead the nodes
// that stopped heartbeating (only their chargers go offline), and recovers when it finds itself
// declared dead (a long pause, a partition): it registers again and claims again the sockets it
// still holds, dropping those whose chargers meanwhile reconnected to another node.
import type { Logger } from 'pino';
import type { ClusterBackplane } from '../../store/cluster.ts';
import type { Clock, EventSink, Timers } from '../ports.ts';
import type { ClusterDirectory } from './directory.ts';

export interface ClusterNodeSettings {
  /** How often this node writes its heartbeat and looks for dead nodes (ms). */
  heartbeatMs: number;
  /** A node whose last heartbeat is older than this is dead (ms); several heartbeats. */
  deadAfterMs: number;
  /** Events kept in the cluster's event table for Last-Event-ID resume. */
  keepEvents: number;
}

export interface ClusterNodeOptions {
  backplane: ClusterBackplane;
  directory: ClusterDirectory;
  events: EventSink;
  clock: Clock;
  timers: Timers;
  log: Logger;
  settings: ClusterNodeSettings;
  /** What this node listens on, shown to operators. */
  address: string | null;
}

/** Trimming the event table every this many heartbeats. */
const TRIM_EVERY = 30;

export class ClusterNode {
  readonly id: string;
  private readonly o: ClusterNodeOptions;
  private timer: unknown;
  private ticks = 0;
  private running: Promise<void> | undefined;
  private registeredFlag = false;
  private stopped = false;

  constructor(o: ClusterNodeOptions) {
    this.o = o;
    this.id = o.backplane.nodeId;
  }

  /** True once registered and while the last heartbeat found this node alive (a readiness check). */
  get registered(): boolean {
    return this.registeredFlag;
  }

  /**
   * Registers, declares dead the nodes that stopped heartbeating, marks offline what no live
   * node holds (never every charger: the other nodes' stay connected), reads the claims.
   */
  async start(): Promise<void> {
    const { backplane, clock, log } = this.o;
    const released = await backplane.register(this.o.address, clock.now());
    if (released.length > 0) log.info({ chargers: released.length }, 'cluster: released the claims of this node id');
    await this.sweep(true);
    await this.o.directory.load();
    this.registeredFlag = true;
    log.info({ nodeId: this.id }, 'cluster: node registered');
    this.schedule();
  }

  private schedule(): void {
    if (this.stopped) return;
    this.timer = this.o.timers.setTimeout(() => {
      this.running = this.tick().finally(() => {
        this.running = undefined;
        this.schedule();
      });
    }, this.o.settings.heartbeatMs);
  }

  /** One heartbeat: alive check (and recovery), a sweep for dead nodes, now and then a trim. */
  async tick(): Promise<void> {
    const { backplane, directory, clock, log } = this.o;
    try {
      const alive = await backplane.heartbeat(clock.now());
      if (!alive) {
        this.registeredFlag = false;
        log.warn({ nodeId: this.id }, 'cluster: this node was declared dead; registering again');
        await backplane.register(this.o.address, clock.now());
        await this.reclaim(directory.localConnections());
        this.registeredFlag = true;
      } else {
        const unclaimed = directory.localConnections(true);
        if (unclaimed.length > 0) await this.reclaim(unclaimed);
      }
      await this.sweep(false);
      if (++this.ticks % TRIM_EVERY === 0) await backplane.trim(this.o.settings.keepEvents, clock.now());
    } catch (e) {
      log.warn({ err: e }, 'cluster: heartbeat failed');
    }
  }

  private async reclaim(links: ReturnType<ClusterDirectory['localConnections']>): Promise<void> {
    const lost = await this.o.backplane.reclaim(links, this.o.clock.now());
    this.o.directory.reclaimed(
      links.filter((l) => !lost.includes(l.chargerId)),
      lost,
    );
    if (lost.length > 0) this.o.log.info({ chargers: lost }, 'cluster: connections now held by other nodes dropped');
  }

  private async sweep(orphans: boolean): Promise<void> {
    const { backplane, clock, log, events, settings } = this.o;
    const { deadNodes, chargers } = await backplane.sweep(clock.now(), settings.deadAfterMs, orphans);
    if (deadNodes.length > 0) log.warn({ deadNodes, chargers: chargers.length }, 'cluster: nodes declared dead');
    const reason = deadNodes.length > 0 ? `node ${deadNodes.join(', ')} stopped heartbeating` : 'no node holds it';
    for (const id of chargers) events.emit('charger.disconnected', id, { reason });
  }

  /** Orderly stop: no more heartbeats; this node's claims are released (its chargers go offline). */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer !== undefined) this.o.timers.clearTimeout(this.timer);
    await this.running;
    this.registeredFlag = false;
    await this.o.backplane.stop(this.o.clock.now()).catch((e) => this.o.log.warn({ err: e }, 'cluster: stop failed'));
  }
}
