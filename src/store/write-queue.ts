// Group commit. Writes are synchronous closures queued during one event-loop turn and run in
// ONE database transaction on setImmediate; each caller's promise settles after the COMMIT.
// One fsync-free WAL commit per tick instead of per message is what lets every meter value be
// committed before its CALLRESULT at tens of thousands of messages per second.
//
// Isolation: the batch first runs without savepoints (the common case pays nothing). If a write
// throws, the whole transaction is rolled back and the batch re-run with a SAVEPOINT around each
// write, so only the failing writes reject. Writes must therefore be pure database work with
// no JavaScript side effects: they may run twice.
import { StoreError } from './errors.ts';

/** The transaction verbs of the underlying synchronous connection. */
export interface TxControl {
  begin(): void;
  commit(): void;
  rollback(): void;
  savepoint(): void;
  release(): void;
  rollbackToSavepoint(): void;
  readonly inTransaction: boolean;
}

interface Op {
  run: () => unknown;
  resolve: (value: any) => void;
  reject: (reason: unknown) => void;
}

export class WriteQueue {
  #tx: TxControl;
  #ops: Op[] = [];
  #scheduled = false;
  #closed = false;
  /** Increments when a batch starts running; lets callers coalesce writes within one batch. */
  generation = 0;
  /** Counters for benchmarks and tests. */
  readonly stats = { batches: 0, writes: 0, retries: 0 };

  constructor(tx: TxControl) {
    this.#tx = tx;
  }

  get pending(): number {
    return this.#ops.length;
  }

  push<T>(run: () => T): Promise<T> {
    if (this.#closed) return Promise.reject(new StoreError('AMPERE_ERR_STORE_CLOSED', 'store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.#ops.push({ run, resolve, reject });
      if (!this.#scheduled) {
        this.#scheduled = true;
        setImmediate(this.#flush);
      }
    });
  }

  /** Resolves after everything queued so far has committed (or failed). */
  drain(): Promise<void> {
    if (this.#ops.length === 0) return Promise.resolve();
    return this.push(() => undefined);
  }

  /** Drains, then refuses further writes. */
  async close(): Promise<void> {
    await this.drain();
    this.#closed = true;
  }

  #flush = (): void => {
    this.#scheduled = false;
    const ops = this.#ops;
    if (ops.length === 0) return;
    this.#ops = [];
    this.generation++;
    this.stats.batches++;
    this.stats.writes += ops.length;
    const tx = this.#tx;
    const results = new Array<unknown>(ops.length);
    let opFailed = false;
    try {
      tx.begin();
      for (let i = 0; i < ops.length; i++) {
        try {
          results[i] = ops[i]!.run();
        } catch (err) {
          opFailed = true;
          throw err;
        }
      }
      tx.commit();
    } catch (err) {
      if (tx.inTransaction) tx.rollback();
      if (!opFailed) {
        // BEGIN or COMMIT itself failed (disk full, I/O error): nothing of the batch is stored.
        for (const op of ops) op.reject(err);
        return;
      }
      this.stats.retries++;
      this.#runIsolated(ops);
      return;
    }
    for (let i = 0; i < ops.length; i++) ops[i]!.resolve(results[i]);
  };

  #runIsolated(ops: Op[]): void {
    const tx = this.#tx;
    const results = new Array<unknown>(ops.length);
    const errors = new Array<unknown>(ops.length);
    const failed = new Array<boolean>(ops.length).fill(false);
    try {
      tx.begin();
      for (let i = 0; i < ops.length; i++) {
        tx.savepoint();
        try {
          results[i] = ops[i]!.run();
          tx.release();
        } catch (err) {
          failed[i] = true;
          errors[i] = err;
          tx.rollbackToSavepoint();
          tx.release();
        }
      }
      tx.commit();
    } catch (err) {
      if (tx.inTransaction) tx.rollback();
      for (const op of ops) op.reject(err);
      return;
    }
    for (let i = 0; i < ops.length; i++) {
      if (failed[i]) ops[i]!.reject(errors[i]);
      else ops[i]!.resolve(results[i]);
    }
  }
}
