// The store's background threads run below the event loop's priority (src/store/thread-priority.ts):
// a busy file store's writer and checkpointer threads at nice 10, the process's other threads
// (the event loop's among them) where they were. Read back from the kernel, per thread.
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { getPriority } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { BACKGROUND_NICE } from '../../src/store/thread-priority.ts';
import { tempDir } from '../helpers/process.ts';

/** Nice value of every thread of this process, by thread id. */
function niceByThread(): Map<number, number> {
  const out = new Map<number, number>();
  for (const t of readdirSync('/proc/self/task')) {
    try {
      out.set(Number(t), getPriority(Number(t)));
    } catch {
      // a thread that ended meanwhile
    }
  }
  return out;
}

describe('background thread priority', {
  skip: process.platform !== 'linux' && 'per-thread nice is Linux only',
}, () => {
  it("a busy store's writer and checkpointer run at nice 10; the event loop and the other threads keep theirs", async () => {
    const before = niceByThread();
    const own = getPriority(process.pid);
    const store = await openSqliteStore({ file: join(tempDir(), 'ampere.db') });
    try {
      // Enough writes to start the background threads (sqlite.ts BACKGROUND_AFTER_WRITES).
      for (let i = 0; i < 2_100; i++)
        await store.insertMeterReadings({
          chargerId: 'CP1',
          connectorId: 1,
          transactionId: null,
          source: 'MeterValues',
          meterValue: [{ timestamp: 1_700_000_000_000 + i * 1000, sampledValue: [{ value: String(i) }] }],
        });
      let lowered: number[] = [];
      for (let tries = 0; tries < 100; tries++) {
        lowered = [...niceByThread()].filter(([, nice]) => nice === BACKGROUND_NICE).map(([tid]) => tid);
        if (store.writerThread && lowered.length >= 2) break;
        await new Promise((r) => setTimeout(r, 50));
      }
      assert.equal(store.writerThread, true);
      assert.equal(lowered.length, 2, `threads at nice ${BACKGROUND_NICE}: ${lowered.join(', ')}`);
      for (const tid of lowered) assert.equal(before.has(tid), false, 'a thread started by the store, not one before');
      assert.equal(getPriority(process.pid), own, "the event loop's thread keeps its priority");
      for (const [tid, nice] of before) {
        const now = niceByThread().get(tid);
        if (now !== undefined) assert.equal(now, nice, `thread ${tid} unchanged`);
      }
      // The writes still land: read back through the store.
      assert.equal((await store.queryMeterValues({ chargerId: 'CP1', limit: 5000 })).length, 2_100);
    } finally {
      await store.close();
    }
  });
});
