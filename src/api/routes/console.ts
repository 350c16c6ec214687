// The web console's server side: its static files at / (built by src/ui into dist/ui), and the
// fleet overview it pages through: chargers with their connectors and the session on each,
// filtered and cut into pages on the server so a list of 10 000 chargers stays light.

import { createHash } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import type { FastifyInstance } from 'fastify';
import { transactionView } from '../../central/analytics.ts';
import type { ChargerQuery, ChargerRecord, Registration, TransactionRecord } from '../../store/types.ts';
import { type ApiContext, chargerView, defined } from '../context.ts';
import { sendError } from '../errors.ts';
import { CHARGER, errors, PAGE_QUERY, page, query, REGISTRATION } from '../schemas.ts';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.json': 'application/json',
};

interface Asset {
  body: Buffer;
  type: string;
  etag: string;
}

function loadAssets(dir: string): Map<string, Asset> {
  const out = new Map<string, Asset>();
  const walk = (sub: string) => {
    for (const e of readdirSync(join(dir, sub), { withFileTypes: true })) {
      const rel = sub === '' ? e.name : `${sub}/${e.name}`;
      if (e.isDirectory()) walk(rel);
      else if (TYPES[extname(e.name)] !== undefined) {
        const body = readFileSync(join(dir, rel));
        const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 22)}"`;
        out.set(rel, { body, type: TYPES[extname(e.name)]!, etag });
      }
    }
  };
  walk('');
  return out;
}

export interface ConsoleOptions {
  /** The built console (index.html and assets/), or null when it could not be built. */
  uiDir: string | null;
  /** Why it is missing, said on GET /. */
  uiProblem?: string;
}

/** Serves the console's files: `/` is the page, `/assets/…` its script and style sheet. */
export function consoleStaticRoutes(app: FastifyInstance, opts: ConsoleOptions): void {
  let assets: Map<string, Asset> | null = null;
  let problem = opts.uiProblem ?? 'the web console was not built';
  if (opts.uiDir !== null) {
    try {
      assets = loadAssets(opts.uiDir);
      if (!assets.has('index.html')) assets = null;
    } catch (e) {
      problem = (e as Error).message;
    }
  }
  const serve =
    (name: string) => async (req: import('fastify').FastifyRequest, reply: import('fastify').FastifyReply) => {
      const a = assets?.get(name);
      if (!assets) {
        return sendError(reply, 'AMPERE_ERR_UI_NOT_BUILT', `The web console is not available: ${problem}`, {
          hint: 'run npm run build:ui',
        });
      }
      if (!a) return sendError(reply, 'AMPERE_ERR_NOT_FOUND', `No file ${name}`);
      // The page revalidates each time (it names the current bundle); assets carry a content hash.
      reply.header('cache-control', name === 'index.html' ? 'no-cache' : 'public, max-age=31536000, immutable');
      reply.header('etag', a.etag);
      if (req.headers['if-none-match'] === a.etag) return reply.code(304).send();
      return reply.type(a.type).send(a.body);
    };
  const hide = { schema: { hide: true } };
  app.get('/', hide, serve('index.html'));
  app.get<{ Params: { file: string } }>('/assets/:file', hide, (req, reply) =>
    serve(`assets/${req.params.file}`)(req, reply),
  );
}

const FLEET_CONNECTOR = {
  type: 'object',
  properties: {
    connectorId: { type: 'integer' },
    status: { type: 'string' },
    errorCode: { type: 'string' },
    updatedAt: { type: 'string', format: 'date-time' },
  },
  required: ['connectorId', 'status', 'errorCode'],
  additionalProperties: false,
} as const;

const FLEET_SESSION = {
  type: ['object', 'null'],
  properties: {
    id: { type: 'integer' },
    connectorId: { type: 'integer' },
    idTag: { type: 'string' },
    startedAt: { type: 'string', format: 'date-time' },
    energyWh: { type: ['number', 'null'] },
    powerW: { type: ['number', 'null'] },
  },
  required: ['id', 'connectorId', 'idTag', 'startedAt', 'energyWh', 'powerW'],
  additionalProperties: false,
} as const;

