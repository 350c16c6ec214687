// Graceful drain: SIGTERM to a real `ampere serve` while chargers send MeterValues and a simulator
// charges. The server closes every charger with 1001, keeps every acknowledged meter value,
// exits 0; the simulator reconnects on its own once a server is back on the same port.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { sendMeterValuesUntil, TestCharger } from '../helpers/charger.ts';
import { apiClient, type ServerProcess, spawnEatonSimulator, spawnServer, tempDir } from '../helpers/process.ts';
import { sleep, until } from '../helpers/wait.ts';

const TOKEN = 'drain-test-token-0123456789abcdef';

describe('graceful drain on SIGTERM', () => {
  let server: ServerProcess | undefined;
  let sim: ChildProcess | undefined;
  after(async () => {
    if (sim && sim.exitCode === null) sim.kill('SIGKILL');
    await server?.stop();
  });

  it('closes chargers with 1001, keeps every acknowledged meter value, exits 0; the simulator comes back', async () => {
    const data = tempDir();
    const opts = { data, env: { AMPERE_API_TOKEN: TOKEN } };
    server = await spawnServer(['--registration', 'open'], opts);
    const port = new URL(server.url).port;
    const api = apiClient(port, TOKEN);
    await api('/api/id-tags', { method: 'POST', body: JSON.stringify({ idTag: 'SIM-DRAIN-SIM' }) });

    // The simulator, mid-session: an Eaton charging on its card, a meter value every second.
    sim = spawnEatonSimulator(port, 'DRAIN-SIM');
    let simErr = '';
    sim.stderr!.on('data', (d) => {
      simErr += d;
    });
    const tx = await until(async () => {
      const page = await api('/api/transactions?chargerId=DRAIN-SIM&active=true').catch(() => undefined);
      return page?.items[0];
    }, 30_000);

    // Raw chargers send MeterValues as fast as they are answered, right up to the drain.
    const chargers = await Promise.all(
      Array.from({ length: 10 }, (_, i) => TestCharger.connect(server!.wsUrl, `DRAIN-${i}`)),
    );
    await Promise.all(chargers.map((c) => c.boot()));
    let stop = false;
    const loops = chargers.map((c) => sendMeterValuesUntil(c, () => !stop));
    await sleep(1000);
    const code = await server.stop();
    stop = true;
    const acked = new Map((await Promise.all(loops)).map((values, i) => [`DRAIN-${i}`, values]));
    server = undefined;
    assert.equal(code, 0, 'the drained server exits 0');
    for (const c of chargers) {
      const closed = await c.closed;
      assert.equal(closed.code, 1001, 'closed with 1001 (going away)');
    }
    const total = [...acked.values()].reduce((s, a) => s + a.length, 0);
    assert.ok(total > 50, `load before the drain (${total} acknowledged)`);

    const store = await openSqliteStore({ file: join(data, 'ampere.db') });
    try {
      for (const [id, values] of acked) {
        const rows = await store.queryMeterValues({ chargerId: id, limit: 100_000 });
        const stored = new Set(rows.map((r) => Number(r.value)));
        assert.deepEqual(
          values.filter((v) => !stored.has(v)),
          [],
          `${id}: acknowledged but not stored`,
        );
      }
      const charger = await store.getCharger('DRAIN-SIM');
      assert.equal(charger?.connected, false, 'the drain stored the disconnection');
    } finally {
      await store.close();
    }

    // Back on the same port: the simulator reconnects by itself and its session goes on.
    assert.equal(sim.exitCode, null, `the simulator kept running: ${simErr}`);
    server = await spawnServer(['--registration', 'open', '--port', port], opts);
    const restartedAt = Date.now();
    const reconnected = await until(async () => {
      const c = await api('/api/chargers/DRAIN-SIM').catch(() => undefined);
      return c?.connected === true ? c : undefined;
    }, 30_000);
    assert.equal(reconnected.id, 'DRAIN-SIM');
    await until(async () => {
      const values = await api(`/api/transactions/${tx.id}/meter-values?limit=1000`).catch(() => undefined);
      const items: { timestamp: string }[] = values?.items ?? values ?? [];
      return items.some((v) => Date.parse(v.timestamp) >= restartedAt) ? true : undefined;
    }, 30_000);
  });
});
