// Deferred indexing of meter values (src/store/sqlite-meter-index.ts, migrations 17 and 18) on
// real database files: reads see every committed row whether indexed, fresh or mid-pass; deletions
// cannot hide a row; the migrations convert a database holding meter values; the reads keep
// indexed query plans.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { migrateSqlite, sqliteMigrations } from '../../src/store/migrations.ts';
import { meterValuesSql, openSqliteStore, type SqliteStore } from '../../src/store/sqlite.ts';
import { MeterIndexer } from '../../src/store/sqlite-meter-index.ts';
import { runWriteOp, statementCache, txControl, WRITE_OP } from '../../src/store/sqlite-writes.ts';
import { type BatchOutcome, runBatch } from '../../src/store/write-queue.ts';
import { meterRow } from './contract.ts';

const dir = mkdtempSync(join(tmpdir(), 'ampere-meter-index-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshFile = () => join(dir, `db-${process.pid}-${n++}.sqlite`);
const T0 = Date.parse('2024-05-01T10:00:00.000Z');

/** The mark and entry counts, read on a connection of its own. */
function indexState(file: string): { upto: number; gen: number; byCharger: number; spans: number; rows: number } {
  const db = new Database(file, { readonly: true });
  try {
    return db
      .prepare(`SELECT upto, gen, (SELECT count(*) FROM meter_values_by_charger) AS byCharger,
        (SELECT count(*) FROM meter_tx_spans) AS spans, (SELECT count(*) FROM meter_values) AS rows
        FROM meter_values_indexed`)
      .get() as { upto: number; gen: number; byCharger: number; spans: number; rows: number };
  } finally {
    db.close();
  }
}

async function values(
  s: SqliteStore,
  q: { chargerId?: string; transactionId?: number; from?: number; to?: number },
): Promise<string[]> {
  return (await s.queryMeterValues({ ...q, limit: 100_000 })).map((r) => r.value);
}

describe('meter values indexed after commit (sqlite)', () => {
  it('reads by charger and by transaction see every committed row, indexed, fresh or mid-pass', async () => {
    const file = freshFile();
    // A pass at every write, two rows a slice: most reads land in the middle of a pass.
    const s = await openSqliteStore({ file, writer: 'thread', meterIndex: { afterRows: 1, sliceRows: 2 } });
    const expected = new Map<string, string[]>();
    let sawBoth = false;
    for (let i = 0; i < 60; i++) {
      const chargerId = `CP${i % 3}`;
      const transactionId = 100 + (i % 3);
      await s.insertMeterValues([meterRow({ chargerId, transactionId, timestamp: T0 + i * 1000, value: String(i) })]);
      for (const key of [chargerId, `tx${transactionId}`]) expected.set(key, [...(expected.get(key) ?? []), String(i)]);
      for (let c = 0; c < 3; c++) {
        assert.deepEqual(await values(s, { chargerId: `CP${c}` }), expected.get(`CP${c}`) ?? [], `CP${c} after ${i}`);
        assert.deepEqual(
          await values(s, { transactionId: 100 + c }),
          expected.get(`tx${100 + c}`) ?? [],
          `tx after ${i}`,
        );
      }
      const st = indexState(file);
      if (st.upto > 0 && st.upto < st.rows) sawBoth = true;
    }
    assert.ok(sawBoth, 'some reads found rows both indexed and fresh');
    // The summary and buckets read the same rows.
    const summary = await s.transactionMeterSummary(100);
    assert.equal(summary.samples, 20);
    assert.equal(summary.lastWh, 0);
    const buckets = await s.queryMeterBuckets({ chargerId: 'CP1', stepSeconds: 3600 });
    assert.equal(
      buckets.reduce((sum, b) => sum + b.samples, 0),
      20,
    );
    // Writes go on until every row is indexed: the lookup tables then hold all of them.
    for (let i = 0; i < 20 && indexState(file).upto < 60; i++) await s.upsertCharger('CP0', { notes: String(i) });
    assert.deepEqual(indexState(file), { upto: 60, gen: 0, byCharger: 60, spans: 3, rows: 60 });
    assert.deepEqual(await values(s, { chargerId: 'CP2' }), expected.get('CP2'));
    await s.close();
  });

  it('a row taking the id of a pruned newest row is still found by charger (ids reused after delete)', async () => {
    const file = freshFile();
    const s = await openSqliteStore({ file, writer: 'thread', meterIndex: { afterRows: 1, sliceRows: 100 } });
    await s.insertMeterValues(
      [1, 2, 3].map((i) => meterRow({ chargerId: 'CP1', timestamp: T0 + i, value: String(i) })),
    );
    // The newest ids, timestamped by a charger whose clock is decades behind: retention takes them.
    await s.insertMeterValues([4, 5].map((i) => meterRow({ chargerId: 'CP2', timestamp: i, value: String(i) })));
    for (let i = 0; i < 5 && indexState(file).upto < 5; i++) await s.upsertCharger('CP1', {});
    assert.equal(indexState(file).upto, 5);
    assert.equal(await s.pruneMeterValues(T0 - 86_400_000, 100), 2);
    assert.equal(indexState(file).upto, 3, 'the mark came down with the deleted ids');
    // SQLite hands out id 4 again; it must count as fresh, not as indexed without entries.
    await s.insertMeterValues([meterRow({ chargerId: 'CP3', timestamp: T0, value: 'again' })]);
    assert.deepEqual(await values(s, { chargerId: 'CP3' }), ['again']);
    assert.deepEqual(await values(s, { chargerId: 'CP2' }), []);
    for (let i = 0; i < 5 && indexState(file).upto < 4; i++) await s.upsertCharger('CP1', {});
    assert.deepEqual(await values(s, { chargerId: 'CP3' }), ['again']);
    assert.equal(indexState(file).byCharger, 4);
    await s.close();
  });

  it('a pass that saw a fresh row deleted ends without moving the mark, and the next one indexes the rest', () => {
    const db = new Database(freshFile());
    migrateSqlite(db);
    const insert = db.prepare(
      "INSERT INTO meter_values (charger_id, connector_id, transaction_id, ts, source, samples) VALUES (?, 1, NULL, ?, 'MeterValues', '[]')",
    );
    for (let i = 1; i <= 6; i++) insert.run(`CP${i % 2}`, i);
    const ix = new MeterIndexer(db, txControl(db), () => 0, { afterRows: 1, sliceRows: 2 });
    assert.equal(ix.step(), true); // reads ids 1..6
    assert.equal(ix.step(), true); // indexes two of them
    db.prepare('DELETE FROM meter_values WHERE id = 6').run();
    insert.run('CP9', 7); // takes id 6 again
    while (ix.step());
    assert.equal(ix.stats.dropped, 1, 'the slices after the delete inserted nothing from what the pass had read');
    const mark = () => db.prepare('SELECT upto FROM meter_values_indexed').pluck().get();
    assert.equal(mark(), 0, 'the pass did not move the mark over a row it never indexed');
    ix.flush();
    assert.equal(mark(), 6);
    const entries = db.prepare('SELECT charger_id, id FROM meter_values_by_charger ORDER BY id').raw().all();
    assert.deepEqual(entries, [
      ['CP1', 1],
      ['CP0', 2],
      ['CP1', 3],
      ['CP0', 4],
      ['CP1', 5],
      ['CP9', 6],
    ]);
    db.close();
  });

  /** A writer's connection: each call commits one batch of meter rows, then tells the indexer. */
  function writer(opts: { afterRows: number; sliceRows: number }) {
    const db = new Database(freshFile());
    migrateSqlite(db);
    const tx = txControl(db);
    const prepare = statementCache(db);
    const ix = new MeterIndexer(db, tx, () => 0, { ...opts, afterMs: 1e9 });
    let t = T0;
    const commit = (rows: Array<[chargerId: string, transactionId: number | null]>, retried = false): void => {
      const params: unknown[] = [];
      for (const [c, id] of rows) {
        t += 1000;
        params.push(c, 1, id, t, 'MeterValues', '[]');
      }
      const out = runBatch(tx, 1, () => runWriteOp(prepare, WRITE_OP.insertMeterValues, params));
      ix.afterBatch([WRITE_OP.insertMeterValues], [params], { ...out, retried } as BatchOutcome);
    };
    /** The entries and spans a pass reading every row would make, and the ones there are. */
    const entries = () => ({
      byCharger: db.prepare('SELECT charger_id, ts, id FROM meter_values_by_charger ORDER BY 1, 2, 3').raw().all(),
      spans: db
        .prepare('SELECT transaction_id, charger_id, first_ts, last_ts FROM meter_tx_spans ORDER BY 1, 2')
        .raw()
        .all(),
      mark: db.prepare('SELECT upto FROM meter_values_indexed').pluck().get(),
    });
    const expected = () => ({
      byCharger: db.prepare('SELECT charger_id, ts, id FROM meter_values ORDER BY 1, 2, 3').raw().all(),
      spans: db
        .prepare(`SELECT transaction_id, charger_id, min(ts), max(ts) FROM meter_values
          WHERE transaction_id IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2`)
        .raw()
        .all(),
      mark: db.prepare('SELECT max(id) FROM meter_values').pluck().get(),
    });
    return { db, ix, commit, entries, expected };
  }

  it('passes take the rows the batches noted, without reading them, and index exactly what a read would', () => {
    const w = writer({ afterRows: 5, sliceRows: 3 });
    for (let i = 0; i < 40; i++)
      w.commit([
        [`CP${i % 3}`, i % 4 === 0 ? null : 100 + (i % 5)],
        [`CP${(i + 1) % 3}`, null],
      ]);
    w.ix.flush();
    assert.ok(w.ix.stats.passes >= 8, `passes: ${w.ix.stats.passes}`);
    // The first pass of a process reads; the ones after it run on what the batches noted.
    assert.equal(w.ix.stats.noted, w.ix.stats.passes - 1);
    assert.deepEqual(w.entries(), w.expected());
    assert.equal(w.ix.stats.dropped, 0);
    w.db.close();
  });

  it('a slice inserts its entries many per statement: a count that is no multiple of the chunk, rows without a transaction among them', () => {
    for (const sliceRows of [1_000, 60, 26]) {
      const w = writer({ afterRows: 10_000, sliceRows });
      for (let i = 0; i < 137; i++) w.commit([[`CP${i % 11}`, i % 4 === 1 ? null : 200 + (i % 6)]]);
      w.ix.flush();
      assert.deepEqual(w.entries(), w.expected(), `sliceRows ${sliceRows}`);
      w.db.close();
    }
  });

  it('after a deletion, a re-run batch or a reused id, the next pass reads its rows instead of trusting the notes', () => {
    const w = writer({ afterRows: 1_000, sliceRows: 1_000 });
    w.commit([['CP1', 7]]);
    w.ix.flush(); // the first pass reads; notes start from here
    const passes = () => [w.ix.stats.passes, w.ix.stats.noted];
    w.commit([
      ['CP1', 7],
      ['CP2', null],
    ]);
    w.ix.flush();
    assert.deepEqual(passes(), [2, 1], 'noted');
    // A fresh row deleted (gen moves), not the newest (its id is not handed out again): what was
    // noted names a row that is gone.
    w.commit([
      ['CP3', 8],
      ['CP1', 7],
    ]);
    w.db.prepare("DELETE FROM meter_values WHERE charger_id = 'CP3'").run();
    w.commit([['CP4', 9]]);
    w.ix.flush();
    assert.deepEqual(passes(), [3, 1], 'read after the deletion');
    assert.deepEqual(w.entries(), w.expected());
    // A row inserted behind the batches' back (another connection): the ids do not run on.
    w.commit([['CP8', 12]]);
    w.db
      .prepare(
        "INSERT INTO meter_values (charger_id, connector_id, ts, source, samples) VALUES ('CP9', 1, 1, 'MeterValues', '[]')",
      )
      .run();
    w.commit([['CP8', 12]]);
    w.ix.flush();
    assert.deepEqual(passes(), [4, 1], 'read after a row it was not told of');
    assert.deepEqual(w.entries(), w.expected());
    // A batch re-run with savepoints: which of its writes went in is not known here.
    w.commit([['CP5', null]], true);
    w.ix.flush();
    assert.deepEqual(passes(), [5, 1], 'read after a re-run batch');
    // The newest row deleted once indexed: SQLite hands its id out again, the ids do not run on.
    w.commit([['CP6', 10]]);
    w.ix.flush();
    assert.deepEqual(passes(), [6, 2]);
    w.db.prepare('DELETE FROM meter_values WHERE id = (SELECT max(id) FROM meter_values)').run();
    w.commit([['CP7', 11]]);
    w.ix.flush();
    assert.deepEqual(passes(), [7, 2], 'read after an id was reused');
    // The deleted row's span stays (a span only widens): it leads a read of transaction 10 to no entry.
    const stale = [10, 'CP6'];
    const { spans, ...rest } = w.entries();
    const { spans: wanted, ...restWanted } = w.expected();
    assert.deepEqual(rest, restWanted);
    assert.deepEqual(
      spans.filter((x) => !((x as unknown[])[0] === stale[0] && (x as unknown[])[1] === stale[1])),
      wanted,
    );
    assert.equal(spans.length, wanted.length + 1);
    w.db.close();
  });

  it('a slice over its time budget ends early; the pass goes on from there and moves the mark once done', () => {
    const db = new Database(freshFile());
    migrateSqlite(db);
    const insert = db.prepare(
      "INSERT INTO meter_values (charger_id, connector_id, transaction_id, ts, source, samples) VALUES (?, 1, ?, ?, 'MeterValues', '[]')",
    );
    for (let i = 1; i <= 120; i++) insert.run(`CP${i % 7}`, i % 3 === 0 ? null : 100 + (i % 5), i);
    // A budget of 0 ms: every slice stops at its first check (25 rows), far short of sliceRows.
    const ix = new MeterIndexer(db, txControl(db), () => 0, { afterRows: 1, sliceRows: 500, sliceBudgetMs: 0 });
    const mark = () => db.prepare('SELECT upto FROM meter_values_indexed').pluck().get();
    assert.equal(ix.step(), true, 'the read step');
    assert.equal(ix.step(), true, 'a first slice, cut short');
    assert.equal(ix.stats.rows, 25, 'cut at the first check');
    assert.equal(mark(), 0, 'the mark waits for the last slice');
    while (ix.step());
    assert.equal(ix.stats.slices, 5);
    assert.equal(mark(), 120);
    const count = (t: string) => db.prepare(`SELECT count(*) FROM ${t}`).pluck().get();
    assert.equal(count('meter_values_by_charger'), 120);
    assert.deepEqual(
      db.prepare('SELECT transaction_id, charger_id, first_ts, last_ts FROM meter_tx_spans ORDER BY 1, 2').raw().all(),
      db
        .prepare(`SELECT transaction_id, charger_id, min(ts), max(ts) FROM meter_values
          WHERE transaction_id IS NOT NULL GROUP BY 1, 2 ORDER BY 1, 2`)
        .raw()
        .all(),
      'one span per transaction and charger, over exactly its rows; rows without a transaction make none',
    );
    db.close();
  });

  it('a pass cut short (process killed between slices) leaves every row readable; the next pass finishes', async () => {
    const file = freshFile();
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    migrateSqlite(db);
    const insert = db.prepare(
      "INSERT INTO meter_values (charger_id, connector_id, transaction_id, ts, source, samples) VALUES (?, 1, ?, ?, 'MeterValues', ?)",
    );
    const sample = (i: number) => JSON.stringify([[String(i), null, null, null, null, null, 'Wh', i, null]]);
    for (let i = 1; i <= 9; i++) insert.run(`CP${i % 3}`, 10 + (i % 3), T0 + i, sample(i));
    const ix = new MeterIndexer(db, txControl(db), () => 0, { afterRows: 1, sliceRows: 2 });
    for (let i = 0; i < 5; i++) ix.step(); // reads the 9 ids, a slice's worth (2) per step
    ix.step(); // one slice committed: entries above the mark, the mark not moved
    db.close(); // each slice is its own transaction: this is what a kill -9 between slices leaves
    assert.deepEqual(indexState(file), { upto: 0, gen: 0, byCharger: 2, spans: 1, rows: 9 });
    const s = await openSqliteStore({ file, writer: 'thread', meterIndex: { afterRows: 1, sliceRows: 100 } });
    assert.equal((await values(s, { chargerId: 'CP1' })).length, 3, 'no row twice, none missing');
    assert.equal((await values(s, { transactionId: 11 })).length, 3);
    for (let i = 0; i < 5 && indexState(file).upto < 9; i++) await s.upsertCharger('CP1', {});
    assert.deepEqual(indexState(file), { upto: 9, gen: 0, byCharger: 9, spans: 3, rows: 9 });
    assert.equal((await values(s, { chargerId: 'CP1' })).length, 3);
    await s.close();
  });

  it('starts a pass after afterMs for any fresh row, by its clock', () => {
    const db = new Database(':memory:');
    migrateSqlite(db);
    let now = 0;
    const ix = new MeterIndexer(db, txControl(db), () => now, { afterRows: 1000, afterMs: 1000 });
    const ok = { results: null, failures: null, fatal: null, retried: false };
    assert.equal(ix.due, false);
    now = 1000;
    assert.equal(ix.due, true, 'after afterMs it looks for rows an earlier process left fresh');
    ix.afterBatch([WRITE_OP.noop], [null], ok);
    assert.equal(ix.stats.passes, 0, 'there were none');
    now = 5000;
    assert.equal(ix.due, false, 'nothing fresh, nothing due');
    db.prepare(
      "INSERT INTO meter_values (charger_id, connector_id, ts, source, samples) VALUES ('CP1', 1, 1, 'MeterValues', '[]')",
    ).run();
    now = 1500;
    // The batch's parameters: the row just inserted (charger, connector, transaction, ts, source, samples).
    ix.afterBatch([WRITE_OP.insertMeterValues], [['CP1', 1, null, 1, 'MeterValues', '[]']], ok);
    assert.equal(ix.stats.steps, 0, 'one fresh row, and less than afterMs since the last look: no step');
    now = 1999;
    assert.equal(ix.due, false);
    now = 2000;
    assert.equal(ix.due, true);
    ix.afterBatch([WRITE_OP.noop], [null], ok); // reads the fresh id
    ix.afterBatch([WRITE_OP.noop], [null], ok); // indexes it, moves the mark
    assert.equal(db.prepare('SELECT upto FROM meter_values_indexed').pluck().get(), 1);
    assert.equal(ix.due, false);
    db.close();
  });

  it('migrations 17 and 18 convert a database holding meter values: entries, spans, mark, old indexes gone', async () => {
    const file = freshFile();
    const db = new Database(file);
    db.pragma('journal_mode = WAL');
    migrateSqlite(
      db,
      sqliteMigrations.filter((m) => m.version < 17),
    );
    const insert = db.prepare(
      "INSERT INTO meter_values (charger_id, connector_id, transaction_id, ts, source, samples) VALUES (?, 1, ?, ?, 'MeterValues', ?)",
    );
    const sample = (i: number) => JSON.stringify([[String(i), null, null, null, null, null, 'Wh', i, null]]);
    for (let i = 0; i < 30; i++) insert.run(`CP${i % 3}`, i % 2 === 0 ? 7 : null, T0 + i, sample(i));
    // Migration 17 indexes those 30; four more rows come after it, fresh when migration 18 runs.
    migrateSqlite(
      db,
      sqliteMigrations.filter((m) => m.version <= 17),
    );
    for (let i = 100; i < 104; i++) insert.run('CP1', 7, T0 + i, sample(i));
    db.close();
    const s = await openSqliteStore({ file, writer: 'thread' });
    // Transaction 7 has rows on all three chargers: three spans, from the indexed rows only.
    assert.deepEqual(indexState(file), { upto: 30, gen: 0, byCharger: 30, spans: 3, rows: 34 });
    const raw = new Database(file, { readonly: true });
    const indexes = raw
      .prepare("SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'meter_values'")
      .pluck()
      .all();
    const byTx = raw.prepare("SELECT count(*) FROM sqlite_master WHERE name = 'meter_values_by_tx'").pluck().get();
    raw.close();
    assert.deepEqual(indexes, [], 'the per-insert indexes are gone');
    assert.equal(byTx, 0, 'the per-transaction entries are gone');
    assert.equal((await values(s, { chargerId: 'CP1' })).length, 14);
    assert.equal((await values(s, { transactionId: 7 })).length, 19);
    assert.equal((await s.transactionMeterSummary(7)).lastWh, 103);
    await s.close();
  });

  it("a transaction's reads keep only its rows from the charger's entries in its span, on every charger it has one", async () => {
    const file = freshFile();
    const s = await openSqliteStore({ file, writer: 'thread', meterIndex: { afterRows: 1, sliceRows: 7 } });
    // Two connectors of CP1 charging at once (transactions 1 and 2, interleaved in time), rows
    // without a transaction between and inside them, and transaction 99 made up by two chargers.
    const rows: ReturnType<typeof meterRow>[] = [];
    for (let i = 0; i < 40; i++) {
      const transactionId = i % 4 === 3 ? null : i % 4 === 0 ? 1 : i % 4 === 1 ? 2 : 99;
      const chargerId = transactionId === 99 ? `CP${2 + ((i >> 2) % 2)}` : 'CP1';
      rows.push(
        meterRow({
          chargerId,
          connectorId: transactionId === 2 ? 2 : 1,
          transactionId,
          timestamp: T0 + i * 1000,
          value: String(i),
        }),
      );
    }
    const want = (t: number) => rows.filter((r) => r.transactionId === t).map((r) => r.value);
    for (let i = 0; i < rows.length; i += 5) {
      await s.insertMeterValues(rows.slice(i, i + 5));
      for (const t of [1, 2, 99])
        assert.deepEqual(
          await values(s, { transactionId: t }),
          want(t).slice(0, rows.slice(0, i + 5).filter((r) => r.transactionId === t).length),
          `tx ${t} after ${i + 5} rows`,
        );
    }
    for (let i = 0; i < 10 && indexState(file).upto < 40; i++) await s.upsertCharger('CP1', {});
    assert.equal(indexState(file).upto, 40);
    assert.equal(indexState(file).spans, 4, '(1, CP1), (2, CP1), (99, CP2), (99, CP3)');
    for (const t of [1, 2, 99]) assert.deepEqual(await values(s, { transactionId: t }), want(t), `tx ${t} indexed`);
    assert.equal((await s.transactionMeterSummary(1)).samples, 10);
    assert.deepEqual(
      await values(s, { transactionId: 2, from: T0 + 9_000, to: T0 + 22_000 }),
      ['9', '13', '17', '21'],
      'a time range within the span',
    );
    await s.close();
  });

  it('reads by charger and by transaction keep indexed plans (no scan of meter_values)', () => {
    const db = new Database(':memory:');
    migrateSqlite(db);
    const plan = (sql: string, params: unknown[]) =>
      (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[]).map((p) => p.detail).join('\n');
    const cases = [
      [
        { chargerId: 'CP1', from: T0, to: T0 + 1 },
        [/SEARCH x USING PRIMARY KEY \(charger_id=\? AND ts>\? AND ts<\?\)/],
      ],
      [{ chargerId: 'CP1' }, [/SEARCH x USING PRIMARY KEY \(charger_id=\?\)/]],
      [
        { transactionId: 7, measurand: 'Energy.Active.Import.Register' },
        [
          /SEARCH s USING PRIMARY KEY \(transaction_id=\?\)/,
          /SEARCH x USING PRIMARY KEY \(charger_id=\? AND ts>\? AND ts<\?\)/,
        ],
      ],
    ] as const;
    for (const [q, lookups] of cases) {
      const text = plan(meterValuesSql(q).sql, meterValuesSql(q).params);
      for (const lookup of lookups) assert.match(text, lookup, text);
      assert.match(text, /SEARCH v USING INTEGER PRIMARY KEY \(rowid>\?\)/, text);
      assert.match(text, /MERGE \(UNION ALL\)/, text);
      // A charger's entries come in (ts, id) order: a LIMIT stops early however long its history.
      // A transaction's rows (bounded, and possibly from several chargers) are sorted.
      if ('chargerId' in q) assert.match(text, /USE TEMP B-TREE FOR LAST TERM OF ORDER BY/, text);
      assert.doesNotMatch(text, /SCAN (v|meter_values)\b/, text);
    }
    db.close();
  });
});
