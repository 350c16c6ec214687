// Diagnostics (OCPP 1.6 §5.9 GetDiagnostics, §4.4 DiagnosticsStatusNotification): Ampere asks a
// charger to upload its log to Ampere itself, over FTP (what most chargers can do) or HTTP PUT/POST
// on Ampere's own port. Each request gets a one-time credential that expires; the file is streamed
// into DATA/diagnostics with a size limit, and the charger's status notifications are kept with
// the request. The FTP server (ftp-server.ts) and the HTTP route only call `authenticate` and
// `openUpload` here.
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { type FileHandle, open, rename, stat, unlink } from 'node:fs/promises';
import { basename, join } from 'node:path';
import { Writable } from 'node:stream';
import { AmpereError } from '../errors.ts';
import type { DiagnosticsPatch, DiagnosticsRequestRecord } from '../store/types.ts';
import type { CentralHost } from './ports.ts';

export type DiagnosticsTransport = 'ftp' | 'http';

/** Where chargers reach Ampere's upload endpoints (known once the servers listen). */
export interface DiagnosticsEndpoints {
  /** `ftp://HOST:PORT` as chargers reach the FTP server; undefined while it is off. */
  ftp(): string | undefined;
  /** `http(s)://HOST:PORT` as chargers reach Ampere's own port. */
  http(): string;
}

export interface DiagnosticsOptions {
  central: CentralHost;
  /** Folder of the uploaded files (DATA/diagnostics). */
  dir: string;
  endpoints: DiagnosticsEndpoints;
  /** Largest file taken (bytes). */
  maxBytes: number;
  /** How long a request's upload credential lives (ms). */
  credentialTtlMs: number;
}

export interface DiagnosticsRequestInput {
  transport?: DiagnosticsTransport;
  /** GetLog of this type (security whitepaper) instead of GetDiagnostics. */
  logType?: 'DiagnosticsLog' | 'SecurityLog';
  startTime?: string;
  stopTime?: string;
  retries?: number;
  retryInterval?: number;
}

/** A request as the API shows it: never the credential or its hash. */
export type DiagnosticsView = Omit<DiagnosticsRequestRecord, 'secretHash'> & { downloadable: boolean };

/** The charger's statuses after which a request is closed (OCPP 1.6 §7.24 DiagnosticsStatus). */
const CLOSED = new Set(['Uploaded', 'UploadFailed', 'Idle', 'failed']);
/** FTP user names are `ampere-{requestId}`. */
const FTP_USER = /^ampere-(\d{1,15})$/;
export const HTTP_UPLOAD_PATH = '/diagnostics-upload';

const hash = (secret: string) => createHash('sha256').update(secret).digest('hex');

export function diagnosticsView(r: DiagnosticsRequestRecord): DiagnosticsView {
  const { secretHash: _secret, ...rest } = r;
  return { ...rest, downloadable: r.file !== null };
}

/** A file name a charger chose, made safe for the data folder. */
function safeName(name: string | undefined): string {
  const base = basename((name ?? '').replace(/\\/g, '/'))
    .replace(/[^A-Za-z0-9._-]/g, '_')
    .replace(/^\.+/, '')
    .slice(0, 100);
  return base === '' ? 'diagnostics' : base;
}

export class Diagnostics {
  private readonly central: CentralHost;
  private readonly opts: DiagnosticsOptions;
  /** Updates of one request run one after the other (its history is read, appended, written). */
  private readonly chains = new Map<number, Promise<unknown>>();
  private unsubscribe: (() => void) | undefined;

  constructor(opts: DiagnosticsOptions) {
    this.central = opts.central;
    this.opts = opts;
    mkdirSync(opts.dir, { recursive: true });
  }

