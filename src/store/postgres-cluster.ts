// The cluster backplane on PostgreSQL (cluster.ts): the nodes table with heartbeats, one claim row
// per connected charger, the cluster's event table, and LISTEN/NOTIFY on one dedicated connection
// for connection notices, routed messages (payloads above the NOTIFY limit go through a table) and
// "new events" notices. Tables are migration 15 (postgres-migrations.ts).
import { createHash, randomUUID } from 'node:crypto';
import pg from 'pg';
import type {
  ClusterBackplane,
  ClusterEventInput,
  ClusterEventRow,
  ConnectionNotice,
  LocalConnection,
  NodeRecord,
  NodesGoneNotice,
} from './cluster.ts';
import { StoreError } from './errors.ts';
import { migratePostgres } from './postgres-migrations.ts';
import { toIso, toIsoOrNull } from './time.ts';

export interface PostgresClusterOptions {
  url: string;
  nodeId: string;
  /** Query connections besides the one that listens. Default 4. */
  poolSize?: number;
  /** How long to wait before connecting the listener again after it was lost (ms). Default 1000. */
  relistenMs?: number;
}

const CONNECTIONS = 'ampere_cluster_connections';
const EVENTS = 'ampere_cluster_events';
/** PostgreSQL's NOTIFY payload limit is 8000 bytes; leave room for the channel's bookkeeping. */
export const NOTIFY_LIMIT = 7900;
/** The advisory lock that makes event ids grow in commit order (readers never see a gap filled later). */
const EVENT_LOCK = "hashtext('ampere.cluster_events')";

/** The channel of one node: a hash keeps any node id within the 63 bytes of an identifier. */
export function nodeChannel(nodeId: string): string {
  return `ampere_node_${createHash('sha256').update(nodeId).digest('hex').slice(0, 32)}`;
}

export async function openPostgresCluster(opts: PostgresClusterOptions): Promise<PostgresCluster> {
  if (opts.nodeId === '' || opts.nodeId.length > 200)
    throw new StoreError('AMPERE_ERR_STORE_INVALID', 'node id: 1 to 200 characters');
  const config: pg.ClientConfig = { connectionString: opts.url, application_name: `ampere-node ${opts.nodeId}` };
  const pool = new pg.Pool({ ...config, max: opts.poolSize ?? 4 });
  pool.on('error', () => {});
  try {
    const c = await pool.connect();
    try {
      await migratePostgres(c);
    } finally {
      c.release();
    }
    const cluster = new PostgresCluster(opts, config, pool);
    await cluster.listen();
    return cluster;
  } catch (err) {
    await pool.end().catch(() => {});
    throw err;
  }
}

type Listener<T> = (v: T) => void;

export class PostgresCluster implements ClusterBackplane {
  readonly nodeId: string;
  readonly #channel: string;
  readonly #config: pg.ClientConfig;
  readonly #pool: pg.Pool;
  readonly #relistenMs: number;
  #listener: pg.Client | undefined;
  #closed = false;
  #relistenTimer: NodeJS.Timeout | undefined;
  readonly #onConnection: Listener<ConnectionNotice | NodesGoneNotice>[] = [];
  readonly #onMessage: Listener<string>[] = [];
  readonly #onEvents: Listener<number>[] = [];
  readonly #onResync: Listener<void>[] = [];
  /** Queries under way, so close() lets them finish. */
  readonly #busy = new Set<Promise<unknown>>();

  constructor(opts: PostgresClusterOptions, config: pg.ClientConfig, pool: pg.Pool) {
    this.nodeId = opts.nodeId;
    this.#channel = nodeChannel(opts.nodeId);
    this.#config = config;
    this.#pool = pool;
    this.#relistenMs = opts.relistenMs ?? 1000;
  }

  // ------------------------------------------------------------------ notices

