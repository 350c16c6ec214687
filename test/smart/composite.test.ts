import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { compositeSchedule, compositeSegments } from '../../src/smart/composite.ts';
import type {
  ChargingProfile,
  ChargingProfilePurpose,
  ChargingSchedulePeriod,
  InstalledProfile,
} from '../../src/smart/types.ts';

const T0 = Date.parse('2024-03-04T00:00:00Z'); // a Monday
const H = 3_600_000;
const iso = (ms: number) => new Date(ms).toISOString();

function ip(
  connectorId: number,
  id: number,
  purpose: ChargingProfilePurpose,
  stackLevel: number,
  periods: [number, number, number?][],
  over: Partial<ChargingProfile> & { duration?: number; startSchedule?: string | null; unit?: 'A' | 'W' } = {},
): InstalledProfile {
  const { duration, startSchedule, unit, ...rest } = over;
  const chargingSchedulePeriod: ChargingSchedulePeriod[] = periods.map(([startPeriod, limit, numberPhases]) =>
    numberPhases === undefined ? { startPeriod, limit } : { startPeriod, limit, numberPhases },
  );
  return {
    connectorId,
    profile: {
      chargingProfileId: id,
      stackLevel,
      chargingProfilePurpose: purpose,
      chargingProfileKind: 'Absolute',
      chargingSchedule: {
        ...(duration !== undefined ? { duration } : {}),
        ...(startSchedule === null ? {} : { startSchedule: startSchedule ?? iso(T0) }),
        chargingRateUnit: unit ?? 'A',
        chargingSchedulePeriod,
      },
      ...rest,
    },
  };
}

/** [startPeriod s, limit] pairs of the conf, for compact expectations. */
function periods(installed: InstalledProfile[], opts: Parameters<typeof compositeSchedule>[1]): [number, number][] {
  const conf = compositeSchedule(installed, opts);
  assert.equal(conf.status, 'Accepted');
  return conf.chargingSchedule!.chargingSchedulePeriod.map((p) => [p.startPeriod, p.limit]);
}

const day = { connectorId: 1, start: T0, duration: 86400 };

