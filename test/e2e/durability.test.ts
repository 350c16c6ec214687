// Durability: kill -9 the server while 50 chargers send MeterValues; after the kill, every meter
// value that had been acknowledged is in the database (committed before its CALLRESULT).
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { TestCharger } from '../helpers/charger.ts';
import { spawnServer } from '../helpers/process.ts';

describe('durability', () => {
  it('keeps every acknowledged meter value through kill -9', async (t) => {
    const server = await spawnServer(['--registration', 'open']);
    const chargers = await Promise.all(
      Array.from({ length: 50 }, (_, i) => TestCharger.connect(server.wsUrl, `DUR-${i}`)),
    );
    await Promise.all(chargers.map((c) => c.boot()));
    const acked = new Map<string, number[]>();
    let stop = false;
    const loops = chargers.map(async (c, i) => {
      const id = `DUR-${i}`;
      const mine: number[] = [];
      acked.set(id, mine);
      for (let n = 1; !stop; n++) {
        try {
          const f = await c.callFrame('MeterValues', {
            connectorId: 1,
            meterValue: [{ timestamp: new Date().toISOString(), sampledValue: [{ value: String(n) }] }],
          });
          if (f[0] === 3) mine.push(n);
        } catch {
          return; // the server is gone
        }
      }
    });
    // Let the load run, then kill the server mid-flight.
    await new Promise((r) => setTimeout(r, 1500));
    await server.kill();
    stop = true;
    await Promise.all(loops);
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
