// Scenarios: a small JSON script of what happens at a charger (plug, swipe, wait, set EV power,
// go offline, come back, fault, reboot, unplug) and what must then be true (expect, waitFor).
//
//   { "name": "charge", "profile": "generic", "config": { "MeterValueSampleInterval": "10" },
//     "steps": [ { "plug": 1 }, { "swipe": "04A1B2C3" }, { "waitFor": { "status": "Charging" } },
//                { "wait": 600 }, { "expect": { "energyWhAtLeast": 1000 } }, { "unplug": 1 } ] }
//
// A step is an object with one verb key. Times are seconds of the station's clock, so a test
// with a FakeClock runs an hour of charging in milliseconds.
import { type Clock, FakeClock } from './clock.ts';
import type { ConnectorStatus, Station } from './station.ts';

export type Step =
  | { plug: number | { connector?: number; soc?: number; maxPowerW?: number; phases?: 1 | 2 | 3; capacityWh?: number } }
  | { unplug: number | { connector?: number } }
  | { swipe: string | { idTag: string; connector?: number } }
  | { wait: number }
  | { setEvPower: number | { connector?: number; watts: number } }
  | { offline: true }
  | { online: true }
  | { fault: string | { connector?: number; errorCode?: string } }
  | { clearFault: number | { connector?: number } }
  | { reboot: 'Soft' | 'Hard' | true }
  | { dataTransfer: { messageId: string; data?: string } }
  | { log: string }
  | { expect: Expectation }
  | { waitFor: Expectation & { timeout?: number } };

export interface Expectation {
  connector?: number;
  status?: ConnectorStatus;
  registration?: string;
  sent?: string;
  notSent?: string;
  energyWhAtLeast?: number;
  powerWAtLeast?: number;
  powerWAtMost?: number;
  queued?: number;
  online?: boolean;
}

export interface Scenario {
  name?: string;
  profile?: string;
  config?: Record<string, string>;
  steps: Step[];
}

export interface StepResult {
  index: number;
  step: Step;
  ok: boolean;
  at: string;
  error?: string;
}

export interface ScenarioResult {
  name: string;
  ok: boolean;
  steps: StepResult[];
}

const VERBS = new Set([
  'plug',
  'unplug',
  'swipe',
  'wait',
  'setEvPower',
  'offline',
  'online',
  'fault',
  'clearFault',
  'reboot',
  'dataTransfer',
  'log',
  'expect',
  'waitFor',
]);

/** Checks the shape of a parsed scenario; throws with the step index on the first problem. */
export function parseScenario(input: unknown): Scenario {
  const s = (Array.isArray(input) ? { steps: input } : input) as Scenario;
  if (!s || typeof s !== 'object' || !Array.isArray(s.steps)) throw new Error('a scenario needs a "steps" array');
  s.steps.forEach((step, i) => {
    const keys = step && typeof step === 'object' ? Object.keys(step) : [];
    if (keys.length !== 1 || !VERBS.has(keys[0]!))
      throw new Error(`step ${i}: expected one of ${[...VERBS].join(', ')}, got ${JSON.stringify(step)}`);
  });
  return s;
}

function connectorOf(v: unknown): number {
  if (typeof v === 'number') return v;
  if (v && typeof v === 'object' && typeof (v as { connector?: number }).connector === 'number')
    return (v as { connector: number }).connector;
  return 1;
}

async function sleep(clock: Clock, seconds: number): Promise<void> {
  if (clock instanceof FakeClock) return clock.advance(seconds * 1000);
  await new Promise<void>((resolve) => clock.setTimeout(resolve, seconds * 1000));
}

