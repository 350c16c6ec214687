// `npm run bench`: Ampere against two baselines behind the same load, in one run.
//
// For each target (raw ws limit, strict ocpp-rpc in memory, Ampere) it spawns the server as its own
// process, forks the load generator(s) as separate processes, and drives N chargers through
// boot → status → start, then MeterValues closed-loop (next CALL when the answer arrives) for S
// seconds, then open-loop at a fixed rate for latency. Server CPU and peak RSS come from
// /proc/PID of the server process. Everything binds to 127.0.0.1 and stops by itself.
import { type ChildProcess, fork, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { count, merge, newHist, quantileMs } from './hist.ts';
import type { LoadgenArgs, ParentMsg, PhaseResult, ReadyMsg } from './loadgen.ts';
import { cpuMs, machineJiffies, memMiB } from './proc.ts';
import { formatProfile, type ProfileSummary, summarizeProfile } from './profile.ts';
import { formatStart, runStartBench, type StartSummary } from './start.ts';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH);
const TARGETS = ['raw', 'ocpp-rpc', 'ampere'] as const;
type Target = (typeof TARGETS)[number];

const HELP = `Usage: npm run bench -- [flags]

  --chargers N       simulated chargers (default 1000)
  --seconds S        closed-loop duration per target (default 20)
  --open-seconds S   open-loop duration per target (default 10; 0 skips it)
  --rate R           open-loop MeterValues per charger per second (default 1)
  --generators G     load generator processes (default 1)
 --repeat K         run every target K times, interleaved; report each target's median run
  --only LIST        comma-separated subset of: raw, ocpp-rpc, ampere, start
                     (start: the start times of bench/start.ts, measured first)
  --start-runs N     rounds of start-time measurements (default 9)
  --quick            smoke run: 200 chargers, 5 s closed, 3 s open
  --profile          run Ampere under --cpu-prof and summarise where its time goes
                     (profiling slows it: use for the breakdown, not for the figures)
  --validation MODE  pass --validation tolerant|strict to ampere serve
  --no-smart         skip bench/smart.ts even if present
  --out FILE         JSON summary path (default bench/results/latest.json)
`;

interface Options {
  chargers: number;
  seconds: number;
  openSeconds: number;
  rate: number;
  generators: number;
  only: Target[];
  profile: boolean;
  validation?: string;
  smart: boolean;
  out: string;
  quick: boolean;
  repeat: number;
  /** bench/start.ts: start times of the CLI and the server (issue 14). */
  start: boolean;
  startRuns: number;
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    chargers: 1000,
    seconds: 20,
    openSeconds: 10,
    rate: 1,
    generators: 1,
    only: [...TARGETS],
    profile: false,
    smart: true,
    out: join(BENCH, 'results', 'latest.json'),
    quick: false,
    repeat: 1,
    start: true,
    startRuns: 9,
  };
  const set = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const [flag, inline] = a.includes('=') ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)] : [a, undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) fail(`${flag} needs a value`);
      return v;
    };
    const num = () => {
      const v = Number(value());
      if (!Number.isFinite(v) || v < 0) fail(`${flag} needs a non-negative number`);
      return v;
    };
    set.add(flag);
    switch (flag) {
      case '--chargers':
        o.chargers = Math.max(1, Math.floor(num()));
        break;
      case '--seconds':
        o.seconds = num();
        break;
      case '--open-seconds':
        o.openSeconds = num();
        break;
      case '--rate':
        o.rate = num();
        break;
      case '--generators':
        o.generators = Math.max(1, Math.floor(num()));
        break;
      case '--only': {
        const list = value()
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean);
        for (const t of list)
          if (!(TARGETS as readonly string[]).includes(t) && t !== 'start') fail(`unknown target "${t}"`);
        o.only = TARGETS.filter((t) => list.includes(t));
        o.start = list.includes('start');
        break;
      }
      case '--start-runs':
        o.startRuns = Math.max(1, Math.floor(num()));
        break;
      case '--repeat':
        o.repeat = Math.max(1, Math.floor(num()));
        break;
      case '--quick':
        o.quick = true;
        break;
      case '--profile':
        o.profile = true;
        break;
      case '--validation':
        o.validation = value();
        break;
      case '--no-smart':
        o.smart = false;
        break;
      case '--out':
        o.out = value();
        break;
      case '--help':
      case '-h':
        process.stdout.write(HELP);
        process.exit(0);
        break;
      default:
        fail(`unknown flag "${flag}"`);
    }
  }
  if (o.quick) {
    if (!set.has('--chargers')) o.chargers = 200;
    if (!set.has('--seconds')) o.seconds = 5;
    if (!set.has('--open-seconds')) o.openSeconds = 3;
  }
  return o;
}

