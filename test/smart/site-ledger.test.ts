// The site limit as an invariant, tested on sequences of what happens at a site: cars plugging in
// and leaving, sessions starting and stopping, building load and planner caps changing, chargers
// dropping off and coming back, and chargers that answer Rejected, NotSupported or not at all.
// The chargers are small in-memory models of the three kinds Ampere drives (charging profiles,
// a vendor current key in whole amperes, on/off only), 1- or 3-phase, with phase rotation and
// 3→1 switching. After every step, and inside every command a charger applies, we check:
//  P1  the ledger keeps the site within its limit, unless a charger refused or ignored a lowering
//      (or dropped off during a session), and then the breach is reported;
//  P2  the ledger never counts less than what a charger really draws;
//  P3  no command of Ampere's raises a charger's draw onto a phase that is then over the limit;
//  P4  no session is paused while the room it needs is free (issue: on/off chargers starving).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import {
  type BalancingAlgorithm,
  type Capabilities,
  chargerGridPhases,
  deriveCapabilities,
  type EngineCharger,
  type EngineSession,
  exposure,
  type GridPhase,
  headroom,
  type LearnedAnswer,
  type OcppCommand,
  type PhaseRotation,
  SiteEngine,
  Unanswered,
  type Violation,
} from '../../src/smart/index.ts';

type Kind = 'profile' | 'key' | 'onoff' | 'whole';
type Outcome = 'ok' | 'rejected' | 'lost-applied' | 'lost';

interface ModelCharger {
  id: string;
  kind: Kind;
  phases: 1 | 3;
  rotation: PhaseRotation;
  switching: boolean;
  maxA: number;
  priority: number;
  /** Actions this model answers NotSupported (a charger that lacks a feature). */
  notSupported: Set<string>;
  connected: boolean;
  everConnected: boolean;
  car: boolean;
  tx?: { id: number; idTag: string; startedAt: number; profileA?: number; profilePhases?: number };
  defaultA?: number;
  defaultPhases?: number;
  keyA: number;
  answers: LearnedAnswer[];
}

/** What the model charger lets the car draw now, A per phase, and on how many phases. */
function draw(c: ModelCharger): { a: number; phases: number } {
  if (!c.tx || !c.car) return { a: 0, phases: 0 };
  if (c.kind === 'onoff') return { a: c.maxA, phases: c.phases };
  let limit = c.maxA;
  let phases: number = c.phases;
  if (c.kind === 'key') limit = Math.min(limit, c.keyA);
  {
    const a = c.tx.profileA ?? c.defaultA;
    const p = c.tx.profileA !== undefined ? c.tx.profilePhases : c.defaultPhases;
    if (a !== undefined) limit = Math.min(limit, a);
    if (c.switching && p === 1) phases = 1;
  }
  // IEC 61851-1: below 6 A the car does not charge.
  return limit >= 6 ? { a: limit, phases } : { a: 0, phases: 0 };
}

function gridOf(c: ModelCharger): GridPhase[] {
  return chargerGridPhases({ id: c.id, phases: c.phases, rotation: c.rotation });
}

function capsOf(c: ModelCharger): Capabilities {
  const facts =
    c.kind === 'onoff'
      ? { vendor: 'GreenMotion', model: 'GM-AC', configuration: {} }
      : c.kind === 'key'
        ? { vendor: 'Weidmueller', model: 'AC SMART', configuration: { ConnectorMaximumCurrent: String(c.keyA) } }
        : {
            vendor: 'Acme',
            configuration: {
              SupportedFeatureProfiles: 'Core,SmartCharging,RemoteTrigger',
              ConnectorSwitch3to1PhaseSupported: String(c.switching),
            },
          };
  return deriveCapabilities({ ...facts, answers: c.answers, numberOfConnectors: 1 });
}

interface Scenario {
  limitA: number;
  limitKw: number | undefined;
  algorithm: BalancingAlgorithm;
  idleCurrentA: number;
  chargers: Array<
    Omit<ModelCharger, 'id' | 'answers' | 'tx' | 'notSupported' | 'connected' | 'everConnected' | 'car'> & {
      notSupported: string[];
      connectedAtStart: boolean;
    }
  >;
  steps: Step[];
  outcomes: Outcome[];
}

