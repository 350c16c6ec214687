// `npm run bench -- --only cluster`: several Ampere nodes on one PostgreSQL behind HAProxy (issue 13).
//
// Closed-loop MeterValues throughput (the load of bench/run.ts, same generators) of the raw ws limit,
// one node on SQLite, and 1, 2 and 3 nodes on PostgreSQL behind HAProxy in TCP mode; ratios come
// from the same run. Then a reconnect storm: N chargers (default 10 000) connecting at once through
// HAProxy to 3 nodes, timed until every one is booted (Accepted), has sent its status and started a
// transaction. Where the time goes: CPU of the nodes, HAProxy and PostgreSQL during each phase, and
// the cluster's event rows written (one INSERT per batch). Needs AMPERE_TEST_PG_URL (a role that may
// create databases) and /usr/sbin/haproxy; each configuration gets a fresh database, dropped after.
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { fileURLToPath } from 'node:url';
import pg from 'pg';
import type { LoadgenArgs, ParentMsg, StageMsg } from './loadgen.ts';
import { cpuMs } from './proc.ts';

const BENCH = dirname(fileURLToPath(import.meta.url));
const ROOT = dirname(BENCH);
const HAPROXY = '/usr/sbin/haproxy';
const BENCH_TOKEN = 'bench-cluster-token-0123456789abcdef0123456789';

interface Proc {
  proc: ChildProcess;
  pid: number;
  url: string;
}

interface Gen {
  proc: ChildProcess;
  next<T>(): Promise<T>;
  send(m: ParentMsg): void;
}

interface Phase {
  messagesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  answered: number;
  callErrors: number;
}

/** What bench/run.ts lends this module, so both measure the same way. */
export interface BenchKit {
  startServer(target: 'raw' | 'ampere'): Promise<Proc>;
  forkGenerator(args: LoadgenArgs): Gen;
  runPhase(server: Proc, gens: Gen[], msg: ParentMsg, windowMs: number): Promise<Phase>;
  stopProcess(proc: ChildProcess, ms?: number): Promise<void>;
  track(proc: ChildProcess): ChildProcess;
}

interface Options {
  chargers: number;
  seconds: number;
  storm: number;
  generators: number;
  out: string;
  stormOnly: boolean;
}

function parse(argv: string[]): Options {
  const o: Options = {
    chargers: 500,
    seconds: 10,
    storm: 10_000,
    generators: 2,
    out: join(BENCH, 'results', 'cluster.json'),
    stormOnly: false,
  };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split('=', 2) as [string, string | undefined];
    const value = () => inline ?? argv[++i] ?? '';
    if (flag === '--chargers') o.chargers = Number(value());
    else if (flag === '--seconds') o.seconds = Number(value());
    else if (flag === '--storm') o.storm = Number(value());
    else if (flag === '--generators') o.generators = Number(value());
    else if (flag === '--out') o.out = value();
    else if (flag === '--only') value();
    else if (flag === '--storm-only') o.stormOnly = true;
    else if (flag === '--quick') {
      o.chargers = 200;
      o.seconds = 5;
      o.storm = 2000;
    } else
      throw new Error(
        `bench --only cluster: unknown flag ${flag} (--chargers, --seconds, --storm, --generators, --out, --quick)`,
      );
  }
  return o;
}

const progress = (s: string) => process.stderr.write(`${s}\n`);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const round = (x: number, d = 2) => Math.round(x * 10 ** d) / 10 ** d;

// ---------------------------------------------------------------- PostgreSQL, HAProxy, nodes