function fail(msg: string): never {
  process.stderr.write(`bench: ${msg}\n\n${HELP}`);
  process.exit(2);
}

// ---- processes ----------------------------------------------------------------------------------

/** Every child still running, so an interrupted or overrunning bench leaves nothing behind. */
const children = new Set<ChildProcess>();

function track(proc: ChildProcess): ChildProcess {
  children.add(proc);
  proc.once('exit', () => children.delete(proc));
  return proc;
}

function killChildren(): void {
  for (const c of children) c.kill('SIGKILL');
}

interface Server {
  proc: ChildProcess;
  pid: number;
  url: string;
  dataDir?: string;
  profDir?: string;
}

function startServer(target: Target, o: Options): Promise<Server> {
  const node = process.execPath;
  let args: string[];
  let dataDir: string | undefined;
  let profDir: string | undefined;
  if (target === 'ampere') {
    dataDir = mkdtempSync(join(tmpdir(), 'ampere-bench-'));
    args = [];
    if (o.profile) {
      profDir = join(BENCH, 'results', 'profile');
      rmSync(profDir, { recursive: true, force: true });
      mkdirSync(profDir, { recursive: true });
      args.push('--cpu-prof', '--cpu-prof-dir', profDir);
    }
    args.push(join(ROOT, 'bin', 'ampere.js'), 'serve', '--host', '127.0.0.1', '--port', '0', '--data', dataDir);
    // The closed loop sends 15-40 messages/s per charger, far above what a real charger sends and
    // above the default per-charger flood limit (20/s, burst 200); the baselines have no limiter.
    args.push('--registration', 'open', '--log-level', 'warn', '--rate-limit', '0');
    if (o.validation) args.push('--validation', o.validation);
  } else {
    args = ['--import', 'tsx', join(BENCH, 'servers', `${target}.ts`)];
  }
  const proc = track(spawn(node, args, { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env } }));
  let stderr = '';
  proc.stderr!.on('data', (d: Buffer) => {
    stderr += d.toString();
    if (stderr.length > 20_000) stderr = stderr.slice(-10_000);
  });
  return new Promise((resolve, reject) => {
    let buf = '';
    const timer = setTimeout(() => {
      proc.kill('SIGKILL');
      reject(new Error(`${target}: no URL within 30 s\n${stderr}`));
    }, 30_000);
    proc.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`${target}: exited (${code}) before printing its URL\n${stderr}`));
    });
    proc.stdout!.on('data', function onData(d: Buffer) {
      buf += d.toString();
      const nl = buf.indexOf('\n');
      if (nl < 0) return;
      clearTimeout(timer);
      proc.stdout!.off('data', onData);
      proc.stdout!.resume();
      proc.removeAllListeners('exit');
      const url = buf.slice(0, nl).trim().replace(/^http/, 'ws');
      const s: Server = { proc, pid: proc.pid!, url };
      if (dataDir) s.dataDir = dataDir;
      if (profDir) s.profDir = profDir;
      // Surface server warnings, but keep them out of the table.
      proc.stderr!.on('data', (x: Buffer) => {
        if (process.env.BENCH_VERBOSE) process.stderr.write(`[${target}] ${x}`);
      });
      resolve(s);
    });
  });
}

