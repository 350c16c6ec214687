// Transactions, meter values, session analytics and the tariff, from chargers running sessions
// over real WebSockets.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestCharger } from '../helpers/charger.ts';
import { iso, startTestServer, type TestServer } from './helpers.ts';

const MIN = 60_000;
const t0 = Math.floor((Date.now() - 2 * 3600_000) / MIN) * MIN;

const sv = (value: string, measurand?: string, phase?: string, unit?: string) => ({
  value,
  ...(measurand ? { measurand } : {}),
  ...(phase ? { phase } : {}),
  ...(unit ? { unit } : {}),
});

describe('transactions API', () => {
  let s: TestServer;
  let a: TestCharger;
  let b: TestCharger;
  let txA = 0;
  let txB = 0;

  before(async () => {
    s = await startTestServer();
    await s.api('POST', '/api/id-tags', { idTag: 'ALICE' });
    await s.api('POST', '/api/id-tags', { idTag: 'BOB' });
    a = await s.charger('TX-A');
    b = await s.charger('TX-B');
    // A: three-phase 11 kW with Power.Active.Import per phase and an energy register.
    txA = (
      (await a.call('StartTransaction', {
        connectorId: 1,
        idTag: 'ALICE',
        meterStart: 1000,
        timestamp: iso(t0),
      })) as any
    ).transactionId;
    await a.call('StatusNotification', { connectorId: 1, status: 'Charging', errorCode: 'NoError' });
    for (const [k, wh] of [
      [1, '2833'],
      [2, '4667'],
      [3, '6.5'],
    ] as const) {
      await a.call('MeterValues', {
        connectorId: 1,
        transactionId: txA,
        meterValue: [
          {
            timestamp: iso(t0 + k * 10 * MIN),
            sampledValue: [
              k === 3 ? sv(wh, 'Energy.Active.Import.Register', undefined, 'kWh') : sv(wh),
              sv('3667', 'Power.Active.Import', 'L1', 'W'),
              sv('3667', 'Power.Active.Import', 'L2', 'W'),
              sv(k === 3 ? '3.667' : '3667', 'Power.Active.Import', 'L3', k === 3 ? 'kW' : 'W'),
            ],
          },
        ],
      });
    }
    // B: current and voltage only, as many wallboxes report.
    txB = (
      (await b.call('StartTransaction', {
        connectorId: 1,
        idTag: 'BOB',
        meterStart: 0,
        timestamp: iso(t0 + 30 * MIN),
      })) as any
    ).transactionId;
    await b.call('StatusNotification', { connectorId: 1, status: 'Charging', errorCode: 'NoError' });
    await b.call('MeterValues', {
      connectorId: 1,
      transactionId: txB,
      meterValue: [
        {
          timestamp: iso(t0 + 40 * MIN),
          sampledValue: [
            sv('1840'),
            sv('16', 'Current.Import', 'L1', 'A'),
            sv('16', 'Current.Import', 'L2', 'A'),
            sv('16', 'Current.Import', 'L3', 'A'),
            sv('230', 'Voltage', 'L1-N', 'V'),
            sv('231', 'Voltage', 'L2-N', 'V'),
            sv('229', 'Voltage', 'L3-N', 'V'),
          ],
        },
      ],
    });
  });
  after(async () => {
    await a.close();
    await b.close();
    await s.close();
  });

  test('an active session: energy so far, power summed over phases, charging, time to target', async () => {
    const r = await s.api('GET', `/api/transactions/${txA}?targetWh=10000`);
    assert.equal(r.status, 200);
    const t = r.body;
    assert.equal(t.active, true);
    assert.equal(t.energyWh, 5500);
    assert.equal(t.meterStart, 1000);
    assert.equal(t.meterStop, null);
    assert.equal(t.live.state, 'charging');
    assert.equal(t.live.connectorStatus, 'Charging');
    assert.equal(t.live.powerW, 11001);
    assert.equal(t.live.powerSource, 'Power.Active.Import');
    assert.equal(t.live.energyWh, 5500);
    assert.equal(t.live.sampledAt, new Date(t0 + 30 * MIN).toISOString());
    assert.equal(t.live.secondsToTarget, Math.round((4500 / 11001) * 3600));
    assert.ok(t.durationSeconds >= 7200 && t.durationSeconds < 7300);
    assert.equal(t.cost, null);
  });

  test('Current.Import × Voltage when no power is reported; plugged in at zero power', async () => {
    const r = await s.api('GET', `/api/transactions/${txB}`);
    assert.equal(r.body.live.powerW, 16 * 230 + 16 * 231 + 16 * 229);
    assert.equal(r.body.live.powerSource, 'Current.Import×Voltage');
    assert.equal(r.body.live.targetWh, null);
    assert.equal(r.body.live.secondsToTarget, null);
    await b.call('MeterValues', {
      connectorId: 1,
      transactionId: txB,
      meterValue: [{ timestamp: iso(t0 + 50 * MIN), sampledValue: [sv('0', 'Power.Active.Import', undefined, 'W')] }],
    });
    const idle = await s.api('GET', `/api/transactions/${txB}`);
    assert.equal(idle.body.live.powerW, 0);
    assert.equal(idle.body.live.state, 'plugged-in');
    const active = await s.api('GET', '/api/sessions/active?targetWh=20000');
    assert.deepEqual(active.body.items.map((x: any) => x.id).sort(), [txA, txB].sort());
    assert.ok(active.body.items.every((x: any) => x.live.targetWh === 20000));
    const onlyA = await s.api('GET', '/api/sessions/active?chargerId=TX-A');
    assert.deepEqual(
      onlyA.body.items.map((x: any) => x.id),
      [txA],
    );
  });

  test('meter values: measurand and phase filters, downsampling with ?step', async () => {
    const l1 = await s.api('GET', `/api/transactions/${txA}/meter-values?measurand=Power.Active.Import&phase=L1`);
    assert.equal(l1.status, 200);
    assert.equal(l1.body.step, null);
    assert.equal(l1.body.items.length, 3);
    assert.ok(l1.body.items.every((p: any) => p.phase === 'L1' && p.value === 3667 && p.w === 3667 && p.samples === 1));
    const energy = await s.api('GET', `/api/transactions/${txA}/meter-values?measurand=Energy.Active.Import.Register`);
    assert.deepEqual(
      energy.body.items.map((p: any) => p.wh),
      [2833, 4667, 6500],
    );
    const hourly = await s.api('GET', `/api/transactions/${txA}/meter-values?measurand=Power.Active.Import&step=1h`);
    assert.equal(hourly.body.step, 3600);
    // Three phases (L3 once in kW, a series of its own) over at most two hourly buckets.
    assert.ok(hourly.body.items.length <= 8);
    assert.equal(
      hourly.body.items.reduce((n: number, p: any) => n + p.samples, 0),
      9,
    );
    const charger = await s.api(
      'GET',
      '/api/chargers/TX-A/meter-values?step=60s&measurand=Power.Active.Import&phase=L2',
    );
    assert.equal(charger.body.items.length, 3);
    assert.equal(charger.body.step, 60);
    const bad = await s.api('GET', `/api/transactions/${txA}/meter-values?step=fast`);
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.details.field, 'query.step');
    assert.equal((await s.api('GET', '/api/transactions/999999/meter-values')).status, 404);
    assert.equal((await s.api('GET', '/api/chargers/NOPE/meter-values')).status, 404);
  });

  test('a stopped session: energy, duration, average and peak power, stop reason; flat tariff cost', async () => {
    const tariff = await s.api('PUT', '/api/tariff', { type: 'flat', currency: 'EUR', pricePerKwh: 0.3 });
    assert.equal(tariff.status, 200);
    await a.call('StopTransaction', {
      transactionId: txA,
      meterStop: 12000,
      timestamp: iso(t0 + 60 * MIN),
      reason: 'EVDisconnected',
    });
    const r = await s.api('GET', `/api/transactions/${txA}`);
    const t = r.body;
    assert.equal(t.active, false);
    assert.equal(t.energyWh, 11000);
    assert.equal(t.durationSeconds, 3600);
    assert.equal(t.averagePowerW, 11000);
    assert.equal(t.peakPowerW, 11001);
    assert.equal(t.stopReason, 'EVDisconnected');
    assert.equal(t.meterStop, 12000);
    assert.equal(t.live, null);
    assert.deepEqual(t.cost, { currency: 'EUR', amount: 3.3, energyWh: 11000, tariff: 'flat' });
    assert.equal((await s.api('GET', '/api/transactions/424242')).status, 404);
    assert.equal((await s.api('GET', '/api/transactions/abc')).body.error.details.field, 'path.id');
  });

  test('time-of-use tariff prices energy by when it flowed', async () => {
    // Everything before t0+30min is cheap, the rest dear (UTC clock times of this run).
    const hhmm = (ms: number) => new Date(ms).toISOString().slice(11, 16);
    const put = await s.api('PUT', '/api/tariff', {
      type: 'time-of-use',
      currency: 'EUR',
      timeZone: 'UTC',
      defaultPricePerKwh: 0.5,
      periods: [{ from: hhmm(t0 - 60 * MIN), to: hhmm(t0 + 30 * MIN), pricePerKwh: 0.1 }],
    });
    assert.equal(put.status, 200);
    const t = (await s.api('GET', `/api/transactions/${txA}`)).body;
    // 5500 Wh before t0+30 at 0.1, 5500 Wh after at 0.5.
    assert.equal(t.cost.tariff, 'time-of-use');
    assert.equal(t.cost.amount, 0.55 + 2.75);
    const badZone = await s.api('PUT', '/api/tariff', { ...put.body, timeZone: 'Mars/Olympus' });
    assert.equal(badZone.status, 400);
    assert.equal(badZone.body.error.details.field, 'body.timeZone');
    const badPeriod = await s.api('PUT', '/api/tariff', {
      ...put.body,
      periods: [{ from: '25:00', to: '07:00', pricePerKwh: 1 }],
    });
    assert.equal(badPeriod.status, 400);
    assert.equal((await s.api('GET', '/api/tariff')).body.type, 'time-of-use');
    assert.equal((await s.api('DELETE', '/api/tariff')).status, 204);
    assert.equal((await s.api('GET', '/api/tariff')).body, null);
  });

  test('list: filters, pagination, summaries', async () => {
    const all = await s.api('GET', '/api/transactions');
    assert.equal(all.status, 200);
    assert.equal(all.body.total, 2);
    const first = all.body.items.find((x: any) => x.id === txA);
    assert.equal(first.energyWh, 11000);
    assert.equal('live' in first, false);
    const active = await s.api('GET', '/api/transactions?active=true');
    assert.deepEqual(
      active.body.items.map((x: any) => x.id),
      [txB],
    );
    assert.deepEqual(
      (await s.api('GET', '/api/transactions?chargerId=TX-A')).body.items.map((x: any) => x.id),
      [txA],
    );
    assert.deepEqual(
      (await s.api('GET', '/api/transactions?idTag=bob&connectorId=1')).body.items.map((x: any) => x.id),
      [txB],
    );
    const window = await s.api('GET', `/api/transactions?from=${iso(t0 + 61 * MIN)}`);
    assert.deepEqual(
      window.body.items.map((x: any) => x.id),
      [txB],
    );
    const paged = await s.api('GET', '/api/transactions?limit=1&offset=1');
    assert.equal(paged.body.items.length, 1);
    assert.equal(paged.body.total, 2);
    assert.equal((await s.api('GET', '/api/transactions?from=yesterday')).body.error.details.field, 'query.from');
  });
});
