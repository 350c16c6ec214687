// Commands: one route per central→charger message, its body validated by the OCA schema of the
// request and its answer described by the schema of the response.
import type { FastifyInstance } from 'fastify';
import { readConfiguration } from '../../central/configuration.ts';
import type { CentralSystem, ChargerDirectory } from '../../central/index.ts';
import { AmpereError } from '../../errors.ts';
import { CENTRAL_ACTIONS, type CentralAction, type JsonSchema, type Validator } from '../../ocpp/index.ts';
import { type ApiContext, chargerOr404 } from '../context.ts';
import { CHARGER_ID_PARAMS, CONFIGURATION, CONFIGURATION_KEY, errors, query } from '../schemas.ts';

/** The OCA schemas are draft-07 with local `#/definitions` refs; OpenAPI 3.1 wants them inline. */
export function inlineSchema(schema: JsonSchema): Record<string, unknown> {
  const defs = (schema.definitions ?? {}) as Record<string, unknown>;
  const walk = (node: unknown): unknown => {
    if (Array.isArray(node)) return node.map(walk);
    if (!node || typeof node !== 'object') return node;
    const o = node as Record<string, unknown>;
    if (typeof o.$ref === 'string' && o.$ref.startsWith('#/definitions/')) {
      return walk(defs[o.$ref.slice('#/definitions/'.length)]);
    }
    const out: Record<string, unknown> = {};
    for (const [k, v] of Object.entries(o)) {
      if (k === 'definitions' || k === '$schema' || k === '$id' || k === 'id') continue;
      out[k] =
        k === 'properties' ? Object.fromEntries(Object.entries(v as object).map(([p, s]) => [p, walk(s)])) : walk(v);
    }
    return out;
  };
  return walk(schema) as Record<string, unknown>;
}

/** Offline (409) when the charger is known, 404 when it is not. */
async function requireCharger(central: CentralSystem, directory: ChargerDirectory, id: string): Promise<void> {
  if (directory.isConnected(id)) return;
  await chargerOr404(central, id);
  throw new AmpereError('AMPERE_ERR_CHARGER_OFFLINE', `Charger ${id} is not connected`, { chargerId: id });
}

const COMMAND_ERRORS = errors(404, 409, 502, 504);

export function commandRoutes(
  app: FastifyInstance,
  { central, commands, directory }: ApiContext,
  validator: Validator,
): void {
  for (const action of CENTRAL_ACTIONS) {
    app.post<{ Params: { id: string }; Body: Record<string, unknown> }>(
      `/api/chargers/:id/commands/${action}`,
      {
        schema: {
          tags: ['commands'],
          summary: `Send ${action}.req and return the charger's ${action}.conf`,
          operationId: `command${action}`,
          params: CHARGER_ID_PARAMS,
          body: inlineSchema(validator.schemaFor(action, 'req')),
          response: { 200: inlineSchema(validator.schemaFor(action, 'conf')), ...COMMAND_ERRORS },
        },
      },
      async (req) => {
        await requireCharger(central, directory, req.params.id);
        return commands.call(req.params.id, action as CentralAction, req.body as never);
      },
    );
  }

  // Any other action name: a 404 that says which ones exist (static routes above win).
  app.post<{ Params: { id: string; action: string } }>(
    '/api/chargers/:id/commands/:action',
    {
      schema: {
        hide: true,
        params: { type: 'object', properties: { id: { type: 'string' }, action: { type: 'string' } } },
      },
    },
    async (req) => {
      throw new AmpereError('AMPERE_ERR_NOT_FOUND', `"${req.params.action}" is not a message a central system sends`, {
        field: 'path.action',
        actions: [...CENTRAL_ACTIONS],
      });
    },
  );

  app.get<{ Params: { id: string }; Querystring: { key?: string[] } }>(
    '/api/chargers/:id/configuration',
    {
      schema: {
        tags: ['configuration'],
        summary:
          'Read the configuration from the charger (GetConfiguration; a key list is paged by GetConfigurationMaxKeys); updates the stored copy',
        params: CHARGER_ID_PARAMS,
        querystring: query({
          key: {
            type: 'array',
            items: { type: 'string', minLength: 1 },
            description: 'only these keys (repeat the parameter or comma-separate); all keys when omitted',
          },
        }),
        response: { 200: CONFIGURATION, ...COMMAND_ERRORS },
      },
    },
    async (req) => {
      await requireCharger(central, directory, req.params.id);
      const keys = (req.query.key ?? []).flatMap((k) => k.split(',')).filter((k) => k !== '');
      const long = keys.find((k) => k.length > 50);
      if (long) {
        throw new AmpereError('AMPERE_ERR_BAD_REQUEST', `query.key "${long}" is longer than 50 characters`, {
          field: 'query.key',
        });
      }
      return readConfiguration(central, req.params.id, keys);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/chargers/:id/configuration/stored',
    {
      schema: {
        tags: ['configuration'],
        summary: 'The last known configuration values, as stored from GetConfiguration and ChangeConfiguration answers',
        params: CHARGER_ID_PARAMS,
        response: {
          200: {
            type: 'object',
            properties: { items: { type: 'array', items: CONFIGURATION_KEY } },
            required: ['items'],
            additionalProperties: false,
          },
          ...errors(404),
        },
      },
    },
    async (req) => {
      await chargerOr404(central, req.params.id);
      return { items: await central.store.getConfiguration(req.params.id) };
    },
  );

  app.put<{ Params: { id: string; key: string }; Body: { value: string } }>(
    '/api/chargers/:id/configuration/:key',
    {
      schema: {
        tags: ['configuration'],
        summary: 'Change one key (ChangeConfiguration); the answer is the charger status',
        params: {
          type: 'object',
          properties: {
            id: { type: 'string', minLength: 1, maxLength: 48 },
            key: { type: 'string', minLength: 1, maxLength: 50 },
          },
          required: ['id', 'key'],
          additionalProperties: false,
        },
        body: {
          type: 'object',
          properties: { value: { type: 'string', maxLength: 500 } },
          required: ['value'],
          additionalProperties: false,
        },
        response: {
          200: {
            type: 'object',
            properties: {
              status: { type: 'string', enum: ['Accepted', 'Rejected', 'RebootRequired', 'NotSupported'] },
            },
            required: ['status'],
            additionalProperties: false,
          },
          ...COMMAND_ERRORS,
        },
      },
    },
    async (req) => {
      await requireCharger(central, directory, req.params.id);
      return commands.call(req.params.id, 'ChangeConfiguration', { key: req.params.key, value: req.body.value });
    },
  );
}
