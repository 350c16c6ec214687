// Firmware rollouts: one image to a set of chargers (ids, vendor + model, or a charger tag),
// at most `concurrency` jobs running at once, halted when the failure rate over finished jobs
// passes `maxFailureRate` (once `minFinished` have finished). A charger that is offline waits:
// its job stays queued and starts after its next Accepted boot. Pause stops new starts, resume
// starts again (the failure rate then counts afresh), cancel drops the queued jobs; jobs already
// sent are followed to their end either way (OCPP 1.6 cannot call an UpdateFirmware back).
import { AmpereError } from '../errors.ts';
import type { FirmwareJobRecord, FirmwareRolloutRecord, FirmwareRolloutState } from '../store/firmware.ts';
import type { JsonValue } from '../store/types.ts';
import { afterBootQueue } from './after-boot.ts';
import type { CentralEvent } from './events.ts';
import type { FirmwareService, SignedMode } from './firmware.ts';

export interface RolloutTarget {
  chargerIds?: string[];
  vendor?: string;
  model?: string;
  /** Chargers whose id tag list (src/central/charger-tags.ts) names this tag. */
  tag?: string;
}

export interface RolloutInput {
  imageId: string;
  target: RolloutTarget;
  concurrency: number;
  maxFailureRate: number;
  minFinished: number;
  baseUrl: string;
  retries?: number;
  retryInterval?: number;
  signed?: SignedMode;
}

interface RolloutOptions {
  baseUrl: string;
  retries?: number;
  retryInterval?: number;
  signed?: SignedMode;
  /** Failures count from here on (set by resume). */
  countFrom?: string;
}

export interface RolloutProgress {
  total: number;
  queued: number;
  running: number;
  succeeded: number;
  failed: number;
  timedOut: number;
  cancelled: number;
  /** (failed + timed out) / finished, over the jobs finished since the last resume. */
  failureRate: number;
}

export type RolloutView = FirmwareRolloutRecord & { progress: RolloutProgress };

export function rolloutProgress(jobs: readonly FirmwareJobRecord[], countFrom?: string): RolloutProgress {
  const n = (s: string) => jobs.filter((j) => j.state === s).length;
  const since = countFrom ? Date.parse(countFrom) : 0;
  const counted = jobs.filter(
    (j) =>
      (j.state === 'succeeded' || j.state === 'failed' || j.state === 'timed-out') &&
      Date.parse(j.finishedAt ?? j.updatedAt) >= since,
  );
  const bad = counted.filter((j) => j.state !== 'succeeded').length;
  return {
    total: jobs.length,
    queued: n('queued'),
    running: n('running'),
    succeeded: n('succeeded'),
    failed: n('failed'),
    timedOut: n('timed-out'),
    cancelled: n('cancelled'),
    failureRate: counted.length === 0 ? 0 : bad / counted.length,
  };
}

export class FirmwareRollouts {
  readonly #pumping = new Map<number, { again: boolean; done: Promise<void> }>();
  #unsubscribe: (() => void) | undefined;

  #pumpQueued = false;

  constructor(private readonly fw: FirmwareService) {}

