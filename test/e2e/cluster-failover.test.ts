// Failover (issue 13): kill -9 of the node holding a set of chargers in the middle of their
// transactions. The chargers reconnect through HAProxy to the other nodes, their transactions go
// on under the same transactionId, every MeterValues the simulator saw acknowledged is in the
// database exactly once, the dead node is declared dead and only its claims were released.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createStation, getProfile, type SimStation } from '../../src/chargepoint/index.ts';
import {
  type ClusterNodeProcess,
  type FreshDatabase,
  freshDatabase,
  type Haproxy,
  needsPostgres,
  pgBaseUrl,
  startHaproxy,
  startNodes,
  tearDown,
} from '../helpers/cluster.ts';
import { until } from '../helpers/wait.ts';

const TOKEN = 'cluster-failover-token-0123456789abcdef0123';
const base = pgBaseUrl();
const CHARGERS = 9;

interface Acked {
  chargerId: string;
  transactionId: number;
  timestamps: number[];
}

if (base === undefined) {
  needsPostgres('cluster: failover');
} else {
  describe('cluster: kill -9 of a node in the middle of transactions', () => {
    let db: FreshDatabase | undefined;
    let nodes: ClusterNodeProcess[] = [];
    let haproxy: Haproxy | undefined;
    const sims: SimStation[] = [];
    const acked: Acked[] = [];

    before(async () => {
      db = await freshDatabase(base);
      nodes = await startNodes(db.url, 3, {
        token: TOKEN,
        args: ['--node-heartbeat', '300', '--node-dead-after', '1500'],
      });
      haproxy = await startHaproxy(nodes.map((n) => n.port));
    });
    after(async () => {
      for (const s of sims) await s.stop();
      await tearDown({ nodes, haproxy, db });
    });

    it('moves the chargers to the other nodes; transactions continue, no acknowledged value lost or doubled', async () => {
      for (let i = 1; i <= CHARGERS; i++) {
        const id = `FO-${i}`;
        // One CALL in flight per direction: an answer belongs to the MeterValues sent last.
        let sent: { transactionId?: number; meterValue: { timestamp: string }[] } | undefined;
        const sim = createStation({
          id,
          profile: getProfile('eaton-green-motion'),
          url: `${haproxy!.wsUrl}/ocppj/v1.6`,
          // Card mode (CsMode 0); a sample a second; Eaton's reconnect backoff shortened to 1 s.
          config: {
            CsMode: '0',
            MeterValueSampleInterval: '1',
            RetryBackoffWaitMinimum: '1',
            RetryBackoffRandomRange: '0',
          },
          hooks: {
            event: (e) => {
              if (e.type === 'sent' && e.action === 'MeterValues') sent = e.payload as typeof sent;
              if (e.type === 'answered' && e.action === 'MeterValues' && sent?.transactionId !== undefined) {
                acked.push({
                  chargerId: id,
                  transactionId: sent.transactionId,
                  timestamps: sent.meterValue.map((m) => Date.parse(m.timestamp)),
                });
              }
            },
          },
        });
        sims.push(sim);
        await sim.start();
      }
      await until(() => (sims.every((s) => s.station.registration === 'Accepted') ? true : undefined), 30_000);
      // A card per charger (one tag may hold one transaction at a time).
      for (const s of sims) {
        const tag = await nodes[0]!.api('/api/id-tags', {
          method: 'POST',
          body: JSON.stringify({ idTag: `CARD-${s.station.id}` }),
        });
        assert.ok(tag.status < 300, JSON.stringify(tag.body));
        s.station.plug(1);
        assert.equal(await s.station.swipe(`CARD-${s.station.id}`), 'Accepted');
      }
      const txOf = (s: SimStation) => s.station.connectors.find((c) => c.id === 1)?.tx?.id;
      await until(() => (sims.every((s) => txOf(s) !== undefined) ? true : undefined), 30_000);
      const txBefore = new Map(sims.map((s) => [s.station.id, txOf(s)!]));
      const count = (id: string) => acked.filter((a) => a.chargerId === id).length;
      await until(() => (sims.every((s) => count(s.station.id) >= 2) ? true : undefined), 30_000);

      const held = await db!.query<{ node_id: string; n: number }>(
        'SELECT node_id, count(*)::int AS n FROM cluster_connections GROUP BY node_id ORDER BY n DESC, node_id',
      );
      const victimId = held[0]!.node_id;
      const victim = nodes.find((n) => n.nodeId === victimId)!;
      const moved = (
        await db!.query<{ charger_id: string }>('SELECT charger_id FROM cluster_connections WHERE node_id = $1', [
          victimId,
        ])
      ).map((r) => r.charger_id);
      assert.ok(moved.length >= 2, `the victim holds ${moved.length} chargers`);

      const killedAt = Date.now();
      await victim.kill();
      const others = nodes.filter((n) => n !== victim);
      await until(async () => {
        const rows = await db!.query<{ n: number }>(
          'SELECT count(*)::int AS n FROM cluster_connections WHERE node_id <> $1',
          [victimId],
        );
        const online = sims.every((s) => s.station.online && s.station.registration === 'Accepted');
        return rows[0]!.n === CHARGERS && online ? true : undefined;
      }, 30_000);
      const reconnectedMs = Date.now() - killedAt;
      const countsAtReconnect = new Map(sims.map((s) => [s.station.id, count(s.station.id)]));

      // The transactions go on: the same id, new values acknowledged after the move.
      await until(
        () => (sims.every((s) => count(s.station.id) >= countsAtReconnect.get(s.station.id)! + 2) ? true : undefined),
        30_000,
      );
      for (const s of sims) assert.equal(txOf(s), txBefore.get(s.station.id), `${s.station.id} kept its transaction`);

      // The dead node is declared dead by the others; only it.
      const list = await until(async () => {
        const r = await others[0]!.api('/api/nodes');
        const dead = r.body.items.find((x: { id: string }) => x.id === victimId);
        return dead && !dead.alive ? r.body.items : undefined;
      }, 10_000);
      assert.deepEqual(
        list.filter((x: { alive: boolean }) => x.alive).map((x: { id: string }) => x.id),
        others.map((n) => n.nodeId),
      );
      assert.equal(list.find((x: { id: string }) => x.id === victimId).chargers, 0);
      for (const id of moved) {
        const r = await others[0]!.api(`/api/chargers/${id}`);
        assert.equal(r.body.connected, true, `${id} is connected again`);
      }

      // One open transaction per charger: a reconnect started none twice.
      const open = await db!.query<{ charger_id: string; n: number }>(
        'SELECT charger_id, count(*)::int AS n FROM transactions WHERE stopped_at IS NULL GROUP BY charger_id',
      );
      assert.equal(open.length, CHARGERS);
      for (const o of open) assert.equal(o.n, 1, `${o.charger_id} has one open transaction`);

      // Every acknowledged sample is stored, once.
      const rows = await db!.query<{ charger_id: string; transaction_id: number; ts: string; n: number }>(
        `SELECT charger_id, transaction_id, ts, count(*)::int AS n FROM meter_values
          WHERE transaction_id IS NOT NULL GROUP BY charger_id, transaction_id, ts`,
      );
      const stored = new Map(rows.map((r) => [`${r.charger_id}/${r.transaction_id}/${Number(r.ts)}`, r.n]));
      let lost = 0;
      let values = 0;
      for (const a of acked) {
        for (const ts of a.timestamps) {
          values++;
          const n = stored.get(`${a.chargerId}/${a.transactionId}/${ts}`);
          if (n === undefined) lost++;
          else assert.equal(n, 1, `${a.chargerId} ${new Date(ts).toISOString()} stored ${n} times`);
        }
      }
      assert.equal(lost, 0, `${lost} of ${values} acknowledged meter values are missing`);
      const afterKill = acked.filter((a) => a.timestamps.some((t) => t > killedAt) && moved.includes(a.chargerId));
      assert.ok(afterKill.length > 0, 'the moved chargers sent values after the kill');
      // The failover figures for the closing note.
      console.log(
        `failover: ${moved.length} chargers of ${victimId} reconnected through HAProxy in ${reconnectedMs} ms; ` +
          `${values} acknowledged meter values checked, ${lost} lost`,
      );
    });
  });
}
