import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { reconnectDelayMs } from '../../src/chargepoint/backoff.ts';
import { FakeClock } from '../../src/chargepoint/clock.ts';
import { ConfigStore, fileConfigPersistence } from '../../src/chargepoint/config-store.ts';
import { Ev } from '../../src/chargepoint/ev.ts';
import { EnergyMeter } from '../../src/chargepoint/meter.ts';
import { getProfile } from '../../src/chargepoint/profiles/index.ts';
import { parseScenario } from '../../src/chargepoint/scenario.ts';
import { type ChargingProfile, SmartCharging } from '../../src/chargepoint/smart-charging.ts';

describe('EnergyMeter', () => {
  it('integrates per-phase current x voltage over time', () => {
    const m = new EnergyMeter(0, 230);
    m.setCurrents(0, [16, 16, 0]);
    m.setCurrents(1_800_000, [10, 0, 0]);
    m.advance(3_600_000);
    assert.equal(m.phaseWh[0], 230 * 16 * 0.5 + 230 * 10 * 0.5);
    assert.equal(m.phaseWh[1], 230 * 16 * 0.5);
    assert.equal(m.phaseWh[2], 0);
    assert.equal(m.powerW, 2300);
  });
});

describe('Ev', () => {
  it('draws full power below the taper point, less above it, nothing when full', () => {
    const ev = new Ev({ capacityWh: 10_000, soc: 0.5, maxPowerW: 7_000 });
    assert.equal(ev.demandW(), 7_000);
    ev.absorb(4_000);
    assert.ok(Math.abs(ev.demandW() - 3_500) < 1e-6);
    ev.absorb(10_000);
    assert.equal(ev.soc, 1);
    assert.equal(ev.demandW(), 0);
  });
});

describe('ConfigStore', () => {
  const defs = getProfile('generic').keys;

  it('rejects readonly and malformed values, defers RebootRequired keys, persists across instances', () => {
    const file = join(mkdtempSync(join(tmpdir(), 'ampere-cp-')), 'config.json');
    const a = new ConfigStore(defs, {}, {}, fileConfigPersistence(file));
    assert.equal(a.change('NumberOfConnectors', '2'), 'Rejected');
    assert.equal(a.change('HeartbeatInterval', 'soon'), 'Rejected');
    assert.equal(a.change('HeartbeatInterval', '-1'), 'Rejected');
    assert.equal(a.change('HeartbeatInterval', '42'), 'Accepted');
    assert.equal(a.change('LocalPreAuthorize', 'TRUE'), 'Accepted');
    assert.equal(a.get('LocalPreAuthorize'), 'true');
    assert.equal(a.change('SecurityProfile', '2'), 'RebootRequired');
    assert.equal(a.get('SecurityProfile'), '0');
    a.applyPending();
    assert.equal(a.get('SecurityProfile'), '2');
    const b = new ConfigStore(defs, {}, {}, fileConfigPersistence(file));
    assert.equal(b.get('HeartbeatInterval'), '42');
    assert.equal(b.get('SecurityProfile'), '2');
    b.reset();
    assert.equal(b.get('HeartbeatInterval'), '300');
  });
});

describe('reconnect backoff (Eaton rule)', () => {
  const rule = { minS: 10, randomS: 6, repeat: 9, fixedS: 16 };

  it('waits min + random range for RetryRepeatTimes attempts, then the fixed interval', () => {
    assert.equal(
      reconnectDelayMs(1, rule, () => 0),
      10_000,
    );
    assert.equal(
      reconnectDelayMs(5, rule, () => 0.5),
      13_000,
    );
    assert.equal(
      reconnectDelayMs(9, rule, () => 0.999),
      15_994,
    );
    assert.equal(
      reconnectDelayMs(10, rule, () => 0),
      16_000,
    );
    assert.equal(
      reconnectDelayMs(50, rule, () => 0.9),
      16_000,
    );
  });

  it('spreads a fleet across the random range', () => {
    let seed = 1;
    const random = () => {
      seed = (seed * 16807) % 2147483647;
      return seed / 2147483647;
    };
    const delays = Array.from({ length: 1000 }, () => reconnectDelayMs(1, rule, random));
    assert.ok(Math.min(...delays) >= 10_000 && Math.max(...delays) <= 16_000);
    assert.ok(new Set(delays.map((d) => Math.floor(d / 1000))).size === 6);
  });
});

