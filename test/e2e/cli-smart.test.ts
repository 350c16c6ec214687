// The smart-charging CLI as a new user drives it, with real processes: `ampere serve`, a charger
// on a WebSocket, and `ampere site …`, `prices …`, `tariff …`, `tx plan …`, `tags plan …`.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { TestCharger } from '../helpers/charger.ts';
import { runCli, type ServerProcess, spawnServer, tempDir } from '../helpers/process.ts';

const TOKEN = 'cli-smart-token-0123456789abcdef0123456';

describe('smart-charging CLI (real processes)', () => {
  let server: ServerProcess;
  let env: Record<string, string>;
  let charger: TestCharger;
  const profiles: any[] = [];
  const cli = (...args: string[]) => runCli(args, env);

  before(async () => {
    server = await spawnServer(['--registration', 'open'], { env: { AMPERE_API_TOKEN: TOKEN } });
    env = { AMPERE_URL: server.url, AMPERE_API_TOKEN: TOKEN };
    charger = await TestCharger.connect(server.wsUrl, 'DRIVEWAY');
    charger.onCall = (action, payload) => {
      if (action === 'GetConfiguration')
        return { configurationKey: [{ key: 'SupportedFeatureProfiles', value: 'Core,SmartCharging', readonly: true }] };
      if (action === 'SetChargingProfile') profiles.push((payload as any).csChargingProfiles);
      return { status: 'Accepted' };
    };
    await charger.boot('Acme', 'Wallbox');
  });
  after(async () => {
    await charger?.close();
    await server?.stop();
  });

  it('every command takes --help; unknown flags and missing values are refused with a hint', async () => {
    for (const args of [
      ['sites', '--help'],
      ['site', '--help'],
      ['site', 'set', '--help'],
      ['site', 'home', 'charger', '--help'],
      ['site', 'home', 'load', '--help'],
      ['prices', '--help'],
      ['tariff', '--help'],
      ['tx', 'plan', '--help'],
      ['tx', 'fast', '--help'],
      ['tags', 'plan', '--help'],
    ]) {
      const r = await cli(...args);
      assert.equal(r.code, 0, `${args.join(' ')}: ${r.stderr}`);
      assert.match(r.stdout, /ampere|Smart charging/, args.join(' '));
    }
    const bogus = await cli('site', 'set', 'home', '--grid-limit', '20', '--bogus');
    assert.equal(bogus.code, 2);
    assert.match(bogus.stderr, /Unknown option '--bogus'[\s\S]*Usage: ampere site set/);
    const missing = await cli('site', 'set', 'home', '--grid-limit');
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /argument missing|--grid-limit/);
    const bad = await cli('site', 'set', 'home', '--algorithm', 'FAIR');
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /UNIFORM, OPTIMIZED or SUSPENDABLE/);
  });

  it('a site from scratch: limit, charger, building load, status', async () => {
    const created = await cli(
      'site',
      'set',
      'home',
      '--grid-limit',
      '25',
      '--algorithm',
      'uniform',
      '--time-zone',
      'Europe/Amsterdam',
    );
    assert.equal(created.code, 0, created.stderr);
    const added = await cli('site', 'home', 'charger', 'add', 'DRIVEWAY', '--phases', '3', '--max-current', '16');
    assert.equal(added.code, 0, added.stderr);
    const ghost = await cli('site', 'home', 'charger', 'add', 'GARAGE', '--max-current', '16');
    assert.match(ghost.stdout, /warning: charger GARAGE has never connected/);
    assert.equal((await cli('site', 'home', 'charger', 'rm', 'GARAGE')).code, 0);
    const list = await cli('sites');
    assert.match(list.stdout, /home\s+-\s+25 A\s+UNIFORM\s+DRIVEWAY\s+Europe\/Amsterdam/);
    const load = await cli('site', 'home', 'load', '4,5,6');
    assert.equal(load.code, 0, load.stderr);
    assert.match(load.stdout, /building load 4 \/ 5 \/ 6 A/);
    const wrong = await cli('site', 'home', 'load', '4,5');
    assert.equal(wrong.code, 2);
    const status = await cli('site', 'home');
    assert.equal(status.code, 0, status.stderr);
    assert.match(status.stdout, /limit 25 A; building 4 \/ 5 \/ 6 A/);
    assert.match(status.stdout, /DRIVEWAY\/1/);
    const json = JSON.parse((await cli('site', 'home', '--json')).stdout);
    assert.equal(json.gridLimitA, 25);
    assert.deepEqual(json.violations, []);
  });

  it('prices, tariff, a session plan and fast charge', async () => {
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    const csv = join(tempDir(), 'prices.csv');
    writeFileSync(
      csv,
      `start,price,co2\n${[0.4, 0.4, 0.1, 0.1, 0.3, 0.3].map((p, i) => `${new Date(hour + i * 3_600_000).toISOString()},${p},${100 + i}`).join('\n')}\n`,
    );
    const imported = await cli('prices', 'home', 'import', csv);
    assert.equal(imported.code, 0, imported.stderr);
    assert.match(imported.stdout, /6 slots of 60 min/);
    const shown = await cli('prices', 'home');
    assert.match(shown.stdout, /0\.10\s+102/);
    const tariff = await cli('tariff', 'set', '--flat', '0.3', '--currency', 'EUR');
    assert.equal(tariff.code, 0, tariff.stderr);
    assert.match((await cli('tariff')).stdout, /flat: 0\.3 EUR\/kWh/);

    await cli('tags', 'add', 'CAR-1');
    await charger.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Charging' });
    const { transactionId } = await charger.call<{ transactionId: number }>('StartTransaction', {
      connectorId: 1,
      idTag: 'CAR-1',
      meterStart: 0,
      timestamp: new Date().toISOString(),
    });
    const departure = new Date(hour + 5 * 3_600_000).toISOString();
    const planned = await cli('tx', 'plan', String(transactionId), '--departure', departure, '--energy', '8');
    assert.equal(planned.code, 0, planned.stderr);
    assert.match(planned.stdout, /planned/);
    // The plan is shown: waiting for the cheap slot, in the site's time zone.
    await new Promise((r) => setTimeout(r, 800));
    const view = await cli('tx', 'plan', String(transactionId));
    assert.match(view.stdout, /paused: waiting for the planned slot at \d{4}-\d\d-\d\dT\d\d:00:00[+-]\d\d:\d\d/);
    assert.match(view.stdout, /departure .*[+-]\d\d:\d\d, 8 kWh wanted \(cheapest\)/);
    assert.match(view.stdout, /FROM\s+TO\s+CURRENT/);
    const show = await cli('tx', 'show', String(transactionId));
    assert.match(show.stdout, /waiting for the planned slot/);
    const active = await cli('tx', 'active');
    assert.match(active.stdout, new RegExp(`#${transactionId} DRIVEWAY/1 paused`));
    assert.equal(profiles.at(-1).chargingSchedule.chargingSchedulePeriod[0].limit, 0);

    const past = await cli('tx', 'plan', String(transactionId), '--departure', '2020-01-01T00:00:00Z');
    assert.equal(past.code, 1);
    assert.match(past.stderr, /in the past/);

    const fast = await cli('tx', 'fast', String(transactionId));
    assert.equal(fast.code, 0, fast.stderr);
    await new Promise((r) => setTimeout(r, 800));
    assert.equal(profiles.at(-1).chargingSchedule.chargingSchedulePeriod[0].limit, 16);
    assert.match((await cli('tx', 'plan', String(transactionId))).stdout, /charging at 16 A[\s\S]*fast charge/);

    const tag = await cli('tags', 'plan', 'CAR-1', '--departure', '07:00', '--energy', '20', '--greenest');
    assert.equal(tag.code, 0, tag.stderr);
    assert.match(tag.stdout, /ready at 07:00 with 20 kWh/);
    assert.match((await cli('tags', 'plan', 'CAR-1', '--clear')).stdout, /no plan/);
  });

  it('a charger taken out of the site gets its own limits back', async () => {
    const cleared: unknown[] = [];
    const answer = charger.onCall!;
    charger.onCall = (action, payload) => {
      if (action === 'ClearChargingProfile') cleared.push(payload);
      return answer(action, payload);
    };
    const rm = await cli('site', 'home', 'charger', 'rm', 'DRIVEWAY');
    assert.equal(rm.code, 0, rm.stderr);
    assert.deepEqual(cleared, [{ id: 9001 }, { id: 9101 }]);
  });
});