describe('composite schedule: tables (§3.13)', () => {
  it('ChargePointMaxProfile caps the TxDefaultProfile, interval by interval (§3.13.3)', () => {
    // The spec's picture: a charge point cap that drops in the evening, a default that rises at night.
    const installed = [
      ip(0, 1, 'ChargePointMaxProfile', 0, [
        [0, 32],
        [17 * 3600, 20],
        [21 * 3600, 32],
      ]),
      ip(0, 2, 'TxDefaultProfile', 0, [
        [0, 25],
        [8 * 3600, 16],
        [20 * 3600, 25],
      ]),
    ];
    assert.deepEqual(periods(installed, day), [
      [0, 25],
      [8 * 3600, 16],
      [20 * 3600, 20],
      [21 * 3600, 25],
    ]);
  });

  it('a TxProfile overrules the TxDefaultProfile even when it allows more, but not the cap', () => {
    const installed = [
      ip(0, 1, 'ChargePointMaxProfile', 0, [[0, 20]]),
      ip(0, 2, 'TxDefaultProfile', 5, [[0, 10]]),
      ip(1, 3, 'TxProfile', 0, [[0, 16]], { transactionId: 9, duration: 2 * 3600 }),
    ];
    const opts = { ...day, transaction: { transactionId: 9, startedAt: T0 } };
    assert.deepEqual(periods(installed, opts), [
      [0, 16],
      [2 * 3600, 10],
    ]);
    // The same TxProfile at 25 A is capped at 20 A.
    installed[2] = ip(1, 3, 'TxProfile', 0, [[0, 25]], { transactionId: 9 });
    assert.deepEqual(periods(installed, opts), [[0, 20]]);
  });

  it('a higher stack level past its duration falls through to the lower one (§3.13.2)', () => {
    const installed = [
      ip(1, 1, 'TxDefaultProfile', 0, [[0, 16]]),
      ip(1, 2, 'TxDefaultProfile', 1, [[0, 6]], { startSchedule: iso(T0 + 10 * H), duration: 3600 }),
    ];
    assert.deepEqual(periods(installed, day), [
      [0, 16],
      [10 * 3600, 6],
      [11 * 3600, 16],
    ]);
  });

  it('outside validFrom/validTo a profile falls through too', () => {
    const installed = [
      ip(1, 1, 'TxDefaultProfile', 0, [[0, 16]]),
      ip(1, 2, 'TxDefaultProfile', 3, [[0, 8]], { validFrom: iso(T0 + 2 * H), validTo: iso(T0 + 4 * H) }),
    ];
    assert.deepEqual(periods(installed, day), [
      [0, 16],
      [2 * 3600, 8],
      [4 * 3600, 16],
    ]);
  });

  it('the last period lasts until the duration, then no limit (the hardware maximum)', () => {
    const installed = [ip(1, 1, 'TxDefaultProfile', 0, [[0, 10]], { duration: 3600 })];
    assert.deepEqual(periods(installed, { ...day, maxCurrentA: 32 }), [
      [0, 10],
      [3600, 32],
    ]);
  });

  it('Recurring Daily repeats from startSchedule, also before it in the day (UTC days)', () => {
    const installed = [
      ip(
        0,
        1,
        'TxDefaultProfile',
        0,
        [
          [0, 6],
          [4 * 3600, 16],
        ],
        { chargingProfileKind: 'Recurring', recurrencyKind: 'Daily', startSchedule: iso(T0 - 30 * 86400_000 + 18 * H) },
      ),
    ];
    // 18:00–22:00 at 6 A, then 16 A until 18:00 the next day.
    assert.deepEqual(periods(installed, { ...day, duration: 2 * 86400 }), [
      [0, 16],
      [18 * 3600, 6],
      [22 * 3600, 16],
      [42 * 3600, 6],
      [46 * 3600, 16],
    ]);
  });

  it("Recurring Daily follows the site's time zone across daylight saving: 23:00 stays 23:00", () => {
    // A night limit from 23:00 to 07:00 Amsterdam time, set up in winter (23:00 CET = 22:00Z).
    const installed = [
      ip(
        0,
        1,
        'TxDefaultProfile',
        0,
        [
          [0, 6],
          [8 * 3600, 16],
        ],
        {
          chargingProfileKind: 'Recurring',
          recurrencyKind: 'Daily',
          startSchedule: '2024-01-10T22:00:00Z',
        },
      ),
    ];
    // Summer time starts on 31 March 2024: the night of 31 March starts at 23:00 CEST = 21:00Z.
    const start = Date.parse('2024-03-30T12:00:00Z');
    const local = periods(installed, { connectorId: 1, start, duration: 2 * 86400, timeZone: 'Europe/Amsterdam' });
    assert.deepEqual(local, [
      [0, 16],
      [10 * 3600, 6], // 30 March 22:00Z = 23:00 CET
      [18 * 3600, 16], // 8 hours later (startPeriod counts elapsed seconds): 06:00Z = 08:00 CEST
      [33 * 3600, 6], // 31 March 21:00Z = 23:00 CEST
      [41 * 3600, 16],
    ]);
    // Without a time zone the recurrence stays on UTC days: 23:00 CET becomes 00:00 CEST.
    const utc = periods(installed, { connectorId: 1, start, duration: 2 * 86400 });
    assert.deepEqual(utc[3], [34 * 3600, 6]);
  });

  it('Recurring Weekly repeats every 7 days', () => {
    const installed = [
      ip(0, 1, 'TxDefaultProfile', 0, [[0, 8]], {
        chargingProfileKind: 'Recurring',
        recurrencyKind: 'Weekly',
        startSchedule: iso(T0 - 14 * 86400_000 + 2 * 86400_000), // a Wednesday
        duration: 86400,
      }),
    ];
    assert.deepEqual(periods(installed, { ...day, duration: 7 * 86400, maxCurrentA: 32 }), [
      [0, 32],
      [2 * 86400, 8],
      [3 * 86400, 32],
    ]);
  });

  it('Relative starts with the transaction', () => {
    const installed = [
      ip(
        1,
        1,
        'TxProfile',
        0,
        [
          [0, 10],
          [1800, 20],
        ],
        { chargingProfileKind: 'Relative', startSchedule: null, transactionId: 4 },
      ),
    ];
    const opts = { ...day, duration: 3600, transaction: { transactionId: 4, startedAt: T0 - 1200_000 } };
    // The transaction began 20 min before the window: 10 more minutes at 10 A, then 20 A.
    assert.deepEqual(periods(installed, opts), [
      [0, 10],
      [600, 20],
    ]);
  });

  it('a TxProfile of another transaction does not apply', () => {
    const installed = [
      ip(1, 1, 'TxDefaultProfile', 0, [[0, 16]]),
      ip(1, 2, 'TxProfile', 0, [[0, 6]], { transactionId: 1 }),
    ];
    assert.deepEqual(periods(installed, { ...day, transaction: { transactionId: 2, startedAt: T0 } }), [[0, 16]]);
    // and without a transaction no TxProfile applies at all
    assert.deepEqual(periods(installed, day), [[0, 16]]);
  });

  it('connector-0 TxDefaultProfiles apply to every connector; the specific one wins a tie', () => {
    const installed = [ip(0, 1, 'TxDefaultProfile', 1, [[0, 12]]), ip(2, 2, 'TxDefaultProfile', 1, [[0, 8]])];
    assert.deepEqual(periods(installed, { ...day, connectorId: 1 }), [[0, 12]]);
    assert.deepEqual(periods(installed, { ...day, connectorId: 2 }), [[0, 8]]);
    // a higher stack level on connector 0 beats the connector's own
    installed.push(ip(0, 3, 'TxDefaultProfile', 2, [[0, 14]]));
    assert.deepEqual(periods(installed, { ...day, connectorId: 2 }), [[0, 14]]);
  });

  it('the connector-0 composite is the ChargePointMax alone', () => {
    const installed = [ip(0, 1, 'ChargePointMaxProfile', 0, [[0, 40]]), ip(0, 2, 'TxDefaultProfile', 0, [[0, 10]])];
    assert.deepEqual(periods(installed, { ...day, connectorId: 0 }), [[0, 40]]);
  });

  it('converts W to A and back: W = A × 230 V × phases', () => {
    const installed = [
      ip(
        1,
        1,
        'TxDefaultProfile',
        0,
        [
          [0, 11040],
          [3600, 3680, 1],
        ],
        { unit: 'W' },
      ),
    ];
    const confA = compositeSchedule(installed, { ...day, duration: 7200 });
    assert.deepEqual(confA.chargingSchedule!.chargingSchedulePeriod, [
      { startPeriod: 0, limit: 16, numberPhases: 3 },
      { startPeriod: 3600, limit: 16, numberPhases: 1 },
    ]);
    const a = [ip(1, 1, 'TxDefaultProfile', 0, [[0, 16]])];
    const confW = compositeSchedule(a, { ...day, duration: 60, chargingRateUnit: 'W' });
    assert.deepEqual(confW.chargingSchedule!.chargingSchedulePeriod, [
      { startPeriod: 0, limit: 11040, numberPhases: 3 },
    ]);
  });

  it('a W cap against an A default compares in the requested unit', () => {
    const installed = [
      ip(0, 1, 'ChargePointMaxProfile', 0, [[0, 7360]], { unit: 'W' }),
      ip(1, 2, 'TxDefaultProfile', 0, [[0, 16]]),
    ];
    // 7360 W on 3 phases = 10.67 A per phase: rounded down to 10.6
    assert.deepEqual(periods(installed, { ...day, duration: 60 }), [[0, 10.6]]);
  });

  it('an unknown connector is Rejected', () => {
    assert.equal(compositeSchedule([], { ...day, connectorId: 3, numberOfConnectors: 2 }).status, 'Rejected');
  });
});

