// Chargers: the fleet, one charger, creation, approval, settings, status history, meter values.
import type { FastifyInstance } from 'fastify';
import { approvalOutcome } from '../../central/index.ts';
import { AmpereError } from '../../errors.ts';
import type { ChargerPatch, Registration } from '../../store/types.ts';
import { type ApiContext, chargerOr404, chargerView, defined, pageOf } from '../context.ts';
import {
  APPROVAL,
  CHARGER,
  CHARGER_APPROVED,
  CHARGER_CREATE,
  CHARGER_DETAIL,
  CHARGER_ID_PARAMS,
  CHARGER_SETTINGS,
  errors,
  METER_QUERY,
  METER_SERIES,
  PAGE_QUERY,
  page,
  query,
  REGISTRATION,
  STATUS_HISTORY,
  TIME_RANGE_QUERY,
} from '../schemas.ts';
import { type MeterSeriesQuery, meterSeries } from './meter.ts';

const TAG = ['chargers'];

interface IdParams {
  id: string;
}

export function chargerRoutes(app: FastifyInstance, { central, directory }: ApiContext): void {
  const store = central.store;

  app.get<{
    Querystring: {
      connected?: boolean;
      registration?: Registration;
      vendor?: string;
      model?: string;
      limit?: number;
      offset?: number;
    };
  }>(
    '/api/chargers',
    {
      schema: {
        tags: TAG,
        summary: 'List chargers',
        querystring: query({
          connected: { type: 'boolean' },
          registration: REGISTRATION,
          vendor: { type: 'string' },
          model: { type: 'string' },
          ...PAGE_QUERY,
        }),
        response: { 200: page(CHARGER), ...errors() },
      },
    },
    async (req) => {
      const p = await store.listChargers(defined({ ...req.query }));
      return pageOf({ ...p, items: p.items.map((c) => chargerView(directory, c)) }, req.query);
    },
  );

  app.post<{ Body: ChargerPatch & { id: string } }>(
    '/api/chargers',
    {
      schema: {
        tags: TAG,
        summary: 'Create a charger (e.g. approve an id before it first connects)',
        body: CHARGER_CREATE,
        response: { 201: CHARGER, ...errors(409) },
      },
    },
    async (req, reply) => {
      const { id, ...patch } = req.body;
      if (await store.getCharger(id)) {
        throw new AmpereError('AMPERE_ERR_CONFLICT', `Charger "${id}" already exists`, { chargerId: id });
      }
      const record = await central.updateCharger(id, { registration: 'accepted', ...patch });
      await store.deleteConnectionAttempt(id);
      reply.code(201);
      return chargerView(directory, record);
    },
  );

  app.get(
    '/api/approvals',
    {
      schema: {
        tags: TAG,
        summary: 'Chargers waiting for approval: ids refused at the handshake and chargers held as Pending',
        querystring: query(PAGE_QUERY),
        response: { 200: page(APPROVAL), ...errors() },
      },
    },
    async (req) => {
      const q = req.query as { limit?: number; offset?: number };
      const [attempts, pending] = await Promise.all([
        store.listConnectionAttempts({ limit: 10_000 }),
        store.listChargers({ registration: 'pending', limit: 10_000 }),
      ]);
      const byId = new Map<string, Record<string, unknown>>();
      for (const c of pending.items) {
        byId.set(c.id, {
          id: c.id,
          source: 'pending',
          connected: directory.isConnected(c.id),
          attempts: 0,
          firstAt: c.createdAt,
          lastAt: c.lastSeenAt,
          remoteAddress: c.remoteAddress,
          vendor: c.vendor,
          model: c.model,
        });
      }
      for (const a of attempts.items) {
        const known = byId.get(a.id);
        if (known) {
          known.attempts = a.count;
          continue;
        }
        byId.set(a.id, {
          id: a.id,
          source: 'attempt',
          connected: false,
          attempts: a.count,
          firstAt: a.firstAt,
          lastAt: a.lastAt,
          remoteAddress: a.remoteAddress,
          vendor: null,
          model: null,
        });
      }
      const all = [...byId.values()].sort((a, b) => String(b.lastAt ?? '').localeCompare(String(a.lastAt ?? '')));
      const limit = q.limit ?? 100;
      const offset = q.offset ?? 0;
      return { items: all.slice(offset, offset + limit), total: all.length, limit, offset };
    },
  );

  app.get<{ Params: IdParams }>(
    '/api/chargers/:id',
    {
      schema: {
        tags: TAG,
        summary: 'One charger: identity, connection, connectors',
        params: CHARGER_ID_PARAMS,
        response: { 200: CHARGER_DETAIL, ...errors(404) },
      },
    },
    async (req) => {
      const c = await chargerOr404(central, req.params.id);
      const connectors = (await store.listConnectors(c.id)).map(({ chargerId: _c, ...rest }) => rest);
      return { ...chargerView(directory, c), connectors };
    },
  );

  app.patch<{ Params: IdParams; Body: ChargerPatch }>(
    '/api/chargers/:id',
    {
      schema: {
        tags: TAG,
        summary: 'Change settings: registration, HeartbeatInterval answered at boot, validation mode, notes',
        params: CHARGER_ID_PARAMS,
        body: CHARGER_SETTINGS,
        response: { 200: CHARGER, ...errors(404) },
      },
    },
    async (req) => {
      await chargerOr404(central, req.params.id);
      return chargerView(directory, await central.updateCharger(req.params.id, req.body));
    },
  );

  for (const [verb, registration] of [
    ['approve', 'accepted'],
    ['reject', 'rejected'],
  ] as const) {
    app.post<{ Params: IdParams }>(
      `/api/chargers/:id/${verb}`,
      {
        schema: {
          tags: TAG,
          summary:
            verb === 'approve'
              ? 'Approve a Pending charger or a refused id (a connected Pending charger is asked to boot again)'
              : 'Reject a charger: its next BootNotification is answered Rejected',
          params: CHARGER_ID_PARAMS,
          response: { 200: CHARGER_APPROVED, ...errors(404) },
        },
      },
      async (req) => {
        const id = req.params.id;
        const known = await store.getCharger(id);
        if (!known) {
          const attempts = await store.listConnectionAttempts({ limit: 10_000 });
          if (!attempts.items.some((a) => a.id === id)) {
            throw new AmpereError('AMPERE_ERR_NOT_FOUND', `No charger or connection attempt "${id}"`, {
              chargerId: id,
            });
          }
        }
        // Said before the change: whether and how the charger learns of it.
        const outcome =
          verb === 'approve' && known && known.registration !== 'accepted' ? approvalOutcome(central, known) : null;
        const record = await central.updateCharger(id, { registration });
        await store.deleteConnectionAttempt(id);
        return { ...chargerView(directory, record), approval: outcome };
      },
    );
  }

  app.delete<{ Params: IdParams }>(
    '/api/chargers/:id',
    {
      schema: {
        tags: TAG,
        summary: 'Delete a charger (its history stays); a connected charger is disconnected',
        params: CHARGER_ID_PARAMS,
        response: { 204: { type: 'null', description: 'Deleted' }, ...errors(404) },
      },
    },
    async (req, reply) => {
      const id = req.params.id;
      const deleted = await store.deleteCharger(id);
      const attempt = await store.deleteConnectionAttempt(id);
      if (!deleted && !attempt) throw new AmpereError('AMPERE_ERR_NOT_FOUND', `No charger "${id}"`, { chargerId: id });
      central.link(id)?.transport.close(1000, 'Deleted by the operator');
      reply.code(204);
    },
  );

  app.get<{
    Params: IdParams;
    Querystring: { connectorId?: number; from?: string; to?: string; limit?: number; offset?: number };
  }>(
    '/api/chargers/:id/status-history',
    {
      schema: {
        tags: TAG,
        summary: 'StatusNotifications of a charger, newest first',
        params: CHARGER_ID_PARAMS,
        querystring: query({ connectorId: { type: 'integer', minimum: 0 }, ...TIME_RANGE_QUERY, ...PAGE_QUERY }),
        response: { 200: page(STATUS_HISTORY), ...errors(404) },
      },
    },
    async (req) => {
      await chargerOr404(central, req.params.id);
      const p = await store.listStatusHistory(req.params.id, defined({ ...req.query }));
      return pageOf({ ...p, items: p.items.map(({ chargerId: _c, ...rest }) => rest) }, req.query);
    },
  );

  app.get<{ Params: IdParams; Querystring: MeterSeriesQuery }>(
    '/api/chargers/:id/meter-values',
    {
      schema: {
        tags: TAG,
        summary: 'Meter values of a charger (any transaction), optionally downsampled',
        params: CHARGER_ID_PARAMS,
        querystring: query(METER_QUERY),
        response: { 200: METER_SERIES, ...errors(404) },
      },
    },
    async (req) => {
      await chargerOr404(central, req.params.id);
      return meterSeries(store, { chargerId: req.params.id }, req.query);
    },
  );
}
