// Operator authentication: one bearer token. It comes from AMPERE_API_TOKEN or is generated at
// first start and kept in the data folder (mode 0600). It is compared in constant time and never
// logged (the logger redacts `authorization` headers as a second line of defence).
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
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

/** The browser's sign-in route: GET says whether the cookie is valid, POST trades the token for one. */
export const SESSION_PATH = '/api/session';
export const SESSION_COOKIE = 'ampere_session';
/** State-changing requests carried by the session cookie must repeat the CSRF token in this header. */
export const CSRF_HEADER = 'x-ampere-csrf';
const SAFE_METHODS = new Set(['GET', 'HEAD', 'OPTIONS']);

export interface BrowserSession {
  nonce: string;
  expiresAt: number;
  csrfToken: string;
}

/**
 * Browser sessions for the web console, stateless: the cookie is `expiry.nonce.mac`, signed with a
 * key derived from the operator token. It survives a restart and dies when the token changes; a
 * sign-out revokes its nonce (kept in memory until the cookie would have expired anyway). The CSRF
 * token is a second MAC over the nonce: the page reads it from GET /api/session (same origin only,
 * no CORS) and sends it as a header, which a cross-site form or image cannot do.
 */
export class BrowserSessions {
  private readonly key: Buffer;
  private readonly revoked = new Map<string, number>();

  constructor(
    token: string,
    private readonly clock: Clock,
    readonly lifetimeMs = 7 * 24 * 3600_000,
  ) {
    this.key = createHmac('sha256', token).update('ampere browser session v1').digest();
  }

  private mac(text: string): string {
    return createHmac('sha256', this.key).update(text).digest('base64url');
  }

  create(): { cookie: string; session: BrowserSession } {
    const expiresAt = this.clock.now() + this.lifetimeMs;
    const nonce = randomBytes(18).toString('base64url');
    const body = `${expiresAt}.${nonce}`;
    return { cookie: `${body}.${this.mac(body)}`, session: this.describe(nonce, expiresAt) };
  }

  private describe(nonce: string, expiresAt: number): BrowserSession {
    return { nonce, expiresAt, csrfToken: this.mac(`csrf.${nonce}`) };
  }

  /** The session a cookie value stands for, or null when it is forged, expired or signed out. */
  verify(cookie: string | undefined): BrowserSession | null {
    const m = /^(\d{1,15})\.([\w-]{1,64})\.([\w-]{43})$/.exec(cookie ?? '');
    if (!m) return null;
    const expiresAt = Number(m[1]);
    if (!safeEqual(m[3]!, this.mac(`${m[1]}.${m[2]}`))) return null;
    const now = this.clock.now();
    if (expiresAt <= now || this.revoked.has(m[2]!)) return null;
    return this.describe(m[2]!, expiresAt);
  }

  checkCsrf(session: BrowserSession, presented: string | undefined): boolean {
    return presented !== undefined && safeEqual(presented, session.csrfToken);
  }

  revoke(session: BrowserSession): void {
    const now = this.clock.now();
    for (const [nonce, until] of this.revoked) if (until <= now) this.revoked.delete(nonce);
    this.revoked.set(session.nonce, session.expiresAt);
  }
}

/** Compares secrets in constant time (of their digests, so lengths do not leak either). */
export function safeEqual(a: string, b: string): boolean {
  return timingSafeEqual(digest(a), digest(b));
}

