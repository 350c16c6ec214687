// Security headers on every answer of the HTTP server, and CORS: off unless origins are allowed
// with --cors-origin. A small onRequest hook instead of helmet/cors plugins: the headers are set
// on the raw response, so they also reach answers that bypass fastify's reply (the SSE stream).
import { TLSSocket } from 'node:tls';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { sendError } from './errors.ts';

/** swagger-ui (/api/docs) loads its own scripts and styles, sets inline styles and data: images. */
export const DOCS_CSP = [
  "default-src 'self'",
  "base-uri 'self'",
  "connect-src 'self'",
  "font-src 'self' data:",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "img-src 'self' data:",
  "object-src 'none'",
  "script-src 'self'",
  "script-src-attr 'none'",
  "style-src 'self' 'unsafe-inline'",
].join('; ');

/**
 * The web console: its own script and style sheet only (no inline script, no inline style
 * attribute; styles set from script through the CSSOM are not style attributes), API calls and
 * the event stream to this origin, never framed.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "base-uri 'none'",
  "connect-src 'self'",
  "font-src 'self'",
  "form-action 'self'",
  "frame-ancestors 'none'",
  "img-src 'self' data:",
  "manifest-src 'self'",
  "object-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
].join('; ');

/** JSON and event streams: nothing may be loaded or framed. */
export const API_CSP = "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'";

export const HSTS = 'max-age=31536000';

const CORS_METHODS = 'GET, POST, PUT, PATCH, DELETE';
const CORS_HEADERS = 'authorization, content-type, last-event-id';
const CORS_EXPOSED = 'www-authenticate, retry-after';

export interface HardeningOptions {
  /** Origins (scheme://host[:port]) whose pages may call the API from a browser; none by default. */
  corsOrigins?: readonly string[];
}

const pathOf = (url: string) => url.split('?')[0]!;

export function securityHeaders(opts: HardeningOptions = {}) {
  const allowed = new Set(opts.corsOrigins ?? []);
  return async (req: FastifyRequest, reply: FastifyReply) => {
    const res = reply.raw;
    const path = pathOf(req.url);
    const api = path === '/api' || path.startsWith('/api/');
    res.setHeader('x-content-type-options', 'nosniff');
    res.setHeader('referrer-policy', 'no-referrer');
    res.setHeader('x-frame-options', 'DENY');
    res.setHeader('cross-origin-opener-policy', 'same-origin');
    if (req.raw.socket instanceof TLSSocket) res.setHeader('strict-transport-security', HSTS);
    if (!api) {
      res.setHeader('content-security-policy', CONSOLE_CSP);
      res.setHeader('permissions-policy', 'camera=(), microphone=(), geolocation=(), payment=()');
      return;
    }
    const docs = path === '/api/docs' || path.startsWith('/api/docs/');
    res.setHeader('content-security-policy', docs ? DOCS_CSP : API_CSP);
    res.setHeader('cache-control', 'no-store');

    const origin = req.headers.origin;
    if (origin === undefined) return;
    res.setHeader('vary', 'Origin');
    const ok = allowed.has(origin);
    if (ok) {
      res.setHeader('access-control-allow-origin', origin);
      res.setHeader('access-control-expose-headers', CORS_EXPOSED);
    }
    // A preflight carries no credentials: it is answered here, before the token check.
    if (req.method === 'OPTIONS' && req.headers['access-control-request-method'] !== undefined) {
      if (!ok) {
        return sendError(reply, 'AMPERE_ERR_FORBIDDEN', `Cross-origin requests from ${origin} are not allowed`, {
          origin,
          hint: 'allow it with --cors-origin',
        });
      }
      res.setHeader('access-control-allow-methods', CORS_METHODS);
      res.setHeader('access-control-allow-headers', CORS_HEADERS);
      res.setHeader('access-control-max-age', '600');
      return reply.code(204).send();
    }
  };
}
