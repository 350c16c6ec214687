// One balancing run of a site, kept honest by the ledger (ledger.ts): balance what can be moved,
// lower first and wait for each answer, then raise only into room the ledger shows. The I/O (OCPP
// calls, capability lookups, events) comes in through a port, so the whole loop runs in tests
// against in-memory chargers and a fake clock.
//
// The rules (issue "site limit as a hard invariant"):
//  - a deadband may skip a raise, never a decrease;
//  - a lowering the charger refuses (Rejected, NotSupported, NotImplemented) is retried with its
//    next mechanism; if all fail, or it goes unanswered, the connector keeps counting at its old
//    limit and is held out of balancing for a while, so the current it did not free is not handed out;
//  - a raise is cut to the room the ledger shows at the moment it is sent, with every other
//    connector counted at its exposure, commands on their way included;
//  - after every run the ledger is checked; a breach is reported with its figures.

import { type Capabilities, type LimitRequest, type OcppCommand, planActuation } from './actuation.ts';
import {
  type Allocation,
  type BalanceResult,
  type BalancerCharger,
  type BalancerSession,
  balance,
  chargerGridPhases,
  DEFAULT_CHARGER_MAX_A,
  DEFAULT_FALLBACK_CURRENT_A,
  floorStep,
  type PhaseRotation,
  type Site,
} from './balancer.ts';
import {
  type ConnectorState,
  checkLedger,
  exposure,
  headroom,
  inForce,
  type KeptEntry,
  keepEntry,
  type LedgerEntry,
  type LedgerLimits,
  type LimitScope,
  phasesInForce,
  restoreEntry,
  unionPhases,
  type Violation,
} from './ledger.ts';
import type { GridPhase } from './types.ts';
import { DEFAULT_VOLTAGE } from './units.ts';

export type SessionKind = 'transaction' | 'paused' | 'prospective' | 'idle';

/** A connector as the central system sees it, one per run. */
export interface EngineSession {
  id: string;
  chargerId: string;
  connectorId: number;
  kind: SessionKind;
  transactionId?: number;
  idTag?: string;
  startedAt: number;
  /** Cap from the planner for this slot (A). */
  maxCurrentA?: number;
  /** Why the planner caps it (shown when the session is paused by it). */
  capReason?: string;
  measuredCurrentA?: number;
  /** The charger says power flows (status Charging or SuspendedEV) although no transaction is open. */
  drawing?: boolean;
}

export interface EngineCharger {
  id: string;
  phases: 1 | 3;
  phaseMapping?: GridPhase[];
  rotation?: PhaseRotation;
  maxCurrentA?: number;
  minCurrentA?: number;
  priority?: number;
  fallbackCurrentA?: number;
  connected: boolean;
  everConnected: boolean;
  /** Connector ids (of this charger) whose session was on when the connection was lost. */
  lostDuringSession?: readonly number[];
  caps: Capabilities;
  /** Granularity of the limits it takes (A). */
  stepA: number;
  onOffOnly: boolean;
  supportsPhaseSwitching: boolean;
}

export interface EngineSite extends Site {
  /** Standing limit wanted for a free connector when the current is not needed elsewhere (A). */
  idleCurrentA?: number;
}

export interface ActuationRecord {
  chargerId: string;
  connectorId: number;
  sessionId: string;
  currentA: number;
  phases: number;
  mechanism: string;
  direction: 'lower' | 'raise';
  commands: Array<{ action: string; status: string }>;
  ok: boolean;
  note?: string;
}

/** Thrown (or rejected) by `call` when a command got no answer: timeout, connection lost. */
export class Unanswered extends Error {}

export interface EnginePort {
  /** Sends one OCPP command; resolves to the conf status or the CALLERROR code; rejects when unanswered. */
  call(chargerId: string, command: OcppCommand): Promise<string>;
  /** Capabilities after new answers were learned (the caller learns from `learned`). */
  capabilities(chargerId: string): Promise<Capabilities>;
  learned(chargerId: string, command: OcppCommand, status: string): void;
  record(r: ActuationRecord): void;
  violation(v: Violation): void;
  /** A session Ampere paused with RemoteStopTransaction, to be resumed with its idTag. */
  pausedByStop(chargerId: string, connectorId: number, idTag: string, since: number, transactionId: number): void;
  /**
   * Keeps the ledger durably; awaited before every command, so a node that dies with a raise on its
   * way leaves the next leader a ledger that counts it.
   */
  keep?(entries: KeptEntry[]): Promise<void>;
}

