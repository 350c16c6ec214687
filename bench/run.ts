// `npm run bench`: Ampere against two baselines behind the same load, in one run.
//
// For each target (raw ws limit, strict ocpp-rpc in memory, Ampere) it runs the server twice, each
// time as its own process with forked load generators:
//  - the fleet run: a reconnect storm of --fleet chargers (connect + BootNotification, --storm at
//    once), their idle memory, then an open loop of one MeterValues per charger every 10 s plus
//    heartbeats (p99 latency);
//  - the load run: --chargers chargers, MeterValues closed loop (next CALL when the answer
//    arrives) for all of them and then for the first --small, then an open loop at --rate.
// Server CPU and memory come from /proc/PID. Everything binds to 127.0.0.1 and stops by itself.
import { type ChildProcess, fork, spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { count, merge, newHist, quantileMs } from './hist.ts';
import type { LoadgenArgs, ParentMsg, PhaseResult, StageMsg } from './loadgen.ts';
import { cpuMs, machineJiffies, mainThreadCpuMs, memMiB, openFileLimits } from './proc.ts';
import { formatProfile, type ProfileSummary, summarizeProfile } from './profile.ts';
import { ensureBuild, formatStart, runStartBench, type StartSummary } from './start.ts';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH);
const TARGETS = ['raw', 'ocpp-rpc', 'ampere'] as const;
type Target = (typeof TARGETS)[number];

const HELP = `Usage: npm run bench -- [flags]

  --chargers N        chargers of the load run (default 1000)
  --small N           closed loop again over the first N of them (default 100; 0 skips)
  --seconds S         closed-loop duration (default 15)
  --small-seconds S   closed-loop duration with --small chargers (default 10)
  --rate R            load run, open loop: MeterValues per charger per second (default 5)
  --open-seconds S    load run, open-loop duration (default 10; 0 skips it)
  --fleet N           chargers of the fleet run (default 10000; 0 skips the fleet run)
  --storm N           fleet run: connections opened at once in the reconnect storm (default 400)
  --fleet-rate R      fleet run: MeterValues per charger per second (default 0.1)
  --fleet-heartbeat S fleet run: a Heartbeat per charger every S seconds (default 30; 0 = none)
  --fleet-seconds S   fleet run, open-loop duration (default 20)
  --storm-only        fleet run: the reconnect storm alone (no idle memory, no open loop), e.g.
                      with --profile-fleet to see where a boot's time goes
  --generators G      load generator processes (default 2)
  --repeat K          run every target K times, interleaved; report each target's median run
  --only LIST         comma-separated subset of: raw, ocpp-rpc, ampere, start
                      (start: the start times of bench/start.ts, measured first)
                      (--only cluster: several nodes on PostgreSQL behind HAProxy, bench/cluster.ts)
  --start-runs N      rounds of start-time measurements (default 9)
  --quick             smoke run: 200 chargers (50 small), fleet 1000, 5 s phases
  --profile           run Ampere's load run under --cpu-prof and summarise where its time goes
                      (profiling slows it: use for the breakdown, not for the figures)
  --profile-fleet     the same for Ampere's fleet run (storm, idle, slow open loop)
  --profile-target T  profile target T instead of Ampere (raw, ocpp-rpc: to compare breakdowns)
  --node-flags "F"    extra node flags for Ampere's server (e.g. "--max-semi-space-size=64")
  --validation MODE   pass --validation tolerant|strict to ampere serve
  --no-smart          skip bench/smart.ts even if present
  --out FILE          JSON summary path (default bench/results/latest.json)
`;

