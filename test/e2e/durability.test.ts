// Durability: kill -9 the server while 50 chargers send MeterValues; after the kill, every meter
// value that had been acknowledged is in the database (committed before its CALLRESULT).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { sendMeterValuesUntil, TestCharger } from '../helpers/charger.ts';
import { spawnServer } from '../helpers/process.ts';

describe('durability', () => {
  it('keeps every acknowledged meter value through kill -9', async (t) => {
    const server = await spawnServer(['--registration', 'open']);
    const chargers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => TestCharger.connect(server.wsUrl, `DUR-${i}`)),
    );
    await Promise.all(chargers.map((c) => c.boot()));
    let stop = false;
    const loops = chargers.map((c) => sendMeterValuesUntil(c, () => !stop));
    // Let the load run, then kill the server mid-flight.
    await new Promise((r) => setTimeout(r, 1500));
    await server.kill();
    stop = true;
    const acked = new Map((await Promise.all(loops)).map((values, i) => [`DUR-${i}`, values]));
    const total = [...acked.values()].reduce((s, a) => s + a.length, 0);
    assert.ok(total > 500, `enough load before the kill (${total} acks)`);
    t.diagnostic(`${total} MeterValues acknowledged before kill -9`);

    const store = await openSqliteStore({ file: join(server.data, 'ampere.db') });
    try {
      for (const [id, values] of acked) {
        const rows = await store.queryMeterValues({ chargerId: id, limit: 100_000 });
        const stored = new Set(rows.map((r) => Number(r.value)));
        const missing = values.filter((v) => !stored.has(v));
        assert.deepEqual(missing, [], `${id}: acknowledged but not stored`);
      }
    } finally {
      await store.close();
    }
  });
});
