// GET /api/nodes on SQLite: the one server is the only node, with the chargers it holds.
// (On PostgreSQL: test/e2e/cluster-routing.test.ts.)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadServeConfig } from '../../src/config/index.ts';
import { startTestServer, type TestServer } from './helpers.ts';

describe('GET /api/nodes on one node', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ nodeId: 'solo' });
  });
  after(() => s.close());

  it('lists this server, alive, with its connected chargers', async () => {
    const none = await s.api('GET', '/api/nodes');
    assert.equal(none.status, 200);
    assert.deepEqual(
      none.body.items.map((n: { id: string; alive: boolean; chargers: number }) => [n.id, n.alive, n.chargers]),
      [['solo', true, 0]],
    );
    const c = await s.charger('NODE-1');
    const one = await s.api('GET', '/api/nodes');
    assert.equal(one.body.items[0].chargers, 1);
    assert.equal(one.body.items[0].address, s.url);
    await c.close();
  });
});

describe('node settings', () => {
  it('refuses a dead timeout shorter than two heartbeats, and a node id with spaces', () => {
    assert.throws(
      () => loadServeConfig(['--node-heartbeat', '2000', '--node-dead-after', '3000'], {}),
      /--node-dead-after \(3000 ms\) must be at least two heartbeats/,
    );
    assert.throws(() => loadServeConfig(['--node-id', 'node a'], {}), /node-id must be 1 to 100 printable characters/);
    const c = loadServeConfig([], {
      AMPERE_NODE_ID: 'node-a',
      AMPERE_NODE_HEARTBEAT: '500',
      AMPERE_NODE_DEAD_AFTER: '2000',
    });
    assert.deepEqual([c.nodeId, c.nodeHeartbeatMs, c.nodeDeadMs], ['node-a', 500, 2000]);
  });
});
