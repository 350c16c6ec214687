// The bridge's object model: per charger and connector, the group objects of xxter's home
// controller (status and error enums, start/stop, availability, energy at stop, start/end time,
// current on a change of more than 0.2 A, max current), built from the central system's events
// only. A pure state machine: an event goes in, the objects whose value changed come out; every
// transport (MQTT, Home Assistant, KNX) maps these same objects.
import type { CentralEvent } from '../central/index.ts';
import { normalise } from '../central/index.ts';
import type { MeterValuesRequest } from '../ocpp/index.ts';

/** xxter's status enum (DPT 5.010): the OCPP 1.6 ChargePointStatus values in §7.7 order. */
export const STATUS_ENUM = [
  'Available',
  'Preparing',
  'Charging',
  'SuspendedEV',
  'SuspendedEVSE',
  'Finishing',
  'Reserved',
  'Unavailable',
  'Faulted',
] as const;

/** xxter's error enum (DPT 5.010): the OCPP 1.6 ChargePointErrorCode values (§7.6) without "Error"'s alias. */
export const ERROR_ENUM = [
  'NoError',
  'ConnectorLockFailure',
  'EVCommunicationError',
  'GroundFailure',
  'HighTemperature',
  'InternalError',
  'LocalListConflict',
  'OtherError',
  'OverCurrentFailure',
  'OverVoltage',
  'PowerMeterFailure',
  'PowerSwitchFailure',
  'ReaderFailure',
  'ResetFailure',
  'UnderVoltage',
  'WeakSignal',
] as const;

/** A charging current is published again only when it moved by more than this (xxter: 0.2 A). */
export const CURRENT_STEP_A = 0.2;

/** Objects of the charger as a whole (connector 0 in topics). */
export type ChargerObject = 'online' | 'vendor' | 'model' | 'firmware';
/** Objects of one connector. */
export type ConnectorObject =
  | 'status'
  | 'status_code'
  | 'error'
  | 'error_code'
  | 'availability'
  | 'charging'
  | 'transaction_id'
  | 'start_time'
  | 'end_time'
  | 'energy_last_wh'
  | 'current'
  | 'current_l1'
  | 'current_l2'
  | 'current_l3'
  | 'power'
  | 'session_energy_wh'
  | 'max_current'
  | 'fast_charge';

export type ObjectValue = string | number;

/** One object whose value changed: connectorId null for the charger's own objects. */
export interface ObjectChange {
  chargerId: string;
  connectorId: number | null;
  object: ChargerObject | ConnectorObject;
  value: ObjectValue;
}

interface ConnectorState {
  values: Map<ConnectorObject, ObjectValue>;
  transactionId?: number;
  meterStartWh?: number;
  /** Last published current per key, for the 0.2 A rule. */
  /** Made on the first published current: only a transport's meter objects use it. */
  publishedA: Map<string, number> | undefined;
}

interface ChargerState {
  values: Map<ChargerObject, ObjectValue>;
  connectors: Map<number, ConnectorState>;
}

/** The connector configuration the model needs: the max current restored by "restore to configured". */
export interface ModelSettings {
  configuredMaxCurrentA(chargerId: string): number | undefined;
  /**
   * Whether meter values are turned into objects (energy, power, currents). Only a transport
   * (MQTT, KNX) ever reads those objects; without one the model skips the busiest event's
   * samples and keeps only what the status and commands use (default true).
   */
  meterObjects?: boolean;
}

type SampledValue = MeterValuesRequest['meterValue'][number]['sampledValue'][number];

export class BridgeModel {
  private readonly chargers = new Map<string, ChargerState>();

  constructor(private readonly settings: ModelSettings) {}

  /** Chargers the model has seen (or those of `only`), with the connectors each reported. */
  known(only?: ReadonlySet<string>): Array<{ chargerId: string; connectors: number[]; online: boolean }> {
    const entries = only
      ? [...only].flatMap((id) => {
          const c = this.chargers.get(id);
          return c ? [[id, c] as const] : [];
        })
      : [...this.chargers];
    return entries.map(([chargerId, c]) => ({
      chargerId,
      connectors: [...c.connectors.keys()].filter((n) => n > 0).sort((a, b) => a - b),
      online: c.values.get('online') === 1,
    }));
  }

  has(chargerId: string): boolean {
    return this.chargers.has(chargerId);
  }

  transactionOf(chargerId: string, connectorId: number): number | undefined {
    return this.chargers.get(chargerId)?.connectors.get(connectorId)?.transactionId;
  }

  value(chargerId: string, connectorId: number | null, object: string): ObjectValue | undefined {
    const c = this.chargers.get(chargerId);
    if (!c) return undefined;
    if (connectorId === null) return c.values.get(object as ChargerObject);
    return c.connectors.get(connectorId)?.values.get(object as ConnectorObject);
  }

  /** Every object's current value (what a transport republishes after a reconnect). */
  snapshot(): ObjectChange[] {
    const out: ObjectChange[] = [];
    for (const [chargerId, c] of this.chargers) {
      for (const [object, value] of c.values) out.push({ chargerId, connectorId: null, object, value });
      for (const [connectorId, k] of c.connectors) {
        for (const [object, value] of k.values) out.push({ chargerId, connectorId, object, value });
      }
    }
    return out;
  }

