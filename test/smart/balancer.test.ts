import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type BalancerCharger,
  type BalancerSession,
  type BalancingAlgorithm,
  balance,
  chargerGridPhases,
  type Site,
} from '../../src/smart/balancer.ts';
import type { GridPhase } from '../../src/smart/types.ts';

const c3 = (id: string, over: Partial<BalancerCharger> = {}): BalancerCharger => ({
  id,
  phases: 3,
  maxCurrentA: 32,
  ...over,
});
const sess = (id: string, chargerId: string, over: Partial<BalancerSession> = {}): BalancerSession => ({
  id,
  chargerId,
  ...over,
});
const current = (r: ReturnType<typeof balance>) =>
  Object.fromEntries(r.allocations.map((a) => [a.sessionId, a.currentA]));

describe('balancer: tables', () => {
  it('fair share: two cars on a 32 A site get 16 A each', () => {
    const r = balance({ gridLimitA: 32 }, [c3('a'), c3('b')], [sess('1', 'a'), sess('2', 'b')]);
    assert.deepEqual(current(r), { '1': 16, '2': 16 });
  });

  it('a car limited by its own maximum leaves the rest to the others', () => {
    const r = balance(
      { gridLimitA: 32, algorithm: 'UNIFORM' },
      [c3('a'), c3('b')],
      [sess('1', 'a', { maxCurrentA: 10 }), sess('2', 'b')],
    );
    assert.deepEqual(current(r), { '1': 10, '2': 22 });
  });

  it('minimums that do not fit: the lowest priority is paused first', () => {
    const chargers = [c3('a'), c3('b', { priority: 2 }), c3('c', { priority: 1 })];
    const sessions = [sess('1', 'a'), sess('2', 'b'), sess('3', 'c')];
    for (const algorithm of ['UNIFORM', 'OPTIMIZED', 'SUSPENDABLE'] as const) {
      const r = balance({ gridLimitA: 16, algorithm }, chargers, sessions);
      assert.equal(current(r)['1'], 0, algorithm);
      assert.equal(r.allocations.find((a) => a.sessionId === '1')!.state, 'paused');
    }
  });

  it('at equal priority the later session waits', () => {
    const r = balance(
      { gridLimitA: 11 },
      [c3('a'), c3('b')],
      [sess('late', 'a', { startedAt: 2000 }), sess('early', 'b', { startedAt: 1000 })],
    );
    assert.deepEqual(current(r), { late: 0, early: 11 });
  });

  it('UNIFORM ignores priority for the share; OPTIMIZED and SUSPENDABLE serve priority first', () => {
    const chargers = [c3('hi', { priority: 1 }), c3('lo')];
    const sessions = [sess('h', 'hi'), sess('l', 'lo')];
    assert.deepEqual(current(balance({ gridLimitA: 40, algorithm: 'UNIFORM' }, chargers, sessions)), { h: 20, l: 20 });
    assert.deepEqual(current(balance({ gridLimitA: 40, algorithm: 'OPTIMIZED' }, chargers, sessions)), { h: 32, l: 8 });
    assert.deepEqual(current(balance({ gridLimitA: 40, algorithm: 'SUSPENDABLE' }, chargers, sessions)), {
      h: 32,
      l: 8,
    });
  });

  it('SUSPENDABLE suspends the lower priority to give the higher its maximum; OPTIMIZED keeps both', () => {
    const chargers = [c3('hi', { priority: 1 }), c3('lo')];
    const sessions = [sess('h', 'hi'), sess('l', 'lo')];
    assert.deepEqual(current(balance({ gridLimitA: 36, algorithm: 'SUSPENDABLE' }, chargers, sessions)), {
      h: 32,
      l: 0,
    });
    assert.deepEqual(current(balance({ gridLimitA: 36, algorithm: 'OPTIMIZED' }, chargers, sessions)), { h: 30, l: 6 });
  });

  it('OPTIMIZED gives what a car does not draw to the others', () => {
    const chargers = [c3('a'), c3('b')];
    const sessions = [
      sess('1', 'a', { offeredCurrentA: 16, measuredCurrentA: 5 }),
      sess('2', 'b', { offeredCurrentA: 16, measuredCurrentA: 16 }),
    ];
    assert.deepEqual(current(balance({ gridLimitA: 32, algorithm: 'OPTIMIZED' }, chargers, sessions)), {
      '1': 7,
      '2': 25,
    });
    // UNIFORM and SUSPENDABLE do not look at the draw
    assert.deepEqual(current(balance({ gridLimitA: 32, algorithm: 'UNIFORM' }, chargers, sessions)), {
      '1': 16,
      '2': 16,
    });
    // a car drawing close to its offer keeps its share
    const near = [sess('1', 'a', { offeredCurrentA: 16, measuredCurrentA: 15 }), sessions[1]!];
    assert.deepEqual(current(balance({ gridLimitA: 32, algorithm: 'OPTIMIZED' }, chargers, near)), {
      '1': 16,
      '2': 16,
    });
  });

  it('a disconnected charger counts at its fallback current, car or not', () => {
    const r = balance(
      { gridLimitA: 32, fallbackCurrentA: 6 },
      [c3('a'), c3('b'), c3('gone', { connected: false }), c3('idle-gone', { connected: false })],
      [sess('1', 'a'), sess('2', 'b'), sess('3', 'gone')],
    );
    assert.deepEqual(current(r), { '1': 10, '2': 10, '3': 6 });
    assert.equal(r.allocations.find((a) => a.sessionId === '3')!.state, 'fallback');
    assert.deepEqual(r.phaseLoadA, [32, 32, 32]);
  });

  it('building load is subtracted per phase', () => {
    const r = balance({ gridLimitA: 32, buildingLoadA: [10, 0, 0] }, [c3('a')], [sess('1', 'a')]);
    assert.deepEqual(current(r), { '1': 22 });
  });

  it('phase mapping: three 1-phase chargers rotated onto L1, L2, L3 each get the full phase', () => {
    const chargers: BalancerCharger[] = [
      { id: 'x', phases: 1, rotation: 'RST', maxCurrentA: 32 },
      { id: 'y', phases: 1, rotation: 'STR', maxCurrentA: 32 },
      { id: 'z', phases: 1, phaseMapping: [3, 1, 2], maxCurrentA: 32 },
    ];
    assert.deepEqual(chargerGridPhases(chargers[1]!), [2]);
    const r = balance({ gridLimitA: 16 }, chargers, [sess('1', 'x'), sess('2', 'y'), sess('3', 'z')]);
    assert.deepEqual(current(r), { '1': 16, '2': 16, '3': 16 });
    // without rotation all three would share L1
    const same = chargers.map((c) => ({ id: c.id, phases: 1 as const, maxCurrentA: 32 }));
    const r2 = balance({ gridLimitA: 16 }, same, [sess('1', 'x'), sess('2', 'y'), sess('3', 'z')]);
    assert.deepEqual(current(r2), { '1': 8, '2': 8, '3': 0 });
  });

  it('a 1-phase car on a 3-phase charger loads one phase only', () => {
    const r = balance(
      { gridLimitA: 16 },
      [c3('a'), c3('b', { rotation: 'STR' })],
      [sess('1', 'a', { evPhases: 1 }), sess('2', 'b')],
    );
    assert.deepEqual(current(r), { '1': 8, '2': 8 });
    assert.deepEqual(r.allocations.find((a) => a.sessionId === '1')!.gridPhases, [1]);
  });

  it('phase switching: a 3-phase session that cannot get its minimum on 3 phases runs on 1', () => {
    const site: Site = { gridLimitA: 16, buildingLoadA: [0, 12, 12] };
    const r = balance(site, [c3('goe', { supportsPhaseSwitching: true })], [sess('1', 'goe')]);
    assert.deepEqual(r.allocations[0]!.phases, 1);
    assert.deepEqual(r.allocations[0]!.currentA, 16);
    const r2 = balance(site, [c3('eaton')], [sess('1', 'eaton')]);
    assert.equal(r2.allocations[0]!.state, 'paused');
    const r3 = balance(
      { ...site, phaseSwitching: false },
      [c3('goe', { supportsPhaseSwitching: true })],
      [sess('1', 'goe')],
    );
    assert.equal(r3.allocations[0]!.state, 'paused');
  });

  it('an on/off-only charger gets its maximum or nothing', () => {
    const chargers = [c3('eaton', { onOffOnly: true, maxCurrentA: 16 }), c3('goe')];
    assert.deepEqual(current(balance({ gridLimitA: 24 }, chargers, [sess('1', 'eaton'), sess('2', 'goe')])), {
      '1': 16,
      '2': 8,
    });
    assert.deepEqual(
      current(
        balance({ gridLimitA: 20 }, chargers, [
          sess('1', 'eaton', { startedAt: 2 }),
          sess('2', 'goe', { startedAt: 1 }),
        ]),
      ),
      {
        '1': 0,
        '2': 20,
      },
    );
  });

  it('a kW limit holds as total power', () => {
    // 11 kW = 15.9 A on 3 phases at 230 V
    const r = balance({ gridLimitKw: 11 }, [c3('a')], [sess('1', 'a')]);
    assert.deepEqual(current(r), { '1': 15.9 });
    assert.ok(r.powerKw <= 11);
  });

  it('limits are rounded down to one decimal', () => {
    const r = balance(
      { gridLimitA: 20 },
      [c3('a'), c3('b'), c3('c')],
      [sess('1', 'a'), sess('2', 'b'), sess('3', 'c')],
    );
    assert.deepEqual(current(r), { '1': 6.6, '2': 6.6, '3': 6.6 });
  });

  it('1 000 sessions balance quickly', () => {
    const chargers = Array.from({ length: 1000 }, (_, i) =>
      c3(`c${i}`, { rotation: (['RST', 'STR', 'TRS'] as const)[i % 3], priority: i % 3 }),
    );
    const sessions = chargers.map((c, i) => sess(`s${i}`, c.id, { startedAt: i }));
    const t = performance.now();
    const r = balance({ gridLimitA: 4000, algorithm: 'OPTIMIZED' }, chargers, sessions);
    assert.ok(performance.now() - t < 500);
    assert.ok(r.phaseLoadA.every((l) => l <= 4000 + 1e-6));
  });
});

