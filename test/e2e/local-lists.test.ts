// Local authorisation lists end to end (issue 12 item 4): a Full list at boot after
// GetLocalListVersion, a Differential update when the charger's tags change, and chargers without
// local lists (Eaton answers -1, go-e a CALLERROR) recorded and skipped.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli, type ServerProcess, spawnServer } from '../helpers/process.ts';
import { SimFleet } from '../helpers/sim.ts';
import { until } from '../helpers/wait.ts';

const TOKEN = 'local-lists-token-0123456789abcdef01234567';

describe('local authorisation lists against the seed simulators', () => {
  let server: ServerProcess;
  const fleet = new SimFleet();
  const env = () => ({ AMPERE_URL: server.url, AMPERE_API_TOKEN: TOKEN });
  const list = async (id: string) => JSON.parse((await runCli(['local-list', id, '--json'], env())).stdout);

  before(async () => {
    server = await spawnServer(['--registration', 'open'], { env: { AMPERE_API_TOKEN: TOKEN } });
    for (const tag of ['LL-CARD-1', 'LL-CARD-2']) assert.equal((await runCli(['tags', 'add', tag], env())).code, 0);
  });
  after(async () => {
    await fleet.stop();
    await server.stop();
  });

  it('Full at boot, Differential when the charger tags change or a tag is blocked', async () => {
    const st = await fleet.start(server.wsUrl, 'LL-1', 'generic', '/ocpp');
    const synced = await until(async () => {
      const l = await list('LL-1');
      return l.status === 'synced' ? l : undefined;
    });
    assert.equal(synced.version, 1);
    assert.deepEqual(
      synced.entries.map((e: { idTag: string }) => e.idTag),
      ['LL-CARD-1', 'LL-CARD-2'],
    );
    const full = st.history.find((h) => h.dir === 'in' && h.action === 'SendLocalList');
    assert.equal((full?.payload as { updateType: string } | undefined)?.updateType, 'Full');
    assert.deepEqual([...st.localList.keys()].sort(), ['LL-CARD-1', 'LL-CARD-2']);

    assert.equal((await runCli(['charger-tags', 'LL-1', '--allow', 'LL-CARD-1'], env())).code, 0);
    await until(() => (st.localListVersion === 2 ? true : undefined));
    const diff = st.history.filter((h) => h.dir === 'in' && h.action === 'SendLocalList').at(-1)?.payload as {
      updateType: string;
      localAuthorizationList: { idTag: string; idTagInfo?: unknown }[];
    };
    assert.equal(diff.updateType, 'Differential');
    assert.deepEqual(diff.localAuthorizationList, [{ idTag: 'LL-CARD-2' }]);
    assert.deepEqual([...st.localList.keys()], ['LL-CARD-1']);

    assert.equal((await runCli(['tags', 'set', 'LL-CARD-1', '--status', 'Blocked'], env())).code, 0);
    const r = await runCli(['local-list', 'LL-1', '--sync'], env());
    assert.equal(r.stdout.trim(), 'SendLocalList Differential, 1 entries: version 3, synced (Accepted)');
    assert.equal(st.localList.get('LL-CARD-1')?.status, 'Blocked');
    const again = await runCli(['local-list', 'LL-1', '--sync'], env());
    assert.match(again.stdout, /^SendLocalList not sent: version 3, synced/);
  });

  it('Eaton (listVersion -1) and go-e (CALLERROR) are recorded as unsupported and skipped', async () => {
    const eaton = await fleet.start(server.wsUrl, 'LL-EATON', 'eaton-green-motion', '/ocppj/v1.6');
    const goe = await fleet.start(server.wsUrl, 'LL-GOE', 'go-e', '/chargers');
    const e = await until(async () =>
      (await list('LL-EATON')).status === 'unsupported' ? list('LL-EATON') : undefined,
    );
    assert.equal(e.answer, 'listVersion -1');
    const g = await until(async () => ((await list('LL-GOE')).status === 'unsupported' ? list('LL-GOE') : undefined));
    assert.match(g.answer, /NotImplemented|NotSupported/);
    for (const st of [eaton, goe])
      assert.equal(
        st.history.some((h) => h.action === 'SendLocalList'),
        false,
      );
    // Tag changes skip them.
    assert.equal((await runCli(['charger-tags', 'LL-EATON', '--allow', 'LL-CARD-2'], env())).code, 0);
    const text = await runCli(['local-list', 'LL-EATON'], env());
    assert.match(text.stdout, /status\s+unsupported/);
    assert.equal(
      eaton.history.some((h) => h.action === 'SendLocalList'),
      false,
    );
  });
});