  /** Records a value the bridge itself set (max current override, fast-charge toggle). */
  set(chargerId: string, connectorId: number, object: ConnectorObject, value: ObjectValue): ObjectChange[] {
    return this.put(this.connector(chargerId, connectorId), chargerId, connectorId, object, value);
  }

  apply(e: CentralEvent): ObjectChange[] {
    const id = e.chargerId;
    if (!id) return [];
    const d = e.data;
    switch (e.type) {
      case 'charger.connected':
        return this.putCharger(id, 'online', 1);
      case 'charger.disconnected':
        return this.putCharger(id, 'online', 0);
      case 'charger.boot':
        return [
          ...this.putCharger(id, 'vendor', String(d.chargePointVendor ?? '')),
          ...this.putCharger(id, 'model', String(d.chargePointModel ?? '')),
          ...(typeof d.firmwareVersion === 'string' ? this.putCharger(id, 'firmware', d.firmwareVersion) : []),
        ];
      case 'connector.status':
        return this.status(id, Number(d.connectorId), String(d.status), String(d.errorCode ?? 'NoError'));
      case 'transaction.started':
        return this.started(id, d);
      case 'transaction.stopped':
        return this.stopped(id, d);
      case 'meter.values':
        return this.meter(id, Number(d.connectorId), d.meterValue as MeterValuesRequest['meterValue']);
      default:
        return [];
    }
  }

  // -------------------------------------------------------------- event handlers

  private status(id: string, connectorId: number, status: string, errorCode: string): ObjectChange[] {
    const k = this.connector(id, connectorId);
    const out = [
      ...this.put(k, id, connectorId, 'status', status),
      ...this.put(k, id, connectorId, 'status_code', enumIndex(STATUS_ENUM, status)),
      ...this.put(k, id, connectorId, 'error', errorCode),
      ...this.put(k, id, connectorId, 'error_code', enumIndex(ERROR_ENUM, errorCode)),
      // OCPP 1.6 §4.9: Unavailable is the state ChangeAvailability(Inoperative) leads to; Faulted too is not usable.
      ...this.put(k, id, connectorId, 'availability', status === 'Unavailable' || status === 'Faulted' ? 0 : 1),
    ];
    if (connectorId > 0 && !k.values.has('max_current')) {
      const configured = this.settings.configuredMaxCurrentA(id);
      if (configured !== undefined) out.push(...this.put(k, id, connectorId, 'max_current', configured));
    }
    return out;
  }

  private started(id: string, d: Record<string, unknown>): ObjectChange[] {
    const connectorId = Number(d.connectorId);
    const k = this.connector(id, connectorId);
    k.transactionId = Number(d.transactionId);
    k.meterStartWh = Number(d.meterStart);
    k.publishedA?.clear();
    return [
      ...this.put(k, id, connectorId, 'transaction_id', k.transactionId),
      ...this.put(k, id, connectorId, 'start_time', String(d.timestamp)),
      ...this.put(k, id, connectorId, 'session_energy_wh', 0),
      ...this.put(k, id, connectorId, 'fast_charge', 0),
      ...this.put(k, id, connectorId, 'charging', 1),
    ];
  }

  private stopped(id: string, d: Record<string, unknown>): ObjectChange[] {
    const c = this.chargers.get(id);
    const connectorId =
      typeof d.connectorId === 'number'
        ? d.connectorId
        : [...(c?.connectors ?? [])].find(([, k]) => k.transactionId === d.transactionId)?.[0];
    if (connectorId === undefined) return [];
    const k = this.connector(id, connectorId);
    const energy =
      typeof d.energyWh === 'number'
        ? d.energyWh
        : k.meterStartWh !== undefined
          ? Number(d.meterStop) - k.meterStartWh
          : undefined;
    delete k.transactionId;
    delete k.meterStartWh;
    const out = [
      ...this.put(k, id, connectorId, 'end_time', String(d.timestamp)),
      ...(energy !== undefined ? this.put(k, id, connectorId, 'energy_last_wh', Math.round(energy)) : []),
      ...(energy !== undefined ? this.put(k, id, connectorId, 'session_energy_wh', Math.round(energy)) : []),
      ...this.put(k, id, connectorId, 'power', 0),
    ];
    for (const key of ['current', 'current_l1', 'current_l2', 'current_l3'] as const) {
      if (k.values.has(key)) this.current(out, k, id, connectorId, key, 0);
    }
    out.push(...this.put(k, id, connectorId, 'charging', 0));
    return out;
  }