function stopProcess(proc: ChildProcess, ms = 15_000): Promise<void> {
  return new Promise((resolve) => {
    if (proc.exitCode !== null || proc.signalCode !== null) return resolve();
    const t = setTimeout(() => proc.kill('SIGKILL'), ms);
    proc.once('exit', () => {
      clearTimeout(t);
      resolve();
    });
    proc.kill('SIGTERM');
  });
}

interface Generator {
  proc: ChildProcess;
  next<T>(): Promise<T>;
  send(m: ParentMsg): void;
}

function forkGenerator(args: LoadgenArgs): Generator {
  const proc = track(
    fork(join(BENCH, 'loadgen.ts'), [JSON.stringify(args)], {
      execArgv: ['--import', 'tsx'],
      cwd: ROOT,
      stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
    }),
  );
  const queue: unknown[] = [];
  const waiters: ((m: unknown) => void)[] = [];
  proc.on('message', (m) => {
    const w = waiters.shift();
    if (w) w(m);
    else queue.push(m);
  });
  let exitErr: Error | null = null;
  proc.on('exit', (code) => {
    exitErr = new Error(`load generator exited (${code})`);
    for (const w of waiters.splice(0)) w(exitErr);
  });
  return {
    proc,
    next<T>() {
      return new Promise<T>((resolve, reject) => {
        const settle = (m: unknown) => (m instanceof Error ? reject(m) : resolve(m as T));
        if (queue.length) settle(queue.shift());
        else if (exitErr) reject(exitErr);
        else waiters.push(settle);
      });
    },
    send(m) {
      proc.send(m);
    },
  };
}

// ---- measuring ----------------------------------------------------------------------------------

interface PhaseFigures {
  messagesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  p999Ms: number;
  maxBucketMs: number;
  /** Latency measured from the scheduled send time (open loop; includes generator lag). */
  p99FromScheduleMs: number;
  answered: number;
  callErrors: number;
  deferred: number;
  serverCpuPct: number;
  /** Server CPU time per answered message: the figure least disturbed by the shared cores. */
  serverCpuUsPerMsg: number;
  generatorCpuPct: number;
  /** Whole machine busy % during the phase (all cores = 100): shows contention from anything else. */
  machineBusyPct: number;
  /** CPU the server, generators and everything else used, in cores (2 = both cores of a 2-core box). */
  otherCores: number;
  firstCallError?: string;
}

interface TargetResult {
  target: Target;
  chargers: number;
  failedChargers: number;
  setupSeconds: number;
  closed: PhaseFigures;
  open?: PhaseFigures;
  peakRssMiB: number;
  rssAfterSetupMiB: number;
  /** Ampere only: meter_values rows in its database after shutdown vs MeterValues acknowledged. */
  storedMeterValues?: number;
  acknowledgedMeterValues?: number;
  firstSetupError?: string;
  /** With --repeat: every run's closed-loop rate (the median run is reported). */
  allRunsMessagesPerSecond?: number[];
}

