// The reboot window of the configuration policies (src/central/config-policies.ts): when Ampere may
// reboot a charger whose policy keys answered RebootRequired. Fleet-wide, or per charger.
import type { FastifyInstance } from 'fastify';
import { type RebootWindow, rebootWindowFor, setRebootWindow } from '../../central/index.ts';
import type { ApiContext } from '../context.ts';
import { errors, query } from '../schemas.ts';

const TAG = ['configuration policies'];

const WINDOW = {
  type: 'object',
  properties: {
    window: {
      type: 'string',
      description: 'daily local time HH:MM-HH:MM (24 h; may cross midnight, e.g. 23:00-01:00)',
      examples: ['02:00-04:00'],
    },
    timeZone: { type: 'string', description: 'IANA time zone, e.g. Europe/Amsterdam' },
  },
  required: ['window', 'timeZone'],
  additionalProperties: false,
} as const;

const ANSWER = {
  type: 'object',
  properties: { chargerId: { type: ['string', 'null'] }, rebootWindow: { oneOf: [WINDOW, { type: 'null' }] } },
  required: ['chargerId', 'rebootWindow'],
  additionalProperties: false,
} as const;

const CHARGER_QUERY = query({
  chargerId: {
    type: 'string',
    minLength: 1,
    maxLength: 48,
    description: "one charger's window (default: the fleet's)",
  },
});

export function rebootWindowRoutes(app: FastifyInstance, { central }: ApiContext): void {
  app.get<{ Querystring: { chargerId?: string } }>(
    '/api/config-policies/reboot-window',
    {
      schema: {
        tags: TAG,
        summary: "The reboot window in force: the charger's own, else the fleet's (null: Ampere never reboots)",
        querystring: CHARGER_QUERY,
        response: { 200: ANSWER, ...errors() },
      },
    },
    async (req) => ({
      chargerId: req.query.chargerId ?? null,
      rebootWindow: await rebootWindowFor(central, req.query.chargerId),
    }),
  );

  app.put<{ Querystring: { chargerId?: string }; Body: RebootWindow }>(
    '/api/config-policies/reboot-window',
    {
      schema: {
        tags: TAG,
        summary:
          'Set the reboot window: inside it, with no transaction running, a charger with RebootRequired keys gets Reset Soft once; the keys are verified after its next boot',
        querystring: CHARGER_QUERY,
        body: WINDOW,
        response: { 200: ANSWER, ...errors() },
      },
    },
    async (req) => ({
      chargerId: req.query.chargerId ?? null,
      rebootWindow: await setRebootWindow(central, req.body, req.query.chargerId),
    }),
  );

  app.delete<{ Querystring: { chargerId?: string } }>(
    '/api/config-policies/reboot-window',
    {
      schema: {
        tags: TAG,
        summary: "Remove the fleet's reboot window, or one charger's (it then follows the fleet's)",
        querystring: CHARGER_QUERY,
        response: { 200: ANSWER, ...errors() },
      },
    },
    async (req) => {
      await setRebootWindow(central, null, req.query.chargerId);
      return {
        chargerId: req.query.chargerId ?? null,
        rebootWindow: await rebootWindowFor(central, req.query.chargerId),
      };
    },
  );
}
