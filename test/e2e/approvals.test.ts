// Approving a charger that cannot be triggered (issue 12 item 7): the Weidmüller simulator has no
// TriggerMessage, so its Pending boots get a short retry interval and the approval says that it
// takes effect at its next BootNotification; a triggerable charger (Eaton) is asked at once.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { createStation, getProfile, type SimStation } from '../../src/chargepoint/index.ts';
import { runCli, type ServerProcess, spawnServer } from '../helpers/process.ts';
import { until } from '../helpers/wait.ts';

const TOKEN = 'approvals-token-0123456789abcdef0123456789a';

describe('approvals that say what happens', () => {
  let server: ServerProcess;
  const sims: SimStation[] = [];
  const env = () => ({ AMPERE_URL: server.url, AMPERE_API_TOKEN: TOKEN });
  /** The interval of each BootNotification answer, per station. */
  const intervals = new Map<string, number[]>();
  const pending = async (id: string, profile: string, path: string) => {
    intervals.set(id, []);
    const sim = createStation({
      id,
      profile: getProfile(profile),
      url: `${server.wsUrl}${path}`,
      hooks: {
        event: (e) => {
          if (e.type === 'answered' && e.action === 'BootNotification') {
            intervals.get(id)!.push((e.payload as { interval: number }).interval);
          }
        },
      },
    });
    sims.push(sim);
    await sim.start();
    await until(() => (sim.station.registration === 'Pending' ? true : undefined));
    return sim.station;
  };
  const bootIntervals = (st: SimStation['station']) => intervals.get(st.id) ?? [];

  before(async () => {
    // 30 s for every other Pending charger: the untriggerable one gets 10 s.
    server = await spawnServer(['--registration', 'pending', '--boot-retry-interval', '30'], {
      env: { AMPERE_API_TOKEN: TOKEN },
    });
  });
  after(async () => {
    for (const s of sims) await s.stop();
    await server.stop();
  });

  it('Weidmüller: Pending boots answered with 10 s, approval says it waits for the next boot', async () => {
    const weid = await pending('WEID-1', 'weidmueller-ac-smart', '/ocpp');
    const eaton = await pending('EAT-APP', 'eaton-green-motion', '/ocppj/v1.6');
    await until(() => (bootIntervals(weid).length > 0 && bootIntervals(eaton).length > 0 ? true : undefined));
    assert.deepEqual(bootIntervals(weid), [10]);
    assert.deepEqual(bootIntervals(eaton), [30]);

    const approved = await runCli(['approve', 'WEID-1'], env());
    assert.equal(approved.code, 0, approved.stderr);
    assert.equal(
      approved.stdout.trim(),
      'WEID-1: accepted\nWeidmueller AC SMART ADVANCED does not support TriggerMessage: it is accepted at its next BootNotification, within about 10 s (its Pending boots are answered with a 10 s retry interval)',
    );
    const t0 = Date.now();
    await until(() => (weid.registration === 'Accepted' ? true : undefined), 20_000);
    assert.ok(Date.now() - t0 < 12_000, `accepted after ${Date.now() - t0} ms`);

    const json = JSON.parse((await runCli(['approve', 'EAT-APP', '--json'], env())).stdout);
    assert.equal(json.approval.takesEffect, 'now');
    await until(() => (eaton.registration === 'Accepted' ? true : undefined), 5_000);
  });
});
