// Start times (issue 14), run by `npm run bench` and alone by `npm run bench -- --only start`.
//
// Wall time from spawning a process to the moment a user sees the result: `ampere help` and
// `ampere --version` until they exit, `ampere serve --port 0` until its first stdout line (the URL;
// a fresh data folder each time, so migrations are included). Each command runs from the compiled
// build (AMPERE_FROM=dist) and from the sources through tsx (AMPERE_FROM=src); `node -e 0`, run in
// the same rounds, is the baseline every figure is divided by, so a busy machine moves the
// baseline with the figures. Rounds are interleaved and each case reports its median. For serve
// the CPU time the process used until its URL line (from /proc) is given too: on a busy shared
// machine it moves far less than the wall time.
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { cpus as cpuList, loadavg, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import { cpuMs } from './proc.ts';

const ROOT = dirname(dirname(fileURLToPath(import.meta.url)));
const BIN = join(ROOT, 'bin', 'ampere.js');

/** Issue 14's targets for the compiled build, in milliseconds. */
export const START_TARGETS = { help: 300, serve: 800 } as const;

type Command = 'help' | 'version' | 'serve';
type From = 'dist' | 'src';

export interface StartCase {
  name: string;
  command: Command | 'node -e 0';
  from?: From;
  medianMs: number;
  runsMs: number[];
  /** Median ÷ the median of `node -e 0` in the same run. */
  xBaseline: number;
  /** serve: median CPU time (user + system) of the process until its URL line. */
  cpuMs?: number;
}

export interface StartSummary {
  runs: number;
  cases: StartCase[];
  /** tsx median ÷ compiled median per command (how much faster the build starts). */
  speedup: Record<string, number>;
  targets: { what: string; value: string; ok: boolean }[];
  /** 1-minute load average before and after the rounds: far above the core count, the wall times are disturbed. */
  loadavg: [number, number];
}

/** Builds dist/ first when it is missing or older than src/, so the figures are for these sources. */
export function ensureBuild(): void {
  const r = spawnSync(process.execPath, [join(ROOT, 'scripts', 'build.mjs'), '--if-stale'], {
    cwd: ROOT,
    stdio: 'ignore',
  });
  if (r.status !== 0) throw new Error('the build failed (run `npm run build` to see why)');
}

function argsFor(command: Command, data: string): string[] {
  if (command === 'help') return [BIN, 'help'];
  if (command === 'version') return [BIN, '--version'];
  return [BIN, 'serve', '--host', '127.0.0.1', '--port', '0', '--data', data, '--log-level', 'warn'];
}

/** Spawns once: milliseconds until exit (or, for serve, the first line, with the CPU used by then). */
function timeOnce(
  args: string[],
  env: NodeJS.ProcessEnv,
  untilFirstLine: boolean,
  track: (p: ChildProcess) => void,
): Promise<{ wall: number; cpu?: number }> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const p = spawn(process.execPath, args, { cwd: ROOT, env, stdio: ['ignore', 'pipe', 'pipe'] });
    track(p);
    let out = '';
    let err = '';
    let took: number | undefined;
    let cpu: number | undefined;
    const timer = setTimeout(() => p.kill('SIGKILL'), 30_000);
    p.stderr.on('data', (d: Buffer) => {
      err += d.toString();
    });
    p.stdout.on('data', (d: Buffer) => {
      out += d.toString();
      if (untilFirstLine && took === undefined && out.includes('\n')) {
        took = performance.now() - t0;
        cpu = cpuMs(p.pid!);
        p.kill('SIGTERM');
      }
    });
    p.once('exit', (code, signal) => {
      clearTimeout(timer);
      took ??= performance.now() - t0;
      if (untilFirstLine ? !out.includes('\n') : code !== 0)
        reject(new Error(`${args.slice(1).join(' ')} failed (${code ?? signal}): ${err.slice(0, 500)}`));
      else resolve(cpu === undefined ? { wall: took } : { wall: took, cpu });
    });
  });
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

const round = (x: number, d = 1) => Math.round(x * 10 ** d) / 10 ** d;