  /** Connects the listening client; called again when it is lost (then readers resync). */
  async listen(): Promise<void> {
    const client = new pg.Client(this.#config);
    client.on('error', () => this.#lost(client));
    client.on('end', () => this.#lost(client));
    client.on('notification', (n) => this.#notified(n.channel, n.payload ?? ''));
    await client.connect();
    await client.query(`LISTEN ${CONNECTIONS}; LISTEN ${EVENTS}; LISTEN ${this.#channel}`);
    this.#listener = client;
  }

  #lost(client: pg.Client): void {
    if (this.#listener !== client || this.#closed) return;
    this.#listener = undefined;
    client.end().catch(() => {});
    const retry = () => {
      this.#relistenTimer = undefined;
      if (this.#closed) return;
      this.listen().then(
        () => {
          for (const fn of this.#onResync) fn();
        },
        () => {
          this.#relistenTimer = setTimeout(retry, this.#relistenMs);
          this.#relistenTimer.unref();
        },
      );
    };
    this.#relistenTimer = setTimeout(retry, this.#relistenMs);
    this.#relistenTimer.unref();
  }

  #notified(channel: string, payload: string): void {
    if (channel === CONNECTIONS) {
      let notice: ConnectionNotice | NodesGoneNotice;
      try {
        const p = JSON.parse(payload) as { c?: string; n?: string | null; l?: string | null; gone?: string[] };
        notice = p.gone ? { goneNodes: p.gone } : { chargerId: p.c!, nodeId: p.n ?? null, linkId: p.l ?? null };
      } catch {
        return;
      }
      for (const fn of this.#onConnection) fn(notice);
    } else if (channel === EVENTS) {
      const last = Number(payload);
      if (Number.isFinite(last)) for (const fn of this.#onEvents) fn(last);
    } else if (channel === this.#channel) {
      if (!payload.startsWith('@')) {
        for (const fn of this.#onMessage) fn(payload);
        return;
      }
      // A large payload: the notice carries only the key of its row.
      this.#track(this.#pool.query('DELETE FROM cluster_payloads WHERE id = $1 RETURNING body', [payload.slice(1)]))
        .then((r) => {
          const body = r.rows[0]?.body as string | undefined;
          if (body !== undefined) for (const fn of this.#onMessage) fn(body);
        })
        .catch(() => {});
    }
  }

  onConnection(fn: Listener<ConnectionNotice | NodesGoneNotice>): void {
    this.#onConnection.push(fn);
  }

  onMessage(fn: Listener<string>): void {
    this.#onMessage.push(fn);
  }

  onEvents(fn: Listener<number>): void {
    this.#onEvents.push(fn);
  }

  onResync(fn: () => void): void {
    this.#onResync.push(fn);
  }

  #track<T>(p: Promise<T>): Promise<T> {
    this.#busy.add(p);
    const done = () => this.#busy.delete(p);
    p.then(done, done);
    return p;
  }

  #query(sql: string, params: unknown[] = []): Promise<pg.QueryResult> {
    if (this.#closed)
      return Promise.reject(new StoreError('AMPERE_ERR_STORE_CLOSED', 'The cluster backplane is closed'));
    return this.#track(this.#pool.query(sql, params));
  }

  /** Runs `fn` in one transaction on one pooled connection. */
  async #transaction<T>(
    fn: (q: (sql: string, params?: unknown[]) => Promise<pg.QueryResult>) => Promise<T>,
  ): Promise<T> {
    if (this.#closed) throw new StoreError('AMPERE_ERR_STORE_CLOSED', 'The cluster backplane is closed');
    const work = (async () => {
      const c = await this.#pool.connect();
      try {
        await c.query('BEGIN');
        const out = await fn((sql, params = []) => c.query(sql, params));
        await c.query('COMMIT');
        return out;
      } catch (err) {
        await c.query('ROLLBACK').catch(() => {});
        throw err;
      } finally {
        c.release();
      }
    })();
    return this.#track(work);
  }

  // ------------------------------------------------------------------ nodes

  /** Deletes the claims of `nodes` and marks their chargers offline, in the caller's transaction. */
  async #releaseNodes(
    q: (sql: string, params?: unknown[]) => Promise<pg.QueryResult>,
    nodes: string[],
    at: number,
  ): Promise<string[]> {
    const gone = await q('DELETE FROM cluster_connections WHERE node_id = ANY($1::text[]) RETURNING charger_id', [
      nodes,
    ]);
    const chargers = gone.rows.map((r) => r.charger_id as string);
    if (chargers.length > 0) {
      await q(
        'UPDATE chargers SET connected = false, last_seen_at = greatest(last_seen_at, $2::bigint) WHERE id = ANY($1::text[])',
        [chargers, at],
      );
    }
    await q('SELECT pg_notify($1, $2)', [CONNECTIONS, JSON.stringify({ gone: nodes })]);
    return chargers;
  }

  register(address: string | null, at: number): Promise<string[]> {
    return this.#transaction(async (q) => {
      await q(
        `INSERT INTO cluster_nodes (id, address, started_at, heartbeat_at, alive, stopped_at)
         VALUES ($1, $2, $3, $3, true, NULL)
         ON CONFLICT (id) DO UPDATE SET address = excluded.address, started_at = excluded.started_at,
           heartbeat_at = excluded.heartbeat_at, alive = true, stopped_at = NULL`,
        [this.nodeId, address, at],
      );
      return this.#releaseNodes(q, [this.nodeId], at);
    });
  }

  async setAddress(address: string): Promise<void> {
    await this.#query('UPDATE cluster_nodes SET address = $2 WHERE id = $1', [this.nodeId, address]);
  }

  async heartbeat(at: number): Promise<boolean> {
    const r = await this.#query(
      'UPDATE cluster_nodes SET heartbeat_at = greatest(heartbeat_at, $2::bigint) WHERE id = $1 AND alive RETURNING 1',
      [this.nodeId, at],
    );
    return (r.rowCount ?? 0) > 0;
  }

  sweep(at: number, deadAfterMs: number, orphans = false): Promise<{ deadNodes: string[]; chargers: string[] }> {
    return this.#transaction(async (q) => {
      const dead = await q(
        'UPDATE cluster_nodes SET alive = false WHERE alive AND heartbeat_at < $1::bigint AND id <> $2 RETURNING id',
        [at - deadAfterMs, this.nodeId],
      );
      const deadNodes = dead.rows.map((r) => r.id as string);
      const chargers = deadNodes.length > 0 ? await this.#releaseNodes(q, deadNodes, at) : [];
      if (orphans) {
        // Flagged connected by a start before the cluster, or by a node whose rows are gone.
        const left = await q(
          `UPDATE chargers c SET connected = false WHERE connected
             AND NOT EXISTS (SELECT 1 FROM cluster_connections cc WHERE cc.charger_id = c.id) RETURNING id`,
        );
        for (const r of left.rows) chargers.push(r.id as string);
      }
      return { deadNodes, chargers };
    });
  }

  stop(at: number): Promise<string[]> {
    return this.#transaction(async (q) => {
      await q('UPDATE cluster_nodes SET alive = false, stopped_at = $2 WHERE id = $1', [this.nodeId, at]);
      return this.#releaseNodes(q, [this.nodeId], at);
    });
  }