export interface EngineOptions {
  /** A raise smaller than this is not worth a command (A). Decreases are always sent. */
  deadbandA?: number;
  /** How long a connector whose lowering failed is held out of balancing (ms). */
  holdMs?: number;
  /** After a change, measured under-use is ignored for this long (ms): the car needs time to ramp. */
  dampMs?: number;
}

export interface RunResult {
  balance: BalanceResult;
  allocations: Allocation[];
  violation: Violation | null;
  /** Connectors whose raise the charger refused in this run (kept where they were). */
  refused: string[];
}

/** How long an on/off charger told to stop may take to send its StopTransaction (ms). */
const STOP_GRACE_MS = 10_000;
const TINY = 1e-6;

export class SiteEngine {
  readonly entries = new Map<string, LedgerEntry>();
  private limitsNow: LedgerLimits = { voltage: DEFAULT_VOLTAGE, buildingLoadA: [0, 0, 0] };
  private readonly deadbandA: number;
  private readonly holdMs: number;
  private readonly dampMs: number;

  constructor(
    private readonly port: EnginePort,
    opts: EngineOptions = {},
  ) {
    this.deadbandA = opts.deadbandA ?? 0.5;
    this.holdMs = opts.holdMs ?? 60_000;
    this.dampMs = opts.dampMs ?? 60_000;
  }

  limits(): LedgerLimits {
    return this.limitsNow;
  }

  check(): Violation | null {
    return checkLedger(this.entries.values(), this.limitsNow);
  }

  /** A charger connected again: what it was told may be gone; the next run tells it again. */
  retell(chargerId: string): void {
    for (const e of this.entries.values()) if (e.chargerId === chargerId) e.raisedAt = undefined;
    this.retellSet.add(chargerId);
  }
  private readonly retellSet = new Set<string>();

  /** The ledger in the form kept in the database (ledger.ts keepEntry). */
  kept(now: number): KeptEntry[] {
    return [...this.entries.values()].filter((e) => e.facts !== undefined).map((e) => keepEntry(e, now + this.holdMs));
  }

  /** Seeds the ledger with what a previous run (another process, another node) kept; entries known win. */
  restore(kept: readonly KeptEntry[]): void {
    for (const k of kept) {
      const e = restoreEntry(k);
      if (!this.entries.has(e.key)) this.entries.set(e.key, e);
    }
  }

  /** Forget a charger's ledger (it left the site). */
  forget(chargerId: string): void {
    for (const [k, e] of this.entries) if (e.chargerId === chargerId) this.entries.delete(k);
  }

  private refresh(
    site: EngineSite,
    chargers: readonly EngineCharger[],
    sessions: readonly EngineSession[],
    now: number,
  ) {
    const byId = new Map(chargers.map((c) => [c.id, c]));
    const seen = new Set<string>();
    for (const s of sessions) {
      const c = byId.get(s.chargerId);
      if (!c) continue;
      const key = `${s.chargerId}/${s.connectorId}`;
      seen.add(key);
      const state: ConnectorState = s.kind === 'transaction' ? 'transaction' : s.kind === 'idle' ? 'free' : 'car';
      let e = this.entries.get(key);
      if (!e) {
        e = {
          key,
          chargerId: s.chargerId,
          connectorId: s.connectorId,
          facts: undefined as never,
        };
        this.entries.set(key, e);
      }
      const before = e.facts;
      e.facts = {
        connected: c.connected,
        everConnected: c.everConnected,
        state,
        ...(s.drawing && state === 'car' ? { drawing: true } : {}),
        ...(s.transactionId !== undefined ? { transactionId: s.transactionId } : {}),
        lostDuringSession: c.lostDuringSession?.includes(s.connectorId) ?? false,
        onOffOnly: c.onOffOnly,
        maxA: c.maxCurrentA ?? DEFAULT_CHARGER_MAX_A,
        gridPhases: chargerGridPhases({ id: key, phases: c.phases, ...mapping(c) }),
        fallbackA: c.fallbackCurrentA ?? site.fallbackCurrentA ?? DEFAULT_FALLBACK_CURRENT_A,
      };
      // A TxProfile ends with its transaction (§3.13.2); a new transaction starts under the standing
      // limit, or under the profile that came with its RemoteStartTransaction (§5.11).
      // A transaction that ended in Ampere's books while the charger still reports charging keeps
      // its limit in the count (its TxProfile ends only when the charger ends the transaction).
      if (before && before.transactionId !== e.facts.transactionId && !e.facts.drawing) {
        e.txA = undefined;
        e.txPhases = undefined;
        e.off = undefined;
        if (e.starting && state === 'transaction') {
          if (!c.onOffOnly && e.startScope === 'tx') e.txA = e.starting.a;
          e.starting = undefined;
        }
      }
      if (e.starting && (state === 'free' || e.starting.until <= now)) e.starting = undefined;
      if (e.heldUntil !== undefined && e.heldUntil <= now) {
        e.heldUntil = undefined;
        e.heldReason = undefined;
      }
    }
    for (const k of [...this.entries.keys()]) if (!seen.has(k)) this.entries.delete(k);
  }