describe('SmartCharging', () => {
  const day = (hh: number) => Date.UTC(2025, 0, 1, hh);
  const profile = (p: Partial<ChargingProfile>): ChargingProfile =>
    ({
      chargingProfileId: 1,
      stackLevel: 0,
      chargingProfilePurpose: 'TxDefaultProfile',
      chargingProfileKind: 'Absolute',
      chargingSchedule: { chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit: 16 }] },
      ...p,
    }) as ChargingProfile;

  it('a daily recurring profile repeats; the higher stack level wins while valid', () => {
    const sc = new SmartCharging(230, 3);
    sc.set(
      0,
      profile({
        chargingProfileKind: 'Recurring',
        recurrencyKind: 'Daily',
        chargingSchedule: {
          startSchedule: new Date(day(0)).toISOString(),
          chargingRateUnit: 'A',
          chargingSchedulePeriod: [
            { startPeriod: 0, limit: 32 },
            { startPeriod: 17 * 3600, limit: 8 },
            { startPeriod: 21 * 3600, limit: 32 },
          ],
        },
      }),
      day(0),
      undefined,
      10,
    );
    sc.set(
      0,
      profile({
        chargingProfileId: 2,
        stackLevel: 3,
        validTo: new Date(day(19)).toISOString(),
        chargingSchedule: {
          startSchedule: new Date(day(18)).toISOString(),
          chargingRateUnit: 'W',
          chargingSchedulePeriod: [{ startPeriod: 0, limit: 11040 }],
        },
      }),
      day(0),
      undefined,
      10,
    );
    assert.equal(sc.limitAt(1, day(12), undefined)?.amps, 32);
    assert.equal(sc.limitAt(1, day(17), undefined)?.amps, 8);
    assert.equal(sc.limitAt(1, day(18), undefined)?.watts, 11040);
    assert.equal(sc.limitAt(1, day(24 + 17), undefined)?.amps, 8);
    const periods = sc.composite(1, day(12), 12 * 3600, 'A', undefined);
    assert.deepEqual(periods, [
      { startPeriod: 0, limit: 32 },
      { startPeriod: 5 * 3600, limit: 8 },
      { startPeriod: 6 * 3600, limit: 16 },
      { startPeriod: 7 * 3600, limit: 8 },
      { startPeriod: 9 * 3600, limit: 32 },
    ]);
  });

  it('rejects ChargePointMaxProfile off connector 0 and stack levels above the maximum', () => {
    const sc = new SmartCharging(230, 3);
    assert.equal(sc.set(1, profile({ chargingProfilePurpose: 'ChargePointMaxProfile' }), 0, undefined, 10), 'Rejected');
    assert.equal(sc.set(1, profile({ stackLevel: 11 }), 0, undefined, 10), 'Rejected');
    assert.equal(sc.set(1, profile({}), 0, undefined, 10), 'Accepted');
    assert.equal(sc.clear({ chargingProfilePurpose: 'TxProfile' }), 'Unknown');
    assert.equal(sc.clear({ id: 1 }), 'Accepted');
  });
});

describe('FakeClock', () => {
  it('fires timers in deadline order, including ones scheduled while advancing', async () => {
    const c = new FakeClock(0);
    const seen: number[] = [];
    c.setTimeout(() => {
      seen.push(c.now());
      c.setTimeout(() => seen.push(c.now()), 5);
    }, 10);
    c.setTimeout(() => seen.push(c.now()), 12);
    await c.advance(20);
    assert.deepEqual(seen, [10, 12, 15]);
    assert.equal(c.pending, 0);
  });
});

describe('parseScenario', () => {
  it('accepts a bare array of steps and names the bad step', () => {
    assert.equal(parseScenario([{ plug: 1 }, { wait: 5 }]).steps.length, 2);
    assert.throws(() => parseScenario({ steps: [{ plug: 1 }, { jump: 1 }] }), /step 1/);
  });
});
