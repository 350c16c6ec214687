// SQLite schema as numbered migrations, applied in order at open. Each runs in its own
// transaction together with its schema_migrations row, so a crash mid-migration leaves the
// previous version intact and the next open retries it. Never edit a released migration: add one.
//
// Times are INTEGER epoch ms; booleans INTEGER 0/1; JSON as TEXT. No foreign keys: what a
// charger sends is stored even when it refers to something unknown (an orphan StopTransaction,
// meter values of a transaction we never saw), and the hot insert path stays free of lookups.
import type Database from 'better-sqlite3';
import { FIRMWARE_SQLITE_SQL } from './firmware.ts';

export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const sqliteMigrations: readonly Migration[] = [
  {
    version: 1,
    name: 'initial schema',
    sql: `
CREATE TABLE chargers (
  id TEXT PRIMARY KEY,
  registration TEXT NOT NULL DEFAULT 'pending' CHECK (registration IN ('accepted', 'pending', 'rejected')),
  vendor TEXT,
  model TEXT,
  charge_point_serial_number TEXT,
  charge_box_serial_number TEXT,
  firmware_version TEXT,
  iccid TEXT,
  imsi TEXT,
  meter_type TEXT,
  meter_serial_number TEXT,
  last_boot_at INTEGER,
  last_seen_at INTEGER,
  connected INTEGER NOT NULL DEFAULT 0,
  remote_address TEXT,
  heartbeat_interval INTEGER,
  validation_mode TEXT CHECK (validation_mode IN ('strict', 'tolerant')),
  notes TEXT,
  security_profile INTEGER NOT NULL DEFAULT 0 CHECK (security_profile BETWEEN 0 AND 3),
  auth_key_hash TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);

CREATE TABLE connection_attempts (
  id TEXT PRIMARY KEY,
  count INTEGER NOT NULL,
  first_at INTEGER NOT NULL,
  last_at INTEGER NOT NULL,
  remote_address TEXT
);

CREATE TABLE connectors (
  charger_id TEXT NOT NULL,
  connector_id INTEGER NOT NULL,
  status TEXT NOT NULL,
  error_code TEXT NOT NULL,
  info TEXT,
  vendor_id TEXT,
  vendor_error_code TEXT,
  timestamp INTEGER,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (charger_id, connector_id)
) WITHOUT ROWID;

CREATE TABLE status_history (
  id INTEGER PRIMARY KEY,
  charger_id TEXT NOT NULL,
  connector_id INTEGER NOT NULL,
  status TEXT NOT NULL,
  error_code TEXT NOT NULL,
  info TEXT,
  vendor_id TEXT,
  vendor_error_code TEXT,
  timestamp INTEGER,
  received_at INTEGER NOT NULL
);
CREATE INDEX status_history_charger ON status_history (charger_id, received_at);

CREATE TABLE id_tags (
  id_tag_key TEXT PRIMARY KEY,
  id_tag TEXT NOT NULL,
  status TEXT NOT NULL CHECK (status IN ('Accepted', 'Blocked', 'Expired', 'Invalid', 'ConcurrentTx')),
  expiry_date INTEGER,
  parent_id_tag TEXT,
  note TEXT,
  smart_plan TEXT,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
) WITHOUT ROWID;

-- AUTOINCREMENT: a transactionId is never reused, even after the newest row is deleted.
CREATE TABLE transactions (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  charger_id TEXT NOT NULL,
  connector_id INTEGER NOT NULL,
  id_tag TEXT NOT NULL,
  id_tag_key TEXT NOT NULL,
  started_at INTEGER NOT NULL,
  meter_start INTEGER NOT NULL,
  reservation_id INTEGER,
  stopped_at INTEGER,
  meter_stop INTEGER,
  stop_reason TEXT,
  stop_id_tag TEXT,
  created_at INTEGER NOT NULL
);
-- Persistence rules (docs/architecture.md): a repeated StartTransaction returns the same transactionId.
CREATE UNIQUE INDEX transactions_idempotency
  ON transactions (charger_id, connector_id, id_tag_key, started_at, meter_start);
CREATE INDEX transactions_active_connector ON transactions (charger_id, connector_id) WHERE stopped_at IS NULL;
CREATE INDEX transactions_active_tag ON transactions (id_tag_key) WHERE stopped_at IS NULL;
CREATE INDEX transactions_started ON transactions (started_at);

CREATE TABLE transaction_stops (
  id INTEGER PRIMARY KEY,
  transaction_id INTEGER NOT NULL,
  charger_id TEXT NOT NULL,
  id_tag TEXT,
  timestamp INTEGER NOT NULL,
  meter_stop INTEGER NOT NULL,
  reason TEXT,
  transaction_data TEXT,
  known INTEGER NOT NULL,
  duplicate INTEGER NOT NULL,
  received_at INTEGER NOT NULL
);
CREATE INDEX transaction_stops_tx ON transaction_stops (transaction_id);
CREATE INDEX transaction_stops_charger ON transaction_stops (charger_id);

-- One row per meterValue (one timestamp of one message), its sampledValues as a JSON array of
-- [value, context, format, measurand, phase, location, unit, wh, w] in the order sent. Measured:
-- a row per sampledValue with these two indexes caps at ~100k rows/s (~25k 4-sample messages/s)
-- on the dev machine; a row per meterValue reaches ~60k messages/s. Reads expand with json_each.
CREATE TABLE meter_values (
  id INTEGER PRIMARY KEY,
  charger_id TEXT NOT NULL,
  connector_id INTEGER NOT NULL,
  transaction_id INTEGER,
  ts INTEGER NOT NULL,
  source TEXT NOT NULL,
  samples TEXT NOT NULL
);
-- Two indexes only: every index is paid on the hottest insert path.
CREATE INDEX meter_values_charger ON meter_values (charger_id, ts);
CREATE INDEX meter_values_tx ON meter_values (transaction_id, ts) WHERE transaction_id IS NOT NULL;

CREATE TABLE events (
  id INTEGER PRIMARY KEY,
  charger_id TEXT,
  kind TEXT NOT NULL,
  payload TEXT NOT NULL,
  at INTEGER NOT NULL
);
CREATE INDEX events_charger ON events (charger_id, at);
CREATE INDEX events_kind ON events (kind, at);

CREATE TABLE findings (
  id INTEGER PRIMARY KEY,
  charger_id TEXT NOT NULL,
  action TEXT NOT NULL,
  path TEXT NOT NULL,
  rule TEXT NOT NULL,
  original TEXT,
  repaired TEXT,
  at INTEGER NOT NULL
);
CREATE INDEX findings_charger ON findings (charger_id, at);

CREATE TABLE configuration (
  charger_id TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT,
  readonly INTEGER NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (charger_id, key)
) WITHOUT ROWID;

CREATE TABLE charging_profiles (
  charger_id TEXT NOT NULL,
  charging_profile_id INTEGER NOT NULL,
  connector_id INTEGER NOT NULL,
  stack_level INTEGER NOT NULL,
  purpose TEXT NOT NULL,
  profile TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (charger_id, charging_profile_id)
) WITHOUT ROWID;

CREATE TABLE settings (
  key TEXT PRIMARY KEY,
  value TEXT NOT NULL
) WITHOUT ROWID;
`,
  },
  {
    // Numbered after the issue that brought it (12), so parallel branches do not collide.
    version: 12,
    name: 'fleet operations: configuration policies, per-charger id tags, reservations',
    sql: `
CREATE TABLE config_policies (
  scope TEXT NOT NULL,
  vendor TEXT NOT NULL,
  model TEXT NOT NULL,
  charger_id TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  updated_at INTEGER NOT NULL,
  PRIMARY KEY (scope, vendor, model, charger_id, key)
) WITHOUT ROWID;

CREATE TABLE config_outcomes (
  charger_id TEXT NOT NULL,
  key TEXT NOT NULL,
  value TEXT NOT NULL,
  status TEXT NOT NULL,
  note TEXT,
  at INTEGER NOT NULL,
  PRIMARY KEY (charger_id, key)
) WITHOUT ROWID;

CREATE TABLE charger_id_tags (
  charger_id TEXT NOT NULL,
  kind TEXT NOT NULL,
  id_tag TEXT NOT NULL,
  PRIMARY KEY (charger_id, kind, id_tag)
) WITHOUT ROWID;

CREATE TABLE reservations (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  charger_id TEXT NOT NULL,
  connector_id INTEGER NOT NULL,
  id_tag TEXT NOT NULL,
  parent_id_tag TEXT,
  expiry_at INTEGER NOT NULL,
  status TEXT NOT NULL,
  transaction_id INTEGER,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX reservations_by_charger ON reservations (charger_id, status);
`,
  },
  // Issue 12, firmware: images, update jobs, rollouts (src/store/firmware.ts).
  { version: 13, name: 'firmware images, update jobs and rollouts', sql: FIRMWARE_SQLITE_SQL },
  {
    // Numbered for the diagnostics work of issue 12 (14), so parallel branches do not collide.
    version: 14,
    name: 'diagnostics requests: GetDiagnostics uploads over FTP or HTTP',
    sql: `
CREATE TABLE diagnostics_requests (
  id INTEGER PRIMARY KEY AUTOINCREMENT,
  charger_id TEXT NOT NULL,
  transport TEXT NOT NULL,
  log_type TEXT,
  secret_hash TEXT NOT NULL,
  expires_at INTEGER NOT NULL,
  start_time INTEGER,
  stop_time INTEGER,
  retries INTEGER,
  retry_interval INTEGER,
  status TEXT NOT NULL,
  file_name TEXT,
  file TEXT,
  file_size INTEGER,
  received_at INTEGER,
  error TEXT,
  history TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  updated_at INTEGER NOT NULL
);
CREATE INDEX diagnostics_requests_by_charger ON diagnostics_requests (charger_id, id);
`,
  },
  {
    // Numbered for its helper branch (issue 13, retention), so parallel branches do not collide.
    version: 16,
    name: 'meter-value retention: daily aggregates per connector',
    sql: `
CREATE TABLE meter_daily (
  charger_id TEXT NOT NULL,
  connector_id INTEGER NOT NULL,
  day TEXT NOT NULL,
  min_wh REAL,
  max_wh REAL,
  max_w REAL,
  readings INTEGER NOT NULL,
  PRIMARY KEY (charger_id, connector_id, day)
) WITHOUT ROWID;
`,
  },
  {
    // Issue 14: the writer's cost per meter value (src/store/sqlite-meter-index.ts). The two
    // indexes of meter_values become lookup tables the writer fills ~once a second, many rows per
    // page; rows above the mark are read from the table by rowid range until then.
    version: 17,
    name: 'meter values: lookup tables indexed after commit, in slices',
    sql: `
CREATE TABLE meter_values_by_charger (
  charger_id TEXT NOT NULL,
  ts INTEGER NOT NULL,
  id INTEGER NOT NULL,
  PRIMARY KEY (charger_id, ts, id)
) WITHOUT ROWID;
CREATE TABLE meter_values_by_tx (
  transaction_id INTEGER NOT NULL,
  ts INTEGER NOT NULL,
  id INTEGER NOT NULL,
  PRIMARY KEY (transaction_id, ts, id)
) WITHOUT ROWID;
-- The mark: every meter_values row with id <= upto has its entries in the two tables above.
-- gen counts deletions that could break a pass under way (it then ends without moving upto).
CREATE TABLE meter_values_indexed (
  one INTEGER PRIMARY KEY CHECK (one = 1),
  upto INTEGER NOT NULL,
  gen INTEGER NOT NULL
);
INSERT INTO meter_values_by_charger (charger_id, ts, id)
  SELECT charger_id, ts, id FROM meter_values ORDER BY charger_id, ts, id;
INSERT INTO meter_values_by_tx (transaction_id, ts, id)
  SELECT transaction_id, ts, id FROM meter_values WHERE transaction_id IS NOT NULL ORDER BY transaction_id, ts, id;
INSERT INTO meter_values_indexed (one, upto, gen) VALUES (1, coalesce((SELECT max(id) FROM meter_values), 0), 0);
DROP INDEX meter_values_charger;
DROP INDEX meter_values_tx;
-- A deleted row takes its entries along. Deleting the newest rows lets SQLite hand their ids out
-- again (max(rowid) + 1): the mark comes down with them, so a reused id counts as fresh. Either
-- that or deleting a fresh row bumps gen: a pass under way may have read that id.
CREATE TRIGGER meter_values_unindex AFTER DELETE ON meter_values BEGIN
  DELETE FROM meter_values_by_charger WHERE charger_id = old.charger_id AND ts = old.ts AND id = old.id;
  DELETE FROM meter_values_by_tx WHERE transaction_id = old.transaction_id AND ts = old.ts AND id = old.id;
  UPDATE meter_values_indexed SET gen = gen + 1, upto = min(upto, coalesce((SELECT max(id) FROM meter_values), 0))
    WHERE old.id > upto OR upto > coalesce((SELECT max(id) FROM meter_values), 0);
END;
`,
  },
  {
    // Issue 14: a transaction's rows are found through the per-charger entries, within the time
    // its rows span on that charger, instead of an entry per row of their own: the indexer makes
    // one span per transaction and charger per slice where it made an entry per row (the writer
    // thread: 7.6-8.1 -> 6.2-6.5 µs of CPU per meter value under the closed-loop bench).
    version: 18,
    name: 'meter values: transactions found by time span over the per-charger entries',
    sql: `
-- (transaction, charger) -> the first and last time of its indexed rows on that charger. A
-- transaction id a charger made up may come from several chargers: one span each.
CREATE TABLE meter_tx_spans (
  transaction_id INTEGER NOT NULL,
  charger_id TEXT NOT NULL,
  first_ts INTEGER NOT NULL,
  last_ts INTEGER NOT NULL,
  PRIMARY KEY (transaction_id, charger_id)
) WITHOUT ROWID;
INSERT INTO meter_tx_spans (transaction_id, charger_id, first_ts, last_ts)
  SELECT transaction_id, charger_id, min(ts), max(ts) FROM meter_values
  WHERE transaction_id IS NOT NULL AND id <= (SELECT upto FROM meter_values_indexed)
  GROUP BY transaction_id, charger_id;
DROP TRIGGER meter_values_unindex;
DROP TABLE meter_values_by_tx;
-- As in migration 17, without the per-transaction entries. Spans are left as they are: one that
-- covers a time whose rows are gone (retention) finds fewer entries there, never a wrong one.
CREATE TRIGGER meter_values_unindex AFTER DELETE ON meter_values BEGIN
  DELETE FROM meter_values_by_charger WHERE charger_id = old.charger_id AND ts = old.ts AND id = old.id;
  UPDATE meter_values_indexed SET gen = gen + 1, upto = min(upto, coalesce((SELECT max(id) FROM meter_values), 0))
    WHERE old.id > upto OR upto > coalesce((SELECT max(id) FROM meter_values), 0);
END;
`,
  },
];
/** Applies the migrations not yet recorded; returns the versions applied now. */
export function migrateSqlite(db: Database.Database, migrations: readonly Migration[] = sqliteMigrations): number[] {
  db.exec(`CREATE TABLE IF NOT EXISTS schema_migrations (
    version INTEGER PRIMARY KEY,
    name TEXT NOT NULL,
    applied_at INTEGER NOT NULL
  )`);
  const done = new Set(
    (db.prepare('SELECT version FROM schema_migrations').all() as { version: number }[]).map((r) => r.version),
  );
  const record = db.prepare('INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)');
  const applied: number[] = [];
  for (const m of [...migrations].sort((a, b) => a.version - b.version)) {
    if (done.has(m.version)) continue;
    // IMMEDIATE takes the write lock first, so two processes opening one file at once cannot
    // both apply a migration: the second waits (busy_timeout), then sees it recorded.
    db.exec('BEGIN IMMEDIATE');
    try {
      const again = db.prepare('SELECT 1 FROM schema_migrations WHERE version = ?').get(m.version);
      if (!again) {
        db.exec(m.sql);
        record.run(m.version, m.name, Date.now());
        applied.push(m.version);
      }
      db.exec('COMMIT');
    } catch (err) {
      db.exec('ROLLBACK');
      throw err;
    }
  }
  return applied;
}
