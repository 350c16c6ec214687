// The writer thread of a file-backed SQLite store (started by sqlite.ts). It owns the write
// connection and runs each batch the store hands it in one transaction (write-queue.ts runBatch,
// savepoint re-run included), then reports the outcome: the store settles the writes' promises
// only on that report, so an acknowledged write is a committed one. Messages in: a batch
// `[codes, params]` or 'close'; out: 'ready', then one outcome per batch, in order.
import { parentPort, receiveMessageOnPort, workerData } from 'node:worker_threads';
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

type Message = [codes: number[], params: unknown[]] | 'close';

/** Runs a batch in one transaction and replies; false once the connection is closed. */
function handle(m: Message): boolean {
  if (m === 'close') {
    db.close();
    port.close();
    return false;
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
  indexer.committed(codes, params, out);
  return true;
}

port.on('message', (m: Message) => {
  if (!handle(m)) return;
  // After the reply, so that the batch's callers are answered first. A batch already waiting
  // (the store keeps two in flight) runs before the slice too, instead of waiting behind it:
  // one such batch, so that indexing keeps pace with the writes.
  const next = receiveMessageOnPort(port);
  if (next !== undefined && !handle(next.message as Message)) return;
  indexer.stepIfDue();
});
port.postMessage('ready');
