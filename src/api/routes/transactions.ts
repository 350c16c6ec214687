// Transactions (sessions): lists with energy, duration, power and cost; live analytics; the tariff.
import type { FastifyInstance } from 'fastify';
import { loadTariff, saveTariff, transactionView } from '../../central/analytics.ts';
import { checkTimeZone, type Tariff } from '../../central/tariff.ts';
import { AmpereError } from '../../errors.ts';
import type { TransactionQuery } from '../../store/types.ts';
import { type ApiContext, defined, pageOf } from '../context.ts';
import {
  errors,
  METER_QUERY,
  METER_SERIES,
  PAGE_QUERY,
  page,
  query,
  TARIFF,
  TIME_RANGE_QUERY,
  TRANSACTION,
  TRANSACTION_DETAIL,
} from '../schemas.ts';
import { type MeterSeriesQuery, meterSeries } from './meter.ts';

const TAG = ['transactions'];
const TX_PARAMS = {
  type: 'object',
  properties: { id: { type: 'integer' } },
  required: ['id'],
  additionalProperties: false,
} as const;
const TARGET = { type: 'number', minimum: 0, description: 'target energy (Wh) for the time-to-target estimate' };

export function transactionRoutes(app: FastifyInstance, { central, smart }: ApiContext): void {
  const store = central.store;
  // One price model: a session at a site with a price series is priced by it, by the tariff elsewhere.
  const pricing = (tariff: Tariff | null) => (smart ? smart.pricing(tariff) : async (_chargerId: string) => tariff);

  async function txOr404(id: number) {
    const tx = await store.getTransaction(id);
    if (!tx) throw new AmpereError('AMPERE_ERR_NOT_FOUND', `No transaction ${id}`, { transactionId: id });
    return tx;
  }

  app.get<{ Querystring: TransactionQuery & { from?: string; to?: string } }>(
    '/api/transactions',
    {
      schema: {
        tags: TAG,
        summary: 'List transactions, newest first, with energy, duration, power and cost',
        querystring: query({
          chargerId: { type: 'string' },
          connectorId: { type: 'integer', minimum: 0 },
          idTag: { type: 'string' },
          active: { type: 'boolean' },
          ...TIME_RANGE_QUERY,
          ...PAGE_QUERY,
        }),
        response: { 200: page(TRANSACTION), ...errors() },
      },
    },
    async (req) => {
      const p = await store.listTransactions(defined({ ...req.query }));
      const tariffFor = pricing(await loadTariff(store));
      const now = central.clock.now();
      const items = await Promise.all(
        p.items.map(async (tx) => {
          const {
            live: _l,
            meterSamples: _s,
            ...v
          } = await transactionView(store, tx, {
            now,
            tariff: await tariffFor(tx.chargerId),
            live: false,
          });
          return v;
        }),
      );
      return pageOf({ items, total: p.total }, req.query);
    },
  );

  app.get<{ Querystring: { chargerId?: string; targetWh?: number } }>(
    '/api/sessions/active',
    {
      schema: {
        tags: TAG,
        summary:
          'Live analytics of every active transaction: energy so far, power, charging or plugged in, time to target',
        querystring: query({ chargerId: { type: 'string' }, targetWh: TARGET }),
        response: {
          200: {
            type: 'object',
            properties: { items: { type: 'array', items: TRANSACTION_DETAIL } },
            required: ['items'],
            additionalProperties: false,
          },
          ...errors(),
        },
      },
    },
    async (req) => {
      const p = await store.listTransactions(defined({ active: true, chargerId: req.query.chargerId, limit: 10_000 }));
      const tariffFor = pricing(await loadTariff(store));
      const now = central.clock.now();
      const items = await Promise.all(
        p.items.map(async (tx) =>
          transactionView(
            store,
            tx,
            defined({ now, tariff: await tariffFor(tx.chargerId), targetWh: req.query.targetWh }),
          ),
        ),
      );
      return { items };
    },
  );

  app.get<{ Params: { id: number }; Querystring: { targetWh?: number } }>(
    '/api/transactions/:id',
    {
      schema: {
        tags: TAG,
        summary: 'One transaction; an active one carries live analytics',
        params: TX_PARAMS,
        querystring: query({ targetWh: TARGET }),
        response: { 200: TRANSACTION_DETAIL, ...errors(404) },
      },
    },
    async (req) => {
      const tx = await txOr404(req.params.id);
      const tariff = await pricing(await loadTariff(store))(tx.chargerId);
      return transactionView(store, tx, defined({ now: central.clock.now(), tariff, targetWh: req.query.targetWh }));
    },
  );

  app.get<{ Params: { id: number }; Querystring: MeterSeriesQuery }>(
    '/api/transactions/:id/meter-values',
    {
      schema: {
        tags: TAG,
        summary: 'Meter values of a transaction, optionally downsampled (`?step=60s`)',
        params: TX_PARAMS,
        querystring: query(METER_QUERY),
        response: { 200: METER_SERIES, ...errors(404) },
      },
    },
    async (req) => {
      await txOr404(req.params.id);
      return meterSeries(store, { transactionId: req.params.id }, req.query);
    },
  );

  const TARIFF_OR_NULL = { oneOf: [...TARIFF.oneOf, { type: 'null' }] };

  app.get(
    '/api/tariff',
    {
      schema: {
        tags: ['tariff'],
        summary: 'The tariff that prices transactions (null = none)',
        response: { 200: TARIFF_OR_NULL, ...errors() },
      },
    },
    async () => loadTariff(store),
  );

  app.put<{ Body: Tariff }>(
    '/api/tariff',
    {
      schema: {
        tags: ['tariff'],
        summary: 'Set the tariff: flat price per kWh, or a time-of-use table',
        body: TARIFF,
        response: { 200: TARIFF, ...errors() },
      },
    },
    async (req) => {
      if (req.body.type === 'time-of-use' && req.body.timeZone) {
        try {
          checkTimeZone(req.body.timeZone);
        } catch {
          throw new AmpereError(
            'AMPERE_ERR_BAD_REQUEST',
            `body.timeZone "${req.body.timeZone}" is not a known time zone`,
            {
              field: 'body.timeZone',
            },
          );
        }
      }
      await saveTariff(store, req.body);
      return req.body;
    },
  );

  app.delete(
    '/api/tariff',
    {
      schema: {
        tags: ['tariff'],
        summary: 'Remove the tariff (transactions get no cost)',
        response: { 204: { type: 'null', description: 'Removed' }, ...errors() },
      },
    },
    async (_req, reply) => {
      await saveTariff(store, null);
      reply.code(204);
    },
  );
}
