import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { CHARGE_SCENARIO } from '../../src/chargepoint/cli.ts';
import { runLoad } from '../../src/chargepoint/load.ts';
import { getProfile } from '../../src/chargepoint/profiles/index.ts';
import { startTestServer } from './helpers.ts';

describe('load mode', () => {
  it('runs N stations with ids prefix+index and reports counters, latency and memory', async () => {
    const srv = await startTestServer(0);
    try {
      const lines: string[] = [];
      const run = runLoad({
        url: srv.url,
        profile: getProfile('generic'),
        count: 40,
        ramp: 400,
        durationS: 0,
        idPrefix: 'LD',
        scenario: CHARGE_SCENARIO,
        progress: (l) => lines.push(l),
        progressEveryMs: 100,
      });
      const deadline = Date.now() + 10_000;
      while (srv.calls.filter((c) => c.action === 'StartTransaction').length < 40 && Date.now() < deadline)
        await new Promise((r) => setTimeout(r, 50));
      run.stop();
      const report = await run.done;
      assert.equal(report.count, 40);
      assert.equal(report.booted, 40);
      assert.equal(report.errors, 0);
      assert.ok(report.latencyMs.calls >= 40 * 4);
      assert.ok(report.latencyMs.p50 !== null && report.latencyMs.p99 !== null);
      assert.ok(report.messages.in > 0 && report.messages.out > 0);
      assert.ok(srv.calls.some((c) => c.id === 'LD01') && srv.calls.some((c) => c.id === 'LD40'));
      assert.match(lines.at(-1)!, /40\/40 started {2}connected \d+ {2}booted \d+/);
    } finally {
      await srv.close();
    }
  });
});
