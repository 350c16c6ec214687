// The site ledger: one entry per connector of what Ampere has told the charger and the charger has
// acknowledged. It is the single source for the balancer (what is held), the actuation (what may
// be raised) and the site status, and it carries the site's promise: at every instant the sum of
// what the chargers may draw under what they were told is within the grid limit on every phase,
// after the building load.
//
// What an entry counts against the site (its exposure), per phase of the charger:
//  - a charger that never connected, or lost its connection with no car plugged in: 0 (nothing to
//    draw; a car arriving at an offline charger is the charger's own fallback business);
//  - a charger that lost its connection during a session: the higher of its fallback current
//    (Eaton LoadBalancingFallbackCurrent) and the last limit in force (its maximum when unknown);
//  - an on/off charger: its maximum while its transaction runs (or a start is on the way), else 0;
//  - a free connector (no car): the standing limit in force (TxDefaultProfile, vendor key,
//    ChargePointMaxProfile), 0 when none was ever told;
//  - a connector with a car: the limit in force for its transaction, else its standing limit,
//    else the charger's maximum (it was never told anything);
//  - while a command is on its way: the higher of the old and the new limit; after a timeout the
//    higher one stays (the charger may have applied it or not).
// Pure: no I/O, no clock of its own.

import type { GridPhase } from './types.ts';

export type ConnectorState =
  /** A transaction runs. */
  | 'transaction'
  /** A car is plugged in, no transaction (Preparing, or paused by Ampere). */
  | 'car'
  /** No car. */
  | 'free';

/** The live facts about a connector that the ledger needs, refreshed on every run. */
export interface LedgerFacts {
  connected: boolean;
  /** The charger has connected at least once. */
  everConnected: boolean;
  state: ConnectorState;
  /** A car with no open transaction, but the charger reports power flowing (Charging, SuspendedEV). */
  drawing?: boolean;
  transactionId?: number;
  /** For an offline charger: a session was on when the connection was lost. */
  lostDuringSession?: boolean;
  onOffOnly: boolean;
  /** Charger maximum, A per phase. */
  maxA: number;
  /** The grid phases the charger is wired to (all of them, before any 3→1 switch). */
  gridPhases: readonly GridPhase[];
  fallbackA: number;
}

export type LimitScope = 'tx' | 'standing';

export interface LedgerEntry {
  key: string;
  chargerId: string;
  connectorId: number;
  facts: LedgerFacts;
  /** Acknowledged limit for the running transaction (TxProfile), cleared when it ends. */
  txA?: number;
  /** Acknowledged limit across transactions (TxDefaultProfile, vendor key, ChargePointMaxProfile). */
  standingA?: number;
  /** Grid phases of each acknowledged limit (1 after a 3→1 switch); absent: all of the charger's. */
  txPhases?: GridPhase[];
  standingPhases?: GridPhase[];
  /** An on/off charger switched off by Ampere (RemoteStopTransaction accepted). */
  off?: boolean;
  /**
   * A RemoteStartTransaction was accepted (or went unanswered): the charger is about to start at
   * this limit (its maximum for an on/off charger) although no StartTransaction arrived yet.
   */
  starting?: { a: number; until: number };
  startScope?: LimitScope;
  /** A command on its way. */
  pending?: { a: number; scope: LimitScope; phases: GridPhase[]; on?: boolean };
  /** A command timed out: the higher of the two limits is kept until the next acknowledgement. */
  uncertain?: boolean;
  /** A lowering the charger refused: its current is not handed out until then (epoch ms). */
  heldUntil?: number;
  heldReason?: string;
  /** When Ampere last changed this connector's limit (epoch ms): damps re-balancing. */
  changedAt?: number;
  /** When Ampere last raised it (epoch ms): the car's first samples after a raise are not trusted. */
  raisedAt?: number;
}

export interface LedgerLimits {
  gridLimitA?: number;
  gridLimitKw?: number;
  voltage: number;
  buildingLoadA: readonly [number, number, number];
}

export interface Exposure {
  /** A per phase. */
  a: number;
  phases: readonly GridPhase[];
  /** Why, for the operator: which assumption was made. */
  basis: string;
}

/** The limit in force on a connector as the charger last acknowledged it (undefined: never told). */
export function phasesInForce(e: LedgerEntry): readonly GridPhase[] {
  const tx = e.facts.state === 'transaction' && e.txA !== undefined;
  return (tx ? e.txPhases : e.standingPhases) ?? e.facts.gridPhases;
}

export function unionPhases(a: readonly GridPhase[], b: readonly GridPhase[]): GridPhase[] {
  return [...new Set([...a, ...b])].sort() as GridPhase[];
}

