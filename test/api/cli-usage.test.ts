// The CLI as a new user tries it (issue 12 item 8, issue 15 items 4 and 5): real `ampere`
// processes against a spawned server and a WebSocket charger.
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TestCharger } from '../helpers/charger.ts';
import { runCli as ampere, type ServerProcess, spawnServer, tempDir } from '../helpers/process.ts';

const LONG = 'Energy.Active.Import.Register,Power.Active.Import,Current.Import,Voltage,Current.Offered,SoC,Temperature';

describe('ampere CLI usage (real processes)', () => {
  let server: ServerProcess;
  let env: Record<string, string>;
  const chargers: TestCharger[] = [];

  before(async () => {
    server = await spawnServer();
    env = { AMPERE_URL: server.url, AMPERE_API_TOKEN: readFileSync(join(server.data, 'api-token'), 'utf8').trim() };
  });
  after(async () => {
    for (const c of chargers) await c.close();
    await server.stop();
  });

  test('approvals: a Pending charger that connected twice shows ATTEMPTS 2, not 0', async () => {
    const first = await TestCharger.connect(server.wsUrl, 'WAIT-1');
    assert.equal((await first.boot()).status, 'Pending');
    await first.close();
    const second = await TestCharger.connect(server.wsUrl, 'WAIT-1');
    chargers.push(second);
    assert.equal((await second.boot()).status, 'Pending');
    const r = await ampere(['approvals', '--json'], env);
    assert.equal(r.code, 0, r.stderr);
    const item = JSON.parse(r.stdout).items.find((a: { id: string }) => a.id === 'WAIT-1');
    assert.equal(item.source, 'pending');
    assert.equal(item.attempts, 2);
    const approved = await ampere(['approve', 'WAIT-1'], env);
    assert.equal(approved.stdout.trim(), 'WAIT-1: accepted');
    const after = await ampere(['approvals', '--json'], env);
    assert.equal(JSON.parse(after.stdout).total, 0);
  });

  test('tx --active, tx --charger ID and tx --limit 3 filter instead of being refused', async () => {
    const ch = await TestCharger.connect(server.wsUrl, 'TXF-1');
    chargers.push(ch);
    await ampere(['approve', 'TXF-1'], env);
    assert.equal((await ch.boot()).status, 'Accepted');
    const start = (i: number) =>
      ch.call<{ transactionId: number }>('StartTransaction', {
        connectorId: 1,
        idTag: `T${i}`,
        meterStart: 0,
        timestamp: new Date(Date.now() - (10 - i) * 60_000).toISOString(),
      });
    const ids: number[] = [];
    for (let i = 0; i < 4; i++) ids.push((await start(i)).transactionId);
    for (const id of ids.slice(0, 3)) {
      await ch.call('StopTransaction', { transactionId: id, meterStop: 10, timestamp: new Date().toISOString() });
    }
    const active = JSON.parse((await ampere(['tx', '--active', '--json'], env)).stdout);
    assert.deepEqual(
      active.items.map((t: { id: number }) => t.id),
      [ids[3]],
    );
    const mine = JSON.parse((await ampere(['tx', '--charger', 'TXF-1', '--json'], env)).stdout);
    assert.equal(mine.total, 4);
    const limited = await ampere(['tx', '--limit', '3'], env);
    assert.equal(limited.code, 0, limited.stderr);
    assert.match(limited.stdout, /\(3 of 4; --limit\/--offset for more\)/);
  });

  test('config ID cuts a long value to the terminal width; --json has it whole', async () => {
    const ch = await TestCharger.connect(server.wsUrl, 'WIDE-1');
    chargers.push(ch);
    await ampere(['approve', 'WIDE-1'], env);
    await ch.boot();
    ch.onCall = (action) =>
      action === 'GetConfiguration'
        ? {
            configurationKey: [
              { key: 'MeterValuesSampledData', readonly: true, value: LONG.repeat(2) },
              { key: 'HeartbeatInterval', readonly: false, value: '300' },
            ],
          }
        : {};
    const narrow = await ampere(['config', 'WIDE-1'], { ...env, COLUMNS: '80' });
    assert.equal(narrow.code, 0, narrow.stderr);
    const lines = narrow.stdout.trimEnd().split('\n');
    for (const line of lines) assert.ok(line.length <= 80, `${line.length} columns: ${line}`);
    assert.match(narrow.stdout, /MeterValuesSampledData {2}Energy\.Active\.Import\.Register.*… {2}yes/);
    const json = JSON.parse((await ampere(['config', 'WIDE-1', '--json'], env)).stdout);
    assert.equal(json.configurationKey[0].value, LONG.repeat(2));
  });

  test('serve --help, tx --help and tags --help print usage; bad flags exit 2 with a hint', async () => {
    const serve = await ampere(['serve', '--help']);
    assert.equal(serve.code, 0);
    assert.match(serve.stdout, /^Usage: ampere serve/);
    assert.match(serve.stdout, /--registration/);
    for (const word of ['tx', 'tags']) {
      const r = await ampere([word, '--help']);
      assert.equal(r.code, 0, r.stderr);
      assert.match(r.stdout, new RegExp(`ampere ${word} list`));
    }
    // tx show is followed by smart charging's part of the session: not for --help.
    const show = await ampere(['tx', 'show', '--help']);
    assert.equal(show.code, 0);
    assert.equal(show.stderr, '');
    assert.match(show.stdout, /^Usage: ampere tx show ID/);
    const bogus = await ampere(['chargers', '--bogus'], env);
    assert.equal(bogus.code, 2);
    assert.equal(bogus.stderr, 'ampere: chargers: unknown flag --bogus; see `ampere chargers --help`\n');
    const events = await ampere(['events', '--charger'], env);
    assert.equal(events.code, 2);
    assert.match(events.stderr, /--charger needs a value/);
  });

  test('startup failures: port in use and --data naming a file are one line, exit 2', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    const dir = tempDir();
    try {
      const busy = await ampere(['serve', '--host', '127.0.0.1', '--port', String(port), '--data', dir], {
        AMPERE_API_TOKEN: 'x'.repeat(32),
      });
      assert.equal(busy.code, 2);
      assert.equal(
        busy.stderr,
        `ampere: port ${port} on 127.0.0.1 is already in use: stop the program using it, or choose another with --port (0 = any free port)\n`,
      );
    } finally {
      blocker.close();
    }
    const file = join(dir, 'not-a-folder');
    writeFileSync(file, '');
    const bad = await ampere(['serve', '--port', '0', '--data', file], { AMPERE_API_TOKEN: 'x'.repeat(32) });
    assert.equal(bad.code, 2);
    assert.equal(bad.stderr.split('\n').length, 2, bad.stderr);
    assert.match(bad.stderr, new RegExp(`^ampere: ${file} is a file, not a folder: point --data`));
  });
});
