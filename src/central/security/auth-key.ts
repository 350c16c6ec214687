// The AuthorizationKey of security profiles 1 and 2: its format, its salted hash, and the
// constant-time check of a Basic-auth password against that hash.
import { createHmac, randomBytes, scrypt, timingSafeEqual } from 'node:crypto';

/**
 * Security whitepaper A00.FR.205 (and §2.1.3): the key is 16 to 20 bytes, written as 32 to 40 hex
 * digits. Like the OCA test tool, a 32-40 character password of hex digits is read as hex and a
 * 16-20 character one as text, so both the binary and the printable spellings work.
 * Returns the key bytes, or null when the text is neither.
 */
export function authorizationKeyBytes(key: string | Buffer): Buffer | null {
  const raw = typeof key === 'string' ? Buffer.from(key, 'utf8') : key;
  const text = raw.toString('latin1');
  if (raw.length >= 32 && raw.length <= 40 && raw.length % 2 === 0 && /^[0-9a-fA-F]+$/.test(text)) {
    return Buffer.from(text, 'hex');
  }
  if (raw.length >= 16 && raw.length <= 20) return raw;
  return null;
}

export function isValidAuthorizationKey(key: string): boolean {
  // A key is also sent as the value of ChangeConfiguration (CiString500): printable ASCII only, so
  // it survives every charger's configuration store and the Basic header unchanged.
  return /^[\x21-\x7e]+$/.test(key) && authorizationKeyBytes(key) !== null;
}

// scrypt cost: about 30 ms on one core; runs in the libuv pool, not on the event loop.
const N = 16384;
const R = 8;
const P = 1;
const KEYLEN = 32;

function scryptAsync(secret: Buffer, salt: Buffer, n: number, r: number, p: number): Promise<Buffer> {
  return new Promise((resolve, reject) =>
    scrypt(secret, salt, KEYLEN, { N: n, r, p, maxmem: 64 * 1024 * 1024 }, (err, out) =>
      err ? reject(err) : resolve(out),
    ),
  );
}

/** `scrypt$N$r$p$salt$hash` (base64): the only form in which a key is stored (A01.FR.08). */
export async function hashAuthorizationKey(key: string): Promise<string> {
  const bytes = authorizationKeyBytes(key);
  if (!bytes) throw new TypeError('An AuthorizationKey has 16 to 20 characters, or 32 to 40 hex digits');
  const salt = randomBytes(16);
  const hash = await scryptAsync(bytes, salt, N, R, P);
  return `scrypt$${N}$${R}$${P}$${salt.toString('base64')}$${hash.toString('base64')}`;
}

/** Checks a password (raw bytes from the Basic header) against a stored hash, in constant time (A01.FR.09). */
export async function verifyAuthorizationKey(password: Buffer, stored: string): Promise<boolean> {
  const parts = stored.split('$');
  if (parts.length !== 6 || parts[0] !== 'scrypt') return false;
  const [, n, r, p, salt, hash] = parts as [string, string, string, string, string, string];
  const expected = Buffer.from(hash, 'base64');
  const bytes = authorizationKeyBytes(password);
  // A password of the wrong length still costs one scrypt, so timing tells nothing about the format.
  const actual = await scryptAsync(bytes ?? password, Buffer.from(salt, 'base64'), Number(n), Number(r), Number(p));
  return bytes !== null && actual.length === expected.length && timingSafeEqual(actual, expected);
}

/**
 * Remembers successful checks for the life of the process, so a fleet reconnecting at once costs
 * one HMAC per charger instead of one scrypt. Keyed by the stored hash: a new key invalidates it.
 */
export class VerifiedKeyCache {
  private readonly secret = randomBytes(32);
  private readonly entries = new Map<string, { stored: string; digest: Buffer }>();

  constructor(private readonly max = 10_000) {}

  private digest(password: Buffer): Buffer {
    return createHmac('sha256', this.secret).update(password).digest();
  }

  has(chargerId: string, stored: string, password: Buffer): boolean {
    const e = this.entries.get(chargerId);
    if (!e || e.stored !== stored) return false;
    return timingSafeEqual(e.digest, this.digest(password));
  }

  add(chargerId: string, stored: string, password: Buffer): void {
    this.entries.delete(chargerId);
    this.entries.set(chargerId, { stored, digest: this.digest(password) });
    if (this.entries.size > this.max) this.entries.delete(this.entries.keys().next().value as string);
  }

  forget(chargerId: string): void {
    this.entries.delete(chargerId);
  }
}

/** Parses `Authorization: Basic …` into raw user and password bytes (RFC 7617). */
export function parseBasicAuth(header: string | undefined): { user: string; password: Buffer } | null {
  if (!header) return null;
  const m = /^Basic[ ]+([A-Za-z0-9+/=]+)\s*$/i.exec(header);
  if (!m) return null;
  const decoded = Buffer.from(m[1]!, 'base64');
  const colon = decoded.indexOf(0x3a);
  if (colon < 0) return null;
  return { user: decoded.subarray(0, colon).toString('utf8'), password: decoded.subarray(colon + 1) };
}
