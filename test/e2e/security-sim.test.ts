// End to end: the simulator with Eaton's profile (security profile 2 by default) connects over
// wss with Basic auth to `ampere serve` started as docs/security.md says, with certificates made
// by `ampere certs init`; a wrong key is refused.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { hashAuthorizationKey } from '../../src/central/security/index.ts';
import { createStation, runScenario, type SimStation } from '../../src/chargepoint/index.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { type ServerProcess, spawnServer, tempDir } from '../helpers/process.ts';

const KEY = 'eaton-box-key-0001';

describe('security profile 2 end to end (simulator, Eaton profile)', () => {
  let server: ServerProcess;
  const data = tempDir();
  const sims: SimStation[] = [];

  before(async () => {
    const init = spawnSync(
      process.execPath,
      ['bin/ampere.js', 'certs', 'init', '--data', data, '--hosts', 'localhost,127.0.0.1', '--cpo-name', 'ACME CPO'],
      { encoding: 'utf8' },
    );
    assert.equal(init.status, 0, init.stderr);
    const store = await openSqliteStore({ file: join(data, 'ampere.db') });
    await store.upsertCharger('14452', {
      registration: 'accepted',
      securityProfile: 2,
      authKeyHash: await hashAuthorizationKey(KEY),
    });
    await store.close();
    const certs = join(data, 'certs');
    server = await spawnServer(
      [
        '--tls-cert',
        join(certs, 'server.pem'),
        '--tls-key',
        join(certs, 'server.key'),
        '--tls-ca',
        join(certs, 'ca.pem'),
        '--cpo-name',
        'ACME CPO',
      ],
      { data, env: { AMPERE_API_TOKEN: 'sec-e2e-token-0123456789abcdef0123' } },
    );
  });
  after(async () => {
    for (const s of sims) await s.stop();
    await server?.stop();
  });

  it('connects over wss with Basic auth and boots Accepted', async () => {
    assert.match(server.wsUrl, /^wss:/);
    const sim = createStation({
      id: '14452',
      profile: 'eaton-green-motion',
      url: `${server.wsUrl}/ocppj/v1.6`,
      password: KEY,
      ca: readFileSync(join(data, 'certs', 'ca.pem')),
    });
    sims.push(sim);
    await sim.start();
    const r = await runScenario(sim.station, { steps: [{ waitFor: { registration: 'Accepted', timeout: 10 } }] });
    assert.equal(r.ok, true, JSON.stringify(r.steps.filter((s) => !s.ok)));
  });

  it('refuses the same box with a wrong key', async () => {
    const res = await new Promise<number>((resolve) => {
      import('ws').then(({ default: WebSocket }) => {
        const ws = new WebSocket(`${server.wsUrl}/ocppj/v1.6/14452`, ['ocpp1.6'], {
          ca: readFileSync(join(data, 'certs', 'ca.pem')),
          headers: { authorization: `Basic ${Buffer.from('14452:wrong-key-000000').toString('base64')}` },
        });
        ws.once('unexpected-response', (_q, r) => resolve(r.statusCode ?? 0));
        ws.once('open', () => resolve(101));
        ws.once('error', () => resolve(-1));
      });
    });
    assert.equal(res, 401);
  });
});