  /**
   * One run: refresh the ledger from the live facts, balance what may be moved, lower, then raise
   * into the room the ledger shows.
   */
  async run(
    site: EngineSite,
    chargers: readonly EngineCharger[],
    sessions: readonly EngineSession[],
    now: number,
  ): Promise<RunResult> {
    this.refresh(site, chargers, sessions, now);
    const voltage = site.voltage ?? DEFAULT_VOLTAGE;
    this.limitsNow = {
      ...(site.gridLimitA !== undefined ? { gridLimitA: site.gridLimitA } : {}),
      ...(site.gridLimitKw !== undefined ? { gridLimitKw: site.gridLimitKw } : {}),
      voltage,
      buildingLoadA: site.buildingLoadA ?? [0, 0, 0],
    };
    const byId = new Map(chargers.map((c) => [c.id, c]));
    let result: BalanceResult | undefined;
    // Connectors whose raise the charger refused in this run stay where they are: the room they
    // would have taken goes to the others in the next pass.
    const capped = new Map<string, number>();
    // A refused command changes what may be balanced: balance again, at most a few times.
    for (let pass = 0; pass < 3; pass++) {
      result = this.balanceOnce(site, byId, sessions, now, capped);
      const steps = this.stepsOf(result, byId, sessions);
      const lowerings = steps.filter((s) => s.direction === 'lower');
      const lowered = await Promise.all(lowerings.map((s) => this.actuate(s, now)));
      if (!lowered.every((ok) => ok)) continue;
      const raised = await this.raise(steps, now);
      if (raised.length === 0) break;
      for (const step of raised) capped.set(step.entry.key, exposure(step.entry).a);
    }
    this.retellSet.clear();
    this.explainWaits(result!, byId, sessions);
    const violation = this.check();
    // An on/off charger Ampere has just told to stop still counts until its StopTransaction is in;
    // a breach that goes away once those stop is reported only if the stop does not come in time.
    const stopping = (e: LedgerEntry) =>
      e.off === true && e.facts.state === 'transaction' && now - (e.changedAt ?? 0) < STOP_GRACE_MS;
    const settled = [...this.entries.values()].filter((e) => !stopping(e));
    if (violation && checkLedger(settled, this.limitsNow)) this.port.violation(violation);
    return { balance: result!, allocations: result!.allocations, violation, refused: [...capped.keys()] };
  }