async function freshDatabase(base: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `ampere_bench_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Client({ connectionString: base });
  await admin.connect();
  await admin.query(`CREATE DATABASE ${name}`);
  await admin.end();
  const u = new URL(base);
  u.pathname = `/${name}`;
  return {
    url: u.toString(),
    async drop() {
      const c = new pg.Client({ connectionString: base });
      await c.connect();
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      await c.end();
    },
  };
}

async function query<T>(url: string, sql: string): Promise<T[]> {
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  try {
    return (await c.query(sql)).rows as T[];
  } finally {
    await c.end();
  }
}

/** The PostgreSQL server's processes (postmaster and backends), for their CPU time. */
function postgresPids(): number[] {
  const out: number[] = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const comm = readFileSync(`/proc/${name}/comm`, 'utf8').trim();
      if (comm === 'postgres' || comm === 'postmaster') out.push(Number(name));
    } catch {
      // gone meanwhile
    }
  }
  return out;
}

/**
 * CPU the PostgreSQL processes used since `before` (pid → CPU ms then): backends that started
 * meanwhile (pools grow under load) count whole; those that ended are lost (a small undercount).
 */
function postgresCpuSince(before: Map<number, number>): number {
  let sum = 0;
  for (const pid of postgresPids()) sum += Math.max(0, cpuOf([pid]) - (before.get(pid) ?? 0));
  return sum;
}

function postgresCpu(): Map<number, number> {
  return new Map(postgresPids().map((pid) => [pid, cpuOf([pid])]));
}

function cpuOf(pids: number[]): number {
  let sum = 0;
  // A backend that ended between two readings takes its time with it: clamp differences at 0.
  for (const p of pids) {
    try {
      sum += cpuMs(p);
    } catch {
      // a backend that ended: its time is lost to the sum, a small undercount
    }
  }
  return sum;
}

async function freePort(): Promise<number> {
  const { createServer } = await import('node:net');
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

async function startHaproxy(kit: BenchKit, backends: number[], maxconn: number): Promise<Proc> {
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'ampere-bench-haproxy-'));
  dataDirs.push(dir);
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(
    file,
    `global\n  maxconn ${maxconn}\n\ndefaults\n  mode tcp\n  timeout connect 2s\n  timeout client 5m\n  timeout server 5m\n  timeout tunnel 1h\n  retries 3\n  option redispatch\n\nfrontend ocpp\n  bind 127.0.0.1:${port}\n  default_backend ampere\n\nbackend ampere\n  balance roundrobin\n${backends.map((p, i) => `  server node${i} 127.0.0.1:${p} check inter 1s`).join('\n')}\n`,
  );
  const proc = kit.track(spawn(HAPROXY, ['-db', '-f', file], { stdio: ['ignore', 'ignore', 'inherit'] }));
  await sleep(300);
  return { proc, pid: proc.pid!, url: `ws://127.0.0.1:${port}` };
}

/** The nodes' data folders (and HAProxy's configs), removed at the end. */
const dataDirs: string[] = [];

async function startNode(kit: BenchKit, db: string, id: string): Promise<Proc> {
  const data = mkdtempSync(join(tmpdir(), 'ampere-bench-node-'));
  dataDirs.push(data);
  const proc = kit.track(
    spawn(
      process.execPath,
      [
        join(ROOT, 'bin', 'ampere.js'),
        'serve',
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        '--data',
        data,
        '--db',
        db,
        '--node-id',
        id,
        '--registration',
        'open',
        '--log-level',
        'warn',
        '--rate-limit',
        '0',
        // Behind HAProxy every connection comes from its address: no per-address cap on handshakes.
        '--max-pending-connections',
        '0',
      ],
      { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, AMPERE_API_TOKEN: BENCH_TOKEN } },
    ),
  );
  const url = await new Promise<string>((resolve, reject) => {
    let buf = '';
    proc.once('exit', (c) => reject(new Error(`node ${id} exited (${c})`)));
    proc.stdout!.on('data', (d: Buffer) => {
      buf += d;
      if (buf.includes('\n')) resolve(buf.slice(0, buf.indexOf('\n')).trim());
    });
  });
  proc.removeAllListeners('exit');
  return { proc, pid: proc.pid!, url: url.replace(/^http/, 'ws') };
}

// ---------------------------------------------------------------- load

