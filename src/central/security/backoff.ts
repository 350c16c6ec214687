// Brute-force backoff on failed Basic auth, per charger id and per remote address. After a few
// failures the key (id or address) is locked for a time that doubles with every further failure;
// while locked, attempts are refused without checking the password (no scrypt for an attacker).
import type { Clock } from '../ports.ts';

export interface BackoffOptions {
  /** Failures allowed before the first lock. */
  freeFailures: number;
  /** First lock (ms); doubles per further failure. */
  baseLockMs: number;
  maxLockMs: number;
  /** A key with no failure for this long starts over (ms). */
  forgetAfterMs: number;
}

export const DEFAULT_ID_BACKOFF: BackoffOptions = {
  freeFailures: 5,
  baseLockMs: 2_000,
  maxLockMs: 15 * 60_000,
  forgetAfterMs: 30 * 60_000,
};
/** An address may hold many chargers (NAT): more room before it is locked. */
export const DEFAULT_ADDRESS_BACKOFF: BackoffOptions = {
  freeFailures: 20,
  baseLockMs: 2_000,
  maxLockMs: 15 * 60_000,
  forgetAfterMs: 30 * 60_000,
};

interface Entry {
  failures: number;
  lastAt: number;
  lockedUntil: number;
}

export class Backoff {
  private readonly entries = new Map<string, Entry>();

  constructor(
    private readonly opts: BackoffOptions,
    private readonly clock: Clock,
    private readonly maxEntries = 100_000,
  ) {}

  /** ms until the key may try again; 0 when it may try now. */
  lockedFor(key: string): number {
    const e = this.entries.get(key);
    if (!e) return 0;
    return Math.max(0, e.lockedUntil - this.clock.now());
  }

  /** Records a failure; returns the lock (ms) it started, 0 if none. */
  fail(key: string): number {
    const now = this.clock.now();
    let e = this.entries.get(key);
    if (!e || now - e.lastAt > this.opts.forgetAfterMs) {
      e = { failures: 0, lastAt: now, lockedUntil: 0 };
      this.entries.delete(key);
      this.entries.set(key, e);
      // Bounded memory under a spray of ids or addresses: the oldest entries go first.
      if (this.entries.size > this.maxEntries) this.entries.delete(this.entries.keys().next().value as string);
    }
    e.failures++;
    e.lastAt = now;
    const over = e.failures - this.opts.freeFailures;
    if (over <= 0) return 0;
    const lock = Math.min(this.opts.maxLockMs, this.opts.baseLockMs * 2 ** Math.min(over - 1, 30));
    e.lockedUntil = now + lock;
    return lock;
  }

  succeed(key: string): void {
    this.entries.delete(key);
  }
}
