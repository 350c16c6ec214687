// Triggers on connect (src/central/after-boot.ts): the decision as a pure function, over the
// cases that matter (a model without TriggerMessage, a boot, a reconnect, never Accepted, off).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
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