type Step =
  | { t: 'plug'; i: number }
  | { t: 'unplug'; i: number }
  | { t: 'start'; i: number }
  | { t: 'stop'; i: number }
  | { t: 'load'; a: [number, number, number] }
  | { t: 'cap'; i: number; a: number | undefined }
  | { t: 'drop'; i: number }
  | { t: 'back'; i: number }
  | { t: 'wait'; ms: number };

const chargerArb = fc.record({
  kind: fc.constantFrom<Kind>('profile', 'key', 'onoff', 'whole'),
  phases: fc.constantFrom<1 | 3>(1, 3, 3),
  rotation: fc.constantFrom<PhaseRotation>('RST', 'RTS', 'SRT', 'STR', 'TRS', 'TSR'),
  switching: fc.boolean(),
  maxA: fc.constantFrom(10, 16, 16, 20, 32),
  priority: fc.integer({ min: 0, max: 2 }),
  keyA: fc.constantFrom(16, 32),
  notSupported: fc.subarray(['SetChargingProfile', 'RemoteStopTransaction', 'ChangeConfiguration'], {
    maxLength: 1,
  }),
  connectedAtStart: fc.boolean(),
});

function stepArb(n: number): fc.Arbitrary<Step> {
  const i = fc.integer({ min: 0, max: n - 1 });
  const amps = fc.integer({ min: 0, max: 14 });
  return fc.oneof(
    { weight: 4, arbitrary: i.map((i) => ({ t: 'plug' as const, i })) },
    { weight: 4, arbitrary: i.map((i) => ({ t: 'start' as const, i })) },
    { weight: 2, arbitrary: i.map((i) => ({ t: 'unplug' as const, i })) },
    { weight: 2, arbitrary: i.map((i) => ({ t: 'stop' as const, i })) },
    { weight: 2, arbitrary: fc.tuple(amps, amps, amps).map((a) => ({ t: 'load' as const, a })) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(i, fc.option(fc.constantFrom(0, 6, 10, 16), { nil: undefined }))
        .map(([i, a]) => ({ t: 'cap' as const, i, a })),
    },
    { weight: 1, arbitrary: i.map((i) => ({ t: 'drop' as const, i })) },
    { weight: 2, arbitrary: i.map((i) => ({ t: 'back' as const, i })) },
    { weight: 1, arbitrary: fc.integer({ min: 1_000, max: 120_000 }).map((ms) => ({ t: 'wait' as const, ms })) },
  );
}

const scenarioArb: fc.Arbitrary<Scenario> = fc.array(chargerArb, { minLength: 2, maxLength: 6 }).chain((chargers) =>
  fc.record({
    limitA: fc.integer({ min: 12, max: 40 }),
    limitKw: fc.option(fc.integer({ min: 8, max: 30 }), { nil: undefined }),
    algorithm: fc.constantFrom<BalancingAlgorithm>('UNIFORM', 'OPTIMIZED', 'SUSPENDABLE'),
    idleCurrentA: fc.constantFrom(0, 6),
    chargers: fc.constant(chargers),
    steps: fc.array(stepArb(chargers.length), { minLength: 5, maxLength: 30 }),
    outcomes: fc.array(
      fc.constantFrom<Outcome>('ok', 'ok', 'ok', 'ok', 'ok', 'ok', 'rejected', 'lost-applied', 'lost'),
      { minLength: 50, maxLength: 50 },
    ),
  }),
);