  /** Follows DiagnosticsStatusNotifications (the handler emits `diagnostics.status`). */
  start(): void {
    this.unsubscribe = this.central.events.subscribe((e) => {
      if (e.type !== 'diagnostics.status' || !e.chargerId) return;
      const requestId = e.data.log === true ? Number(e.data.requestId) : undefined;
      this.noteStatus(e.chargerId, String(e.data.status), requestId).catch((err) =>
        this.central.log.warn({ chargerId: e.chargerId, err: (err as Error).message }, 'diagnostics status not kept'),
      );
    });
  }

  stop(): void {
    this.unsubscribe?.();
  }

  get ftpEnabled(): boolean {
    return this.opts.endpoints.ftp() !== undefined;
  }

  /**
   * Creates a request with a fresh credential and sends GetDiagnostics (OCPP 1.6 §5.9) with the
   * location of Ampere's own endpoint. The charger answers the file name it will upload, if any.
   */
  async request(chargerId: string, input: DiagnosticsRequestInput): Promise<DiagnosticsView> {
    const transport = input.transport ?? 'ftp';
    const ftpBase = this.opts.endpoints.ftp();
    if (transport === 'ftp' && ftpBase === undefined) {
      throw new AmpereError(
        'AMPERE_ERR_DIAGNOSTICS_TRANSPORT',
        'The FTP server is off: start Ampere with --ftp-port (0 = a free port), or ask for transport http',
        { transport },
      );
    }
    if (!this.central.isConnected(chargerId)) {
      throw new AmpereError('AMPERE_ERR_CHARGER_OFFLINE', `Charger ${chargerId} is not connected`, { chargerId });
    }
    const now = this.central.clock.now();
    const secret = randomBytes(18).toString('base64url');
    const created = await this.central.store.createDiagnosticsRequest(
      {
        chargerId,
        transport,
        logType: input.logType ?? null,
        secretHash: hash(secret),
        expiresAt: now + this.opts.credentialTtlMs,
        startTime: input.startTime ?? null,
        stopTime: input.stopTime ?? null,
        retries: input.retries ?? null,
        retryInterval: input.retryInterval ?? null,
      },
      now,
    );
    const location =
      transport === 'ftp'
        ? `${ftpBase!.replace('ftp://', `ftp://ampere-${created.id}:${secret}@`)}/`
        : `${this.opts.endpoints.http()}${HTTP_UPLOAD_PATH}/${created.id}/${secret}`;
    this.central.events.emit('diagnostics.requested', chargerId, { requestId: created.id, transport });
    let fileName: string | undefined;
    try {
      fileName = await (input.logType
        ? this.sendGetLog(chargerId, created.id, location, input)
        : this.sendGetDiagnostics(chargerId, location, input));
    } catch (e) {
      await this.update(created.id, { status: 'failed', error: (e as Error).message }, 'failed');
      throw e;
    }
    // §5.9: no fileName = no diagnostics information is available.
    const r = await this.update(
      created.id,
      { status: 'sent', fileName: fileName ?? null },
      'sent',
      fileName ? `fileName ${fileName}` : 'the charger has no diagnostics to upload',
    );
    return diagnosticsView(r);
  }

  private async sendGetDiagnostics(
    chargerId: string,
    location: string,
    input: DiagnosticsRequestInput,
  ): Promise<string | undefined> {
    const payload: {
      location: string;
      startTime?: string;
      stopTime?: string;
      retries?: number;
      retryInterval?: number;
    } = { location };
    if (input.startTime !== undefined) payload.startTime = input.startTime;
    if (input.stopTime !== undefined) payload.stopTime = input.stopTime;
    if (input.retries !== undefined) payload.retries = input.retries;
    if (input.retryInterval !== undefined) payload.retryInterval = input.retryInterval;
    return (await this.central.call(chargerId, 'GetDiagnostics', payload)).fileName;
  }

