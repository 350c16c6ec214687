// Several nodes on one PostgreSQL behind HAProxy (issue 13): three `ampere serve` processes,
// HAProxy in TCP mode, simulated chargers connecting through it. A command through node A reaches
// a charger held by node C (a large one through the payload table), errors are those of one node
// (409 offline, 504 timeout), and one event stream on any node carries every node's events,
// resumable with Last-Event-ID from the database.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import WebSocket from 'ws';
import { createStation, getProfile, type SimStation } from '../../src/chargepoint/index.ts';
import {
  type ClusterNodeProcess,
  type FreshDatabase,
  freshDatabase,
  HAPROXY,
  type Haproxy,
  needsPostgres,
  pgBaseUrl,
  readmeHaproxyExample,
  startHaproxy,
  startNodes,
  tearDown,
} from '../helpers/cluster.ts';
import { runCli, tempDir } from '../helpers/process.ts';
import { until } from '../helpers/wait.ts';

const TOKEN = 'cluster-routing-token-0123456789abcdef01234';
const base = pgBaseUrl();

/** Reads an SSE stream into `events` until aborted. */
function follow(url: string, headers: Record<string, string> = {}) {
  const events: { id: number; type: string; chargerId: string | null; data: any }[] = [];
  const abort = new AbortController();
  const done = fetch(url, { headers: { authorization: `Bearer ${TOKEN}`, ...headers }, signal: abort.signal })
    .then(async (res) => {
      const reader = res.body!.pipeThrough(new TextDecoderStream()).getReader();
      let buf = '';
      for (;;) {
        const { value, done } = await reader.read();
        if (done) return;
        buf += value;
        let i = buf.indexOf('\n\n');
        while (i >= 0) {
          const block = buf.slice(0, i);
          buf = buf.slice(i + 2);
          const data = block.split('\n').find((l) => l.startsWith('data: '));
          if (data && !block.includes('event: gap')) events.push(JSON.parse(data.slice(6)));
          i = buf.indexOf('\n\n');
        }
      }
    })
    .catch(() => undefined);
  return {
    events,
    async close() {
      abort.abort();
      await done;
    },
  };
}

/** A charger on a raw WebSocket: boots, then answers every CALL with what its schema wants (or never). */
async function rawCharger(url: string, answers = true): Promise<WebSocket> {
  const ws = new WebSocket(url, 'ocpp1.6');
  await new Promise((resolve, reject) => {
    ws.once('open', resolve);
    ws.once('error', reject);
  });
  const booted = new Promise((resolve) => ws.once('message', resolve));
  ws.send(JSON.stringify([2, 'boot', 'BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' }]));
  await booted;
  if (!answers) return ws;
  ws.on('message', (raw) => {
    const [type, id, action] = JSON.parse(raw.toString()) as [number, string, string];
    if (type !== 2) return;
    const answers: Record<string, object> = {
      GetLocalListVersion: { listVersion: 0 },
      GetConfiguration: { configurationKey: [], unknownKey: [] },
    };
    ws.send(JSON.stringify([3, id, answers[action] ?? { status: 'Accepted' }]));
  });
  return ws;
}

describe("the README's HAProxy example", () => {
  it('is a configuration HAProxy accepts as written', () => {
    const dir = tempDir('ampere-haproxy-example-');
    writeFileSync(join(dir, 'haproxy.cfg'), readmeHaproxyExample());
    const r = spawnSync(HAPROXY, ['-c', '-f', join(dir, 'haproxy.cfg')], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr + r.stdout);
  });
});

