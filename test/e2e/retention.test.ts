// Meter-value retention end to end: a server started with --retention-days folds the meter values
// past that age into daily totals (GET /api/chargers/{id}/meter-daily) and deletes them; younger
// ones stay in /meter-values.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { apiClient, type ServerProcess, spawnServer, tempDir } from '../helpers/process.ts';
import { until } from '../helpers/wait.ts';
import { meterRow } from '../store/contract.ts';

const TOKEN = 'retention-test-token-0123456789ab';
const DAY = 86_400_000;

describe('meter-value retention (--retention-days)', () => {
  let server: ServerProcess | undefined;
  after(async () => {
    await server?.stop();
  });

  it('keeps daily totals of the meter values past the age, and the younger values as they are', async () => {
    const data = tempDir();
    const old = Date.UTC(2020, 0, 15, 8, 0, 0);
    const recent = Date.now() - DAY;
    const store = await openSqliteStore({ file: join(data, 'ampere.db') });
    await store.upsertCharger('RET-1', { registration: 'accepted' });
    const reading = (ts: number, wh: number, w: number) => [
      meterRow({ chargerId: 'RET-1', timestamp: ts, value: String(wh), wh }),
      meterRow({
        chargerId: 'RET-1',
        timestamp: ts,
        measurand: 'Power.Active.Import',
        unit: 'W',
        value: String(w),
        wh: null,
        w,
      }),
    ];
    await store.insertMeterValues(reading(old, 10_000, 3600));
    await store.insertMeterValues(reading(old + 3_600_000, 17_400, 7400));
    await store.insertMeterValues(reading(recent, 20_000, 1000));
    await store.close();

    server = await spawnServer(['--retention-days', '30'], { data, env: { AMPERE_API_TOKEN: TOKEN } });
    const api = apiClient(new URL(server.url).port, TOKEN);
    const daily = await until(async () => {
      const d = await api('/api/chargers/RET-1/meter-daily');
      return d?.items.length > 0 ? d : undefined;
    });
    assert.deepEqual(daily.items, [
      {
        connectorId: 1,
        day: '2020-01-15',
        energyWh: 7400,
        firstWh: 10_000,
        lastWh: 17_400,
        maxPowerW: 7400,
        readings: 2,
      },
    ]);
    const left = await api('/api/chargers/RET-1/meter-values');
    assert.deepEqual(
      left.items.map((p: { timestamp: string; wh: number | null }) => [Date.parse(p.timestamp), p.wh]),
      [
        [recent, 20_000],
        [recent, null],
      ],
    );
    assert.deepEqual((await api('/api/chargers/RET-1/meter-daily?from=2020-01-16')).items, []);
    assert.equal(await api('/api/chargers/NOPE/meter-daily'), undefined, 'an unknown charger is a 404');
  });
});