export function inForce(e: LedgerEntry): number | undefined {
  return e.facts.state === 'transaction' ? (e.txA ?? e.standingA) : e.standingA;
}

export function exposure(e: LedgerEntry): Exposure {
  const f = e.facts;
  const all = f.gridPhases;
  if (!f.connected) {
    if (!f.everConnected) return { a: 0, phases: all, basis: 'never connected: nothing counted' };
    if (!f.lostDuringSession) return { a: 0, phases: all, basis: 'offline with no car: nothing counted' };
    const last = f.onOffOnly ? f.maxA : (inForce(e) ?? f.maxA);
    return {
      a: Math.max(f.fallbackA, last),
      phases: all,
      basis: `offline during a session: held at max(fallback ${f.fallbackA} A, last limit ${last} A)`,
    };
  }
  if (f.onOffOnly) {
    // Switched off counts only once the transaction has ended: a RemoteStopTransaction accepted is a
    // promise to stop, the StopTransaction is the fact.
    const on = f.state === 'transaction' || f.drawing === true || e.pending?.on === true || e.starting !== undefined;
    return on
      ? {
          a: f.maxA,
          phases: all,
          basis: e.off
            ? 'on/off charger stopping: its maximum until the transaction ends'
            : 'on/off charger switched on: its maximum',
        }
      : { a: 0, phases: all, basis: f.state === 'free' ? 'on/off charger, no car' : 'on/off charger switched off' };
  }
  let a: number;
  let basis: string;
  let phases: readonly GridPhase[] = all;
  if (f.state === 'free') {
    phases = e.standingPhases ?? all;
    a = e.standingA ?? 0;
    basis = e.standingA === undefined ? 'free, never told: nothing counted' : `free: standing limit ${a} A`;
  } else {
    // A transaction Ampere stopped leaves the car under the standing limit, should it start again.
    const usingTx = f.state === 'transaction' && !e.off && e.txA !== undefined;
    const told = usingTx ? e.txA : e.standingA;
    if (f.drawing) {
      // Charging with no transaction in Ampere's books: whichever limit the charger may still hold.
      a = Math.max(e.txA ?? 0, e.standingA ?? f.maxA);
      basis = `charging with no open transaction: ${a} A (its last transaction or standing limit)`;
    } else if (told === undefined) {
      a = f.maxA;
      basis = 'car present, never told: the charger maximum';
    } else {
      a = told;
      basis = `${usingTx ? 'transaction limit' : 'standing limit'} ${told} A`;
    }
    phases = f.drawing ? all : ((usingTx ? e.txPhases : e.standingPhases) ?? all);
  }
  if (e.starting && e.starting.a > a) {
    a = e.starting.a;
    phases = all;
    basis += `, starting at ${a} A`;
  }
  if (e.pending) {
    if (e.pending.a > a) basis += `, ${e.pending.a} A on its way`;
    a = Math.max(a, e.pending.a);
    phases = unionPhases(phases, e.pending.phases);
  }
  if (e.uncertain) basis += ' (last command unanswered: the higher limit kept)';
  return { a, phases, basis };
}

/** Per-phase load the ledger promises (building load + every exposure), and total power (W). */
export function ledgerLoad(
  entries: Iterable<LedgerEntry>,
  limits: LedgerLimits,
  skip?: string,
): { phaseA: [number, number, number]; powerW: number } {
  const phaseA: [number, number, number] = [limits.buildingLoadA[0], limits.buildingLoadA[1], limits.buildingLoadA[2]];
  let powerW = limits.voltage * (phaseA[0] + phaseA[1] + phaseA[2]);
  for (const e of entries) {
    if (e.key === skip) continue;
    const x = exposure(e);
    for (const p of x.phases) phaseA[p - 1]! += x.a;
    powerW += x.a * x.phases.length * limits.voltage;
  }
  return { phaseA, powerW };
}

export interface Violation {
  phaseA: [number, number, number];
  limitA?: number;
  powerKw: number;
  limitKw?: number;
  over: string;
}

const TOLERANCE = 1e-6;

/** null when the ledger keeps the promise; otherwise the figures. */
export function checkLedger(entries: Iterable<LedgerEntry>, limits: LedgerLimits): Violation | null {
  const { phaseA, powerW } = ledgerLoad(entries, limits);
  const over: string[] = [];
  if (limits.gridLimitA !== undefined)
    phaseA.forEach((a, i) => {
      if (a > limits.gridLimitA! + TOLERANCE) over.push(`L${i + 1} ${round2(a)} A > ${limits.gridLimitA} A`);
    });
  if (limits.gridLimitKw !== undefined && powerW / 1000 > limits.gridLimitKw + TOLERANCE)
    over.push(`${round2(powerW / 1000)} kW > ${limits.gridLimitKw} kW`);
  if (over.length === 0) return null;
  return {
    phaseA: phaseA.map(round2) as [number, number, number],
    ...(limits.gridLimitA !== undefined ? { limitA: limits.gridLimitA } : {}),
    powerKw: round2(powerW / 1000),
    ...(limits.gridLimitKw !== undefined ? { limitKw: limits.gridLimitKw } : {}),
    over: over.join(', '),
  };
}

