// The cluster backplane: what several `ampere serve` nodes on one database share (issue 13).
// Declared here, in the store room, so src/central/cluster/ builds on the interface only;
// postgres-cluster.ts implements it with tables and LISTEN/NOTIFY. No home-made protocol: every
// fact lives in a table, and a notice only says "look again" or carries a small routed message.

/** One registered node, as `GET /api/nodes` and `ampere nodes` show it. */
export interface NodeRecord {
  id: string;
  /** What the node listens on (host:port as it printed it), for operators. */
  address: string | null;
  startedAt: string;
  heartbeatAt: string;
  /** False once a node missed its heartbeats for the dead timeout, or stopped. */
  alive: boolean;
  stoppedAt: string | null;
  /** Chargers whose connection this node holds now. */
  chargers: number;
}

/** A charger's connection changed hands: `nodeId` null when no node holds it any more. */
export interface ConnectionNotice {
  chargerId: string;
  nodeId: string | null;
  linkId: string | null;
}

/** Every claim of these nodes is gone (declared dead, or stopped). */
export interface NodesGoneNotice {
  goneNodes: string[];
}

export interface LocalConnection {
  chargerId: string;
  linkId: string;
  remoteAddress: string | null;
  connectedAt: number;
}

/** One event as the cluster's event table keeps it; `id` is global and grows in commit order. */
export interface ClusterEventRow {
  id: number;
  nodeId: string;
  type: string;
  chargerId: string | null;
  at: string;
  /** The event's data as JSON text. */
  data: string;
}

export type ClusterEventInput = Omit<ClusterEventRow, 'id' | 'nodeId'>;

export interface ClusterBackplane {
  readonly nodeId: string;

  // ---- nodes
  /**
   * Registers (or re-registers) this node as alive. Claims a previous incarnation of the same
   * node id left behind are released; returns the chargers that were marked offline by that.
   */
  register(address: string | null, at: number): Promise<string[]>;
  /** What this node listens on, once it knows (after it registered, before it takes connections). */
  setAddress(address: string): Promise<void>;
  /** Records a heartbeat; false when this node was declared dead meanwhile (it must re-register). */
  heartbeat(at: number): Promise<boolean>;
  /**
   * Declares dead the nodes whose last heartbeat is older than `deadAfterMs`, releases their
   * claims and marks only their chargers offline; also marks offline chargers flagged connected
   * that no live node claims (left by a pre-cluster start) when `orphans` is set (at startup).
   */
  sweep(at: number, deadAfterMs: number, orphans?: boolean): Promise<{ deadNodes: string[]; chargers: string[] }>;
  /** Orderly stop: releases this node's claims (their chargers go offline) and marks it stopped. */
  stop(at: number): Promise<string[]>;
  nodes(): Promise<NodeRecord[]>;

  // ---- connections
  /** This node holds the charger now (overrides any other claim); returns the node that held it before. */
  claim(c: LocalConnection, at: number): Promise<string | null>;
  /** Ends the claim if it is still this link's; true when the charger is offline now. */
  release(chargerId: string, linkId: string, at: number): Promise<boolean>;
  /**
   * After this node was declared dead: claims again the live links no other node claimed
   * meanwhile; returns the chargers another node holds now (their local sockets are stale).
   */
  reclaim(links: readonly LocalConnection[], at: number): Promise<string[]>;
  /** Charger id → node id of every claim of a live node. */
  connections(): Promise<Map<string, string>>;
  onConnection(fn: (n: ConnectionNotice | NodesGoneNotice) => void): void;
  /** The notice connection was lost and is back: notices may have been missed, read the tables again. */
  onResync(fn: () => void): void;

  // ---- routed messages (command routing)
  /** Delivers a text to one node; texts too large for a notice go through a table. */
  send(nodeId: string, text: string): Promise<void>;
  onMessage(fn: (text: string) => void): void;

  // ---- events
  /** Appends events (one statement, ids in commit order) and announces the new last id; returns it. */
  appendEvents(rows: readonly ClusterEventInput[]): Promise<number>;
  eventsAfter(id: number, limit: number): Promise<ClusterEventRow[]>;
  /** The lowest and highest id kept (0, 0 when empty). */
  eventBounds(): Promise<{ oldest: number; last: number }>;
  onEvents(fn: (lastId: number) => void): void;
  /** Keeps the newest `keep` events and drops routed payloads nobody fetched. */
  trim(keep: number, at: number): Promise<void>;

  close(): Promise<void>;
}
