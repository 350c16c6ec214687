// The public surface of smart/: pure functions of data and time (docs/architecture.md, rooms).

export * from './actuation.ts';
export * from './balancer.ts';
export * from './composite.ts';
export * from './engine.ts';
export * from './ledger.ts';
export * from './planner.ts';
export * from './profiles.ts';
export { zoneOffsetMs } from './time.ts';
export type * from './types.ts';
export { convertLimit, DEFAULT_PHASES, DEFAULT_VOLTAGE, floorLimit, roundLimit } from './units.ts';
export * from './vendor-capabilities.ts';
