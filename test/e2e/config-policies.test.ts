// Configuration policies end to end (issue 12 item 1): ev.energy's meter configuration set
// fleet-wide, sent after each Accepted boot to simulated go-e and Eaton chargers; go-e's read-only
// MeterValuesSampledData is recorded as not settable and not sent again; the drift report and
// the CLI show desired against actual.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createStation, type SimStation } from '../../src/chargepoint/index.ts';
import { getProfile } from '../../src/chargepoint/profiles/index.ts';
import { runCli, type ServerProcess, spawnServer } from '../helpers/process.ts';
import { sleep, until } from '../helpers/wait.ts';

const TOKEN = 'config-policy-token-0123456789abcdef01234';
describe('configuration policies against the seed simulators', () => {
  let server: ServerProcess;
  const sims: SimStation[] = [];
  const env = () => ({ AMPERE_URL: server.url, AMPERE_API_TOKEN: TOKEN });
  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    return { status: res.status, body: res.status === 204 ? null : ((await res.json()) as any) };
  };

  before(async () => {
    server = await spawnServer(['--registration', 'open'], { env: { AMPERE_API_TOKEN: TOKEN } });
  });
  after(async () => {
    for (const s of sims) await s.stop();
    await server.stop();
  });

  it('applies the fleet policy at boot; go-e Rejects the read-only key once, Eaton accepts both', async () => {
    const set = await runCli(
      ['policies', 'set', 'MeterValuesSampledData', 'Energy.Active.Import.Register,Power.Active.Import'],
      env(),
    );
    assert.equal(set.code, 0, set.stderr);
    assert.equal(
      set.stdout.trim(),
      'fleet: MeterValuesSampledData = Energy.Active.Import.Register,Power.Active.Import',
    );
    assert.equal((await runCli(['policies', 'set', 'MeterValueSampleInterval', '60'], env())).code, 0);
    // A per-model value wins over the fleet's for that model.
    assert.equal(
      (
        await runCli(
          ['policies', 'set', 'HeartbeatInterval', '120', '--vendor', 'go-e', '--model', 'go-eCharger'],
          env(),
        )
      ).code,
      0,
    );

    const goe = createStation({ id: 'GOE-POL', profile: getProfile('go-e'), url: `${server.wsUrl}/chargers` });
    const eaton = createStation({
      id: 'EAT-POL',
      profile: getProfile('eaton-green-motion'),
      url: `${server.wsUrl}/ocppj/v1.6`,
    });
    sims.push(goe, eaton);
    const received = (s: SimStation) =>
      s.station.history.filter((h) => h.dir === 'in' && h.action === 'ChangeConfiguration');
    await Promise.all([goe.start(), eaton.start()]);

    const goeOutcome = await until(async () => {
      const r = await api('GET', '/api/chargers/GOE-POL/config-drift');
      if (r.status === 404) return undefined; // not booted yet
      assert.equal(r.status, 200, JSON.stringify(r.body));
      return r.body.items.every((i: any) => i.outcome) ? r.body : undefined;
    });
    const byKey = Object.fromEntries(goeOutcome.items.map((i: any) => [i.key, i]));
    assert.equal(byKey.MeterValuesSampledData.outcome.status, 'Rejected');
    assert.match(byKey.MeterValuesSampledData.outcome.note, /not settable on this model/);
    assert.equal(byKey.MeterValuesSampledData.inSync, false);
    assert.equal(byKey.MeterValuesSampledData.readonly, true);
    assert.equal(byKey.MeterValueSampleInterval.outcome.status, 'Accepted');
    assert.equal(byKey.MeterValueSampleInterval.inSync, true);
    assert.equal(byKey.HeartbeatInterval.scope, 'model');
    assert.equal(goe.station.config.get('HeartbeatInterval'), '120');
    assert.equal(goe.station.config.get('MeterValueSampleInterval'), '60');

    await until(() => (eaton.station.config.get('MeterValueSampleInterval') === '60' ? true : undefined));
    assert.equal(
      eaton.station.config.get('MeterValuesSampledData'),
      'Energy.Active.Import.Register,Power.Active.Import',
    );
    assert.notEqual(eaton.station.config.get('HeartbeatInterval'), '120', 'the go-e policy is not Eaton’s');

    // The next boot resends what was accepted, not the key go-e refused.
    const before = received(goe).length;
    goe.station.reboot('Soft');
    await until(() => (received(goe).length >= before + 2 ? true : undefined));
    await sleep(500);
    const again = received(goe)
      .slice(before)
      .map((h) => (h.payload as { key: string }).key);
    assert.deepEqual(again.sort(), ['HeartbeatInterval', 'MeterValueSampleInterval']);

    const drift = await runCli(['config', 'GOE-POL', 'drift'], env());
    assert.equal(drift.code, 0, drift.stderr);
    assert.match(drift.stdout, /^KEY\s+DESIRED\s+ACTUAL\s+IN SYNC/);
    assert.match(
      drift.stdout,
      /MeterValuesSampledData\s+Energy\.Active\.Import\.Register,Power\.Active\.Import\s+\S+\s+no\s+fleet\s+Rejected/,
    );
    const forced = await runCli(['config', 'GOE-POL', 'apply', '--force', '--json'], env());
    const items = JSON.parse(forced.stdout).items;
    assert.equal(items.find((i: any) => i.key === 'MeterValuesSampledData').skipped, false);
    const plain = await runCli(['config', 'GOE-POL', 'apply'], env());
    assert.match(plain.stdout, /MeterValuesSampledData\s+\S+\s+Rejected \(not resent\)/);
  });

  it('refuses a policy whose scope and target disagree, and lists and removes policies', async () => {
    const bad = await api('PUT', '/api/config-policies', { scope: 'model', vendor: 'go-e', key: 'K', value: '1' });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /A model policy names vendor and model/);
    const list = await runCli(['policies'], env());
    assert.match(list.stdout, /^FOR\s+KEY\s+VALUE/);
    assert.match(list.stdout, /go-e go-eCharger\s+HeartbeatInterval\s+120/);
    const rm = await runCli(
      ['policies', 'rm', 'HeartbeatInterval', '--vendor', 'go-e', '--model', 'go-eCharger'],
      env(),
    );
    assert.equal(rm.code, 0, rm.stderr);
    const gone = await api(
      'DELETE',
      '/api/config-policies?scope=model&vendor=go-e&model=go-eCharger&key=HeartbeatInterval',
    );
    assert.equal(gone.status, 404);
  });
});
