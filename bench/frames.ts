// Pre-serialised OCPP 1.6J frames for the load generator: the constant parts are built once,
// so a MeterValues frame costs a handful of string concatenations.

export function ocppTime(ms = Date.now()): string {
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

export function bootFrame(uid: string, id: string): string {
  return JSON.stringify([
    2,
    uid,
    'BootNotification',
    {
      chargePointVendor: 'AmpereBench',
      chargePointModel: 'LoadGen-22',
      chargePointSerialNumber: id,
      firmwareVersion: '1.0.0',
    },
  ]);
}

export function statusFrame(uid: string, connectorId: number, status: string): string {
  return JSON.stringify([
    2,
    uid,
    'StatusNotification',
    { connectorId, errorCode: 'NoError', status, timestamp: ocppTime() },
  ]);
}

export function startFrame(uid: string, idTag: string): string {
  return JSON.stringify([2, uid, 'StartTransaction', { connectorId: 1, idTag, meterStart: 0, timestamp: ocppTime() }]);
}

// MeterValues: energy, total power, then current and voltage per phase (8 sampled values).
const SAMPLES_TAIL = JSON.stringify([
  { value: '11040', context: 'Sample.Periodic', measurand: 'Power.Active.Import', unit: 'W' },
  { value: '16.0', context: 'Sample.Periodic', measurand: 'Current.Import', phase: 'L1', unit: 'A' },
  { value: '16.1', context: 'Sample.Periodic', measurand: 'Current.Import', phase: 'L2', unit: 'A' },
  { value: '15.9', context: 'Sample.Periodic', measurand: 'Current.Import', phase: 'L3', unit: 'A' },
  { value: '230.1', context: 'Sample.Periodic', measurand: 'Voltage', phase: 'L1-N', unit: 'V' },
  { value: '229.8', context: 'Sample.Periodic', measurand: 'Voltage', phase: 'L2-N', unit: 'V' },
  { value: '231.0', context: 'Sample.Periodic', measurand: 'Voltage', phase: 'L3-N', unit: 'V' },
]).slice(1);

const METER_ENERGY = '","sampledValue":[{"value":"';
const METER_TAIL = `","context":"Sample.Periodic","measurand":"Energy.Active.Import.Register","unit":"Wh"},${SAMPLES_TAIL}}]}]`;

/** The part of a charger's MeterValues frame after the uniqueId up to the timestamp. */
export function meterMiddle(transactionId: number): string {
  return `","MeterValues",{"connectorId":1,"transactionId":${transactionId},"meterValue":[{"timestamp":"`;
}

/** A whole MeterValues CALL: `[2,"uid"` + middle + time + energy. */
export function meterFrame(uid: string, middle: string, time: string, energyWh: number): string {
  return '[2,"' + uid + middle + time + METER_ENERGY + energyWh + METER_TAIL;
}

/** A Heartbeat CALL after its `[2,"uid`. */
export const HEARTBEAT_MIDDLE = '","Heartbeat",{}]';
