// The web console's sign-in: the operator token is typed once and traded for an HttpOnly,
// SameSite=Strict session cookie, so no script on the page ever holds the token. The API then
// accepts that cookie like the bearer header (auth.ts); the event stream works from EventSource.
import type { FastifyInstance } from 'fastify';
import {
  type BrowserSessions,
  CSRF_HEADER,
  type OperatorAuth,
  readCookie,
  SESSION_COOKIE,
  SESSION_PATH,
  sameOrigin,
} from '../auth.ts';
import { sendError } from '../errors.ts';
import { errors } from '../schemas.ts';

export interface SessionRouteOptions {
  auth: OperatorAuth;
  sessions: BrowserSessions;
  /** Where the operator token is kept (shown on the sign-in page for a first start), if in a file. */
  tokenFile: string | null;
}

const SESSION = {
  type: 'object',
  properties: {
    signedIn: { type: 'boolean' },
    csrfToken: { type: 'string', description: `send it as the ${CSRF_HEADER} header with every change` },
    expiresAt: { type: 'string', format: 'date-time' },
    tokenFile: { type: ['string', 'null'], description: 'where the server keeps the operator token' },
  },
  required: ['signedIn', 'tokenFile'],
  additionalProperties: false,
} as const;

export function sessionRoutes(app: FastifyInstance, opts: SessionRouteOptions): void {
  const { sessions } = opts;
  const TAG = ['console session'];
  const cookie = (value: string, maxAgeSeconds: number, secure: boolean) =>
    `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; SameSite=Strict; Max-Age=${maxAgeSeconds}${secure ? '; Secure' : ''}`;
  const secureOf = (protocol: string) => protocol === 'https';

  app.get(
    SESSION_PATH,
    {
      schema: {
        tags: TAG,
        summary: 'Whether the browser holds a valid console session cookie, and its CSRF token (no credentials needed)',
        security: [],
        response: { 200: SESSION, ...errors() },
      },
    },
    async (req) => {
      const session = sessions.verify(readCookie(req.headers.cookie, SESSION_COOKIE));
      if (!session) return { signedIn: false, tokenFile: opts.tokenFile };
      return {
        signedIn: true,
        csrfToken: session.csrfToken,
        expiresAt: new Date(session.expiresAt).toISOString(),
        tokenFile: opts.tokenFile,
      };
    },
  );

  app.post<{ Body: { token: string } }>(
    SESSION_PATH,
    {
      schema: {
        tags: TAG,
        summary: 'Sign in with the operator token: sets the HttpOnly, SameSite=Strict session cookie',
        security: [],
        body: {
          type: 'object',
          properties: { token: { type: 'string', minLength: 1, maxLength: 512 } },
          required: ['token'],
          additionalProperties: false,
        },
        response: { 200: SESSION, ...errors(403, 429) },
      },
    },
    async (req, reply) => {
      // Login CSRF: another site must not sign this browser in to a session of its choosing.
      if (!sameOrigin(req)) {
        return sendError(reply, 'AMPERE_ERR_FORBIDDEN', `Sign-in from ${req.headers.origin} is not allowed`);
      }
      if (!opts.auth.signIn(req, reply, req.body.token.trim())) return reply;
      const { cookie: value, session } = sessions.create();
      reply.header('set-cookie', cookie(value, Math.floor(sessions.lifetimeMs / 1000), secureOf(req.protocol)));
      return {
        signedIn: true,
        csrfToken: session.csrfToken,
        expiresAt: new Date(session.expiresAt).toISOString(),
        tokenFile: opts.tokenFile,
      };
    },
  );

  app.delete(
    SESSION_PATH,
    {
      schema: {
        tags: TAG,
        summary: 'Sign out: revokes the session cookie (needs the CSRF header)',
        response: { 204: { type: 'null', description: 'Signed out' }, ...errors() },
      },
    },
    async (req, reply) => {
      const session = sessions.verify(readCookie(req.headers.cookie, SESSION_COOKIE));
      if (session) sessions.revoke(session);
      reply.header('set-cookie', cookie('', 0, secureOf(req.protocol)));
      reply.code(204);
    },
  );
}
