// Normalising sampled values: energy to Wh and power to W, where the measurand allows.
import type { MeterValuesRequest } from '../ocpp/index.ts';
import type { MeterSource, MeterValueInput } from '../store/types.ts';

type SampledValue = MeterValuesRequest['meterValue'][number]['sampledValue'][number];

const ENERGY_FACTORS: Record<string, number> = { Wh: 1, kWh: 1000 };
const POWER_FACTORS: Record<string, number> = { W: 1, kW: 1000 };

/** OCPP 1.6 §7.31: a sampledValue without measurand is Energy.Active.Import.Register, without unit Wh. */
export function normalise(sv: SampledValue): { wh: number | null; w: number | null } {
  if (sv.format === 'SignedData') return { wh: null, w: null };
  const measurand = sv.measurand ?? 'Energy.Active.Import.Register';
  const n = Number(sv.value);
  if (!Number.isFinite(n)) return { wh: null, w: null };
  if (measurand.startsWith('Energy.Active.')) {
    const f = ENERGY_FACTORS[sv.unit ?? 'Wh'];
    return { wh: f === undefined ? null : n * f, w: null };
  }
  if (measurand.startsWith('Power.Active.') || measurand === 'Power.Offered') {
    const f = POWER_FACTORS[sv.unit ?? 'W'];
    return { wh: null, w: f === undefined ? null : n * f };
  }
  return { wh: null, w: null };
}

export function meterRows(
  chargerId: string,
  connectorId: number,
  transactionId: number | null,
  meterValue: MeterValuesRequest['meterValue'],
  source: MeterSource,
): MeterValueInput[] {
  const rows: MeterValueInput[] = [];
  for (const mv of meterValue) {
    for (const sv of mv.sampledValue) {
      const { wh, w } = normalise(sv);
      rows.push({
        chargerId,
        connectorId,
        transactionId,
        timestamp: mv.timestamp,
        value: sv.value,
        context: sv.context ?? null,
        format: sv.format ?? null,
        measurand: sv.measurand ?? null,
        phase: sv.phase ?? null,
        location: sv.location ?? null,
        unit: sv.unit ?? null,
        wh,
        w,
        source,
      });
    }
  }
  return rows;
}