// ---- properties --------------------------------------------------------------------------------

/** An independent, deliberately naive reading of §3.13 to compare against. */
function naiveLimit(installed: InstalledProfile[], t: number, txId: number, txStart: number): number | undefined {
  const periodLimit = (p: InstalledProfile): number | undefined => {
    const pr = p.profile;
    if (pr.validFrom && t < Date.parse(pr.validFrom)) return undefined;
    if (pr.validTo && t >= Date.parse(pr.validTo)) return undefined;
    let start = pr.chargingProfileKind === 'Relative' ? txStart : Date.parse(pr.chargingSchedule.startSchedule!);
    if (pr.chargingProfileKind === 'Recurring') {
      while (start > t) start -= 86400_000;
      while (start + 86400_000 <= t) start += 86400_000;
    }
    const off = (t - start) / 1000;
    if (off < 0) return undefined;
    if (pr.chargingSchedule.duration !== undefined && off >= pr.chargingSchedule.duration) return undefined;
    const ps = pr.chargingSchedule.chargingSchedulePeriod.filter((x) => x.startPeriod <= off);
    return ps[ps.length - 1]?.limit;
  };
  const best = (list: InstalledProfile[]) => {
    let top: { level: number; specific: boolean; id: number; limit: number } | undefined;
    for (const p of list) {
      const limit = periodLimit(p);
      if (limit === undefined) continue;
      const c = { level: p.profile.stackLevel, specific: p.connectorId !== 0, id: p.profile.chargingProfileId, limit };
      const better =
        !top ||
        c.level > top.level ||
        (c.level === top.level && c.specific && !top.specific) ||
        (c.level === top.level && c.specific === top.specific && c.id > top.id);
      if (better) top = c;
    }
    return top?.limit;
  };
  const cp = best(installed.filter((p) => p.profile.chargingProfilePurpose === 'ChargePointMaxProfile'));
  const tx = best(
    installed.filter((p) => p.profile.chargingProfilePurpose === 'TxProfile' && p.profile.transactionId === txId),
  );
  const def = best(installed.filter((p) => p.profile.chargingProfilePurpose === 'TxDefaultProfile'));
  const txLike = tx ?? def;
  if (cp === undefined) return txLike;
  if (txLike === undefined) return cp;
  return Math.min(cp, txLike);
}