async function generators(kit: BenchKit, urls: string[], count: number, per: number, concurrency: number) {
  const gens: Gen[] = [];
  const n = Math.ceil(count / per);
  for (let g = 0; g < n; g++) {
    const base = g * per;
    gens.push(
      kit.forkGenerator({
        url: urls[g % urls.length]!,
        base,
        count: Math.min(per, count - base),
        total: count,
        prefix: 'CL-',
        idTag: 'BENCHTAG1',
        connectConcurrency: concurrency,
      }),
    );
  }
  // Every generator has started and waits: the connections then open at once.
  await Promise.all(gens.map((g) => g.next<{ type: 'loaded' }>()));
  const stage = async (cmd: 'boot' | 'prepare') => {
    const t0 = performance.now();
    for (const g of gens) g.send({ cmd });
    const all = await Promise.all(gens.map((g) => g.next<StageMsg>()));
    return {
      seconds: (performance.now() - t0) / 1000,
      ok: all.reduce((a, r) => a + r.ok, 0),
      failed: all.reduce((a, r) => a + r.failed, 0),
      firstError: all.find((r) => r.firstError)?.firstError,
    };
  };
  const boot = await stage('boot');
  const prepared = await stage('prepare');
  return {
    gens,
    /** Connected and booted (Accepted), from the first connection to the last answer. */
    bootSeconds: boot.seconds,
    booted: boot.ok,
    connected: prepared.ok,
    failed: boot.failed + prepared.failed,
    firstError: boot.firstError ?? prepared.firstError,
  };
}

async function quit(kit: BenchKit, gens: Gen[]): Promise<void> {
  for (const g of gens) if (g.proc.connected) g.send({ cmd: 'quit' });
  await Promise.all(gens.map((g) => kit.stopProcess(g.proc, 5_000)));
}

interface Row {
  config: string;
  chargers: number;
  messagesPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  errors: number;
  /** Cores used during the closed loop by the Ampere processes, HAProxy and PostgreSQL. */
  ampereCores: number;
  haproxyCores: number;
  postgresCores: number;
  /** Cluster event rows written during the run, and per INSERT (batching). */
  eventRows?: number;
  eventRowsAfterStop?: number;
}

async function closedLoop(
  kit: BenchKit,
  o: Options,
  config: string,
  target: Proc,
  ampere: Proc[],
  haproxy: Proc | undefined,
): Promise<Row> {
  const load = await generators(kit, [target.url], o.chargers, Math.ceil(o.chargers / o.generators), 50);
  try {
    await sleep(500);
    const p0 = postgresCpu();
    const a0 = cpuOf(ampere.map((p) => p.pid));
    const h0 = haproxy ? cpuOf([haproxy.pid]) : 0;
    const t0 = performance.now();
    const phase = await kit.runPhase(
      target,
      load.gens,
      { cmd: 'closed', ms: o.seconds * 1000, below: o.chargers },
      o.seconds * 1000,
    );
    const wall = performance.now() - t0;
    const cores = (ms: number) => round(ms / wall, 2);
    return {
      config,
      chargers: load.connected,
      messagesPerSecond: phase.messagesPerSecond,
      p50Ms: round(phase.p50Ms),
      p99Ms: round(phase.p99Ms),
      errors: phase.callErrors + load.failed,
      ampereCores: cores(cpuOf(ampere.map((p) => p.pid)) - a0),
      haproxyCores: haproxy ? cores(cpuOf([haproxy.pid]) - h0) : 0,
      postgresCores: cores(postgresCpuSince(p0)),
    };
  } finally {
    await quit(kit, load.gens);
  }
}

async function clusterRun(kit: BenchKit, o: Options, base: string, nodes: number): Promise<Row> {
  const db = await freshDatabase(base);
  const procs: Proc[] = [];
  let haproxy: Proc | undefined;
  try {
    for (let i = 0; i < nodes; i++) procs.push(await startNode(kit, db.url, `bench-${i}`));
    haproxy = await startHaproxy(
      kit,
      procs.map((p) => Number(new URL(p.url).port)),
      4 * o.chargers + 100,
    );
    progress(`  ${nodes} node(s) on PostgreSQL behind HAProxy: closed loop ${o.seconds} s`);
    const row = await closedLoop(kit, o, `${nodes} node(s), PostgreSQL, HAProxy`, haproxy, procs, haproxy);
    const events = () => query<{ n: number }>(db.url, 'SELECT count(*)::int AS n FROM cluster_events');
    row.eventRows = (await events())[0]?.n ?? 0;
    // The nodes write what they still hold when they stop: the backlog at the end of the loop.
    await Promise.all(procs.map((p) => kit.stopProcess(p.proc)));
    row.eventRowsAfterStop = (await events())[0]?.n ?? 0;
    return row;
  } finally {
    if (haproxy) await kit.stopProcess(haproxy.proc, 2_000);
    await Promise.all(procs.map((p) => kit.stopProcess(p.proc)));
    await db.drop().catch(() => {});
  }
}

