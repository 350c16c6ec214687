// Operator authentication: one bearer token. It comes from AMPERE_API_TOKEN or is generated at
// first start and kept in the data folder (mode 0600). It is compared in constant time and never
// logged (the logger redacts `authorization` headers as a second line of defence).
import { createHash, randomBytes, timingSafeEqual } from 'node:crypto';
import { chmodSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { FastifyReply, FastifyRequest } from 'fastify';
import type { Clock } from '../central/index.ts';
import { Backoff, type BackoffOptions } from '../central/security/index.ts';
import { sendError } from './errors.ts';

export const TOKEN_FILE = 'api-token';

export interface ResolvedToken {
  token: string;
  /** Where it came from; `generated` means this start created it (print it once). */
  source: 'config' | 'file' | 'generated';
  file: string | null;
}

/** The configured token, else the one stored in `dataDir`, else a new one written there. */
export function resolveApiToken(dataDir: string, configured: string | undefined): ResolvedToken {
  if (configured !== undefined && configured !== '') return { token: configured, source: 'config', file: null };
  const file = join(dataDir, TOKEN_FILE);
  try {
    const token = readFileSync(file, 'utf8').trim();
    if (token !== '') {
      // Someone may have copied the folder with looser permissions.
      if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
      return { token, source: 'file', file };
    }
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code !== 'ENOENT') throw e;
  }
  const token = randomBytes(32).toString('base64url');
  writeFileSync(file, `${token}\n`, { mode: 0o600, flag: 'w' });
  chmodSync(file, 0o600);
  return { token, source: 'generated', file };
}

const digest = (s: string) => createHash('sha256').update(s).digest();

/** Paths under /api/ readable without a token: the API's own description (no data, no secret). */
export function isPublicPath(url: string): boolean {
  const path = url.split('?')[0]!;
  return path === '/api/openapi.json' || path === '/api/docs' || path.startsWith('/api/docs/');
}

/** Wrong tokens per remote address: 10 free, then a lock from 1 s doubling up to 15 min. */
export const DEFAULT_API_AUTH_BACKOFF: BackoffOptions = {
  freeFailures: 10,
  baseLockMs: 1_000,
  maxLockMs: 15 * 60_000,
  forgetAfterMs: 30 * 60_000,
};

export interface BearerAuthOptions {
  clock: Clock;
  backoff?: BackoffOptions;
  /** A wrong token was presented (recorded as a security event); never given the token itself. */
  onFailure?: (remoteAddress: string, lockedMs: number) => void;
}

/**
 * The operator token check. A wrong token counts against the remote address; after a few, the
 * address is locked (429 with Retry-After, even for the right token, so guessing gains nothing).
 * A missing token is not a guess and only answers 401.
 */
export function bearerAuth(token: string, opts: BearerAuthOptions) {
  const expected = digest(token);
  const backoff = new Backoff(opts.backoff ?? DEFAULT_API_AUTH_BACKOFF, opts.clock, 10_000);
  return async (req: FastifyRequest, reply: FastifyReply) => {
    if (!req.url.startsWith('/api/') || isPublicPath(req.url)) return;
    const address = req.ip ?? req.socket.remoteAddress ?? '?';
    const locked = backoff.lockedFor(address);
    if (locked > 0) {
      const seconds = Math.ceil(locked / 1000);
      reply.header('retry-after', String(seconds));
      return sendError(reply, 'AMPERE_ERR_RATE_LIMITED', `Too many wrong tokens; retry in ${seconds} s`, {
        retryAfterSeconds: seconds,
      });
    }
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (m && timingSafeEqual(digest(m[1]!), expected)) {
      backoff.succeed(address);
      return;
    }
    if (m) opts.onFailure?.(address, backoff.fail(address));
    reply.header('www-authenticate', 'Bearer realm="ampere"');
    return sendError(
      reply,
      'AMPERE_ERR_UNAUTHORIZED',
      m ? 'The bearer token is wrong' : 'This route needs Authorization: Bearer <token>',
    );
  };
}