  start(): void {
    this.fw.onFinished = (job) => {
      if (job.rolloutId !== null) void this.pump(job.rolloutId);
    };
    // A waiting charger is sent its job once its boot is answered Accepted (it acts on calls only then).
    // Through the after-boot queue, one pass for however many boots came meanwhile: a reconnect
    // storm reads the running rollouts once, after its boots, not once per boot.
    const queue = afterBootQueue(this.fw.ports);
    this.#unsubscribe = this.fw.ports.events.subscribe((e: CentralEvent) => {
      if (e.type !== 'charger.boot' || e.data.status !== 'Accepted' || this.#pumpQueued) return;
      this.#pumpQueued = true;
      queue.push(() => {
        this.#pumpQueued = false;
        return this.pumpAll();
      });
    });
    void this.pumpAll();
  }

  stop(): void {
    this.#unsubscribe?.();
    this.fw.onFinished = undefined;
  }

  get #store() {
    return this.fw.ports.store;
  }

  async #resolveTarget(t: RolloutTarget): Promise<string[]> {
    const store = this.#store;
    if (t.chargerIds && t.chargerIds.length > 0) {
      const missing: string[] = [];
      for (const id of t.chargerIds) if (!(await store.getCharger(id))) missing.push(id);
      if (missing.length > 0) {
        throw new AmpereError('AMPERE_ERR_BAD_REQUEST', `Unknown chargers: ${missing.join(', ')}`, {
          field: 'body.target.chargerIds',
          missing,
        });
      }
      return [...new Set(t.chargerIds)];
    }
    if (!t.vendor && !t.model && !t.tag) {
      throw new AmpereError('AMPERE_ERR_BAD_REQUEST', 'target: give chargerIds, vendor and/or model, or tag', {
        field: 'body.target',
      });
    }
    const page = await store.listChargers({
      ...(t.vendor ? { vendor: t.vendor } : {}),
      ...(t.model ? { model: t.model } : {}),
      limit: 10_000,
    });
    const ids: string[] = [];
    const tag = t.tag?.toLowerCase();
    for (const c of page.items) {
      if (tag === undefined || (await store.getChargerTags(c.id)).allowed.includes(tag)) ids.push(c.id);
    }
    return ids.sort();
  }

  async create(input: RolloutInput): Promise<RolloutView> {
    const now = this.fw.ports.clock.now();
    const img = await this.fw.images.get(input.imageId);
    const ids = await this.#resolveTarget(input.target);
    if (ids.length === 0) {
      throw new AmpereError('AMPERE_ERR_BAD_REQUEST', 'The target matches no charger', { field: 'body.target' });
    }
    const open = await this.#store.firmware.listJobs({ open: true, limit: 10_000 });
    const busy = open.items.filter((j) => ids.includes(j.chargerId)).map((j) => j.chargerId);
    if (busy.length > 0) {
      throw new AmpereError(
        'AMPERE_ERR_FIRMWARE_BUSY',
        `These chargers already have a firmware job queued or running: ${busy.join(', ')}`,
        { chargerIds: busy },
      );
    }
    const options: RolloutOptions = {
      baseUrl: input.baseUrl,
      ...(input.retries !== undefined ? { retries: input.retries } : {}),
      ...(input.retryInterval !== undefined ? { retryInterval: input.retryInterval } : {}),
      ...(input.signed !== undefined ? { signed: input.signed } : {}),
    };
    const rollout = await this.#store.firmware.createRollout(
      {
        imageId: img.id,
        target: input.target as JsonValue,
        concurrency: input.concurrency,
        maxFailureRate: input.maxFailureRate,
        minFinished: input.minFinished,
        options: options as unknown as JsonValue,
      },
      now,
    );
    for (const chargerId of ids) {
      const c = await this.#store.getCharger(chargerId);
      await this.#store.firmware.createJob(
        {
          chargerId,
          imageId: img.id,
          rolloutId: rollout.id,
          method: 'UpdateFirmware',
          state: 'queued',
          retries: input.retries ?? null,
          retryInterval: input.retryInterval ?? null,
          versionBefore: c?.firmwareVersion ?? null,
        },
        now,
      );
    }
    await this.pump(rollout.id);
    return this.view(rollout.id);
  }

  async get(id: number): Promise<FirmwareRolloutRecord> {
    const r = await this.#store.firmware.getRollout(id);
    if (!r) throw new AmpereError('AMPERE_ERR_NOT_FOUND', `No firmware rollout ${id}`, { rolloutId: id });
    return r;
  }

  async #jobs(id: number): Promise<FirmwareJobRecord[]> {
    return (await this.#store.firmware.listJobs({ rolloutId: id, limit: 10_000 })).items;
  }

  async view(id: number): Promise<RolloutView> {
    const r = await this.get(id);
    return {
      ...r,
      progress: rolloutProgress(await this.#jobs(id), (r.options as unknown as RolloutOptions).countFrom),
    };
  }

  async list(): Promise<RolloutView[]> {
    const out: RolloutView[] = [];
    for (const r of await this.#store.firmware.listRollouts()) out.push(await this.view(r.id));
    return out;
  }

  async pause(id: number): Promise<RolloutView> {
    return this.#move(id, ['running'], 'paused');
  }

  async resume(id: number): Promise<RolloutView> {
    const r = await this.get(id);
    const options = { ...(r.options as unknown as RolloutOptions) };
    if (r.state === 'halted') options.countFrom = new Date(this.fw.ports.clock.now()).toISOString();
    const view = await this.#move(id, ['paused', 'halted'], 'running', options);
    await this.pump(id);
    return this.view(view.id);
  }

  async cancel(id: number): Promise<RolloutView> {
    await this.#move(id, ['running', 'paused', 'halted'], 'cancelled');
    for (const j of await this.#jobs(id)) if (j.state === 'queued') await this.fw.finish(j.id, 'cancelled');
    return this.view(id);
  }

  async #move(
    id: number,
    from: FirmwareRolloutState[],
    to: FirmwareRolloutState,
    options?: RolloutOptions,
    haltReason: string | null = null,
  ): Promise<RolloutView> {
    const r = await this.get(id);
    if (!from.includes(r.state)) {
      throw new AmpereError('AMPERE_ERR_CONFLICT', `Rollout ${id} is ${r.state}; it cannot become ${to}`, {
        rolloutId: id,
        state: r.state,
      });
    }
    await this.#store.firmware.updateRollout(
      id,
      { state: to, haltReason, ...(options ? { options: options as unknown as JsonValue } : {}) },
      this.fw.ports.clock.now(),
    );
    const view = await this.view(id);
    this.fw.ports.events.emit('firmware.rollout', null, {
      rolloutId: id,
      state: view.state,
      ...(haltReason ? { haltReason } : {}),
      progress: view.progress as unknown as JsonValue,
    });
    return view;
  }

  async pumpAll(): Promise<void> {
    for (const r of await this.#store.firmware.listRollouts({ state: 'running' })) await this.pump(r.id);
  }

  /** Starts what the concurrency allows; halts or completes the rollout. One pass at a time per rollout. */
  pump(id: number): Promise<void> {
    const running = this.#pumping.get(id);
    if (running) {
      running.again = true;
      return running.done;
    }
    const entry = { again: true, done: Promise.resolve() };
    entry.done = (async () => {
      try {
        while (entry.again) {
          entry.again = false;
          await this.#pumpOnce(id);
        }
      } catch (e) {
        this.fw.ports.log.warn({ rolloutId: id, err: (e as Error).message }, 'firmware rollout step failed');
      } finally {
        this.#pumping.delete(id);
      }
    })();
    this.#pumping.set(id, entry);
    return entry.done;
  }

  async #pumpOnce(id: number): Promise<void> {
    const r = await this.#store.firmware.getRollout(id);
    if (r?.state !== 'running') return;
    const options = r.options as unknown as RolloutOptions;
    const jobs = await this.#jobs(id);
    const p = rolloutProgress(jobs, options.countFrom);
    const finished = p.succeeded + p.failed + p.timedOut;
    const counted = p.failureRate;
    if (finished >= r.minFinished && finished > 0 && counted > r.maxFailureRate) {
      const reason = `failure rate ${(counted * 100).toFixed(0)} % over ${r.maxFailureRate * 100} % (${p.failed + p.timedOut} of ${finished} finished jobs failed)`;
      await this.#move(id, ['running'], 'halted', undefined, reason);
      return;
    }
    if (p.queued === 0 && p.running === 0) {
      await this.#move(id, ['running'], 'completed');
      return;
    }
    let slots = r.concurrency - p.running;
    if (slots <= 0) return;
    const img = await this.fw.images.get(r.imageId);
    const starts: FirmwareJobRecord[] = [];
    for (const j of jobs.filter((x) => x.state === 'queued').sort((a, b) => a.id - b.id)) {
      if (slots <= 0) break;
      if (!this.fw.ports.isConnected(j.chargerId)) continue;
      const now = this.fw.ports.clock.now();
      const c = await this.#store.getCharger(j.chargerId);
      const started = await this.fw.serial(() =>
        this.#store.firmware.updateJob(
          j.id,
          {
            state: 'running',
            lastHeardAt: now,
            versionBefore: c?.firmwareVersion ?? j.versionBefore,
            entry: { status: `Started by rollout ${id}`, at: now },
          },
          now,
        ),
      );
      if (!started) continue;
      this.fw.emitJob(started);
      slots--;
      starts.push(started);
    }
    for (const job of starts) {
      this.fw
        .send(job, img, {
          imageId: img.id,
          baseUrl: options.baseUrl,
          ...(options.retries !== undefined ? { retries: options.retries } : {}),
          ...(options.retryInterval !== undefined ? { retryInterval: options.retryInterval } : {}),
          ...(options.signed !== undefined ? { signed: options.signed } : {}),
        })
        .catch((e) =>
          this.fw.ports.log.info({ chargerId: job.chargerId, err: (e as Error).message }, 'rollout job not sent'),
        );
    }
  }
}
