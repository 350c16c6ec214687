// Who holds which charger, over every node: kept in memory from the cluster's connection notices
// and consistent with the claim rows in the database (loaded at start and after a lost listener).
// It is also this node's ConnectionRecorder: every local connection is claimed for this node, and
// a claim by another node for a charger connected here means the local socket is stale (takeover).
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import type { ClusterBackplane, ConnectionNotice, LocalConnection, NodesGoneNotice } from '../../store/cluster.ts';
import type { ChargerLink, ConnectionRecorder } from '../central-system.ts';
import type { ChargerDirectory, Clock } from '../ports.ts';

interface Local {
  link: ChargerLink;
  linkId: string;
  /** Our claim's own notice came back: any later claim by another node is newer than ours. */
  confirmed: boolean;
  /** The claim failed (database unreachable); the node's next tick claims it again. */
  unclaimed: boolean;
}

export interface ClusterDirectoryOptions {
  backplane: ClusterBackplane;
  clock: Clock;
  log: Logger;
}

export class ClusterDirectory implements ChargerDirectory, ConnectionRecorder {
  readonly nodeId: string;
  private readonly backplane: ClusterBackplane;
  private readonly clock: Clock;
  private readonly log: Logger;
  /** Charger id → node id, for chargers held by other nodes (and this one). */
  private readonly holders = new Map<string, string>();
  /** This node's connections: the local truth, whatever the notices say. */
  private readonly local = new Map<string, Local>();
  private readonly takeoverListeners: ((chargerId: string, toNode: string) => void)[] = [];

  constructor(opts: ClusterDirectoryOptions) {
    this.backplane = opts.backplane;
    this.nodeId = opts.backplane.nodeId;
    this.clock = opts.clock;
    this.log = opts.log;
    opts.backplane.onConnection((n) => this.notice(n));
    opts.backplane.onResync(() => {
      this.load().catch((e) => this.log.warn({ err: e }, 'cluster: could not reload the connection claims'));
    });
  }

  /** Reads every live node's claims (at start, and when notices may have been missed). */
  async load(): Promise<void> {
    const rows = await this.backplane.connections();
    this.holders.clear();
    for (const [chargerId, nodeId] of rows) if (nodeId !== this.nodeId) this.holders.set(chargerId, nodeId);
    for (const id of this.local.keys()) this.holders.set(id, this.nodeId);
  }

  /** Called with the charger and the node that holds it now, when a local socket became stale. */
  onTakeover(fn: (chargerId: string, toNode: string) => void): void {
    this.takeoverListeners.push(fn);
  }

  // ------------------------------------------------------------------ ChargerDirectory

  isConnected(chargerId: string): boolean {
    return this.local.has(chargerId) || this.holders.has(chargerId);
  }

  connectedIds(): string[] {
    return [...this.holders.keys()];
  }

  /** The node holding the charger, this node's id when it is connected here; undefined when none. */
  nodeOf(chargerId: string): string | undefined {
    return this.local.has(chargerId) ? this.nodeId : this.holders.get(chargerId);
  }

  /** Chargers held per node (GET /api/nodes counts the same from the database). */
  countByNode(): Map<string, number> {
    const out = new Map<string, number>();
    for (const node of this.holders.values()) out.set(node, (out.get(node) ?? 0) + 1);
    return out;
  }

  // ------------------------------------------------------------------ ConnectionRecorder

  async opened(link: ChargerLink): Promise<void> {
    const entry: Local = { link, linkId: randomUUID(), confirmed: false, unclaimed: false };
    this.local.set(link.chargerId, entry);
    this.holders.set(link.chargerId, this.nodeId);
    try {
      const before = await this.backplane.claim(this.connection(entry), this.clock.now());
      if (before !== null && before !== this.nodeId) {
        this.log.info(
          { chargerId: link.chargerId, fromNode: before },
          'cluster: connection taken over from another node',
        );
      }
    } catch (e) {
      // The charger is served here all the same; the claim is retried at the next heartbeat.
      entry.unclaimed = true;
      this.log.warn({ err: e, chargerId: link.chargerId }, 'cluster: could not claim the connection');
    }
  }

  async closed(link: ChargerLink): Promise<boolean> {
    const entry = this.local.get(link.chargerId);
    if (!entry || entry.link !== link) return false;
    this.local.delete(link.chargerId);
    if (this.holders.get(link.chargerId) === this.nodeId) this.holders.delete(link.chargerId);
    if (entry.unclaimed) return true;
    return this.backplane.release(link.chargerId, entry.linkId, this.clock.now());
  }

  /** This node's connections, for claiming them again (see ClusterNode). */
  localConnections(onlyUnclaimed = false): LocalConnection[] {
    const out: LocalConnection[] = [];
    for (const e of this.local.values()) if (!onlyUnclaimed || e.unclaimed) out.push(this.connection(e));
    return out;
  }

  /** Claims were written again for these; the others (`lost`) are held by other nodes now. */
  reclaimed(claimed: readonly LocalConnection[], lost: readonly string[]): void {
    const gone = new Set(lost);
    for (const c of claimed) {
      const e = this.local.get(c.chargerId);
      if (e && e.linkId === c.linkId) e.unclaimed = false;
    }
    for (const id of gone) {
      const e = this.local.get(id);
      if (!e) continue;
      this.local.delete(id);
      for (const fn of this.takeoverListeners) fn(id, this.holders.get(id) ?? 'another node');
    }
  }

  private connection(e: Local): LocalConnection {
    return {
      chargerId: e.link.chargerId,
      linkId: e.linkId,
      remoteAddress: e.link.remoteAddress,
      connectedAt: e.link.connectedAt,
    };
  }

  // ------------------------------------------------------------------ notices

  private notice(n: ConnectionNotice | NodesGoneNotice): void {
    if ('goneNodes' in n) {
      const gone = new Set(n.goneNodes);
      for (const [id, node] of this.holders) if (gone.has(node) && !this.local.has(id)) this.holders.delete(id);
      return;
    }
    const mine = this.local.get(n.chargerId);
    if (n.nodeId === null) {
      if (!mine) this.holders.delete(n.chargerId);
      return;
    }
    if (n.nodeId === this.nodeId) {
      if (mine && mine.linkId === n.linkId) mine.confirmed = true;
      this.holders.set(n.chargerId, this.nodeId);
      return;
    }
    this.holders.set(n.chargerId, n.nodeId);
    // Notices arrive in commit order: a claim by another node after ours was confirmed is newer,
    // so the charger reconnected there and our socket is half-open. Before confirmation the other
    // claim is older than ours, and ours wins.
    if (mine?.confirmed) {
      this.local.delete(n.chargerId);
      for (const fn of this.takeoverListeners) fn(n.chargerId, n.nodeId);
    } else if (mine) {
      this.holders.set(n.chargerId, this.nodeId);
    }
  }
}