export async function runStartBench(
  opts: { runs?: number; progress?: (s: string) => void; track?: (p: ChildProcess) => void } = {},
): Promise<StartSummary> {
  const runs = Math.max(1, opts.runs ?? 9);
  const progress = opts.progress ?? (() => {});
  const track = opts.track ?? (() => {});
  ensureBuild();
  const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', AMPERE_API_TOKEN: 'bench-start-token' };
  const plan: { name: string; command: StartCase['command']; from?: From }[] = [
    { name: 'node -e 0', command: 'node -e 0' },
  ];
  for (const command of ['help', 'version', 'serve'] as const)
    for (const from of ['dist', 'src'] as const)
      plan.push({
        name: `${command === 'version' ? '--version' : command} (${from === 'dist' ? 'compiled' : 'tsx'})`,
        command,
        from,
      });
  const times = plan.map(() => [] as number[]);
  const cpus = plan.map(() => [] as number[]);
  const load0 = loadavg()[0]!;
  progress(`start times: ${runs} rounds of ${plan.map((p) => p.name).join(', ')}`);
  for (let r = 0; r < runs; r++) {
    for (const [i, c] of plan.entries()) {
      if (c.command === 'node -e 0') {
        times[i]!.push((await timeOnce(['-e', '0'], env, false, track)).wall);
        continue;
      }
      const data = mkdtempSync(join(tmpdir(), 'ampere-bench-start-'));
      try {
        const t = await timeOnce(
          argsFor(c.command, data),
          { ...env, AMPERE_FROM: c.from },
          c.command === 'serve',
          track,
        );
        times[i]!.push(t.wall);
        if (t.cpu !== undefined) cpus[i]!.push(t.cpu);
      } finally {
        rmSync(data, { recursive: true, force: true });
      }
    }
  }
  const base = median(times[0]!);
  const cases: StartCase[] = plan.map((c, i) => {
    const out: StartCase = {
      name: c.name,
      command: c.command,
      medianMs: round(median(times[i]!)),
      runsMs: times[i]!.map((t) => round(t)),
      xBaseline: round(median(times[i]!) / base, 2),
    };
    if (c.from) out.from = c.from;
    if (cpus[i]!.length > 0) out.cpuMs = round(median(cpus[i]!));
    return out;
  });
  const find = (command: Command, from: From) => cases.find((c) => c.command === command && c.from === from)!;
  const speedup: Record<string, number> = {};
  for (const command of ['help', 'version', 'serve'] as const)
    speedup[command] = round(find(command, 'src').medianMs / find(command, 'dist').medianMs, 2);
  const help = find('help', 'dist').medianMs;
  const serve = find('serve', 'dist').medianMs;
  return {
    runs,
    loadavg: [round(load0, 2), round(loadavg()[0]!, 2)],
    cases,
    speedup,
    targets: [
      {
        what: `ampere help ≤ ${START_TARGETS.help} ms (compiled)`,
        value: `${help} ms`,
        ok: help <= START_TARGETS.help,
      },
      {
        what: `ampere serve to its URL line ≤ ${START_TARGETS.serve} ms (compiled)`,
        value: `${serve} ms`,
        ok: serve <= START_TARGETS.serve,
      },
    ],
  };
}

export function formatStart(s: StartSummary): string {
  const rows = [
    ['command', 'median ms', '× node -e 0', 'CPU ms', `${s.runs} runs (ms)`],
    ...s.cases.map((c) => [
      c.name,
      c.medianMs.toFixed(1),
      c.xBaseline.toFixed(2),
      c.cpuMs === undefined ? '-' : c.cpuMs.toFixed(0),
      c.runsMs.map((t) => t.toFixed(0)).join(' '),
    ]),
  ];
  const widths = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  const lines = rows.map((r) =>
    r
      .map((c, i) => (i === 0 || i === 4 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!)))
      .join('  ')
      .trimEnd(),
  );
  lines.unshift('\nStart times (spawn to exit; serve: to its URL line, fresh data folder):');
  lines.push(
    `Compiled vs tsx (tsx ÷ compiled): ${Object.entries(s.speedup)
      .map(([k, v]) => `${k} ${v.toFixed(2)}×`)
      .join(', ')}`,
  );
  lines.push(`Load average (1 min) ${s.loadavg[0]} before, ${s.loadavg[1]} after, on ${cpuList().length} cores.`);
  lines.push('Targets (issue 14):');
  for (const t of s.targets) lines.push(`  ${t.ok ? 'MET ' : 'MISS'}  ${t.what}: ${t.value}`);
  return lines.join('\n');
}