if (base === undefined) {
  needsPostgres('cluster: routing and events');
} else {
  describe('cluster: three nodes behind HAProxy on one PostgreSQL', () => {
    let db: FreshDatabase | undefined;
    let nodes: ClusterNodeProcess[] = [];
    let haproxy: Haproxy | undefined;
    const sims: SimStation[] = [];
    const sockets: WebSocket[] = [];
    let stream: ReturnType<typeof follow> | undefined;
    const ids = ['RT-1', 'RT-2', 'RT-3', 'RT-4', 'RT-5', 'RT-6'];

    before(async () => {
      db = await freshDatabase(base);
      nodes = await startNodes(db.url, 3, { token: TOKEN, args: ['--call-timeout', '1500'] });
      haproxy = await startHaproxy(nodes.map((n) => n.port));
    });
    after(async () => {
      await stream?.close();
      for (const s of sockets) s.terminate();
      for (const s of sims) await s.stop();
      await tearDown({ nodes, haproxy, db });
    });

    it('registers every node, and each one lists them all', async () => {
      for (const n of nodes) {
        const { status, body } = await n.api('/api/nodes');
        assert.equal(status, 200);
        assert.deepEqual(
          body.items.map((x: { id: string; alive: boolean }) => [x.id, x.alive]),
          [
            ['node-a', true],
            ['node-b', true],
            ['node-c', true],
          ],
        );
      }
    });

    it('one event stream on node A carries the connections made on every node', async () => {
      stream = follow(`${nodes[0]!.url}/api/events?type=charger.connected,charger.boot`);
      await until(() => (nodes.length > 0 ? true : undefined));
      for (const id of ids) {
        const sim = createStation({ id, profile: getProfile('generic'), url: `${haproxy!.wsUrl}/ocpp` });
        sims.push(sim);
        await sim.start();
      }
      await until(() => (sims.every((s) => s.station.registration === 'Accepted') ? true : undefined), 20_000);
      const held = await db!.query<{ charger_id: string; node_id: string }>(
        'SELECT charger_id, node_id FROM cluster_connections ORDER BY charger_id',
      );
      assert.equal(held.length, ids.length);
      // Round robin through HAProxy: every node holds some.
      assert.deepEqual([...new Set(held.map((h) => h.node_id))].sort(), ['node-a', 'node-b', 'node-c']);
      const seen = await until(() => {
        const boots = new Set(stream!.events.filter((e) => e.type === 'charger.boot').map((e) => e.chargerId));
        return ids.every((id) => boots.has(id)) ? boots : undefined;
      }, 20_000);
      assert.equal(seen.size, ids.length);
      // In order per charger: its connection before its boot; ids grow along the stream.
      for (const id of ids) {
        const mine: string[] = stream!.events.filter((e) => e.chargerId === id).map((e) => e.type);
        assert.deepEqual(mine.slice(0, 2), ['charger.connected', 'charger.boot'], `${id}: ${mine.join(', ')}`);
      }
      const streamIds = stream!.events.map((e) => e.id);
      assert.deepEqual(
        streamIds,
        [...streamIds].sort((a, b) => a - b),
      );

      // Resumed on node B after the first event: the rest comes from the database.
      const first = stream!.events[0]!;
      const resumed = follow(`${nodes[1]!.url}/api/events?type=charger.connected,charger.boot`, {
        'last-event-id': String(first.id),
      });
      try {
        const want = stream!.events.slice(1).map((e) => e.id);
        const got = await until(() => {
          const r = resumed.events.map((e) => e.id).filter((i) => i <= want[want.length - 1]!);
          return r.length >= want.length ? r : undefined;
        });
        assert.deepEqual(got, want);
      } finally {
        await resumed.close();
      }
    });

    it('a command sent through node A reaches a charger held by node C, and its answer comes back', async () => {
      const [row] = await db!.query<{ charger_id: string }>(
        "SELECT charger_id FROM cluster_connections WHERE node_id = 'node-c' ORDER BY charger_id LIMIT 1",
      );
      const id = row!.charger_id;
      const sim = sims.find((s) => s.station.id === id)!;
      const res = await nodes[0]!.api(`/api/chargers/${id}/commands/ChangeConfiguration`, {
        method: 'POST',
        body: JSON.stringify({ key: 'HeartbeatInterval', value: '123' }),
      });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.status, 'Accepted');
      assert.equal(sim.station.config.get('HeartbeatInterval'), '123');

      // Larger than a NOTIFY payload may be (8000 bytes): routed through the payload table.
      const list = Array.from({ length: 120 }, (_, i) => ({
        idTag: `CARD-${String(i).padStart(14, '0')}`,
        idTagInfo: { status: 'Accepted' as const, expiryDate: '2030-01-01T00:00:00.000Z' },
      }));
      const big = await nodes[0]!.api(`/api/chargers/${id}/commands/SendLocalList`, {
        method: 'POST',
        body: JSON.stringify({ listVersion: 7, updateType: 'Full', localAuthorizationList: list }),
      });
      assert.ok(JSON.stringify(list).length > 8000);
      assert.equal(big.status, 200, JSON.stringify(big.body));
      assert.equal(big.body.status, 'Accepted');
      assert.equal(sim.station.localList.size, 120);
      assert.equal(sim.station.localListVersion, 7);
    });

    it('409 when no node holds the charger, as on one node', async () => {
      const res = await nodes[1]!.api('/api/chargers/RT-NOBODY/commands/ClearCache', { method: 'POST', body: '{}' });
      assert.equal(res.status, 404);
      const known = sims[0]!;
      await known.stop();
      sims.shift();
      await until(async () => {
        const r = await db!.query('SELECT 1 FROM cluster_connections WHERE charger_id = $1', [known.station.id]);
        return r.length === 0 ? true : undefined;
      });
      for (const n of nodes) {
        const off = await until(async () => {
          const r = await n.api(`/api/chargers/${known.station.id}/commands/ClearCache`, {
            method: 'POST',
            body: '{}',
          });
          return r.status === 409 ? r : undefined;
        });
        assert.equal(off.body.error.code, 'AMPERE_ERR_CHARGER_OFFLINE');
      }
    });

    it('`ampere nodes` lists the nodes with the chargers each holds', async () => {
      const r = await runCli(['nodes', '--url', nodes[1]!.url, '--json'], { AMPERE_API_TOKEN: TOKEN });
      assert.equal(r.code, 0, r.stderr);
      const listed = JSON.parse(r.stdout) as { id: string; alive: boolean; chargers: number; address: string }[];
      assert.deepEqual(
        listed.map((n) => n.id),
        ['node-a', 'node-b', 'node-c'],
      );
      const held = await db!.query<{ node_id: string; n: number }>(
        'SELECT node_id, count(*)::int AS n FROM cluster_connections GROUP BY node_id',
      );
      for (const n of listed) {
        assert.equal(n.alive, true);
        assert.equal(
          n.chargers,
          held.find((h) => h.node_id === n.id)?.n ?? 0,
          `${n.id}: ${r.stdout} vs ${JSON.stringify(held)}`,
        );
        assert.equal(n.address, `127.0.0.1:${nodes.find((x) => x.nodeId === n.id)!.port}`);
      }
      const human = await runCli(['nodes', '--url', nodes[1]!.url], { AMPERE_API_TOKEN: TOKEN });
      assert.match(human.stdout, /^NODE\s+ADDRESS\s+STARTED\s+HEARTBEAT\s+STATE\s+CHARGERS/);
      assert.match(human.stdout, /node-c\s+127\.0\.0\.1:\d+\s.*\salive\s+\d+/);
    });

    it('a charger that reconnects to another node while its old socket is half-open is taken over cleanly', async () => {
      const moves = follow(`${nodes[1]!.url}/api/events?chargerId=RT-MOVE`);
      try {
        const first = await rawCharger(`ws://127.0.0.1:${nodes[0]!.port}/ocpp/RT-MOVE`);
        sockets.push(first);
        await until(async () => {
          const r = await db!.query(
            "SELECT 1 FROM cluster_connections WHERE charger_id = 'RT-MOVE' AND node_id = 'node-a'",
          );
          return r.length === 1 ? true : undefined;
        });
        const closed = new Promise<[number, string]>((resolve) =>
          first.once('close', (code, reason) => resolve([code, reason.toString()])),
        );
        // The load balancer moved it: node C claims it; node A closes its stale socket.
        const second = await rawCharger(`ws://127.0.0.1:${nodes[2]!.port}/ocpp/RT-MOVE`);
        sockets.push(second);
        assert.deepEqual(await closed, [1000, 'Connected to another node']);
        const [claim] = await db!.query("SELECT node_id FROM cluster_connections WHERE charger_id = 'RT-MOVE'");
        assert.equal(claim.node_id, 'node-c');
        // Commands through node A go to node C's connection from now on.
        const res = await nodes[0]!.api('/api/chargers/RT-MOVE/commands/ClearCache', { method: 'POST', body: '{}' });
        assert.equal(res.status, 200, JSON.stringify(res.body));
        const [row] = await db!.query("SELECT connected FROM chargers WHERE id = 'RT-MOVE'");
        assert.equal(row.connected, true);
        const types = await until(() => {
          const t = moves.events.map((e) => e.type);
          return t.filter((x) => x === 'command.answered').length >= 1 ? t : undefined;
        });
        // Connected twice, never disconnected: node A's close of the stale socket is no disconnection.
        assert.equal(types.filter((t) => t === 'charger.connected').length, 2, types.join(', '));
        assert.ok(!types.includes('charger.disconnected'), types.join(', '));
      } finally {
        await moves.close();
      }
    });

    it('504 when the charger on another node does not answer in time', async () => {
      // A charger that boots and then never answers a CALL, connected straight to node B.
      sockets.push(await rawCharger(`ws://127.0.0.1:${nodes[1]!.port}/ocpp/RT-SILENT`, false));
      await until(() => nodes[0]!.api('/api/chargers/RT-SILENT').then((r) => (r.body?.connected ? true : undefined)));
      const res = await nodes[0]!.api('/api/chargers/RT-SILENT/commands/ClearCache', { method: 'POST', body: '{}' });
      assert.equal(res.status, 504, JSON.stringify(res.body));
      assert.equal(res.body.error.code, 'AMPERE_ERR_CALL_TIMEOUT');
    });
  });
}