async function play(sc: Scenario): Promise<void> {
  let now = Date.parse('2026-12-01T12:00:00Z');
  let txIds = 1;
  let outcomeIndex = 0;
  let building: [number, number, number] = [0, 0, 0];
  const caps = new Map<number, number | undefined>();
  const paused = new Map<string, { idTag: string; since: number; transactionId: number }>();
  const model: ModelCharger[] = sc.chargers.map((c, i) => ({
    ...c,
    id: `C${i}`,
    notSupported: new Set(c.notSupported),
    connected: c.connectedAtStart,
    everConnected: c.connectedAtStart,
    car: false,
    answers: [],
  }));
  const byId = new Map(model.map((c) => [c.id, c]));
  const voltage = 230;
  const limits = () => ({
    gridLimitA: sc.limitA,
    ...(sc.limitKw !== undefined ? { gridLimitKw: sc.limitKw } : {}),
    voltage,
    buildingLoadA: building,
  });
  const violations: Violation[] = [];

  const physical = (): [number, number, number] => {
    const load: [number, number, number] = [...building];
    for (const c of model) {
      const d = draw(c);
      for (const p of gridOf(c).slice(0, d.phases)) load[p - 1]! += d.a;
    }
    return load;
  };
  const over = (load: number[]) => load.some((a) => a > sc.limitA + 1e-6);

  // P2: the ledger never counts less than a charger draws.
  const checkLedgerCoversReality = (where: string) => {
    for (const c of model) {
      const d = draw(c);
      if (d.a === 0) continue;
      const e = engine.entries.get(`${c.id}/1`);
      assert.ok(e, `${where}: ${c.id} draws ${d.a} A but has no ledger entry`);
      const x = exposure(e);
      assert.ok(
        x.a + 1e-6 >= d.a,
        `${where}: ${c.id} (${c.kind}) draws ${d.a} A, the ledger counts ${x.a} A (${x.basis})`,
      );
      for (const p of gridOf(c).slice(0, d.phases))
        assert.ok(x.phases.includes(p), `${where}: ${c.id} draws on L${p}, counted on ${x.phases}`);
    }
  };

  const apply = (c: ModelCharger, cmd: OcppCommand): string => {
    if (c.notSupported.has(cmd.action)) return 'NotSupported';
    if (cmd.action === 'SetChargingProfile') {
      if (c.kind === 'onoff') return 'NotImplemented';
      const p = cmd.payload.csChargingProfiles;
      const period = p.chargingSchedule.chargingSchedulePeriod[0]!;
      const a = p.chargingSchedule.chargingRateUnit === 'A' ? period.limit : period.limit / (voltage * c.phases);
      if (p.chargingProfilePurpose === 'TxProfile') {
        if (!c.tx || p.transactionId !== c.tx.id) return 'Rejected';
        c.tx.profileA = a;
        c.tx.profilePhases = period.numberPhases ?? 3;
      } else if (p.chargingProfilePurpose === 'TxDefaultProfile') {
        c.defaultA = a;
        c.defaultPhases = period.numberPhases ?? 3;
      } else return 'Rejected';
      return 'Accepted';
    }
    if (cmd.action === 'ChangeConfiguration') {
      if (c.kind !== 'key') return 'NotSupported';
      c.keyA = Number(cmd.payload.value);
      return 'Accepted';
    }
    if (cmd.action === 'RemoteStopTransaction') {
      if (!c.tx || c.tx.id !== cmd.payload.transactionId) return 'Rejected';
      c.tx = undefined;
      return 'Accepted';
    }
    if (cmd.action === 'RemoteStartTransaction') {
      if (!c.car || c.tx) return 'Rejected';
      c.tx = { id: txIds++, idTag: cmd.payload.idTag, startedAt: now };
      const prof = cmd.payload.chargingProfile;
      if (prof) {
        c.tx.profileA = prof.chargingSchedule.chargingSchedulePeriod[0]!.limit;
        c.tx.profilePhases = prof.chargingSchedule.chargingSchedulePeriod[0]!.numberPhases ?? 3;
      }
      return 'Accepted';
    }
    return 'NotImplemented';
  };

  const engine: SiteEngine = new SiteEngine(
    {
      call: async (chargerId, cmd) => {
        const c = byId.get(chargerId)!;
        await Promise.resolve();
        checkLedgerCoversReality(`before ${cmd.action} to ${chargerId}`);
        if (!c.connected) return 'NotSent';
        const outcome = sc.outcomes[outcomeIndex++ % sc.outcomes.length]!;
        const before = physical();
        const drawBefore = draw(c).a;
        let status = 'Rejected';
        if (outcome !== 'rejected' && outcome !== 'lost') status = apply(c, cmd);
        const after = physical();
        // P3: a command that raised a draw leaves no phase over the limit (unless it already was).
        if (draw(c).a > drawBefore + 1e-6 && over(after))
          assert.fail(
            `${cmd.action} to ${chargerId} raised its draw to ${draw(c).a} A: site at ${after} A (limit ${sc.limitA} A, before ${before})`,
          );
        await Promise.resolve();
        if (outcome === 'lost' || outcome === 'lost-applied') throw new Unanswered('timeout');
        return status;
      },
      capabilities: async (chargerId) => capsOf(byId.get(chargerId)!),
      learned: (chargerId, cmd, status) => {
        const a: LearnedAnswer = { action: cmd.action, status };
        if (cmd.action === 'ChangeConfiguration') a.key = cmd.payload.key;
        if (cmd.action === 'SetChargingProfile') a.purpose = cmd.payload.csChargingProfiles.chargingProfilePurpose;
        byId.get(chargerId)!.answers.push(a);
      },
      record: (r) => {
        if (process.env.DEBUG_LEDGER) console.log(JSON.stringify(r));
      },
      violation: (v) => violations.push(v),
      pausedByStop: (chargerId, connectorId, idTag, since, transactionId) =>
        paused.set(`${chargerId}/${connectorId}`, { idTag, since, transactionId }),
    },
    { holdMs: 60_000, dampMs: 60_000 },
  );

  const sessions = (): EngineSession[] =>
    model.map((c, i) => {
      const key = `${c.id}/1`;
      const base = { chargerId: c.id, connectorId: 1 };
      const cap = caps.get(i);
      const capped = cap !== undefined ? { maxCurrentA: cap } : {};
      if (c.tx)
        return {
          ...base,
          id: `tx:${c.tx.id}`,
          kind: 'transaction',
          transactionId: c.tx.id,
          idTag: c.tx.idTag,
          startedAt: c.tx.startedAt,
          ...capped,
        };
      const p = paused.get(key);
      if (p && c.car)
        return { ...base, id: `paused:${key}`, kind: 'paused', idTag: p.idTag, startedAt: p.since, ...capped };
      if (c.car) return { ...base, id: `plug:${key}`, kind: 'prospective', startedAt: now, ...capped };
      return { ...base, id: `idle:${key}`, kind: 'idle', startedAt: 0 };
    });

  const chargers = (): EngineCharger[] =>
    model.map((c) => {
      const cp = capsOf(c);
      const onOffOnly = cp.mechanisms[0] === 'onOff' || cp.mechanisms[0] === undefined;
      return {
        id: c.id,
        phases: c.phases,
        rotation: c.rotation,
        maxCurrentA: c.maxA,
        priority: c.priority,
        connected: c.connected,
        everConnected: c.everConnected,
        lostDuringSession: !c.connected && (c.tx || c.car) ? [1] : [],
        caps: cp,
        stepA: c.kind === 'whole' ? 1 : cp.stepA,
        onOffOnly,
        supportsPhaseSwitching: cp.phaseSwitching,
      };
    });

  const run = async (label: string) => {
    const chargerList = chargers();
    const sessionList = sessions();
    const result = await engine.run(
      {
        gridLimitA: sc.limitA,
        ...(sc.limitKw !== undefined ? { gridLimitKw: sc.limitKw } : {}),
        algorithm: sc.algorithm,
        idleCurrentA: sc.idleCurrentA,
        buildingLoadA: building,
      },
      chargerList,
      sessionList,
      now,
    );
    checkLedgerCoversReality(`after ${label}`);
    const entries = [...engine.entries.values()];
    // What Ampere cannot help: a building load over the limit on its own, a charger that refused or
    // ignored a lowering, a charger that dropped off in a session.
    const excused =
      building.some((a) => a > sc.limitA) ||
      (sc.limitKw !== undefined && (voltage * (building[0] + building[1] + building[2])) / 1000 > sc.limitKw) ||
      entries.some(
        (e) =>
          e.heldUntil !== undefined ||
          e.uncertain ||
          (!e.facts.connected && e.facts.lostDuringSession) ||
          // an on/off charger told to stop counts until its StopTransaction is in
          (e.off && e.facts.state === 'transaction'),
      );
    // P1
    if (result.violation && !excused)
      assert.fail(`after ${label}: ${result.violation.over}\n${JSON.stringify(engine.snapshot(), null, 1)}`);
    const stopping = entries.some((e) => e.off && e.facts.state === 'transaction');
    if (result.violation && !stopping) assert.ok(violations.includes(result.violation), 'a breach is reported');
    // P4: nobody is paused while the room it needs is free.
    if (!excused && !result.violation) {
      for (const a of result.allocations) {
        if (a.state !== 'paused') continue;
        const s = sessionList.find((x) => x.id === a.sessionId)!;
        if (s.kind === 'idle' || (s.maxCurrentA !== undefined && s.maxCurrentA < 6)) continue;
        const c = chargerList.find((x) => x.id === s.chargerId)!;
        const m = byId.get(s.chargerId)!;
        if (!c.connected) continue;
        if (c.onOffOnly && m.notSupported.has('RemoteStartTransaction')) continue;
        const need = c.onOffOnly ? m.maxA : Math.ceil(6 / c.stepA - 1e-9) * c.stepA;
        if (need > (s.maxCurrentA ?? m.maxA)) continue;
        const e = engine.entries.get(`${s.chargerId}/1`)!;
        if (e.off) continue; // stopped in this run: resumed once its StopTransaction is in
        if (result.refused.includes(e.key)) continue; // the charger refused its raise
        const grids = [gridOf(m), ...(c.supportsPhaseSwitching && !c.onOffOnly ? [gridOf(m).slice(0, 1)] : [])];
        const room = Math.max(...grids.map((g) => headroom(entries, limits(), e, g) - exposure(e).a * 0));
        if (process.env.DEBUG_LEDGER && room >= need - 1e-6)
          console.log(JSON.stringify({ ledger: engine.snapshot(), allocations: result.allocations }));
        assert.ok(
          room < need - 1e-6,
          `after ${label}: ${s.id} (${c.onOffOnly ? 'on/off' : m.kind}) paused (${a.reason}) with ${room} A of room, needing ${need} A\n${JSON.stringify({ ledger: engine.snapshot(), allocations: result.allocations })}`,
        );
      }
    }
  };

  await run('start');
  for (const [n, st] of sc.steps.entries()) {
    now += 1_000;
    const c = 'i' in st ? model[st.i]! : undefined;
    switch (st.t) {
      case 'plug':
        if (c!.connected) c!.car = true;
        break;
      case 'unplug':
        if (c!.connected) {
          c!.car = false;
          c!.tx = undefined;
          paused.delete(`${c!.id}/1`);
        }
        break;
      case 'start':
        // A card at the charger: the charger starts on its own, under whatever limit it holds.
        if (c!.connected && c!.car && !c!.tx) {
          c!.tx = { id: txIds++, idTag: `TAG${st.i}`, startedAt: now };
          paused.delete(`${c!.id}/1`);
        }
        break;
      case 'stop':
        if (c!.connected) c!.tx = undefined;
        break;
      case 'load':
        building = st.a;
        break;
      case 'cap':
        caps.set(st.i, st.a);
        break;
      case 'drop':
        c!.connected = false;
        break;
      case 'back':
        if (!c!.connected) {
          c!.connected = true;
          c!.everConnected = true;
          engine.retell(c!.id);
        }
        break;
      case 'wait':
        now += st.ms;
        break;
    }
    await run(`step ${n} ${JSON.stringify(st)}`);
  }
}

