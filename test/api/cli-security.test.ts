// The operator CLI's security and findings commands, as child processes against a spawned server
// with a real WebSocket charger using Basic auth. The key never shows in any output or log.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { TestCharger } from '../helpers/charger.ts';
import { runCli as cli, type ServerProcess, spawnServer } from '../helpers/process.ts';

const KEY = 'aabbccddeeff00112233445566778899aabbccdd';
const KEY2 = 'second-key-from-in';
const basic = (id: string, key: string) => ({
  authorization: `Basic ${Buffer.from(`${id}:${key}`).toString('base64')}`,
});

describe('operator CLI: security and findings', () => {
  let server: ServerProcess;
  let env: Record<string, string>;
  const outputs: string[] = [];
  const run = async (args: string[], stdin?: string) => {
    const r = await cli(args, env, stdin);
    outputs.push(r.stdout, r.stderr);
    return r;
  };

  before(async () => {
    server = await spawnServer(['--registration', 'open', '--log-level', 'debug']);
    env = { AMPERE_URL: server.url, AMPERE_API_TOKEN: readFileSync(join(server.data, 'api-token'), 'utf8').trim() };
  });
  after(() => server.stop());

  test('show, set profile and key, then the charger needs them', async () => {
    const c = await TestCharger.connect(server.wsUrl, 'CLI-S');
    await c.boot();
    await c.close();
    const shown = await run(['security', 'CLI-S']);
    assert.equal(shown.code, 0, shown.stderr);
    assert.match(shown.stdout, /securityProfile\s+0/);
    assert.match(shown.stdout, /authorizationKey\s+not set/);

    const set = await run(['security', 'CLI-S', '--profile', '1', '--key', KEY]);
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /securityProfile\s+1/);
    assert.match(set.stdout, /authorizationKey\s+set/);
    assert.match(set.stdout, /authorizationKeyStatus\s+Stored/);

    await assert.rejects(TestCharger.connect(server.wsUrl, 'CLI-S'), /HTTP 401/);
    const ok = await TestCharger.connect(server.wsUrl, 'CLI-S', { headers: basic('CLI-S', KEY) });
    ok.onCall = (action) => (action === 'ChangeConfiguration' ? { status: 'Accepted' } : {});
    await ok.boot();

    // Connected: `--key -` reads the key from stdin and it goes out with ChangeConfiguration.
    const rotated = await run(['security', 'CLI-S', '--key', '-', '--json'], `${KEY2}\n`);
    assert.equal(rotated.code, 0, rotated.stderr);
    assert.equal(JSON.parse(rotated.stdout).authorizationKeyStatus, 'Accepted');
    await ok.close();
    const again = await TestCharger.connect(server.wsUrl, 'CLI-S', { headers: basic('CLI-S', KEY2) });

    const raise = await run(['security', 'CLI-S', 'raise', '2']);
    assert.equal(raise.code, 1);
    assert.match(raise.stderr, /TLS.*AMPERE_ERR_CONFLICT/);
    const cert = await run(['security', 'CLI-S', 'cert']);
    assert.equal(cert.code, 1);
    assert.match(cert.stderr, /built-in CA/);

    const events = await run(['security', 'CLI-S', 'events']);
    assert.equal(events.code, 0, events.stderr);
    assert.match(events.stdout, /^AT\s+CHARGER\s+TYPE\s+SOURCE/);
    assert.match(events.stdout, /CLI-S\s+FailedToAuthenticate\s+central/);
    assert.match(events.stdout, /ReconfigurationOfSecurityParameters/);
    const all = await run(['security-events', '--charger', 'CLI-S', '--json']);
    assert.ok(JSON.parse(all.stdout).items.length >= 3);

    await again.call('MeterValues', {
      connectorId: 1,
      meterValue: [{ timestamp: '2026-11-23T10:00:00', sampledValue: [{ value: '1' }] }],
    });
    const findings = await run(['findings', 'CLI-S']);
    assert.equal(findings.code, 0, findings.stderr);
    assert.match(findings.stdout, /MeterValues\s+\/meterValue\/0\/timestamp\s+timestamp-without-zone/);
    await again.close();

    const bad = await run(['security', 'CLI-S', '--key', 'too-short']);
    assert.equal(bad.code, 1);
    assert.match(bad.stderr, /AMPERE_ERR_BAD_REQUEST/);
  });

  test('no key in any output or server log', async () => {
    await server.stop();
    for (const key of [KEY, KEY2, 'too-short']) {
      for (const o of outputs) assert.equal(o.includes(key), false, `output carries ${key}`);
      assert.equal(server.stderr().includes(key), false, `server log carries ${key}`);
    }
  });
});
