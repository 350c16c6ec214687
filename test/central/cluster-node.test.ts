// The node lifecycle of a cluster on PostgreSQL (src/central/cluster), on a real database with a
// fake clock: ticks are driven by the test, so no timer and no sleep decides a heartbeat.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { pino } from 'pino';
import { ClusterDirectory, ClusterNode } from '../../src/central/cluster/index.ts';
import type { ChargerLink } from '../../src/central/index.ts';
import { openPostgresCluster, type PostgresCluster } from '../../src/store/postgres-cluster.ts';
import { type FreshDatabase, freshDatabase, needsPostgres, pgBaseUrl } from '../helpers/cluster.ts';
import { until } from '../helpers/wait.ts';

const base = pgBaseUrl();
const HEARTBEAT_MS = 1000;
const DEAD_MS = 3000;
const log = pino({ level: 'silent' });

interface TestNode {
  backplane: PostgresCluster;
  directory: ClusterDirectory;
  node: ClusterNode;
  emitted: { type: string; chargerId: string | null; data: Record<string, unknown> }[];
  takenOver: [string, string][];
  open(chargerId: string): Promise<ChargerLink>;
}

if (base === undefined) {
  needsPostgres('cluster node lifecycle');
} else {
  describe('cluster node lifecycle (fake clock, real PostgreSQL)', () => {
    let db: FreshDatabase;
    let t = Date.parse('2026-12-01T12:00:00Z');
    const clock = { now: () => t };
    // Heartbeats are driven by calling tick(); these timers never fire.
    const timers = { setTimeout: () => 0, clearTimeout: () => {} };
    const made: TestNode[] = [];

    async function node(id: string): Promise<TestNode> {
      const backplane = await openPostgresCluster({ url: db.url, nodeId: id });
      const directory = new ClusterDirectory({ backplane, clock, log });
      const emitted: TestNode['emitted'] = [];
      const takenOver: [string, string][] = [];
      directory.onTakeover((c, n) => takenOver.push([c, n]));
      const n = new ClusterNode({
        backplane,
        directory,
        events: { emit: (type, chargerId, data = {}) => emitted.push({ type, chargerId, data }) },
        clock,
        timers,
        log,
        address: `${id}.example:8180`,
        settings: { heartbeatMs: HEARTBEAT_MS, deadAfterMs: DEAD_MS, keepEvents: 1000 },
      });
      await n.start();
      const tn: TestNode = {
        backplane,
        directory,
        node: n,
        emitted,
        takenOver,
        async open(chargerId) {
          // The directory reads only these fields of a link.
          const link = { chargerId, remoteAddress: '10.0.0.1', connectedAt: t } as ChargerLink;
          await directory.opened(link);
          return link;
        },
      };
      made.push(tn);
      return tn;
    }

    const connected = async (id: string) =>
      (await db.query<{ connected: boolean }>('SELECT connected FROM chargers WHERE id = $1', [id]))[0]!.connected;
    const holder = async (id: string) =>
      (await db.query<{ node_id: string }>('SELECT node_id FROM cluster_connections WHERE charger_id = $1', [id]))[0]
        ?.node_id;

    before(async () => {
      db = await freshDatabase(base);
      // The schema comes with the first backplane; the chargers' rows as a boot would leave them.
      (await openPostgresCluster({ url: db.url, nodeId: 'setup' })).close();
    });
    after(async () => {
      for (const n of made) await n.backplane.close();
      await db.drop();
    });

    async function charger(id: string, isConnected = false) {
      await db.query(
        `INSERT INTO chargers (id, registration, connected, created_at, updated_at) VALUES ($1, 'accepted', $2, $3, $3)`,
        [id, isConnected, t],
      );
    }

    it('a start marks offline only what no live node holds, never every charger', async () => {
      await charger('W-1', true); // left connected by a start before the cluster
      const b = await node('b');
      await charger('Y-1');
      await b.open('Y-1');
      assert.equal(await connected('Y-1'), true);
      const c = await node('c');
      assert.equal(await connected('W-1'), false);
      assert.deepEqual(c.emitted, []);
      assert.deepEqual(
        b.emitted.map((e) => [e.type, e.chargerId, e.data.reason]),
        [['charger.disconnected', 'W-1', 'no node holds it']],
      );
      assert.equal(await connected('Y-1'), true, "node c's start leaves node b's charger connected");
      await until(() => (c.directory.nodeOf('Y-1') === 'b' ? true : undefined));
    });

    it('a node that stops heartbeating is declared dead and only its chargers go offline', async () => {
      const a = await node('a');
      const [b] = made.filter((n) => n.node.id === 'b');
      await charger('X-1');
      await charger('X-2');
      await a.open('X-1');
      await a.open('X-2');
      await until(() => (b!.directory.nodeOf('X-2') === 'a' ? true : undefined));
      // b and c go on heartbeating; a is silent past the dead timeout.
      const c = made.find((n) => n.node.id === 'c')!;
      for (let i = 0; i <= DEAD_MS / HEARTBEAT_MS; i++) {
        t += HEARTBEAT_MS;
        await c.node.tick();
        await b!.node.tick();
      }
      assert.equal(await connected('X-1'), false);
      assert.equal(await connected('X-2'), false);
      assert.equal(await connected('Y-1'), true);
      const nodes = await b!.backplane.nodes();
      assert.deepEqual(
        nodes.filter((n) => n.id !== 'setup').map((n) => [n.id, n.alive, n.chargers]),
        [
          ['a', false, 0],
          ['b', true, 1],
          ['c', true, 0],
        ],
      );
      // One node announces it (whichever swept first), with the reason.
      const told = made
        .flatMap((n) => n.emitted)
        .filter((e) => e.type === 'charger.disconnected' && e.chargerId?.startsWith('X-'));
      assert.deepEqual(told.map((e) => e.chargerId).sort(), ['X-1', 'X-2']);
      assert.match(String(told[0]!.data.reason), /node a stopped heartbeating/);
      await until(() => (!b!.directory.isConnected('X-1') ? true : undefined));
    });

    it('a node declared dead while alive registers again: it claims its live sockets back, drops those another node took', async () => {
      const a = made.find((n) => n.node.id === 'a')!;
      const b = made.find((n) => n.node.id === 'b')!;
      // X-2 reconnected to b meanwhile; X-1's socket on a is still alive.
      await b.open('X-2');
      assert.equal(a.node.registered, true);
      await a.node.tick();
      assert.equal(a.node.registered, true);
      assert.equal(await holder('X-1'), 'a');
      assert.equal(await connected('X-1'), true);
      assert.equal(await holder('X-2'), 'b');
      assert.deepEqual(a.takenOver, [['X-2', 'b']]);
      const alive = (await a.backplane.nodes()).find((n) => n.id === 'a')!;
      assert.equal(alive.alive, true);
    });

    it("closing the old node's stale link does not overwrite the new node's claim", async () => {
      const a = made.find((n) => n.node.id === 'a')!;
      const c = made.find((n) => n.node.id === 'c')!;
      await charger('Z-1');
      const old = await a.open('Z-1');
      await c.open('Z-1');
      // A socket closing on a after c claimed: not offline, the claim stays c's.
      assert.equal(await a.directory.closed(old), false);
      assert.equal(await holder('Z-1'), 'c');
      assert.equal(await connected('Z-1'), true);
    });

    it("another node's claim after ours was confirmed hands our socket over", async () => {
      const a = made.find((n) => n.node.id === 'a')!;
      const b = made.find((n) => n.node.id === 'b')!;
      await charger('Q-1');
      a.takenOver.length = 0;
      await a.open('Q-1');
      // a's own notice confirms its claim; b's later claim then means the charger moved.
      await until(() => (b.directory.nodeOf('Q-1') === 'a' ? true : undefined));
      await b.open('Q-1');
      await until(() => (a.takenOver.length > 0 ? true : undefined));
      assert.deepEqual(a.takenOver, [['Q-1', 'b']]);
      assert.equal(a.directory.nodeOf('Q-1'), 'b');
    });

    it('an orderly stop releases its claims: its chargers go offline, the others stay', async () => {
      const c = made.find((n) => n.node.id === 'c')!;
      await c.node.stop();
      assert.equal(await connected('Z-1'), false);
      assert.equal(await connected('Y-1'), true);
      const stopped = (await c.backplane.nodes()).find((n) => n.id === 'c')!;
      assert.equal(stopped.alive, false);
      assert.notEqual(stopped.stoppedAt, null);
    });
  });
}