  /**
   * Says, for each session left waiting, what it needs, what is free and who holds the rest
   * ("waiting: 16 A needed, 10 A free; GOE/1 holds 6 A"), so an operator sees why it does not charge.
   */
  private explainWaits(result: BalanceResult, byId: Map<string, EngineCharger>, sessions: readonly EngineSession[]) {
    for (const a of result.allocations) {
      if (a.state !== 'paused') continue;
      const s = sessionById(sessions, a.sessionId);
      const c = s ? byId.get(s.chargerId) : undefined;
      const e = s ? this.entries.get(`${s.chargerId}/${s.connectorId}`) : undefined;
      if (!s || !c || !e || s.kind === 'idle') continue;
      // Held back by its plan, not by the site: the plan says why.
      if (s.capReason && (s.maxCurrentA ?? 1) <= 0) continue;
      const need = c.onOffOnly ? (c.maxCurrentA ?? DEFAULT_CHARGER_MAX_A) : Math.max(6, c.minCurrentA ?? 6);
      const room = Math.max(0, headroom(this.entries.values(), this.limitsNow, e, e.facts.gridPhases));
      const holders: string[] = [];
      for (const x of this.entries.values()) {
        const held = x === e ? undefined : exposure(x);
        if (held && held.a > 0 && held.phases.some((p) => e.facts.gridPhases.includes(p)))
          holders.push(`${x.key} holds ${fmt(held.a)} A`);
      }
      const building = this.limitsNow.buildingLoadA.some((b) => b > 0)
        ? [`the building ${this.limitsNow.buildingLoadA.map(fmt).join('/')} A`]
        : [];
      const why = `waiting: ${fmt(need)} A needed, ${fmt(room)} A free; ${[...holders, ...building].join(', ') || 'nothing else draws'}`;
      a.reason = a.reason && !a.reason.startsWith('waiting') ? `${a.reason} (${why})` : why;
    }
  }

  /** Raises in priority order, each cut to the room the ledger shows; returns the refused ones. */
  private async raise(steps: Step[], now: number): Promise<Step[]> {
    const raises = steps
      .filter((s) => s.direction === 'raise')
      .sort((a, b) => b.priority - a.priority || a.session.startedAt - b.session.startedAt);
    const sent: Array<Promise<Step | null>> = [];
    for (const step of raises) {
      // Reserve synchronously (pending) before the next raise is measured against the ledger.
      const room = headroom(this.entries.values(), this.limitsNow, step.entry, step.phases);
      const cur = exposure(step.entry).a;
      if (step.charger.onOffOnly) {
        if (room + TINY < step.target) {
          step.allocation.state = 'paused';
          step.allocation.currentA = 0;
          step.allocation.reason = `waiting: ${step.target} A needed, ${fmt(Math.max(0, room))} A free`;
          continue;
        }
      } else {
        const allowed = floorStep(Math.min(step.target, room), step.charger.stepA);
        if (allowed <= cur + TINY && inForce(step.entry) !== undefined) {
          step.allocation.reason = `held at ${fmt(cur)} A: ${fmt(Math.max(0, room))} A of room`;
          continue;
        }
        if (allowed < step.target - TINY) {
          step.allocation.reason = `raise cut to ${fmt(allowed)} A: that is the room left`;
          step.target = allowed;
          step.allocation.currentA = allowed;
        }
      }
      sent.push(this.actuate(step, now).then((ok) => (ok ? null : step)));
    }
    return (await Promise.all(sent)).filter((x): x is Step => x !== null);
  }

