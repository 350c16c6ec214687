// The hot path alone: MeterValues through Ampere's session, handlers, event bus and store (a real
// SQLite file, its writer thread, commit before answer) in this process, with no sockets. Fake
// chargers are attached to the central system as the gateway attaches them; each sends its next
// MeterValues when its answer comes (closed loop). It reports CPU time per message, of the whole
// process and of the main thread, which the other processes on a shared machine disturb far less
// than msg/s. For iterating on src/ocpp, src/central and src/store; `npm run bench` is the verdict.
//
//   node --import tsx bench/hot-path.ts [--chargers 1000] [--seconds 10] [--cpu-prof]
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
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
