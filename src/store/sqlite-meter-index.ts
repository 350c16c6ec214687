// Deferred indexing of meter values (SQLite, migrations 17 and 18). A MeterValues row is committed
// into meter_values alone; its entry in the lookup table meter_values_by_charger, and the time span
// of its transaction on its charger (meter_tx_spans), are added later by this indexer, on the
// writer's connection, for many rows at once. A transaction's rows are read through the per-charger
// entries within its span(s).
//
// Why: each commit writes every page it dirtied to the WAL. Indexed on insert, a row dirtied the
// tail page of its charger's range and of its transaction's range, and with one CALL in flight per
// charger no two rows of a group commit share those pages: two 4 KiB WAL frames per meter value.
// (Until migration 18 the transactions had an entry per row too, in meter_values_by_tx; a span per
// transaction and charger per slice costs the writer ~1.5 µs less per meter value.)
// Indexed here, the fresh rows of up to a second (AFTER_ROWS at most) are sorted by charger, so a
// charger's page is written once for all of its rows of the pass (bench/meter-writes.ts measures
// both: 27 → 13 µs of CPU per row).
//
// Rows with id <= meter_values_indexed.upto (the mark) have their entry, and their transaction's
// span on their charger covers their time; rows above it are "fresh", and readers take them from
// the table by rowid range (meterSource, below). A span only ever widens: one wider than its rows
// (rows deleted since) covers a time with fewer entries, never a wrong one. A pass reads
// the fresh ids, then inserts their entries in slices of SLICE_ROWS rows, each its own short
// transaction; the writer runs one step after each group commit, and the last slice moves the mark. Entries of
// rows above the mark are ignored by readers, so a pass cut short (crash, close) is harmless and
// the next pass redoes it (INSERT OR IGNORE). A DELETE trigger drops a row's entries, lowers the
// mark below ids SQLite could hand out again, and counts deletions of fresh rows (gen): a pass
// that saw the mark or gen change meanwhile ends without moving it (compare-and-set), and the
// next one starts over. Each slice reads the mark and gen again inside its own transaction and
// inserts entries from what the pass read only when both are unchanged: rows are never updated,
// and a fresh row cannot go without moving one of them, so every entry matches its row. (Copying
// each entry from its row, INSERT … SELECT by id, read the rows back in charger order, one page
// each, long gone from the writer's page cache: most of the writer thread's time under load.)
//
// A pass does not even read the fresh ids when the batches told it which rows they inserted:
// after each committed batch the indexer notes its meter rows' charger, time and transaction,
// with ids from max(id) back, as long as the ids run on from the last ones noted and the
// deletion counter has not moved. A pass takes the noted rows only when they are exactly its
// range (from the mark up to max(id)) under the same counter; anything else (a re-run batch, a
// deletion, ids that do not run on, the first pass of a process) and it reads them as before.
import type Database from 'better-sqlite3';
import { METER_COLUMNS } from './meter-samples.ts';
import { WRITE_OP } from './sqlite-writes.ts';
import { toMs } from './time.ts';
import type { TimeInput } from './types.ts';
import type { BatchOutcome, TxControl } from './write-queue.ts';

export interface MeterIndexOptions {
  /** Fresh rows that start a pass at once. */
  afterRows?: number;
  /** Milliseconds after the last pass that start one for any fresh row. */
  afterMs?: number;
  /** Rows indexed per slice (one transaction) at most, and fresh ids read per step. */
  sliceRows?: number;
  /** Milliseconds after which a slice ends early: what the next write may wait behind it. */
  sliceBudgetMs?: number;
}

/**
 * Defaults, measured with bench/meter-writes.ts (1 000 chargers): ~10 rows per charger per pass
 * share their page, and the fresh rows readers scan stay few; a step takes ~2 ms, what the next
 * write waits behind it.
 */
const AFTER_ROWS = 10_000;
const AFTER_MS = 1_000;
const SLICE_ROWS = 500;
/**
 * A slice's time budget, checked every SLICE_CHECK rows: every write waits behind the step under
 * way, and slices of 500 rows took 8-11 ms of wall time on the benchmark's busy two cores (a pass
 * with few rows per charger dirties a page per few rows). With the budget, the tail of the open
 * loop at 5 000 msg/s went from p99 20-30 ms to 11-16 ms (bench/README.md).
 */
const SLICE_BUDGET_MS = 4;
/**
 * Rows per INSERT statement, and how often the budget is checked. One statement for 25 entries
 * instead of 25: bench/meter-writes.ts --layout store, 14.5-15.5 → 13.1-13.2 µs of CPU per row.
 */
const SLICE_CHECK = 25;
/** Values per lookup entry: (charger_id, ts, id). */
const ENTRY_COLUMNS = 3;

type Fresh = [id: number, chargerId: string, ts: number, transactionId: number | null];

