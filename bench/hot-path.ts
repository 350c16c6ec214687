// The hot path alone: MeterValues through Ampere's session, handlers, event bus and store (a real
// SQLite file, its writer thread, commit before answer) in this process, with no sockets. Fake
// chargers are attached to the central system as the gateway attaches them; each sends its next
// MeterValues when its answer comes (closed loop). It reports CPU time per message, of the whole
// process and of the main thread, which the other processes on a shared machine disturb far less
// than msg/s. For iterating on src/ocpp, src/central and src/store; `npm run bench` is the verdict.
//
//   node --import tsx bench/hot-path.ts [--chargers 1000] [--seconds 10] [--cpu-prof]
//   node --import tsx bench/hot-path.ts --rate 5     # open loop instead: R MeterValues per charger
//                                                     # per second; latency and event-loop stalls
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay, performance } from 'node:perf_hooks';
import { startServer } from '../src/app/server.ts';
import { loadServeConfig } from '../src/config/index.ts';
import { bootFrame, meterFrame, meterMiddle, ocppTime, startFrame, statusFrame } from './frames.ts';
import { mainThreadCpuMs } from './proc.ts';

function flag(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}

const chargers = flag('--chargers', 1000);
const seconds = flag('--seconds', 10);
/** Open loop: MeterValues per charger per second (0 = closed loop). */
const rate = flag('--rate', 0);
const dir = mkdtempSync(join(tmpdir(), 'ampere-hot-'));
const config = loadServeConfig(
  [
    '--host',
    '127.0.0.1',
    '--port',
    '0',
    '--data',
    dir,
    '--registration',
    'open',
    '--log-level',
    'warn',
    '--rate-limit',
    '0',
  ],
  {},
);
const server = await startServer(config);
const { central } = server;

interface Fake {
  id: string;
  link: ReturnType<typeof central.link> & object;
  waiter: ((text: string) => void) | null;
  mid: string;
  seq: number;
  energy: number;
}

let phase: 'setup' | 'loop' | 'done' = 'setup';
let answered = 0;
let ready: Fake[] = [];
let scheduled = false;
const time = ocppTime();

/** Next MeterValues of every charger answered in this turn, on the next turn (as I/O would). */
function feed(): void {
  scheduled = false;
  const batch = ready;
  ready = [];
  for (const f of batch) {
    f.seq++;
    f.energy += 3;
    central.receive(f.link, meterFrame(`m${f.seq}`, f.mid, time, f.energy));
  }
}

function onAnswer(f: Fake, text: string): void {
  if (text.charCodeAt(1) === 0x32) {
    // A CALL from the server (the trigger on connect): answer it as the bench's chargers do.
    const id = (JSON.parse(text) as [number, string])[1];
    setImmediate(() => central.receive(f.link, `[4,${JSON.stringify(id)},"NotSupported","hot-path charger",{}]`));
    return;
  }
  if (f.waiter) {
    f.waiter(text);
    return;
  }
  if (text.charCodeAt(1) !== 0x33) throw new Error(`${f.id}: ${text.slice(0, 200)}`);
  answered++;
  if (phase !== 'loop') return;
  ready.push(f);
  if (!scheduled) {
    scheduled = true;
    setImmediate(feed);
  }
}

function call(f: Fake, frame: string): Promise<unknown> {
  return new Promise((resolve, reject) => {
    f.waiter = (text) => {
      f.waiter = null;
      const msg = JSON.parse(text) as unknown[];
      if (msg[0] === 3) resolve(msg[2]);
      else reject(new Error(text));
    };
    central.receive(f.link, frame);
  });
}

const fakes: Fake[] = [];
for (let i = 0; i < chargers; i++) {
  const f = { id: `HOT-${i}`, waiter: null, mid: '', seq: 0, energy: 0 } as unknown as Fake;
  f.link = (await central.attach(
    f.id,
    { send: (text) => onAnswer(f, text), close: () => {} },
    '127.0.0.1',
  )) as Fake['link'];
  await call(f, bootFrame('b1', f.id));
  await call(f, statusFrame('s1', 1, 'Charging'));
  const start = (await call(f, startFrame('t1', 'HOTTAG'))) as { transactionId: number };
  f.mid = meterMiddle(start.transactionId);
  fakes.push(f);
}

