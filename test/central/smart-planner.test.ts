// The planner as a user meets it: what cannot be meant is refused with a clear 400, a night tariff
// entered once drives both the plan and the session cost, and the plan of a session is shown with
// its slots in the site's time zone and the reason it is waiting.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { type RunningServer, startServer } from '../../src/app/server.ts';
import { loadServeConfig } from '../../src/config/index.ts';
import { TestCharger } from '../helpers/charger.ts';
import { tempDir } from '../helpers/process.ts';

describe('smart charging planner, as a user meets it', () => {
  let server: RunningServer;
  let cp: TestCharger;
  const profiles: any[] = [];
  let api: (method: string, path: string, body?: unknown, type?: string) => Promise<{ status: number; json: any }>;

  before(async () => {
    server = await startServer(
      loadServeConfig(['--port', '0', '--data', tempDir(), '--registration', 'open', '--log-level', 'silent'], {}),
    );
    api = async (method, path, body, type) => {
      const res = await fetch(`${server.url}${path}`, {
        method,
        headers: {
          authorization: `Bearer ${server.apiToken}`,
          ...(body !== undefined ? { 'content-type': type ?? 'application/json' } : {}),
        },
        ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
      });
      const text = await res.text();
      return { status: res.status, json: text ? JSON.parse(text) : null };
    };
    cp = await TestCharger.connect(server.url.replace('http', 'ws'), 'HOME');
    cp.onCall = (action, payload) => {
      if (action === 'GetConfiguration')
        return { configurationKey: [{ key: 'SupportedFeatureProfiles', value: 'Core,SmartCharging', readonly: true }] };
      if (action === 'SetChargingProfile') profiles.push((payload as any).csChargingProfiles);
      return { status: 'Accepted' };
    };
    await cp.boot('Acme', 'Wallbox');
    const site = await api('PUT', '/api/sites/home', {
      gridLimitA: 25,
      timeZone: 'Europe/Amsterdam',
      chargers: [{ chargerId: 'HOME', phases: 3, maxCurrentA: 16 }],
    });
    assert.equal(site.status, 200, JSON.stringify(site.json));
  });
  after(async () => {
    await cp?.close();
    await server?.close();
  });

  const start = async (idTag: string) => {
    await api('POST', '/api/id-tags', { idTag, status: 'Accepted' });
    await cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Charging' });
    const r = await cp.call<{ transactionId: number }>('StartTransaction', {
      connectorId: 1,
      idTag,
      meterStart: 1000,
      timestamp: new Date().toISOString(),
    });
    return r.transactionId;
  };
  const stop = (transactionId: number, meterStop: number) =>
    cp.call('StopTransaction', { transactionId, meterStop, timestamp: new Date().toISOString() });

  it('refuses what cannot be meant: a departure in the past, prices that end before now, odd slots, negative energy', async () => {
    const tx = await start('REFUSE');
    const past = await api('PUT', `/api/transactions/${tx}/plan`, {
      departure: new Date(Date.now() - 60_000).toISOString(),
      energyKWh: 10,
    });
    assert.equal(past.status, 400);
    assert.match(past.json.error.message, /in the past/);
    const negative = await api('PUT', `/api/transactions/${tx}/plan`, {
      departure: new Date(Date.now() + 3_600_000).toISOString(),
      energyKWh: -5,
    });
    assert.equal(negative.status, 400);
    assert.match(negative.json.error.message, /energyKWh/);
    const old = await api('PUT', '/api/sites/home/prices', {
      start: new Date(Date.now() - 5 * 3_600_000).toISOString(),
      slotMinutes: 60,
      price: [0.3, 0.2],
    });
    assert.equal(old.status, 400);
    assert.match(old.json.error.message, /ends at .* before now/);
    const odd = await api('PUT', '/api/sites/home/prices', {
      start: new Date().toISOString(),
      slotMinutes: 20,
      price: [0.3, 0.2],
    });
    assert.equal(odd.status, 400);
    const oddCsv = await api(
      'POST',
      '/api/sites/home/prices.csv',
      'start,price\n2030-01-01T00:00:00Z,0.3\n2030-01-01T00:20:00Z,0.2\n',
      'text/csv',
    );
    assert.equal(oddCsv.status, 400);
    assert.match(oddCsv.json.error.message, /15, 30 or 60/);
    // A series that ends before the departure is accepted with a warning.
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    const short = await api('PUT', '/api/sites/home/prices', {
      start: new Date(hour).toISOString(),
      slotMinutes: 60,
      price: [0.3, 0.2],
    });
    assert.equal(short.status, 200);
    const plan = await api('PUT', `/api/transactions/${tx}/plan`, {
      departure: new Date(hour + 6 * 3_600_000).toISOString(),
      energyKWh: 5,
    });
    assert.equal(plan.status, 200, JSON.stringify(plan.json));
    assert.match(plan.json.warnings[0], /price series ends at .* before its departure/);
    await stop(tx, 1000);
    assert.equal((await api('PUT', `/api/transactions/${tx}/plan`, { fast: true })).status, 409);
  });

  it('a night tariff entered once: the plan waits for the cheap hours and the session is priced by it', async () => {
    // No series: the tariff alone is the price model (the series of the first test is removed).
    await server.smart.repo.saveSeries('home', null);
    const now = Date.now();
    const local = (t: number) =>
      new Intl.DateTimeFormat('en-GB', {
        timeZone: 'Europe/Amsterdam',
        hour: '2-digit',
        minute: '2-digit',
        hourCycle: 'h23',
      }).format(new Date(t));
    // Cheap from two hours from now, for three hours (local time, wrapping past midnight as needed).
    const from = local(Math.ceil(now / 3_600_000) * 3_600_000 + 3_600_000);
    const to = local(Math.ceil(now / 3_600_000) * 3_600_000 + 4 * 3_600_000);
    const tariff = await api('PUT', '/api/tariff', {
      type: 'time-of-use',
      currency: 'EUR',
      timeZone: 'Europe/Amsterdam',
      defaultPricePerKwh: 0.4,
      periods: [{ from, to, pricePerKwh: 0.1 }],
    });
    assert.equal(tariff.status, 200, JSON.stringify(tariff.json));

    const tx = await start('NIGHT');
    const departure = new Date(Math.ceil(now / 3_600_000) * 3_600_000 + 6 * 3_600_000).toISOString();
    const plan = await api('PUT', `/api/transactions/${tx}/plan`, { departure, energyKWh: 8 });
    assert.equal(plan.status, 200, JSON.stringify(plan.json));
    assert.equal(plan.json.warnings, undefined);
    await server.smart.settle();

    const view = await api('GET', `/api/transactions/${tx}/plan`);
    assert.equal(view.status, 200, JSON.stringify(view.json));
    // Paused now, and it says until when, in the site's time zone.
    assert.equal(view.json.state, 'paused', JSON.stringify(view.json));
    assert.match(view.json.reason, new RegExp(`waiting for the planned slot at .*T${from}:00[+-]\\d\\d:\\d\\d`));
    assert.match(view.json.plan.departure, /[+-]\d\d:\d\d$/);
    assert.equal(view.json.plan.energyWantedKWh, 8);
    assert.equal(view.json.plan.shortKWh, 0);
    assert.ok(view.json.nextSlots.length > 0);
    assert.ok(
      view.json.nextSlots.every((s: any) => s.price === 0.1),
      JSON.stringify(view.json.nextSlots),
    );
    assert.ok(Math.abs(view.json.plan.expectedCost - 0.8) < 0.01, JSON.stringify(view.json.plan));
    assert.equal(view.json.plan.currency, 'EUR');
    // The charger was told 0 A now.
    assert.equal(profiles.at(-1).chargingSchedule.chargingSchedulePeriod[0].limit, 0);

    // The session cost comes from the same tariff: 2 kWh now, at the day price.
    await stop(tx, 3000);
    const done = await api('GET', `/api/transactions/${tx}`);
    assert.equal(done.json.cost.currency, 'EUR');
    assert.ok(Math.abs(done.json.cost.amount - 0.8) < 1e-6, JSON.stringify(done.json.cost));
  });

  it('a session at a site with a price series is priced by the series where it covers it', async () => {
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    assert.equal(
      (
        await api('PUT', '/api/sites/home/prices', {
          start: new Date(hour).toISOString(),
          slotMinutes: 60,
          price: [0.05, 0.05, 0.05],
        })
      ).status,
      200,
    );
    const tx = await start('SERIES');
    await stop(tx, 5000);
    const done = await api('GET', `/api/transactions/${tx}`);
    assert.equal(done.json.cost.tariff, 'dynamic');
    assert.ok(Math.abs(done.json.cost.amount - 0.2) < 1e-6, JSON.stringify(done.json.cost));
  });
});
