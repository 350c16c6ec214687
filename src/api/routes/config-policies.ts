// Configuration policies: the configuration wanted fleet-wide, per vendor + model or per charger,
// applied after each Accepted boot; the drift report compares it with the charger's own values.
import type { FastifyInstance } from 'fastify';
import { applyConfigPolicies, configurationDrift } from '../../central/index.ts';
import { AmpereError } from '../../errors.ts';
import type { ConfigPolicyTarget } from '../../store/types.ts';
import { type ApiContext, chargerOr404 } from '../context.ts';
import {
  CHARGER_ID_PARAMS,
  CONFIG_APPLY_RESULT,
  CONFIG_DRIFT,
  CONFIG_POLICY,
  CONFIG_POLICY_INPUT,
  CONFIG_POLICY_TARGET,
  errors,
} from '../schemas.ts';

const TAG = ['configuration policies'];

/** The scope names exactly the parts it needs: a clear 400 instead of a store error. */
function checkTarget(t: ConfigPolicyTarget): void {
  const has = (v: unknown) => v !== undefined && v !== null && v !== '';
  const wrong = (msg: string) => new AmpereError('AMPERE_ERR_BAD_REQUEST', msg, { field: 'body.scope' });
  if (t.scope === 'fleet' && (has(t.vendor) || has(t.model) || has(t.chargerId))) {
    throw wrong('A fleet policy names no vendor, model or chargerId');
  }
  if (t.scope === 'model' && (!has(t.vendor) || !has(t.model) || has(t.chargerId))) {
    throw wrong('A model policy names vendor and model (as the charger sends them in BootNotification), no chargerId');
  }
  if (t.scope === 'charger' && (!has(t.chargerId) || has(t.vendor) || has(t.model))) {
    throw wrong('A charger policy names chargerId only');
  }
}

export function configPolicyRoutes(app: FastifyInstance, { central }: ApiContext): void {
  const store = central.store;

  app.get(
    '/api/config-policies',
    {
      schema: {
        tags: TAG,
        summary: 'Every configuration policy, fleet-wide first, then per model, then per charger',
        response: {
          200: {
            type: 'object',
            properties: { items: { type: 'array', items: CONFIG_POLICY } },
            required: ['items'],
            additionalProperties: false,
          },
          ...errors(),
        },
      },
    },
    async () => ({ items: await store.listConfigPolicies() }),
  );

  app.put<{ Body: ConfigPolicyTarget & { value: string } }>(
    '/api/config-policies',
    {
      schema: {
        tags: TAG,
        summary: 'Set the value wanted for one key (fleet, vendor + model, or one charger); sent at the next boot',
        body: CONFIG_POLICY_INPUT,
        response: { 200: CONFIG_POLICY, ...errors() },
      },
    },
    async (req) => {
      checkTarget(req.body);
      return store.putConfigPolicy(req.body, central.clock.now());
    },
  );

  app.delete<{ Querystring: ConfigPolicyTarget }>(
    '/api/config-policies',
    {
      schema: {
        tags: TAG,
        summary: 'Remove one policy (the charger keeps the value it has)',
        querystring: CONFIG_POLICY_TARGET,
        response: { 204: { type: 'null', description: 'Removed' }, ...errors(404) },
      },
    },
    async (req, reply) => {
      checkTarget(req.query);
      if (!(await store.deleteConfigPolicy(req.query))) {
        throw new AmpereError('AMPERE_ERR_NOT_FOUND', `No ${req.query.scope} policy for ${req.query.key}`);
      }
      reply.code(204);
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/chargers/:id/config-drift',
    {
      schema: {
        tags: TAG,
        summary:
          'Desired against actual configuration (GetConfiguration when connected, else the stored copy), with the last answer per key',
        params: CHARGER_ID_PARAMS,
        response: { 200: CONFIG_DRIFT, ...errors(404, 409, 502, 504) },
      },
    },
    async (req) => {
      await chargerOr404(central, req.params.id);
      return configurationDrift(central, req.params.id);
    },
  );

  app.post<{ Params: { id: string }; Querystring: { force?: boolean } }>(
    '/api/chargers/:id/config-policy/apply',
    {
      schema: {
        tags: TAG,
        summary:
          'Send the desired configuration now (ChangeConfiguration per key); ?force=true also resends values the charger refused',
        params: CHARGER_ID_PARAMS,
        querystring: { type: 'object', properties: { force: { type: 'boolean' } }, additionalProperties: false },
        response: {
          200: {
            type: 'object',
            properties: { items: { type: 'array', items: CONFIG_APPLY_RESULT } },
            required: ['items'],
            additionalProperties: false,
          },
          ...errors(404, 409),
        },
      },
    },
    async (req) => {
      await chargerOr404(central, req.params.id);
      if (!central.isConnected(req.params.id)) {
        throw new AmpereError('AMPERE_ERR_CHARGER_OFFLINE', `Charger ${req.params.id} is not connected`, {
          chargerId: req.params.id,
        });
      }
      return { items: await applyConfigPolicies(central, req.params.id, { force: req.query.force === true }) };
    },
  );
}
