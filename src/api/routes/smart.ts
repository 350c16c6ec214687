// Smart charging: sites with their grid limit and chargers, live building load, price/CO2 series,
// per-session plans ("fast charge" included), composite schedules and what each charger can do.
import { parse } from 'csv-parse/sync';
import type { FastifyInstance } from 'fastify';
import type { SiteConfig, TariffSeries } from '../../central/smart/model.ts';
import { AmpereError } from '../../errors.ts';
import type { ApiContext } from '../context.ts';
import { chargerOr404 } from '../context.ts';
import { CHARGER_ID_PARAMS, errors, query } from '../schemas.ts';

const TAG = ['smart charging'];
const loose = { type: 'object', additionalProperties: true } as const;
const num = { type: 'number' } as const;
const objective = {
  oneOf: [
    { type: 'string', enum: ['cheapest', 'greenest'] },
    { type: 'object', properties: { price: num, co2: num }, required: ['price', 'co2'], additionalProperties: false },
  ],
} as const;
const phase = { type: 'integer', enum: [1, 2, 3] } as const;

const SITE_CHARGER = {
  type: 'object',
  properties: {
    chargerId: { type: 'string', minLength: 1, maxLength: 48 },
    phases: { type: 'integer', enum: [1, 3] },
    phaseMapping: {
      type: 'array',
      items: phase,
      minItems: 1,
      maxItems: 3,
      description: 'grid phase of each charger phase',
    },
    rotation: { type: 'string', enum: ['RST', 'RTS', 'SRT', 'STR', 'TRS', 'TSR'] },
    priority: { type: 'integer', description: 'higher first' },
    maxCurrentA: { type: 'number', exclusiveMinimum: 0 },
    minCurrentA: { type: 'number', minimum: 0 },
    fallbackCurrentA: { type: 'number', minimum: 0 },
  },
  required: ['chargerId', 'phases'],
  additionalProperties: false,
} as const;

const SITE_BODY = {
  type: 'object',
  properties: {
    name: { type: 'string', maxLength: 200 },
    gridLimitA: { type: 'number', exclusiveMinimum: 0, description: 'grid connection limit, A per phase' },
    gridLimitKw: { type: 'number', exclusiveMinimum: 0, description: 'grid connection limit, kW' },
    voltage: { type: 'number', exclusiveMinimum: 0 },
    algorithm: { type: 'string', enum: ['UNIFORM', 'OPTIMIZED', 'SUSPENDABLE'] },
    fallbackCurrentA: { type: 'number', minimum: 0 },
    minCurrentA: { type: 'number', minimum: 0 },
    phaseSwitching: { type: 'boolean' },
    idleCurrentA: {
      type: 'number',
      minimum: 0,
      description:
        'standing limit reserved for a free connector until its car is balanced (default minCurrentA or 6 A)',
    },
    timeZone: { type: 'string', description: 'IANA zone for HH:MM departure times of id tag plans' },
    objective,
    chargers: { type: 'array', items: SITE_CHARGER },
  },
  required: ['chargers'],
  additionalProperties: false,
} as const;

const SITE_PARAMS = {
  type: 'object',
  properties: { siteId: { type: 'string', pattern: '^[\\w.-]{1,64}$' } },
  required: ['siteId'],
} as const;
const TX_PARAMS = { type: 'object', properties: { id: { type: 'integer' } }, required: ['id'] } as const;

const SERIES = {
  type: 'object',
  properties: {
    start: { type: 'string', format: 'date-time', description: 'start of the first slot' },
    slotMinutes: { type: 'integer', enum: [15, 30, 60] },
    price: { type: 'array', items: num, minItems: 1, maxItems: 10000, description: 'price per kWh per slot' },
    co2: { type: 'array', items: num, maxItems: 10000, description: 'g CO2 per kWh per slot' },
  },
  required: ['start', 'slotMinutes', 'price'],
  additionalProperties: false,
} as const;

const PLAN = {
  type: 'object',
  properties: {
    departure: {
      anyOf: [
        { type: 'string', format: 'date-time' },
        { type: 'string', pattern: '^([01]?\\d|2[0-3]):[0-5]\\d$' },
      ],
      description: "ISO date-time, or HH:MM: the next such time in the site's time zone",
    },
    energyKWh: { type: 'number', exclusiveMinimum: 0 },
    objective,
    fast: { type: 'boolean', description: 'charge now, ignoring the plan' },
  },
  additionalProperties: false,
} as const;

