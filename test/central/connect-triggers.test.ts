// Triggers on connect (src/central/after-boot.ts): the decision as a pure function, over the
// cases that matter (a model without TriggerMessage, a boot, a reconnect, never Accepted, off).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AfterBootQueue } from '../../src/central/after-boot.ts';
import { connectTrigger } from '../../src/central/index.ts';

const base = {
  enabled: true,
  supportsTrigger: true,
  moment: 'quiet' as const,
  bootAnswer: undefined,
  acceptedBefore: false,
};

describe('connectTrigger', () => {
  it('asks for StatusNotification after an Accepted boot', () => {
    assert.equal(connectTrigger({ ...base, moment: 'boot', bootAnswer: 'Accepted' }), 'StatusNotification');
  });

  it('asks a charger Accepted before (in memory or in the store) for StatusNotification on a quiet reconnect', () => {
    assert.equal(connectTrigger({ ...base, bootAnswer: 'Accepted' }), 'StatusNotification');
    assert.equal(connectTrigger({ ...base, acceptedBefore: true }), 'StatusNotification');
  });

  it('asks a quiet charger never Accepted here for a BootNotification', () => {
    assert.equal(connectTrigger(base), 'BootNotification');
  });

  it('leaves a Pending or Rejected charger to the approval flow', () => {
    assert.equal(connectTrigger({ ...base, bootAnswer: 'Pending' }), null);
    assert.equal(connectTrigger({ ...base, bootAnswer: 'Rejected' }), null);
  });

  it('never asks a model without TriggerMessage (Weidmüller), nor when switched off', () => {
    for (const moment of ['boot', 'quiet'] as const) {
      assert.equal(connectTrigger({ ...base, moment, supportsTrigger: false, bootAnswer: 'Accepted' }), null);
      assert.equal(connectTrigger({ ...base, moment, enabled: false, bootAnswer: 'Accepted' }), null);
    }
    assert.equal(connectTrigger({ ...base, supportsTrigger: false }), null);
  });
});

describe('the after-boot queue', () => {
  const turn = (ms: number) => new Promise((r) => setTimeout(r, ms));

  it('holds housekeeping while a reconnect storm boots, then runs it a few tasks at a time', async () => {
    let now = 100_000;
    const q = new AfterBootQueue(() => now, 50, 3);
    for (let i = 0; i < 60; i++) q.noteBoot();
    assert.equal(q.storming, true);
    let running = 0;
    let most = 0;
    let done = 0;
    const gates: (() => void)[] = [];
    for (let i = 0; i < 7; i++) {
      q.push(async () => {
        running++;
        most = Math.max(most, running);
        await new Promise<void>((r) => gates.push(r));
        running--;
        done++;
      });
    }
    await turn(300);
    assert.equal(done + running, 0, 'nothing ran during the storm');
    // Half a second later the last second still holds more than 50 boots' worth.
    now += 500;
    for (let i = 0; i < 30; i++) q.noteBoot();
    await turn(300);
    assert.equal(running, 0);
    // Two quiet seconds: the storm is over.
    now += 2_000;
    assert.equal(q.storming, false);
    await turn(300);
    assert.equal(running, 3, 'at most three at once');
    while (done < 7) {
      gates.shift()?.();
      await turn(5);
    }
    assert.equal(most, 3);
    assert.equal(q.pending, 0);
  });

  it('lets a task wait no longer than AFTER_BOOT_MAX_HOLD_MS however long the storm lasts', async () => {
    let now = 200_000;
    const q = new AfterBootQueue(() => now, 50, 3);
    const storm = () => {
      for (let i = 0; i < 100; i++) q.noteBoot();
    };
    storm();
    let ran = 0;
    q.push(async () => {
      ran++;
    });
    for (let s = 0; s < 29; s++) {
      now += 1_000;
      storm();
      await turn(5);
    }
    await turn(300);
    assert.equal(ran, 0, 'held for 29 s of storm');
    now += 1_001;
    storm();
    assert.equal(q.storming, true);
    await turn(300);
    assert.equal(ran, 1, 'run after 30 s although the storm goes on');
  });

  it('runs a task at once (on a later turn) when boots are few', async () => {
    const q = new AfterBootQueue(Date.now, 50, 3);
    q.noteBoot();
    let ran = false;
    q.push(async () => {
      ran = true;
    });
    assert.equal(ran, false, 'never inside the caller');
    await turn(20);
    assert.equal(ran, true);
  });
});
