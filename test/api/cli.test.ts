// End to end with real processes: `ampere serve` spawned on port 0, a WebSocket charger, and the
// operator CLI run as child processes against it.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, test } from 'node:test';
import { TestCharger } from '../helpers/charger.ts';
import { runCli as cli, type ServerProcess, spawnServer } from '../helpers/process.ts';

describe('ampere serve + operator CLI (real processes)', () => {
  let server: ServerProcess;
  let token: string;
  let env: Record<string, string>;
  let charger: TestCharger;
  const calls: [string, Record<string, unknown>][] = [];

  before(async () => {
    server = await spawnServer();
    token = readFileSync(join(server.data, 'api-token'), 'utf8').trim();
    env = { AMPERE_URL: server.url, AMPERE_API_TOKEN: token };
  });
  after(async () => {
    await charger?.close();
    await server.stop();
  });

  test('the generated token is stored 0600, printed once to stderr, and never logged', async () => {
    assert.equal(statSync(join(server.data, 'api-token')).mode & 0o777, 0o600);
    assert.equal(server.stderr().split(token).length - 1, 1);
    assert.match(server.stderr(), /generated the operator API token/);
    const unauth = await fetch(`${server.url}/api/chargers`);
    assert.equal(unauth.status, 401);
    const ok = await fetch(`${server.url}/api/chargers`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(ok.status, 200);
  });

  test('approve a Pending charger, start and stop a charge, send a command', async () => {
    charger = await TestCharger.connect(server.wsUrl, 'CLI-1');
    charger.onCall = (action, payload) => {
      calls.push([action, payload]);
      if (action === 'TriggerMessage' || action === 'RemoteStartTransaction' || action === 'RemoteStopTransaction') {
        return { status: 'Accepted' };
      }
      if (action === 'Reset') return { status: 'Accepted' };
      return {};
    };
    assert.equal((await charger.boot('Eaton', 'GreenMotion')).status, 'Pending');

    const pending = await cli(['approvals'], env);
    assert.equal(pending.code, 0, pending.stderr);
    assert.match(pending.stdout, /^ID\s+SOURCE\s+CONNECTED/);
    assert.match(pending.stdout, /CLI-1\s+pending\s+yes/);

    const approved = await cli(['approve', 'CLI-1'], env);
    assert.equal(approved.stdout.trim(), 'CLI-1: accepted');
    assert.ok(calls.some(([a, p]) => a === 'TriggerMessage' && p.requestedMessage === 'BootNotification'));
    assert.equal((await charger.boot('Eaton', 'GreenMotion')).status, 'Accepted');
    await charger.call('StatusNotification', { connectorId: 1, status: 'Available', errorCode: 'NoError' });

    const list = await cli(['chargers', '--json'], env);
    const page = JSON.parse(list.stdout);
    assert.equal(page.items[0].id, 'CLI-1');
    assert.equal(page.items[0].connected, true);
    const one = await cli(['charger', 'CLI-1'], env);
    assert.match(one.stdout, /vendor\s+Eaton/);
    assert.match(one.stdout, /CONNECTOR\s+STATUS/);
    assert.match(one.stdout, /1\s+Available\s+NoError/);

    const csv = join(server.data, 'tags.csv');
    writeFileSync(csv, 'idTag,status,note\nCARD-2,Accepted,imported\nCARD-3,Blocked,\n');
    const [added, imported] = await Promise.all([
      cli(['tags', 'add', 'CARD-1', '--note', 'Alice'], env),
      cli(['tags', 'import', csv], env),
    ]);
    assert.match(added.stdout, /idTag\s+CARD-1/);
    assert.equal(imported.stdout.trim(), 'imported 2 id tags');
    const tags = await cli(['tags'], env);
    assert.match(tags.stdout, /CARD-1\s+Accepted/);
    assert.match(tags.stdout, /CARD-3\s+Blocked/);

    const started = await cli(['tx', 'start', 'CLI-1', 'CARD-1', '--connector', '1'], env);
    assert.equal(started.stdout.trim(), 'RemoteStartTransaction: Accepted');
    assert.deepEqual(calls.find(([a]) => a === 'RemoteStartTransaction')?.[1], { idTag: 'CARD-1', connectorId: 1 });
    const { transactionId } = (await charger.call('StartTransaction', {
      connectorId: 1,
      idTag: 'CARD-1',
      meterStart: 100,
      timestamp: new Date(Date.now() - 600_000).toISOString(),
    })) as { transactionId: number };
    await charger.call('MeterValues', {
      connectorId: 1,
      transactionId,
      meterValue: [{ timestamp: new Date().toISOString(), sampledValue: [{ value: '1100' }] }],
    });
    const txs = await cli(['tx'], env);
    assert.match(txs.stdout, new RegExp(`^${transactionId}\\s+CLI-1\\s+1\\s+CARD-1\\s.*active\\s+1\\.000`, 'm'));
    const stopped = await cli(['tx', 'stop', String(transactionId)], env);
    assert.equal(stopped.stdout.trim(), 'RemoteStopTransaction: Accepted');
    assert.deepEqual(calls.find(([a]) => a === 'RemoteStopTransaction')?.[1], { transactionId });

    const call = await cli(['call', 'CLI-1', 'Reset', '{"type":"Soft"}'], env);
    assert.equal(call.code, 0);
    assert.deepEqual(JSON.parse(call.stdout), { status: 'Accepted' });
    const bad = await cli(['call', 'CLI-1', 'Reset', '{"type":"Medium"}'], env);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /body\.type must be one of Hard, Soft \(AMPERE_ERR_BAD_REQUEST\)/);
  });

  test('events follows the stream', async () => {
    const p = spawn(process.execPath, ['bin/ampere.js', 'events', '--charger', 'CLI-1', '--json'], {
      env: { PATH: process.env.PATH ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: any[] = [];
    const rl = createInterface({ input: p.stdout });
    const seen = new Promise<void>((resolve) =>
      rl.on('line', (line) => {
        lines.push(JSON.parse(line));
        if (lines.some((e) => e.type === 'connector.status' && e.data.status === 'Faulted')) resolve();
      }),
    );
    // The stream is open once the CLI is connected; poll with a harmless status until it shows.
    const ticker = setInterval(() => {
      charger
        .call('StatusNotification', { connectorId: 1, status: 'Faulted', errorCode: 'OtherError' })
        .catch(() => {});
    }, 150);
    await seen;
    clearInterval(ticker);
    const exited = new Promise((resolve) => p.once('exit', resolve));
    p.kill('SIGINT');
    await exited;
    assert.ok(lines.every((e) => e.chargerId === 'CLI-1'));
  });

  test('a wrong token is refused; the token file is used when no token is given', async () => {
    const wrong = await cli(['chargers'], { AMPERE_URL: server.url, AMPERE_API_TOKEN: 'nope' });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /AMPERE_ERR_UNAUTHORIZED/);
    const fromFile = await cli(['chargers', '--url', server.url, '--data', server.data], {});
    assert.equal(fromFile.code, 0, fromFile.stderr);
    assert.match(fromFile.stdout, /CLI-1/);
  });

  test('a restart keeps the token and does not print it again; AMPERE_API_TOKEN overrides', async () => {
    await charger.close();
    await server.stop();
    server = await spawnServer([], { data: server.data });
    assert.equal(server.stderr().includes(token), false);
    const again = await fetch(`${server.url}/api/chargers`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(again.status, 200);
    await server.stop();
    server = await spawnServer([], { data: server.data, env: { AMPERE_API_TOKEN: 'from-env-token' } });
    assert.equal(
      (await fetch(`${server.url}/api/chargers`, { headers: { authorization: `Bearer ${token}` } })).status,
      401,
    );
    const env2 = await fetch(`${server.url}/api/chargers`, { headers: { authorization: 'Bearer from-env-token' } });
    assert.equal(env2.status, 200);
    assert.equal(server.stderr().includes('from-env-token'), false);
  });
});