// ---- properties --------------------------------------------------------------------------------

const perms: GridPhase[][] = [
  [1, 2, 3],
  [2, 3, 1],
  [3, 1, 2],
  [1, 3, 2],
];

const arbCharger = (id: string) =>
  fc.record({
    id: fc.constant(id),
    phases: fc.constantFrom<1 | 3>(1, 3),
    phaseMapping: fc.constantFrom(...perms),
    maxCurrentA: fc.integer({ min: 6, max: 32 }),
    priority: fc.integer({ min: 0, max: 2 }),
    connected: fc.boolean().map((b) => b || Math.random() < 0.7),
    supportsPhaseSwitching: fc.boolean(),
  });

const arbSessionFor = (id: string, chargerId: string) =>
  fc.record({
    id: fc.constant(id),
    chargerId: fc.constant(chargerId),
    minCurrentA: fc.constantFrom(6, 6, 8),
    maxCurrentA: fc.option(fc.integer({ min: 4, max: 32 }), { nil: undefined }),
    evPhases: fc.option(fc.constantFrom<1 | 3>(1, 3), { nil: undefined }),
    measuredCurrentA: fc.option(fc.integer({ min: 0, max: 32 }), { nil: undefined }),
    offeredCurrentA: fc.option(fc.integer({ min: 0, max: 32 }), { nil: undefined }),
    startedAt: fc.integer({ min: 0, max: 100 }),
  });

