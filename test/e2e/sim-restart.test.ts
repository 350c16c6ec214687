// Regression (issue 12 item 9): an `ampere simulate` process whose central system restarts
// mid-session used to exit with code 0 and no report. It must reconnect with its profile's
// backoff, replay its queue in order with nothing duplicated, and present its own card.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import { after, describe, it } from 'node:test';
import { apiClient, type ServerProcess, spawnEatonSimulator, spawnServer, tempDir } from '../helpers/process.ts';
import { sleep, until } from '../helpers/wait.ts';

const TOKEN = 'sim-restart-token-0123456789abcdef0123456';
describe('ampere simulate survives a server restart', () => {
  let server: ServerProcess | undefined;
  let sim: ChildProcess | undefined;
  after(async () => {
    if (sim && sim.exitCode === null) sim.kill('SIGKILL');
    await server?.stop();
  });

  it('reconnects, delivers its queued meter values in order once, and reports at Ctrl-C', async () => {
    const data = tempDir();
    const opts = { data, env: { AMPERE_API_TOKEN: TOKEN } };
    server = await spawnServer(['--registration', 'open'], opts);
    const port = new URL(server.url).port;
    const api = apiClient(port, TOKEN);
    // The simulator's card is its own: SIM-{id}.
    await api('/api/id-tags', { method: 'POST', body: JSON.stringify({ idTag: 'SIM-RST-1' }) });

    sim = spawnEatonSimulator(port, 'RST-1');
    let stdout = '';
    let stderr = '';
    sim.stdout!.on('data', (d) => {
      stdout += d;
    });
    sim.stderr!.on('data', (d) => {
      stderr += d;
    });
    const exited = new Promise<number | null>((resolve) => sim!.once('exit', resolve));

    const tx = await until(async () => {
      const page = await api('/api/transactions?chargerId=RST-1&active=true').catch(() => undefined);
      return page?.items[0];
    }, 30_000);
    assert.equal(tx.idTag, 'SIM-RST-1');
    const killedAt = Date.now();
    await server.kill();
    server = undefined;
    await sleep(3_000);
    assert.equal(sim.exitCode, null, `the simulator exited while the server was away: ${stderr}`);

    server = await spawnServer(['--registration', 'open', '--port', port], opts);
    const restartedAt = Date.now();
    // Wait until samples taken after the restart arrive: the queue before them has been replayed.
    const series = await until(async () => {
      const s = await api(`/api/transactions/${tx.id}/meter-values?measurand=Energy.Active.Import.Register`).catch(
        () => undefined,
      );
      return s?.items.some((p: { timestamp: string }) => Date.parse(p.timestamp) > restartedAt + 1000) ? s : undefined;
    }, 30_000);
    const stamps: number[] = series.items.map((p: { timestamp: string }) => Date.parse(p.timestamp));
    for (let i = 1; i < stamps.length; i++) {
      assert.ok(stamps[i]! > stamps[i - 1]!, `sample ${i} not after the one before: ${series.items[i].timestamp}`);
    }
    const duringOutage = stamps.filter((t) => t > killedAt + 500 && t < restartedAt - 500);
    assert.ok(duringOutage.length >= 1, `no sample from the outage was delivered: ${stamps.length} samples`);

    sim.kill('SIGINT');
    assert.equal(await exited, 0, stderr);
    const report = JSON.parse(stdout);
    assert.equal(report.id, 'RST-1');
    assert.equal(report.queuedMessages, 0);
    const stopped = await until(async () => {
      const t = await api(`/api/transactions/${tx.id}`).catch(() => undefined);
      return t && !t.active ? t : undefined;
    });
    assert.equal(stopped.stopReason, 'Local');
  });
});
