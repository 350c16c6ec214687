import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { type PlanSession, type PlanSlots, planCharging } from '../../src/smart/planner.ts';

const T0 = Date.parse('2024-05-01T00:00:00Z');
const H = 3_600_000;
const energies = (p: ReturnType<typeof planCharging>, id: string) =>
  p.sessions.find((s) => s.sessionId === id)!.slots.map((s) => Math.round(s.energyKWh * 1000) / 1000);

describe('planner: tables', () => {
  it('one session takes the cheapest slots before its departure', () => {
    const slots: PlanSlots = { start: T0, slotMinutes: 60, price: [30, 10, 20, 5, 1], siteLimitKw: 11 };
    const p = planCharging(slots, [{ id: 'a', departure: T0 + 4 * H, energyKWh: 15, maxPowerKw: 11 }]);
    // slot 4 (price 1) is after the departure
    assert.deepEqual(energies(p, 'a'), [0, 4, 0, 11, 0]);
    assert.equal(p.shortfallKWh, 0);
    assert.equal(p.cost, 4 * 10 + 11 * 5);
  });

  it('greenest follows CO2, a weighted objective mixes both', () => {
    const slots: PlanSlots = { start: T0, slotMinutes: 60, price: [10, 20], co2: [400, 100], siteLimitKw: 10 };
    const s: PlanSession[] = [{ id: 'a', departure: T0 + 2 * H, energyKWh: 5, maxPowerKw: 10 }];
    assert.deepEqual(energies(planCharging(slots, s, 'cheapest'), 'a'), [5, 0]);
    assert.deepEqual(energies(planCharging(slots, s, 'greenest'), 'a'), [0, 5]);
    // 1 × price + 0.01 × co2: slot 0 costs 14, slot 1 costs 21
    assert.deepEqual(energies(planCharging(slots, s, { price: 1, co2: 0.01 }), 'a'), [5, 0]);
    assert.deepEqual(energies(planCharging(slots, s, { price: 1, co2: 0.1 }), 'a'), [0, 5]);
  });

  it('shared capacity: a session with more choice gives way (where greedy-by-session fails)', () => {
    // a may use slots 0 and 1, b only slot 1 (the cheap one); the site takes 10 kW.
    const slots: PlanSlots = { start: T0, slotMinutes: 60, price: [50, 1], siteLimitKw: 10 };
    const sessions: PlanSession[] = [
      { id: 'a', departure: T0 + 2 * H, energyKWh: 10, maxPowerKw: 10 },
      { id: 'b', arrival: T0 + H, departure: T0 + 2 * H, energyKWh: 10, maxPowerKw: 10 },
    ];
    const p = planCharging(slots, sessions);
    assert.equal(p.shortfallKWh, 0);
    assert.deepEqual(energies(p, 'a'), [10, 0]);
    assert.deepEqual(energies(p, 'b'), [0, 10]);
  });

  it('sessions without a plan charge at once, before planned ones', () => {
    const slots: PlanSlots = { start: T0, slotMinutes: 60, price: [50, 1, 1], siteLimitKw: 11 };
    const p = planCharging(slots, [
      { id: 'now', energyKWh: 15, maxPowerKw: 11 },
      { id: 'fast', departure: T0 + 3 * H, energyKWh: 5, maxPowerKw: 11, planned: false },
      { id: 'later', departure: T0 + 3 * H, energyKWh: 10, maxPowerKw: 11 },
    ]);
    assert.deepEqual(energies(p, 'now'), [11, 4, 0]);
    assert.deepEqual(energies(p, 'fast'), [0, 5, 0]);
    assert.deepEqual(energies(p, 'later'), [0, 2, 8]);
    assert.equal(p.sessions.find((s) => s.sessionId === 'fast')!.mode, 'immediate');
  });

  it('reports the shortfall when the energy cannot be delivered by departure', () => {
    const slots: PlanSlots = { start: T0, slotMinutes: 15, price: [1, 1, 1, 1], siteLimitKw: 22 };
    const p = planCharging(slots, [{ id: 'a', departure: T0 + H, energyKWh: 5, maxPowerKw: 7.4, phases: 1 }]);
    const a = p.sessions[0]!;
    assert.ok(Math.abs(a.deliveredKWh - 7.4) > 0); // 7.4 kW × 1 h = 7.4 > 5: deliverable
    assert.equal(a.shortfallKWh, 0);
    const q = planCharging(slots, [{ id: 'a', departure: T0 + 30 * 60_000, energyKWh: 5, maxPowerKw: 7.4, phases: 1 }]);
    assert.ok(Math.abs(q.sessions[0]!.shortfallKWh - 1.3) < 1e-9);
  });

  it('partial slots at arrival and departure; currents per phase', () => {
    const slots: PlanSlots = { start: T0, slotMinutes: 60, price: [1, 2], siteLimitKw: 100 };
    const p = planCharging(slots, [
      { id: 'a', arrival: T0 + 30 * 60_000, departure: T0 + 2 * H, energyKWh: 11, maxPowerKw: 11 },
    ]);
    assert.deepEqual(energies(p, 'a'), [5.5, 5.5]);
    // 5.5 kWh over the hour slot = 5.5 kW average = 7.9 A on 3 phases
    assert.equal(p.sessions[0]!.slots[0]!.currentA, 7.9);
  });
});

