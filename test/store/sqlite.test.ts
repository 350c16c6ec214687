import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { migrateSqlite, sqliteMigrations } from '../../src/store/migrations.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { meterRow, runStoreContract } from './contract.ts';
import { runFirmwareContract } from './firmware-contract.ts';

const dir = mkdtempSync(join(tmpdir(), 'ampere-store-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const freshFile = () => join(dir, `db-${process.pid}-${n++}.sqlite`);

runStoreContract('sqlite (temp file, writes on this thread)', (o) =>
  openSqliteStore({ file: freshFile(), writer: 'thread', ...o }),
);
runStoreContract('sqlite (temp file, writer thread)', async (o) => {
  const s = await openSqliteStore({ file: freshFile(), writer: 'worker', ...o });
  assert.ok(s.writerThread, 'writes run on the writer thread');
  return s;
});
// Meter values indexed after every batch, a few rows a slice (sqlite-meter-index.ts): the suite's
// reads then find rows indexed, fresh and mid-pass, on the writer thread and on this one.
runStoreContract('sqlite (temp file, writer thread, eager meter indexing)', (o) =>
  openSqliteStore({ file: freshFile(), writer: 'worker', meterIndex: { afterRows: 1, sliceRows: 3 }, ...o }),
);
runStoreContract('sqlite (in memory, eager meter indexing)', (o) =>
  openSqliteStore({ file: ':memory:', meterIndex: { afterRows: 1, sliceRows: 3 }, ...o }),
);
runStoreContract('sqlite (in memory)', (o) => openSqliteStore({ file: ':memory:', writer: 'worker', ...o }));
runFirmwareContract('sqlite (temp file, writer thread)', () =>
  openSqliteStore({ file: freshFile(), writer: 'worker' }),
);

describe('sqlite store', () => {
  it('works in memory', async () => {
    const s = await openSqliteStore({ file: ':memory:' });
    await s.setSetting('a', 'b');
    assert.equal(await s.getSetting('a'), 'b');
    await s.close();
  });

  it('uses WAL with synchronous=NORMAL and a busy timeout', async () => {
    const file = freshFile();
    const s = await openSqliteStore({ file });
    const db = new Database(file, { readonly: true });
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    db.close();
    await s.close();
  });

  it('keeps everything across close and reopen', async () => {
    const file = freshFile();
    let s = await openSqliteStore({ file });
    await s.recordBoot('CP1', { chargePointVendor: 'go-e', chargePointModel: 'Gemini' }, 0);
    const { transactionId } = await s.startTransaction({
      chargerId: 'CP1',
      connectorId: 1,
      idTag: 'T',
      timestamp: 1000,
      meterStart: 0,
    });
    await s.insertMeterValues([meterRow({ transactionId, value: '42' })]);
    await s.close();

    s = await openSqliteStore({ file });
    assert.equal((await s.getCharger('CP1'))!.vendor, 'go-e');
    assert.equal((await s.queryMeterValues({ transactionId }))[0]!.value, '42');
    // The retry after a restart still gets the same id; a new start gets a new, higher id.
    const again = await s.startTransaction({
      chargerId: 'CP1',
      connectorId: 1,
      idTag: 't',
      timestamp: 1000,
      meterStart: 0,
    });
    assert.deepEqual(again, { transactionId, duplicate: true });
    const next = await s.startTransaction({
      chargerId: 'CP1',
      connectorId: 1,
      idTag: 't',
      timestamp: 2000,
      meterStart: 0,
    });
    assert.ok(next.transactionId > transactionId);
    await s.close();
  });

  it('migrations are recorded once and idempotent', async () => {
    const file = freshFile();
    await (await openSqliteStore({ file })).close();
    await (await openSqliteStore({ file })).close();
    const db = new Database(file);
    const rows = db.prepare('SELECT version FROM schema_migrations ORDER BY version').all() as { version: number }[];
    assert.deepEqual(
      rows.map((r) => r.version),
      sqliteMigrations.map((m) => m.version),
    );
    assert.deepEqual(migrateSqlite(db), [], 'nothing left to apply');
    // A failing migration rolls back whole and is not recorded.
    const bad = { version: 999, name: 'bad', sql: 'CREATE TABLE x (a); SELECT * FROM nope;' };
    assert.throws(() => migrateSqlite(db, [...sqliteMigrations, bad]), /nope/);
    assert.equal((db.prepare("SELECT count(*) AS n FROM sqlite_master WHERE name = 'x'").get() as { n: number }).n, 0);
    assert.equal(
      (db.prepare('SELECT count(*) AS n FROM schema_migrations WHERE version = 999').get() as { n: number }).n,
      0,
    );
    db.close();
  });

  it('moves writes to the writer thread once busy, keeping order and every write', async () => {
    const s = await openSqliteStore({ file: freshFile() });
    assert.equal(s.writerThread, false, 'a fresh store writes on its own thread');
    // Keep writing across the switch: each charger's notes must end at its last value.
    let i = 0;
    // The thread starts in the background; on a loaded machine that takes a while, so keep writing
    // (up to 20 s) rather than a fixed number of rounds.
    const until = Date.now() + 20_000;
    while (!s.writerThread && Date.now() < until) {
      const writes: Promise<unknown>[] = [];
      for (let k = 0; k < 100; k++, i++) {
        writes.push(s.insertMeterValues([meterRow({ chargerId: `CP${i % 10}`, timestamp: i, value: String(i) })]));
        writes.push(s.upsertCharger(`CP${i % 10}`, { notes: String(i) }));
      }
      await Promise.all(writes);
    }
    assert.ok(s.writerThread, 'switched to the writer thread');
    const writes: Promise<unknown>[] = [];
    for (let k = 0; k < 1000; k++, i++) {
      writes.push(s.insertMeterValues([meterRow({ chargerId: `CP${i % 10}`, timestamp: i, value: String(i) })]));
      writes.push(s.upsertCharger(`CP${i % 10}`, { notes: String(i) }));
    }
    const last = s.upsertCharger('CP0', { notes: 'last' });
    await Promise.all(writes);
    assert.equal((await last).notes, 'last');
    assert.equal((await s.queryMeterValues({ limit: 100_000 })).length, i);
    assert.equal((await s.getCharger('CP1'))!.notes, String(i - 9));
    await s.close();
  });

  it('an acknowledged write survives kill -9', async () => {
    const file = freshFile();
    // A child writes meter values in a loop and prints each acknowledged count; we kill it hard
    // mid-stream and check that every acknowledged row is in the file.
    const script = `
      import { openSqliteStore } from ${JSON.stringify(new URL('../../src/store/sqlite.ts', import.meta.url).href)};
      const s = await openSqliteStore({ file: ${JSON.stringify(file)} });
      let acked = 0;
      const row = (i) => ({ chargerId: 'CP' + (i % 20), connectorId: 1, transactionId: null, timestamp: i,
        value: String(i), context: null, format: null, measurand: null, phase: null, location: null,
        unit: 'Wh', wh: i, w: null, source: 'MeterValues' });
      let i = 0;
      for (;;) {
        const batch = [];
        for (let k = 0; k < 200; k++, i++) batch.push(s.insertMeterValues([row(i)]).then(() => acked++));
        await Promise.all(batch);
        process.stdout.write(acked + '\\n');
      }`;
    const child = spawn(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], {
      stdio: ['ignore', 'pipe', 'inherit'],
    });
    let lastAcked = 0;
    await new Promise<void>((resolve) => {
      child.stdout.setEncoding('utf8');
      child.stdout.on('data', (chunk: string) => {
        const lines = chunk.trim().split('\n');
        lastAcked = Number(lines[lines.length - 1]);
        if (lastAcked >= 5000 && !child.killed) {
          child.kill('SIGKILL');
        }
      });
      child.on('exit', () => resolve());
    });
    assert.ok(lastAcked >= 5000);
    const s = await openSqliteStore({ file });
    const count = (await s.queryMeterValues({ limit: 100_000 })).length;
    assert.ok(count >= lastAcked, `${count} rows stored, ${lastAcked} acknowledged`);
    await s.close();
  });
});
