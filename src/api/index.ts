// The operator HTTP API: a fastify instance on the server that also carries the chargers'
// WebSockets. Routes validate with JSON schemas; the same schemas make the OpenAPI document.
import type { RequestListener, Server } from 'node:http';
import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import Fastify, { type FastifyInstance, LogController } from 'fastify';
import type { Logger } from 'pino';
import type { EventLog } from '../central/cluster/index.ts';
import type {
  CentralSystem,
  ChargerDirectory,
  CommandSender,
  ConnectTriggers,
  Diagnostics,
  SmartController,
} from '../central/index.ts';
import type { BackoffOptions } from '../central/security/index.ts';
import type { Validator } from '../ocpp/index.ts';
import { BrowserSessions, operatorAuth } from './auth.ts';
import type { ApiContext } from './context.ts';
import { handleError, sendError } from './errors.ts';
import { securityHeaders } from './hardening.ts';
import { type BridgeApiPort, bridgeRoutes } from './routes/bridge.ts';
import { certificateRoutes } from './routes/certificates.ts';
import { chargerTagRoutes } from './routes/charger-tags.ts';
import { chargerRoutes } from './routes/chargers.ts';
import { commandRoutes } from './routes/commands.ts';
import { configPolicyRoutes } from './routes/config-policies.ts';
import { connectTriggerRoutes } from './routes/connect-triggers.ts';
import { consoleStaticRoutes, fleetRoutes } from './routes/console.ts';
import { diagnosticsRoutes } from './routes/diagnostics.ts';
import { eventRoutes } from './routes/events.ts';
import { type FirmwareApiPort, firmwareRoutes } from './routes/firmware.ts';
import { idTagRoutes } from './routes/id-tags.ts';
import { meterDailyRoutes } from './routes/meter-daily.ts';
import { type NodesPort, nodeRoutes } from './routes/nodes.ts';
import { type OpsPort, opsRoutes } from './routes/ops.ts';
import { rebootWindowRoutes } from './routes/reboot-window.ts';
import { reservationRoutes } from './routes/reservations.ts';
import { securityRoutes } from './routes/security.ts';
import { sessionRoutes } from './routes/session.ts';
import { smartRoutes } from './routes/smart.ts';
import { transactionRoutes } from './routes/transactions.ts';
import { lazySerializers } from './serialization.ts';
import { createValidatorCompiler } from './validation.ts';

export { BrowserSessions, DEFAULT_API_AUTH_BACKOFF, resolveApiToken, TOKEN_FILE } from './auth.ts';
export type { FirmwareApiPort } from './routes/firmware.ts';
export type { OpsPort, ReadinessCheck } from './routes/ops.ts';

export interface ApiOptions {
  central: CentralSystem;
  smart?: SmartController;
  validator: Validator;
  token: string;
  log: Logger;
  /** Builds the HTTP server fastify answers on (the composition root adds the WebSocket upgrade). */
  serverFactory: (handler: RequestListener) => Server;
  version?: string;
  /** Browser origins allowed to call the API (CORS); none by default (--cors-origin). */
  corsOrigins?: readonly string[];
  /** Lock after wrong bearer tokens, per remote address (default DEFAULT_API_AUTH_BACKOFF). */
  authBackoff?: BackoffOptions;
  /** The web console served at /: its built folder (null when missing) and why it is missing. */
  ui?: { dir: string | null; problem?: string };
  /** Where the operator token is kept, shown on the console's sign-in page. */
  tokenFile?: string | null;
  /** The home-automation bridge, for its routes under /api/bridge. */
  bridge?: BridgeApiPort;
  /** Diagnostics requests, their files and the HTTP upload endpoint (src/central/diagnostics.ts). */
  diagnostics?: Diagnostics;
  /** The triggers-on-connect setting (src/central/after-boot.ts). */
  connectTriggers?: ConnectTriggers;
  /** On several nodes: commands, presence and events over every node (default: this node's). */
  commands?: CommandSender;
  directory?: ChargerDirectory;
  eventLog?: EventLog;
  /** The nodes of the deployment, for GET /api/nodes. */
  nodes?: NodesPort;
  /** Firmware images, update jobs, rollouts and the download links (/api/firmware, /firmware/). */
  firmware?: FirmwareApiPort;
  /** /health, /ready, /metrics and the refusal of new requests while draining. */
  ops?: OpsPort;
}

/** A registered route, as the OpenAPI document should list it. */
export interface ApiRoute {
  method: string;
  url: string;
  /** Left out of the OpenAPI document (the document itself, the docs page, fallbacks). */
  hidden: boolean;
}

export interface Api {
  app: FastifyInstance;
  routes: readonly ApiRoute[];
}

