// Firmware images: an upload is streamed to DATA/firmware (hashed with SHA-256 on the way, never
// held whole in memory, cut off past the size limit) and recorded in the store; chargers fetch
// it from Ampere's own HTTP port at a link signed with HMAC-SHA256 over the image id and an
// expiry, so a charger needs no operator token and a link cannot be altered or reused late.
import {
  createHash,
  createHmac,
  createVerify,
  randomBytes,
  randomUUID,
  timingSafeEqual,
  X509Certificate,
} from 'node:crypto';
import { createReadStream, createWriteStream, existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { rename, rm, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { type Readable, Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { AmpereError } from '../errors.ts';
import type { FirmwareImageRecord, FirmwareStore } from '../store/firmware.ts';

/** The secret the download links are signed with, kept in the data folder (created once). */
export const FIRMWARE_SECRET_FILE = 'firmware-url-secret';

/** Reads DATA/firmware-url-secret, creating it (32 random bytes, mode 0600) on first use. */
export function loadFirmwareSecret(dataDir: string): Buffer {
  const file = join(dataDir, FIRMWARE_SECRET_FILE);
  if (!existsSync(file)) {
    mkdirSync(dataDir, { recursive: true });
    writeFileSync(file, randomBytes(32).toString('base64url'), { mode: 0o600, flag: 'wx' });
  }
  return Buffer.from(readFileSync(file, 'utf8').trim(), 'utf8');
}

export interface ImageUpload {
  name: string;
  version: string;
  signingCertificate?: string | null;
  signature?: string | null;
}

/** A file name a charger can take at the end of a URL: letters, digits, dot, dash, underscore. */
const SAFE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/;

export class FirmwareImages {
  readonly dir: string;

  constructor(
    private readonly store: FirmwareStore,
    dataDir: string,
    private readonly secret: Buffer,
    private readonly now: () => number,
    /** Largest image accepted, in bytes. */
    readonly maxBytes: number,
  ) {
    this.dir = join(dataDir, 'firmware');
  }

  /**
   * Streams `body` to DATA/firmware/<id>, computing its SHA-256 and size as it goes; past
   * maxBytes the upload stops with AMPERE_ERR_PAYLOAD_TOO_LARGE and nothing is kept.
   */
  async save(body: Readable, meta: ImageUpload): Promise<FirmwareImageRecord> {
    if (!SAFE_NAME.test(meta.name)) {
      body.resume();
      throw new AmpereError(
        'AMPERE_ERR_BAD_REQUEST',
        'name: 1-128 characters of letters, digits, ".", "-", "_" (it ends the URL a charger downloads)',
        { field: 'query.name' },
      );
    }
    mkdirSync(this.dir, { recursive: true });
    const id = randomUUID();
    const tmp = join(this.dir, `${id}.part`);
    const hash = createHash('sha256');
    let size = 0;
    const max = this.maxBytes;
    const meter = new Transform({
      transform(chunk: Buffer, _enc, done) {
        size += chunk.length;
        if (size > max) {
          done(new AmpereError('AMPERE_ERR_PAYLOAD_TOO_LARGE', `The image is larger than the limit of ${max} bytes`));
          return;
        }
        hash.update(chunk);
        done(null, chunk);
      },
    });
    try {
      await pipeline(body, meter, createWriteStream(tmp, { mode: 0o600 }));
      if (size === 0) throw new AmpereError('AMPERE_ERR_BAD_REQUEST', 'The image is empty', { field: 'body' });
      const file = join('firmware', id);
      const record: Omit<FirmwareImageRecord, 'createdAt'> = {
        id,
        name: meta.name,
        version: meta.version,
        size,
        sha256: hash.digest('hex'),
        file,
        signingCertificate: null,
        signature: null,
      };
      if (meta.signature || meta.signingCertificate) {
        await this.verifySignature(tmp, meta.signingCertificate ?? null, meta.signature ?? null);
        record.signingCertificate = meta.signingCertificate ?? null;
        record.signature = meta.signature ?? null;
      }
      await rename(tmp, join(this.dir, id));
      return await this.store.putImage(record, this.now());
    } catch (e) {
      // The rest of a refused body is drained so the answer reaches the client.
      body.resume();
      await rm(tmp, { force: true });
      throw e;
    }
  }

  /**
   * Security whitepaper, secure firmware update: the signature is made over the firmware file
   * with the key of the signing certificate. Checked here so a wrong pair is refused at once
   * rather than by every charger of a rollout.
   */
  async verifySignature(path: string, certificate: string | null, signature: string | null): Promise<void> {
    const bad = (msg: string) => new AmpereError('AMPERE_ERR_FIRMWARE_SIGNATURE', msg);
    if (!certificate || !signature) throw bad('A signed image needs both signingCertificate and signature');
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(certificate);
    } catch (e) {
      throw bad(`signingCertificate is not a PEM X.509 certificate: ${(e as Error).message}`);
    }
    const verifier = createVerify('sha256');
    await pipeline(createReadStream(path), verifier);
    let ok = false;
    try {
      ok = verifier.verify(cert.publicKey, Buffer.from(signature, 'base64'));
    } catch {
      ok = false;
    }
    if (!ok) throw bad(`The signature does not verify over the image with the key of "${cert.subject}"`);
  }

  /** Adds (or replaces) the signing certificate and signature of a stored image, after checking them. */
  async sign(id: string, signingCertificate: string, signature: string): Promise<FirmwareImageRecord> {
    const img = await this.get(id);
    await this.verifySignature(this.path(img), signingCertificate, signature);
    return this.store.putImage({ ...img, signingCertificate, signature }, this.now());
  }

  async get(id: string): Promise<FirmwareImageRecord> {
    const img = await this.store.getImage(id);
    if (!img) throw new AmpereError('AMPERE_ERR_NOT_FOUND', `No firmware image "${id}"`, { imageId: id });
    return img;
  }

  path(img: FirmwareImageRecord): string {
    return join(this.dir, img.id);
  }

  /** Removes the record and the file. */
  async remove(id: string): Promise<void> {
    const img = await this.get(id);
    await this.store.deleteImage(id);
    await rm(this.path(img), { force: true });
  }

  // ---------------------------------------------------------------- signed download links

  #mac(imageId: string, expiresS: number): string {
    return createHmac('sha256', this.secret).update(`${imageId}\n${expiresS}`).digest('base64url');
  }

  /** The path of a download link valid until `expiresAtMs`: /firmware/<id>/<expiry>/<mac>/<name>. */
  linkPath(img: FirmwareImageRecord, expiresAtMs: number): string {
    const expiresS = Math.ceil(expiresAtMs / 1000);
    return `/firmware/${img.id}/${expiresS}/${this.#mac(img.id, expiresS)}/${encodeURIComponent(img.name)}`;
  }

  /**
   * The image a download link names, once its MAC and expiry are checked. The path is all a
   * charger gets (no query string: several chargers drop or mangle one).
   */
  async resolveLink(
    imageId: string,
    expires: string,
    mac: string,
  ): Promise<{ img: FirmwareImageRecord; path: string }> {
    const expiresS = /^\d{1,12}$/.test(expires) ? Number(expires) : Number.NaN;
    const want = Buffer.from(this.#mac(imageId, expiresS));
    const got = Buffer.from(mac);
    if (!Number.isFinite(expiresS) || want.length !== got.length || !timingSafeEqual(want, got)) {
      throw new AmpereError(
        'AMPERE_ERR_FIRMWARE_URL_INVALID',
        'This firmware link was not signed by this server (altered or made with another secret)',
      );
    }
    if (expiresS * 1000 <= this.now()) {
      throw new AmpereError(
        'AMPERE_ERR_FIRMWARE_URL_EXPIRED',
        `This firmware link expired at ${new Date(expiresS * 1000).toISOString()}; start the update again for a new link`,
        { expiredAt: new Date(expiresS * 1000).toISOString() },
      );
    }
    const img = await this.get(imageId);
    const path = this.path(img);
    await stat(path).catch(() => {
      throw new AmpereError('AMPERE_ERR_NOT_FOUND', `The file of firmware image "${imageId}" is missing`);
    });
    return { img, path };
  }
}
