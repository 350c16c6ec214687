// End to end: `ampere serve` as a real process, real WebSocket chargers, a real SQLite file.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { now, TestCharger } from '../helpers/charger.ts';
import { type ServerProcess, spawnServer, tempDir } from '../helpers/process.ts';

describe('a whole charging session, then a restart', () => {
  let server: ServerProcess;
  const data = tempDir();
  before(async () => {
    // An id tag in the registry, written through the store the server uses (SQLite, WAL: shared safely).
    const store = await openSqliteStore({ file: join(data, 'ampere.db') });
    await store.upsertIdTag({ idTag: 'CARD-0042', status: 'Accepted' });
    await store.close();
    server = await spawnServer(['--registration', 'open'], { data });
  });
  after(async () => {
    await server?.stop();
  });

  it('boot → status → authorize → start → meter values → stop is stored and survives a restart', async () => {
    const cp = await TestCharger.connect(server.wsUrl.replace('/ocpp', ''), '14452');
    const boot = await cp.boot('GreenMotion', 'GM-AC');
    assert.equal(boot.status, 'Accepted');
    assert.equal(boot.interval, 300);
    assert.match(boot.currentTime as string, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    assert.deepEqual(
      await cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Preparing' }),
      {},
    );
    // Id tags compare case-insensitively.
    assert.deepEqual(await cp.call('Authorize', { idTag: 'card-0042' }), { idTagInfo: { status: 'Accepted' } });
    assert.deepEqual(await cp.call('Authorize', { idTag: 'NOPE' }), { idTagInfo: { status: 'Invalid' } });
    const start = { connectorId: 1, idTag: 'CARD-0042', meterStart: 1000, timestamp: '2026-11-23T10:00:00Z' };
    const started = await cp.call<{ transactionId: number; idTagInfo: { status: string } }>('StartTransaction', start);
    assert.equal(started.idTagInfo.status, 'Accepted');
    // A retried StartTransaction (same charger, connector, tag, time, meterStart) gets the same id.
    const again = await cp.call<{ transactionId: number }>('StartTransaction', start);
    assert.equal(again.transactionId, started.transactionId);
    const tx = started.transactionId;
    for (let i = 1; i <= 3; i++) {
      await cp.call('MeterValues', {
        connectorId: 1,
        transactionId: tx,
        meterValue: [
          {
            timestamp: `2026-11-23T10:0${i}:00Z`,
            sampledValue: [
              { value: String(1000 + i * 100), measurand: 'Energy.Active.Import.Register', unit: 'Wh' },
              { value: '7.4', measurand: 'Power.Active.Import', unit: 'kW' },
            ],
          },
        ],
      });
    }
    const stop = await cp.call('StopTransaction', {
      transactionId: tx,
      meterStop: 1400,
      timestamp: '2026-11-23T10:04:00Z',
      idTag: 'CARD-0042',
      reason: 'EVDisconnected',
      transactionData: [
        { timestamp: '2026-11-23T10:04:00Z', sampledValue: [{ value: '1400', context: 'Transaction.End' }] },
      ],
    });
    assert.deepEqual(stop, { idTagInfo: { status: 'Accepted' } });
    await cp.close();

    assert.equal(await server.stop(), 0);
    server = await spawnServer(['--registration', 'open'], { data });
    const store = await openSqliteStore({ file: join(data, 'ampere.db') });
    try {
      const t = await store.getTransaction(tx);
      assert.ok(t);
      assert.equal(t.chargerId, '14452');
      assert.equal(t.meterStart, 1000);
      assert.equal(t.meterStop, 1400);
      assert.equal(t.stopReason, 'EVDisconnected');
      assert.equal(t.energyWh, 400);
      const mv = await store.queryMeterValues({ transactionId: tx });
      assert.equal(mv.filter((r) => r.source === 'MeterValues').length, 6);
      assert.deepEqual(
        mv.filter((r) => r.measurand === 'Power.Active.Import').map((r) => r.w),
        [7400, 7400, 7400],
      );
      assert.equal(mv.filter((r) => r.source === 'StopTransaction')[0]?.wh, 1400);
      const charger = await store.getCharger('14452');
      assert.equal(charger?.vendor, 'GreenMotion');
      assert.equal(charger?.connected, false);
      const connectors = await store.listConnectors('14452');
      assert.equal(connectors.find((c) => c.connectorId === 1)?.status, 'Preparing');
    } finally {
      await store.close();
    }
  });

  it('answers every StopTransaction with a CALLRESULT: unknown id, -1, and a second stop', async () => {
    const cp = await TestCharger.connect(`${server.wsUrl}`, 'STOPPER');
    await cp.boot();
    for (const transactionId of [999_999, -1]) {
      const f = await cp.callFrame('StopTransaction', { transactionId, meterStop: 5, timestamp: now() });
      assert.equal(f[0], 3);
    }
    const { transactionId } = await cp.call<{ transactionId: number }>('StartTransaction', {
      connectorId: 1,
      idTag: 'X',
      meterStart: 0,
      timestamp: now(),
    });
    for (let i = 0; i < 2; i++) {
      const f = await cp.callFrame('StopTransaction', { transactionId, meterStop: 10, timestamp: now() });
      assert.equal(f[0], 3);
    }
    await cp.close();
  });

  it('serves 200 chargers at once', async () => {
    const chargers = await Promise.all(
      Array.from({ length: 200 }, (_, i) => TestCharger.connect(server.wsUrl, `MANY-${i}`)),
    );
    const boots = await Promise.all(chargers.map((c) => c.boot()));
    assert.ok(boots.every((b) => b.status === 'Accepted'));
    const beats = await Promise.all(chargers.map((c) => c.call('Heartbeat', {})));
    assert.equal(beats.length, 200);
    await Promise.all(chargers.map((c) => c.close()));
  });
});

describe('gateway handshake', () => {
  let server: ServerProcess;
  before(async () => {
    server = await spawnServer(['--registration', 'open', '--max-frame', '65536']);
  });
  after(async () => {
    await server?.stop();
  });

  async function status(path: string, protocols?: string[]): Promise<number | 'open'> {
    const c = new TestCharger(`${server.wsUrl}${path}`, protocols ? { protocols } : {});
    try {
      await c.opened;
      await c.close();
      return 'open';
    } catch (e) {
      return Number((e as Error).message.replace('HTTP ', ''));
    }
  }

  it('takes the id from the last path segment, percent-decoded, under any prefix', async () => {
    assert.equal(await status('/ocppj/v1.6/14452'), 'open');
    assert.equal(await status('/steve/websocket/CentralSystemService/CP%201'), 'open');
    assert.equal(await status('/'), 400);
    assert.equal(await status(`/ocpp/${'x'.repeat(49)}`), 400);
    assert.equal(await status(`/ocpp/${'x'.repeat(48)}`), 'open');
  });

  it('selects ocpp1.6, refuses other protocols only, accepts no header', async () => {
    assert.equal(await status('/ocpp/P1', ['ocpp1.5', 'ocpp1.6']), 'open');
    assert.equal(await status('/ocpp/P2', ['ocpp2.0.1']), 400);
    assert.equal(await status('/ocpp/P3', []), 'open');
  });

  it('closes only the socket that sent a frame over the limit (1009)', async () => {
    const big = await TestCharger.connect(server.wsUrl, 'BIG');
    const small = await TestCharger.connect(server.wsUrl, 'SMALL');
    big.ws.send(JSON.stringify([2, 'b1', 'DataTransfer', { vendorId: 'x', data: 'y'.repeat(70_000) }]));
    const closed = await big.closed;
    assert.equal(closed.code, 1009);
    assert.equal((await small.boot()).status, 'Accepted');
    await small.close();
  });

  it('a second connection with the same id replaces the first', async () => {
    const first = await TestCharger.connect(server.wsUrl, 'TWIN');
    const second = await TestCharger.connect(server.wsUrl, 'TWIN');
    const closed = await first.closed;
    assert.equal(closed.code, 1000);
    assert.equal((await second.boot()).status, 'Accepted');
    await second.close();
  });
});

describe('liveness', () => {
  it('drops a charger that stops answering pings, and keeps one that answers', async () => {
    const server = await spawnServer(['--registration', 'open', '--ping-interval', '1']);
    try {
      const mute = new TestCharger(`${server.wsUrl}/ocpp/MUTE`, { autoPong: false });
      const alive = await TestCharger.connect(server.wsUrl, 'ALIVE');
      await mute.opened;
      const closed = await mute.closed;
      assert.equal(closed.code, 1006, 'terminated without a close frame');
      assert.equal(alive.ws.readyState, alive.ws.OPEN);
      assert.equal((await alive.boot()).status, 'Accepted');
      await alive.close();
    } finally {
      await server.stop();
    }
  });
});

describe('registration policies', () => {
  it('pending holds an unknown charger as Pending; it may only boot, heartbeat and report status', async () => {
    const server = await spawnServer(['--registration', 'pending', '--boot-retry-interval', '45']);
    try {
      const cp = await TestCharger.connect(server.wsUrl, 'NEWBIE');
      const boot = await cp.boot();
      assert.equal(boot.status, 'Pending');
      assert.equal(boot.interval, 45);
      assert.equal((await cp.callFrame('Heartbeat', {}))[0], 3);
      assert.equal(
        (await cp.callFrame('StatusNotification', { connectorId: 0, errorCode: 'NoError', status: 'Available' }))[0],
        3,
      );
      const start = await cp.callFrame('StartTransaction', {
        connectorId: 1,
        idTag: 'A',
        meterStart: 0,
        timestamp: now(),
      });
      assert.deepEqual(start.slice(0, 3), [4, start[1], 'SecurityError']);
      // A StopTransaction is answered even so.
      assert.equal((await cp.callFrame('StopTransaction', { transactionId: 1, meterStop: 0, timestamp: now() }))[0], 3);
      await cp.close();
    } finally {
      await server.stop();
    }
  });

  it('known refuses an unknown id at the handshake with 404 and records the attempt', async () => {
    const server = await spawnServer(['--registration', 'known']);
    try {
      const c = new TestCharger(`${server.wsUrl}/ocpp/STRANGER`);
      await assert.rejects(c.opened, /HTTP 404/);
      await server.stop();
      const store = await openSqliteStore({ file: join(server.data, 'ampere.db') });
      const attempts = await store.listConnectionAttempts();
      assert.deepEqual(
        attempts.items.map((a) => a.id),
        ['STRANGER'],
      );
      await store.close();
    } finally {
      await server.stop();
    }
  });
});