  /** Security whitepaper GetLog: the request id is Ampere's; a refusal fails the request. */
  private async sendGetLog(
    chargerId: string,
    requestId: number,
    remoteLocation: string,
    input: DiagnosticsRequestInput,
  ): Promise<string | undefined> {
    const log: { remoteLocation: string; oldestTimestamp?: string; latestTimestamp?: string } = { remoteLocation };
    if (input.startTime !== undefined) log.oldestTimestamp = input.startTime;
    if (input.stopTime !== undefined) log.latestTimestamp = input.stopTime;
    const payload: {
      logType: 'DiagnosticsLog' | 'SecurityLog';
      requestId: number;
      log: typeof log;
      retries?: number;
      retryInterval?: number;
    } = { logType: input.logType!, requestId, log };
    if (input.retries !== undefined) payload.retries = input.retries;
    if (input.retryInterval !== undefined) payload.retryInterval = input.retryInterval;
    const answer = await this.central.call(chargerId, 'GetLog', payload);
    if (answer.status === 'Rejected') {
      throw new AmpereError('AMPERE_ERR_CONFLICT', `The charger answered GetLog with ${answer.status}`, {
        status: answer.status,
      });
    }
    return answer.filename;
  }

  /** The request a live credential belongs to; anything else is AMPERE_ERR_DIAGNOSTICS_CREDENTIAL. */
  async authenticate(
    requestId: number,
    secret: string,
    transport: DiagnosticsTransport,
  ): Promise<DiagnosticsRequestRecord> {
    const refuse = (why: string) =>
      new AmpereError('AMPERE_ERR_DIAGNOSTICS_CREDENTIAL', `Diagnostics upload refused: ${why}`, { requestId });
    const r = Number.isSafeInteger(requestId) ? await this.central.store.getDiagnosticsRequest(requestId) : null;
    const given = Buffer.from(hash(secret), 'hex');
    if (!r || r.transport !== transport || !timingSafeEqual(given, Buffer.from(r.secretHash, 'hex'))) {
      throw refuse('unknown request or wrong credential');
    }
    if (Date.parse(r.expiresAt) <= this.central.clock.now()) throw refuse(`the credential expired at ${r.expiresAt}`);
    if (r.file !== null) throw refuse('the credential was already used for a file');
    return r;
  }

  /** FTP login: user `ampere-{requestId}`, password = the request's secret. */
  authenticateFtp(user: string, password: string): Promise<DiagnosticsRequestRecord> {
    const m = FTP_USER.exec(user);
    return this.authenticate(m ? Number(m[1]) : Number.NaN, password, 'ftp');
  }

  /**
   * A stream the upload is written into: into a temporary file, counted against the size limit,
   * kept (and the request updated) only when the upload ends whole.
   */
  openUpload(request: DiagnosticsRequestRecord, uploadName: string | undefined): Writable {
    const name = `${request.id}-${safeName(uploadName ?? request.fileName ?? undefined)}`;
    const path = join(this.opts.dir, name);
    const tmp = `${path}.part`;
    const max = this.opts.maxBytes;
    let fh: FileHandle | undefined;
    let size = 0;
    return new Writable({
      construct: (cb) => {
        open(tmp, 'w', 0o600).then((h) => {
          fh = h;
          cb();
        }, cb);
      },
      write: (chunk: Buffer, _enc, cb) => {
        size += chunk.length;
        if (size > max) {
          cb(
            new AmpereError('AMPERE_ERR_DIAGNOSTICS_TOO_LARGE', `The upload is larger than ${max} bytes`, {
              requestId: request.id,
              maxBytes: max,
            }),
          );
          return;
        }
        fh!.write(chunk).then(() => cb(), cb);
      },
      final: (cb) => {
        fh!
          .close()
          .then(() => {
            fh = undefined;
            return rename(tmp, path);
          })
          .then(() => this.received(request, name, size, uploadName))
          .then(() => cb(), cb);
      },
      destroy: (err, cb) => {
        const h = fh;
        fh = undefined;
        if (!err) return cb(null);
        (h ? h.close() : Promise.resolve())
          .then(() => unlink(tmp).catch(() => {}))
          .then(() => this.rejected(request, err))
          .finally(() => cb(err));
      },
    });
  }

