// Site load balancing: split a grid connection among the sessions charging behind it, without
// ever commanding more than any phase (or the kW limit) allows. Pure: the state of the site goes
// in, a limit per session comes out; the central system re-runs it on every event (start, stop,
// status change, meter values, charger disconnect) and actuates the differences.
//
// The three algorithms take their names from Eaton Green Motion's LoadBalancingAlgo key; Eaton
// names them without defining them, so these are Ampere's definitions:
//
//  - UNIFORM: everyone admitted gets the same current (max-min fair: what a session cannot take
//    because of its own maximum is shared among the rest). Priorities do not weigh the share and the
//    measured draw is ignored. When the minimums of all sessions do not fit, UNIFORM still pauses
//    the lowest-priority sessions instead of giving everybody less than the minimum: an offer below
//    the minimum (6 A, IEC 61851-1) is not a valid PWM signal, chargers clamp it up to 6 A or stop,
//    and a clamped-up offer would break the grid limit. So "UNIFORM never pauses" holds exactly as
//    long as the equal share is at least the minimum; below that it pauses as few as it must.
//  - OPTIMIZED: every session that fits at its minimum is admitted (highest priority first); the
//    rest of the current goes to the highest priority class first (fair within a class), and a car
//    drawing well below its offer (measured ≤ 80 % of it and at least 2 A less) is held at its draw
//    + 2 A, so what it leaves goes to others. The loop corrects itself: a car that draws up to its
//    reduced offer (within 1 A) is no longer "well below" and gets its full share at the next run;
//    one that draws a little less than its offer keeps that offer (no raise it would not use).
//  - SUSPENDABLE (Eaton's default): strict priority. A priority class is filled up to its maxima
//    before the next class is admitted at all; a lower-priority session runs only on what is left,
//    and is suspended (paused) when its minimum does not fit there.
//
// Common to all three:
//  - Order: priority (higher first), then earlier start, then id. Admission follows it, so the
//    lowest priority is paused first, and a paused session never sees a later one charging on
//    current it could have used.
//  - A paused session gets 0 A (EVSE keeps the car connected, no current).
//  - A charger that lost its connection to the central system cannot be commanded: it is counted
//    at its fallback current (Eaton LoadBalancingFallbackCurrent: held for 30 s, then zero; we
//    assume it holds) on each of its phases, whether a car is plugged in or not.
//  - Phase switching: a 3-phase session whose minimum does not fit on three phases runs on one
//    phase when its charger supports switching (go-e numberPhases = 1; §9.4
//    ConnectorSwitch3to1PhaseSupported).
//  - Limits are rounded down to 0.1 A (the one decimal of §7.14), never up.

import type { GridPhase } from './types.ts';
import { DEFAULT_VOLTAGE, floorLimit } from './units.ts';

export type BalancingAlgorithm = 'UNIFORM' | 'OPTIMIZED' | 'SUSPENDABLE';
/** ConnectorPhaseRotation values of OCPP 1.6 §9.1.9 (the charger's L1 L2 L3 on grid R S T). */
export type PhaseRotation = 'RST' | 'RTS' | 'SRT' | 'STR' | 'TRS' | 'TSR';

export const DEFAULT_MIN_CURRENT_A = 6;
export const DEFAULT_FALLBACK_CURRENT_A = 6;
/** A charger that does not state its maximum is taken as a 32 A (22 kW) Mode 3 charger. */
export const DEFAULT_CHARGER_MAX_A = 32;

export interface Site {
  /** Grid connection limit, A per phase. */
  gridLimitA?: number;
  /** Grid connection limit as total active power, kW (both may be given; both then hold). */
  gridLimitKw?: number;
  voltage?: number;
  /** Live building load per phase, A (L1, L2, L3), subtracted from the limit. */
  buildingLoadA?: readonly [number, number, number];
  algorithm?: BalancingAlgorithm;
  /** Current a charger holds without the central system (Eaton LoadBalancingFallbackCurrent). */
  fallbackCurrentA?: number;
  /** Minimum current of a session when it does not say (IEC 61851-1: 6 A). */
  minCurrentA?: number;
  /** Allow 3→1 phase switching where the charger supports it. Default true. */
  phaseSwitching?: boolean;
  /**
   * Current per phase (A) already held by chargers that are not balanced in this run (offline, or a
   * lowering they refused): counted like building load, so nobody is raised over it.
   */
  reservedA?: readonly [number, number, number];
}