const arbProfile = fc
  .record({
    purpose: fc.constantFrom<ChargingProfilePurpose>('ChargePointMaxProfile', 'TxDefaultProfile', 'TxProfile'),
    connector: fc.constantFrom(0, 1),
    stackLevel: fc.integer({ min: 0, max: 3 }),
    kind: fc.constantFrom<'Absolute' | 'Recurring' | 'Relative'>('Absolute', 'Recurring', 'Relative'),
    startH: fc.integer({ min: -30, max: 30 }),
    duration: fc.option(fc.integer({ min: 1, max: 20 }).map((h) => h * 1800)),
    steps: fc.array(fc.tuple(fc.integer({ min: 1, max: 8 }), fc.integer({ min: 0, max: 64 })), {
      minLength: 1,
      maxLength: 4,
    }),
    validFromH: fc.option(fc.integer({ min: -5, max: 20 })),
    validForH: fc.integer({ min: 1, max: 30 }),
    txId: fc.constantFrom(1, 2),
  })
  .map((r): Omit<InstalledProfile, 'profile'> & { profile: Omit<ChargingProfile, 'chargingProfileId'> } => {
    let at = 0;
    const chargingSchedulePeriod = r.steps.map(([gap, limit], i) => {
      if (i > 0) at += gap * 900;
      return { startPeriod: at, limit };
    });
    const connectorId = r.purpose === 'ChargePointMaxProfile' ? 0 : r.purpose === 'TxProfile' ? 1 : r.connector;
    return {
      connectorId,
      profile: {
        stackLevel: r.stackLevel,
        chargingProfilePurpose: r.purpose,
        chargingProfileKind: r.kind,
        ...(r.kind === 'Recurring' ? { recurrencyKind: 'Daily' as const } : {}),
        ...(r.purpose === 'TxProfile' ? { transactionId: r.txId } : {}),
        ...(r.validFromH !== null
          ? { validFrom: iso(T0 + r.validFromH * H), validTo: iso(T0 + (r.validFromH + r.validForH) * H) }
          : {}),
        chargingSchedule: {
          ...(r.duration !== null ? { duration: r.duration } : {}),
          ...(r.kind === 'Relative' ? {} : { startSchedule: iso(T0 + r.startH * H) }),
          chargingRateUnit: 'A',
          chargingSchedulePeriod,
        },
      },
    };
  });