/** Fresh rows noted from the batches that inserted them: ids start+1 … to, all of them, in order. */
interface Noted {
  rows: Fresh[];
  start: number;
  to: number;
  gen: number;
}

interface Pass {
  rows: Fresh[];
  read: number;
  at: number;
  from: number;
  to: number;
  gen: number;
}

function byChargerTs(a: Fresh, b: Fresh): number {
  if (a[1] !== b[1]) return a[1] < b[1] ? -1 : 1;
  return a[2] - b[2] || a[0] - b[0];
}

export class MeterIndexer {
  readonly #tx: TxControl;
  readonly #now: () => number;
  readonly #afterRows: number;
  readonly #afterMs: number;
  readonly #sliceRows: number;
  readonly #sliceBudgetMs: number;
  readonly #mark: Database.Statement;
  readonly #fresh: Database.Statement;
  readonly #last: Database.Statement;
  /** INSERT OR IGNORE of n entries (n = 1 … SLICE_CHECK) into the lookup table, prepared on first use. */
  readonly #byCharger: (n: number) => Database.Statement;
  /** Widens (or makes) the span of a transaction on a charger. */
  readonly #span: Database.Statement;
  /** The parameters of one chunk of entries, reused. */
  readonly #chargerParams: unknown[] = [];
  readonly #moveMark: Database.Statement;
  /**
   * Rows inserted since the last pass began (an estimate: a re-run batch counts twice). One at
   * start: an earlier process may have left fresh rows, and the first pass looks for them.
   */
  #inserted = 1;
  #lastPass: number;
  /**
   * The pass under way: the mark it moves (from → to), its rows (read in steps of sliceRows ids
   * up to `read`, then sorted by charger), and where the next slice starts (-1 while reading).
   */
  #pass: Pass | null = null;
  /** The fresh rows since the last pass began, as the batches inserted them; null: not known. */
  #noted: Noted | null = null;
  /** Counters for benchmarks and tests (`noted`: passes that took their rows as noted, unread). */
  readonly stats = {
    passes: 0,
    noted: 0,
    steps: 0,
    slices: 0,
    rows: 0,
    longestStepMs: 0,
    failures: 0,
    dropped: 0,
  };

