// The pure parts of hardening, on fake time: backoff and the message throttle.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Backoff, MessageThrottle, parseBasicAuth } from '../../src/central/security/index.ts';
import { jsonDepth, parseFrame } from '../../src/ocpp/index.ts';

function fakeTime() {
  let now = 0;
  const timers: Array<{ at: number; fn: () => void; id: number }> = [];
  let seq = 0;
  return {
    now: () => now,
    setTimeout: (fn: () => void, ms: number) => {
      timers.push({ at: now + ms, fn, id: ++seq });
      return seq;
    },
    clearTimeout: (h: unknown) => {
      const i = timers.findIndex((t) => t.id === h);
      if (i >= 0) timers.splice(i, 1);
    },
    advance(ms: number) {
      const end = now + ms;
      for (;;) {
        timers.sort((a, b) => a.at - b.at);
        const next = timers[0];
        if (!next || next.at > end) break;
        timers.shift();
        now = next.at;
        next.fn();
      }
      now = end;
    },
  };
}

describe('Backoff', () => {
  it('locks after the free failures, doubling, and forgets on success', () => {
    const t = fakeTime();
    const b = new Backoff({ freeFailures: 2, baseLockMs: 1000, maxLockMs: 5000, forgetAfterMs: 60_000 }, t);
    assert.equal(b.fail('x'), 0);
    assert.equal(b.fail('x'), 0);
    assert.equal(b.fail('x'), 1000);
    assert.equal(b.lockedFor('x'), 1000);
    t.advance(1000);
    assert.equal(b.lockedFor('x'), 0);
    assert.equal(b.fail('x'), 2000);
    assert.equal(b.fail('x'), 4000);
    assert.equal(b.fail('x'), 5000, 'capped');
    b.succeed('x');
    assert.equal(b.lockedFor('x'), 0);
    assert.equal(b.fail('x'), 0);
  });
});

describe('MessageThrottle', () => {
  it('passes the burst, delays the rest in order, and overflows past the queue', () => {
    const t = fakeTime();
    const got: string[] = [];
    let overflowed = 0;
    const th = new MessageThrottle(
      { perSecond: 10, burst: 3, maxQueued: 4 },
      t,
      (m) => got.push(m),
      () => overflowed++,
    );
    for (const m of ['a', 'b', 'c', 'd', 'e']) th.push(m);
    assert.deepEqual(got, ['a', 'b', 'c']);
    assert.ok(th.throttling);
    t.advance(100);
    assert.deepEqual(got, ['a', 'b', 'c', 'd']);
    t.advance(100);
    assert.deepEqual(got, ['a', 'b', 'c', 'd', 'e']);
    for (let i = 0; i < 10; i++) th.push(`f${i}`);
    assert.equal(overflowed, 1);
    t.advance(10_000);
    assert.ok(got.length < 5 + 10, 'nothing more after the overflow');
  });
});

describe('Basic header and JSON depth', () => {
  it('parses Basic credentials as raw bytes', () => {
    const h = `Basic ${Buffer.from('CP:pa:ss').toString('base64')}`;
    assert.deepEqual(parseBasicAuth(h), { user: 'CP', password: Buffer.from('pa:ss') });
    assert.equal(parseBasicAuth('Bearer x'), null);
    assert.equal(parseBasicAuth(`Basic ${Buffer.from('nocolon').toString('base64')}`), null);
  });

  it('measures depth without recursion and refuses deep frames with their id', () => {
    assert.equal(jsonDepth([1, { a: [2] }]), 3);
    assert.equal(jsonDepth(JSON.parse('['.repeat(200_000) + ']'.repeat(200_000))), 200_000);
    assert.throws(
      () => parseFrame(`[2,"x1","DataTransfer",{"vendorId":"v","data":${'['.repeat(40)}${']'.repeat(40)}}]`),
      (e: Error & { code?: string; uniqueId?: string }) => e.code === 'FormationViolation',
    );
  });
});