const arbInstalled = fc
  .array(arbProfile, { maxLength: 7 })
  .map((ps) => ps.map((p, i): InstalledProfile => ({ ...p, profile: { ...p.profile, chargingProfileId: i + 1 } })));

describe('composite schedule: properties', () => {
  it('equals the minimum of the applicable profiles at every instant, and never exceeds the ChargePointMax', () => {
    fc.assert(
      fc.property(
        arbInstalled,
        fc.integer({ min: -10, max: 10 }),
        fc.array(fc.integer({ min: 0, max: 24 * 3600 - 1 }), { minLength: 5, maxLength: 20 }),
        (installed, txStartH, samples) => {
          const txStart = T0 + txStartH * H;
          const opts = {
            connectorId: 1,
            start: T0,
            duration: 86400,
            transaction: { transactionId: 1, startedAt: txStart },
          };
          const segs = compositeSegments(installed, opts);
          // contiguous cover of the window
          assert.equal(segs[0]!.start, T0);
          assert.equal(segs[segs.length - 1]!.end, T0 + 86400_000);
          for (let i = 1; i < segs.length; i++) assert.equal(segs[i]!.start, segs[i - 1]!.end);
          const cpOnly = installed.filter((p) => p.profile.chargingProfilePurpose === 'ChargePointMaxProfile');
          for (const s of samples) {
            const t = T0 + s * 1000;
            const seg = segs.find((x) => x.start <= t && t < x.end)!;
            const expected = naiveLimit(installed, t, 1, txStart);
            assert.equal(seg.limit ?? undefined, expected, `at +${s}s`);
            const cap = naiveLimit(cpOnly, t, 1, txStart);
            if (cap !== undefined) assert.ok(seg.limit !== null && seg.limit <= cap);
          }
        },
      ),
      { numRuns: 300 },
    );
  });

  it('the conf never allows more than the segments', () => {
    fc.assert(
      fc.property(arbInstalled, (installed) => {
        const opts = { connectorId: 1, start: T0, duration: 86400, transaction: { transactionId: 2, startedAt: T0 } };
        const segs = compositeSegments(installed, opts);
        const conf = compositeSchedule(installed, { ...opts, maxCurrentA: 1000 });
        const ps = conf.chargingSchedule!.chargingSchedulePeriod;
        assert.equal(ps[0]!.startPeriod, 0);
        for (let i = 1; i < ps.length; i++) assert.ok(ps[i]!.startPeriod > ps[i - 1]!.startPeriod);
        for (const seg of segs) {
          const off = (seg.start - T0) / 1000;
          const p = ps.filter((x) => x.startPeriod <= off).pop()!;
          assert.ok(p.limit <= (seg.limit ?? 1000) + 1e-9);
        }
      }),
      { numRuns: 200 },
    );
  });
});
