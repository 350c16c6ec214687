// Load generator: a child process (forked by bench/run.ts) driving a slice of the simulated chargers
// over real WebSockets. Lean on purpose: frames are pre-serialised, responses are recognised by
// their second byte, and only setup answers are parsed as JSON. Driven by IPC messages:
//   parent → {cmd:'boot'} | {cmd:'prepare'} | {cmd:'closed', ms, below} | {cmd:'open', ms, rate, …} | {cmd:'quit'}
//   child  → {type:'loaded'} | {type:'booted', …} | {type:'prepared', …} | {type:'result', …}
// 'boot' connects every charger of the slice and sends its BootNotification, `connectConcurrency`
// at a time (the reconnect storm); 'prepare' then sends StatusNotification → StartTransaction →
// StatusNotification, so MeterValues can follow.
import { performance } from 'node:perf_hooks';
import WebSocket from 'ws';
import { bootFrame, HEARTBEAT_MIDDLE, meterFrame, meterMiddle, ocppTime, startFrame, statusFrame } from './frames.ts';
import { newHist, record } from './hist.ts';

export interface LoadgenArgs {
  url: string;
  /** First global charger index of this slice, the slice size, and the total across generators. */
  base: number;
  count: number;
  total: number;
  prefix: string;
  idTag: string;
  connectConcurrency: number;
}

export type ParentMsg =
  | { cmd: 'boot' }
  | { cmd: 'prepare' }
  /** Closed loop over the chargers whose global index is below `below`. */
  | { cmd: 'closed'; ms: number; below: number }
  /**
   * Open loop over the chargers whose global index is below `below`: `rate` MeterValues per
   * charger per second, plus a Heartbeat every `heartbeatS` seconds (0 = none).
   */
  | { cmd: 'open'; ms: number; rate: number; heartbeatS: number; below: number }
  | { cmd: 'quit' };

export interface PhaseResult {
  type: 'result';
  phase: 'closed' | 'open';
  /** Answers received inside the measuring window, and in all (the tail drains after it). */
  inWindow: number;
  completed: number;
  sent: number;
  callErrors: number;
  /** Sends that found the previous CALL still in flight (open loop) and had to wait. */
  deferred: number;
  /** Latency from send to answer, and (open loop) from the scheduled send time to answer. */
  hist: number[];
  histFromSchedule: number[];
  windowMs: number;
  generatorCpuMs: number;
  firstCallError?: string;
}

export interface StageMsg {
  type: 'booted' | 'prepared';
  /** Chargers of the slice that got through this stage (and all before it). */
  ok: number;
  failed: number;
  ms: number;
  firstError?: string;
}

const CHAR_2 = 0x32; // '2' (a CALL from the server)
const CHAR_4 = 0x34; // '4' (a CALLERROR)

class Charger {
  ws!: WebSocket;
  mid = '';
  seq = 0;
  energy = 0;
  sentAt = 0;
  /** When this CALL should have gone out (open loop); equals sentAt otherwise. */
  due = 0;
  inflight = false;
  /** Open loop: scheduled time of a send deferred because a CALL was in flight (0 = none). */
  pendingDue = 0;
  pendingHeartbeat = false;
  /** Setup: resolves the next answer. */
  waiter: ((data: Buffer) => void) | null = null;
  constructor(
    readonly id: string,
    readonly index: number,
  ) {}
}

let timeNow = ocppTime();
let callErrors = 0;
let firstCallError = '';

function answerServerCall(c: Charger, data: Buffer): void {
  // The bench does not act on commands; answer so the server's outgoing CALL does not hang.
  try {
    const msg = JSON.parse(data.toString()) as [number, string, string];
    c.ws.send(`[4,${JSON.stringify(msg[1])},"NotSupported","bench charger",{}]`);
  } catch {
    // ignore
  }
}

function setupCall(c: Charger, frame: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`${c.id}: no answer to ${frame.slice(0, 60)}`)), 60_000);
    c.waiter = (data) => {
      clearTimeout(timer);
      c.waiter = null;
      const msg = JSON.parse(data.toString()) as unknown[];
      if (msg[0] !== 3) reject(new Error(`${c.id}: ${data.toString().slice(0, 200)}`));
      else resolve(msg[2]);
    };
    c.ws.send(frame);
  });
}

function connect(c: Charger, url: string): Promise<void> {
  return new Promise((resolve, reject) => {
    const ws = new WebSocket(`${url}/ocpp/${encodeURIComponent(c.id)}`, 'ocpp1.6', {
      perMessageDeflate: false,
      skipUTF8Validation: true,
      handshakeTimeout: 60_000,
      // An all-zero mask lets ws skip masking entirely (legal per RFC 6455; it only matters to proxies).
      generateMask: () => {},
    });
    c.ws = ws;
    ws.once('open', () => resolve());
    ws.once('error', reject);
  });
}

