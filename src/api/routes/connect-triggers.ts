// The triggers on connect (src/central/after-boot.ts): whether Ampere asks a charger for
// StatusNotification (and BootNotification when it was never Accepted) when it connects or boots.
import type { FastifyInstance } from 'fastify';
import type { ConnectTriggers } from '../../central/index.ts';
import { errors } from '../schemas.ts';

const SETTING = {
  type: 'object',
  properties: {
    enabled: {
      type: 'boolean',
      description:
        'on: after an Accepted boot and on a reconnect, TriggerMessage StatusNotification; a charger that connects without booting and was never Accepted here gets TriggerMessage BootNotification. Models without TriggerMessage (Weidmüller) are never asked.',
    },
  },
  required: ['enabled'],
  additionalProperties: false,
} as const;

export function connectTriggerRoutes(app: FastifyInstance, triggers: ConnectTriggers): void {
  app.get(
    '/api/connect-triggers',
    {
      schema: {
        tags: ['configuration'],
        summary: 'Triggers on connect: on or off (default: --connect-triggers, on)',
        response: { 200: SETTING, ...errors() },
      },
    },
    async () => ({ enabled: await triggers.enabled() }),
  );

  app.put<{ Body: { enabled: boolean } }>(
    '/api/connect-triggers',
    {
      schema: {
        tags: ['configuration'],
        summary: 'Switch the triggers on connect on or off (kept in the store, over --connect-triggers)',
        body: SETTING,
        response: { 200: SETTING, ...errors() },
      },
    },
    async (req) => ({ enabled: await triggers.setEnabled(req.body.enabled) }),
  );
}
