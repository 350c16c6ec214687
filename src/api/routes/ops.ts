// Operations endpoints for load balancers, orchestrators and Prometheus, outside /api/:
//   GET /health   the process is alive (liveness): 200 while it runs, draining included
//   GET /ready    it should get traffic (readiness): every readiness check passes within a timeout,
//                 and it is not draining; 503 otherwise
//   GET /metrics  Prometheus text; needs a bearer token (the metrics token or the operator token)
// /health and /ready carry no data and need no token: probes have none.
import type { FastifyInstance } from 'fastify';
import { safeEqual } from '../auth.ts';
import { sendError } from '../errors.ts';

/** One thing that must hold for this node to take traffic; rejects (or throws) with the reason. */
export interface ReadinessCheck {
  name: string;
  check(): Promise<void>;
}

export interface OpsPort {
  /** Checked on every GET /ready, all at once; the composition root fills it (store, node registration, …). */
  readiness: readonly ReadinessCheck[];
  /** How long a readiness check may take before it counts as failed (ms). */
  readyTimeoutMs: number;
  /** True from SIGTERM on: /ready answers 503 and new requests are refused. */
  draining(): boolean;
  metrics: { scrape(): Promise<{ contentType: string; body: string }> };
  /** Bearer tokens that may read /metrics: the operator token, and the scrape-only token when set. */
  metricsTokens: readonly string[];
}

const ALWAYS_OPEN = new Set(['/health', '/metrics']);

export function opsRoutes(app: FastifyInstance, ops: OpsPort): void {
  // While draining, nothing new starts here: a load balancer retries elsewhere. Liveness and
  // metrics still answer, so the drain itself can be watched.
  app.addHook('onRequest', async (req, reply) => {
    if (!ops.draining() || ALWAYS_OPEN.has(req.url.split('?')[0]!)) return;
    reply.header('connection', 'close');
    return sendError(reply, 'AMPERE_ERR_DRAINING', 'The server is shutting down: connect to another node');
  });

  app.get('/health', { schema: { hide: true } }, async () => ({ status: 'live' }));

  app.get('/ready', { schema: { hide: true } }, async (_req, reply) => {
    const results = await Promise.all(ops.readiness.map((c) => runCheck(c, ops.readyTimeoutMs)));
    const checks = Object.fromEntries(ops.readiness.map((c, i) => [c.name, results[i]!]));
    const failed = ops.readiness.filter((_c, i) => results[i] !== 'ok').map((c) => `${c.name}: ${checks[c.name]}`);
    if (failed.length > 0) {
      return sendError(reply, 'AMPERE_ERR_NOT_READY', `Not ready: ${failed.join('; ')}`, { checks });
    }
    return { status: 'ready', checks };
  });

  app.get('/metrics', { schema: { hide: true } }, async (req, reply) => {
    const m = /^Bearer\s+(\S+)$/i.exec(req.headers.authorization ?? '');
    const presented = m?.[1];
    if (presented === undefined || !ops.metricsTokens.some((t) => safeEqual(presented, t))) {
      reply.header('www-authenticate', 'Bearer realm="ampere-metrics"');
      return sendError(
        reply,
        'AMPERE_ERR_UNAUTHORIZED',
        '/metrics needs Authorization: Bearer with the metrics token (--metrics-token) or the operator token',
      );
    }
    const { contentType, body } = await ops.metrics.scrape();
    return reply.type(contentType).send(body);
  });
}

async function runCheck(c: ReadinessCheck, timeoutMs: number): Promise<string> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<string>((resolve) => {
    timer = setTimeout(() => resolve(`no answer within ${timeoutMs} ms`), timeoutMs);
  });
  try {
    return await Promise.race([
      c.check().then(
        () => 'ok',
        (e: unknown) => (e instanceof Error ? e.message : String(e)) || 'failed',
      ),
      timeout,
    ]);
  } finally {
    clearTimeout(timer);
  }
}
