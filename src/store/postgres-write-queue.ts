// Group commit over one PostgreSQL connection (the asynchronous twin of write-queue.ts). Writes
// queued while the previous batch runs, or within one event-loop turn, go into ONE transaction;
// each caller's promise settles after its COMMIT. Batches run one at a time on one connection,
// so writes apply in call order and a write never waits for a pool connection.
//
// Isolation as in write-queue.ts: a batch first runs without savepoints; if a write fails, the
// transaction is rolled back and the batch re-run with a SAVEPOINT around each write, so only the
// failing writes reject. Writes must be pure database work: they may run twice.
//
// Merging: ops carrying the same `merge` key (append-only inserts such as meter values, which
// no other write reads or deletes) run as ONE statement in the first pass, at the position of
// the first of them. The isolated re-run runs them one by one, so a bad message still fails alone.
import { StoreError } from './errors.ts';

/** What a queued write sees: one query function on the batch's connection. */
export type Exec = (sql: string, params?: readonly unknown[]) => Promise<{ rows: any[]; rowCount: number | null }>;

export interface MergeGroup<P> {
  key: string;
  runMany(exec: Exec, items: P[]): Promise<void>;
}

interface Op {
  run: (exec: Exec) => Promise<unknown>;
  merge?: MergeGroup<unknown>;
  item?: unknown;
  resolve: (value: any) => void;
  reject: (reason: unknown) => void;
}

/** The connection a batch runs on; `release(broken)` hands it back after each batch. */
export interface WriteConnection {
  exec: Exec;
  release(broken: boolean): void;
}

/** Marks a failure of a write itself, as opposed to BEGIN, COMMIT or the connection. */
class OpFailed extends Error {
  constructor(cause: unknown) {
    super('write failed', { cause });
  }
}

export class PgWriteQueue {
  #connect: () => Promise<WriteConnection>;
  #ops: Op[] = [];
  #scheduled = false;
  #running: Promise<void> | null = null;
  #closed = false;
  /** Increments when a batch is taken off the queue; lets callers coalesce writes within one batch. */
  generation = 0;
  readonly stats = { batches: 0, writes: 0, retries: 0 };

  constructor(connect: () => Promise<WriteConnection>) {
    this.#connect = connect;
  }

  push<T>(run: (exec: Exec) => Promise<T>): Promise<T> {
    return this.#enqueue({ run } as Partial<Op>) as Promise<T>;
  }

  /** Queues an op that may run merged with others of its group; it resolves to undefined. */
  pushMerged<P>(group: MergeGroup<P>, item: P): Promise<void> {
    return this.#enqueue({
      run: (exec) => group.runMany(exec, [item]),
      merge: group as MergeGroup<unknown>,
      item,
    }) as Promise<void>;
  }

  #enqueue(op: Partial<Op>): Promise<unknown> {
    if (this.#closed) return Promise.reject(new StoreError('AMPERE_ERR_STORE_CLOSED', 'store is closed'));
    return new Promise((resolve, reject) => {
      op.resolve = resolve;
      op.reject = reject;
      this.#ops.push(op as Op);
      this.#schedule();
    });
  }

  #schedule(): void {
    if (this.#scheduled || this.#running !== null) return;
    this.#scheduled = true;
    setImmediate(() => {
      this.#scheduled = false;
      this.#running = this.#loop().finally(() => {
        this.#running = null;
        if (this.#ops.length > 0) this.#schedule();
      });
    });
  }

  /** Runs batches back to back while writes keep arriving. */
  async #loop(): Promise<void> {
    while (this.#ops.length > 0) {
      const ops = this.#ops;
      this.#ops = [];
      this.generation++;
      this.stats.batches++;
      this.stats.writes += ops.length;
      await this.#batch(ops);
    }
  }

  /** Resolves after everything queued so far has committed (or failed). */
  drain(): Promise<void> {
    if (this.#ops.length === 0 && this.#running === null) return Promise.resolve();
    return this.push(async () => undefined);
  }

  async close(): Promise<void> {
    await this.drain();
    this.#closed = true;
  }

  async #batch(ops: Op[]): Promise<void> {
    let conn: WriteConnection;
    try {
      conn = await this.#connect();
    } catch (err) {
      for (const op of ops) op.reject(err);
      return;
    }
    const exec = conn.exec;
    const results = new Array<unknown>(ops.length);
    try {
      await exec('BEGIN');
      const merged = new Set<string>();
      for (let i = 0; i < ops.length; i++) {
        const op = ops[i]!;
        try {
          if (op.merge === undefined) results[i] = await op.run(exec);
          else if (!merged.has(op.merge.key)) {
            merged.add(op.merge.key);
            const group = op.merge;
            const items: unknown[] = [];
            for (let k = i; k < ops.length; k++) if (ops[k]!.merge?.key === group.key) items.push(ops[k]!.item);
            await group.runMany(exec, items);
          }
        } catch (err) {
          throw new OpFailed(err);
        }
      }
      await exec('COMMIT');
    } catch (err) {
      const rolledBack = await exec('ROLLBACK').then(
        () => true,
        () => false,
      );
      if (!(err instanceof OpFailed) || !rolledBack) {
        // BEGIN, COMMIT or the connection failed: nothing of the batch is known to be stored.
        conn.release(true);
        for (const op of ops) op.reject(err instanceof OpFailed ? err.cause : err);
        return;
      }
      this.stats.retries++;
      await this.#runIsolated(conn, ops);
      return;
    }
    conn.release(false);
    for (let i = 0; i < ops.length; i++) ops[i]!.resolve(results[i]);
  }

  async #runIsolated(conn: WriteConnection, ops: Op[]): Promise<void> {
    const exec = conn.exec;
    const results = new Array<unknown>(ops.length);
    const errors = new Array<unknown>(ops.length);
    const failed = new Array<boolean>(ops.length).fill(false);
    try {
      await exec('BEGIN');
      for (let i = 0; i < ops.length; i++) {
        await exec('SAVEPOINT w');
        try {
          results[i] = await ops[i]!.run(exec);
          await exec('RELEASE SAVEPOINT w');
        } catch (err) {
          failed[i] = true;
          errors[i] = err;
          await exec('ROLLBACK TO SAVEPOINT w');
          await exec('RELEASE SAVEPOINT w');
        }
      }
      await exec('COMMIT');
    } catch (err) {
      await exec('ROLLBACK').catch(() => {});
      conn.release(true);
      for (const op of ops) op.reject(err);
      return;
    }
    conn.release(false);
    for (let i = 0; i < ops.length; i++) {
      if (failed[i]) ops[i]!.reject(errors[i]);
      else ops[i]!.resolve(results[i]);
    }
  }
}
