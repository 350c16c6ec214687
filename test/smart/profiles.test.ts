import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  bindTransaction,
  clearProfiles,
  installProfile,
  removeTransactionProfiles,
  validateChargingProfile,
} from '../../src/smart/profiles.ts';
import type { ChargingProfile, InstalledProfile } from '../../src/smart/types.ts';

function profile(over: Partial<ChargingProfile> = {}): ChargingProfile {
  return {
    chargingProfileId: 1,
    stackLevel: 0,
    chargingProfilePurpose: 'TxDefaultProfile',
    chargingProfileKind: 'Absolute',
    chargingSchedule: {
      startSchedule: '2024-01-01T00:00:00Z',
      chargingRateUnit: 'A',
      chargingSchedulePeriod: [{ startPeriod: 0, limit: 16 }],
    },
    ...over,
  };
}

function fields(r: ReturnType<typeof validateChargingProfile>): string[] {
  return r.ok ? [] : r.errors.map((e) => e.field);
}

describe('validateChargingProfile', () => {
  const cases: [string, number | undefined, ChargingProfile, object, string[]][] = [
    ['a plain TxDefaultProfile is valid', 1, profile(), {}, []],
    [
      'TxProfile without transactionId is refused in SetChargingProfile',
      1,
      profile({ chargingProfilePurpose: 'TxProfile' }),
      {},
      ['transactionId'],
    ],
    [
      'TxProfile with transactionId is refused inside RemoteStartTransaction',
      1,
      profile({ chargingProfilePurpose: 'TxProfile', transactionId: 5 }),
      { context: 'RemoteStartTransaction' },
      ['transactionId'],
    ],
    [
      'TxProfile without transactionId is fine inside RemoteStartTransaction',
      1,
      profile({ chargingProfilePurpose: 'TxProfile' }),
      { context: 'RemoteStartTransaction' },
      [],
    ],
    [
      'RemoteStartTransaction carries a TxProfile only',
      1,
      profile(),
      { context: 'RemoteStartTransaction' },
      ['chargingProfilePurpose'],
    ],
    [
      'TxProfile for a transaction not running is refused',
      1,
      profile({ chargingProfilePurpose: 'TxProfile', transactionId: 5 }),
      { activeTransactionId: 6 },
      ['transactionId'],
    ],
    [
      'TxProfile on connector 0 is refused',
      0,
      profile({ chargingProfilePurpose: 'TxProfile', transactionId: 5 }),
      {},
      ['connectorId'],
    ],
    [
      'ChargePointMaxProfile only on connector 0',
      1,
      profile({ chargingProfilePurpose: 'ChargePointMaxProfile' }),
      {},
      ['connectorId'],
    ],
    ['transactionId only with TxProfile', 1, profile({ transactionId: 3 }), {}, ['transactionId']],
    [
      'periods must start at 0',
      1,
      profile({
        chargingSchedule: { chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 10, limit: 6 }] },
      }),
      {},
      ['chargingSchedule.chargingSchedulePeriod[0].startPeriod'],
    ],
    [
      'periods must increase',
      1,
      profile({
        chargingSchedule: {
          chargingRateUnit: 'A',
          chargingSchedulePeriod: [
            { startPeriod: 0, limit: 6 },
            { startPeriod: 60, limit: 8 },
            { startPeriod: 60, limit: 10 },
          ],
        },
      }),
      {},
      ['chargingSchedule.chargingSchedulePeriod[2].startPeriod'],
    ],
    [
      'Recurring needs recurrencyKind and startSchedule',
      1,
      profile({
        chargingProfileKind: 'Recurring',
        chargingSchedule: { chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit: 6 }] },
      }),
      {},
      ['recurrencyKind', 'chargingSchedule.startSchedule'],
    ],
    [
      'Relative has no startSchedule',
      1,
      profile({ chargingProfileKind: 'Relative' }),
      {},
      ['chargingSchedule.startSchedule'],
    ],
    ['Absolute has no recurrencyKind', 1, profile({ recurrencyKind: 'Daily' }), {}, ['recurrencyKind']],
    [
      'stackLevel above ChargeProfileMaxStackLevel',
      1,
      profile({ stackLevel: 4 }),
      { maxStackLevel: 3 },
      ['stackLevel'],
    ],
    ['unit the charger does not accept', 1, profile(), { allowedUnits: ['W'] }, ['chargingSchedule.chargingRateUnit']],
    [
      'validTo before validFrom',
      1,
      profile({ validFrom: '2024-01-02T00:00:00Z', validTo: '2024-01-01T00:00:00Z' }),
      {},
      ['validTo'],
    ],
    [
      'more than one decimal refused when strict',
      1,
      profile({
        chargingSchedule: { chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit: 6.25 }] },
      }),
      { strictDecimals: true },
      ['chargingSchedule.chargingSchedulePeriod[0].limit'],
    ],
  ];
  for (const [name, connectorId, p, opts, expected] of cases) {
    it(name, () => assert.deepEqual(fields(validateChargingProfile(connectorId, p, opts)), expected));
  }

  it('normalises: limit to one decimal, numberPhases defaults to 3', () => {
    const r = validateChargingProfile(
      1,
      profile({
        chargingSchedule: { chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit: 6.26 }] },
      }),
    );
    assert.ok(r.ok);
    assert.deepEqual(r.profile.chargingSchedule.chargingSchedulePeriod, [
      { startPeriod: 0, limit: 6.3, numberPhases: 3 },
    ]);
    assert.ok(r.warnings.some((w) => w.field === 'chargingSchedule.chargingSchedulePeriod[0].limit'));
  });
});

