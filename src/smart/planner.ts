// Price / CO2 planner: for each session, how much to charge in each slot so that its energy is
// delivered by its departure, at the lowest cost (or CO2, or a weighted mix), never above the site
// limit of a slot (shared by all sessions) nor a car's maximum power.
//
// Sessions without a plan (no departure, or "fast charge") charge at once: they take what they
// can, slot by slot from their arrival, before any planned session is placed. Planned sessions
// then share what is left.
//
// Method, and why it is optimal. The planned part is a transportation problem: sessions supply
// energy (at most what they want), slots absorb it (at most the site limit), a session reaches a
// slot through an edge of capacity maxPower × (hours of the slot inside its stay), and the cost
// of a kWh depends on the slot only.
//  - One session: minimise Σ c_t e_t subject to Σ e_t = E, 0 ≤ e_t ≤ u_t. If some cheaper slot t
//    had room (e_t < u_t) while a dearer slot s were used (e_s > 0), moving ε from s to t would
//    lower the cost; so an optimum fills slots in increasing cost, each to its capacity, until E is
//    met. That is exactly what the loop below does for one session (no rerouting path can exist
//    with one session), so the single-session plan is optimal (and delivers E when Σ u_t ≥ E).
//  - Several sessions: the vectors of slot loads that some feasible assignment produces form a
//    polymatroid (loads induced through a bipartite network, Rado/McDiarmid), and for a weight
//    that depends on the slot only, the greedy algorithm on a polymatroid is optimal (Edmonds
//    1970): take slots from cheapest to dearest and load each as much as the assignment allows
//    without unloading a slot already taken. "As much as allows" is a max-flow into that slot in
//    the residual network: energy may be moved between sessions in earlier slots (an augmenting
//    path session → slot → session → … → this slot leaves every earlier slot's load unchanged).
//    Greedy on a polymatroid also maximises the total, so the plan delivers as much energy as any
//    plan can, and among those it is the cheapest. Ties in cost go to the earlier slot.
// The tests check both claims against brute force on small cases.

import { toMs } from './time.ts';
import { DEFAULT_VOLTAGE, floorLimit } from './units.ts';

export type Objective = 'cheapest' | 'greenest' | { price: number; co2: number };

export interface PlanSlots {
  /** Start of the first slot. */
  start: Date | number;
  /** Slot length: 15 or 60 (any positive number works). */
  slotMinutes: number;
  /** Price per kWh of each slot; its length is the number of slots. */
  price: readonly number[];
  /** g CO2 per kWh of each slot (same length); zeros when absent. */
  co2?: readonly number[];
  /** Site limit for charging, kW: one number, or one per slot. */
  siteLimitKw: number | readonly number[];
}

export interface PlanSession {
  id: string;
  /** Default: the start of the first slot (the car is here now). */
  arrival?: Date | number;
  /** Absent: the session has no plan and charges at once, to the end of the horizon. */
  departure?: Date | number;
  /** Energy wanted, kWh; absent for an immediate session means "as much as it can take". */
  energyKWh?: number;
  maxPowerKw: number;
  phases?: number;
  voltage?: number;
  /** false = "fast charge": charge at once even with a departure. */
  planned?: boolean;
}

export interface SlotPlan {
  start: number;
  energyKWh: number;
  /** Average power over the whole slot. */
  powerKw: number;
  /** powerKw as a current per phase, rounded down to 0.1 A. */
  currentA: number;
}

export interface SessionPlan {
  sessionId: string;
  mode: 'planned' | 'immediate';
  /** One entry per slot of the horizon (zeros included), for direct use as a schedule. */
  slots: SlotPlan[];
  deliveredKWh: number;
  /** Energy wanted that cannot be delivered by the departure (0 when it can). */
  shortfallKWh: number;
  cost: number;
  co2g: number;
}

export interface Plan {
  sessions: SessionPlan[];
  /** Planned site load per slot, kW. */
  siteLoadKw: number[];
  cost: number;
  co2g: number;
  shortfallKWh: number;
}

const EPS = 1e-9;