/**
 * The highest limit (A per phase) `entry` may be raised to on `phases` while every other entry
 * keeps its exposure: the room left on its phases and under the kW limit. Infinity without limits.
 */
export function headroom(
  entries: Iterable<LedgerEntry>,
  limits: LedgerLimits,
  entry: LedgerEntry,
  phases: readonly GridPhase[],
): number {
  const { phaseA, powerW } = ledgerLoad(entries, limits, entry.key);
  let room = Number.POSITIVE_INFINITY;
  if (limits.gridLimitA !== undefined)
    for (const p of phases) room = Math.min(room, limits.gridLimitA - phaseA[p - 1]!);
  if (limits.gridLimitKw !== undefined)
    room = Math.min(room, (limits.gridLimitKw * 1000 - powerW) / (limits.voltage * phases.length));
  return room;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/**
 * What an entry knows the charger was told, in a form kept in the database, so that a restart or a
 * new smart-charging leader (another node) starts from it and never from zero: a raise on its way
 * when the previous leader stopped counts as possibly applied (the higher limit is kept).
 */
export interface KeptEntry {
  chargerId: string;
  connectorId: number;
  transactionId?: number;
  state?: ConnectorState;
  txA?: number;
  standingA?: number;
  txPhases?: GridPhase[];
  standingPhases?: GridPhase[];
  off?: boolean;
  uncertain?: boolean;
  starting?: { a: number; until: number };
  startScope?: LimitScope;
}

/** `startUntil`: until when a start on its way is counted, should it have been applied (epoch ms). */
export function keepEntry(e: LedgerEntry, startUntil: number): KeptEntry {
  const k: KeptEntry = { chargerId: e.chargerId, connectorId: e.connectorId };
  if (e.facts?.transactionId !== undefined) k.transactionId = e.facts.transactionId;
  if (e.facts?.state !== undefined) k.state = e.facts.state;
  let { txA, standingA, txPhases, standingPhases } = e;
  let uncertain = e.uncertain;
  const p = e.pending;
  if (p) {
    uncertain = true;
    if (p.scope === 'tx') {
      const old = txA ?? standingA;
      if (old !== undefined) {
        txA = Math.max(old, p.a);
        txPhases = unionPhases(txPhases ?? standingPhases ?? e.facts.gridPhases, p.phases);
      }
    } else if (standingA !== undefined || e.facts?.state === 'free') {
      // Never told and a car present stays unknown (counted at the charger maximum).
      standingA = Math.max(standingA ?? 0, p.a);
      standingPhases = unionPhases(standingPhases ?? p.phases, p.phases);
    }
  }
  if (txA !== undefined) k.txA = txA;
  if (standingA !== undefined) k.standingA = standingA;
  if (txPhases) k.txPhases = [...txPhases];
  if (standingPhases) k.standingPhases = [...standingPhases];
  if (e.off) k.off = true;
  if (uncertain) k.uncertain = true;
  const starting = p?.on ? { a: Math.max(p.a, e.starting?.a ?? 0), until: startUntil } : e.starting;
  if (starting) k.starting = { ...starting };
  if (e.startScope) k.startScope = e.startScope;
  return k;
}

/** A ledger entry from what was kept; its facts are placeholders until the first refresh. */
export function restoreEntry(k: KeptEntry): LedgerEntry {
  const e: LedgerEntry = {
    key: `${k.chargerId}/${k.connectorId}`,
    chargerId: k.chargerId,
    connectorId: k.connectorId,
    facts: {
      connected: false,
      everConnected: true,
      state: k.state ?? 'free',
      ...(k.transactionId !== undefined ? { transactionId: k.transactionId } : {}),
      lostDuringSession: true,
      onOffOnly: false,
      maxA: 0,
      gridPhases: [1, 2, 3],
      fallbackA: 0,
    },
  };
  if (k.txA !== undefined) e.txA = k.txA;
  if (k.standingA !== undefined) e.standingA = k.standingA;
  if (k.txPhases) e.txPhases = [...k.txPhases];
  if (k.standingPhases) e.standingPhases = [...k.standingPhases];
  if (k.off) e.off = true;
  if (k.uncertain) e.uncertain = true;
  if (k.starting) e.starting = { ...k.starting };
  if (k.startScope) e.startScope = k.startScope;
  return e;
}
