// The bad-input table: malformed frames and payloads, each with its expected answer in tolerant
// and in strict mode. After the whole table the socket is still open and the charger still served.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import { TestCharger } from '../helpers/charger.ts';
import { type ServerProcess, spawnServer } from '../helpers/process.ts';

type Outcome = 'result' | string;
const ts = '2026-11-23T10:00:00Z';
const status = (o: object) => ({ connectorId: 1, errorCode: 'NoError', status: 'Available', ...o });
const mv = (sv: object, extra: object = {}) => ({
  connectorId: 1,
  meterValue: [{ timestamp: ts, sampledValue: [sv] }],
  ...extra,
});

// [name, raw frame text, uniqueId the answer must echo, tolerant outcome, strict outcome]
export const BAD_INPUT: Array<[string, string, string, Outcome, Outcome]> = [
  ['not JSON', '{oops', '-1', 'FormationViolation', 'FormationViolation'],
  ['JSON object, not an array', '{"a":1}', '-1', 'FormationViolation', 'FormationViolation'],
  ['empty array', '[]', '-1', 'FormationViolation', 'FormationViolation'],
  ['unknown message type', '[9,"b4","Heartbeat",{}]', 'b4', 'FormationViolation', 'FormationViolation'],
  ['uniqueId not a string', '[2,5,"Heartbeat",{}]', '-1', 'FormationViolation', 'FormationViolation'],
  [
    'uniqueId of 37 characters',
    `[2,"${'u'.repeat(37)}","Heartbeat",{}]`,
    'u'.repeat(37),
    'FormationViolation',
    'FormationViolation',
  ],
  ['CALL missing its payload', '[2,"b7","Heartbeat"]', 'b7', 'FormationViolation', 'FormationViolation'],
  ['payload is an array', '[2,"b8","Heartbeat",[]]', 'b8', 'FormationViolation', 'FormationViolation'],
  ['unknown action', '[2,"b9","FlyToMoon",{}]', 'b9', 'NotImplemented', 'NotImplemented'],
  [
    'central→charger action sent by a charger',
    '[2,"b10","Reset",{"type":"Hard"}]',
    'b10',
    'NotSupported',
    'NotSupported',
  ],
  [
    'BootNotification without model',
    '[2,"b11","BootNotification",{"chargePointVendor":"V"}]',
    'b11',
    'OccurenceConstraintViolation',
    'OccurenceConstraintViolation',
  ],
  [
    'connectorId not a number',
    JSON.stringify([2, 'b12', 'StatusNotification', status({ connectorId: 'one' })]),
    'b12',
    'TypeConstraintViolation',
    'TypeConstraintViolation',
  ],
  [
    'unknown status',
    JSON.stringify([2, 'b13', 'StatusNotification', status({ status: 'Sleeping' })]),
    'b13',
    'PropertyConstraintViolation',
    'PropertyConstraintViolation',
  ],
  [
    'errorCode "Error"',
    JSON.stringify([2, 'b14', 'StatusNotification', status({ errorCode: 'Error' })]),
    'b14',
    'result',
    'PropertyConstraintViolation',
  ],
  [
    'over-long serial number',
    JSON.stringify([
      2,
      'b15',
      'BootNotification',
      { chargePointVendor: 'V', chargePointModel: 'M', chargePointSerialNumber: 'S'.repeat(40) },
    ]),
    'b15',
    'result',
    'PropertyConstraintViolation',
  ],
  [
    'unit "Hz"',
    JSON.stringify([2, 'b16', 'MeterValues', mv({ value: '50', measurand: 'Frequency', unit: 'Hz' })]),
    'b16',
    'result',
    'PropertyConstraintViolation',
  ],
  [
    'sampled value as a JSON number',
    JSON.stringify([2, 'b17', 'MeterValues', mv({ value: 12.5 })]),
    'b17',
    'result',
    'TypeConstraintViolation',
  ],
  [
    'timestamp without a zone',
    JSON.stringify([
      2,
      'b18',
      'MeterValues',
      { connectorId: 1, meterValue: [{ timestamp: '2026-11-23T10:00:00', sampledValue: [{ value: '1' }] }] },
    ]),
    'b18',
    'result',
    'PropertyConstraintViolation',
  ],
  [
    'unknown measurand',
    JSON.stringify([2, 'b19', 'MeterValues', mv({ value: '1', measurand: 'Energy.Magic' })]),
    'b19',
    'result',
    'PropertyConstraintViolation',
  ],
  [
    'unknown extra field',
    JSON.stringify([2, 'b20', 'Heartbeat', { uptime: 5 }]),
    'b20',
    'result',
    'FormationViolation',
  ],
  [
    'idTag over 20 characters',
    JSON.stringify([2, 'b21', 'Authorize', { idTag: 'T'.repeat(21) }]),
    'b21',
    'PropertyConstraintViolation',
    'PropertyConstraintViolation',
  ],
  [
    'meterStart as a string',
    JSON.stringify([2, 'b22', 'StartTransaction', { connectorId: 1, idTag: 'A', meterStart: 'lots', timestamp: ts }]),
    'b22',
    'TypeConstraintViolation',
    'TypeConstraintViolation',
  ],
  [
    'StartTransaction with a bad timestamp',
    JSON.stringify([
      2,
      'b23',
      'StartTransaction',
      { connectorId: 1, idTag: 'A', meterStart: 0, timestamp: 'yesterday' },
    ]),
    'b23',
    'PropertyConstraintViolation',
    'PropertyConstraintViolation',
  ],
  [
    'MeterValues without meterValue',
    JSON.stringify([2, 'b24', 'MeterValues', { connectorId: 1 }]),
    'b24',
    'OccurenceConstraintViolation',
    'OccurenceConstraintViolation',
  ],
  [
    'DataTransfer of an unknown vendor',
    JSON.stringify([2, 'b25', 'DataTransfer', { vendorId: 'Nobody' }]),
    'b25',
    'result',
    'result',
  ],
  [
    'StopTransaction of an unknown transaction',
    JSON.stringify([2, 'b26', 'StopTransaction', { transactionId: 424242, meterStop: 1, timestamp: ts }]),
    'b26',
    'result',
    'result',
  ],
  [
    'status in the wrong case',
    JSON.stringify([2, 'b27', 'StatusNotification', status({ status: 'charging' })]),
    'b27',
    'result',
    'PropertyConstraintViolation',
  ],
  [
    '__proto__ key in a payload',
    '[2,"b28","Heartbeat",{"__proto__":{"polluted":true}}]',
    'b28',
    'result',
    'FormationViolation',
  ],
  [
    'deeply nested junk',
    `[2,"b29","DataTransfer",{"vendorId":"x","data":${'['.repeat(200)}${']'.repeat(200)}}]`,
    'b29',
    // Deeper than MAX_JSON_DEPTH (32): refused by the frame parser before validation.
    'FormationViolation',
    'FormationViolation',
  ],
];

