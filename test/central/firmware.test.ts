// Firmware job tracking in process, on a fake clock: what the charger reports (the events its
// handlers emit) moves the job; silence times it out; only a boot with the image's version
// confirms an update. The end-to-end file (test/e2e/firmware.test.ts) runs the same against
// the simulator over real sockets.
import assert from 'node:assert/strict';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { pino } from 'pino';
import {
  EventBus,
  FirmwareImages,
  FirmwareRollouts,
  FirmwareService,
  rolloutProgress,
} from '../../src/central/index.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/types.ts';

const T0 = Date.parse('2026-06-01T08:00:00.000Z');

describe('firmware jobs (fake clock)', () => {
  let store: Store;
  let now = T0;
  let events: EventBus;
  let fw: FirmwareService;
  const sent: { chargerId: string; action: string; payload: any }[] = [];
  const online = new Set<string>();

  beforeEach(async () => {
    now = T0;
    sent.length = 0;
    online.clear();
    store = await openSqliteStore({ file: ':memory:' });
    events = new EventBus({ now: () => now });
    const ports = {
      store,
      events,
      clock: { now: () => now },
      log: pino({ level: 'silent' }),
      isConnected: (id: string) => online.has(id),
      call: async (chargerId: string, action: string, payload: unknown) => {
        sent.push({ chargerId, action, payload });
        return {} as never;
      },
    };
    const data = mkdtempSync(join(tmpdir(), 'ampere-fw-'));
    const images = new FirmwareImages(store.firmware, data, Buffer.from('secret'), () => now, 1024);
    fw = new FirmwareService(ports as never, images, { jobTimeoutS: 600 });
    fw.start();
  });
  afterEach(async () => {
    fw.stop();
    await store.close();
  });

  async function charger(id: string, version = '1.0.0'): Promise<void> {
    await store.upsertCharger(id, { registration: 'accepted' }, now);
    await store.recordBoot(id, { chargePointVendor: 'V', chargePointModel: 'M', firmwareVersion: version }, now);
    online.add(id);
  }
  const upload = (version = '2.0.0', bytes = Buffer.alloc(500, 7)) =>
    fw.images.save(Readable.from([bytes]), { name: `fw-${version}.bin`, version });
  /** What a charger's BootNotification / FirmwareStatusNotification handler emits. */
  const boot = (id: string, firmwareVersion: string) =>
    events.emit('charger.boot', id, {
      chargePointVendor: 'V',
      chargePointModel: 'M',
      firmwareVersion,
      status: 'Accepted',
    });
  const status = (id: string, s: string) => events.emit('firmware.status', id, { status: s });
  const job = async (id: number) => {
    await fw.settled();
    return (await store.firmware.getJob(id))!;
  };

  it('refuses an image over the size limit and keeps nothing', async () => {
    await assert.rejects(upload('9', Buffer.alloc(2048)), { code: 'AMPERE_ERR_PAYLOAD_TOO_LARGE' });
    assert.deepEqual(await store.firmware.listImages(), []);
  });

  it('sends UpdateFirmware with a link that expires; a second update while one runs is refused', async () => {
    await charger('CP1');
    const img = await upload();
    const j = await fw.update('CP1', { imageId: img.id, baseUrl: 'http://cs:8180', retries: 2, retryInterval: 60 });
    assert.equal(sent[0]?.action, 'UpdateFirmware');
    const location: string = sent[0]!.payload.location;
    assert.match(location, new RegExp(`^http://cs:8180/firmware/${img.id}/\\d+/[\\w-]+/fw-2\\.0\\.0\\.bin$`));
    const [, , , expires, mac] = new URL(location).pathname.split('/');
    // retrieveDate (now) + 2 retries × 60 s + 1 h.
    assert.equal(Number(expires), Math.ceil((T0 + 120_000 + 3600_000) / 1000));
    assert.equal((await fw.images.resolveLink(img.id, expires!, mac!)).img.id, img.id);
    now += 3720_000 + 1000;
    await assert.rejects(fw.images.resolveLink(img.id, expires!, mac!), { code: 'AMPERE_ERR_FIRMWARE_URL_EXPIRED' });
    await assert.rejects(fw.images.resolveLink(img.id, String(Number(expires) + 1), mac!), {
      code: 'AMPERE_ERR_FIRMWARE_URL_INVALID',
    });
    await assert.rejects(fw.update('CP1', { imageId: img.id, baseUrl: 'http://cs' }), {
      code: 'AMPERE_ERR_FIRMWARE_BUSY',
    });
    assert.equal((await job(j.id)).state, 'running');
  });

  it('times a silent job out, counting from its retrieveDate', async () => {
    await charger('CP1');
    const img = await upload();
    const retrieveDate = new Date(T0 + 3600_000).toISOString();
    const j = await fw.update('CP1', { imageId: img.id, baseUrl: 'http://cs', retrieveDate });
    now = T0 + 3600_000 + 599_000;
    assert.deepEqual(await fw.sweep(), []);
    status('CP1', 'Downloading');
    assert.equal((await job(j.id)).status, 'Downloading');
    now += 599_000;
    assert.deepEqual(await fw.sweep(), []);
    now += 2000;
    const [out] = await fw.sweep();
    assert.equal(out?.id, j.id);
    assert.equal(out?.state, 'timed-out');
    assert.match(out?.error ?? '', /No firmware status from the charger for 600 s \(last: Downloading\)/);
  });

  it('a charger that reports no status (Weidmüller) is confirmed by its boot with the new version', async () => {
    await charger('ACS-1', '1.9.0');
    const img = await upload('2.0.0');
    const j = await fw.update('ACS-1', { imageId: img.id, baseUrl: 'http://cs' });
    boot('ACS-1', '2.0.0');
    const done = await job(j.id);
    assert.equal(done.state, 'succeeded');
    assert.equal(done.versionBefore, '1.9.0');
    assert.equal(done.versionAfter, '2.0.0');
  });

  it('Installed followed by a boot with the old version fails the job', async () => {
    await charger('CP1');
    const img = await upload('2.0.0');
    const j = await fw.update('CP1', { imageId: img.id, baseUrl: 'http://cs' });
    for (const s of ['Downloading', 'Downloaded', 'Installing']) status('CP1', s);
    boot('CP1', '1.0.0');
    assert.equal((await job(j.id)).state, 'running');
    status('CP1', 'Installed');
    boot('CP1', '1.0.0');
    const done = await job(j.id);
    assert.equal(done.state, 'failed');
    assert.match(done.error ?? '', /reported Installed but booted with firmware 1\.0\.0, not 2\.0\.0/);
  });

  it('DownloadFailed fails the job; a rollout halts past its failure rate and waits for offline chargers', async () => {
    const rollouts = new FirmwareRollouts(fw);
    rollouts.start();
    for (const id of ['A', 'B', 'C', 'D']) await charger(id);
    online.delete('D');
    const img = await upload();
    const r = await rollouts.create({
      imageId: img.id,
      target: { vendor: 'V', model: 'M' },
      concurrency: 1,
      maxFailureRate: 0.4,
      minFinished: 2,
      baseUrl: 'http://cs',
    });
    assert.deepEqual(r.progress, {
      total: 4,
      queued: 3,
      running: 1,
      succeeded: 0,
      failed: 0,
      timedOut: 0,
      cancelled: 0,
      failureRate: 0,
    });
    assert.deepEqual(
      sent.map((s) => s.chargerId),
      ['A'],
    );
    boot('A', '2.0.0');
    await fw.settled();
    await rollouts.pump(r.id);
    assert.deepEqual(
      sent.map((s) => s.chargerId),
      ['A', 'B'],
    );
    status('B', 'DownloadFailed');
    await fw.settled();
    await rollouts.pump(r.id);
    // 1 of 2 failed = 50 % > 40 %: halted, C and D stay queued.
    const halted = await rollouts.view(r.id);
    assert.equal(halted.state, 'halted');
    assert.equal(halted.progress.queued, 2);
    assert.match(halted.haltReason ?? '', /failure rate 50 %/);
    // Resumed, the rate counts afresh: C starts; D (offline) waits for its boot.
    now += 1000;
    await rollouts.resume(r.id);
    assert.deepEqual(
      sent.map((s) => s.chargerId),
      ['A', 'B', 'C'],
    );
    boot('C', '2.0.0');
    await fw.settled();
    await rollouts.pump(r.id);
    assert.equal((await rollouts.view(r.id)).progress.queued, 1);
    assert.equal(sent.length, 3);
    rollouts.stop();
  });

  it('a rollout by tag takes the chargers whose id tag list names it', async () => {
    const rollouts = new FirmwareRollouts(fw);
    for (const id of ['T1', 'T2', 'T3']) await charger(id);
    await store.setChargerTags('T1', { allowed: ['FLEET-A'], freeChargingTag: null });
    await store.setChargerTags('T3', { allowed: ['fleet-a', 'other'], freeChargingTag: null });
    const img = await upload();
    const r = await rollouts.create({
      imageId: img.id,
      target: { tag: 'Fleet-A' },
      concurrency: 5,
      maxFailureRate: 0.2,
      minFinished: 5,
      baseUrl: 'http://cs',
    });
    assert.equal(r.progress.total, 2);
    assert.deepEqual(sent.map((x) => x.chargerId).sort(), ['T1', 'T3']);
    await assert.rejects(
      rollouts.create({
        imageId: img.id,
        target: { tag: 'nobody' },
        concurrency: 1,
        maxFailureRate: 0,
        minFinished: 1,
        baseUrl: 'http://cs',
      }),
      { code: 'AMPERE_ERR_BAD_REQUEST', message: 'The target matches no charger' },
    );
  });

  it('the failure rate counts only jobs finished since the last resume', () => {
    const j = (state: string, finishedAt: string) => ({ state, finishedAt, updatedAt: finishedAt }) as never;
    const jobs = [j('failed', '2026-01-01T00:00:00Z'), j('succeeded', '2026-01-02T00:00:00Z')];
    assert.equal(rolloutProgress(jobs).failureRate, 0.5);
    assert.equal(rolloutProgress(jobs, '2026-01-01T12:00:00Z').failureRate, 0);
  });
});