export interface BalancerCharger {
  id: string;
  phases: 1 | 3;
  /** The grid phase of each charger phase, charger L1 first. Overrides `rotation`. */
  phaseMapping?: readonly GridPhase[];
  rotation?: PhaseRotation;
  /** Charger (or cable) maximum, A per phase. */
  maxCurrentA?: number;
  priority?: number;
  /** false when the charger's connection to the central system is lost. Default true. */
  connected?: boolean;
  fallbackCurrentA?: number;
  supportsPhaseSwitching?: boolean;
  /**
   * The charger can only be switched on or off (no profile, no current key: actuation.ts
   * balancerHints). It then runs at its maximum or not at all, so its minimum is its maximum.
   */
  onOffOnly?: boolean;
  /**
   * Granularity of the limits the charger takes (A): 0.1 for charging profiles (§7.14), 1 for vendor
   * current keys and chargers that only take whole amperes. Allocations are rounded down to it.
   */
  stepA?: number;
}

export interface BalancerSession {
  id: string;
  chargerId: string;
  /** Overrides the charger's priority. */
  priority?: number;
  minCurrentA?: number;
  /** The car's maximum, A per phase. */
  maxCurrentA?: number;
  /** Phases the car draws on, when known (a 1-phase car on a 3-phase charger loads L1 only). */
  evPhases?: 1 | 2 | 3;
  /** Highest measured current of the session's phases (MeterValues Current.Import). */
  measuredCurrentA?: number;
  /** The limit last commanded. */
  offeredCurrentA?: number;
  /** Epoch ms; earlier sessions come first at equal priority. */
  startedAt?: number;
  /**
   * A free connector's standing limit (what a car that plugs in may draw before it is balanced):
   * minimum 0, given only what is left after every real session, whatever the algorithm.
   */
  standing?: boolean;
}

export type AllocationState = 'charging' | 'paused' | 'fallback';

export interface Allocation {
  sessionId: string;
  chargerId: string;
  /** A per phase; 0 when paused. */
  currentA: number;
  /** Phases to use (1 after a 3→1 switch). */
  phases: number;
  gridPhases: GridPhase[];
  state: AllocationState;
  reason?: string;
}

export interface BalanceResult {
  allocations: Allocation[];
  /** Expected current per grid phase: building + fallback reserves + allocations. */
  phaseLoadA: [number, number, number];
  /** What the sessions could use per phase after building load and reserves (may be negative). */
  availableA: [number, number, number];
  /** Total active power expected, kW. */
  powerKw: number;
}

const ROTATIONS: Record<PhaseRotation, GridPhase[]> = {
  RST: [1, 2, 3],
  RTS: [1, 3, 2],
  SRT: [2, 1, 3],
  STR: [2, 3, 1],
  TRS: [3, 1, 2],
  TSR: [3, 2, 1],
};

/** The grid phases a charger's phases land on. */
export function chargerGridPhases(c: BalancerCharger): GridPhase[] {
  const map = c.phaseMapping ?? ROTATIONS[c.rotation ?? 'RST'];
  return map.slice(0, c.phases);
}

const ceil01 = (x: number) => Math.ceil(x * 10 - 1e-6) / 10;
/** Rounds up / down to a multiple of `step` (0.1 or 1 A), tolerant of binary fractions. */
export const ceilStep = (x: number, step: number) => Math.round(Math.ceil(x / step - 1e-6) * step * 10) / 10;
export const floorStep = (x: number, step: number) => Math.round(Math.floor(x / step + 1e-6) * step * 10) / 10;
const EPS = 1e-7;

