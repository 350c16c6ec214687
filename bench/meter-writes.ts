// The SQLite writer's cost per meter value, alone: better-sqlite3 on a real WAL file (synchronous
// NORMAL), 1 000 chargers each with an open transaction, group commits of one row per charger (as
// the closed loop produces them: one CALL in flight per charger), a PASSIVE checkpoint every
// `--checkpoint-rows` rows as the store's checkpointer does every 100 ms. Reports the CPU time per
// row of the whole process (all work runs on this thread), the share of it in COMMIT, and for the
// deferred layout the longest indexing slice (what a write may wait behind).
//
//   node --import tsx bench/meter-writes.ts [--layout direct|store|partial] [--chargers 1000]
//     [--prefill 300] [--rows 200000] [--batch 200] [--checkpoint-rows 2000]
//     [--index-every 10000] [--slice 500] [--cache-kib 2000]
//
// Layouts: `direct` is the schema before migration 17 (both indexes of meter_values maintained by
// every insert); `store` is the store's since migration 17 (src/store/migrations.ts): the rows
// alone, and the store's own MeterIndexer (src/store/sqlite-meter-index.ts) filling the lookup
// tables after the commits, `--index-every` rows per pass in slices of `--slice` rows; `partial`
// is an alternative measured and left out: a `pending` column set on insert, the two indexes
// partial (WHERE pending IS NULL), the fresh rows indexed by an UPDATE in slices of id ranges.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import Database from 'better-sqlite3';
import { migrateSqlite, sqliteMigrations } from '../src/store/migrations.ts';
import { MeterIndexer } from '../src/store/sqlite-meter-index.ts';
import { txControl, WRITE_OP } from '../src/store/sqlite-writes.ts';

function flag(name: string, dflt: number): number {
  const i = process.argv.indexOf(name);
  return i >= 0 ? Number(process.argv[i + 1]) : dflt;
}
function option(name: string, dflt: string): string {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1]! : dflt;
}

const layout = option('--layout', 'direct');
const chargers = flag('--chargers', 1000);
const prefill = flag('--prefill', 300);
const rows = flag('--rows', 200_000);
const batch = flag('--batch', 200);
const checkpointRows = flag('--checkpoint-rows', 2000);
const indexEvery = flag('--index-every', 10_000);
const slice = flag('--slice', 500);
if (layout !== 'direct' && layout !== 'store' && layout !== 'partial')
  throw new Error(`--layout direct|store|partial, not ${layout}`);
const deferred = layout === 'partial';
const tables = layout === 'store';
const cacheKiB = flag('--cache-kib', 2000);

const dir = mkdtempSync(join(tmpdir(), 'ampere-mw-'));
const db = new Database(join(dir, 'bench.db'));
db.pragma('journal_mode = WAL');
db.pragma('synchronous = NORMAL');
db.pragma('wal_autocheckpoint = 10000');
db.pragma(`cache_size = -${cacheKiB}`);
const checkpointer = new Database(join(dir, 'bench.db'));

if (deferred) {
  db.exec(`CREATE TABLE meter_values (
      id INTEGER PRIMARY KEY, charger_id TEXT NOT NULL, connector_id INTEGER NOT NULL,
      transaction_id INTEGER, ts INTEGER NOT NULL, source TEXT NOT NULL, samples TEXT NOT NULL, pending INTEGER);
    CREATE INDEX meter_values_charger ON meter_values (charger_id, ts) WHERE pending IS NULL;
    CREATE INDEX meter_values_tx ON meter_values (transaction_id, ts) WHERE transaction_id IS NOT NULL AND pending IS NULL;
    CREATE INDEX meter_values_pending ON meter_values (id) WHERE pending = 1;`);
} else migrateSqlite(db, tables ? sqliteMigrations : sqliteMigrations.filter((m) => m.version < 17));

// Eight sampled values as the store encodes them: [value, context, format, measurand, phase, location, unit, wh, w].
function samples(wh: number): string {
  const s: unknown[] = [];
  s.push([String(wh), 'Sample.Periodic', null, 'Energy.Active.Import.Register', null, 'Outlet', 'Wh', wh, null]);
  for (const ph of ['L1', 'L2', 'L3']) {
    s.push(['16.0', 'Sample.Periodic', null, 'Current.Import', ph, 'Outlet', 'A', null, null]);
    s.push(['230.1', 'Sample.Periodic', null, 'Voltage', ph, 'Outlet', 'V', null, null]);
  }
  s.push(['11040', 'Sample.Periodic', null, 'Power.Active.Import', null, 'Outlet', 'W', null, 11040]);
  return JSON.stringify(s);
}

const insert = db.prepare(
  `INSERT INTO meter_values (charger_id, connector_id, transaction_id, ts, source, samples${deferred ? ', pending' : ''})
   VALUES (?, 1, ?, ?, 'MeterValues', ?${deferred ? ', 1' : ''})`,
);
const begin = db.prepare('BEGIN IMMEDIATE');
const commit = db.prepare('COMMIT');
const ids = Array.from({ length: chargers }, (_, i) => `CP${String(i).padStart(5, '0')}`);
const t0 = Date.UTC(2026, 0, 1);
let seq = 0;
/** The current batch's rows as the writer op's parameters (METER_COLUMNS each), for the indexer. */
let batchParams: unknown[] = [];
function insertRow(): void {
  const c = seq % chargers;
  const n = Math.floor(seq / chargers);
  const ts = t0 + n * 1000;
  const json = samples(n * 10);
  insert.run(ids[c], 1000 + c, ts, json);
  batchParams.push(ids[c], 1, 1000 + c, ts, 'MeterValues', json);
  seq++;
}