/** Returns why `e` does not hold now, or undefined when it does. */
export function check(station: Station, e: Expectation, since = 0): string | undefined {
  const c = station.connectors[(e.connector ?? 1) - 1];
  if (!c) return `no connector ${e.connector}`;
  if (e.status !== undefined && c.status !== e.status) return `connector ${c.id} is ${c.status}, expected ${e.status}`;
  if (e.registration !== undefined && station.registration !== e.registration)
    return `registration is ${station.registration}, expected ${e.registration}`;
  const sent = (a: string) => station.history.some((h) => h.dir === 'out' && h.action === a && h.at >= since);
  if (e.sent !== undefined && !sent(e.sent)) return `${e.sent} was not sent`;
  if (e.notSent !== undefined && sent(e.notSent)) return `${e.notSent} was sent`;
  c.meter.advance(station.clock.now());
  if (e.energyWhAtLeast !== undefined && c.meter.registerWh < e.energyWhAtLeast)
    return `meter at ${Math.round(c.meter.registerWh)} Wh, expected >= ${e.energyWhAtLeast}`;
  if (e.powerWAtLeast !== undefined && c.meter.powerW < e.powerWAtLeast)
    return `power ${Math.round(c.meter.powerW)} W, expected >= ${e.powerWAtLeast}`;
  if (e.powerWAtMost !== undefined && c.meter.powerW > e.powerWAtMost)
    return `power ${Math.round(c.meter.powerW)} W, expected <= ${e.powerWAtMost}`;
  if (e.queued !== undefined && station.queuedMessages !== e.queued)
    return `${station.queuedMessages} messages queued, expected ${e.queued}`;
  if (e.online !== undefined && station.online !== e.online) return `online is ${station.online}, expected ${e.online}`;
  return undefined;
}

export interface RunOptions {
  /** Stop at the first failed expectation (default true). */
  stopOnFailure?: boolean;
  log?: (line: string) => void;
}

export async function runScenario(station: Station, scenario: Scenario, o: RunOptions = {}): Promise<ScenarioResult> {
  const clock = station.clock;
  const started = clock.now();
  const results: StepResult[] = [];
  let ok = true;
  for (const [index, step] of scenario.steps.entries()) {
    let error: string | undefined;
    try {
      error = await runStep(station, step, started);
    } catch (e) {
      error = (e as Error).message;
    }
    const r: StepResult = { index, step, ok: !error, at: station.iso() };
    if (error) r.error = error;
    results.push(r);
    o.log?.(`${r.at} ${error ? 'FAIL' : 'ok  '} ${JSON.stringify(step)}${error ? ` — ${error}` : ''}`);
    if (error) {
      ok = false;
      if (o.stopOnFailure !== false) break;
    }
  }
  return { name: scenario.name ?? 'scenario', ok, steps: results };
}

async function runStep(station: Station, step: Step, since: number): Promise<string | undefined> {
  const clock = station.clock;
  const [verb, arg] = Object.entries(step)[0] as [string, any];
  switch (verb) {
    case 'plug': {
      const ev = typeof arg === 'object' ? arg : {};
      station.plug(connectorOf(arg), ev);
      break;
    }
    case 'unplug':
      station.unplug(connectorOf(arg));
      break;
    case 'swipe': {
      const idTag = typeof arg === 'string' ? arg : arg.idTag;
      await station.swipe(idTag, typeof arg === 'object' ? arg.connector : undefined);
      break;
    }
    case 'wait':
      await sleep(clock, Number(arg));
      break;
    case 'setEvPower':
      station.setEvPower(typeof arg === 'number' ? 1 : (arg.connector ?? 1), typeof arg === 'number' ? arg : arg.watts);
      break;
    case 'offline':
      station.setNetwork(false);
      break;
    case 'online':
      station.setNetwork(true);
      break;
    case 'fault':
      station.fault(connectorOf(arg), typeof arg === 'string' ? arg : (arg.errorCode ?? 'OtherError'));
      break;
    case 'clearFault':
      station.clearFault(connectorOf(arg));
      break;
    case 'reboot':
      station.reboot(arg === 'Hard' ? 'Hard' : 'Soft');
      break;
    case 'dataTransfer':
      await station.dataTransfer(arg.messageId, arg.data);
      break;
    case 'log':
      break;
    case 'expect':
      return check(station, arg as Expectation, since);
    case 'waitFor': {
      const timeoutS = (arg as { timeout?: number }).timeout ?? 60;
      const deadline = clock.now() + timeoutS * 1000;
      for (;;) {
        const why = check(station, arg as Expectation, since);
        if (!why) return undefined;
        if (clock.now() >= deadline) return `timed out after ${timeoutS} s: ${why}`;
        await sleep(clock, clock instanceof FakeClock ? 1 : 0.25);
      }
    }
  }
  // Let the messages the step caused go out before the next step.
  if (clock instanceof FakeClock) await clock.advance(0);
  return undefined;
}