const arbSite = fc.record({
  gridLimitA: fc.option(fc.integer({ min: 0, max: 120 }), { nil: undefined }),
  gridLimitKw: fc.option(fc.integer({ min: 0, max: 80 }), { nil: undefined }),
  buildingLoadA: fc.tuple(
    fc.integer({ min: 0, max: 30 }),
    fc.integer({ min: 0, max: 30 }),
    fc.integer({ min: 0, max: 30 }),
  ),
  algorithm: fc.constantFrom<BalancingAlgorithm>('UNIFORM', 'OPTIMIZED', 'SUSPENDABLE'),
  fallbackCurrentA: fc.constantFrom(0, 6, 10),
});

const arbWorld = fc
  .integer({ min: 1, max: 10 })
  .chain((n) =>
    fc.tuple(
      arbSite,
      fc.tuple(...Array.from({ length: n }, (_, i) => arbCharger(`c${i}`))),
      fc.tuple(...Array.from({ length: n }, (_, i) => fc.option(arbSessionFor(`s${i}`, `c${i}`), { nil: undefined }))),
    ),
  );

/** The invariants of issue 6: no phase over its limit, minimum or paused, priority respected. */
function checkInvariants(site: Site, chargers: BalancerCharger[], sessions: BalancerSession[]) {
  const r = balance(site, chargers, sessions);
  const V = 230;
  const limit = site.gridLimitA ?? Number.POSITIVE_INFINITY;
  // 1. commanded current never exceeds what is left on any phase, nor the kW limit
  for (const p of [1, 2, 3] as GridPhase[]) {
    const commanded = r.allocations
      .filter((a) => a.state === 'charging' && a.gridPhases.includes(p))
      .reduce((s, a) => s + a.currentA, 0);
    assert.ok(
      commanded <= Math.max(0, r.availableA[p - 1]!) + 1e-6,
      `phase L${p}: ${commanded} > ${r.availableA[p - 1]}`,
    );
    if (Number.isFinite(limit) && r.availableA[p - 1]! >= 0) assert.ok(r.phaseLoadA[p - 1]! <= limit + 1e-6);
  }
  if (site.gridLimitKw !== undefined) {
    const reservedKw =
      r.powerKw -
      r.allocations
        .filter((a) => a.state === 'charging')
        .reduce((s, a) => s + (a.currentA * a.gridPhases.length * V) / 1000, 0);
    const commandedKw = r.powerKw - reservedKw;
    assert.ok(commandedKw <= Math.max(0, site.gridLimitKw - reservedKw) + 1e-6);
  }
  // 2. each session: paused at 0, or between its minimum and maximum
  const byId = new Map(sessions.map((s) => [s.id, s]));
  const chargerById = new Map(chargers.map((c) => [c.id, c]));
  for (const a of r.allocations) {
    if (a.state === 'fallback') continue;
    const s = byId.get(a.sessionId)!;
    const c = chargerById.get(s.chargerId)!;
    if (a.state === 'paused') assert.equal(a.currentA, 0);
    else {
      assert.ok(a.currentA >= (s.minCurrentA ?? 6) - 1e-9, 'below minimum');
      assert.ok(a.currentA <= Math.min(s.maxCurrentA ?? 99, c.maxCurrentA ?? 32) + 1e-9, 'above maximum');
      assert.ok(Math.abs(a.currentA * 10 - Math.round(a.currentA * 10)) < 1e-6, 'one decimal');
    }
  }
  // 3. priority: a paused session could not have had its minimum even with only the sessions
  //    ahead of it (higher priority, or earlier at the same priority) charging
  const live = sessions.filter((s) => chargerById.get(s.chargerId)!.connected !== false);
  const prio = (s: BalancerSession) => s.priority ?? chargerById.get(s.chargerId)!.priority ?? 0;
  const order = [...live].sort(
    (x, y) => prio(y) - prio(x) || (x.startedAt ?? 0) - (y.startedAt ?? 0) || (x.id < y.id ? -1 : 1),
  );
  const alloc = new Map(r.allocations.map((a) => [a.sessionId, a]));
  order.forEach((s, idx) => {
    const a = alloc.get(s.id)!;
    const c = chargerById.get(s.chargerId)!;
    const max = Math.min(s.maxCurrentA ?? 99, c.maxCurrentA ?? 32);
    const min = s.minCurrentA ?? 6;
    if (a.state !== 'paused' || max < min) return;
    const ahead = order
      .slice(0, idx)
      .map((x) => alloc.get(x.id)!)
      .filter((x) => x.state === 'charging');
    const slackN = 0.1 * (ahead.length + 1);
    const grids = [
      a.gridPhases,
      ...(c.supportsPhaseSwitching && a.gridPhases.length > 1 ? [a.gridPhases.slice(0, 1)] : []),
    ];
    for (const g of grids) {
      const blocked = g.some((p) => {
        const used = ahead.filter((x) => x.gridPhases.includes(p)).reduce((t, x) => t + x.currentA, 0);
        return used + min > r.availableA[p - 1]! - slackN;
      });
      // building load and fallback reserves: everything in powerKw that is not a commanded session
      const commandedW = r.allocations
        .filter((x) => x.state === 'charging')
        .reduce((t, x) => t + x.currentA * x.gridPhases.length * V, 0);
      const otherW = r.powerKw * 1000 - commandedW;
      const usedW = ahead.reduce((t, x) => t + x.currentA * x.gridPhases.length * V, 0);
      const powerBlocked =
        site.gridLimitKw !== undefined &&
        usedW + min * g.length * V > site.gridLimitKw * 1000 - otherW - slackN * 3 * V;
      assert.ok(blocked || powerBlocked, `${s.id} paused although its minimum fits on ${g}`);
    }
  });
}

