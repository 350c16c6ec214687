// The retention timer with a fake clock and fake timers over a real (in-memory) SQLite store:
// it prunes at start, batch after batch, then once an hour; a failed run is logged and retried.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { startRetention } from '../../src/store/retention.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { MeterRetentionStore } from '../../src/store/types.ts';
import { meterRow } from './contract.ts';

const NOW = Date.parse('2024-06-01T12:00:00.000Z');
const DAY = 86_400_000;

function fakeTimers() {
  const scheduled: { fn: () => void; ms: number; cleared: boolean }[] = [];
  return {
    scheduled,
    timers: {
      setTimeout: (fn: () => void, ms: number) => scheduled.push({ fn, ms, cleared: false }) - 1,
      clearTimeout: (h: unknown) => {
        scheduled[h as number]!.cleared = true;
      },
    },
    /** Turns of the event loop until `n` timers have been scheduled (no wall-clock waiting). */
    async untilScheduled(n: number) {
      for (let i = 0; scheduled.length < n; i++) {
        if (i > 10_000) throw new Error(`only ${scheduled.length} timers scheduled`);
        await new Promise((r) => setImmediate(r));
      }
    },
  };
}

const silentLog = () => {
  const lines: string[] = [];
  return { lines, info: (_o: object, m: string) => lines.push(m), error: (_o: object, m: string) => lines.push(m) };
};

describe('meter-value retention timer', () => {
  it('prunes everything past the age at start, in batches, then runs every hour', async () => {
    const store = await openSqliteStore({ file: ':memory:' });
    try {
      for (let i = 0; i < 5; i++)
        await store.insertMeterValues([meterRow({ timestamp: NOW - 40 * DAY + i * 1000, wh: i })]);
      await store.insertMeterValues([meterRow({ timestamp: NOW - 29 * DAY, wh: 10 })]);
      const t = fakeTimers();
      const log = silentLog();
      const retention = startRetention({ store, days: 30, clock: { now: () => NOW }, timers: t.timers, batch: 2, log });
      assert.equal(t.scheduled[0]!.ms, 0, 'the first run is at start');
      t.scheduled[0]!.fn();
      await t.untilScheduled(2);
      assert.equal(t.scheduled[1]!.ms, 3_600_000, 'then hourly');
      assert.equal(
        (await store.queryMeterValues({ limit: 100 })).length,
        1,
        'only the value younger than 30 days is left',
      );
      const [day] = await store.listMeterDaily({ chargerId: 'CP1' });
      assert.equal(day?.readings, 5);
      assert.equal(day?.energyWh, 4);
      assert.deepEqual(log.lines, ['meter values past retention folded into daily totals']);
      await retention.stop();
      assert.equal(t.scheduled[1]!.cleared, true);
    } finally {
      await store.close();
    }
  });

  it('logs a failed run and tries again at the next one', async () => {
    let calls = 0;
    const failing: MeterRetentionStore = {
      pruneMeterValues: async () => {
        calls++;
        throw new Error('database gone');
      },
      listMeterDaily: async () => [],
    };
    const t = fakeTimers();
    const log = silentLog();
    const retention = startRetention({ store: failing, days: 1, clock: { now: () => NOW }, timers: t.timers, log });
    t.scheduled[0]!.fn();
    await t.untilScheduled(2);
    assert.equal(calls, 1);
    assert.deepEqual(log.lines, ['meter-value retention failed; retrying at the next run']);
    t.scheduled[1]!.fn();
    await t.untilScheduled(3);
    assert.equal(calls, 2);
    await retention.stop();
  });
});
