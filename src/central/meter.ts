// Normalising sampled values: energy to Wh and power to W, where the measurand allows (the store's
// rule, store/meter-samples.ts: what is stored and what the bridge shows agree).
import type { MeterValuesRequest } from '../ocpp/index.ts';
import { energyWh, powerW } from '../store/meter-samples.ts';

type SampledValue = MeterValuesRequest['meterValue'][number]['sampledValue'][number];

/** OCPP 1.6 §7.31: a sampledValue without measurand is Energy.Active.Import.Register, without unit Wh. */
export function normalise(sv: SampledValue): { wh: number | null; w: number | null } {
  return { wh: energyWh(sv), w: powerW(sv) };
}