if (rate > 0) await openLoop();

/**
 * The open loop: every charger sends `rate` MeterValues a second, spread evenly, whether or not
 * the last was answered; reports the answer latency and the event loop's stalls, which is where a
 * p99 over a few milliseconds comes from when the process is far from busy.
 */
async function openLoop(): Promise<never> {
  const sentAt = new Map<Fake, number[]>();
  const lat: number[] = [];
  for (const f of fakes) {
    sentAt.set(f, []);
    f.waiter = (text) => {
      if (text.charCodeAt(1) !== 0x33) throw new Error(`${f.id}: ${text.slice(0, 200)}`);
      const t0 = sentAt.get(f)!.shift();
      if (t0 !== undefined && phase === 'loop') lat.push(performance.now() - t0);
    };
  }
  const send = (f: Fake) => {
    f.seq++;
    f.energy += 3;
    sentAt.get(f)!.push(performance.now());
    central.receive(f.link, meterFrame(`m${f.seq}`, f.mid, time, f.energy));
  };
  const period = 1000 / rate;
  const tick = 5;
  let cursor = 0;
  let sentCount = 0;
  const start = performance.now();
  const perTick = (fakes.length * tick) / period;
  let owed = 0;
  const timer = setInterval(() => {
    owed += perTick;
    while (owed >= 1) {
      send(fakes[cursor]!);
      cursor = (cursor + 1) % fakes.length;
      owed--;
      sentCount++;
    }
  }, tick);
  await new Promise((r) => setTimeout(r, 2_000));
  lat.length = 0;
  phase = 'loop';
  const loop = monitorEventLoopDelay({ resolution: 1 });
  loop.enable();
  const cpu0 = process.cpuUsage();
  const t0 = performance.now();
  await new Promise((r) => setTimeout(r, seconds * 1_000));
  loop.disable();
  phase = 'done';
  clearInterval(timer);
  const wall = performance.now() - t0;
  const cpu = process.cpuUsage(cpu0);
  lat.sort((a, b) => a - b);
  const q = (p: number) => (lat[Math.min(lat.length - 1, Math.floor(p * lat.length))] ?? Number.NaN).toFixed(2);
  process.stdout.write(
    `open loop ${fakes.length} chargers × ${rate}/s, ${seconds} s: ${Math.round((lat.length / wall) * 1000)} msg/s answered; ` +
      `latency p50 ${q(0.5)} p99 ${q(0.99)} p99.9 ${q(0.999)} max ${q(1 - 1e-9)} ms; ` +
      `event-loop delay p99 ${(loop.percentile(99) / 1e6).toFixed(1)} max ${(loop.max / 1e6).toFixed(1)} ms; ` +
      `CPU ${Math.round(((cpu.user + cpu.system) / 1000 / wall) * 100)} % (sent ${sentCount} in ${Math.round(performance.now() - start)} ms)\n`,
  );
  await new Promise((r) => setTimeout(r, 500));
  await server.close();
  rmSync(dir, { recursive: true, force: true });
  process.exit(0);
}

// Warm up (JIT, writer thread start), then measure.
phase = 'loop';
ready = [...fakes];
feed();
await new Promise((r) => setTimeout(r, 2_000));
const a0 = answered;
const cpu0 = process.cpuUsage();
const main0 = mainThreadCpuMs(process.pid);
const t0 = performance.now();
await new Promise((r) => setTimeout(r, seconds * 1_000));
const n = answered - a0;
const wall = performance.now() - t0;
const cpu = process.cpuUsage(cpu0);
const mainMs = mainThreadCpuMs(process.pid) - main0;
phase = 'done';
await new Promise((r) => setTimeout(r, 500));
const total = (cpu.user + cpu.system) / 1_000;
process.stdout.write(
  `${chargers} chargers, ${seconds} s: ${Math.round((n / wall) * 1_000)} msg/s, ` +
    `CPU ${((total * 1_000) / n).toFixed(1)} µs/msg (main thread ${((mainMs * 1_000) / n).toFixed(1)} µs/msg), ` +
    `${Math.round((total / wall) * 100)} % CPU\n`,
);
await server.close();
rmSync(dir, { recursive: true, force: true });
process.exit(0);