  async nodes(): Promise<NodeRecord[]> {
    const r = await this.#query(
      `SELECT n.*, (SELECT count(*) FROM cluster_connections cc WHERE cc.node_id = n.id)::int AS chargers
         FROM cluster_nodes n ORDER BY n.id`,
    );
    return r.rows.map((n) => ({
      id: n.id,
      address: n.address,
      startedAt: toIso(Number(n.started_at)),
      heartbeatAt: toIso(Number(n.heartbeat_at)),
      alive: n.alive,
      stoppedAt: toIsoOrNull(n.stopped_at === null ? null : Number(n.stopped_at)),
      chargers: n.chargers,
    }));
  }

  // ------------------------------------------------------------------ connections

  async claim(c: LocalConnection, at: number): Promise<string | null> {
    const r = await this.#query(
      `WITH prev AS (SELECT node_id FROM cluster_connections WHERE charger_id = $1 FOR UPDATE),
       up AS (
         INSERT INTO cluster_connections (charger_id, node_id, link_id, remote_address, connected_at)
         VALUES ($1, $2, $3, $4, $5)
         ON CONFLICT (charger_id) DO UPDATE SET node_id = excluded.node_id, link_id = excluded.link_id,
           remote_address = excluded.remote_address, connected_at = excluded.connected_at),
       ch AS (
         UPDATE chargers SET connected = true, remote_address = coalesce($4, remote_address),
           last_seen_at = greatest(last_seen_at, $6::bigint) WHERE id = $1)
       SELECT (SELECT node_id FROM prev) AS prev, pg_notify($7, $8)`,
      [
        c.chargerId,
        this.nodeId,
        c.linkId,
        c.remoteAddress,
        c.connectedAt,
        at,
        CONNECTIONS,
        JSON.stringify({ c: c.chargerId, n: this.nodeId, l: c.linkId }),
      ],
    );
    return (r.rows[0]?.prev as string | null | undefined) ?? null;
  }

  async release(chargerId: string, linkId: string, at: number): Promise<boolean> {
    // Conditional: a claim another node (or a newer link here) made meanwhile stays untouched.
    const r = await this.#query(
      `WITH del AS (
         DELETE FROM cluster_connections WHERE charger_id = $1 AND node_id = $2 AND link_id = $3 RETURNING charger_id),
       ch AS (
         UPDATE chargers SET connected = false, last_seen_at = greatest(last_seen_at, $4::bigint)
          WHERE id IN (SELECT charger_id FROM del))
       SELECT pg_notify($5, $6) FROM del`,
      [chargerId, this.nodeId, linkId, at, CONNECTIONS, JSON.stringify({ c: chargerId, n: null, l: null })],
    );
    return (r.rowCount ?? 0) > 0;
  }

  reclaim(links: readonly LocalConnection[], at: number): Promise<string[]> {
    if (links.length === 0) return Promise.resolve([]);
    return this.#transaction(async (q) => {
      const ins = await q(
        `INSERT INTO cluster_connections (charger_id, node_id, link_id, remote_address, connected_at)
         SELECT t.c, $1, t.l, t.a, t.t FROM unnest($2::text[], $3::text[], $4::text[], $5::bigint[]) AS t(c, l, a, t)
         ON CONFLICT (charger_id) DO NOTHING RETURNING charger_id, link_id`,
        [
          this.nodeId,
          links.map((l) => l.chargerId),
          links.map((l) => l.linkId),
          links.map((l) => l.remoteAddress),
          links.map((l) => l.connectedAt),
        ],
      );
      const won = new Set(ins.rows.map((r) => r.charger_id as string));
      if (won.size > 0) {
        await q(
          'UPDATE chargers SET connected = true, last_seen_at = greatest(last_seen_at, $2::bigint) WHERE id = ANY($1::text[])',
          [[...won], at],
        );
      }
      for (const l of links) {
        if (won.has(l.chargerId)) {
          await q('SELECT pg_notify($1, $2)', [
            CONNECTIONS,
            JSON.stringify({ c: l.chargerId, n: this.nodeId, l: l.linkId }),
          ]);
        }
      }
      return links.filter((l) => !won.has(l.chargerId)).map((l) => l.chargerId);
    });
  }

  async connections(): Promise<Map<string, string>> {
    const r = await this.#query(
      `SELECT cc.charger_id, cc.node_id FROM cluster_connections cc
         JOIN cluster_nodes n ON n.id = cc.node_id WHERE n.alive`,
    );
    return new Map(r.rows.map((row) => [row.charger_id as string, row.node_id as string]));
  }

  // ------------------------------------------------------------------ routed messages

  async send(nodeId: string, text: string): Promise<void> {
    const channel = nodeChannel(nodeId);
    if (Buffer.byteLength(text) <= NOTIFY_LIMIT) {
      await this.#query('SELECT pg_notify($1, $2)', [channel, text]);
      return;
    }
    const id = randomUUID();
    await this.#query(
      `WITH ins AS (INSERT INTO cluster_payloads (id, body, created_at) VALUES ($1, $2, $3))
       SELECT pg_notify($4, $5)`,
      [id, text, Date.now(), channel, `@${id}`],
    );
  }

  // ------------------------------------------------------------------ events

  appendEvents(rows: readonly ClusterEventInput[]): Promise<number> {
    if (rows.length === 0) return Promise.resolve(0);
    return this.#transaction(async (q) => {
      await q(`SELECT pg_advisory_xact_lock(${EVENT_LOCK})`);
      const r = await q(
        `WITH ins AS (
           INSERT INTO cluster_events (node_id, type, charger_id, at, data)
           SELECT $1, t.type, t.charger_id, t.at, t.data
             FROM unnest($2::text[], $3::text[], $4::text[], $5::text[]) WITH ORDINALITY AS t(type, charger_id, at, data, n)
            ORDER BY t.n
           RETURNING id)
         SELECT last, pg_notify($6, last::text) FROM (SELECT max(id) AS last FROM ins) s`,
        [
          this.nodeId,
          rows.map((e) => e.type),
          rows.map((e) => e.chargerId),
          rows.map((e) => e.at),
          rows.map((e) => e.data),
          EVENTS,
        ],
      );
      return Number(r.rows[0].last);
    });
  }

  async eventsAfter(id: number, limit: number): Promise<ClusterEventRow[]> {
    const r = await this.#query(
      'SELECT id, node_id, type, charger_id, at, data FROM cluster_events WHERE id > $1 ORDER BY id LIMIT $2',
      [id, limit],
    );
    return r.rows.map((e) => ({
      id: Number(e.id),
      nodeId: e.node_id,
      type: e.type,
      chargerId: e.charger_id,
      at: e.at,
      data: e.data,
    }));
  }

  async eventBounds(): Promise<{ oldest: number; last: number }> {
    const r = await this.#query(
      'SELECT coalesce(min(id), 0) AS oldest, coalesce(max(id), 0) AS last FROM cluster_events',
    );
    return { oldest: Number(r.rows[0].oldest), last: Number(r.rows[0].last) };
  }

  async trim(keep: number, at: number): Promise<void> {
    await this.#query('DELETE FROM cluster_events WHERE id <= (SELECT max(id) FROM cluster_events) - $1', [keep]);
    await this.#query('DELETE FROM cluster_payloads WHERE created_at < $1', [at - 10 * 60_000]);
  }

  async close(): Promise<void> {
    if (this.#closed) return;
    await Promise.allSettled([...this.#busy]);
    this.#closed = true;
    if (this.#relistenTimer) clearTimeout(this.#relistenTimer);
    const l = this.#listener;
    this.#listener = undefined;
    await Promise.all([l?.end().catch(() => {}), this.#pool.end().catch(() => {})]);
  }
}
