// Fast charge must not oscillate: a car that was just raised needs time to ramp up, and one that
// takes less than it is offered is not pushed back up and down at every meter sample (once seen:
// 16 → 6 → 16 → 8 → 16 A for three minutes). A charger model, a fake clock and the engine.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  deriveCapabilities,
  type EngineCharger,
  type EngineSession,
  type OcppCommand,
  SiteEngine,
} from '../../src/smart/index.ts';

/** A car that takes at most `carMaxA`, and needs `rampMs` after a raise before it draws anything. */
function scenario(carMaxA: number, rampMs: number) {
  let now = Date.parse('2026-12-01T18:00:00Z');
  let limitA = 0;
  let raisedAt = now;
  const told: Array<{ at: number; a: number }> = [];
  const caps = deriveCapabilities({
    vendor: 'Acme',
    configuration: { SupportedFeatureProfiles: 'Core,SmartCharging' },
  });
  const engine = new SiteEngine(
    {
      call: async (_id, cmd: OcppCommand) => {
        if (cmd.action === 'SetChargingProfile') {
          const a = cmd.payload.csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0]!.limit;
          if (a > limitA) raisedAt = now;
          limitA = a;
          told.push({ at: now, a });
        }
        return 'Accepted';
      },
      capabilities: async () => caps,
      learned: () => {},
      record: () => {},
      violation: (v) => assert.fail(v.over),
      pausedByStop: () => {},
    },
    { dampMs: 60_000 },
  );
  const charger: EngineCharger = {
    id: 'CP',
    phases: 3,
    maxCurrentA: 16,
    connected: true,
    everConnected: true,
    caps,
    stepA: 0.1,
    onOffOnly: false,
    supportsPhaseSwitching: false,
  };
  const measured = () => (now - raisedAt < rampMs ? 0 : Math.min(limitA, carMaxA));
  const run = () => {
    const session: EngineSession = {
      id: 'tx:1',
      chargerId: 'CP',
      connectorId: 1,
      kind: 'transaction',
      transactionId: 1,
      idTag: 'T',
      startedAt: 0,
      measuredCurrentA: measured(),
    };
    return engine.run({ gridLimitA: 32, algorithm: 'OPTIMIZED' }, [charger], [session], now);
  };
  return {
    told,
    async minutes(n: number) {
      // Meter values every 30 s, each one a balancing run, as MeterValues trigger them.
      for (let i = 0; i < n * 2; i++) {
        await run();
        now += 30_000;
      }
    },
  };
}

describe('fast charge does not oscillate', () => {
  it('a car ramping up for 20 s is not cut back to its first samples', async () => {
    const s = scenario(16, 20_000);
    await s.minutes(5);
    assert.deepEqual(
      s.told.map((t) => t.a),
      [16],
      `limits told: ${JSON.stringify(s.told)}`,
    );
  });

  it('a car that takes 9.9 A is brought down once and then left alone', async () => {
    const s = scenario(9.9, 20_000);
    await s.minutes(10);
    const limits = s.told.map((t) => t.a);
    // 16 at first, then down to what it uses plus a margin, once; never back up and down.
    assert.ok(limits.length <= 2, `limits told: ${JSON.stringify(limits)}`);
    assert.equal(limits[0], 16);
    if (limits.length === 2) assert.ok(limits[1]! >= 9.9 && limits[1]! < 16, `${limits}`);
  });
});