/** One cookie's value from a Cookie header. */
export function readCookie(header: string | undefined, name: string): string | undefined {
  for (const part of (header ?? '').split(';')) {
    const eq = part.indexOf('=');
    if (eq > 0 && part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/**
 * A browser request from another origin is refused even with a valid cookie (SameSite=Strict
 * already keeps the cookie off cross-site requests; this also covers same-site other ports).
 */
export function sameOrigin(req: FastifyRequest): boolean {
  const origin = req.headers.origin;
  if (origin === undefined) return true;
  const host = req.headers.host;
  return host !== undefined && (origin === `http://${host}` || origin === `https://${host}`);
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
  /** Also accept the web console's session cookie (with its CSRF header on state changes). */
  sessions?: BrowserSessions;
  backoff?: BackoffOptions;
  /** A wrong token was presented (recorded as a security event); never given the token itself. */
  onFailure?: (remoteAddress: string, lockedMs: number) => void;
}

export interface OperatorAuth {
  /** The onRequest hook guarding /api/. */
  hook: (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;
  /**
   * Checks a token typed into the sign-in form, with the same per-address lock as the bearer
   * header. Answers true, or sends the error itself and answers false.
   */
  signIn: (req: FastifyRequest, reply: FastifyReply, token: string) => boolean;
}

/**
 * The operator token check. A wrong token counts against the remote address; after a few, the
 * address is locked (429 with Retry-After, even for the right token, so guessing gains nothing).
 * A missing token is not a guess and only answers 401. Browsers may present the session cookie
 * instead; a state change then also needs the CSRF header and a same-origin Origin.
 */
export function operatorAuth(token: string, opts: BearerAuthOptions): OperatorAuth {
  const expected = digest(token);
  const backoff = new Backoff(opts.backoff ?? DEFAULT_API_AUTH_BACKOFF, opts.clock, 10_000);
  const lockedOut = (address: string, reply: FastifyReply) => {
    const locked = backoff.lockedFor(address);
    if (locked <= 0) return false;
    const seconds = Math.ceil(locked / 1000);
    reply.header('retry-after', String(seconds));
    sendError(reply, 'AMPERE_ERR_RATE_LIMITED', `Too many wrong tokens; retry in ${seconds} s`, {
      retryAfterSeconds: seconds,
    });
    return true;
  };
  const addressOf = (req: FastifyRequest) => req.ip ?? req.socket.remoteAddress ?? '?';
  const hook = async (req: FastifyRequest, reply: FastifyReply) => {
    if (!req.url.startsWith('/api/') || isPublicPath(req.url)) return;
    const path = req.url.split('?')[0]!;
    if (path === SESSION_PATH && req.method !== 'DELETE') return;
    const address = addressOf(req);
    if (lockedOut(address, reply)) return reply;
    const header = req.headers.authorization ?? '';
    const m = /^Bearer\s+(\S+)\s*$/i.exec(header);
    if (m && timingSafeEqual(digest(m[1]!), expected)) {
      backoff.succeed(address);
      return;
    }
    const cookie = m ? undefined : readCookie(req.headers.cookie, SESSION_COOKIE);
    if (cookie !== undefined && opts.sessions) {
      const session = opts.sessions.verify(cookie);
      if (!session) {
        return sendError(
          reply,
          'AMPERE_ERR_UNAUTHORIZED',
          'The console session has expired or was signed out; sign in again',
        );
      }
      if (SAFE_METHODS.has(req.method)) return;
      if (!sameOrigin(req)) {
        return sendError(reply, 'AMPERE_ERR_FORBIDDEN', `Requests from ${req.headers.origin} may not use this session`);
      }
      const presented = req.headers[CSRF_HEADER];
      if (!opts.sessions.checkCsrf(session, typeof presented === 'string' ? presented : undefined)) {
        return sendError(
          reply,
          'AMPERE_ERR_CSRF',
          `A change made with the session cookie needs the ${CSRF_HEADER} header from GET ${SESSION_PATH}`,
        );
      }
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
  const signIn = (req: FastifyRequest, reply: FastifyReply, candidate: string) => {
    const address = addressOf(req);
    if (lockedOut(address, reply)) return false;
    if (timingSafeEqual(digest(candidate), expected)) {
      backoff.succeed(address);
      return true;
    }
    opts.onFailure?.(address, backoff.fail(address));
    sendError(reply, 'AMPERE_ERR_UNAUTHORIZED', 'That is not the operator token');
    return false;
  };
  return { hook, signIn };
}

/** The bearer-token check alone (no browser sessions). */
export function bearerAuth(token: string, opts: BearerAuthOptions) {
  return operatorAuth(token, opts).hook;
}