  // Runs for every MeterValues of every charger: changes are pushed into one array (no spread
  // copies) and each sampled value is normalised only for the one object it can change.
  private meter(id: string, connectorId: number, meterValue: MeterValuesRequest['meterValue']): ObjectChange[] {
    if (connectorId === 0) return [];
    const k = this.connector(id, connectorId);
    // Without a transport nothing reads these objects: the payload is not looked at.
    if (this.settings.meterObjects === false || !Array.isArray(meterValue) || meterValue.length === 0) return [];
    const out: ObjectChange[] = [];
    const svs = meterValue[meterValue.length - 1]!.sampledValue;
    let l1: number | undefined;
    let l2: number | undefined;
    let l3: number | undefined;
    let total: number | undefined;
    for (let i = 0; i < svs.length; i++) {
      const sv = svs[i]!;
      const measurand = sv.measurand ?? 'Energy.Active.Import.Register';
      if (measurand === 'Energy.Active.Import.Register') {
        const wh = k.meterStartWh !== undefined ? normalise(sv).wh : null;
        if (wh !== null) this.putInto(out, k, id, connectorId, 'session_energy_wh', Math.round(wh - k.meterStartWh!));
      } else if (measurand === 'Power.Active.Import') {
        const w = sv.phase === undefined ? normalise(sv).w : null;
        if (w !== null) this.putInto(out, k, id, connectorId, 'power', Math.round(w));
      } else if (measurand === 'Current.Import') {
        const a = amperes(sv);
        if (a === undefined) continue;
        const phase = phaseIndex(sv.phase);
        if (phase === undefined) total = a;
        else if (phase === 0) l1 = a;
        else if (phase === 1) l2 = a;
        else l3 = a;
      }
    }
    if (l1 !== undefined) this.current(out, k, id, connectorId, 'current_l1', l1);
    if (l2 !== undefined) this.current(out, k, id, connectorId, 'current_l2', l2);
    if (l3 !== undefined) this.current(out, k, id, connectorId, 'current_l3', l3);
    // The charging current of the connector: the highest phase current (a 1-phase car draws on L1 only).
    const current = total ?? maxDefined(l1, l2, l3);
    if (current !== undefined) this.current(out, k, id, connectorId, 'current', current);
    return out;
  }

  /** xxter: a current is sent on a change of more than 0.2 A, so small meter noise stays off the bus. */
  private current(
    out: ObjectChange[],
    k: ConnectorState,
    id: string,
    connectorId: number,
    key: ConnectorObject,
    a: number,
  ): void {
    const last = k.publishedA?.get(key);
    if (last !== undefined && Math.abs(a - last) <= CURRENT_STEP_A && !(a === 0 && last !== 0)) return;
    k.publishedA ??= new Map();
    k.publishedA.set(key, a);
    this.putInto(out, k, id, connectorId, key, Math.round(a * 10) / 10);
  }

  // -------------------------------------------------------------- state

  private charger(id: string): ChargerState {
    let c = this.chargers.get(id);
    if (!c) {
      c = { values: new Map(), connectors: new Map() };
      this.chargers.set(id, c);
    }
    return c;
  }

  private connector(id: string, connectorId: number): ConnectorState {
    const c = this.charger(id);
    let k = c.connectors.get(connectorId);
    if (!k) {
      k = { values: new Map(), publishedA: undefined };
      c.connectors.set(connectorId, k);
    }
    return k;
  }

  private putCharger(id: string, object: ChargerObject, value: ObjectValue): ObjectChange[] {
    const c = this.charger(id);
    if (c.values.get(object) === value) return [];
    c.values.set(object, value);
    return [{ chargerId: id, connectorId: null, object, value }];
  }

  private put(
    k: ConnectorState,
    id: string,
    connectorId: number,
    object: ConnectorObject,
    value: ObjectValue,
  ): ObjectChange[] {
    const out: ObjectChange[] = [];
    this.putInto(out, k, id, connectorId, object, value);
    return out;
  }

  /** Sets an object's value; a change (only) is pushed to `out`. */
  private putInto(
    out: ObjectChange[],
    k: ConnectorState,
    id: string,
    connectorId: number,
    object: ConnectorObject,
    value: ObjectValue,
  ): void {
    if (k.values.get(object) === value) return;
    k.values.set(object, value);
    out.push({ chargerId: id, connectorId, object, value });
  }
}

function enumIndex(values: readonly string[], name: string): number {
  const i = values.indexOf(name);
  // An unknown error name (a vendor's own) is reported as OtherError, an unknown status as Faulted.
  return i >= 0 ? i : values === (ERROR_ENUM as readonly string[]) ? 7 : 8;
}

function amperes(sv: SampledValue): number | undefined {
  if (sv.format === 'SignedData') return undefined;
  const n = Number(sv.value);
  if (!Number.isFinite(n)) return undefined;
  return sv.unit === undefined || sv.unit === 'A' ? n : undefined;
}

/** The largest of the values that are defined, or undefined when none is. */
function maxDefined(...values: (number | undefined)[]): number | undefined {
  let max: number | undefined;
  for (const v of values) if (v !== undefined && (max === undefined || v > max)) max = v;
  return max;
}

/** L1, L1-N, L1-L2 → 0; no phase → undefined. */
function phaseIndex(phase: string | undefined): number | undefined {
  if (phase === undefined || phase.charCodeAt(0) !== 0x4c /* L */) return undefined;
  const n = phase.charCodeAt(1) - 0x31; // '1' → 0
  return n >= 0 && n <= 2 ? n : undefined;
}
