// Unit conversion between the two chargingRateUnits of OCPP 1.6 (§7.12 ChargingRateUnitType):
// A is the current per phase, W the total power. W = A × voltage × phases.

import type { ChargingRateUnit } from './types.ts';

/** The nominal voltage (phase to neutral) used when the site does not say otherwise. */
export const DEFAULT_VOLTAGE = 230;
/** §7.14: numberPhases absent means 3. */
export const DEFAULT_PHASES = 3;

/** Converts a limit from one unit to the other; identity when the units agree. */
export function convertLimit(
  value: number,
  from: ChargingRateUnit,
  to: ChargingRateUnit,
  phases: number = DEFAULT_PHASES,
  voltage: number = DEFAULT_VOLTAGE,
): number {
  if (from === to) return value;
  return from === 'A' ? value * voltage * phases : value / (voltage * phases);
}

/** Rounds to the one decimal the 1.6 schema allows for limits (`multipleOf: 0.1`). */
export function roundLimit(value: number): number {
  return Math.round(value * 10) / 10;
}

/** Rounds down to one decimal: used wherever rounding up could exceed a limit. */
export function floorLimit(value: number): number {
  // The epsilon keeps 6.3 (stored as 6.299999…) from becoming 6.2.
  return Math.floor(value * 10 + 1e-6) / 10;
}