async function bootOne(c: Charger, args: LoadgenArgs): Promise<void> {
  await connect(c, args.url);
  c.ws.on('message', (data: Buffer) => onMessage(c, data));
  const boot = (await setupCall(c, bootFrame('b1', c.id))) as { status?: string };
  if (boot.status !== 'Accepted') throw new Error(`${c.id}: BootNotification ${boot.status}`);
}

async function prepareOne(c: Charger, args: LoadgenArgs): Promise<void> {
  await setupCall(c, statusFrame('s1', 1, 'Preparing'));
  const start = (await setupCall(c, startFrame('t1', args.idTag))) as { transactionId?: number };
  if (typeof start.transactionId !== 'number') throw new Error(`${c.id}: no transactionId`);
  await setupCall(c, statusFrame('s2', 1, 'Charging'));
  c.mid = meterMiddle(start.transactionId);
}

/** Runs `step` over `list`, `concurrency` at a time; the chargers that got through, in index order. */
async function stage(
  type: StageMsg['type'],
  list: Charger[],
  concurrency: number,
  step: (c: Charger) => Promise<void>,
): Promise<{ ok: Charger[]; msg: StageMsg }> {
  const t0 = performance.now();
  const ok: Charger[] = [];
  let failed = 0;
  let firstError: string | undefined;
  let next = 0;
  const worker = async () => {
    while (next < list.length) {
      const c = list[next++]!;
      try {
        await step(c);
        ok.push(c);
      } catch (e) {
        failed++;
        firstError ??= (e as Error).message;
        c.ws?.terminate();
      }
    }
  };
  await Promise.all(Array.from({ length: Math.max(1, concurrency) }, worker));
  ok.sort((a, b) => a.index - b.index);
  const msg: StageMsg = { type, ok: ok.length, failed, ms: performance.now() - t0 };
  if (firstError) msg.firstError = firstError;
  return { ok, msg };
}

// ---- measuring phases -------------------------------------------------------------------------

let phase: 'idle' | 'closed' | 'open' = 'idle';
let windowEnd = 0;
let hist = newHist();
let histSched = newHist();
let inWindow = 0;
let completed = 0;
let sent = 0;
let deferred = 0;
let outstanding = 0;
let onDrained: (() => void) | null = null;

function markSent(c: Charger, now: number, due: number): void {
  c.seq++;
  c.due = due;
  c.inflight = true;
  c.sentAt = now;
  outstanding++;
  sent++;
}

function sendMeter(c: Charger, now: number, due = now): void {
  markSent(c, now, due);
  c.energy += 3;
  c.ws.send(meterFrame(`m${c.seq}`, c.mid, timeNow, c.energy));
}

function sendHeartbeat(c: Charger, now: number, due = now): void {
  markSent(c, now, due);
  c.ws.send(`[2,"h${c.seq}${HEARTBEAT_MIDDLE}`);
}

function onMessage(c: Charger, data: Buffer): void {
  if (data[1] === CHAR_2) {
    answerServerCall(c, data);
    return;
  }
  if (c.waiter) {
    c.waiter(data);
    return;
  }
  if (!c.inflight) return; // late or unsolicited: ignore
  const now = performance.now();
  if (data[1] === CHAR_4) {
    callErrors++;
    if (!firstCallError) firstCallError = data.toString().slice(0, 300);
  }
  c.inflight = false;
  outstanding--;
  completed++;
  if (now <= windowEnd) inWindow++;
  record(hist, (now - c.sentAt) * 1_000);
  record(histSched, (now - c.due) * 1_000);
  if (phase === 'closed') {
    if (now < windowEnd) sendMeter(c, now);
  } else if (phase === 'open' && c.pendingDue !== 0) {
    const due = c.pendingDue;
    c.pendingDue = 0;
    if (c.pendingHeartbeat) sendHeartbeat(c, now, due);
    else sendMeter(c, now, due);
  }
  if (outstanding === 0 && onDrained && (phase !== 'open' || now >= windowEnd)) onDrained();
}

function resetCounters(): void {
  hist = newHist();
  histSched = newHist();
  inWindow = 0;
  completed = 0;
  sent = 0;
  deferred = 0;
  callErrors = 0;
  firstCallError = '';
}

