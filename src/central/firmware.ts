// Firmware updates: one job per charger and image. Ampere sends UpdateFirmware (OCPP 1.6 §5.19)
// with a signed, expiring link to the image on its own HTTP port, or SignedUpdateFirmware
// (security whitepaper, secure firmware update) when the image carries a signing certificate
// and signature and the charger takes it; follows FirmwareStatusNotification (§4.5) and
// SignedFirmwareStatusNotification; and counts a job done only when the charger boots with the
// image's version (BootNotification.firmwareVersion). A job the charger says nothing about for
// the configured time is marked timed out.
import { AmpereError, isAmpereError } from '../errors.ts';
import type { FirmwareImageRecord, FirmwareJobPatch, FirmwareJobRecord, FirmwareJobState } from '../store/firmware.ts';
import type { CentralEvent } from './events.ts';
import type { FirmwareImages } from './firmware-images.ts';
import type { CentralHost } from './ports.ts';

/** What firmware uses of the central system (src/central/ports.ts): no more than a fleet operation. */
export type FirmwarePorts = Pick<CentralHost, 'store' | 'events' | 'clock' | 'log' | 'isConnected' | 'call'>;

export interface FirmwareSettings {
  /** Seconds without news after which a running job is timed out. */
  jobTimeoutS: number;
}

/** `auto`: signed when the image is signed and the charger takes it, else plain; `always`; `never`. */
export type SignedMode = 'auto' | 'always' | 'never';

export interface UpdateOptions {
  imageId: string;
  /** scheme://host:port the charger downloads from. */
  baseUrl: string;
  retrieveDate?: string;
  retries?: number;
  retryInterval?: number;
  signed?: SignedMode;
  /** Seconds the link stays valid from now; default: until retrieveDate + every retry + 1 h. */
  linkValidity?: number;
}

/** Statuses after which the job has failed (1.6 §7.25 and the whitepaper's FirmwareStatusEnumType). */
const FAILED = new Set([
  'DownloadFailed',
  'InstallationFailed',
  'InvalidSignature',
  'InstallVerificationFailed',
  'InvalidCertificate',
  'RevokedCertificate',
]);
const LINK_GRACE_MS = 3600_000;
const RUNNING: ReadonlySet<FirmwareJobState> = new Set(['running']);
/**
 * How long "no job runs anywhere" is trusted before the store is asked again. Every boot checks
 * for a job to confirm; with none running (the usual case) a reconnect storm asks the store once
 * per this period instead of once per boot. A job started on this node clears it at once; one
 * started on another node is seen within it, long before the charger reboots into the image.
 */
const NONE_RUNNING_TTL_MS = 1000;

export class FirmwareService {
  /** Store read-modify-writes of jobs run one after another (status notices arrive back to back). */
  #chain: Promise<unknown> = Promise.resolve();
  #events: Promise<unknown> = Promise.resolve();
  /** Until when (clock ms) no running job is known to exist: see NONE_RUNNING_TTL_MS. */
  #noneRunningUntil = 0;
  #unsubscribe: (() => void) | undefined;
  /** Called when a job reaches a final state (the rollouts start the next one). */
  onFinished: ((job: FirmwareJobRecord) => void) | undefined;

  constructor(
    readonly ports: FirmwarePorts,
    readonly images: FirmwareImages,
    readonly settings: FirmwareSettings,
  ) {}

  start(): void {
    this.#unsubscribe = this.ports.events.subscribe((e) => this.#onEvent(e));
  }

  stop(): void {
    this.#unsubscribe?.();
  }

  serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.#chain.then(fn, fn);
    this.#chain = run.catch(() => undefined);
    return run;
  }

  // ---------------------------------------------------------------- starting a job

  /** One charger, now: the charger must be connected and have no open job. */
  async update(chargerId: string, o: UpdateOptions): Promise<FirmwareJobRecord> {
    const { store } = this.ports;
    const charger = await store.getCharger(chargerId);
    if (!charger) throw new AmpereError('AMPERE_ERR_NOT_FOUND', `No charger "${chargerId}"`, { chargerId });
    const img = await this.images.get(o.imageId);
    checkSignedChoice(img, o.signed ?? 'auto');
    if (!this.ports.isConnected(chargerId)) {
      throw new AmpereError('AMPERE_ERR_CHARGER_OFFLINE', `Charger ${chargerId} is not connected`, { chargerId });
    }
    const job = await this.serial(async () => {
      const open = await store.firmware.listJobs({ chargerId, open: true, limit: 1 });
      if (open.total > 0) {
        throw new AmpereError(
          'AMPERE_ERR_FIRMWARE_BUSY',
          `Charger ${chargerId} already has firmware job ${open.items[0]!.id} (${open.items[0]!.state}); cancel it first`,
          { chargerId, jobId: open.items[0]!.id },
        );
      }
      return store.firmware.createJob(
        {
          chargerId,
          imageId: img.id,
          method: 'UpdateFirmware',
          state: 'running',
          retrieveDate: o.retrieveDate ?? null,
          retries: o.retries ?? null,
          retryInterval: o.retryInterval ?? null,
          versionBefore: charger.firmwareVersion,
        },
        this.ports.clock.now(),
      );
    });
    this.emitJob(job);
    return this.send(job, img, o);
  }

  /**
   * Sends the job's UpdateFirmware or SignedUpdateFirmware. A charger that refuses or cannot be
   * reached fails the job (kept, with the reason); the error is thrown for a direct request.
   */
  async send(job: FirmwareJobRecord, img: FirmwareImageRecord, o: UpdateOptions): Promise<FirmwareJobRecord> {
    const now = this.ports.clock.now();
    const retrieveMs = o.retrieveDate ? Date.parse(o.retrieveDate) : now;
    const retrieveDate = new Date(Math.max(retrieveMs, 0)).toISOString();
    const window = (o.retries ?? 0) * (o.retryInterval ?? 0) * 1000;
    const expires =
      o.linkValidity !== undefined ? now + o.linkValidity * 1000 : Math.max(now, retrieveMs) + window + LINK_GRACE_MS;
    const location = `${o.baseUrl}${this.images.linkPath(img, expires)}`;
    const mode = o.signed ?? 'auto';
    const signed = mode !== 'never' && img.signature !== null && img.signingCertificate !== null;
    const retry = {
      ...(o.retries !== undefined ? { retries: o.retries } : {}),
      ...(o.retryInterval !== undefined ? { retryInterval: o.retryInterval } : {}),
    };
    try {
      if (signed) {
        const answer = await this.#sendSigned(job, img, location, retrieveDate, retry);
        if (answer === 'Accepted') return this.#sent(job, 'SignedUpdateFirmware', expires);
        if (answer !== 'NotSupported' || mode === 'always') {
          const why =
            answer === 'NotSupported'
              ? `Charger ${job.chargerId} does not support SignedUpdateFirmware (security extension)`
              : `The charger answered SignedUpdateFirmware with ${answer}`;
          await this.finish(job.id, 'failed', { error: why, status: answer === 'NotSupported' ? null : answer });
          throw new AmpereError('AMPERE_ERR_CALL_REFUSED', why, { chargerId: job.chargerId, jobId: job.id });
        }
        // auto: the charger has no security extension; the plain update carries the same image.
      }
      await this.ports.call(job.chargerId, 'UpdateFirmware', { location, retrieveDate, ...retry });
      return await this.#sent(job, 'UpdateFirmware', expires);
    } catch (e) {
      if (!isAmpereError(e, 'AMPERE_ERR_CALL_REFUSED')) {
        await this.finish(job.id, 'failed', { error: (e as Error).message });
      }
      throw e;
    }
  }

  /** The answer to SignedUpdateFirmware, or `NotSupported` when the charger does not know it. */
  async #sendSigned(
    job: FirmwareJobRecord,
    img: FirmwareImageRecord,
    location: string,
    retrieveDateTime: string,
    retry: { retries?: number; retryInterval?: number },
  ): Promise<string> {
    try {
      const r = await this.ports.call(job.chargerId, 'SignedUpdateFirmware', {
        requestId: job.id,
        ...retry,
        firmware: {
          location,
          retrieveDateTime,
          signingCertificate: img.signingCertificate!,
          signature: img.signature!,
        },
      });
      return r.status;
    } catch (e) {
      const code = (e as AmpereError).details?.ocppCode;
      if (isAmpereError(e, 'AMPERE_ERR_CHARGER_CALLERROR') && (code === 'NotImplemented' || code === 'NotSupported')) {
        return 'NotSupported';
      }
      throw e;
    }
  }

  #sent(job: FirmwareJobRecord, method: string, expires: number): Promise<FirmwareJobRecord> {
    const now = this.ports.clock.now();
    return this.#patch(job.id, {
      method,
      lastHeardAt: now,
      entry: { status: `Sent ${method} (link valid until ${new Date(expires).toISOString()})`, at: now },
    });
  }

  async #patch(id: number, patch: FirmwareJobPatch): Promise<FirmwareJobRecord> {
    const job = await this.serial(() => this.ports.store.firmware.updateJob(id, patch, this.ports.clock.now()));
    if (!job) throw new AmpereError('AMPERE_ERR_NOT_FOUND', `No firmware job ${id}`, { jobId: id });
    this.emitJob(job);
    return job;
  }

  /** Moves a job to a final state (no-op when it already is in one). */
  async finish(
    id: number,
    state: 'succeeded' | 'failed' | 'timed-out' | 'cancelled',
    extra: { error?: string | null; status?: string | null; versionAfter?: string | null } = {},
  ): Promise<FirmwareJobRecord | null> {
    const now = this.ports.clock.now();
    const job = await this.serial(async () => {
      const before = await this.ports.store.firmware.getJob(id);
      if (!before || (before.state !== 'running' && before.state !== 'queued')) return null;
      return this.ports.store.firmware.updateJob(
        id,
        {
          state,
          finishedAt: now,
          entry: { status: extra.error ? `${stateWord(state)}: ${extra.error}` : stateWord(state), at: now },
          ...(extra.error !== undefined ? { error: extra.error } : {}),
          ...(extra.status !== undefined ? { status: extra.status } : {}),
          ...(extra.versionAfter !== undefined ? { versionAfter: extra.versionAfter } : {}),
        },
        now,
      );
    });
    if (job) {
      this.emitJob(job);
      this.onFinished?.(job);
    }
    return job;
  }

  async cancel(id: number): Promise<FirmwareJobRecord> {
    const job = await this.ports.store.firmware.getJob(id);
    if (!job) throw new AmpereError('AMPERE_ERR_NOT_FOUND', `No firmware job ${id}`, { jobId: id });
    // OCPP 1.6 has no way to call an UpdateFirmware back: Ampere stops following the job; a
    // charger that still installs it is seen at its next boot.
    const done = await this.finish(id, 'cancelled');
    if (!done) {
      throw new AmpereError('AMPERE_ERR_CONFLICT', `Firmware job ${id} is already ${job.state}`, { jobId: id });
    }
    return done;
  }

  // ---------------------------------------------------------------- what chargers report

  #onEvent(e: CentralEvent): void {
    // The type first: this runs for every event, MeterValues included.
    if ((e.type !== 'firmware.status' && e.type !== 'charger.boot') || !e.chargerId) return;
    this.#track(e, e.chargerId);
  }

  #track(e: CentralEvent, chargerId: string): void {
    const work =
      e.type === 'firmware.status' ? () => this.#onStatus(chargerId, e.data) : () => this.#onBoot(chargerId, e.data);
    // In the order the charger sent them: a boot handled before the Installing before it would misjudge.
    const run = this.#events.then(work);
    this.#events = run.catch((err) =>
      this.ports.log.warn({ chargerId, err: (err as Error).message }, 'firmware job tracking failed'),
    );
  }

  /** Resolves once every status and boot heard so far is applied to its job. */
  settled(): Promise<unknown> {
    return this.#events;
  }

  async #openJob(chargerId: string, requestId?: unknown): Promise<FirmwareJobRecord | undefined> {
    const open = await this.ports.store.firmware.listJobs({ chargerId, state: 'running', limit: 5 });
    if (typeof requestId === 'number') return open.items.find((j) => j.id === requestId);
    return open.items[0];
  }

  /** §4.5 FirmwareStatusNotification / whitepaper SignedFirmwareStatusNotification. */
  async #onStatus(chargerId: string, data: Record<string, unknown>): Promise<void> {
    const status = String(data.status);
    const job = await this.#openJob(chargerId, data.signed ? data.requestId : undefined);
    if (!job) return;
    const now = this.ports.clock.now();
    if (FAILED.has(status)) {
      await this.finish(job.id, 'failed', { status, error: `The charger reported ${status}` });
      return;
    }
    if (status === 'Idle') {
      // Idle while a job runs: the charger is not (or no longer) busy with it; a later boot decides.
      await this.#patch(job.id, { lastHeardAt: now, entry: { status, at: now } });
      return;
    }
    const img = await this.ports.store.firmware.getImage(job.imageId);
    const charger = await this.ports.store.getCharger(chargerId);
    // The boot with the new version may come before the Installed notice (a charger reboots
    // into the new image, then reports): then Installed completes the job.
    if (status === 'Installed' && img && job.versionAfter === img.version && charger?.firmwareVersion === img.version) {
      await this.#patch(job.id, { status, lastHeardAt: now, entry: { status, at: now } });
      await this.finish(job.id, 'succeeded');
      return;
    }
    await this.#patch(job.id, { status, lastHeardAt: now, entry: { status, at: now } });
  }

  /** BootNotification.firmwareVersion after an update: the only proof of an installed image. */
  /** False when no job runs on any charger (checked at most once per NONE_RUNNING_TTL_MS). */
  async #anyRunning(): Promise<boolean> {
    const now = this.ports.clock.now();
    if (now < this.#noneRunningUntil) return false;
    const running = await this.ports.store.firmware.listJobs({ state: 'running', limit: 1 });
    if (running.items.length > 0) return true;
    this.#noneRunningUntil = now + NONE_RUNNING_TTL_MS;
    return false;
  }

  async #onBoot(chargerId: string, data: Record<string, unknown>): Promise<void> {
    if (!(await this.#anyRunning())) return;
    const job = await this.#openJob(chargerId);
    if (!job) return;
    const img = await this.ports.store.firmware.getImage(job.imageId);
    const version = typeof data.firmwareVersion === 'string' ? data.firmwareVersion : null;
    const now = this.ports.clock.now();
    if (img && version === img.version) {
      const patched = await this.#patch(job.id, {
        versionAfter: version,
        lastHeardAt: now,
        entry: { status: `Boot with firmware ${version}`, at: now },
      });
      // Confirmed: the charger runs the image, whatever it reported before (Weidmüller reports
      // nothing at all). An Installed that follows changes nothing.
      await this.finish(job.id, 'succeeded', { versionAfter: patched.versionAfter });
      return;
    }
    if (job.status === 'Installed') {
      await this.finish(job.id, 'failed', {
        versionAfter: version,
        error: `The charger reported Installed but booted with firmware ${version ?? '(none)'}, not ${img?.version}`,
      });
      return;
    }
    await this.#patch(job.id, {
      versionAfter: version,
      lastHeardAt: now,
      entry: { status: `Boot with firmware ${version ?? '(none)'}`, at: now },
    });
  }

  /** Marks running jobs the charger has been silent about for jobTimeoutS as timed out. */
  async sweep(): Promise<FirmwareJobRecord[]> {
    const now = this.ports.clock.now();
    const limit = this.settings.jobTimeoutS * 1000;
    const running = await this.ports.store.firmware.listJobs({ state: 'running', limit: 10_000 });
    const out: FirmwareJobRecord[] = [];
    for (const j of running.items) {
      if (!RUNNING.has(j.state)) continue;
      // Silence until the retrieveDate is expected; the clock starts there.
      const from = Math.max(Date.parse(j.lastHeardAt ?? j.createdAt), j.retrieveDate ? Date.parse(j.retrieveDate) : 0);
      if (now - from < limit) continue;
      const done = await this.finish(j.id, 'timed-out', {
        error: `No firmware status from the charger for ${this.settings.jobTimeoutS} s${j.status ? ` (last: ${j.status})` : ''}`,
      });
      if (done) out.push(done);
    }
    return out;
  }

  emitJob(job: FirmwareJobRecord): void {
    if (job.state === 'running') this.#noneRunningUntil = 0;
    this.ports.events.emit('firmware.job', job.chargerId, {
      jobId: job.id,
      imageId: job.imageId,
      rolloutId: job.rolloutId,
      state: job.state,
      status: job.status,
      method: job.method,
      ...(job.error ? { error: job.error } : {}),
    });
  }
}

function stateWord(state: FirmwareJobState): string {
  return { succeeded: 'Confirmed', failed: 'Failed', 'timed-out': 'TimedOut', cancelled: 'Cancelled' }[
    state as 'succeeded'
  ];
}

/** `always` needs a signed image. */
export function checkSignedChoice(img: FirmwareImageRecord, mode: SignedMode): void {
  if (mode === 'always' && (img.signature === null || img.signingCertificate === null)) {
    throw new AmpereError(
      'AMPERE_ERR_CONFLICT',
      `Firmware image ${img.id} has no signing certificate and signature; add them (PUT /api/firmware/${img.id}/signature) or use signed "auto" or "never"`,
      { imageId: img.id },
    );
  }
}
