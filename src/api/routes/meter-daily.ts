// Daily meter totals per connector: what meter-value retention (--retention-days) keeps of the
// raw meter values it deletes. Next to /api/chargers/{id}/meter-values, which lists what is left.
import type { FastifyInstance } from 'fastify';
import { type ApiContext, chargerOr404, defined } from '../context.ts';
import { CHARGER_ID_PARAMS, errors, query } from '../schemas.ts';

const DAY = { type: 'string', pattern: '^\\d{4}-\\d{2}-\\d{2}$' } as const;
const nullableNumber = { type: ['number', 'null'] } as const;

const METER_DAY = {
  type: 'object',
  properties: {
    connectorId: { type: 'integer' },
    day: { ...DAY, description: 'UTC date' },
    energyWh: { ...nullableNumber, description: 'rise of Energy.Active.Import.Register (total) over the day' },
    firstWh: { ...nullableNumber, description: 'lowest reading of that register' },
    lastWh: { ...nullableNumber, description: 'highest reading of that register' },
    maxPowerW: { ...nullableNumber, description: 'highest Power.Active.Import (total)' },
    readings: { type: 'integer', description: 'meterValues folded into the day' },
  },
  required: ['connectorId', 'day', 'energyWh', 'firstWh', 'lastWh', 'maxPowerW', 'readings'],
  additionalProperties: false,
} as const;

interface DailyQuery {
  connectorId?: number;
  from?: string;
  to?: string;
}

export function meterDailyRoutes(app: FastifyInstance, { central }: ApiContext): void {
  app.get<{ Params: { id: string }; Querystring: DailyQuery }>(
    '/api/chargers/:id/meter-daily',
    {
      schema: {
        tags: ['chargers'],
        summary: 'Daily meter totals per connector, kept when meter values pass the retention age (--retention-days)',
        params: CHARGER_ID_PARAMS,
        querystring: query({
          connectorId: { type: 'integer', minimum: 0 },
          from: { ...DAY, description: 'first UTC day, included' },
          to: { ...DAY, description: 'last UTC day, included' },
        }),
        response: {
          200: { type: 'object', properties: { items: { type: 'array', items: METER_DAY } }, required: ['items'] },
          ...errors(404),
        },
      },
    },
    async (req) => {
      await chargerOr404(central, req.params.id);
      const days = await central.store.listMeterDaily(defined({ chargerId: req.params.id, ...req.query }));
      return { items: days.map(({ chargerId: _c, ...rest }) => rest) };
    },
  );
}
