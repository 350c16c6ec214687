// Reservations: ReserveNow / CancelReservation as resources (src/central/reservations.ts).
import type { FastifyInstance } from 'fastify';
import { cancelReservation, reservationView, reserve } from '../../central/index.ts';
import { AmpereError } from '../../errors.ts';
import { type ApiContext, chargerOr404, defined, pageOf } from '../context.ts';
import {
  CHARGER_ID_PARAMS,
  errors,
  PAGE_QUERY,
  page,
  query,
  RESERVATION,
  RESERVATION_INPUT,
  RESERVATION_RESULT,
} from '../schemas.ts';

const TAG = ['reservations'];

export function reservationRoutes(app: FastifyInstance, { central }: ApiContext): void {
  app.get<{ Querystring: { chargerId?: string; status?: string; limit?: number; offset?: number } }>(
    '/api/reservations',
    {
      schema: {
        tags: TAG,
        summary:
          'Reservations, newest first (status: requested, the ReserveNow answer, expired, consumed, cancelled, failed)',
        querystring: query({ chargerId: { type: 'string' }, status: { type: 'string' }, ...PAGE_QUERY }),
        response: { 200: page(RESERVATION), ...errors() },
      },
    },
    async (req) => {
      const q = req.query;
      // `expired` is computed from Accepted ones.
      const stored = q.status === 'expired' ? 'Accepted' : q.status;
      const p = await central.store.listReservations(defined({ ...q, status: stored }));
      const now = central.clock.now();
      const items = p.items.map((r) => reservationView(r, now)).filter((r) => !q.status || r.status === q.status);
      return pageOf({ items, total: q.status === 'expired' || q.status === 'Accepted' ? items.length : p.total }, q);
    },
  );

  app.post<{
    Params: { id: string };
    Body: { connectorId?: number; idTag: string; parentIdTag?: string; expiryDate?: string; minutes?: number };
  }>(
    '/api/chargers/:id/reservations',
    {
      schema: {
        tags: TAG,
        summary:
          'Reserve a connector for an id tag (ReserveNow); refused before sending when the charger has no Reservation profile or cannot reserve connector 0',
        params: CHARGER_ID_PARAMS,
        body: RESERVATION_INPUT,
        response: { 201: RESERVATION_RESULT, ...errors(404, 409, 502, 504) },
      },
    },
    async (req, reply) => {
      await chargerOr404(central, req.params.id);
      const b = req.body;
      if (b.expiryDate !== undefined && b.minutes !== undefined) {
        throw new AmpereError('AMPERE_ERR_BAD_REQUEST', 'Give expiryDate or minutes, not both', { field: 'body' });
      }
      const now = central.clock.now();
      const expiry = b.expiryDate ?? new Date(now + (b.minutes ?? 30) * 60_000).toISOString();
      if (Date.parse(expiry) <= now) {
        throw new AmpereError('AMPERE_ERR_BAD_REQUEST', `expiryDate ${expiry} is not in the future`, {
          field: 'body.expiryDate',
        });
      }
      const r = await reserve(
        central,
        req.params.id,
        defined({ connectorId: b.connectorId ?? 1, idTag: b.idTag, parentIdTag: b.parentIdTag, expiryDate: expiry }),
      );
      reply.code(201);
      return r;
    },
  );

  app.delete<{ Params: { id: string; reservationId: number } }>(
    '/api/chargers/:id/reservations/:reservationId',
    {
      schema: {
        tags: TAG,
        summary: 'Cancel a reservation (CancelReservation); the answer is the charger status',
        params: {
          type: 'object',
          properties: { id: { type: 'string', minLength: 1, maxLength: 48 }, reservationId: { type: 'integer' } },
          required: ['id', 'reservationId'],
          additionalProperties: false,
        },
        response: { 200: RESERVATION_RESULT, ...errors(404, 409, 502, 504) },
      },
    },
    async (req) => cancelReservation(central, req.params.id, req.params.reservationId),
  );
}
