// Smart-charging benchmark (issue 6): plan 1 000 sessions over 96 slots on one site, and
// re-balance 1 000 active sessions after one event. Deterministic inputs (a seeded generator), so
// runs compare. Run directly: `node --import tsx bench/smart.ts` prints JSON.

import { pathToFileURL } from 'node:url';
import {
  type BalancerCharger,
  type BalancerSession,
  balance,
  deriveCapabilities,
  type EngineCharger,
  type EngineSession,
  type PlanSession,
  planCharging,
  SiteEngine,
} from '../src/smart/index.ts';

function rng(seed: number): () => number {
  let s = seed >>> 0;
  return () => {
    s = (s + 0x6d2b79f5) >>> 0;
    let t = s;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)]!;
}

export interface SmartBenchResult {
  planMs: number;
  planSessions: number;
  planSlots: number;
  planShortfallKWh: number;
  rebalanceMs: number;
  rebalanceSessions: number;
  /** A whole engine run (ledger, balance, lower, raise, check) for the same 1 000 sessions. */
  engineRunMs: number;
  /** The same balance() call measured in the same process, for the ratio. */
  engineOverBalance: number;
  runs: number;
}

export async function runSmartBench(runs = 5): Promise<SmartBenchResult> {
  const r = rng(42);
  const start = Date.parse('2024-06-01T12:00:00Z');
  const slotMs = 15 * 60_000;
  // A day-ahead-like price curve with a night valley, and CO2 following it loosely.
  const price = Array.from({ length: 96 }, (_, t) => 0.2 + 0.1 * Math.sin((t / 96) * 2 * Math.PI) + 0.05 * r());
  const co2 = price.map((p) => 200 + 600 * p + 50 * r());
  const sessions: PlanSession[] = Array.from({ length: 1000 }, (_, i) => {
    const arrival = start + Math.floor(r() * 40) * slotMs;
    const stay = (8 + Math.floor(r() * 48)) * slotMs;
    return {
      id: `s${i}`,
      arrival,
      departure: arrival + stay,
      energyKWh: 5 + r() * 35,
      maxPowerKw: r() < 0.3 ? 3.7 : 11,
      phases: 3,
      ...(i % 20 === 0 ? { planned: false } : {}),
    };
  });
  // The site limit binds (about a third of what all cars could draw), so rerouting is exercised.
  const slots = { start, slotMinutes: 15, price, co2, siteLimitKw: 3000 };
  const planTimes: number[] = [];
  let shortfall = 0;
  for (let k = 0; k < runs; k++) {
    const t = performance.now();
    const plan = planCharging(slots, sessions, { price: 1, co2: 0.0005 });
    planTimes.push(performance.now() - t);
    shortfall = plan.shortfallKWh;
  }

  const chargers: BalancerCharger[] = Array.from({ length: 1000 }, (_, i) => ({
    id: `c${i}`,
    phases: r() < 0.2 ? 1 : 3,
    rotation: (['RST', 'STR', 'TRS'] as const)[i % 3],
    maxCurrentA: r() < 0.5 ? 16 : 32,
    priority: Math.floor(r() * 3),
    supportsPhaseSwitching: r() < 0.3,
  }));
  const active: BalancerSession[] = chargers.map((c, i) => ({
    id: `b${i}`,
    chargerId: c.id,
    startedAt: i,
    offeredCurrentA: 10,
    measuredCurrentA: r() < 0.2 ? 3 : 10,
  }));
  const site = {
    gridLimitA: 6000,
    buildingLoadA: [300, 250, 400] as [number, number, number],
    algorithm: 'OPTIMIZED' as const,
  };
  balance(site, chargers, active); // warm-up
  const balanceTimes: number[] = [];
  for (let k = 0; k < runs; k++) {
    // one event: a car's meter value changes
    const changed = active.map((s, i) => (i === k ? { ...s, measuredCurrentA: 1 } : s));
    const t = performance.now();
    balance(site, chargers, changed);
    balanceTimes.push(performance.now() - t);
  }
  // The engine around the balancer: the ledger, the lower-then-raise actuation against chargers
  // that answer at once, and the invariant check after the run.
  const caps = deriveCapabilities({
    vendor: 'Acme',
    configuration: { SupportedFeatureProfiles: 'Core,SmartCharging' },
  });
  const engine = new SiteEngine({
    call: async () => 'Accepted',
    capabilities: async () => caps,
    learned: () => {},
    record: () => {},
    violation: () => {},
    pausedByStop: () => {},
  });
  const eChargers: EngineCharger[] = chargers.map((c) => ({
    id: c.id,
    phases: c.phases,
    ...(c.rotation ? { rotation: c.rotation } : {}),
    ...(c.maxCurrentA !== undefined ? { maxCurrentA: c.maxCurrentA } : {}),
    ...(c.priority !== undefined ? { priority: c.priority } : {}),
    connected: true,
    everConnected: true,
    caps,
    stepA: 0.1,
    onOffOnly: false,
    supportsPhaseSwitching: c.supportsPhaseSwitching === true,
  }));
  const eSessions = (k: number): EngineSession[] =>
    active.map((s, i) => ({
      id: s.id,
      chargerId: s.chargerId,
      connectorId: 1,
      kind: 'transaction',
      transactionId: i + 1,
      idTag: 'T',
      startedAt: i,
      measuredCurrentA: i === k ? 1 : (s.measuredCurrentA ?? 10),
    }));
  await engine.run(site, eChargers, eSessions(-1), start); // tells every charger once
  const engineTimes: number[] = [];
  for (let k = 0; k < runs; k++) {
    const t = performance.now();
    await engine.run(site, eChargers, eSessions(k), start + (k + 1) * 120_000);
    engineTimes.push(performance.now() - t);
  }
  const rebalanceMs = median(balanceTimes);
  return {
    engineRunMs: Math.round(median(engineTimes) * 100) / 100,
    engineOverBalance: Math.round((median(engineTimes) / rebalanceMs) * 10) / 10,
    planMs: Math.round(median(planTimes) * 10) / 10,
    planSessions: sessions.length,
    planSlots: 96,
    planShortfallKWh: Math.round(shortfall),
    rebalanceMs: Math.round(median(balanceTimes) * 100) / 100,
    rebalanceSessions: active.length,
    runs,
  };
}

if (process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href) {
  console.log(JSON.stringify(await runSmartBench(), null, 2));
}
