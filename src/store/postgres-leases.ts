// Leases across nodes on PostgreSQL: session-level advisory locks held on one dedicated connection.
// A lock belongs to the connection that took it, so a node that dies (kill -9, a crash, a lost
// network once TCP keepalive notices) loses its leases with its connection and another node can take
// them at once: no expiry to wait for, no clock shared between nodes. Used for the one
// smart-charging leader per site (src/central/smart/controller.ts).
import pg from 'pg';

export interface PostgresLeasesOptions {
  url: string;
  /** Called when the connection is lost: every lease this node held is gone with it. */
  onLost?: (err: Error) => void;
}

const NUDGE_CHANNEL = 'ampere_lease_nudge';

export class PostgresLeases {
  readonly shared = true;
  readonly #config: pg.ClientConfig;
  readonly #onLost: ((err: Error) => void) | undefined;
  #client: pg.Client | null = null;
  #connecting: Promise<pg.Client> | null = null;
  /** Leases this node holds on the current connection. */
  readonly #held = new Set<string>();
  #closed = false;
  readonly #nudged: Array<(name: string) => void> = [];

  constructor(opts: PostgresLeasesOptions) {
    this.#config = {
      connectionString: opts.url,
      keepAlive: true,
      keepAliveInitialDelayMillis: 5_000,
      application_name: 'ampere-leases',
    };
    this.#onLost = opts.onLost;
  }

  async acquire(name: string): Promise<boolean> {
    if (this.#closed) return false;
    if (this.#held.has(name)) return true;
    const client = await this.#connection();
    // One 64-bit key per name; pg_try_advisory_lock never waits (OCPP answers must not queue behind it).
    const r = await client.query<{ ok: boolean }>('SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok', [name]);
    const ok = r.rows[0]?.ok === true;
    if (ok && client === this.#client) this.#held.add(name);
    return ok && client === this.#client;
  }

  async release(name: string): Promise<void> {
    if (!this.#held.delete(name) || !this.#client) return;
    await this.#client.query('SELECT pg_advisory_unlock(hashtextextended($1, 0))', [name]);
  }

  /**
   * A NOTIFY to every node listening (the lease holder acts on it): a follower that saw a change of
   * a site's charger tells the site's leader, which may be another node. Fire and forget: the
   * leader also balances on its own every minute.
   */
  nudge(name: string): void {
    if (this.#closed) return;
    void this.#connection()
      .then((c) => c.query('SELECT pg_notify($1, $2)', [NUDGE_CHANNEL, name]))
      .catch(() => undefined);
  }

  onNudge(fn: (name: string) => void): void {
    this.#nudged.push(fn);
    // Listen from now on (the connection is opened on demand).
    void this.#connection().catch(() => undefined);
  }

  /** The leases held now (tests, the status route). */
  held(): string[] {
    return [...this.#held];
  }

  async close(): Promise<void> {
    this.#closed = true;
    this.#held.clear();
    const c = this.#client;
    this.#client = null;
    if (c) await c.end().catch(() => undefined);
  }

  #connection(): Promise<pg.Client> {
    if (this.#client) return Promise.resolve(this.#client);
    this.#connecting ??= (async () => {
      const client = new pg.Client(this.#config);
      const lost = (err: Error) => {
        if (this.#client !== client) return;
        this.#client = null;
        this.#held.clear();
        if (!this.#closed) this.#onLost?.(err);
      };
      client.on('error', lost);
      client.on('end', () => lost(new Error('connection to PostgreSQL ended')));
      client.on('notification', (msg) => {
        if (msg.channel !== NUDGE_CHANNEL || msg.payload === undefined) return;
        for (const fn of this.#nudged) fn(msg.payload);
      });
      try {
        await client.connect();
        await client.query(`LISTEN ${NUDGE_CHANNEL}`);
      } catch (e) {
        this.#connecting = null;
        throw e;
      }
      this.#client = client;
      this.#connecting = null;
      return client;
    })();
    return this.#connecting;
  }
}

export function openPostgresLeases(opts: PostgresLeasesOptions): PostgresLeases {
  return new PostgresLeases(opts);
}