async function storm(kit: BenchKit, o: Options, base: string) {
  const db = await freshDatabase(base);
  const procs: Proc[] = [];
  const proxies: Proc[] = [];
  try {
    for (let i = 0; i < 3; i++) procs.push(await startNode(kit, db.url, `storm-${i}`));
    const ports = procs.map((p) => Number(new URL(p.url).port));
    // A HAProxy process holds two sockets per connection: under the 20 000 files of one process,
    // two of them share the storm (as two load balancers behind one address would).
    const half = Math.ceil(o.storm / 2) + 100;
    for (let i = 0; i < 2; i++) proxies.push(await startHaproxy(kit, ports, half));
    const p0 = postgresCpu();
    const a0 = cpuOf(procs.map((p) => p.pid));
    const h0 = cpuOf(proxies.map((p) => p.pid));
    progress(`  storm: ${o.storm} chargers through HAProxy to 3 nodes`);
    const t0 = performance.now();
    const load = await generators(
      kit,
      proxies.map((p) => p.url),
      o.storm,
      // Four generators, alternating between the two proxies (2 500 sockets each at 10 000).
      Math.ceil(o.storm / 4),
      500,
    );
    const seconds = (performance.now() - t0) / 1000;
    const wall = seconds * 1000;
    const held = await query<{ node_id: string; n: number }>(
      db.url,
      'SELECT node_id, count(*)::int AS n FROM cluster_connections GROUP BY node_id ORDER BY node_id',
    );
    // Seen by the nodes: first connection to last boot, and per charger.
    const [span] = await query<{ first: string; boot: string; p50: number; p99: number }>(
      db.url,
      `SELECT (SELECT min(connected_at) FROM cluster_connections) AS first,
              (SELECT max(last_boot_at) FROM chargers) AS boot,
              percentile_cont(0.5) WITHIN GROUP (ORDER BY c.last_boot_at - cc.connected_at) AS p50,
              percentile_cont(0.99) WITHIN GROUP (ORDER BY c.last_boot_at - cc.connected_at) AS p99
         FROM chargers c JOIN cluster_connections cc ON cc.charger_id = c.id`,
    );
    await quit(kit, load.gens);
    return {
      chargers: o.storm,
      accepted: load.connected,
      failed: load.failed,
      firstError: load.firstError,
      /** From the moment every generator opens its connections to the last Accepted boot. */
      secondsUntilAllAccepted: round(load.bootSeconds, 1),
      /** The same seen by the nodes: first claim to last boot in the database. */
      serverSpanSeconds: round((Number(span?.boot) - Number(span?.first)) / 1000, 1),
      /** Per charger, from its connection's claim to its Accepted boot (ms). */
      connectToBootP50Ms: round(Number(span?.p50), 0),
      connectToBootP99Ms: round(Number(span?.p99), 0),
      perNode: Object.fromEntries(held.map((h) => [h.node_id, h.n])),
      ampereCores: round((cpuOf(procs.map((p) => p.pid)) - a0) / wall),
      postgresCores: round(postgresCpuSince(p0) / wall),
      haproxyCores: round((cpuOf(proxies.map((p) => p.pid)) - h0) / wall),
    };
  } finally {
    await Promise.all(proxies.map((p) => kit.stopProcess(p.proc, 2_000)));
    await Promise.all(procs.map((p) => kit.stopProcess(p.proc)));
    await db.drop().catch(() => {});
  }
}