function weights(objective: Objective): { price: number; co2: number; tiePrice: number; tieCo2: number } {
  if (objective === 'cheapest') return { price: 1, co2: 0, tiePrice: 0, tieCo2: 1 };
  if (objective === 'greenest') return { price: 0, co2: 1, tiePrice: 1, tieCo2: 0 };
  return { price: objective.price, co2: objective.co2, tiePrice: 0, tieCo2: 0 };
}

export function planCharging(
  slots: PlanSlots,
  sessions: readonly PlanSession[],
  objective: Objective = 'cheapest',
): Plan {
  const n = slots.price.length;
  const t0 = toMs(slots.start);
  const slotMs = slots.slotMinutes * 60_000;
  const slotH = slots.slotMinutes / 60;
  const co2 = slots.co2 ?? new Array<number>(n).fill(0);
  const capKWh = Array.from({ length: n }, (_, t) => {
    const kw = typeof slots.siteLimitKw === 'number' ? slots.siteLimitKw : (slots.siteLimitKw[t] ?? 0);
    return Math.max(0, kw) * slotH;
  });
  const w = weights(objective);
  const cost = (t: number) => w.price * slots.price[t]! + w.co2 * co2[t]!;
  const tie = (t: number) => w.tiePrice * slots.price[t]! + w.tieCo2 * co2[t]!;

  // Edge capacities: what a session can take in a slot, from the part of the slot it is present.
  const m = sessions.length;
  const first = new Int32Array(m);
  const last = new Int32Array(m); // exclusive
  const edgeCap: Float64Array[] = [];
  const want = new Float64Array(m);
  const immediate: boolean[] = [];
  for (let i = 0; i < m; i++) {
    const s = sessions[i]!;
    const arr = s.arrival === undefined ? t0 : toMs(s.arrival);
    const dep = s.departure === undefined ? t0 + n * slotMs : toMs(s.departure);
    immediate.push(s.planned === false || s.departure === undefined);
    want[i] = s.energyKWh ?? (immediate[i] ? Number.POSITIVE_INFINITY : 0);
    const caps = new Float64Array(n);
    let lo = n;
    let hi = 0;
    for (let t = 0; t < n; t++) {
      const a = Math.max(arr, t0 + t * slotMs);
      const b = Math.min(dep, t0 + (t + 1) * slotMs);
      if (b <= a) continue;
      caps[t] = (Math.max(0, s.maxPowerKw) * (b - a)) / 3_600_000;
      lo = Math.min(lo, t);
      hi = t + 1;
    }
    first[i] = lo;
    last[i] = Math.max(lo, hi);
    edgeCap.push(caps);
  }
  const flow = Array.from({ length: m }, () => new Float64Array(n));
  const rest = Float64Array.from(want);
  const room = Float64Array.from(capKWh);

  // 1. Immediate sessions: as early as possible, in order of arrival (then as given).
  const imm = [...Array(m).keys()].filter((i) => immediate[i]).sort((a, b) => first[a]! - first[b]! || a - b);
  for (const i of imm) {
    for (let t = first[i]!; t < last[i]! && rest[i]! > EPS; t++) {
      const e = Math.min(rest[i]!, edgeCap[i]![t]!, room[t]!);
      if (e <= EPS) continue;
      flow[i]![t]! += e;
      rest[i]! -= e;
      room[t]! -= e;
    }
  }

  // 2. Planned sessions: polymatroid greedy over slots, cheapest first.
  const planned = [...Array(m).keys()].filter((i) => !immediate[i] && rest[i]! > EPS);
  // Earliest departure first in the direct pass: it only speeds things up (fewer reroutes).
  planned.sort((a, b) => last[a]! - last[b]! || cmp(sessions[a]!.id, sessions[b]!.id));
  const bySlot: number[][] = Array.from({ length: n }, () => []);
  for (const i of planned) for (let t = first[i]!; t < last[i]!; t++) if (edgeCap[i]![t]! > EPS) bySlot[t]!.push(i);
  const order = [...Array(n).keys()].sort((a, b) => cost(a) - cost(b) || tie(a) - tie(b) || a - b);
  let remaining = planned.reduce((acc, i) => acc + rest[i]!, 0);
  const prevSlot = new Int32Array(m);
  const prevSess = new Int32Array(n);
  const seenS = new Uint8Array(m);
  const seenT = new Uint8Array(n);

  for (const t of order) {
    if (remaining <= EPS) break;
    // direct
    for (const i of bySlot[t]!) {
      if (room[t]! <= EPS) break;
      const e = Math.min(rest[i]!, edgeCap[i]![t]! - flow[i]![t]!, room[t]!);
      if (e <= EPS) continue;
      flow[i]![t]! += e;
      rest[i]! -= e;
      room[t]! -= e;
      remaining -= e;
    }
    // augmenting paths, searched backwards from slot t (BFS: shortest paths, finite termination)
    while (room[t]! > EPS && remaining > EPS) {
      seenS.fill(0);
      seenT.fill(0);
      seenT[t] = 1;
      const queue: number[] = [];
      for (const z of bySlot[t]!) {
        if (edgeCap[z]![t]! - flow[z]![t]! > EPS) {
          seenS[z] = 1;
          prevSlot[z] = t;
          queue.push(z);
        }
      }
      let source = -1;
      for (let q = 0; q < queue.length && source < 0; q++) {
        const z = queue[q]!;
        if (rest[z]! > EPS) {
          source = z;
          break;
        }
        // z can give up energy in a slot s it uses, if another session a can take it there
        for (let s = first[z]!; s < last[z]! && source < 0; s++) {
          if (seenT[s] || flow[z]![s]! <= EPS) continue;
          seenT[s] = 1;
          prevSess[s] = z;
          for (const a of bySlot[s]!) {
            if (seenS[a] || edgeCap[a]![s]! - flow[a]![s]! <= EPS) continue;
            seenS[a] = 1;
            prevSlot[a] = s;
            queue.push(a);
          }
        }
      }
      if (source < 0) break;
      // bottleneck along the path a → s → z → … → t
      let delta = Math.min(rest[source]!, room[t]!);
      for (let a = source; ; ) {
        const s = prevSlot[a]!;
        delta = Math.min(delta, edgeCap[a]![s]! - flow[a]![s]!);
        if (s === t) break;
        const z = prevSess[s]!;
        delta = Math.min(delta, flow[z]![s]!);
        a = z;
      }
      if (delta <= EPS) break;
      for (let a = source; ; ) {
        const s = prevSlot[a]!;
        flow[a]![s]! += delta;
        if (s === t) break;
        const z = prevSess[s]!;
        flow[z]![s]! -= delta;
        a = z;
      }
      rest[source]! -= delta;
      room[t]! -= delta;
      remaining -= delta;
    }
  }

  // 3. Report.
  const siteLoadKw = new Array<number>(n).fill(0);
  const out: SessionPlan[] = [];
  let totalCost = 0;
  let totalCo2 = 0;
  let shortfall = 0;
  for (let i = 0; i < m; i++) {
    const s = sessions[i]!;
    const volts = (s.voltage ?? DEFAULT_VOLTAGE) * (s.phases ?? 3);
    let delivered = 0;
    let c = 0;
    let g = 0;
    const plan: SlotPlan[] = [];
    for (let t = 0; t < n; t++) {
      const e = flow[i]![t]! > EPS ? flow[i]![t]! : 0;
      delivered += e;
      c += e * slots.price[t]!;
      g += e * co2[t]!;
      siteLoadKw[t]! += e / slotH;
      const powerKw = e / slotH;
      plan.push({ start: t0 + t * slotMs, energyKWh: e, powerKw, currentA: floorLimit((powerKw * 1000) / volts) });
    }
    const wanted = want[i]!;
    const short = Number.isFinite(wanted) ? Math.max(0, wanted - delivered) : 0;
    const sf = short > 1e-6 ? short : 0;
    shortfall += sf;
    totalCost += c;
    totalCo2 += g;
    out.push({
      sessionId: s.id,
      mode: immediate[i] ? 'immediate' : 'planned',
      slots: plan,
      deliveredKWh: delivered,
      shortfallKWh: sf,
      cost: c,
      co2g: g,
    });
  }
  return { sessions: out, siteLoadKw, cost: totalCost, co2g: totalCo2, shortfallKWh: shortfall };
}

function cmp(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
