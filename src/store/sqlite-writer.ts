// The writer thread of a file-backed SQLite store (started by sqlite.ts). It owns the write
// connection and runs each batch the store hands it in one transaction (write-queue.ts runBatch,
// savepoint re-run included), then reports the outcome: the store settles the writes' promises
// only on that report, so an acknowledged write is a committed one. Messages in: a batch
// `[codes, params]` or 'close'; out: 'ready', then one outcome per batch, in order.
import { parentPort, workerData } from 'node:worker_threads';
import Database from 'better-sqlite3';
import { MeterIndexer, type MeterIndexOptions } from './sqlite-meter-index.ts';
import { configureConnection, encodeError, runWriteOp, statementCache, txControl } from './sqlite-writes.ts';
import { type BatchOutcome, runBatch } from './write-queue.ts';

export interface WriterData {
  file: string;
  busyTimeoutMs: number;
  meterIndex: MeterIndexOptions;
}

const port = parentPort!;
const data = workerData as WriterData;
const db = new Database(data.file, { fileMustExist: true });
configureConnection(db, data.busyTimeoutMs);
const tx = txControl(db);
const prepare = statementCache(db);
const indexer = new MeterIndexer(db, tx, () => performance.now(), data.meterIndex);

port.on('message', (m: [number[], unknown[]] | 'close') => {
  if (m === 'close') {
    db.close();
    port.close();
    return;
  }
  const [codes, params] = m;
  const out = runBatch(tx, codes.length, (i) => runWriteOp(prepare, codes[i]!, params[i]));
  if (out.failures === null && out.fatal === null) port.postMessage(out);
  else
    port.postMessage({
      ...out,
      failures: out.failures?.map(([i, err]) => [i, encodeError(err)]) ?? null,
      fatal: out.fatal === null ? null : { error: encodeError(out.fatal.error) },
    } satisfies BatchOutcome);
  // After the reply: the batch's callers are answered before a slice of indexing runs.
  indexer.afterBatch(codes, params, out);
});
port.postMessage('ready');