  private balanceOnce(
    site: EngineSite,
    byId: Map<string, EngineCharger>,
    sessions: readonly EngineSession[],
    now: number,
    capped: ReadonlyMap<string, number>,
  ): BalanceResult {
    const reservedA: [number, number, number] = [0, 0, 0];
    const bChargers: BalancerCharger[] = [];
    const bSessions: BalancerSession[] = [];
    const heldAllocations: Allocation[] = [];
    const idleA = site.idleCurrentA ?? site.minCurrentA ?? 6;
    for (const s of sessions) {
      const key = `${s.chargerId}/${s.connectorId}`;
      const e = this.entries.get(key);
      const c = byId.get(s.chargerId);
      if (!e || !c) continue;
      const held = !c.connected || e.heldUntil !== undefined;
      if (held) {
        const x = exposure(e);
        for (const p of x.phases) reservedA[p - 1]! += x.a;
        heldAllocations.push({
          sessionId: s.id,
          chargerId: key,
          currentA: x.a,
          phases: x.phases.length,
          gridPhases: [...x.phases],
          state: 'fallback',
          reason: c.connected ? (e.heldReason ?? 'held') : x.basis,
        });
        continue;
      }
      // An on/off charger with no transaction draws nothing until its StartTransaction.
      if (c.onOffOnly && (s.kind === 'idle' || s.kind === 'prospective')) continue;
      if (s.kind === 'idle' && idleA <= 0 && inForce(e) === 0) continue;
      bChargers.push({
        id: key,
        phases: c.phases,
        ...mapping(c),
        ...(c.maxCurrentA !== undefined ? { maxCurrentA: c.maxCurrentA } : {}),
        ...(c.priority !== undefined ? { priority: c.priority } : {}),
        connected: true,
        supportsPhaseSwitching: c.supportsPhaseSwitching,
        onOffOnly: c.onOffOnly,
        stepA: c.stepA,
      });
      // Just raised: the car needs time to ramp up; its first samples say nothing about its use.
      const damped = e.raisedAt !== undefined && now - e.raisedAt < this.dampMs;
      const told = inForce(e);
      bSessions.push({
        id: s.id,
        chargerId: key,
        ...(s.kind === 'idle'
          ? { standing: true, maxCurrentA: idleA }
          : {
              ...(c.minCurrentA !== undefined ? { minCurrentA: c.minCurrentA } : {}),
              ...(s.maxCurrentA !== undefined || capped.has(key)
                ? {
                    maxCurrentA: Math.min(
                      s.maxCurrentA ?? Number.POSITIVE_INFINITY,
                      capped.get(key) ?? Number.POSITIVE_INFINITY,
                    ),
                  }
                : {}),
              ...(s.measuredCurrentA !== undefined && s.kind === 'transaction' && !damped
                ? { measuredCurrentA: s.measuredCurrentA }
                : {}),
              ...(told !== undefined ? { offeredCurrentA: told } : {}),
            }),
        startedAt: s.startedAt,
      });
    }
    const result = balance({ ...site, reservedA }, bChargers, bSessions);
    for (const a of result.allocations) {
      const s = sessionById(sessions, a.sessionId);
      if (a.state !== 'paused' || !s) continue;
      if (capped.has(a.chargerId)) a.reason = 'the charger refused a higher limit';
      else if (s.capReason && (s.maxCurrentA ?? 1) <= 0) a.reason = s.capReason;
    }
    result.allocations.push(...heldAllocations);
    return result;
  }

  private stepsOf(result: BalanceResult, byId: Map<string, EngineCharger>, sessions: readonly EngineSession[]): Step[] {
    const steps: Step[] = [];
    for (const a of result.allocations) {
      if (a.state === 'fallback') continue;
      const s = sessionById(sessions, a.sessionId);
      const c = s ? byId.get(s.chargerId) : undefined;
      const e = s ? this.entries.get(`${s.chargerId}/${s.connectorId}`) : undefined;
      if (!s || !c || !e) continue;
      const retell = this.retellSet.has(c.id);
      const x = exposure(e);
      const target = a.currentA;
      const phases = a.gridPhases;
      const base = { session: s, charger: c, entry: e, allocation: a, phases, priority: c.priority ?? 0 };
      if (c.onOffOnly) {
        const on = x.a > 0;
        if (s.kind === 'transaction' && e.off && target > 0) {
          a.state = 'paused';
          a.currentA = 0;
          a.reason = 'stopped by Ampere: resumed once the charger has ended the transaction';
        } else if (s.kind === 'transaction' && on && target <= 0)
          steps.push({ ...base, target: 0, direction: 'lower' });
        else if (s.kind === 'paused' && target > 0) steps.push({ ...base, target, direction: 'raise' });
        continue;
      }
      const told = inForce(e);
      const samePhases = phasesInForce(e).length === phases.length;
      if (target > x.a + TINY) {
        // A deadband may skip a raise (it only keeps the site further under its limit).
        if (told !== undefined && !retell && target - told < this.deadbandA && samePhases) continue;
        steps.push({ ...base, target, direction: 'raise' });
      } else if (told === undefined || retell || target < told - TINY || !samePhases || e.uncertain) {
        steps.push({ ...base, target, direction: 'lower' });
      }
    }
    return steps;
  }