  constructor(db: Database.Database, tx: TxControl, now: () => number, opts: MeterIndexOptions = {}) {
    this.#tx = tx;
    this.#now = now;
    this.#afterRows = opts.afterRows ?? AFTER_ROWS;
    this.#afterMs = opts.afterMs ?? AFTER_MS;
    this.#sliceRows = opts.sliceRows ?? SLICE_ROWS;
    this.#sliceBudgetMs = opts.sliceBudgetMs ?? SLICE_BUDGET_MS;
    this.#lastPass = now();
    this.#mark = db.prepare('SELECT upto, gen FROM meter_values_indexed').raw();
    this.#fresh = db
      .prepare(
        'SELECT id, charger_id, ts, transaction_id FROM meter_values WHERE id > ? AND id <= ? ORDER BY id LIMIT ?',
      )
      .raw();
    this.#last = db.prepare('SELECT max(id) FROM meter_values').pluck();
    this.#byCharger = entryInserts(db, 'meter_values_by_charger (charger_id, ts, id)');
    this.#span = db.prepare(`INSERT INTO meter_tx_spans (transaction_id, charger_id, first_ts, last_ts)
      VALUES (?, ?, ?, ?) ON CONFLICT (transaction_id, charger_id) DO UPDATE
      SET first_ts = min(first_ts, excluded.first_ts), last_ts = max(last_ts, excluded.last_ts)`);
    this.#moveMark = db.prepare('UPDATE meter_values_indexed SET upto = ? WHERE upto = ? AND gen = ?');
  }

  /**
   * After a group commit: counts its meter rows, then runs one slice when a pass is due. The
   * next batch waits for that slice only. An indexing failure is counted and left to the next
   * pass: the rows stay readable as fresh rows meanwhile.
   */
  afterBatch(codes: readonly number[], params: readonly unknown[], out: BatchOutcome): void {
    this.committed(codes, params, out);
    this.stepIfDue();
  }

  /** Counts (and notes) the meter rows of a batch that has run; no indexing yet. */
  committed(codes: readonly number[], params: readonly unknown[], out: BatchOutcome): void {
    if (out.fatal === null) {
      let n = 0;
      for (let i = 0; i < codes.length; i++)
        if (codes[i] === WRITE_OP.insertMeterValues) n += (params[i] as unknown[]).length / METER_COLUMNS;
      this.#inserted += n;
      if (out.retried) this.#noted = null;
      else if (n > 0 && this.#noted !== null) {
        try {
          this.#note(codes, params, n, this.#noted);
        } catch {
          this.#noted = null;
        }
      }
    }
  }

  /** Runs one step of indexing if a pass is under way or due; a failure is counted, not thrown. */
  stepIfDue(): void {
    if (!this.due) return;
    try {
      this.step();
    } catch {
      this.stats.failures++;
    }
  }

  /** Notes the `n` meter rows a committed batch inserted, or forgets what was noted if their ids cannot be known. */
  #note(codes: readonly number[], params: readonly unknown[], n: number, noted: Noted): void {
    const last = (this.#last.get() as number | null) ?? 0;
    const gen = (this.#mark.get() as [number, number])[1];
    // The batch's rows took the ids after the last ones noted, one each, in order; unless a
    // deletion (gen) or a reused id (the ids would not run on) says otherwise.
    if (gen !== noted.gen || last - n !== noted.to) {
      this.#noted = null;
      return;
    }
    let id = noted.to;
    for (let i = 0; i < codes.length; i++) {
      if (codes[i] !== WRITE_OP.insertMeterValues) continue;
      const p = params[i] as unknown[];
      for (let j = 0; j < p.length; j += METER_COLUMNS)
        noted.rows.push([++id, p[j] as string, p[j + 3] as number, p[j + 2] as number | null]);
    }
    noted.to = last;
  }

  /** A pass is under way, or due: enough fresh rows, or any after AFTER_MS. */
  get due(): boolean {
    if (this.#pass !== null || this.#inserted >= this.#afterRows) return true;
    return this.#inserted > 0 && this.#now() - this.#lastPass >= this.#afterMs;
  }

  /**
   * Runs one step of a pass (starting one first when none is under way): reading the next
   * sliceRows fresh ids, or indexing the next sliceRows rows in one transaction. Returns whether
   * the pass has more steps. Throws what the database throws; the pass is then dropped and the
   * next one starts over.
   */
  step(): boolean {
    if (this.#pass === null && !this.#begin()) return false;
    const pass = this.#pass!;
    const started = performance.now();
    try {
      if (pass.at < 0) this.#read(pass);
      else this.#slice(pass);
    } catch (err) {
      if (this.#tx.inTransaction) this.#tx.rollback();
      this.#pass = null;
      throw err;
    }
    this.stats.steps++;
    this.stats.longestStepMs = Math.max(this.stats.longestStepMs, performance.now() - started);
    if (pass.at < pass.rows.length) return true;
    this.#pass = null;
    return false;
  }

  /** Indexes every fresh row now. */
  flush(): void {
    while (this.step());
    // Rows committed after the pass had fixed its range are taken by one more pass.
    while (this.step());
  }

  #begin(): boolean {
    this.#inserted = 0;
    this.#lastPass = this.#now();
    const [from, gen] = this.#mark.get() as [number, number];
    const to = (this.#last.get() as number | null) ?? 0;
    const noted = this.#noted;
    // What the batches insert from now on runs on from `to`, the next pass's mark if this one completes.
    this.#noted = to >= from ? { rows: [], start: to, to, gen } : null;
    if (to <= from) return false;
    this.stats.passes++;
    if (
      noted !== null &&
      noted.start === from &&
      noted.to === to &&
      noted.gen === gen &&
      noted.rows.length === to - from
    ) {
      noted.rows.sort(byChargerTs);
      this.#pass = { rows: noted.rows, read: to, at: 0, from, to, gen };
      this.stats.noted++;
      return true;
    }
    this.#pass = { rows: [], read: from, at: -1, from, to, gen };
    return true;
  }

  #read(pass: Pass): void {
    // A slice's worth per step: the ids come from the rows themselves (~1 KB each), and reading
    // 2 000 at once, long out of the page cache, was a 10-40 ms step under a light load.
    const limit = this.#sliceRows;
    const chunk = this.#fresh.all(pass.read, pass.to, limit) as Fresh[];
    for (const r of chunk) pass.rows.push(r);
    if (chunk.length === limit) {
      pass.read = chunk[chunk.length - 1]![0];
      return;
    }
    pass.rows.sort(byChargerTs);
    pass.at = 0;
    if (pass.rows.length === 0) this.#slice(pass); // every row deleted meanwhile: move the mark
  }

  /** Widens the span of rows[from]'s transaction on its charger to rows[from … to-1] (same charger and transaction, in time order). */
  #putSpan(rows: readonly Fresh[], from: number, to: number): void {
    const first = rows[from]!;
    this.#span.run(first[3], first[1], first[2], rows[to - 1]![2]);
  }

  #slice(pass: Pass): void {
    const rows = pass.rows;
    const end = Math.min(rows.length, pass.at + this.#sliceRows);
    this.#tx.begin();
    const [upto, gen] = this.#mark.get() as [number, number];
    if (upto !== pass.from || gen !== pass.gen) {
      // A fresh row went, or the mark moved, since the pass began: what it read may be stale.
      this.#tx.rollback();
      pass.at = rows.length;
      this.stats.dropped++;
      return;
    }
    const started = performance.now();
    let i = pass.at;
    const byCharger = this.#chargerParams;
    while (i < end) {
      // SLICE_CHECK rows per statement: one call into SQLite per chunk instead of one per entry.
      const stop = Math.min(end, i + SLICE_CHECK);
      byCharger.length = 0;
      // The rows are in charger and time order: a run of one charger's rows of one transaction
      // makes one span (a charger alternating between two transactions makes a few, merged).
      let spanAt = -1;
      for (; i < stop; i++) {
        const r = rows[i]!;
        byCharger.push(r[1], r[2], r[0]);
        if (spanAt >= 0 && (r[1] !== rows[spanAt]![1] || r[3] !== rows[spanAt]![3])) {
          this.#putSpan(rows, spanAt, i);
          spanAt = -1;
        }
        if (spanAt < 0 && r[3] !== null) spanAt = i;
      }
      if (spanAt >= 0) this.#putSpan(rows, spanAt, i);
      this.#byCharger(byCharger.length / ENTRY_COLUMNS).run(byCharger);
      if (performance.now() - started > this.#sliceBudgetMs) break;
    }
    if (i === rows.length) this.#moveMark.run(pass.to, pass.from, pass.gen);
    this.#tx.commit();
    this.stats.slices++;
    this.stats.rows += i - pass.at;
    pass.at = i;
  }
}

/** Statements inserting 1 … SLICE_CHECK entries at once into `target`, each prepared when first used. */
function entryInserts(db: Database.Database, target: string): (n: number) => Database.Statement {
  const byCount: Database.Statement[] = [];
  return (n) => {
    let stmt = byCount[n];
    if (stmt === undefined) {
      stmt = db.prepare(`INSERT OR IGNORE INTO ${target} VALUES ${Array(n).fill('(?, ?, ?)').join(', ')}`);
      byCount[n] = stmt;
    }
    return stmt;
  };
}

// ---------------------------------------------------------------- the read side

const MARK = '(SELECT upto FROM meter_values_indexed)';
const COLUMNS = 'v.charger_id, v.connector_id, v.transaction_id, v.source, v.samples';

/**
 * The meter_values rows of a charger or a transaction, as a FROM item to alias `m` (the
 * caller's WHERE still applies): the lookup entries up to the mark joined to their rows, UNION
 * ALL the fresh rows above the mark (a rowid range, at most ~1 s of writes). A charger's first
 * arm takes id and ts from its entries, so their primary key order serves ORDER BY m.ts, m.id and
 * a LIMIT stops early (SQLite merges the two arms). A transaction's first arm takes the entries of
 * each charger it has a span on, within that span, and keeps its own rows (a charger's other
 * connectors and the rows between its transactions are read and left out). Without either
 * filter: the table itself.
 */
export function meterSource(q: { chargerId?: string; transactionId?: number; from?: TimeInput; to?: TimeInput }): {
  sql: string;
  params: unknown[];
} {
  let range = '';
  const rangeParams: unknown[] = [];
  if (q.from !== undefined) {
    range += ' AND x.ts >= ?';
    rangeParams.push(toMs(q.from, 'from'));
  }
  if (q.to !== undefined) {
    range += ' AND x.ts < ?';
    rangeParams.push(toMs(q.to, 'to'));
  }
  if (q.transactionId !== undefined) {
    const t = q.transactionId;
    return {
      sql: `(SELECT x.id AS id, x.ts AS ts, ${COLUMNS}
        FROM meter_tx_spans s
        JOIN meter_values_by_charger x ON x.charger_id = s.charger_id AND x.ts >= s.first_ts AND x.ts <= s.last_ts
        JOIN meter_values v ON v.id = x.id
        WHERE s.transaction_id = ? AND v.transaction_id = ? AND x.id <= ${MARK}${range}
      UNION ALL
      SELECT v.id, v.ts, ${COLUMNS} FROM meter_values v WHERE v.id > ${MARK} AND v.transaction_id = ?)`,
      params: [t, t, ...rangeParams, t],
    };
  }
  if (q.chargerId === undefined) return { sql: 'meter_values', params: [] };
  const c = q.chargerId;
  return {
    sql: `(SELECT x.id AS id, x.ts AS ts, ${COLUMNS}
        FROM meter_values_by_charger x JOIN meter_values v ON v.id = x.id
        WHERE x.charger_id = ? AND x.id <= ${MARK}${range}
      UNION ALL
      SELECT v.id, v.ts, ${COLUMNS} FROM meter_values v WHERE v.id > ${MARK} AND v.charger_id = ?)`,
    params: [c, ...rangeParams, c],
  };
}