function smartOf(ctx: ApiContext) {
  const smart = ctx.smart;
  if (!smart) throw new AmpereError('AMPERE_ERR_CONFLICT', 'Smart charging is not running');
  return smart;
}

/**
 * CSV price series: a header with `start` (ISO time of the slot) and `price`, optionally `co2`;
 * slots must be evenly spaced (15, 30 or 60 minutes).
 */
export function parseSeriesCsv(text: string): TariffSeries {
  let rows: Record<string, string>[];
  try {
    rows = parse(text, { columns: true, skip_empty_lines: true, trim: true, bom: true, comment: '#' });
  } catch (e) {
    throw new AmpereError('AMPERE_ERR_BAD_REQUEST', `CSV: ${(e as Error).message}`, { field: 'body' });
  }
  if (rows.length === 0) throw new AmpereError('AMPERE_ERR_BAD_REQUEST', 'CSV: no rows', { field: 'body' });
  const starts: number[] = [];
  const price: number[] = [];
  const co2: number[] = [];
  rows.forEach((r, i) => {
    const line = i + 2;
    const t = Date.parse(r.start ?? '');
    const p = Number(r.price);
    if (Number.isNaN(t))
      throw new AmpereError('AMPERE_ERR_BAD_REQUEST', `CSV line ${line}: start is not a time`, {
        field: 'body.start',
        line,
      });
    if (r.price === undefined || r.price === '' || !Number.isFinite(p)) {
      throw new AmpereError('AMPERE_ERR_BAD_REQUEST', `CSV line ${line}: price is not a number`, {
        field: 'body.price',
        line,
      });
    }
    starts.push(t);
    price.push(p);
    if (r.co2 !== undefined && r.co2 !== '') co2.push(Number(r.co2));
  });
  const step = starts.length > 1 ? (starts[1]! - starts[0]!) / 60_000 : 60;
  if (![15, 30, 60].includes(step)) {
    throw new AmpereError('AMPERE_ERR_BAD_REQUEST', `CSV: slots must be 15, 30 or 60 minutes apart (got ${step})`, {
      field: 'body.start',
    });
  }
  starts.forEach((t, i) => {
    if (i > 0 && t - starts[i - 1]! !== step * 60_000) {
      throw new AmpereError('AMPERE_ERR_BAD_REQUEST', `CSV line ${i + 2}: slots are not evenly spaced`, {
        field: 'body.start',
        line: i + 2,
      });
    }
  });
  if (co2.length > 0 && co2.length !== price.length) {
    throw new AmpereError('AMPERE_ERR_BAD_REQUEST', 'CSV: co2 must be given on every line or none', {
      field: 'body.co2',
    });
  }
  return { start: new Date(starts[0]!).toISOString(), slotMinutes: step, price, ...(co2.length ? { co2 } : {}) };
}