describe('site ledger: the limit holds through any sequence of events', () => {
  it('P1-P4 over random sites, chargers and answers', async () => {
    await fc.assert(fc.asyncProperty(scenarioArb, play), {
      numRuns: Number(process.env.LEDGER_RUNS ?? 300),
      ...(process.env.SEED ? { seed: Number(process.env.SEED), path: process.env.SEED_PATH, endOnFailure: true } : {}),
    });
  });

  it('the 20 A site of the report: three chargers sharing 20 A are never told more than 20 A together', async () => {
    // Two profile chargers and one whole-ampere key charger, each car able to take 16 A: the deadband
    // once kept a charger at 7 A that had to go down to 6.6 A.
    await play({
      limitA: 20,
      limitKw: undefined,
      algorithm: 'UNIFORM',
      idleCurrentA: 6,
      chargers: [
        {
          kind: 'profile',
          phases: 3,
          rotation: 'RST',
          switching: true,
          maxA: 16,
          priority: 0,
          keyA: 32,
          notSupported: [],
          connectedAtStart: true,
        },
        {
          kind: 'profile',
          phases: 3,
          rotation: 'RST',
          switching: true,
          maxA: 16,
          priority: 0,
          keyA: 32,
          notSupported: [],
          connectedAtStart: true,
        },
        {
          kind: 'key',
          phases: 3,
          rotation: 'RST',
          switching: false,
          maxA: 16,
          priority: 0,
          keyA: 32,
          notSupported: [],
          connectedAtStart: true,
        },
      ],
      steps: [
        { t: 'plug', i: 0 },
        { t: 'start', i: 0 },
        { t: 'plug', i: 1 },
        { t: 'start', i: 1 },
        { t: 'plug', i: 2 },
        { t: 'start', i: 2 },
        { t: 'unplug', i: 0 },
        { t: 'plug', i: 0 },
        { t: 'start', i: 0 },
      ],
      outcomes: ['ok'],
    });
  });
});