const FLEET_ITEM = {
  ...CHARGER,
  properties: {
    ...(CHARGER.properties as Record<string, unknown>),
    connectors: { type: 'array', items: FLEET_CONNECTOR },
    sessions: { type: 'array', items: FLEET_SESSION },
  },
  required: [...(CHARGER.required as string[]), 'connectors', 'sessions'],
};

const SEARCH_REUSE_MS = 2_000;

interface FleetQuery {
  q?: string;
  connected?: boolean;
  registration?: Registration;
  limit?: number;
  offset?: number;
}

export function fleetRoutes(app: FastifyInstance, { central, directory }: ApiContext): void {
  const store = central.store;

  /**
   * Every charger the filters select, read in store pages (search runs over all of them). Kept for
   * two seconds: someone typing a search asks again at each key, and the rows shown are fetched
   * fresh for each page anyway.
   */
  let recent: { key: string; at: number; items: ChargerRecord[] } | null = null;
  async function allChargers(q: ChargerQuery): Promise<ChargerRecord[]> {
    const key = JSON.stringify(q);
    const now = central.clock.now();
    if (recent && recent.key === key && now - recent.at < SEARCH_REUSE_MS) return recent.items;
    const out: ChargerRecord[] = [];
    for (let offset = 0; ; offset += 10_000) {
      const p = await store.listChargers({ ...q, limit: 10_000, offset });
      out.push(...p.items);
      if (p.items.length < 10_000) break;
    }
    recent = { key, at: now, items: out };
    return out;
  }

  app.get<{ Querystring: FleetQuery }>(
    '/api/fleet',
    {
      schema: {
        tags: ['chargers'],
        summary:
          'The fleet overview (the web console pages through it): chargers with connectors and active sessions, searchable',
        querystring: query({
          q: { type: 'string', maxLength: 100, description: 'part of the id, vendor, model or firmware (any case)' },
          connected: { type: 'boolean' },
          registration: REGISTRATION,
          ...PAGE_QUERY,
        }),
        response: { 200: page(FLEET_ITEM), ...errors() },
      },
    },
    async (req) => {
      const { q, limit = 100, offset = 0, ...filters } = req.query;
      const needle = q?.trim().toLowerCase() ?? '';
      let items: ChargerRecord[];
      let total: number;
      if (needle === '') {
        const p = await store.listChargers(defined({ ...filters, limit, offset }));
        items = p.items;
        total = p.total;
      } else {
        const hits = (await allChargers(defined({ ...filters }))).filter((c) =>
          [c.id, c.vendor, c.model, c.firmwareVersion].some((v) => v?.toLowerCase().includes(needle)),
        );
        total = hits.length;
        // The rows shown are read again: the list behind the search may be two seconds old.
        const fresh = await Promise.all(hits.slice(offset, offset + limit).map((c) => store.getCharger(c.id)));
        items = fresh.filter((c): c is ChargerRecord => c !== null);
      }
      const now = central.clock.now();
      const out = await Promise.all(
        items.map(async (c) => {
          const [connectors, active] = await Promise.all([
            store.listConnectors(c.id),
            store.listTransactions({ chargerId: c.id, active: true, limit: 10 }),
          ]);
          const sessions = await Promise.all(active.items.map((tx) => sessionSummary(tx, now)));
          return {
            ...chargerView(directory, c),
            connectors: connectors.map(({ connectorId, status, errorCode, updatedAt }) => ({
              connectorId,
              status,
              errorCode,
              updatedAt,
            })),
            sessions,
          };
        }),
      );
      return { items: out, total, limit, offset };
    },
  );

  async function sessionSummary(tx: TransactionRecord, now: number) {
    const v = await transactionView(store, tx, { now, tariff: null });
    return {
      id: tx.id,
      connectorId: tx.connectorId,
      idTag: tx.idTag,
      startedAt: tx.startedAt,
      energyWh: v.energyWh,
      powerW: v.live?.powerW ?? null,
    };
  }
}