export function smartRoutes(app: FastifyInstance, ctx: ApiContext): void {
  app.get(
    '/api/sites',
    { schema: { tags: TAG, summary: 'List sites', response: { 200: { type: 'array', items: loose }, ...errors() } } },
    async () => smartOf(ctx).listSites(),
  );

  app.get<{ Params: { siteId: string } }>(
    '/api/sites/:siteId',
    { schema: { tags: TAG, summary: 'A site', params: SITE_PARAMS, response: { 200: loose, ...errors(404) } } },
    async (req) => smartOf(ctx).getSite(req.params.siteId),
  );

  app.put<{ Params: { siteId: string }; Body: Omit<SiteConfig, 'id'> }>(
    '/api/sites/:siteId',
    {
      schema: {
        tags: TAG,
        summary: 'Create or replace a site: grid limit, balancing algorithm, chargers with phase mapping and priority',
        params: SITE_PARAMS,
        body: SITE_BODY,
        response: { 200: loose, ...errors(409) },
      },
    },
    async (req) => {
      // A charger may be put in a site before it first connects (installed, not yet online): it is
      // counted as never connected until then. Said in the answer, in case the id is a typo.
      const warnings: string[] = [];
      for (const c of req.body.chargers)
        if (!(await ctx.central.store.getCharger(c.chargerId)))
          warnings.push(`charger ${c.chargerId} has never connected: nothing is counted for it until it does`);
      const site = await smartOf(ctx).putSite({ ...req.body, id: req.params.siteId } as SiteConfig);
      return warnings.length > 0 ? { ...site, warnings } : site;
    },
  );

  app.delete<{ Params: { siteId: string } }>(
    '/api/sites/:siteId',
    {
      schema: {
        tags: TAG,
        summary: 'Delete a site',
        params: SITE_PARAMS,
        response: { 204: { type: 'null' }, ...errors(404) },
      },
    },
    async (req, reply) => {
      await smartOf(ctx).deleteSite(req.params.siteId);
      return reply.code(204).send();
    },
  );

  app.get<{ Params: { siteId: string } }>(
    '/api/sites/:siteId/status',
    {
      schema: {
        tags: TAG,
        summary:
          'The last balancing run: allocation per session, expected phase load, plan, what each charger was told',
        params: SITE_PARAMS,
        response: { 200: loose, ...errors(404) },
      },
    },
    async (req) => smartOf(ctx).status(req.params.siteId),
  );

  app.post<{ Params: { siteId: string } }>(
    '/api/sites/:siteId/rebalance',
    {
      schema: {
        tags: TAG,
        summary: 'Balance the site now',
        params: SITE_PARAMS,
        response: { 200: loose, ...errors(404) },
      },
    },
    async (req) => {
      const smart = smartOf(ctx);
      smart.getSite(req.params.siteId);
      await smart.rebalance(req.params.siteId);
      return smart.status(req.params.siteId);
    },
  );

  app.post<{ Params: { siteId: string }; Body: { buildingLoadA: [number, number, number] } }>(
    '/api/sites/:siteId/load',
    {
      schema: {
        tags: TAG,
        summary: 'Post the live building load per phase (A), from a meter; the balancer subtracts it',
        params: SITE_PARAMS,
        body: {
          type: 'object',
          properties: {
            buildingLoadA: { type: 'array', items: { type: 'number', minimum: 0 }, minItems: 3, maxItems: 3 },
          },
          required: ['buildingLoadA'],
          additionalProperties: false,
        },
        response: { 200: loose, ...errors(404) },
      },
    },
    async (req) => smartOf(ctx).setBuildingLoad(req.params.siteId, req.body.buildingLoadA),
  );

  app.put<{ Params: { siteId: string }; Body: TariffSeries }>(
    '/api/sites/:siteId/prices',
    {
      schema: {
        tags: TAG,
        summary: 'Set the price and CO2 series (JSON)',
        params: SITE_PARAMS,
        body: SERIES,
        response: { 200: loose, ...errors(404) },
      },
    },
    async (req) => smartOf(ctx).setSeries(req.params.siteId, req.body),
  );

  app.post<{ Params: { siteId: string }; Body: string }>(
    '/api/sites/:siteId/prices.csv',
    {
      schema: {
        tags: TAG,
        summary: 'Import the price and CO2 series from CSV (columns start, price, co2)',
        params: SITE_PARAMS,
        consumes: ['text/csv'],
        body: { type: 'string' },
        response: { 200: loose, ...errors(404) },
      },
    },
    async (req) => smartOf(ctx).setSeries(req.params.siteId, parseSeriesCsv(String(req.body))),
  );

  app.get<{ Params: { siteId: string } }>(
    '/api/sites/:siteId/prices',
    {
      schema: {
        tags: TAG,
        summary: 'The price and CO2 series',
        params: SITE_PARAMS,
        response: { 200: loose, ...errors(404) },
      },
    },
    async (req) => {
      smartOf(ctx).getSite(req.params.siteId);
      const s = await smartOf(ctx).repo.series(req.params.siteId);
      if (!s) throw new AmpereError('AMPERE_ERR_NOT_FOUND', `Site ${req.params.siteId} has no price series`);
      return s;
    },
  );

  app.put<{ Params: { id: number }; Body: Record<string, unknown> }>(
    '/api/transactions/:id/plan',
    {
      schema: {
        tags: TAG,
        summary: 'Plan a session: departure time and energy wanted; fast = charge now',
        params: TX_PARAMS,
        body: PLAN,
        response: { 200: loose, ...errors(404) },
      },
    },
    async (req) => smartOf(ctx).setSessionPlan(req.params.id, req.body),
  );

  app.get<{ Params: { id: number } }>(
    '/api/transactions/:id/plan',
    {
      schema: {
        tags: TAG,
        summary:
          'The session as smart charging sees it: current allocated and why, departure, energy wanted, next slots with current, price and CO2, expected cost, energy short',
        params: TX_PARAMS,
        response: { 200: loose, ...errors(404) },
      },
    },
    async (req) => smartOf(ctx).sessionView(req.params.id),
  );

  app.post<{ Params: { id: number } }>(
    '/api/transactions/:id/fast-charge',
    {
      schema: {
        tags: TAG,
        summary: 'Switch a session back to charging now',
        params: TX_PARAMS,
        response: { 200: loose, ...errors(404) },
      },
    },
    async (req) => smartOf(ctx).setSessionPlan(req.params.id, { fast: true }),
  );

  app.put<{ Params: { idTag: string }; Body: { departureTime?: string; energyKWh?: number } | null }>(
    '/api/id-tags/:idTag/smart-plan',
    {
      schema: {
        tags: TAG,
        summary:
          "Make an id tag a smart energy tag: its sessions get this plan by default (departure as local HH:MM in the site's time zone)",
        params: {
          type: 'object',
          properties: { idTag: { type: 'string', minLength: 1, maxLength: 20 } },
          required: ['idTag'],
        },
        body: {
          type: ['object', 'null'],
          properties: {
            departureTime: { type: 'string', pattern: '^([01]?\\d|2[0-3]):[0-5]\\d$' },
            energyKWh: { type: 'number', exclusiveMinimum: 0 },
            objective,
          },
          required: ['departureTime'],
          additionalProperties: false,
        },
        response: { 200: loose, ...errors(404) },
      },
    },
    async (req) => {
      const store = ctx.central.store;
      const tag = await store.getIdTag(req.params.idTag);
      if (!tag)
        throw new AmpereError('AMPERE_ERR_NOT_FOUND', `No id tag "${req.params.idTag}"`, { idTag: req.params.idTag });
      const saved = await store.upsertIdTag(
        { idTag: tag.idTag, smartPlan: (req.body ?? null) as never },
        ctx.central.clock.now(),
      );
      for (const site of smartOf(ctx).listSites()) smartOf(ctx).schedule(site.id);
      return { idTag: saved.idTag, smartPlan: saved.smartPlan };
    },
  );

  const compositeQuery = query({
    connectorId: { type: 'integer', minimum: 0, default: 1 },
    duration: { type: 'integer', minimum: 1, maximum: 7 * 86400, default: 86400 },
    unit: { type: 'string', enum: ['A', 'W'], default: 'A' },
  });

  app.get<{ Params: { id: string }; Querystring: { connectorId: number; duration: number; unit: 'A' | 'W' } }>(
    '/api/chargers/:id/composite-schedule',
    {
      schema: {
        tags: TAG,
        summary: "The connector's composite schedule as Ampere computes it from the profiles the charger accepted",
        params: CHARGER_ID_PARAMS,
        querystring: compositeQuery,
        response: { 200: loose, ...errors(404) },
      },
    },
    async (req) => {
      await chargerOr404(ctx.central, req.params.id);
      const q = req.query;
      return smartOf(ctx).computedComposite(req.params.id, q.connectorId, q.duration, q.unit);
    },
  );

  app.get<{ Params: { id: string }; Querystring: { connectorId: number; duration: number; unit: 'A' | 'W' } }>(
    '/api/chargers/:id/composite-schedule/compare',
    {
      schema: {
        tags: TAG,
        summary: "Ask the charger for its composite schedule (GetCompositeSchedule) and compare it with Ampere's",
        params: CHARGER_ID_PARAMS,
        querystring: compositeQuery,
        response: { 200: loose, ...errors(404, 409, 502, 504) },
      },
    },
    async (req) => {
      await chargerOr404(ctx.central, req.params.id);
      const q = req.query;
      return smartOf(ctx).compareComposite(req.params.id, q.connectorId, q.duration, q.unit);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/chargers/:id/charging-profiles',
    {
      schema: {
        tags: TAG,
        summary:
          'Charging profiles the charger accepted (tracked from SetChargingProfile / ClearChargingProfile answers)',
        params: CHARGER_ID_PARAMS,
        response: { 200: { type: 'array', items: loose }, ...errors(404) },
      },
    },
    async (req) => {
      await chargerOr404(ctx.central, req.params.id);
      return ctx.central.store.listChargingProfiles(req.params.id);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/chargers/:id/capabilities',
    {
      schema: {
        tags: TAG,
        summary: 'How Ampere can limit this charger, and why (vendor table, configuration, answers)',
        params: CHARGER_ID_PARAMS,
        response: { 200: loose, ...errors(404) },
      },
    },
    async (req) => {
      await chargerOr404(ctx.central, req.params.id);
      return smartOf(ctx).capabilitiesOf(req.params.id);
    },
  );
}