function outcomeOf(frame: unknown[]): Outcome {
  return frame[0] === 3 ? 'result' : (frame[2] as string);
}

for (const mode of ['tolerant', 'strict'] as const) {
  describe(`bad input, ${mode} mode`, () => {
    let server: ServerProcess;
    before(async () => {
      server = await spawnServer(['--registration', 'open', '--validation', mode]);
    });
    after(async () => {
      await server?.stop();
    });

    it(`answers each of ${BAD_INPUT.length} malformed frames as expected and keeps the socket open`, async () => {
      const cp = await TestCharger.connect(server.wsUrl, `BAD-${mode}`);
      const bystander = await TestCharger.connect(server.wsUrl, `GOOD-${mode}`);
      assert.equal((await cp.boot()).status, 'Accepted');
      const got: Array<[string, Outcome]> = [];
      const want: Array<[string, Outcome]> = [];
      for (const [name, text, id, tolerant, strict] of BAD_INPUT) {
        const answer = await cp.sendRaw(text, id);
        got.push([name, outcomeOf(answer)]);
        want.push([name, mode === 'tolerant' ? tolerant : strict]);
      }
      assert.deepEqual(got, want);
      assert.equal(({} as Record<string, unknown>).polluted, undefined);
      assert.equal(cp.ws.readyState, cp.ws.OPEN);
      assert.equal((await cp.callFrame('Heartbeat', {}))[0], 3);
      assert.equal((await bystander.boot()).status, 'Accepted');
      await cp.close();
      await bystander.close();
      await server.stop();
      // Repairs are recorded as conformance findings in tolerant mode; strict records none.
      const store = await openSqliteStore({ file: join(server.data, 'ampere.db') });
      const findings = await store.listFindings(`BAD-${mode}`);
      if (mode === 'tolerant') {
        const rules = new Set(findings.items.map((f) => f.rule));
        for (const r of [
          'enum-fallback',
          'truncated-to-max-length',
          'unknown-enum-dropped',
          'number-as-string',
          'timestamp-without-zone',
        ]) {
          assert.ok(rules.has(r), `finding ${r} recorded (got ${[...rules].join(', ')})`);
        }
      } else {
        assert.equal(findings.total, 0);
      }
      await store.close();
    });
  });
}