interface Item {
  s: BalancerSession;
  charger: BalancerCharger;
  priority: number;
  min: number;
  max: number;
  phases3: GridPhase[];
  phases1: GridPhase[] | undefined;
  grid: GridPhase[];
  x: number;
  admitted: boolean;
  reason?: string;
}

/**
 * Linear constraints over the session currents: one per phase (coefficient 1 on the phases a
 * session uses) and one for the kW limit (coefficient voltage × phases).
 */
class Constraints {
  readonly slack: number[];
  readonly hasPower: boolean;
  constructor(
    phaseCaps: [number, number, number],
    powerCapW: number,
    readonly voltage: number,
  ) {
    this.slack = [...phaseCaps, powerCapW];
    this.hasPower = Number.isFinite(powerCapW);
  }
  coef(c: number, grid: readonly GridPhase[]): number {
    if (c < 3) return grid.includes((c + 1) as GridPhase) ? 1 : 0;
    return this.hasPower ? this.voltage * grid.length : 0;
  }
  fits(grid: readonly GridPhase[], amount: number): boolean {
    for (let c = 0; c < 4; c++) {
      const k = this.coef(c, grid);
      if (k > 0 && k * amount > this.slack[c]! + EPS * Math.max(1, k)) return false;
    }
    return true;
  }
  take(grid: readonly GridPhase[], amount: number): void {
    for (let c = 0; c < 4; c++) this.slack[c]! -= this.coef(c, grid) * amount;
  }
}

/** Admits a session at its minimum if it fits, on 3 phases or after a switch to 1. */
function admit(it: Item, cons: Constraints): boolean {
  if (it.max < it.min) {
    it.reason = 'maximum below minimum';
    return false;
  }
  for (const grid of it.phases1 ? [it.phases3, it.phases1] : [it.phases3]) {
    if (cons.fits(grid, it.min)) {
      it.grid = grid;
      it.x = it.min;
      it.admitted = true;
      cons.take(grid, it.min);
      return true;
    }
  }
  it.reason = 'minimum does not fit';
  return false;
}

/**
 * Progressive filling (max-min fairness over several shared resources): raise the level λ of all
 * unfrozen sessions together, each at max(its current, λ) capped at its maximum, until a
 * constraint is tight; freeze the sessions on tight constraints and go on with the others.
 */
function fill(items: Item[], cons: Constraints): void {
  let active = items.filter((i) => i.admitted && i.x < i.max - EPS);
  for (let round = 0; round < 8 && active.length > 0; round++) {
    const coefs = active.map((i) => [0, 1, 2, 3].map((c) => cons.coef(c, i.grid)));
    const demand = (lambda: number) => {
      const d = [0, 0, 0, 0];
      for (let k = 0; k < active.length; k++) {
        const i = active[k]!;
        const inc = Math.min(i.max, Math.max(i.x, lambda)) - i.x;
        if (inc <= 0) continue;
        const co = coefs[k]!;
        for (let c = 0; c < 4; c++) d[c]! += co[c]! * inc;
      }
      return d;
    };
    const feasible = (lambda: number) => {
      const d = demand(lambda);
      for (let c = 0; c < 4; c++) if (d[c]! > cons.slack[c]! + EPS) return false;
      return true;
    };
    let lo = Math.min(...active.map((i) => i.x));
    let hi = Math.max(...active.map((i) => i.max));
    if (feasible(hi)) lo = hi;
    else {
      for (let k = 0; k < 60 && hi - lo > 1e-9; k++) {
        const mid = (lo + hi) / 2;
        if (feasible(mid)) lo = mid;
        else hi = mid;
      }
    }
    const d = demand(lo);
    for (let c = 0; c < 4; c++) cons.slack[c]! -= d[c]!;
    for (const i of active) i.x = Math.min(i.max, Math.max(i.x, lo));
    const tight = [0, 1, 2, 3].filter((c) => cons.slack[c]! <= 1e-6 * (c === 3 ? cons.voltage : 1));
    const before = active.length;
    active = active.filter((i) => i.x < i.max - EPS && !tight.some((c) => cons.coef(c, i.grid) > 0));
    if (active.length === before) break;
  }
}

