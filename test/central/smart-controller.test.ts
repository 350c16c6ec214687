// Smart charging in the central system: a site of three chargers, each limited by the mechanism
// it really supports (charging profile, vendor current key, on/off), never over the grid limit.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type RunningServer, startServer } from '../../src/app/server.ts';
import { loadServeConfig } from '../../src/config/index.ts';
import { TestCharger } from '../helpers/charger.ts';
import { tempDir } from '../helpers/process.ts';

type Call = { action: string; payload: Record<string, unknown> };

function answering(c: TestCharger, config: Array<{ key: string; value: string; readonly: boolean }>, calls: Call[]) {
  c.onCall = (action, payload) => {
    calls.push({ action, payload });
    if (action === 'GetConfiguration') return { configurationKey: config };
    return { status: 'Accepted' };
  };
}

describe('smart charging controller', () => {
  let server: RunningServer;
  let api: (method: string, path: string, body?: unknown) => Promise<{ status: number; json: any }>;
  before(async () => {
    const data = tempDir();
    server = await startServer(
      loadServeConfig(['--port', '0', '--data', data, '--registration', 'open', '--log-level', 'silent'], {}),
    );
    api = async (method, path, body) => {
      const res = await fetch(`${server.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${server.apiToken}`,
          ...(body ? { 'content-type': 'application/json' } : {}),
        },
        ...(body ? { body: JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, json: text ? JSON.parse(text) : null };
    };
  });
  after(async () => {
    await server?.close();
  });

  it('splits 32 A between a profile charger and a current-key charger, and switches an on/off charger off', async () => {
    const ws = server.url.replace('http', 'ws');
    const gen = await TestCharger.connect(ws, 'GEN');
    const wdm = await TestCharger.connect(ws, 'WDM');
    const eat = await TestCharger.connect(ws, 'EAT');
    const calls: Record<string, Call[]> = { GEN: [], WDM: [], EAT: [] };
    answering(gen, [{ key: 'SupportedFeatureProfiles', value: 'Core,SmartCharging', readonly: true }], calls.GEN!);
    answering(wdm, [{ key: 'ConnectorMaximumCurrent', value: '32', readonly: false }], calls.WDM!);
    answering(eat, [{ key: 'SupportedFeatureProfiles', value: 'Core,SmartCharging', readonly: true }], calls.EAT!);
    await gen.boot('Acme', 'Wallbox');
    await wdm.boot('Weidmüller', 'AC SMART ADVANCED');
    await eat.boot('GreenMotion', 'GM-AC-22');

    const site = await api('PUT', '/api/sites/home', {
      gridLimitA: 32,
      algorithm: 'UNIFORM',
      chargers: [
        { chargerId: 'GEN', phases: 3, maxCurrentA: 32, priority: 2 },
        { chargerId: 'WDM', phases: 3, maxCurrentA: 32, priority: 1 },
        { chargerId: 'EAT', phases: 3, maxCurrentA: 20, priority: 0 },
      ],
    });
    assert.equal(site.status, 200, JSON.stringify(site.json));
    const bad = await api('PUT', '/api/sites/bad', { chargers: [] });
    assert.equal(bad.status, 400);

    const start = async (c: TestCharger) => {
      await c.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Charging' });
      return (
        await c.call<{ transactionId: number }>('StartTransaction', {
          connectorId: 1,
          idTag: 'TAG1',
          meterStart: 0,
          timestamp: new Date().toISOString(),
        })
      ).transactionId;
    };
    // A building load of 8 A per phase leaves 24 A for charging.
    assert.equal((await api('POST', '/api/sites/home/load', { buildingLoadA: [8, 8, 8] })).status, 200);
    await start(gen);
    await start(wdm);
    const eatTx = await start(eat);
    await server.smart.settle();
    // Eaton (on/off, lowest priority) does not fit: Ampere stops it, and counts its 20 A until the
    // charger's StopTransaction says it has stopped; only then is the room handed out.
    assert.deepEqual(
      calls.EAT!.filter((c) => c.action === 'RemoteStopTransaction').map((c) => c.payload),
      [{ transactionId: eatTx }],
    );
    await eat.call('StopTransaction', {
      transactionId: eatTx,
      meterStop: 10,
      timestamp: new Date().toISOString(),
      reason: 'Remote',
    });
    await eat.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'SuspendedEVSE' });
    await server.smart.settle();

    const status = await api('GET', '/api/sites/home/status');
    const alloc = Object.fromEntries(
      (status.json.allocations as Array<{ chargerId: string; currentA: number }>).map((a) => [
        a.chargerId.split('/')[0],
        a.currentA,
      ]),
    );
    assert.deepEqual(alloc, { GEN: 12, WDM: 12, EAT: 0 });
    assert.ok(status.json.phaseLoadA.every((a: number) => a <= 32));

    const lastProfile = calls.GEN!.filter((c) => c.action === 'SetChargingProfile').at(-1)!;
    const prof = lastProfile.payload.csChargingProfiles as any;
    assert.equal(prof.chargingProfilePurpose, 'TxProfile');
    assert.equal(prof.chargingSchedule.chargingSchedulePeriod[0].limit, 12);
    const lastKey = calls.WDM!.filter((c) => c.action === 'ChangeConfiguration').at(-1)!;
    assert.deepEqual(lastKey.payload, { key: 'ConnectorMaximumCurrent', value: '12' });
    assert.equal(calls.WDM!.filter((c) => c.action === 'SetChargingProfile').length, 0);
    assert.deepEqual(
      calls.EAT!.filter((c) => c.action === 'RemoteStopTransaction').map((c) => c.payload),
      [{ transactionId: eatTx }],
    );
    // Eaton's smart-charging messages are marked unusable: never sent.
    assert.equal(calls.EAT!.filter((c) => c.action === 'SetChargingProfile').length, 0);

    // The actuations are stored and shown.
    const events = await server.store.listEvents({ kind: 'smart.actuation', limit: 100 });
    assert.ok(events.items.some((e) => e.chargerId === 'EAT'));
    const caps = await api('GET', '/api/chargers/WDM/capabilities');
    assert.equal(caps.json.currentKey, 'ConnectorMaximumCurrent');

    // When the building load goes, 6 + 6 + 20 A fit and EAT is started again, after GEN and WDM
    // were lowered.
    assert.equal(calls.EAT!.filter((c) => c.action === 'RemoteStartTransaction').length, 0);
    await api('POST', '/api/sites/home/load', { buildingLoadA: [0, 0, 0] });
    await server.smart.settle();
    assert.deepEqual(
      calls.EAT!.filter((c) => c.action === 'RemoteStartTransaction').map((c) => c.payload),
      [{ connectorId: 1, idTag: 'TAG1' }],
    );
    const genTx = (await server.store.activeTransactionFor('GEN', 1))!.id;
    await gen.call('StopTransaction', { transactionId: genTx, meterStop: 10, timestamp: new Date().toISOString() });
    await gen.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Available' });
    await server.smart.settle();
    const after = await api('GET', '/api/sites/home/status');
    assert.ok(
      after.json.phaseLoadA.every((a: number) => a <= 32),
      JSON.stringify(after.json.phaseLoadA),
    );
    // GEN's free connector is held at a standing TxDefaultProfile of 0 A: WDM uses the 12 A left.
    const standing = calls.GEN!.filter((c) => c.action === 'SetChargingProfile').at(-1)!.payload as any;
    assert.equal(standing.csChargingProfiles.chargingProfilePurpose, 'TxDefaultProfile');
    assert.equal(standing.csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0].limit, 0);
    assert.deepEqual(calls.WDM!.filter((c) => c.action === 'ChangeConfiguration').at(-1)!.payload, {
      key: 'ConnectorMaximumCurrent',
      value: '12',
    });
    assert.deepEqual(after.json.violations, []);
    await Promise.all([gen.close(), wdm.close(), eat.close()]);
  });

  it("plans a smart energy tag's session into the cheap hours, and fast charge switches it back to now", async () => {
    const ws = server.url.replace('http', 'ws');
    const cp = await TestCharger.connect(ws, 'PLAN');
    const calls: Call[] = [];
    answering(cp, [{ key: 'SupportedFeatureProfiles', value: 'Core,SmartCharging', readonly: true }], calls);
    await cp.boot('Acme', 'Wallbox');
    assert.equal(
      (
        await api('PUT', '/api/sites/flat', {
          gridLimitA: 25,
          chargers: [{ chargerId: 'PLAN', phases: 3, maxCurrentA: 16 }],
        })
      ).status,
      200,
    );
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    const prices = await api('PUT', '/api/sites/flat/prices', {
      start: new Date(hour).toISOString(),
      slotMinutes: 60,
      price: [0.4, 0.4, 0.1, 0.1, 0.3, 0.3, 0.3, 0.3],
    });
    assert.equal(prices.status, 200, JSON.stringify(prices.json));
    await api('POST', '/api/id-tags', { idTag: 'NIGHT', status: 'Accepted' });
    const departure = new Date(hour + 5 * 3_600_000);
    const hhmm = departure.toISOString().slice(11, 16);
    assert.equal(
      (await api('PUT', '/api/id-tags/NIGHT/smart-plan', { departureTime: hhmm, energyKWh: 8 })).status,
      200,
    );
    assert.equal((await api('PUT', '/api/id-tags/NOBODY/smart-plan', { departureTime: hhmm })).status, 404);
    assert.equal((await api('PUT', '/api/id-tags/NIGHT/smart-plan', { departureTime: '25:00' })).status, 400);

    await cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Charging' });
    const { transactionId } = await cp.call<{ transactionId: number }>('StartTransaction', {
      connectorId: 1,
      idTag: 'NIGHT',
      meterStart: 0,
      timestamp: new Date().toISOString(),
    });
    await server.smart.settle();
    const status = await api('GET', '/api/sites/flat/status');
    const planned = status.json.plan.sessions.find((p: { sessionId: string }) => p.sessionId === `tx:${transactionId}`);
    // 8 kWh at up to 11 kW: all of it in the 0.1 slots, none in the expensive first hours.
    assert.equal(planned.slots[0].energyKWh, 0);
    assert.ok(Math.abs(planned.deliveredKWh - 8) < 1e-6);
    assert.ok(planned.slots.slice(0, 2).every((sl: { energyKWh: number }) => sl.energyKWh === 0));
    const txLimit = () =>
      (calls.filter((c) => c.action === 'SetChargingProfile').at(-1)!.payload.csChargingProfiles as any)
        .chargingSchedule.chargingSchedulePeriod[0].limit;
    assert.equal(txLimit(), 0);

    assert.equal((await api('POST', `/api/transactions/${transactionId}/fast-charge`)).status, 200);
    await server.smart.settle();
    assert.equal(txLimit(), 16);
    assert.equal((await api('POST', '/api/transactions/999999/fast-charge')).status, 404);
    await cp.close();
  });
});
