// The home-automation bridge (MQTT, Home Assistant discovery, webhooks): its state, its settings
// and the webhooks' dead letters. The API sees the bridge through this narrow port only.
import type { FastifyInstance } from 'fastify';
import { errors } from '../schemas.ts';

/** What the API needs of the bridge (src/bridge's Bridge has this shape). */
export interface BridgeApiPort {
  status(): object;
  publicSettings(): object;
  updateSettings(input: unknown): object;
  deadLetters(): readonly object[];
  redeliver(id: string): void;
}

const TAG = ['home automation'];
const loose = { type: 'object', additionalProperties: true } as const;

export function bridgeRoutes(app: FastifyInstance, bridge: BridgeApiPort): void {
  app.get(
    '/api/bridge',
    {
      schema: {
        tags: TAG,
        summary: 'Bridge state: MQTT connected, last error, messages in/out, webhook deliveries, bridged chargers',
        response: { 200: loose, ...errors() },
      },
    },
    async () => bridge.status(),
  );

  app.get(
    '/api/bridge/settings',
    {
      schema: {
        tags: TAG,
        summary: 'Bridge settings: topic prefix, QoS, retain, discovery prefix, chargers, webhooks (secrets left out)',
        response: { 200: loose, ...errors() },
      },
    },
    async () => bridge.publicSettings(),
  );

  app.patch<{ Body: Record<string, unknown> }>(
    '/api/bridge/settings',
    {
      schema: {
        tags: TAG,
        summary:
          'Change bridge settings: the fields given replace the current ones (a webhook sent without its secret keeps it); saved to the settings file',
        body: loose,
        response: { 200: loose, ...errors() },
      },
    },
    async (req) => bridge.updateSettings(req.body),
  );

  app.get(
    '/api/bridge/dead-letters',
    {
      schema: {
        tags: TAG,
        summary: 'Webhook deliveries that failed every try, oldest first',
        response: { 200: { type: 'array', items: loose }, ...errors() },
      },
    },
    async () => bridge.deadLetters(),
  );

  app.post<{ Params: { id: string } }>(
    '/api/bridge/dead-letters/:id/redeliver',
    {
      schema: {
        tags: TAG,
        summary: 'Deliver a dead letter again (from the first try, signed with the current secret)',
        params: {
          type: 'object',
          properties: { id: { type: 'string', minLength: 1, maxLength: 64 } },
          required: ['id'],
          additionalProperties: false,
        },
        response: {
          202: { type: 'object', properties: { id: { type: 'string' } }, required: ['id'] },
          ...errors(404),
        },
      },
    },
    async (req, reply) => {
      bridge.redeliver(req.params.id);
      return reply.code(202).send({ id: req.params.id });
    },
  );
}