function drain(maxMs: number): Promise<void> {
  return new Promise((resolve) => {
    if (outstanding === 0) return resolve();
    const t = setTimeout(() => {
      onDrained = null;
      resolve();
    }, maxMs);
    onDrained = () => {
      clearTimeout(t);
      onDrained = null;
      resolve();
    };
  });
}

async function runClosed(chargers: Charger[], ms: number): Promise<PhaseResult> {
  resetCounters();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  windowEnd = t0 + ms;
  phase = 'closed';
  for (const c of chargers) sendMeter(c, t0);
  await sleep(ms);
  await drain(10_000);
  phase = 'idle';
  return result('closed', ms, cpu0);
}

/** One periodic stream of the open loop: every charger sends once per `period`, spread evenly. */
interface Stream {
  period: number;
  /** Offset of the whole stream (so two streams do not hit the same charger at once). */
  shift: number;
  heartbeat: boolean;
  cursor: number;
  round: number;
}

async function runOpen(
  chargers: Charger[],
  ms: number,
  rate: number,
  heartbeatS: number,
  below: number,
): Promise<PhaseResult> {
  resetCounters();
  const n = chargers.length;
  const streams: Stream[] = [{ period: 1_000 / rate, shift: 0, heartbeat: false, cursor: 0, round: 0 }];
  if (heartbeatS > 0) {
    const period = heartbeatS * 1_000;
    streams.push({ period, shift: period / (2 * below), heartbeat: true, cursor: 0, round: 0 });
  }
  // Spread every charger's sends evenly over the period, across all generator processes.
  const fraction = chargers.map((c) => c.index / below);
  const cpu0 = process.cpuUsage();
  const t0 = performance.now() + 5;
  windowEnd = t0 + ms;
  phase = 'open';
  await new Promise<void>((resolve) => {
    const tick = () => {
      const now = performance.now();
      for (const s of streams) {
        for (;;) {
          const due = t0 + s.shift + s.round * s.period + fraction[s.cursor]! * s.period;
          if (due > now || due >= windowEnd) break;
          const c = chargers[s.cursor]!;
          if (c.inflight) {
            deferred++;
            if (c.pendingDue === 0) {
              c.pendingDue = due;
              c.pendingHeartbeat = s.heartbeat;
            }
          } else if (s.heartbeat) sendHeartbeat(c, now, due);
          else sendMeter(c, now, due);
          if (++s.cursor === n) {
            s.cursor = 0;
            s.round++;
          }
        }
      }
      if (now >= windowEnd) {
        clearInterval(timer);
        resolve();
      }
    };
    const timer = setInterval(tick, 1);
  });
  await drain(10_000);
  phase = 'idle';
  for (const c of chargers) c.pendingDue = 0;
  return result('open', ms, cpu0);
}

function result(p: 'closed' | 'open', windowMs: number, cpu0: NodeJS.CpuUsage): PhaseResult {
  const cpu = process.cpuUsage(cpu0);
  const r: PhaseResult = {
    type: 'result',
    phase: p,
    inWindow,
    completed,
    sent,
    callErrors,
    deferred,
    hist: Array.from(hist),
    histFromSchedule: Array.from(histSched),
    windowMs,
    generatorCpuMs: (cpu.user + cpu.system) / 1_000,
  };
  if (firstCallError) r.firstCallError = firstCallError;
  return r;
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function main(): void {
  const args = JSON.parse(process.argv[2] ?? '{}') as LoadgenArgs;
  const clock = setInterval(() => {
    timeNow = ocppTime();
  }, 250);
  clock.unref();
  let chargers: Charger[] = [];
  for (let i = 0; i < args.count; i++) {
    const g = args.base + i;
    chargers.push(new Charger(`${args.prefix}${String(g).padStart(5, '0')}`, g));
  }
  const below = (limit: number) => chargers.filter((c) => c.index < limit);
  process.on('message', async (m: ParentMsg) => {
    switch (m.cmd) {
      case 'boot': {
        const { ok, msg } = await stage('booted', chargers, args.connectConcurrency, (c) => bootOne(c, args));
        chargers = ok;
        process.send?.(msg);
        break;
      }
      case 'prepare': {
        const { ok, msg } = await stage('prepared', chargers, 50, (c) => prepareOne(c, args));
        chargers = ok;
        process.send?.(msg);
        break;
      }
      case 'closed':
        process.send?.(await runClosed(below(m.below), m.ms));
        break;
      case 'open':
        process.send?.(await runOpen(below(m.below), m.ms, m.rate, m.heartbeatS, m.below));
        break;
      case 'quit':
        for (const c of chargers) c.ws?.terminate();
        process.exit(0);
    }
  });
  process.on('disconnect', () => process.exit(0));
  process.send?.({ type: 'loaded' });
}

main();
