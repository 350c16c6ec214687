// Pure parts of session analytics: tariffs and current power.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { currentPower, registerPeak } from '../../src/central/analytics.ts';
import { costOf, priceAt, type Tariff } from '../../src/central/tariff.ts';
import type { MeterValueRecord } from '../../src/store/types.ts';

const at = (s: string) => Date.parse(s);
const TOU: Tariff = {
  type: 'time-of-use',
  currency: 'EUR',
  timeZone: 'Europe/Amsterdam',
  defaultPricePerKwh: 0.3,
  periods: [
    { from: '23:00', to: '07:00', pricePerKwh: 0.1 },
    { from: '17:00', to: '21:00', days: [1, 2, 3, 4, 5], pricePerKwh: 0.5 },
  ],
};

describe('tariffs', () => {
  test('time of use: local time, wrap past midnight, weekdays', () => {
    // 2024-06-03 is a Monday; Amsterdam is UTC+2 in summer.
    assert.equal(priceAt(TOU, at('2024-06-03T21:30:00Z')), 0.1); // 23:30 local
    assert.equal(priceAt(TOU, at('2024-06-04T04:59:00Z')), 0.1); // 06:59 local
    assert.equal(priceAt(TOU, at('2024-06-04T05:00:00Z')), 0.3); // 07:00 local
    assert.equal(priceAt(TOU, at('2024-06-03T15:00:00Z')), 0.5); // Monday 17:00 local
    assert.equal(priceAt(TOU, at('2024-06-08T15:00:00Z')), 0.3); // Saturday 17:00 local
  });

  test('energy between sparse readings is spread over the periods it crossed', () => {
    // 22:00–00:00 local with only start and stop: half at 0.3, half at 0.1.
    const c = costOf(TOU, [
      { at: at('2024-06-03T20:00:00Z'), wh: 0 },
      { at: at('2024-06-03T22:00:00Z'), wh: 10_000 },
    ]);
    assert.equal(c.energyWh, 10_000);
    assert.equal(c.amount, 2);
    const flat = costOf({ type: 'flat', currency: 'EUR', pricePerKwh: 0.25 }, [
      { at: 0, wh: 500 },
      { at: 1000, wh: 400 }, // a meter reset is not billed
      { at: 2000, wh: 4400 },
    ]);
    assert.deepEqual(flat, { currency: 'EUR', amount: 1, energyWh: 4000, tariff: 'flat' });
  });
});

function row(measurand: string, value: string, phase: string | null, unit: string, ts = '2024-01-01T00:00:00.000Z') {
  return { measurand, value, phase, unit, timestamp: ts, location: null } as unknown as MeterValueRecord;
}

describe('current power', () => {
  test('a total wins over phases; kW is converted', () => {
    const p = currentPower([
      row('Power.Active.Import', '3.6', null, 'kW'),
      row('Power.Active.Import', '1200', 'L1', 'W'),
    ]);
    assert.deepEqual(p, { w: 3600, source: 'Power.Active.Import' });
  });

  test('the latest sample of each phase counts', () => {
    const p = currentPower([
      row('Power.Active.Import', '100', 'L1', 'W', '2024-01-01T00:00:00.000Z'),
      row('Power.Active.Import', '200', 'L1', 'W', '2024-01-01T00:01:00.000Z'),
      row('Power.Active.Import', '300', 'L2', 'W', '2024-01-01T00:01:00.000Z'),
    ]);
    assert.equal(p.w, 500);
  });

  test('current without voltage assumes 230 V and says so', () => {
    assert.deepEqual(currentPower([row('Current.Import', '10', null, 'A')]), {
      w: 2300,
      source: 'Current.Import×230V',
    });
    assert.deepEqual(currentPower([row('Current.Import', '10', 'L1', 'A'), row('Voltage', '240', null, 'V')]), {
      w: 2400,
      source: 'Current.Import×Voltage',
    });
    assert.deepEqual(currentPower([row('Energy.Active.Import.Register', '10', null, 'Wh')]), { w: null, source: null });
  });
});

describe('peak power from the energy register', () => {
  test('the highest average over stretches of 15 minutes or more, the whole session included', () => {
    const min = 60_000;
    // 1 Wh in 10 s would read as 360 W: too short a stretch to count.
    assert.equal(
      registerPeak([
        { at: 0, wh: 0 },
        { at: 10_000, wh: 1 },
        { at: 60 * min, wh: 100 },
      ]),
      100,
    );
    assert.equal(
      registerPeak([
        { at: 0, wh: 0 },
        { at: 15 * min, wh: 2750 },
        { at: 30 * min, wh: 2750 },
        { at: 60 * min, wh: 5000 },
      ]),
      11_000,
    );
    assert.equal(registerPeak([{ at: 0, wh: 0 }]), null);
  });
});