describe('installed profiles', () => {
  const now = Date.parse('2024-01-01T00:00:00Z');
  const set1 = (installed: InstalledProfile[], connectorId: number, p: ChargingProfile) =>
    installProfile(installed, { connectorId, csChargingProfiles: p }, { now });

  it('the same chargingProfileId replaces, even on another connector', () => {
    const a = set1([], 1, profile({ chargingProfileId: 7, stackLevel: 0 }));
    const b = set1(a.profiles, 2, profile({ chargingProfileId: 7, stackLevel: 3 }));
    assert.equal(b.status, 'Accepted');
    assert.equal(b.profiles.length, 1);
    assert.equal(b.profiles[0]!.connectorId, 2);
    assert.equal(b.replaced.length, 1);
  });

  it('the same stackLevel and purpose on the same connector replaces', () => {
    const a = set1([], 1, profile({ chargingProfileId: 1, stackLevel: 2 }));
    const b = set1(a.profiles, 1, profile({ chargingProfileId: 2, stackLevel: 2 }));
    assert.deepEqual(
      b.profiles.map((p) => p.profile.chargingProfileId),
      [2],
    );
  });

  it('the same stackLevel and purpose on another connector stacks next to it', () => {
    const a = set1([], 0, profile({ chargingProfileId: 1, stackLevel: 2 }));
    const b = set1(a.profiles, 1, profile({ chargingProfileId: 2, stackLevel: 2 }));
    assert.equal(b.profiles.length, 2);
  });

  it('another purpose at the same stackLevel stacks next to it', () => {
    const a = set1([], 0, profile({ chargingProfileId: 1, stackLevel: 2 }));
    const b = set1(
      a.profiles,
      0,
      profile({ chargingProfileId: 2, stackLevel: 2, chargingProfilePurpose: 'ChargePointMaxProfile' }),
    );
    assert.equal(b.profiles.length, 2);
  });

  it('a refused profile leaves the set unchanged', () => {
    const a = set1([], 1, profile());
    const b = set1(a.profiles, 1, profile({ chargingProfileId: 2, chargingProfilePurpose: 'TxProfile' }));
    assert.equal(b.status, 'Rejected');
    assert.deepEqual(b.profiles, a.profiles);
  });

  it('MaxChargingProfilesInstalled is enforced', () => {
    let s: InstalledProfile[] = [];
    for (let i = 1; i <= 3; i++) s = set1(s, 1, profile({ chargingProfileId: i, stackLevel: i })).profiles;
    const r = installProfile(
      s,
      { connectorId: 1, csChargingProfiles: profile({ chargingProfileId: 9, stackLevel: 9 }) },
      { maxInstalled: 3 },
    );
    assert.equal(r.status, 'Rejected');
    // replacing one keeps the count, so it is accepted
    const r2 = installProfile(
      s,
      { connectorId: 1, csChargingProfiles: profile({ chargingProfileId: 3, stackLevel: 9 }) },
      { maxInstalled: 3 },
    );
    assert.equal(r2.status, 'Accepted');
  });

  const installed: InstalledProfile[] = [
    {
      connectorId: 0,
      profile: profile({ chargingProfileId: 1, stackLevel: 0, chargingProfilePurpose: 'ChargePointMaxProfile' }),
    },
    { connectorId: 0, profile: profile({ chargingProfileId: 2, stackLevel: 1 }) },
    { connectorId: 1, profile: profile({ chargingProfileId: 3, stackLevel: 1 }) },
    {
      connectorId: 1,
      profile: profile({ chargingProfileId: 4, stackLevel: 2, chargingProfilePurpose: 'TxProfile', transactionId: 42 }),
    },
    {
      connectorId: 2,
      profile: profile({ chargingProfileId: 5, stackLevel: 2, chargingProfilePurpose: 'TxProfile', transactionId: 43 }),
    },
  ];
  const clearCases: [string, object, number[], 'Accepted' | 'Unknown'][] = [
    ['no field clears all', {}, [], 'Accepted'],
    ['id clears only that profile', { id: 3 }, [1, 2, 4, 5], 'Accepted'],
    ['id ignores the other fields', { id: 3, connectorId: 2, stackLevel: 7 }, [1, 2, 4, 5], 'Accepted'],
    ['unknown id clears nothing', { id: 99 }, [1, 2, 3, 4, 5], 'Unknown'],
    ['connectorId alone', { connectorId: 1 }, [1, 2, 5], 'Accepted'],
    ['connectorId AND purpose', { connectorId: 1, chargingProfilePurpose: 'TxProfile' }, [1, 2, 3, 5], 'Accepted'],
    ['purpose AND stackLevel', { chargingProfilePurpose: 'TxDefaultProfile', stackLevel: 1 }, [1, 4, 5], 'Accepted'],
    ['an AND matching nothing', { connectorId: 0, chargingProfilePurpose: 'TxProfile' }, [1, 2, 3, 4, 5], 'Unknown'],
  ];
  for (const [name, req, left, status] of clearCases) {
    it(`ClearChargingProfile: ${name}`, () => {
      const r = clearProfiles(installed, req);
      assert.equal(r.status, status);
      assert.deepEqual(
        r.profiles.map((p) => p.profile.chargingProfileId),
        left,
      );
    });
  }

  it('the TxProfile goes when its transaction ends, others stay', () => {
    assert.deepEqual(
      removeTransactionProfiles(installed, 42).map((p) => p.profile.chargingProfileId),
      [1, 2, 3, 5],
    );
  });

  it('a RemoteStart TxProfile gets the transactionId once the transaction starts', () => {
    const r = installProfile(
      [],
      { connectorId: 1, csChargingProfiles: profile({ chargingProfilePurpose: 'TxProfile' }) },
      { context: 'RemoteStartTransaction' },
    );
    assert.equal(r.status, 'Accepted');
    const bound = bindTransaction(r.profiles, 1, 77);
    assert.equal(bound[0]!.profile.transactionId, 77);
    assert.deepEqual(removeTransactionProfiles(bound, 77), []);
  });
});
