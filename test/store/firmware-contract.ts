// The firmware tables (src/store/firmware.ts): one suite that sqlite.test.ts and postgres.test.ts
// both run, as they run the Store contract.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { Store } from '../../src/store/types.ts';

const T0 = Date.parse('2026-05-01T10:00:00.000Z');
const SHA = 'ab'.repeat(32);

export function runFirmwareContract(name: string, open: () => Promise<Store>): void {
  describe(`firmware store: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(() => store.close());

    const image = (id: string) => ({
      id,
      name: `${id}.bin`,
      version: '2.0.0',
      size: 1234,
      sha256: SHA,
      file: `firmware/${id}`,
      signingCertificate: null,
      signature: null,
    });

    it('keeps images, adds a signature to one, deletes it', async () => {
      const a = await store.firmware.putImage(image('a'), T0);
      assert.deepEqual(a, { ...image('a'), createdAt: new Date(T0).toISOString() });
      await store.firmware.putImage(image('b'), T0 + 1000);
      assert.deepEqual(
        (await store.firmware.listImages()).map((i) => i.id),
        ['b', 'a'],
      );
      const signed = await store.firmware.putImage({ ...a, signingCertificate: 'PEM', signature: 'c2ln' }, T0 + 2000);
      assert.equal(signed.signature, 'c2ln');
      assert.equal(signed.createdAt, a.createdAt);
      assert.equal(await store.firmware.deleteImage('a'), true);
      assert.equal(await store.firmware.deleteImage('a'), false);
      assert.equal(await store.firmware.getImage('a'), null);
      await assert.rejects(store.firmware.putImage({ ...image('c'), sha256: 'xyz' }, T0), {
        code: 'AMPERE_ERR_STORE_INVALID',
      });
    });

    it('creates jobs, appends to their history, filters open ones', async () => {
      const j = await store.firmware.createJob(
        { chargerId: 'CP1', imageId: 'a', method: 'UpdateFirmware', state: 'running', retries: 2, retryInterval: 30 },
        T0,
      );
      assert.equal(j.state, 'running');
      assert.deepEqual(j.history, []);
      assert.equal(j.retries, 2);
      await store.firmware.updateJob(
        j.id,
        { status: 'Downloading', entry: { status: 'Downloading', at: T0 + 1 } },
        T0 + 1,
      );
      const u = await store.firmware.updateJob(
        j.id,
        { state: 'succeeded', versionAfter: '2.0.0', finishedAt: T0 + 2, entry: { status: 'Confirmed', at: T0 + 2 } },
        T0 + 2,
      );
      assert.deepEqual(
        u?.history.map((h) => h.status),
        ['Downloading', 'Confirmed'],
      );
      assert.equal(u?.status, 'Downloading');
      assert.equal(u?.finishedAt, new Date(T0 + 2).toISOString());
      const q = await store.firmware.createJob(
        { chargerId: 'CP2', imageId: 'a', rolloutId: 7, method: 'UpdateFirmware', state: 'queued' },
        T0,
      );
      assert.deepEqual(
        (await store.firmware.listJobs({ open: true })).items.map((x) => x.id),
        [q.id],
      );
      assert.equal((await store.firmware.listJobs({ rolloutId: 7 })).total, 1);
      assert.equal((await store.firmware.listJobs({ chargerId: 'CP1', state: 'succeeded' })).total, 1);
      assert.equal(await store.firmware.updateJob(99_999, { state: 'failed' }, T0), null);
      await assert.rejects(store.firmware.updateJob(j.id, { state: 'done' as never }, T0), {
        code: 'AMPERE_ERR_STORE_INVALID',
      });
    });

    it('keeps rollouts with their target and options', async () => {
      const r = await store.firmware.createRollout(
        {
          imageId: 'a',
          target: { vendor: 'GreenMotion' },
          concurrency: 3,
          maxFailureRate: 0.25,
          minFinished: 4,
          options: { baseUrl: 'http://x' },
        },
        T0,
      );
      assert.equal(r.state, 'running');
      assert.deepEqual(r.target, { vendor: 'GreenMotion' });
      assert.equal(r.maxFailureRate, 0.25);
      const h = await store.firmware.updateRollout(r.id, { state: 'halted', haltReason: 'too many' }, T0 + 5);
      assert.equal(h?.haltReason, 'too many');
      const resumed = await store.firmware.updateRollout(
        r.id,
        { state: 'running', options: { baseUrl: 'http://x', countFrom: 'now' } },
        T0 + 6,
      );
      assert.deepEqual(resumed?.options, { baseUrl: 'http://x', countFrom: 'now' });
      assert.equal(resumed?.haltReason, null);
      assert.deepEqual(
        (await store.firmware.listRollouts({ state: 'running' })).map((x) => x.id),
        [r.id],
      );
    });
  });
}
