// End to end: the simulator's vendor profiles against `ampere serve` as a real process.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createStation, type SimStation } from '../../src/chargepoint/index.ts';
import { runScenario } from '../../src/chargepoint/scenario.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { type ServerProcess, spawnServer, tempDir } from '../helpers/process.ts';

const TOKEN = 'sim-e2e-token-0123456789abcdef0123456789';

describe('simulated vendor chargers against ampere serve', () => {
  let server: ServerProcess;
  const data = tempDir();
  const sims: SimStation[] = [];
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: (await res.json()) as any };
  };

  before(async () => {
    const store = await openSqliteStore({ file: join(data, 'ampere.db') });
    await store.upsertIdTag({ idTag: 'SIM-CARD', status: 'Accepted' });
    await store.close();
    server = await spawnServer(['--registration', 'open'], { data, env: { AMPERE_API_TOKEN: TOKEN } });
  });
  after(async () => {
    for (const s of sims) await s.stop();
    await server?.stop();
  });

  const cases = [
    { profile: 'eaton-green-motion', id: '14452', path: '/ocppj/v1.6', refused: 'SendLocalList' },
    { profile: 'go-e', id: '201564', path: '/chargers', refused: 'ReserveNow' },
    { profile: 'weidmueller-ac-smart', id: 'ACS-1', path: '/ocpp', refused: 'TriggerMessage' },
    { profile: 'generic', id: 'SIM-1', path: '/ocpp', refused: undefined },
  ];

  for (const c of cases) {
    it(`${c.profile}: boots, charges a car, and the session is stored`, async () => {
      const sim = createStation({
        id: c.id,
        profile: c.profile,
        url: `${server.wsUrl}${c.path}`,
        config: { MeterValueSampleInterval: '1', CsMode: '0' },
      });
      sims.push(sim);
      await sim.start();
      const r = await runScenario(sim.station, {
        steps: [
          { waitFor: { registration: 'Accepted', timeout: 10 } },
          { plug: { connector: 1, maxPowerW: 11_000 } },
          { swipe: 'SIM-CARD' },
          { waitFor: { status: 'Charging', timeout: 10 } },
          { wait: 3 },
          { unplug: 1 },
          { waitFor: { queued: 0, status: 'Available', timeout: 10 } },
        ],
      });
      assert.equal(r.ok, true, JSON.stringify(r.steps.filter((s) => !s.ok)));
      const txs = await api('GET', `/api/transactions?chargerId=${encodeURIComponent(c.id)}`);
      assert.equal(txs.status, 200);
      const tx = txs.body.items[0];
      assert.equal(tx.stopReason, 'EVDisconnected');
      assert.ok(tx.meterStop > 0, `meterStop ${tx.meterStop}`);
      const charger = await api('GET', `/api/chargers/${encodeURIComponent(c.id)}`);
      assert.equal(charger.status, 200);
    });
  }

  it('each profile refuses what its charger does not support', async () => {
    const bodies: Record<string, unknown> = {
      SendLocalList: { listVersion: 1, updateType: 'Full', localAuthorizationList: [] },
      ReserveNow: {
        connectorId: 1,
        expiryDate: new Date(Date.now() + 60_000).toISOString(),
        idTag: 'X',
        reservationId: 1,
      },
      TriggerMessage: { requestedMessage: 'Heartbeat' },
    };
    const eaton = await api('POST', '/api/chargers/14452/commands/SendLocalList', bodies.SendLocalList);
    assert.equal(eaton.status, 200);
    assert.deepEqual(eaton.body, { status: 'NotSupported' });
    for (const [id, action] of [
      ['201564', 'ReserveNow'],
      ['ACS-1', 'TriggerMessage'],
    ] as const) {
      const res = await api('POST', `/api/chargers/${id}/commands/${action}`, bodies[action]);
      assert.equal(res.status, 502, `${id} ${action}: ${JSON.stringify(res.body)}`);
      assert.match(JSON.stringify(res.body), /NotImplemented/);
    }
    const ok = await api('POST', '/api/chargers/SIM-1/commands/TriggerMessage', bodies.TriggerMessage);
    assert.deepEqual(ok.body, { status: 'Accepted' });
  });
});
