// End to end: a simulated charger keeps charging while `ampere serve` is killed, queues its
// transaction messages, and delivers them in order once the server is back on the same port.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { createStation, type SimStation } from '../../src/chargepoint/index.ts';
import { generic } from '../../src/chargepoint/profiles/generic.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { type ServerProcess, spawnServer, tempDir } from '../helpers/process.ts';

const TOKEN = 'sim-offline-token-0123456789abcdef012345';
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until(cond: () => boolean, ms = 15_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await sleep(50);
  }
}

describe('offline queue against a restarting ampere serve', () => {
  let server: ServerProcess | undefined;
  let sim: SimStation | undefined;
  after(async () => {
    await sim?.stop();
    await server?.stop();
  });

  it('replays MeterValues and StopTransaction in order after the server comes back', async () => {
    const data = tempDir();
    const store = await openSqliteStore({ file: join(data, 'ampere.db') });
    await store.upsertIdTag({ idTag: 'OFFLINE-CARD', status: 'Accepted' });
    await store.close();
    server = await spawnServer(['--registration', 'open'], { data, env: { AMPERE_API_TOKEN: TOKEN } });
    const port = new URL(server.url).port;
    // Quick reconnects so the test does not wait for a real charger's backoff.
    const profile = { ...generic, backoff: { minS: 0.2, randomS: 0, repeat: 1000, fixedS: 0.2 } };
    sim = createStation({
      id: 'OFF-1',
      profile,
      url: `${server.wsUrl}/ocpp`,
      config: { MeterValueSampleInterval: '1' },
    });
    const st = sim.station;
    await sim.start();
    await until(() => st.registration === 'Accepted');
    st.plug(1);
    assert.equal(await st.swipe('OFFLINE-CARD'), 'Accepted');
    await until(() => st.connector(1).tx?.id !== undefined);
    const txId = st.connector(1).tx!.id!;
    await server.kill();
    server = undefined;
    await until(() => !st.online);
    await sleep(3_000);
    st.unplug(1);
    assert.ok(st.queuedMessages >= 3, `queued ${st.queuedMessages}`);
    const sent: string[] = [];
    st.setHooks({ event: (e) => (e.type === 'sent' ? sent.push(e.action) : undefined) });
    server = await spawnServer(['--registration', 'open', '--port', port], { data, env: { AMPERE_API_TOKEN: TOKEN } });
    await until(() => st.queuedMessages === 0);
    const txMessages = sent.filter((a) => a === 'MeterValues' || a === 'StopTransaction');
    assert.equal(txMessages.at(-1), 'StopTransaction');
    assert.ok(txMessages.slice(0, -1).every((a) => a === 'MeterValues'));
    const res = await fetch(`${server.url}/api/transactions/${txId}`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    const tx = (await res.json()) as { stopReason: string; meterStop: number; active: boolean };
    assert.equal(tx.active, false);
    assert.equal(tx.stopReason, 'EVDisconnected');
    assert.ok(tx.meterStop > 0);
  });
});