interface Options {
  chargers: number;
  small: number;
  seconds: number;
  smallSeconds: number;
  openSeconds: number;
  rate: number;
  fleet: number;
  storm: number;
  fleetRate: number;
  fleetHeartbeat: number;
  fleetSeconds: number;
  stormOnly: boolean;
  generators: number;
  only: Target[];
  profile: 'load' | 'fleet' | undefined;
  profileTarget: Target;
  nodeFlags: string[];
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
    small: 100,
    seconds: 15,
    smallSeconds: 10,
    openSeconds: 10,
    rate: 5,
    fleet: 10_000,
    storm: 400,
    fleetRate: 0.1,
    fleetHeartbeat: 30,
    fleetSeconds: 20,
    stormOnly: false,
    generators: 2,
    only: [...TARGETS],
    profile: undefined,
    profileTarget: 'ampere',
    nodeFlags: [],
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
    const int = (min: number) => Math.max(min, Math.floor(num()));
    set.add(flag);
    switch (flag) {
      case '--chargers':
        o.chargers = int(1);
        break;
      case '--small':
        o.small = int(0);
        break;
      case '--seconds':
        o.seconds = num();
        break;
      case '--small-seconds':
        o.smallSeconds = num();
        break;
      case '--open-seconds':
        o.openSeconds = num();
        break;
      case '--rate':
        o.rate = num();
        break;
      case '--fleet':
        o.fleet = int(0);
        break;
      case '--storm':
        o.storm = int(1);
        break;
      case '--fleet-rate':
        o.fleetRate = num();
        break;
      case '--fleet-heartbeat':
        o.fleetHeartbeat = num();
        break;
      case '--fleet-seconds':
        o.fleetSeconds = num();
        break;
      case '--storm-only':
        o.stormOnly = true;
        break;
      case '--generators':
        o.generators = int(1);
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
        o.startRuns = int(1);
        break;
      case '--repeat':
        o.repeat = int(1);
        break;
      case '--quick':
        o.quick = true;
        break;
      case '--profile':
        o.profile = 'load';
        break;
      case '--profile-fleet':
        o.profile = 'fleet';
        break;
      case '--profile-target':
        o.profileTarget = value() as Target;
        break;
      case '--node-flags':
        o.nodeFlags = value()
          .split(' ')
          .filter((f) => f !== '');
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
    const dflt = (flag: string, apply: () => void) => {
      if (!set.has(flag)) apply();
    };
    dflt('--chargers', () => (o.chargers = 200));
    dflt('--small', () => (o.small = 50));
    dflt('--seconds', () => (o.seconds = 5));
    dflt('--small-seconds', () => (o.smallSeconds = 3));
    dflt('--open-seconds', () => (o.openSeconds = 3));
    dflt('--fleet', () => (o.fleet = 1000));
    dflt('--fleet-seconds', () => (o.fleetSeconds = 5));
  }
  if (o.small >= o.chargers) o.small = 0;
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

function startServer(target: Target, o: Options, profile: boolean): Promise<Server> {
  const node = process.execPath;
  const args: string[] = [];
  let dataDir: string | undefined;
  let profDir: string | undefined;
  if (profile) {
    profDir = join(BENCH, 'results', 'profile');
    rmSync(profDir, { recursive: true, force: true });
    mkdirSync(profDir, { recursive: true });
    args.push('--cpu-prof', '--cpu-prof-dir', profDir);
  }
  if (target === 'ampere') {
    dataDir = mkdtempSync(join(tmpdir(), 'ampere-bench-'));
    args.push(...o.nodeFlags);
    args.push(join(ROOT, 'bin', 'ampere.js'), 'serve', '--host', '127.0.0.1', '--port', '0', '--data', dataDir);
    // The closed loop sends 15-40 messages/s per charger, far above what a real charger sends and
    // above the default per-charger flood limit (20/s, burst 200); the baselines have no limiter.
    args.push('--registration', 'open', '--log-level', 'warn', '--rate-limit', '0');
    if (o.validation) args.push('--validation', o.validation);
  } else {
    args.push('--import', 'tsx', join(BENCH, 'servers', `${target}.ts`));
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
  /** The server's main thread alone (the rest: writer thread, checkpointer, GC helpers, libuv). */
  mainThreadCpuPct: number;
  /** Server CPU time per answered message: the figure least disturbed by the shared cores. */
  serverCpuUsPerMsg: number;
  generatorCpuPct: number;
  /** Whole machine busy % during the phase (all cores = 100): shows contention from anything else. */
  machineBusyPct: number;
  /** CPU used outside the server and the generators, in cores (2 = both cores of a 2-core box). */
  otherCores: number;
  firstCallError?: string;
}

/** --chargers chargers: closed loop over all, then over the first --small, then open loop. */
interface LoadRun {
  chargers: number;
  failedChargers: number;
  firstSetupError?: string;
  closed: PhaseFigures;
  small?: PhaseFigures;
  open?: PhaseFigures;
  peakRssMiB: number;
  /** Ampere only: meter_values rows in its database after shutdown vs MeterValues acknowledged. */
  storedMeterValues?: number;
  acknowledgedMeterValues?: number;
}

/** --fleet chargers: reconnect storm, idle memory, slow open loop with heartbeats. */
interface FleetRun {
  chargers: number;
  failedChargers: number;
  firstSetupError?: string;
  /** From the first connection to the last BootNotification answered. */
  stormSeconds: number;
  /** Server CPU time per charger during the storm (steadier than the time on a busy machine). */
  stormCpuMsPerCharger: number;
  /** The server's main thread alone (the rest: Ampere's writer thread, checkpointer, GC helpers). */
  stormMainCpuMsPerCharger: number;
  /** Server RSS before the first connection and with every charger connected, booted and idle. */
  rssBeforeMiB: number;
  rssIdleMiB: number;
  idleKiBPerCharger: number;
  open?: PhaseFigures;
  /** Ampere only: chargers whose boot is in the database after shutdown. */
  bootsRecorded?: number;
}

interface TargetResult {
  target: Target;
  load?: LoadRun;
  fleet?: FleetRun;
  /** With --repeat: every run's closed-loop rate (the median run is reported). */
  allRunsMessagesPerSecond?: number[];
}

async function runPhase(server: Server, gens: Generator[], msg: ParentMsg, windowMs: number): Promise<PhaseFigures> {
  const cpu0 = cpuMs(server.pid);
  const main0 = mainThreadCpuMs(server.pid);
  const m0 = machineJiffies();
  const t0 = performance.now();
  for (const g of gens) g.send(msg);
  const results = await Promise.all(gens.map((g) => g.next<PhaseResult>()));
  const wall = performance.now() - t0;
  const cpu = cpuMs(server.pid) - cpu0;
  const mainCpu = mainThreadCpuMs(server.pid) - main0;
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
    answered: count(hist),
    callErrors,
    deferred,
    serverCpuPct: Math.round((cpu / wall) * 100),
    mainThreadCpuPct: Math.round((mainCpu / wall) * 100),
    serverCpuUsPerMsg: answered ? Math.round((cpu * 1_000) / answered) : Number.NaN,
    generatorCpuPct: Math.round((genCpu / wall) * 100),
    machineBusyPct: Math.round(((m1.busy - m0.busy) / (m1.total - m0.total)) * 100),
    otherCores: 0,
  };
  const cores = cpus().length;
  f.otherCores = round(Math.max(0, (f.machineBusyPct * cores - f.serverCpuPct - f.generatorCpuPct) / 100), 2);
  if (firstCallError) f.firstCallError = firstCallError;
  return f;
}

/** Forks the generators for `n` chargers, each waiting for its first command. */
async function forkGenerators(server: Server, o: Options, n: number): Promise<Generator[]> {
  const gens: Generator[] = [];
  const per = Math.ceil(n / o.generators);
  for (let g = 0, base = 0; g < o.generators && base < n; g++, base += per) {
    gens.push(
      forkGenerator({
        url: server.url,
        base,
        count: Math.min(per, n - base),
        total: n,
        prefix: 'BENCH-',
        idTag: 'BENCHTAG1',
        // The storm's connections opened at once, shared by the generators.
        connectConcurrency: Math.ceil(o.storm / Math.min(o.generators, Math.ceil(n / per))),
      }),
    );
  }
  await Promise.all(gens.map((g) => g.next<{ type: 'loaded' }>()));
  return gens;
}

/** Sends one stage command to every generator; sums what they report. */
async function runStage(gens: Generator[], cmd: 'boot' | 'prepare') {
  const t0 = performance.now();
  for (const g of gens) g.send({ cmd });
  const all = await Promise.all(gens.map((g) => g.next<StageMsg>()));
  return {
    seconds: (performance.now() - t0) / 1_000,
    ok: all.reduce((n, r) => n + r.ok, 0),
    failed: all.reduce((n, r) => n + r.failed, 0),
    firstError: all.find((r) => r.firstError)?.firstError,
  };
}

async function stopAll(server: Server, gens: Generator[]): Promise<void> {
  for (const g of gens) {
    if (g.proc.connected) g.send({ cmd: 'quit' });
  }
  await Promise.all(gens.map((g) => stopProcess(g.proc, 5_000)));
  await stopProcess(server.proc);
}

async function loadRun(target: Target, o: Options): Promise<{ run: LoadRun; server: Server }> {
  const server = await startServer(target, o, o.profile === 'load' && target === o.profileTarget);
  let gens: Generator[] = [];
  try {
    gens = await forkGenerators(server, o, o.chargers);
    const boot = await runStage(gens, 'boot');
    const prep = await runStage(gens, 'prepare');
    if (prep.ok === 0)
      throw new Error(`${target}: no charger got through setup: ${boot.firstError ?? prep.firstError}`);
    await sleep(500);
    progress(`  ${target}: ${prep.ok} chargers ready; closed loop ${o.seconds} s`);
    const closedMs = o.seconds * 1_000;
    const closed = await runPhase(server, gens, { cmd: 'closed', ms: closedMs, below: o.chargers }, closedMs);
    const run: LoadRun = {
      chargers: prep.ok,
      failedChargers: boot.failed + prep.failed,
      closed,
      peakRssMiB: 0,
    };
    const firstSetupError = boot.firstError ?? prep.firstError;
    if (firstSetupError) run.firstSetupError = firstSetupError;
    if (o.small > 0 && o.smallSeconds > 0) {
      await sleep(500);
      progress(`  ${target}: closed loop, ${o.small} chargers, ${o.smallSeconds} s`);
      const ms = o.smallSeconds * 1_000;
      run.small = await runPhase(server, gens, { cmd: 'closed', ms, below: o.small }, ms);
    }
    if (o.openSeconds > 0 && o.rate > 0) {
      await sleep(1_000);
      progress(`  ${target}: open loop ${o.openSeconds} s at ${Math.round(prep.ok * o.rate)} msg/s`);
      const ms = o.openSeconds * 1_000;
      const msg: ParentMsg = { cmd: 'open', ms, rate: o.rate, heartbeatS: 0, below: o.chargers };
      run.open = await runPhase(server, gens, msg, ms);
    }
    run.peakRssMiB = round(memMiB(server.pid, 'VmHWM'), 1);
    if (target === 'ampere') {
      run.acknowledgedMeterValues = [run.closed, run.small, run.open].reduce(
        (n, p) => n + (p ? p.answered - p.callErrors : 0),
        0,
      );
    }
    return { run, server };
  } finally {
    await stopAll(server, gens);
  }
}

async function fleetRun(target: Target, o: Options): Promise<{ run: FleetRun; server: Server }> {
  const server = await startServer(target, o, o.profile === 'fleet' && target === o.profileTarget);
  let gens: Generator[] = [];
  try {
    await sleep(1_000);
    const rssBeforeMiB = memMiB(server.pid, 'VmRSS');
    gens = await forkGenerators(server, o, o.fleet);
    progress(`  ${target}: reconnect storm, ${o.fleet} chargers, ${o.storm} at once`);
    const cpu0 = cpuMs(server.pid);
    const main0 = mainThreadCpuMs(server.pid);
    const boot = await runStage(gens, 'boot');
    const stormCpuMs = cpuMs(server.pid) - cpu0;
    const stormMainCpuMs = mainThreadCpuMs(server.pid) - main0;
    if (boot.ok === 0) throw new Error(`${target}: no charger booted: ${boot.firstError}`);
    const prep = o.stormOnly ? boot : await runStage(gens, 'prepare');
    await sleep(2_000);
    const rssIdleMiB = memMiB(server.pid, 'VmRSS');
    const run: FleetRun = {
      chargers: prep.ok,
      failedChargers: boot.failed + prep.failed,
      stormSeconds: round(boot.seconds, 2),
      stormCpuMsPerCharger: round(stormCpuMs / boot.ok, 3),
      stormMainCpuMsPerCharger: round(stormMainCpuMs / boot.ok, 3),
      rssBeforeMiB: round(rssBeforeMiB, 1),
      rssIdleMiB: round(rssIdleMiB, 1),
      idleKiBPerCharger: round(((rssIdleMiB - rssBeforeMiB) * 1024) / Math.max(1, prep.ok), 1),
    };
    const firstSetupError = boot.firstError ?? prep.firstError;
    if (firstSetupError) run.firstSetupError = firstSetupError;
    if (o.fleetSeconds > 0 && o.fleetRate > 0 && !o.stormOnly) {
      const rate = Math.round(prep.ok * (o.fleetRate + (o.fleetHeartbeat > 0 ? 1 / o.fleetHeartbeat : 0)));
      progress(`  ${target}: open loop ${o.fleetSeconds} s, ${prep.ok} chargers, ~${rate} msg/s`);
      const ms = o.fleetSeconds * 1_000;
      const msg: ParentMsg = { cmd: 'open', ms, rate: o.fleetRate, heartbeatS: o.fleetHeartbeat, below: o.fleet };
      run.open = await runPhase(server, gens, msg, ms);
    }
    return { run, server };
  } finally {
    await stopAll(server, gens);
  }
}

/** Ampere's database after shutdown: meter_values rows and chargers with a recorded boot. */
async function countStored(dataDir: string): Promise<{ meterValues: number; boots: number } | undefined> {
  try {
    const { default: Database } = await import('better-sqlite3');
    const db = new Database(join(dataDir, 'ampere.db'), { readonly: true });
    const n = (sql: string) => (db.prepare(sql).get() as { n: number }).n;
    const out = {
      meterValues: n('SELECT count(*) AS n FROM meter_values'),
      boots: n('SELECT count(*) AS n FROM chargers WHERE last_boot_at IS NOT NULL'),
    };
    db.close();
    return out;
  } catch (e) {
    progress(`  (could not read the database: ${(e as Error).message})`);
    return undefined;
  }
}

async function benchTarget(target: Target, o: Options): Promise<{ result: TargetResult; profile?: ProfileSummary }> {
  const result: TargetResult = { target };
  let profile: ProfileSummary | undefined;
  const finish = async (server: Server, read: (stored: { meterValues: number; boots: number }) => void) => {
    if (server.dataDir) {
      const stored = await countStored(server.dataDir);
      if (stored) read(stored);
      rmSync(server.dataDir, { recursive: true, force: true });
    }
    if (server.profDir) {
      const f = readdirSync(server.profDir).find((n) => n.endsWith('.cpuprofile'));
      if (f) profile = summarizeProfile(join(server.profDir, f), 30);
      else progress('  (no .cpuprofile written: did the server exit cleanly?)');
    }
  };
  if (o.fleet > 0) {
    const { run, server } = await fleetRun(target, o);
    await finish(server, (stored) => {
      run.bootsRecorded = stored.boots;
    });
    result.fleet = run;
  }
  const { run, server } = await loadRun(target, o);
  await finish(server, (stored) => {
    run.storedMeterValues = stored.meterValues;
  });
  result.load = run;
  return profile ? { result, profile } : { result };
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

function closedTable(rows: [Target, PhaseFigures, string][]): string {
  return table([
    [
      'target',
      'msg/s',
      'p50 ms',
      'p99 ms',
      'srv CPU %',
      'main thr %',
      'CPU µs/msg',
      'gen CPU %',
      'other cores',
      'errors',
    ],
    ...rows.map(([t, p, errors]) => [
      t,
      String(p.messagesPerSecond),
      fmt(p.p50Ms, 2),
      fmt(p.p99Ms, 2),
      String(p.serverCpuPct),
      String(p.mainThreadCpuPct),
      String(p.serverCpuUsPerMsg),
      String(p.generatorCpuPct),
      fmt(p.otherCores, 2),
      errors,
    ]),
  ]);
}

function openTable(rows: [Target, PhaseFigures][]): string {
  return table([
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
    ...rows.map(([t, p]) => [
      t,
      String(p.messagesPerSecond),
      fmt(p.p50Ms, 2),
      fmt(p.p99Ms, 2),
      fmt(p.p999Ms, 2),
      fmt(p.p99FromScheduleMs, 2),
      String(p.serverCpuPct),
      fmt(p.otherCores, 2),
      String(p.deferred),
      String(p.callErrors),
    ]),
  ]);
}

function report(results: TargetResult[], o: Options): string {
  const out: string[] = [];
  const loads = results.filter((r) => r.load).map((r) => [r.target, r.load!] as const);
  const fleets = results.filter((r) => r.fleet).map((r) => [r.target, r.fleet!] as const);
  if (loads.length) {
    out.push(`\nClosed loop: ${o.chargers} chargers, MeterValues (8 sampled values), ${o.seconds} s each`);
    out.push(closedTable(loads.map(([t, l]) => [t, l.closed, String(l.closed.callErrors + l.failedChargers)])));
    for (const r of results) {
      if (r.allRunsMessagesPerSecond)
        out.push(`  ${r.target} runs (msg/s): ${r.allRunsMessagesPerSecond.join(', ')} (median shown)`);
    }
    const small = loads.filter(([, l]) => l.small);
    if (small.length) {
      out.push(`\nClosed loop: ${o.small} chargers, ${o.smallSeconds} s each`);
      out.push(closedTable(small.map(([t, l]) => [t, l.small!, String(l.small!.callErrors)])));
    }
    const open = loads.filter(([, l]) => l.open);
    if (open.length) {
      out.push(`\nOpen loop: ${o.chargers} chargers × ${o.rate} MeterValues/s, ${o.openSeconds} s each`);
      out.push(openTable(open.map(([t, l]) => [t, l.open!])));
    }
    out.push(`\nPeak RSS of the load run (MiB): ${loads.map(([t, l]) => `${t} ${fmt(l.peakRssMiB, 0)}`).join(', ')}`);
  }
  if (fleets.length) {
    out.push(`\nFleet: ${o.fleet} chargers; reconnect storm (${o.storm} connections at once), then idle`);
    out.push(
      table([
        [
          'target',
          'storm s',
          'CPU ms/boot',
          'main thr ms/boot',
          'RSS before MiB',
          'RSS idle MiB',
          'KiB/charger',
          'failed',
        ],
        ...fleets.map(([t, f]) => [
          t,
          fmt(f.stormSeconds, 2),
          fmt(f.stormCpuMsPerCharger, 2),
          fmt(f.stormMainCpuMsPerCharger, 2),
          fmt(f.rssBeforeMiB, 0),
          fmt(f.rssIdleMiB, 0),
          fmt(f.idleKiBPerCharger, 1),
          String(f.failedChargers),
        ]),
      ]),
    );
    const open = fleets.filter(([, f]) => f.open);
    if (open.length) {
      out.push(
        `\nOpen loop: ${o.fleet} chargers × 1 MeterValues per ${fmt(1 / o.fleetRate, 0)} s` +
          (o.fleetHeartbeat > 0 ? ` + 1 Heartbeat per ${o.fleetHeartbeat} s` : '') +
          `, ${o.fleetSeconds} s each`,
      );
      out.push(openTable(open.map(([t, f]) => [t, f.open!])));
    }
  }
  const targets = checkTargets(results, o);
  if (targets.length) {
    out.push('\nTargets (issue 14), Ampere against the baselines of this run:');
    const w = Math.max(...targets.map((t) => t.what.length));
    for (const t of targets) out.push(`  ${t.ok ? 'MET ' : 'MISS'}  ${t.what.padEnd(w)}  ${t.value}`);
  }
  out.push(
    "\n'other cores': CPU used by processes outside this bench during the phase; above ~0.2 the figures are disturbed.",
  );
  for (const r of results) {
    const setupError = r.load?.firstSetupError ?? r.fleet?.firstSetupError;
    if (setupError) out.push(`${r.target}: chargers failed setup: ${setupError}`);
    const callError = r.load?.closed.firstCallError ?? r.load?.open?.firstCallError ?? r.fleet?.open?.firstCallError;
    if (callError) out.push(`${r.target}: first CALLERROR: ${callError}`);
    const l = r.load;
    if (l?.storedMeterValues !== undefined) {
      out.push(
        `${r.target}: ${l.storedMeterValues} meter_values rows stored, ${l.acknowledgedMeterValues} MeterValues acknowledged` +
          (l.storedMeterValues >= (l.acknowledgedMeterValues ?? 0)
            ? ' (all acknowledged values stored)'
            : ' (MISSING!)'),
      );
    }
    const f = r.fleet;
    if (f?.bootsRecorded !== undefined) {
      out.push(
        `${r.target}: ${f.bootsRecorded} boots stored for ${f.chargers + f.failedChargers} chargers of the storm`,
      );
    }
  }
  return out.join('\n');
}

interface TargetCheck {
  what: string;
  value: string;
  ok: boolean;
}

function checkTargets(results: TargetResult[], o: Options): TargetCheck[] {
  const a = results.find((r) => r.target === 'ampere');
  if (!a) return [];
  const rpc = results.find((r) => r.target === 'ocpp-rpc');
  const raw = results.find((r) => r.target === 'raw');
  const out: TargetCheck[] = [];
  const ratio = (what: string, mine: number, theirs: number, min: number) => {
    const x = mine / theirs;
    out.push({ what, value: `${fmt(x, 2)}× (${Math.round(mine)} vs ${Math.round(theirs)})`, ok: x >= min });
  };
  const latency = (what: string, mine: number, limit: number) =>
    out.push({ what, value: `${fmt(mine, 2)} ms vs ${fmt(limit, 2)} ms`, ok: mine <= limit });
  const phases = [
    [`${o.chargers} chargers`, (r: TargetResult) => r.load?.closed],
    [`${o.small} chargers`, (r: TargetResult) => r.load?.small],
  ] as const;
  for (const [label, get] of phases) {
    const mine = get(a);
    if (!mine) continue;
    const theirs = rpc && get(rpc);
    const limit = raw && get(raw);
    if (theirs)
      ratio(`closed loop, ${label}: msg/s ≥ 1.0× ocpp-rpc`, mine.messagesPerSecond, theirs.messagesPerSecond, 1);
    if (limit) ratio(`closed loop, ${label}: msg/s ≥ 0.75× raw`, mine.messagesPerSecond, limit.messagesPerSecond, 0.75);
    if (theirs) latency(`closed loop, ${label}: p99 ≤ ocpp-rpc's p99`, mine.p99Ms, theirs.p99Ms);
  }
  if (a.fleet?.open) {
    latency(
      `open loop, ${o.fleet} chargers (1 MeterValues/${fmt(1 / o.fleetRate, 0)} s + heartbeats): p99 ≤ 10 ms`,
      a.fleet.open.p99Ms,
      10,
    );
  }
  if (a.load?.open) {
    latency(
      `open loop, ${Math.round(o.chargers * o.rate)} msg/s over ${o.chargers} chargers: p99 ≤ 20 ms`,
      a.load.open.p99Ms,
      20,
    );
  }
  if (a.fleet && rpc?.fleet) {
    const x = a.fleet.stormSeconds / rpc.fleet.stormSeconds;
    out.push({
      what: `reconnect storm, ${o.fleet} chargers: time ≤ 1.5× ocpp-rpc`,
      value: `${fmt(x, 2)}× (${fmt(a.fleet.stormSeconds, 2)} s vs ${fmt(rpc.fleet.stormSeconds, 2)} s)`,
      ok: x <= 1.5,
    });
  }
  if (a.fleet?.bootsRecorded !== undefined) {
    const all = a.fleet.chargers + a.fleet.failedChargers;
    out.push({
      what: 'reconnect storm: every boot durably recorded',
      value: `${a.fleet.bootsRecorded} of ${all}`,
      ok: a.fleet.bootsRecorded >= all && a.fleet.failedChargers === 0,
    });
  }
  if (a.fleet && rpc?.fleet) {
    const mine = a.fleet.idleKiBPerCharger;
    const theirs = rpc.fleet.idleKiBPerCharger;
    out.push({
      what: "idle memory per connected charger ≤ ocpp-rpc's",
      value: `${fmt(mine, 1)} KiB vs ${fmt(theirs, 1)} KiB`,
      ok: mine <= theirs,
    });
  }
  if (a.load?.storedMeterValues !== undefined) {
    const lost = (a.load.acknowledgedMeterValues ?? 0) - a.load.storedMeterValues;
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

/**
 * A storm of --fleet chargers needs that many sockets in the server and per generator: when the
 * soft limit on open files is lower than the hard one, the bench runs itself again with it raised.
 */
function raiseFileLimit(o: Options): void {
  const need = Math.max(o.fleet, o.chargers) + 512;
  const { soft, hard } = openFileLimits();
  if (soft >= need || process.env.AMPERE_BENCH_ULIMIT) return;
  if (hard <= soft) {
    progress(`bench: open files limited to ${soft} (hard ${hard}); ${need} wanted: the fleet run may fail`);
    return;
  }
  const limit = Number.isFinite(hard) ? String(hard) : 'unlimited';
  const r = spawnSync(
    '/bin/sh',
    ['-c', `ulimit -n ${limit} && exec "$@"`, 'sh', process.execPath, ...process.execArgv, ...process.argv.slice(1)],
    {
      stdio: 'inherit',
      env: { ...process.env, AMPERE_BENCH_ULIMIT: '1' },
    },
  );
  process.exit(r.status ?? 1);
}

async function main(): Promise<void> {
  // `--only cluster`: several nodes on PostgreSQL behind HAProxy (bench/cluster.ts, issue 13).
  const only = process.argv.indexOf('--only');
  if (process.argv.includes('--only=cluster') || (only > 0 && process.argv[only + 1] === 'cluster')) {
    const { runClusterBench } = await import('./cluster.ts');
    const defaults = parseArgs([]);
    return runClusterBench(process.argv.slice(2), {
      startServer: (target) => startServer(target, defaults, false),
      forkGenerator,
      runPhase,
      stopProcess,
      track,
    });
  }
  const o = parseArgs(process.argv.slice(2));
  raiseFileLimit(o);
  // Ampere runs from its compiled build (bin/ampere.js would run src/ through tsx when dist/ is
  // older than the sources, a slower start and a writer thread that starts late): build it first.
  if (o.only.includes('ampere')) {
    progress('building dist/ if src/ is newer…');
    ensureBuild();
  }
  // Bounded no matter what: both runs of every target, with generous slack.
  const perTarget =
    (o.fleet > 0 ? 120 + o.fleet / 50 + o.fleetSeconds : 0) + 90 + o.seconds + o.smallSeconds + o.openSeconds;
  const budgetS = o.repeat * o.only.length * perTarget + 120 + (o.start ? o.startRuns * 30 : 0);
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
      `bench: ${o.only.join(', ')} · load ${o.chargers} chargers (closed ${o.seconds} s, ${o.small} for ${o.smallSeconds} s, open ${o.openSeconds} s × ${o.rate}/s) · fleet ${o.fleet} · ${o.generators} generator(s) · ${cpus().length} cores`,
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
      const r = await benchTarget(target, o);
      if (r.profile) profile = r.profile;
      runs.set(target, [...(runs.get(target) ?? []), r.result]);
    }
  }
  // With --repeat, each target's run with the median closed-loop rate stands for it.
  const rate = (r: TargetResult) => r.load?.closed.messagesPerSecond ?? 0;
  for (const target of o.only) {
    const list = [...(runs.get(target) ?? [])].sort((a, b) => rate(a) - rate(b));
    const median = list[Math.floor((list.length - 1) / 2)];
    if (!median) continue;
    if (list.length > 1) median.allRunsMessagesPerSecond = list.map(rate);
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
    targets: checkTargets(results, o),
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