function byPriority(items: Item[]): Item[][] {
  const classes: Item[][] = [];
  for (const it of items) {
    const last = classes[classes.length - 1];
    if (last && last[0]!.priority === it.priority) last.push(it);
    else classes.push([it]);
  }
  return classes;
}

export function balance(
  site: Site,
  chargers: readonly BalancerCharger[],
  sessions: readonly BalancerSession[],
): BalanceResult {
  const algorithm = site.algorithm ?? 'SUSPENDABLE';
  const voltage = site.voltage ?? DEFAULT_VOLTAGE;
  const building = site.buildingLoadA ?? [0, 0, 0];
  const chargerById = new Map(chargers.map((c) => [c.id, c]));
  const held = site.reservedA ?? [0, 0, 0];
  const reserved: [number, number, number] = [held[0], held[1], held[2]];
  const allocations: Allocation[] = [];

  // Disconnected chargers first: what they hold is not ours to share.
  const sessionsByCharger = new Map<string, BalancerSession[]>();
  for (const s of sessions) {
    const list = sessionsByCharger.get(s.chargerId) ?? [];
    list.push(s);
    sessionsByCharger.set(s.chargerId, list);
  }
  for (const c of chargers) {
    if (c.connected !== false) continue;
    const fallback = c.fallbackCurrentA ?? site.fallbackCurrentA ?? DEFAULT_FALLBACK_CURRENT_A;
    const mine = sessionsByCharger.get(c.id) ?? [];
    const grid = chargerGridPhases(c);
    for (const p of grid) reserved[p - 1]! += fallback * Math.max(1, mine.length);
    for (const s of mine)
      allocations.push({
        sessionId: s.id,
        chargerId: c.id,
        currentA: fallback,
        phases: grid.length,
        gridPhases: grid,
        state: 'fallback',
        reason: 'charger disconnected: held at its fallback current',
      });
  }

  const limitA = site.gridLimitA ?? Number.POSITIVE_INFINITY;
  const available: [number, number, number] = [0, 1, 2].map((p) => limitA - building[p]! - reserved[p]!) as [
    number,
    number,
    number,
  ];
  const powerCapW =
    site.gridLimitKw === undefined
      ? Number.POSITIVE_INFINITY
      : site.gridLimitKw * 1000 -
        voltage * (building[0] + building[1] + building[2] + reserved[0] + reserved[1] + reserved[2]);
  const cons = new Constraints(available, powerCapW, voltage);

  const items: Item[] = [];
  for (const s of sessions) {
    const charger = chargerById.get(s.chargerId);
    if (charger === undefined) {
      allocations.push({
        sessionId: s.id,
        chargerId: s.chargerId,
        currentA: 0,
        phases: 0,
        gridPhases: [],
        state: 'paused',
        reason: 'unknown charger',
      });
      continue;
    }
    if (charger.connected === false) continue;
    const all = chargerGridPhases(charger);
    const phases3 = all.slice(0, Math.min(all.length, s.evPhases ?? 3));
    const switchable =
      (site.phaseSwitching ?? true) &&
      charger.supportsPhaseSwitching === true &&
      charger.onOffOnly !== true &&
      phases3.length > 1;
    const step = charger.stepA ?? 0.1;
    const minWanted = s.standing
      ? 0
      : ceilStep(ceil01(s.minCurrentA ?? site.minCurrentA ?? DEFAULT_MIN_CURRENT_A), step);
    let max = floorStep(
      floorLimit(Math.min(s.maxCurrentA ?? Number.POSITIVE_INFINITY, charger.maxCurrentA ?? DEFAULT_CHARGER_MAX_A)),
      step,
    );
    // An on/off charger runs at its own maximum or not at all: reserve all of it, or pause. A cap
    // below that maximum (a plan, a car) cannot be followed, so it pauses.
    let min = minWanted;
    if (charger.onOffOnly && !s.standing) {
      const hw = floorStep(floorLimit(charger.maxCurrentA ?? DEFAULT_CHARGER_MAX_A), step);
      min = Math.max(hw, minWanted);
      max = (s.maxCurrentA ?? hw) < hw ? Math.min(max, hw - step) : hw;
    }
    if (algorithm === 'OPTIMIZED' && s.measuredCurrentA !== undefined && s.offeredCurrentA !== undefined) {
      const underuse = s.measuredCurrentA <= 0.8 * s.offeredCurrentA && s.offeredCurrentA - s.measuredCurrentA >= 2;
      if (underuse) max = Math.min(max, Math.max(min, ceilStep(s.measuredCurrentA + 2, step)));
      // Hysteresis: a car that does not take all it is offered has nothing to gain from more, so it
      // is not raised (raised, it would look under-used again at the next sample: an oscillation).
      else if (s.measuredCurrentA < s.offeredCurrentA - 1) max = Math.min(max, Math.max(min, s.offeredCurrentA));
    }
    items.push({
      s,
      charger,
      priority: s.priority ?? charger.priority ?? 0,
      min,
      max,
      phases3,
      phases1: switchable ? phases3.slice(0, 1) : undefined,
      grid: phases3,
      x: 0,
      admitted: false,
    });
  }
  items.sort(
    (a, b) =>
      b.priority - a.priority ||
      (a.s.startedAt ?? 0) - (b.s.startedAt ?? 0) ||
      (a.s.id < b.s.id ? -1 : a.s.id > b.s.id ? 1 : 0),
  );

  // Standing limits of free connectors come after every session, whatever the algorithm.
  const standing = items.filter((it) => it.s.standing);
  const real = items.filter((it) => !it.s.standing);
  if (algorithm === 'SUSPENDABLE') {
    for (const cls of byPriority(real)) {
      for (const it of cls) admit(it, cons);
      fill(cls, cons);
      for (const it of cls)
        if (!it.admitted && it.reason === 'minimum does not fit')
          it.reason = 'suspended: higher priority sessions use the current';
    }
  } else {
    for (const it of real) admit(it, cons);
    if (algorithm === 'UNIFORM') fill(real, cons);
    else for (const cls of byPriority(real)) fill(cls, cons);
  }
  // Rounded down to what each charger takes: the rounded values are what must fit. What rounding
  // frees may admit a session that did not fit before.
  const round = (group: Item[]) => {
    for (const it of group) {
      if (!it.admitted) continue;
      const r = Math.max(it.min, floorStep(floorLimit(it.x), it.charger.stepA ?? 0.1));
      cons.take(it.grid, r - it.x);
      it.x = r;
    }
  };
  round(real);
  for (const it of real) {
    if (it.admitted || it.reason === 'maximum below minimum') continue;
    const reason = it.reason;
    if (!admit(it, cons)) it.reason = reason;
  }
  for (const it of standing) admit(it, cons);
  fill(standing, cons);
  round(standing);

  for (const it of items) {
    const currentA = it.admitted ? it.x : 0;
    allocations.push({
      sessionId: it.s.id,
      chargerId: it.charger.id,
      currentA,
      phases: it.admitted ? it.grid.length : it.phases3.length,
      gridPhases: it.admitted ? it.grid : it.phases3,
      state: it.admitted ? 'charging' : 'paused',
      ...(it.reason !== undefined && !it.admitted ? { reason: it.reason } : {}),
    });
  }

  const phaseLoadA: [number, number, number] = [building[0], building[1], building[2]];
  let power = 0;
  for (const a of allocations) {
    for (const p of a.gridPhases) phaseLoadA[p - 1]! += a.currentA;
    power += a.currentA * a.gridPhases.length * voltage;
  }
  for (const p of [0, 1, 2]) {
    // fallback reserves of idle disconnected chargers are loads too
    const fromSessions = allocations
      .filter((a) => a.state === 'fallback' && a.gridPhases.includes((p + 1) as GridPhase))
      .reduce((acc, a) => acc + a.currentA, 0);
    phaseLoadA[p]! += reserved[p]! - fromSessions;
    power += (reserved[p]! - fromSessions) * voltage;
  }
  power += voltage * (building[0] + building[1] + building[2]);
  return { allocations, phaseLoadA, availableA: available, powerKw: power / 1000 };
}