async function runPhase(
  server: Server,
  gens: Generator[],
  msg: ParentMsg & { ms: number },
  windowMs: number,
): Promise<PhaseFigures> {
  const cpu0 = cpuMs(server.pid);
  const m0 = machineJiffies();
  const t0 = performance.now();
  for (const g of gens) g.send(msg);
  const results = await Promise.all(gens.map((g) => g.next<PhaseResult & { firstCallError?: string }>()));
  const wall = performance.now() - t0;
  const cpu = cpuMs(server.pid) - cpu0;
  const m1 = machineJiffies();
  const hist = newHist();
  const sched = newHist();
  let inWindow = 0;
  let answered = 0;
  let callErrors = 0;
  let deferred = 0;
  let genCpu = 0;
  let firstCallError: string | undefined;
  for (const r of results) {
    merge(hist, r.hist);
    merge(sched, r.histFromSchedule);
    inWindow += r.inWindow;
    answered += r.completed;
    callErrors += r.callErrors;
    deferred += r.deferred;
    genCpu += r.generatorCpuMs;
    firstCallError ??= r.firstCallError;
  }
  const f: PhaseFigures = {
    messagesPerSecond: Math.round((inWindow / windowMs) * 1_000),
    p50Ms: quantileMs(hist, 0.5),
    p99Ms: quantileMs(hist, 0.99),
    p999Ms: quantileMs(hist, 0.999),
    maxBucketMs: quantileMs(hist, 1),
    p99FromScheduleMs: quantileMs(sched, 0.99),
    answered,
    callErrors,
    deferred,
    serverCpuPct: Math.round((cpu / wall) * 100),
    serverCpuUsPerMsg: answered ? Math.round((cpu * 1_000) / answered) : Number.NaN,
    generatorCpuPct: Math.round((genCpu / wall) * 100),
    machineBusyPct: Math.round(((m1.busy - m0.busy) / (m1.total - m0.total)) * 100),
    otherCores: 0,
  };
  // Cores used by processes other than the server and the generators (other work on the box).
  const cores = cpus().length;
  f.otherCores = round(Math.max(0, (f.machineBusyPct * cores - f.serverCpuPct - f.generatorCpuPct) / 100), 2);
  if (firstCallError) f.firstCallError = firstCallError;
  if (count(hist) !== answered) f.answered = count(hist);
  return f;
}

async function benchTarget(target: Target, o: Options): Promise<{ result: TargetResult; server: Server }> {
  const server = await startServer(target, o);
  const gens: Generator[] = [];
  try {
    const per = Math.ceil(o.chargers / o.generators);
    const t0 = performance.now();
    for (let g = 0, base = 0; g < o.generators && base < o.chargers; g++, base += per) {
      gens.push(
        forkGenerator({
          url: server.url,
          base,
          count: Math.min(per, o.chargers - base),
          total: o.chargers,
          prefix: 'BENCH-',
          idTag: 'BENCHTAG1',
          connectConcurrency: 50,
        }),
      );
    }
    const ready = await Promise.all(gens.map((g) => g.next<ReadyMsg>()));
    const setupSeconds = (performance.now() - t0) / 1_000;
    const connected = ready.reduce((n, r) => n + r.connected, 0);
    const failed = ready.reduce((n, r) => n + r.failed, 0);
    const firstSetupError = ready.find((r) => r.firstError)?.firstError;
    if (connected === 0) throw new Error(`${target}: no charger got through setup: ${firstSetupError}`);
    const rssAfterSetupMiB = memMiB(server.pid, 'VmRSS');
    await sleep(500);
    progress(`  ${target}: ${connected} chargers ready in ${setupSeconds.toFixed(1)} s; closed loop ${o.seconds} s`);
    const closedMs = o.seconds * 1_000;
    const closed = await runPhase(server, gens, { cmd: 'closed', ms: closedMs }, closedMs);
    let open: PhaseFigures | undefined;
    if (o.openSeconds > 0 && o.rate > 0) {
      await sleep(1_000);
      progress(`  ${target}: open loop ${o.openSeconds} s at ${connected * o.rate} msg/s`);
      const openMs = o.openSeconds * 1_000;
      open = await runPhase(server, gens, { cmd: 'open', ms: openMs, rate: o.rate }, openMs);
    }
    const peakRssMiB = memMiB(server.pid, 'VmHWM');
    const result: TargetResult = {
      target,
      chargers: connected,
      failedChargers: failed,
      setupSeconds: round(setupSeconds, 1),
      closed,
      peakRssMiB: round(peakRssMiB, 1),
      rssAfterSetupMiB: round(rssAfterSetupMiB, 1),
    };
    if (open) result.open = open;
    if (firstSetupError) result.firstSetupError = firstSetupError;
    if (target === 'ampere') {
      result.acknowledgedMeterValues =
        closed.answered - closed.callErrors + (open ? open.answered - open.callErrors : 0);
    }
    return { result, server };
  } finally {
    for (const g of gens) {
      if (g.proc.connected) g.send({ cmd: 'quit' });
    }
    await Promise.all(gens.map((g) => stopProcess(g.proc, 5_000)));
    await stopProcess(server.proc);
  }
}