  private async received(request: DiagnosticsRequestRecord, file: string, size: number, uploadName?: string) {
    const now = this.central.clock.now();
    await this.update(
      request.id,
      { file, fileSize: size, receivedAt: now, ...(request.fileName ? {} : { fileName: uploadName ?? null }) },
      'received',
      `${size} bytes`,
    );
    this.central.events.emit('diagnostics.received', request.chargerId, { requestId: request.id, size });
  }

  private async rejected(request: DiagnosticsRequestRecord, err: Error): Promise<void> {
    await this.update(request.id, { error: err.message }, 'upload refused', err.message).catch(() => {});
    this.central.events.emit('diagnostics.refused', request.chargerId, {
      requestId: request.id,
      message: err.message,
    });
  }

  /**
   * A DiagnosticsStatusNotification belongs to the charger's newest open GetDiagnostics request; a
   * LogStatusNotification names its request (the GetLog requestId).
   */
  private async noteStatus(chargerId: string, status: string, requestId?: number): Promise<void> {
    const r =
      requestId !== undefined
        ? await this.central.store.getDiagnosticsRequest(requestId)
        : (await this.central.store.listDiagnosticsRequests({ chargerId, limit: 20 })).find((x) => x.logType === null);
    if (
      !r ||
      r.chargerId !== chargerId ||
      (requestId === undefined && (CLOSED.has(r.status) || r.status === 'requested'))
    )
      return;
    await this.update(r.id, { status }, status);
  }

  /** Applies a patch and appends to the request's history, one update of a request at a time. */
  private update(id: number, patch: DiagnosticsPatch, what: string, info?: string): Promise<DiagnosticsRequestRecord> {
    const run = async () => {
      const r = await this.central.store.getDiagnosticsRequest(id);
      if (!r) throw new AmpereError('AMPERE_ERR_NOT_FOUND', `No diagnostics request ${id}`, { requestId: id });
      const at = this.central.clock.now();
      const history = [...r.history, { status: what, at: new Date(at).toISOString(), ...(info ? { info } : {}) }];
      return (await this.central.store.updateDiagnosticsRequest(id, { ...patch, history }, at))!;
    };
    const next = (this.chains.get(id) ?? Promise.resolve()).then(run, run);
    this.chains.set(id, next);
    void next.finally(() => {
      if (this.chains.get(id) === next) this.chains.delete(id);
    });
    return next;
  }

  async list(chargerId?: string, limit = 100): Promise<DiagnosticsView[]> {
    const rows = await this.central.store.listDiagnosticsRequests({ ...(chargerId ? { chargerId } : {}), limit });
    return rows.map(diagnosticsView);
  }

  async get(id: number): Promise<DiagnosticsView> {
    const r = await this.central.store.getDiagnosticsRequest(id);
    if (!r) throw new AmpereError('AMPERE_ERR_NOT_FOUND', `No diagnostics request ${id}`, { requestId: id });
    return diagnosticsView(r);
  }

  /** The stored file of a request: its path, the name to offer, its size. */
  async file(id: number): Promise<{ path: string; name: string; size: number }> {
    const r = await this.get(id);
    if (r.file === null) {
      throw new AmpereError('AMPERE_ERR_NOT_FOUND', `Diagnostics request ${id} has no file yet (status ${r.status})`, {
        requestId: id,
        status: r.status,
      });
    }
    const path = join(this.opts.dir, r.file);
    const s = await stat(path).catch(() => null);
    if (!s)
      throw new AmpereError('AMPERE_ERR_NOT_FOUND', `The file of diagnostics request ${id} is gone`, { requestId: id });
    return { path, name: safeName(r.fileName ?? r.file), size: s.size };
  }
}