// The indexing step of the deferred layout: the oldest fresh rows, at most `slice` of them.
const freshBound = deferred
  ? db.prepare('SELECT max(id) AS hi FROM (SELECT id FROM meter_values WHERE pending = 1 ORDER BY id LIMIT ?)')
  : null;
const settle = deferred ? db.prepare('UPDATE meter_values SET pending = NULL WHERE pending = 1 AND id <= ?') : null;
if (deferred && process.argv.includes('--plans')) {
  for (const s of [freshBound!, settle!]) console.log(s.source, db.prepare(`EXPLAIN QUERY PLAN ${s.source}`).all(1));
}
let longestSliceMs = 0;
let slices = 0;
function indexFresh(): void {
  for (;;) {
    const start = performance.now();
    begin.run();
    const { hi } = freshBound!.get(slice) as { hi: number | null };
    const u0 = performance.now();
    if (hi !== null) settle!.run(hi);
    const u1 = performance.now();
    commit.run();
    if (process.argv.includes('--trace'))
      console.log(
        `slice: bound ${(u0 - start).toFixed(1)} update ${(u1 - u0).toFixed(1)} commit ${(performance.now() - u1).toFixed(1)} ms`,
      );
    const ms = performance.now() - start;
    if (hi === null) return;
    slices++;
    if (ms > longestSliceMs) longestSliceMs = ms;
  }
}

// The store layout: the store's indexer, told of each batch as the writer thread tells it.
const indexer = tables
  ? new MeterIndexer(db, txControl(db), () => 0, {
      afterRows: indexEvery,
      afterMs: Number.POSITIVE_INFINITY,
      sliceRows: slice,
    })
  : null;
const noFailure = { results: null, failures: null, fatal: null, retried: false };
/** How long each batch's indexing step held the writer (what the next batch waited), when it ran one. */
const stepMs: number[] = [];
function afterBatch(): void {
  const stepsBefore = indexer!.stats.steps;
  const started = performance.now();
  indexer!.afterBatch([WRITE_OP.insertMeterValues], [batchParams], noFailure);
  batchParams = [];
  if (indexer!.stats.steps !== stepsBefore) stepMs.push(performance.now() - started);
}
function pct(xs: number[], p: number): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? 0;
}

// Prefill in one transaction: every charger past the rows that share its index pages.
begin.run();
for (let i = 0; i < prefill * chargers; i++) insertRow();
commit.run();
if (deferred) indexFresh();
if (tables) indexer!.flush();
checkpointer.pragma('wal_checkpoint(TRUNCATE)');
longestSliceMs = 0;
slices = 0;
if (indexer !== null) Object.assign(indexer.stats, { steps: 0, slices: 0, longestStepMs: 0 });

let commitNs = 0n;
const commitMs: number[] = [];
let sinceCheckpoint = 0;
let sinceIndex = 0;
const cpu0 = process.cpuUsage();
const wall0 = performance.now();
for (let done = 0; done < rows; done += batch) {
  begin.run();
  batchParams = [];
  for (let i = 0; i < batch; i++) insertRow();
  const c0 = process.hrtime.bigint();
  commit.run();
  const dt = process.hrtime.bigint() - c0;
  commitNs += dt;
  commitMs.push(Number(dt) / 1e6);
  sinceCheckpoint += batch;
  sinceIndex += batch;
  if (tables) afterBatch();
  if (deferred && sinceIndex >= indexEvery) {
    indexFresh();
    sinceIndex = 0;
  }
  if (sinceCheckpoint >= checkpointRows) {
    checkpointer.pragma('wal_checkpoint(PASSIVE)');
    sinceCheckpoint = 0;
  }
}
if (deferred) indexFresh();
if (tables) indexer!.flush();
const cpu = process.cpuUsage(cpu0);
const wall = performance.now() - wall0;
const us = (cpu.user + cpu.system) / rows;
console.log(
  `${layout}: ${us.toFixed(1)} us CPU/row (user ${(cpu.user / rows).toFixed(1)}, sys ${(cpu.system / rows).toFixed(1)}), ` +
    `commit ${(Number(commitNs) / 1000 / rows).toFixed(1)} us/row wall (p50 ${pct(commitMs, 50).toFixed(1)} ms, ` +
    `p99 ${pct(commitMs, 99).toFixed(1)} ms), ${Math.round((rows / wall) * 1000)} rows/s` +
    (deferred ? `; ${slices} indexing slices, longest ${longestSliceMs.toFixed(1)} ms` : '') +
    (tables
      ? `; ${stepMs.length} indexing steps (pass read + slice) p50 ${pct(stepMs, 50).toFixed(1)} ms, ` +
        `p99 ${pct(stepMs, 99).toFixed(1)} ms, longest ${pct(stepMs, 100).toFixed(1)} ms`
      : ''),
);
checkpointer.close();
db.close();
rmSync(dir, { recursive: true, force: true });