  /** Sends one step with the first mechanism that works; updates the ledger from the answers. */
  private async actuate(step: Step, now: number): Promise<boolean> {
    const { session: s, entry: e } = step;
    let caps = step.charger.caps;
    const record: ActuationRecord = {
      chargerId: s.chargerId,
      connectorId: s.connectorId,
      sessionId: s.id,
      currentA: step.target,
      phases: step.phases.length,
      mechanism: 'none',
      direction: step.direction,
      commands: [],
      ok: false,
    };
    let unanswered = false;
    // After a RemoteStopTransaction, what is left is the standing limit: bring that down too.
    let standingOnly = false;
    let lastScope: LimitScope = 'standing';
    for (let attempt = 0; attempt < 4; attempt++) {
      const inTx = s.kind === 'transaction' && !standingOnly;
      const req: LimitRequest = {
        connectorId: s.connectorId,
        ...(s.transactionId !== undefined && inTx ? { transactionId: s.transactionId } : {}),
        currentA: step.target,
        phases: step.phases.length,
        ...(s.kind === 'paused' && s.idTag ? { resume: { idTag: s.idTag } } : {}),
        ...(!inTx ? { standing: true } : {}),
        voltage: DEFAULT_VOLTAGE,
      };
      const plan = planActuation(caps, req);
      record.mechanism = plan.mechanism;
      if (plan.note) record.note = plan.note;
      if (plan.commands.length === 0) {
        // Nothing to send (e.g. an on/off charger with nothing running): fine when the ledger already
        // counts no more than the target; otherwise the charger cannot be brought down this way.
        const counted = exposure(e);
        const within = counted.a <= TINY || counted.phases.every((p) => step.phases.includes(p));
        record.ok =
          plan.mechanism !== 'none' &&
          (step.direction === 'lower' ? counted.a <= step.target + TINY && within : counted.a >= step.target - TINY);
        break;
      }
      const scope = scopeOf(plan.commands);
      lastScope = scope;
      const on = plan.commands.some((c) => c.action === 'RemoteStartTransaction');
      e.pending = { a: step.target, scope, phases: [...step.phases], ...(on ? { on } : {}) };
      if (this.port.keep) await this.port.keep(this.kept(now));
      const outcome = await this.send(s, plan.commands, record);
      e.pending = undefined;
      if (outcome === 'accepted') {
        this.apply(e, plan.commands, step, scope, now);
        record.ok = true;
        if (!step.charger.onOffOnly && exposure(e).a > step.target + TINY && !standingOnly) {
          standingOnly = true;
          record.ok = false;
          continue;
        }
        break;
      }
      if (outcome === 'unanswered') {
        unanswered = true;
        break;
      }
      caps = await this.port.capabilities(s.chargerId);
      if (caps.mechanisms.length === 0) break;
    }
    if (!record.ok) {
      if (unanswered) {
        // The charger may have applied it or not: count the higher of the two, on the phases of both.
        // A limit never told stays unknown (the charger may hold none at all: its maximum).
        e.uncertain = true;
        if (s.kind === 'paused' && step.direction === 'raise')
          e.starting = { a: step.charger.onOffOnly ? e.facts.maxA : step.target, until: now + this.holdMs };
        else if (lastScope === 'tx') {
          const old = inForce(e);
          if (old !== undefined) {
            e.txPhases = unionPhases(phasesInForce(e), step.phases);
            e.txA = Math.max(old, step.target);
          }
        } else if (e.standingA !== undefined) {
          e.standingPhases = unionPhases(e.standingPhases ?? e.facts.gridPhases, step.phases);
          e.standingA = Math.max(e.standingA, step.target);
        }
      }
      if (step.direction === 'lower') {
        e.heldUntil = now + this.holdMs;
        e.heldReason = `lowering to ${step.target} A ${unanswered ? 'went unanswered' : 'refused'}: its current is not handed out`;
        record.note = e.heldReason;
      }
    }
    if (record.commands.length > 0 || !record.ok) this.port.record(record);
    return record.ok;
  }

