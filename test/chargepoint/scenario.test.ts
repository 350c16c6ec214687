import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CHARGE_SCENARIO } from '../../src/chargepoint/cli.ts';
import { parseScenario, runScenario } from '../../src/chargepoint/scenario.ts';
import { rig } from './helpers.ts';

describe('scenarios on a fake clock', () => {
  it('runs an evening of charging with an outage, a fault and a reboot in milliseconds', async () => {
    const { station, central } = await rig('generic', { config: { MeterValueSampleInterval: '300' } });
    // The rig's FakeCentral stands in for the link: offline/online detach and re-attach it.
    station.setHooks({ network: (up) => (up ? station.attach(central) : station.detach()) });
    const scenario = parseScenario({
      name: 'evening',
      steps: [
        { plug: { connector: 1, soc: 0.2, maxPowerW: 7400, phases: 1 } },
        { swipe: 'CARD-1' },
        { waitFor: { status: 'Charging', timeout: 5 } },
        { expect: { sent: 'StartTransaction', powerWAtLeast: 7000 } },
        { wait: 1800 },
        { offline: true },
        { setEvPower: 3700 },
        { wait: 1800 },
        { expect: { queued: 6, online: false, powerWAtMost: 3710 } },
        { online: true },
        { expect: { queued: 0 } },
        { fault: 'GroundFailure' },
        { expect: { status: 'Faulted', energyWhAtLeast: 5000 } },
        { clearFault: 1 },
        { reboot: 'Soft' },
        { wait: 5 },
        { expect: { registration: 'Accepted', status: 'Finishing' } },
        { unplug: 1 },
        { expect: { status: 'Available', notSent: 'DataTransfer' } },
      ],
    });
    const r = await runScenario(station, scenario);
    assert.deepEqual(
      r.steps.filter((s) => !s.ok),
      [],
    );
    assert.equal(r.ok, true);
    const stop = central.of('StopTransaction')[0];
    assert.equal(stop.reason, 'Other');
    // 30 min at 7.4 kW (32 A x 230 V) + 30 min at 3.7 kW.
    assert.ok(Math.abs(stop.meterStop - (7360 + 3700) / 2) < 20, `meterStop ${stop.meterStop}`);
    assert.equal(central.of('BootNotification').length, 2);
  });

  it('reports a failed expectation with the reason and stops there', async () => {
    const { station } = await rig('generic');
    const r = await runScenario(station, { steps: [{ expect: { status: 'Charging' } }, { plug: 1 }] });
    assert.equal(r.ok, false);
    assert.equal(r.steps.length, 1);
    assert.match(r.steps[0]!.error!, /Available, expected Charging/);
  });

  it('the built-in charge scenario charges on every profile', async () => {
    for (const p of ['generic', 'eaton-green-motion', 'go-e', 'weidmueller-ac-smart']) {
      const { station } = await rig(p);
      const r = await runScenario(station, CHARGE_SCENARIO);
      assert.equal(r.ok, true, `${p}: ${JSON.stringify(r.steps.filter((s) => !s.ok))}`);
    }
  });
});