export async function createApi(opts: ApiOptions): Promise<Api> {
  const validatorCompiler = createValidatorCompiler();
  const app = Fastify({
    loggerInstance: opts.log.child({ component: 'api' }) as never,
    logController: new LogController({ disableRequestLogging: true }),
    serverFactory: opts.serverFactory as never,
    // SSE streams are long-lived; closing the server must not wait for them (they end in preClose).
    forceCloseConnections: true,
    ajv: { customOptions: { strict: false } },
    // Our compilers from the start: fastify then never loads its default ajv set-up, which this
    // API does not use (start time, issue 14). fastify types this factory for ajv's own compile
    // signature only; it is the same compiler that setValidatorCompiler takes below.
    schemaController: {
      compilersFactory: { buildValidator: (() => validatorCompiler) as never, buildSerializer: lazySerializers() },
    },
    routerOptions: { ignoreTrailingSlash: true },
  }) as unknown as FastifyInstance;
  const routes: ApiRoute[] = [];
  app.addHook('onRoute', (r) => {
    const hidden = Boolean((r.schema as { hide?: boolean } | undefined)?.hide) || !r.url.startsWith('/api/');
    for (const method of [r.method].flat()) {
      routes.push({ method, url: r.url, hidden: hidden || method === 'HEAD' || r.url.startsWith('/api/docs') });
    }
  });
  // First of all hooks: security headers on every answer, CORS preflights before the token check.
  app.addHook('onRequest', securityHeaders({ corsOrigins: opts.corsOrigins ?? [] }));
  app.setValidatorCompiler(validatorCompiler);
  app.setErrorHandler(handleError);
  app.setNotFoundHandler((req, reply) =>
    sendError(reply, 'AMPERE_ERR_NOT_FOUND', `No route ${req.method} ${req.url.split('?')[0]}`),
  );
  // Before the token check: a draining node refuses at once, and probes need no token.
  if (opts.ops) opsRoutes(app, opts.ops);

  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'Ampere operator API',
        version: opts.version ?? '0.1.0',
        description:
          'Operate an OCPP 1.6J fleet: chargers, approvals, id tags, transactions, meter values, commands, configuration, live events. ' +
          'Every route needs `Authorization: Bearer <token>` (AMPERE_API_TOKEN, or the token generated at first start in DATA/api-token). ' +
          'The web console signs in at /api/session and sends its session cookie instead, with the x-ampere-csrf header on changes. ' +
          'Errors are `{ "error": { "code", "message", "details" } }`.',
        license: { name: 'Apache-2.0', identifier: 'Apache-2.0' },
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
      tags: [
        { name: 'chargers' },
        { name: 'commands', description: 'every central→charger OCPP 1.6 message' },
        { name: 'configuration' },
        { name: 'id tags' },
        { name: 'transactions' },
        { name: 'tariff' },
        { name: 'smart charging', description: 'sites, load balancing, price/CO2 planning, composite schedules' },
        {
          name: 'security',
          description: 'security profiles, AuthorizationKey (write-only), profile raise, security events, certificates',
        },
        { name: 'events' },
        { name: 'nodes', description: 'the nodes of a deployment on PostgreSQL, with their heartbeats' },
        { name: 'console session', description: 'sign-in of the web console: session cookie and CSRF token' },
        { name: 'home automation', description: 'MQTT bridge, Home Assistant discovery, webhooks' },
        { name: 'diagnostics', description: 'GetDiagnostics uploads to Ampere (FTP or HTTP) and their files' },
        { name: 'firmware', description: 'images, UpdateFirmware / SignedUpdateFirmware jobs, rollouts' },
      ],
    },
  });
  await app.register(swaggerUi, {
    routePrefix: '/api/docs',
    uiConfig: { persistAuthorization: true, validatorUrl: null },
  });

  const sessions = new BrowserSessions(opts.token, opts.central.clock);
  const auth = operatorAuth(opts.token, {
    clock: opts.central.clock,
    sessions,
    ...(opts.authBackoff ? { backoff: opts.authBackoff } : {}),
    onFailure: (remoteAddress, lockedMs) => {
      app.log.warn({ remoteAddress, lockedMs }, 'operator API: wrong bearer token');
      void opts.central.security.recordEvent(null, 'OperatorApiAuthenticationFailed', {
        remoteAddress,
        ...(lockedMs > 0 ? { lockedMs } : {}),
      });
    },
  });
  app.addHook('onRequest', auth.hook);
  app.addHook('onResponse', async (req, reply) => {
    req.log.debug({ method: req.method, url: req.url.split('?')[0], status: reply.statusCode }, 'api request');
  });

  const ctx: ApiContext = {
    central: opts.central,
    commands: opts.commands ?? opts.central,
    directory: opts.directory ?? opts.central,
    eventLog: opts.eventLog ?? opts.central.events,
    ...(opts.smart ? { smart: opts.smart } : {}),
  };
  chargerRoutes(app, ctx);
  idTagRoutes(app, ctx);
  transactionRoutes(app, ctx);
  commandRoutes(app, ctx, opts.validator);
  smartRoutes(app, ctx);
  securityRoutes(app, ctx);
  certificateRoutes(app, ctx);
  sessionRoutes(app, { auth, sessions, tokenFile: opts.tokenFile ?? null });
  fleetRoutes(app, ctx);
  consoleStaticRoutes(app, {
    uiDir: opts.ui?.dir ?? null,
    ...(opts.ui?.problem ? { uiProblem: opts.ui.problem } : {}),
  });
  configPolicyRoutes(app, ctx);
  chargerTagRoutes(app, ctx);
  reservationRoutes(app, ctx);
  meterDailyRoutes(app, ctx);
  if (opts.bridge) bridgeRoutes(app, opts.bridge);
  if (opts.diagnostics) diagnosticsRoutes(app, ctx, opts.diagnostics);
  if (opts.connectTriggers) connectTriggerRoutes(app, opts.connectTriggers);
  rebootWindowRoutes(app, ctx);
  if (opts.nodes) nodeRoutes(app, opts.nodes);
  if (opts.firmware) firmwareRoutes(app, opts.firmware, ctx);
  const streams = eventRoutes(app, ctx);
  app.addHook('preClose', async () => streams.closeAll());

  app.get('/api/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  return { app, routes };
}