async function countStoredMeterValues(dataDir: string): Promise<number | undefined> {
  try {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(join(dataDir, 'ampere.db'), { readonly: true });
    const row = db.prepare('SELECT count(*) AS n FROM meter_values').get() as { n: number };
    db.close();
    return row.n;
  } catch (e) {
    progress(`  (could not count stored meter values: ${(e as Error).message})`);
    return undefined;
  }
}

// ---- reporting ----------------------------------------------------------------------------------

function round(x: number, d = 2): number {
  const f = 10 ** d;
  return Math.round(x * f) / f;
}

function progress(s: string): void {
  process.stderr.write(`${s}\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function fmt(x: number | undefined, d = 1): string {
  if (x === undefined || Number.isNaN(x)) return '-';
  if (!Number.isFinite(x)) return '>10s';
  return x.toFixed(d);
}

function table(rows: string[][]): string {
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => (r[i] ?? '').length)));
  return rows
    .map((r) => r.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  '))
    .join('\n');
}

function report(results: TargetResult[], o: Options): string {
  const out: string[] = [];
  out.push(
    `\nClosed loop: ${o.chargers} chargers, MeterValues (energy, power, 3× current, 3× voltage), ${o.seconds} s each`,
  );
  const head = [
    'target',
    'msg/s',
    'p50 ms',
    'p99 ms',
    'srv CPU %',
    'CPU µs/msg',
    'gen CPU %',
    'other cores',
    'peak RSS MiB',
    'errors',
  ];
  out.push(
    table([
      head,
      ...results.map((r) => [
        r.target,
        String(r.closed.messagesPerSecond),
        fmt(r.closed.p50Ms, 2),
        fmt(r.closed.p99Ms, 2),
        String(r.closed.serverCpuPct),
        String(r.closed.serverCpuUsPerMsg),
        String(r.closed.generatorCpuPct),
        fmt(r.closed.otherCores, 2),
        fmt(r.peakRssMiB, 0),
        String(r.closed.callErrors + r.failedChargers),
      ]),
    ]),
  );
  for (const r of results) {
    if (r.allRunsMessagesPerSecond)
      out.push(`  ${r.target} runs (msg/s): ${r.allRunsMessagesPerSecond.join(', ')} (median shown)`);
  }
  if (results.some((r) => r.open)) {
    out.push(`\nOpen loop: ${o.chargers} chargers × ${o.rate} msg/s, ${o.openSeconds} s each`);
    out.push(
      table([
        [
          'target',
          'msg/s',
          'p50 ms',
          'p99 ms',
          'p99.9 ms',
          'p99 sched ms',
          'srv CPU %',
          'other cores',
          'deferred',
          'errors',
        ],
        ...results
          .filter((r) => r.open)
          .map((r) => {
            const p = r.open!;
            return [
              r.target,
              String(p.messagesPerSecond),
              fmt(p.p50Ms, 2),
              fmt(p.p99Ms, 2),
              fmt(p.p999Ms, 2),
              fmt(p.p99FromScheduleMs, 2),
              String(p.serverCpuPct),
              fmt(p.otherCores, 2),
              String(p.deferred),
              String(p.callErrors),
            ];
          }),
      ]),
    );
  }
  const ratios = computeRatios(results);
  if (ratios) {
    out.push('\nAmpere ratios (closed-loop msg/s; CPU µs/msg as baseline ÷ Ampere, higher = better):');
    for (const [k, v] of Object.entries(ratios)) out.push(`  ${k.padEnd(26)} ${fmt(v, 2)}×`);
  }
  const targets = checkTargets(results);
  if (targets.length) {
    out.push('\nTargets (issue 2):');
    for (const t of targets) out.push(`  ${t.ok ? 'MET ' : 'MISS'}  ${t.what}: ${t.value}`);
  }
  out.push(
    "\n'other cores': CPU used by processes outside this bench during the phase; above ~0.2 the figures are disturbed.",
  );
  for (const r of results) {
    if (r.firstSetupError) out.push(`${r.target}: ${r.failedChargers} chargers failed setup: ${r.firstSetupError}`);
    if (r.closed.firstCallError) out.push(`${r.target}: first CALLERROR: ${r.closed.firstCallError}`);
    if (r.storedMeterValues !== undefined) {
      out.push(
        `${r.target}: ${r.storedMeterValues} meter_values rows stored, ${r.acknowledgedMeterValues} MeterValues acknowledged` +
          (r.storedMeterValues >= (r.acknowledgedMeterValues ?? 0)
            ? ' (all acknowledged values stored)'
            : ' (MISSING!)'),
      );
    }
  }
  return out.join('\n');
}

function computeRatios(results: TargetResult[]): Record<string, number> | undefined {
  const get = (t: Target) => results.find((r) => r.target === t);
  const a = get('ampere');
  if (!a) return undefined;
  const r: Record<string, number> = {};
  for (const base of ['raw', 'ocpp-rpc'] as const) {
    const b = get(base);
    if (!b) continue;
    r[`msg/s vs ${base}`] = round(a.closed.messagesPerSecond / b.closed.messagesPerSecond);
    r[`CPU/msg vs ${base}`] = round(b.closed.serverCpuUsPerMsg / a.closed.serverCpuUsPerMsg);
    if (a.open && b.open) r[`open p99 vs ${base}`] = round(a.open.p99Ms / b.open.p99Ms);
  }
  return Object.keys(r).length ? r : undefined;
}

interface TargetCheck {
  what: string;
  value: string;
  ok: boolean;
}

function checkTargets(results: TargetResult[]): TargetCheck[] {
  const a = results.find((r) => r.target === 'ampere');
  if (!a) return [];
  const out: TargetCheck[] = [];
  const rpc = results.find((r) => r.target === 'ocpp-rpc');
  const raw = results.find((r) => r.target === 'raw');
  if (rpc) {
    const x = a.closed.messagesPerSecond / rpc.closed.messagesPerSecond;
    out.push({ what: 'closed-loop msg/s ≥ 1.0× ocpp-rpc', value: `${fmt(x, 2)}×`, ok: x >= 1 });
  }
  if (raw) {
    const x = a.closed.messagesPerSecond / raw.closed.messagesPerSecond;
    out.push({ what: 'closed-loop msg/s ≥ 0.75× raw', value: `${fmt(x, 2)}×`, ok: x >= 0.75 });
  }
  if (a.open) out.push({ what: 'open-loop p99 ≤ 10 ms', value: `${fmt(a.open.p99Ms, 2)} ms`, ok: a.open.p99Ms <= 10 });
  const lost = (a.acknowledgedMeterValues ?? 0) - (a.storedMeterValues ?? Number.POSITIVE_INFINITY);
  if (a.storedMeterValues !== undefined) {
    out.push({
      what: 'every acknowledged MeterValues stored',
      value: lost > 0 ? `${lost} missing` : 'yes',
      ok: lost <= 0,
    });
  }
  return out;
}

async function runSmart(): Promise<unknown> {
  const file = join(BENCH, 'smart.ts');
  if (!existsSync(file)) return undefined;
  const spec = './smart.ts'; // not a literal: the file may not exist when this is type-checked
  const mod = (await import(spec)) as { runSmartBench?: () => unknown };
  if (typeof mod.runSmartBench !== 'function') {
    progress('bench/smart.ts has no runSmartBench(): skipped');
    return undefined;
  }
  progress('smart-charging bench (bench/smart.ts)…');
  return await mod.runSmartBench();
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  // Bounded no matter what: setup, both phases and teardown per target, with generous slack.
  const budgetS =
    o.repeat * o.only.length * (90 + o.seconds + o.openSeconds + 25) + 120 + (o.start ? o.startRuns * 30 : 0);
  const watchdog = setTimeout(() => {
    process.stderr.write(`bench: over its ${budgetS} s budget, stopping\n`);
    killChildren();
    process.exit(1);
  }, budgetS * 1_000);
  watchdog.unref();
  for (const sig of ['SIGINT', 'SIGTERM'] as const) {
    process.on(sig, () => {
      killChildren();
      process.exit(130);
    });
  }
  if (o.only.length > 0)
    progress(
      `bench: ${o.only.join(', ')} · ${o.chargers} chargers · closed ${o.seconds} s · open ${o.openSeconds} s × ${o.rate}/s · ${o.generators} generator(s) · ${cpus().length} cores`,
    );
  // Start times first, while no server of this bench is running.
  let start: StartSummary | undefined;
  if (o.start) start = await runStartBench({ runs: o.startRuns, progress, track });
  if (start && o.only.length === 0) {
    process.stdout.write(`${formatStart(start)}\n`);
    writeSummary(o, {
      date: new Date().toISOString(),
      machine: { cores: cpus().length, node: process.version },
      start,
    });
    return;
  }
  const results: TargetResult[] = [];
  let profile: ProfileSummary | undefined;
  const runs = new Map<Target, TargetResult[]>();
  for (let rep = 0; rep < o.repeat; rep++) {
    for (const target of o.only) {
      progress(o.repeat > 1 ? `${target} (run ${rep + 1}/${o.repeat})…` : `${target}…`);
      const { result, server } = await benchTarget(target, o);
      if (server.dataDir) {
        const stored = await countStoredMeterValues(server.dataDir);
        if (stored !== undefined) result.storedMeterValues = stored;
        rmSync(server.dataDir, { recursive: true, force: true });
      }
      if (server.profDir) {
        const f = readdirSync(server.profDir).find((n) => n.endsWith('.cpuprofile'));
        if (f) profile = summarizeProfile(join(server.profDir, f), 30);
        else progress('  (no .cpuprofile written: did the server exit cleanly?)');
      }
      runs.set(target, [...(runs.get(target) ?? []), result]);
    }
  }
  // With --repeat, each target's run with the median closed-loop rate stands for it.
  for (const target of o.only) {
    const list = [...(runs.get(target) ?? [])].sort((a, b) => a.closed.messagesPerSecond - b.closed.messagesPerSecond);
    const median = list[Math.floor((list.length - 1) / 2)];
    if (!median) continue;
    if (list.length > 1) median.allRunsMessagesPerSecond = list.map((r) => r.closed.messagesPerSecond);
    results.push(median);
  }
  let smart: unknown;
  if (o.smart) {
    try {
      smart = await runSmart();
    } catch (e) {
      progress(`smart bench failed: ${(e as Error).stack ?? e}`);
      smart = { error: String((e as Error).message ?? e) };
    }
  }

  const text = report(results, o);
  if (start) process.stdout.write(`${formatStart(start)}\n`);
  process.stdout.write(`${text}\n`);
  if (profile) process.stdout.write(`\n${formatProfile(profile)}\n`);
  if (smart !== undefined) process.stdout.write(`\nSmart charging:\n${JSON.stringify(smart, null, 2)}\n`);

  const summary = {
    date: new Date().toISOString(),
    machine: { cores: cpus().length, cpu: cpus()[0]?.model, node: process.version, loadavgAtEnd: loadavg() },
    options: { ...o, out: undefined },
    results,
    ratios: computeRatios(results),
    targets: checkTargets(results),
    profile,
    smart,
    start,
  };
  writeSummary(o, summary);
}

function writeSummary(o: Options, summary: Record<string, unknown>): void {
  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(o.out, `${JSON.stringify(summary, null, 2)}\n`);
  progress(`\nJSON summary: ${o.out}`);
}

main().then(
  () => process.exit(0),
  (e) => {
    process.stderr.write(`bench: ${(e as Error).stack ?? e}\n`);
    killChildren();
    process.exit(1);
  },
);