// ---- brute force -------------------------------------------------------------------------------

interface Small {
  price: number[];
  cap: number[];
  sessions: { from: number; to: number; energy: number; maxP: number }[];
}

/** Enumerates every integral assignment: returns [max delivered, min cost at that maximum]. */
function bruteForce(c: Small): [number, number] {
  let best: [number, number] = [-1, 0];
  const room = [...c.cap];
  const rec = (i: number, delivered: number, cost: number) => {
    if (i === c.sessions.length) {
      if (delivered > best[0] || (delivered === best[0] && cost < best[1])) best = [delivered, cost];
      return;
    }
    const s = c.sessions[i]!;
    const slotsOf = Array.from({ length: s.to - s.from }, (_, k) => s.from + k);
    const place = (k: number, left: number, d: number, co: number) => {
      if (k === slotsOf.length) return rec(i + 1, d, co);
      const t = slotsOf[k]!;
      for (let e = 0; e <= Math.min(left, s.maxP, room[t]!); e++) {
        room[t]! -= e;
        place(k + 1, left - e, d + e, co + e * c.price[t]!);
        room[t]! += e;
      }
    };
    place(0, s.energy, delivered, cost);
  };
  rec(0, 0, 0);
  return best;
}

const arbSmall = fc.integer({ min: 2, max: 4 }).chain((n) =>
  fc.record({
    price: fc.array(fc.integer({ min: -2, max: 9 }), { minLength: n, maxLength: n }),
    cap: fc.array(fc.integer({ min: 0, max: 4 }), { minLength: n, maxLength: n }),
    sessions: fc.array(
      fc
        .record({
          a: fc.nat(n - 1),
          len: fc.integer({ min: 1, max: n }),
          energy: fc.integer({ min: 0, max: 3 }),
          maxP: fc.integer({ min: 1, max: 3 }),
        })
        .map((r) => ({ from: r.a, to: Math.min(n, r.a + r.len), energy: r.energy, maxP: r.maxP })),
      { minLength: 1, maxLength: 3 },
    ),
  }),
);

function toPlan(c: Small) {
  return planCharging(
    { start: T0, slotMinutes: 60, price: c.price, siteLimitKw: c.cap },
    c.sessions.map((s, i) => ({
      id: `s${i}`,
      arrival: T0 + s.from * H,
      departure: T0 + s.to * H,
      energyKWh: s.energy,
      maxPowerKw: s.maxP,
    })),
  );
}

describe('planner: properties', () => {
  it('multi-session: delivers as much as brute force, at no more cost', () => {
    fc.assert(
      fc.property(arbSmall, (c) => {
        const [maxDelivered, minCost] = bruteForce(c);
        const p = toPlan(c);
        const delivered = p.sessions.reduce((t, s) => t + s.deliveredKWh, 0);
        assert.ok(Math.abs(delivered - maxDelivered) < 1e-6, `delivered ${delivered} vs ${maxDelivered}`);
        assert.ok(p.cost <= minCost + 1e-6, `cost ${p.cost} vs ${minCost}`);
        const wanted = c.sessions.reduce((t, s) => t + s.energy, 0);
        if (maxDelivered === wanted) assert.ok(p.shortfallKWh < 1e-6);
      }),
      { numRuns: 300 },
    );
  });

  it('single session: equals the sorted fill (cheapest slots first, each to its capacity)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ price: fc.integer({ min: 0, max: 50 }), cap: fc.integer({ min: 0, max: 22 }) }), {
          minLength: 1,
          maxLength: 96,
        }),
        fc.integer({ min: 1, max: 22 }),
        fc.integer({ min: 0, max: 200 }),
        (slots, maxP, energy) => {
          const p = planCharging(
            { start: T0, slotMinutes: 60, price: slots.map((s) => s.price), siteLimitKw: slots.map((s) => s.cap) },
            [{ id: 'a', departure: T0 + slots.length * H, energyKWh: energy, maxPowerKw: maxP }],
          );
          const sorted = slots
            .map((s) => ({ price: s.price, u: Math.min(s.cap, maxP) }))
            .sort((x, y) => x.price - y.price);
          let left = energy;
          let cost = 0;
          for (const s of sorted) {
            const e = Math.min(left, s.u);
            left -= e;
            cost += e * s.price;
          }
          assert.ok(Math.abs(p.cost - cost) < 1e-6);
          assert.ok(Math.abs(p.shortfallKWh - left) < 1e-6);
        },
      ),
      { numRuns: 200 },
    );
  });

  it('never above the site limit, a car maximum, or outside the stay', () => {
    fc.assert(
      fc.property(arbSmall, (c) => {
        const p = toPlan(c);
        p.siteLoadKw.forEach((kw, t) => {
          assert.ok(kw <= c.cap[t]! + 1e-9);
        });
        p.sessions.forEach((s, i) => {
          const def = c.sessions[i]!;
          s.slots.forEach((sl, t) => {
            assert.ok(sl.powerKw <= def.maxP + 1e-9);
            if (t < def.from || t >= def.to) assert.equal(sl.energyKWh, 0);
          });
          assert.ok(s.deliveredKWh <= def.energy + 1e-9);
        });
      }),
      { numRuns: 300 },
    );
  });
});