describe('balancer: properties', () => {
  it('random sites: never over a phase, minimum or paused, priority respected', () => {
    fc.assert(
      fc.property(arbWorld, ([site, chargers, maybeSessions]) => {
        checkInvariants(
          site,
          chargers,
          maybeSessions.filter((s) => s !== undefined),
        );
      }),
      { numRuns: 400 },
    );
  });

  it('random event sequences keep the invariants after every re-balance', () => {
    const arbEvent = fc.oneof(
      fc.record({ kind: fc.constant('toggle-session' as const), i: fc.nat(9) }),
      fc.record({ kind: fc.constant('disconnect' as const), i: fc.nat(9) }),
      fc.record({ kind: fc.constant('meter' as const), i: fc.nat(9), a: fc.integer({ min: 0, max: 32 }) }),
      fc.record({ kind: fc.constant('building' as const), l: fc.tuple(fc.nat(30), fc.nat(30), fc.nat(30)) }),
    );
    fc.assert(
      fc.property(arbWorld, fc.array(arbEvent, { maxLength: 15 }), ([site0, chargers0, maybe], events) => {
        let site: Site = site0;
        let chargers = [...chargers0];
        let sessions: BalancerSession[] = maybe.filter((s) => s !== undefined);
        const spare = new Map<number, BalancerSession>(
          maybe.map((s, i) => [i, s ?? { id: `s${i}`, chargerId: `c${i}`, startedAt: 200 + i }]),
        );
        checkInvariants(site, chargers, sessions);
        for (const e of events) {
          if (e.kind === 'toggle-session') {
            const i = e.i % chargers.length;
            if (sessions.some((s) => s.id === `s${i}`)) sessions = sessions.filter((s) => s.id !== `s${i}`);
            else sessions = [...sessions, spare.get(i)!];
          } else if (e.kind === 'disconnect') {
            const i = e.i % chargers.length;
            chargers = chargers.map((c, k) => (k === i ? { ...c, connected: !(c.connected ?? true) } : c));
          } else if (e.kind === 'meter') {
            const prev = balance(site, chargers, sessions);
            sessions = sessions.map((s, k) =>
              k === e.i % Math.max(1, sessions.length)
                ? {
                    ...s,
                    measuredCurrentA: e.a,
                    offeredCurrentA: prev.allocations.find((a) => a.sessionId === s.id)?.currentA ?? 0,
                  }
                : s,
            );
          } else {
            site = { ...site, buildingLoadA: e.l };
          }
          checkInvariants(site, chargers, sessions);
        }
      }),
      { numRuns: 150 },
    );
  });
});
