// Per-charger id tags: which tags may charge at a charger (`*` = all, the default) and its
// free-charging tag (src/central/charger-tags.ts).
import type { FastifyInstance } from 'fastify';
import { localListState, syncLocalList } from '../../central/index.ts';
import { type ApiContext, chargerOr404 } from '../context.ts';
import {
  CHARGER_ID_PARAMS,
  CHARGER_TAGS,
  CHARGER_TAGS_INPUT,
  errors,
  LOCAL_LIST,
  LOCAL_LIST_SYNC,
} from '../schemas.ts';

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
      const saved = await central.store.setChargerTags(req.params.id, {
        allowed: req.body.allowed ?? now.allowed,
        freeChargingTag: req.body.freeChargingTag === undefined ? now.freeChargingTag : req.body.freeChargingTag,
      });
      // The local list follows the tags: a connected charger gets the difference now.
      if (central.isConnected(req.params.id)) {
        syncLocalList(central, req.params.id).catch((e) =>
          req.log.warn({ chargerId: req.params.id, err: (e as Error).message }, 'local list not updated'),
        );
      }
      return saved;
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/chargers/:id/local-list',
    {
      schema: {
        tags: TAG,
        summary: "The local authorisation list Ampere last sent (version, entries, the charger's answer)",
        params: CHARGER_ID_PARAMS,
        response: { 200: LOCAL_LIST, ...errors(404) },
      },
    },
    async (req) => {
      await chargerOr404(central, req.params.id);
      return localListState(central, req.params.id);
    },
  );

  app.post<{ Params: { id: string }; Querystring: { full?: boolean } }>(
    '/api/chargers/:id/local-list/sync',
    {
      schema: {
        tags: TAG,
        summary:
          'Send the list now: Differential when Ampere knows what the charger holds, else (or with ?full=true) Full; also retries a charger recorded as unsupported',
        params: CHARGER_ID_PARAMS,
        querystring: { type: 'object', properties: { full: { type: 'boolean' } }, additionalProperties: false },
        response: { 200: LOCAL_LIST_SYNC, ...errors(404, 409, 502, 504) },
      },
    },
    async (req) => {
      await chargerOr404(central, req.params.id);
      return syncLocalList(central, req.params.id, { full: req.query.full === true, force: true });
    },
  );
}
