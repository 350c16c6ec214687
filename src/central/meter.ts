// Normalising sampled values: energy to Wh and power to W, where the measurand allows.
import type { MeterValuesRequest } from '../ocpp/index.ts';
import type { MeterSource, MeterValueInput } from '../store/types.ts';

type SampledValue = MeterValuesRequest['meterValue'][number]['sampledValue'][number];

const ENERGY_FACTORS: Record<string, number> = { Wh: 1, kWh: 1000 };
const POWER_FACTORS: Record<string, number> = { W: 1, kW: 1000 };

/** OCPP 1.6 §7.31: a sampledValue without measurand is Energy.Active.Import.Register, without unit Wh. */
export function normalise(sv: SampledValue): { wh: number | null; w: number | null } {
  return { wh: energyWh(sv), w: powerW(sv) };
}

/** The sampled value in Wh if it is an active energy register in a known unit, else null. */
function energyWh(sv: SampledValue): number | null {
  if (sv.format === 'SignedData') return null;
  const measurand = sv.measurand ?? 'Energy.Active.Import.Register';
  if (!measurand.startsWith('Energy.Active.')) return null;
  const f = ENERGY_FACTORS[sv.unit ?? 'Wh'];
  const n = Number(sv.value);
  return f === undefined || !Number.isFinite(n) ? null : n * f;
}

/** The sampled value in W if it is an active (or offered) power in a known unit, else null. */
function powerW(sv: SampledValue): number | null {
  if (sv.format === 'SignedData') return null;
  const measurand = sv.measurand;
  if (measurand === undefined || !(measurand.startsWith('Power.Active.') || measurand === 'Power.Offered')) return null;
  const f = POWER_FACTORS[sv.unit ?? 'W'];
  const n = Number(sv.value);
  return f === undefined || !Number.isFinite(n) ? null : n * f;
}

export function meterRows(
  chargerId: string,
  connectorId: number,
  transactionId: number | null,
  meterValue: MeterValuesRequest['meterValue'],
  source: MeterSource,
): MeterValueInput[] {
  const rows: MeterValueInput[] = [];
  for (let i = 0; i < meterValue.length; i++) {
    const mv = meterValue[i]!;
    const svs = mv.sampledValue;
    for (let j = 0; j < svs.length; j++) {
      const sv = svs[j]!;
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
        wh: energyWh(sv),
        w: powerW(sv),
        source,
      });
    }
  }
  return rows;
}
