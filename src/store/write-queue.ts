// Group commit. Writes are queued during one event-loop turn as (operation code, parameters) and
// handed, on setImmediate, to a sink that runs them in ONE database transaction; each caller's
// promise settles after the COMMIT. One fsync-free WAL commit per batch instead of per message is
// what lets every meter value be committed before its CALLRESULT at tens of thousands of
// messages per second.
//
// The sink is either synchronous (runBatch on the caller's own connection) or asynchronous (a
// writer thread running runBatch on its connection; see sqlite.ts). An asynchronous sink has at
// most MAX_IN_FLIGHT batches in flight: writes arriving meanwhile wait and go together as the
// next batch, so the batch grows with the writer's latency instead of queueing transactions
// behind it. Batches are applied and settled in the order they were queued (the sink must reply
// in order), so writes apply in call order.
//
// Isolation (runBatch): the batch first runs without savepoints (the common case pays nothing).
// If a write throws, the whole transaction is rolled back and the batch re-run with a SAVEPOINT
// around each write, so only the failing writes reject. Writes must therefore be pure database
// work with no JavaScript side effects: they may run twice.
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

/** What became of one batch. Plain data: it crosses from the writer thread as it is. */
export interface BatchOutcome<E = unknown> {
  /** Each write's result, by position; null when every write returned undefined. */
  results: unknown[] | null;
  /** [position, error] of each write that failed alone; null when none did. */
  failures: [number, E][] | null;
  /** BEGIN or COMMIT failed (disk full, I/O error): nothing of the batch is stored. */
  fatal: { error: E } | null;
  /** The batch was re-run with savepoints. */
  retried: boolean;
}

/** Runs `n` writes in one transaction; on a failing write, re-runs them isolated by savepoints. */
export function runBatch(tx: TxControl, n: number, run: (i: number) => unknown): BatchOutcome {
  let results: unknown[] | null = null;
  let opFailed = false;
  try {
    tx.begin();
    for (let i = 0; i < n; i++) {
      let r: unknown;
      try {
        r = run(i);
      } catch (err) {
        opFailed = true;
        throw err;
      }
      if (r !== undefined) {
        results ??= new Array<unknown>(n);
        results[i] = r;
      }
    }
    tx.commit();
  } catch (err) {
    if (tx.inTransaction) tx.rollback();
    if (!opFailed) return { results: null, failures: null, fatal: { error: err }, retried: false };
    return runIsolated(tx, n, run);
  }
  return { results, failures: null, fatal: null, retried: false };
}

function runIsolated(tx: TxControl, n: number, run: (i: number) => unknown): BatchOutcome {
  const results = new Array<unknown>(n);
  const failures: [number, unknown][] = [];
  try {
    tx.begin();
    for (let i = 0; i < n; i++) {
      tx.savepoint();
      try {
        results[i] = run(i);
        tx.release();
      } catch (err) {
        failures.push([i, err]);
        tx.rollbackToSavepoint();
        tx.release();
      }
    }
    tx.commit();
  } catch (err) {
    if (tx.inTransaction) tx.rollback();
    return { results: null, failures: null, fatal: { error: err }, retried: true };
  }
  return { results, failures, fatal: null, retried: true };
}

/** Runs a batch: `codes[i]` names the operation, `params[i]` its parameters. */
export type BatchSink = (codes: number[], params: unknown[]) => BatchOutcome | Promise<BatchOutcome>;

/**
 * Batches an asynchronous sink may hold at once. Two: the writer starts the next batch as soon as
 * it has committed one, yet batches still grow while it is busy (measured: 1 left the writer idle
 * between batches, unbounded gave smaller batches for the same throughput).
 */
const MAX_IN_FLIGHT = 2;

type Settle = [resolve: (value: any) => void, reject: (reason: unknown) => void];

export class WriteQueue {
  #sink: BatchSink;
  /** Code of the operation that does nothing (drain). */
  #noop: number;
  #codes: number[] = [];
  #params: unknown[] = [];
  #settles: Settle[] = [];
  #scheduled = false;
  #inFlight = 0;
  #closed = false;
  /** Increments when a batch is handed to the sink; lets callers coalesce writes within one batch. */
  generation = 0;
  /** Counters for benchmarks and tests. */
  readonly stats = { batches: 0, writes: 0, retries: 0 };

  constructor(sink: BatchSink, noop: number) {
    this.#sink = sink;
    this.#noop = noop;
  }

  get pending(): number {
    return this.#codes.length;
  }

  /** Batches handed over from now on go to `sink`. */
  setSink(sink: BatchSink): void {
    this.#sink = sink;
  }

  push<T>(code: number, params: unknown): Promise<T> {
    if (this.#closed) return Promise.reject(new StoreError('AMPERE_ERR_STORE_CLOSED', 'store is closed'));
    return new Promise<T>((resolve, reject) => {
      this.#codes.push(code);
      this.#params.push(params);
      this.#settles.push([resolve, reject]);
      this.#schedule();
    });
  }

  /** Resolves after everything queued so far has committed (or failed). */
  drain(): Promise<void> {
    if (this.#codes.length === 0 && this.#inFlight === 0) return Promise.resolve();
    return this.push(this.#noop, null);
  }

  /** Drains, then refuses further writes. */
  async close(): Promise<void> {
    await this.drain();
    this.#closed = true;
  }

  #schedule(): void {
    if (!this.#scheduled) {
      this.#scheduled = true;
      setImmediate(this.#flush);
    }
  }

  #flush = (): void => {
    this.#scheduled = false;
    // An asynchronous sink's reply schedules the next flush.
    if (this.#codes.length === 0 || this.#inFlight >= MAX_IN_FLIGHT) return;
    const codes = this.#codes;
    const params = this.#params;
    const settles = this.#settles;
    this.#codes = [];
    this.#params = [];
    this.#settles = [];
    this.generation++;
    this.stats.batches++;
    this.stats.writes += codes.length;
    let out: BatchOutcome | Promise<BatchOutcome>;
    try {
      out = this.#sink(codes, params);
    } catch (err) {
      for (const s of settles) s[1](err);
      return;
    }
    if (!(out instanceof Promise)) {
      this.#settle(out, settles);
      return;
    }
    this.#inFlight++;
    out.then(
      (o) => {
        this.#inFlight--;
        // Hand the writes that waited to the writer before settling these: settling sends every
        // answer of the batch (a socket write each), and the writer would sit idle meanwhile.
        if (this.#codes.length > 0) this.#flush();
        this.#settle(o, settles);
      },
      (err: unknown) => {
        this.#inFlight--;
        for (const s of settles) s[1](err);
        if (this.#codes.length > 0) this.#schedule();
      },
    );
  };

  #settle(o: BatchOutcome, settles: Settle[]): void {
    if (o.retried) this.stats.retries++;
    if (o.fatal !== null) {
      for (const s of settles) s[1](o.fatal.error);
      return;
    }
    const results = o.results;
    if (o.failures === null) {
      for (let i = 0; i < settles.length; i++) settles[i]![0](results === null ? undefined : results[i]);
      return;
    }
    const failed = new Map(o.failures);
    for (let i = 0; i < settles.length; i++) {
      if (failed.has(i)) settles[i]![1](failed.get(i));
      else settles[i]![0](results === null ? undefined : results[i]);
    }
  }
}