  private apply(e: LedgerEntry, commands: OcppCommand[], step: Step, scope: LimitScope, now: number): void {
    e.uncertain = undefined;
    e.heldUntil = undefined;
    e.heldReason = undefined;
    e.changedAt = now;
    if (step.direction === 'raise') e.raisedAt = now;
    for (const c of commands) {
      if (c.action === 'RemoteStopTransaction') {
        e.off = true;
        return;
      }
      if (c.action === 'RemoteStartTransaction') {
        e.off = undefined;
        e.starting = { a: step.charger.onOffOnly ? e.facts.maxA : step.target, until: now + this.holdMs };
        e.startScope = scope;
      }
    }
    if (step.charger.onOffOnly) return;
    if (scope === 'tx') {
      // A TxProfile sent with a RemoteStartTransaction applies to the transaction still to come.
      if (e.facts.state === 'transaction') {
        e.txA = step.target;
        e.txPhases = [...step.phases];
      }
    } else {
      e.standingA = step.target;
      e.standingPhases = [...step.phases];
      // A vendor key caps a running transaction too.
      if (e.txA !== undefined && commands.some((c) => c.action === 'ChangeConfiguration')) {
        e.txA = undefined;
        e.txPhases = undefined;
      }
    }
  }

  private async send(
    s: EngineSession,
    commands: OcppCommand[],
    record: ActuationRecord,
  ): Promise<'accepted' | 'refused' | 'unanswered'> {
    for (const cmd of commands) {
      let status: string;
      try {
        status = await this.port.call(s.chargerId, cmd);
      } catch (err) {
        record.commands.push({ action: cmd.action, status: err instanceof Unanswered ? 'unanswered' : 'error' });
        return 'unanswered';
      }
      record.commands.push({ action: cmd.action, status });
      this.port.learned(s.chargerId, cmd, status);
      if (cmd.action === 'RemoteStopTransaction' && status === 'Accepted' && s.transactionId !== undefined && s.idTag) {
        this.port.pausedByStop(s.chargerId, s.connectorId, s.idTag, s.startedAt, s.transactionId);
      }
      // Rejected, NotSupported, NotImplemented, RebootRequired…: this mechanism did not take it.
      if (status !== 'Accepted') return 'refused';
    }
    return 'accepted';
  }

  /** The ledger as the operator sees it. */
  snapshot(): Array<{
    chargerId: string;
    connectorId: number;
    countedA: number;
    phases: GridPhase[];
    basis: string;
    txLimitA: number | null;
    standingLimitA: number | null;
    pendingA: number | null;
    held: string | null;
  }> {
    return [...this.entries.values()].map((e) => {
      const x = exposure(e);
      return {
        chargerId: e.chargerId,
        connectorId: e.connectorId,
        countedA: x.a,
        phases: [...x.phases],
        basis: x.basis,
        txLimitA: e.txA ?? null,
        standingLimitA: e.standingA ?? null,
        pendingA: e.pending?.a ?? null,
        held: e.heldReason ?? null,
      };
    });
  }
}

interface Step {
  session: EngineSession;
  charger: EngineCharger;
  entry: LedgerEntry;
  allocation: Allocation;
  target: number;
  phases: GridPhase[];
  priority: number;
  direction: 'lower' | 'raise';
}

function scopeOf(commands: OcppCommand[]): LimitScope {
  for (const c of commands) {
    if (c.action === 'SetChargingProfile' && c.payload.csChargingProfiles.chargingProfilePurpose === 'TxProfile')
      return 'tx';
    if (c.action === 'RemoteStartTransaction' && c.payload.chargingProfile) return 'tx';
  }
  return 'standing';
}

function mapping(c: EngineCharger): Pick<BalancerCharger, 'phaseMapping' | 'rotation'> {
  return {
    ...(c.phaseMapping ? { phaseMapping: c.phaseMapping } : {}),
    ...(c.rotation ? { rotation: c.rotation } : {}),
  };
}

const byIdCache = new WeakMap<readonly EngineSession[], Map<string, EngineSession>>();

/** A session by id; the index is built once per list (a run looks sessions up per allocation). */
function sessionById(sessions: readonly EngineSession[], id: string): EngineSession | undefined {
  let m = byIdCache.get(sessions);
  if (!m) {
    m = new Map(sessions.map((x) => [x.id, x]));
    byIdCache.set(sessions, m);
  }
  return m.get(id);
}

const fmt = (x: number) => String(Math.round(x * 10) / 10);
