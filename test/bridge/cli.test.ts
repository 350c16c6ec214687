// `ampere bridge …` as a child process against a server with the embedded broker.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { runBridgeCli } from '../../src/cli/bridge.ts';
import { startTestServer, type TestServer, TOKEN } from '../api/helpers.ts';
import { Observer, until } from './helpers.ts';

const run = promisify(execFile);
const ENV = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', AMPERE_API_TOKEN: TOKEN };

/** The command in process (output captured), or its failure as the CLI's exit would show it. */
async function cli(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  try {
    const code = await runBridgeCli(args, ENV, (t) => {
      stdout += `${t}\n`;
    });
    return { code, stdout, stderr: '' };
  } catch (e) {
    return { code: 2, stdout, stderr: (e as Error).message };
  }
}

describe('ampere bridge (CLI)', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer({ mqtt: 'embedded://127.0.0.1:0' });
    await until('bridge connected', async () => (await s.api('GET', '/api/bridge')).body.mqtt.connected);
  });
  after(() => s?.close());

  it('shows the state, and --json for scripts', async () => {
    // Once as a real `ampere bridge` process, through the command table of bin/ampere.js.
    const r = await run(process.execPath, ['bin/ampere.js', 'bridge', 'status', '--url', s.url], { env: ENV });
    assert.match(r.stdout, new RegExp(`mqtt\\s+mqtt://127\\.0\\.0\\.1:${s.bridge.brokerPort}/? connected`));
    assert.match(r.stdout, /dead letters\s+0/);
    const j = await cli(['--json', '--url', s.url]);
    assert.equal(JSON.parse(j.stdout).mqtt.connected, true);
  });

  it('changes settings, saved to the settings file', async () => {
    const r = await cli([
      'settings',
      '--url',
      s.url,
      '--set',
      '{"topicPrefix":"home/ev","chargers":{"CP1":{"idTag":"T1"}}}',
    ]);
    assert.equal(r.code, 0, r.stderr);
    assert.equal(JSON.parse(r.stdout).topicPrefix, 'home/ev');
    const saved = JSON.parse(readFileSync(join(s.data, 'bridge.json'), 'utf8'));
    assert.equal(saved.topicPrefix, 'home/ev');
    assert.deepEqual(saved.chargers, { CP1: { idTag: 'T1' } });
    // The bridge moved to the new prefix: it says online there and takes commands there.
    const obs = await Observer.connect(`mqtt://127.0.0.1:${s.bridge.brokerPort}`, ['home/ev/#']);
    try {
      await obs.waitFor('home/ev/bridge/online', 'online');
      const answer = await obs.command('home/ev', 'CP1/1', 'unlock', '1');
      assert.equal(answer.error.code, 'AMPERE_ERR_NOT_FOUND');
    } finally {
      await obs.close();
    }
    assert.match((await cli(['settings', '--url', s.url, '--set', '{qos'])).stderr, /--set is not JSON/);
    assert.match((await cli(['settings', '--url', s.url, '--sett', '{}'])).stderr, /Unknown option '--sett'/);
    const bad = await cli(['settings', '--url', s.url, '--set', '{"qos":3}']);
    assert.equal(bad.code, 2);
    assert.match(bad.stderr, /qos must be 0, 1 or 2/);
  });

  it('lists dead letters and says when one is unknown', async () => {
    const r = await cli(['dead-letters', '--url', s.url]);
    assert.equal(r.stdout.trim(), 'no dead letters');
    const missing = await cli(['redeliver', 'nope', '--url', s.url]);
    assert.equal(missing.code, 2);
    assert.match(missing.stderr, /No dead letter "nope"/);
  });
});
