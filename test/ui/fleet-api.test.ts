// The fleet overview the console pages through, with 10 000 chargers in a real SQLite store:
// a page holds only what was asked for, search and filters run on the server over all of them,
// and a charger's connectors and running session come with it. The time of a page is reported.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer } from '../api/helpers.ts';

const N = 10_000;

describe('GET /api/fleet with 10 000 chargers', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
    const writes: Promise<unknown>[] = [];
    for (let i = 0; i < N; i++) {
      const id = `F${String(i).padStart(5, '0')}`;
      writes.push(
        s.store.recordBoot(
          id,
          {
            chargePointVendor: i % 2 === 0 ? 'Eaton' : 'go-e',
            chargePointModel: i % 2 === 0 ? 'Green Motion' : 'Gemini',
            firmwareVersion: `1.${i % 7}`,
          },
          Date.now(),
        ),
      );
    }
    await Promise.all(writes);
    await s.store.upsertCharger('F00010', { registration: 'rejected' });
  });
  after(() => s.close());

  test('pages are cut on the server: 50 rows of 10 000', async () => {
    const t0 = performance.now();
    const r = await s.api('GET', '/api/fleet?limit=50&offset=9950');
    const ms = performance.now() - t0;
    assert.equal(r.status, 200);
    assert.equal(r.body.total, N);
    assert.equal(r.body.items.length, 50);
    assert.equal(r.body.items.at(-1).id, 'F09999');
    assert.deepEqual(r.body.items[0].connectors, []);
    assert.deepEqual(r.body.items[0].sessions, []);
    console.log(`fleet page of 50 out of ${N}: ${ms.toFixed(1)} ms`);
  });

  test('search and filters run over every charger', async () => {
    // As typed: f, f0, f09, f099, f0999 (the first reads the list, the next reuse it).
    const times: number[] = [];
    let byId: { body: any } | undefined;
    for (const q of ['f', 'f0', 'f09', 'f099', 'f0999']) {
      const t0 = performance.now();
      byId = await s.api('GET', `/api/fleet?q=${q}&limit=50`);
      times.push(performance.now() - t0);
    }
    console.log(`fleet search over ${N}, as typed: ${times.map((t) => t.toFixed(0)).join(', ')} ms`);
    assert.deepEqual(
      byId!.body.items.map((c: { id: string }) => c.id),
      ['F09990', 'F09991', 'F09992', 'F09993', 'F09994', 'F09995', 'F09996', 'F09997', 'F09998', 'F09999'],
    );
    const vendor = await s.api('GET', '/api/fleet?q=GEMINI&limit=1');
    assert.equal(vendor.body.total, N / 2);
    const firmware = await s.api('GET', '/api/fleet?q=1.6&limit=1');
    assert.equal(firmware.body.total, Math.floor(N / 7));
    const rejected = await s.api('GET', '/api/fleet?registration=rejected');
    assert.deepEqual(
      rejected.body.items.map((c: { id: string }) => c.id),
      ['F00010'],
    );
    const both = await s.api('GET', '/api/fleet?q=eaton&registration=rejected');
    assert.equal(both.body.total, 1);
    // A search repeated at once reuses the list behind it, yet shows each row as it is now.
    assert.equal((await s.api('GET', '/api/fleet?q=F00010')).body.items[0].registration, 'rejected');
    await s.api('POST', '/api/chargers/F00010/approve');
    assert.equal((await s.api('GET', '/api/fleet?q=F00010')).body.items[0].registration, 'accepted');
    assert.equal((await s.api('GET', '/api/fleet?connected=true')).body.total, 0);
    assert.equal((await s.api('GET', '/api/fleet?q=nothing-like-this')).body.total, 0);
  });

  test('a connected charger comes with its connectors and its running session', async () => {
    await s.api('POST', '/api/chargers/F00001/approve');
    const cp = await s.charger('F00001', { connectors: 2 });
    await s.api('POST', '/api/id-tags', { idTag: 'T1', status: 'Accepted' });
    const { transactionId } = await cp.call<{ transactionId: number }>('StartTransaction', {
      connectorId: 2,
      idTag: 'T1',
      meterStart: 1000,
      timestamp: new Date().toISOString(),
    });
    await cp.call('StatusNotification', { connectorId: 2, status: 'Charging', errorCode: 'NoError' });
    await cp.call('MeterValues', {
      connectorId: 2,
      transactionId,
      meterValue: [
        {
          timestamp: new Date().toISOString(),
          sampledValue: [
            { value: '1500', measurand: 'Energy.Active.Import.Register', unit: 'Wh' },
            { value: '7200', measurand: 'Power.Active.Import', unit: 'W' },
          ],
        },
      ],
    });
    const r = await s.api('GET', '/api/fleet?q=F00001');
    const c = r.body.items[0];
    assert.equal(c.connected, true);
    assert.deepEqual(
      c.connectors.map((x: { connectorId: number; status: string }) => [x.connectorId, x.status]),
      [
        [0, 'Available'],
        [1, 'Available'],
        [2, 'Charging'],
      ],
    );
    assert.deepEqual(c.sessions, [
      {
        id: transactionId,
        connectorId: 2,
        idTag: 'T1',
        startedAt: c.sessions[0].startedAt,
        energyWh: 500,
        powerW: 7200,
      },
    ]);
    await cp.close();
  });

  test('bad filters are refused with the field named', async () => {
    const r = await s.api('GET', '/api/fleet?registration=maybe');
    assert.equal(r.status, 400);
    assert.equal(r.body.error.code, 'AMPERE_ERR_BAD_REQUEST');
    assert.equal((await s.api('GET', '/api/fleet?limit=0')).status, 400);
  });
});