function table(rows: string[][]): string {
  const w = rows[0]!.map((_, i) => Math.max(...rows.map((r) => r[i]!.length)));
  return rows.map((r) => r.map((c, i) => (i === 0 ? c.padEnd(w[i]!) : c.padStart(w[i]!))).join('  ')).join('\n');
}

export async function runClusterBench(argv: string[], kit: BenchKit): Promise<void> {
  const o = parse(argv);
  const base = process.env.AMPERE_TEST_PG_URL;
  if (!base)
    throw new Error('bench --only cluster needs AMPERE_TEST_PG_URL (a PostgreSQL role that may create databases)');
  // The servers inherit this environment, and `ampere serve` refuses AMPERE_* names it does not know.
  delete process.env.AMPERE_TEST_PG_URL;
  execFileSync(HAPROXY, ['-v']);
  progress(
    `bench cluster: ${o.chargers} chargers · closed ${o.seconds} s · storm ${o.storm} · ${o.generators} generator(s) · ${cpus().length} cores`,
  );
  const rows: Row[] = [];
  for (const target of o.stormOnly ? [] : (['raw', 'ampere'] as const)) {
    progress(`  ${target === 'raw' ? 'raw ws limit' : '1 node, SQLite'}: closed loop ${o.seconds} s`);
    const server = await kit.startServer(target);
    try {
      rows.push(
        await closedLoop(kit, o, target === 'raw' ? 'raw ws limit' : '1 node, SQLite', server, [server], undefined),
      );
    } finally {
      await kit.stopProcess(server.proc);
    }
  }
  for (const n of o.stormOnly ? [] : [1, 2, 3]) rows.push(await clusterRun(kit, o, base, n));
  const stormResult = o.storm > 0 ? await storm(kit, o, base) : undefined;

  const sqlite = rows[1]?.messagesPerSecond ?? Number.NaN;
  const raw = rows[0]?.messagesPerSecond ?? Number.NaN;
  const lines = [
    `\nClosed loop: ${o.chargers} chargers, MeterValues, ${o.seconds} s each (cores: CPU used during the phase)`,
    table([
      [
        'config',
        'msg/s',
        'p50 ms',
        'p99 ms',
        'errors',
        'Ampere cores',
        'HAProxy cores',
        'PG cores',
        'event rows end/stop',
        '× SQLite',
        '× raw',
      ],
      ...rows.map((r) => [
        r.config,
        String(r.messagesPerSecond),
        String(r.p50Ms),
        String(r.p99Ms),
        String(r.errors),
        String(r.ampereCores),
        String(r.haproxyCores),
        String(r.postgresCores),
        r.eventRows === undefined ? '-' : `${r.eventRows}/${r.eventRowsAfterStop}`,
        String(round(r.messagesPerSecond / sqlite)),
        String(round(r.messagesPerSecond / raw)),
      ]),
    ]),
  ];
  if (stormResult) {
    lines.push(
      `\nReconnect storm: ${stormResult.accepted}/${stormResult.chargers} chargers through HAProxy to 3 nodes, all Accepted ` +
        `in ${stormResult.secondsUntilAllAccepted} s (the nodes saw ${stormResult.serverSpanSeconds} s from the first connection ` +
        `to the last boot; ${stormResult.failed} failed); ` +
        `connection to Accepted per charger p50 ${stormResult.connectToBootP50Ms} ms, p99 ${stormResult.connectToBootP99Ms} ms; per node ${JSON.stringify(stormResult.perNode)}; ` +
        `cores: Ampere ${stormResult.ampereCores}, PostgreSQL ${stormResult.postgresCores}, HAProxy ${stormResult.haproxyCores}` +
        (stormResult.firstError ? `; first error: ${stormResult.firstError}` : ''),
    );
  }
  process.stdout.write(`${lines.join('\n')}\n`);
  mkdirSync(dirname(o.out), { recursive: true });
  writeFileSync(
    o.out,
    `${JSON.stringify({ date: new Date().toISOString(), cores: cpus().length, options: o, rows, storm: stormResult }, null, 2)}\n`,
  );
  for (const d of dataDirs.splice(0)) rmSync(d, { recursive: true, force: true });
  progress(`JSON summary: ${o.out}`);
}
