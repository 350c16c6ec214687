// Per-charger id tags: which tags may charge at a charger (`*` = all, the default) and its
// free-charging tag (src/central/charger-tags.ts).
import type { FastifyInstance } from 'fastify';
import { type ApiContext, chargerOr404 } from '../context.ts';
import { CHARGER_ID_PARAMS, CHARGER_TAGS, CHARGER_TAGS_INPUT, errors } from '../schemas.ts';

const TAG = ['id tags'];

export function chargerTagRoutes(app: FastifyInstance, { central }: ApiContext): void {
  app.get<{ Params: { id: string } }>(
    '/api/chargers/:id/id-tags',
    {
      schema: {
        tags: TAG,
        summary: 'The id tags allowed at this charger (`*` = all) and its free-charging tag',
        params: CHARGER_ID_PARAMS,
        response: { 200: CHARGER_TAGS, ...errors(404) },
      },
    },
    async (req) => {
      await chargerOr404(central, req.params.id);
      return central.store.getChargerTags(req.params.id);
    },
  );

  app.put<{ Params: { id: string }; Body: { allowed?: string[]; freeChargingTag?: string | null } }>(
    '/api/chargers/:id/id-tags',
    {
      schema: {
        tags: TAG,
        summary:
          'Set the tags allowed at this charger (others get Invalid there) and/or its free-charging tag; a field left out is kept',
        params: CHARGER_ID_PARAMS,
        body: CHARGER_TAGS_INPUT,
        response: { 200: CHARGER_TAGS, ...errors(404) },
      },
    },
    async (req) => {
      await chargerOr404(central, req.params.id);
      const now = await central.store.getChargerTags(req.params.id);
      return central.store.setChargerTags(req.params.id, {
        allowed: req.body.allowed ?? now.allowed,
        freeChargingTag: req.body.freeChargingTag === undefined ? now.freeChargingTag : req.body.freeChargingTag,
      });
    },
  );
}
