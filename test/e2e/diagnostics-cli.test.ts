// Diagnostics from the command line against a real `ampere serve` process with its FTP server
// (--ftp-port 0): `diagnostics get` (FTP and --http), `ls`, `show`, `download -o FILE`, with the
// simulator (a real process's WebSocket, a real FTP upload) as the charger.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli, type ServerProcess, spawnServer, tempDir } from '../helpers/process.ts';
import { SimFleet } from '../helpers/sim.ts';
import { until } from '../helpers/wait.ts';

const TOKEN = 'diagnostics-token-0123456789abcdef0123';

describe('ampere diagnostics (CLI) against ampere serve --ftp-port 0', () => {
  let server: ServerProcess;
  const fleet = new SimFleet();
  const env = () => ({ AMPERE_URL: server.url, AMPERE_API_TOKEN: TOKEN });

  before(async () => {
    server = await spawnServer(['--registration', 'open', '--ftp-port', '0', '--public-host', '127.0.0.1'], {
      env: { AMPERE_API_TOKEN: TOKEN },
    });
    await fleet.start(server.wsUrl, '14452', 'eaton-green-motion', '/ocppj/v1.6');
  });
  after(async () => {
    await fleet.stop();
    await server.stop();
  });

  for (const via of ['ftp', 'http'] as const) {
    it(`gets, lists, shows and downloads an upload by ${via}`, async () => {
      const got = await runCli(['diagnostics', 'get', '14452', ...(via === 'http' ? ['--http'] : [])], env());
      assert.equal(got.code, 0, got.stderr);
      const req = Number(/request (\d+)/.exec(got.stdout)?.[1]);
      assert.match(got.stdout, /^GetDiagnostics: the charger will upload diagnostics-14452-.*\.json \(request \d+;/);
      await until(async () => {
        const res = await fetch(`${server.url}/api/diagnostics/${req}`, {
          headers: { authorization: `Bearer ${TOKEN}` },
        });
        const r = (await res.json()) as { downloadable: boolean; status: string };
        return r.downloadable && r.status === 'Uploaded' ? r : undefined;
      });
      const table = await runCli(['diagnostics', 'ls'], env());
      assert.match(table.stdout, new RegExp(`^${req} +14452 +${via} +Uploaded `, 'm'));
      const shown = await runCli(['diagnostics', 'show', String(req)], env());
      assert.match(shown.stdout, /Uploading\n.*received {2}\d+ bytes/s);

      const file = join(tempDir('ampere-diag-'), 'out.json');
      const dl = await runCli(['diagnostics', 'download', String(req), '-o', file], env());
      assert.equal(dl.code, 0, dl.stderr);
      const content = JSON.parse(readFileSync(file, 'utf8'));
      assert.equal(content.chargePointId, '14452');
      assert.equal(content.configuration.VendorId, 'GreenMotion');
    });
  }

  it('a request without a file cannot be downloaded, with a message that says why', async () => {
    const r = await runCli(['diagnostics', 'download', '999', '-o', join(tempDir(), 'x')], env());
    assert.equal(r.code, 1);
    assert.match(r.stderr, /No diagnostics request 999 \(AMPERE_ERR_NOT_FOUND\)/);
    const bad = await runCli(['diagnostics', 'download', '1'], env());
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /-o FILE/);
  });
});
