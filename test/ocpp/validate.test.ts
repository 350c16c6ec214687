import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { describe, it } from 'node:test';
import { isDateTime, Validator } from '../../src/ocpp/validate.ts';

const v = new Validator();

const boot = { chargePointVendor: 'GreenMotion', chargePointModel: 'AC' };

describe('strict validation', () => {
  const cases: Array<[string, string, Record<string, unknown>, string]> = [
    ['missing field', 'BootNotification', { chargePointVendor: 'x' }, 'OccurenceConstraintViolation'],
    [
      'wrong type',
      'StatusNotification',
      { connectorId: 'one', errorCode: 'NoError', status: 'Available' },
      'TypeConstraintViolation',
    ],
    [
      'enum',
      'StatusNotification',
      { connectorId: 1, errorCode: 'NoError', status: 'Sleeping' },
      'PropertyConstraintViolation',
    ],
    [
      'maxLength',
      'BootNotification',
      { ...boot, chargePointSerialNumber: 'x'.repeat(26) },
      'PropertyConstraintViolation',
    ],
    [
      'date-time',
      'StartTransaction',
      { connectorId: 1, idTag: 'A', meterStart: 0, timestamp: 'yesterday' },
      'PropertyConstraintViolation',
    ],
    ['extra field', 'Heartbeat', { foo: 1 }, 'FormationViolation'],
  ];
  for (const [name, action, payload, code] of cases) {
    it(`${name} → ${code}`, () => {
      const r = v.validate(action as 'Heartbeat', 'req', payload, 'strict');
      assert.equal(r.ok, false);
      if (!r.ok) assert.equal(r.error.code, code);
    });
  }
  it('accepts a limit with one decimal (multipleOf 0.1 on floats)', () => {
    const r = v.validate(
      'SetChargingProfile',
      'req',
      {
        connectorId: 1,
        csChargingProfiles: {
          chargingProfileId: 1,
          stackLevel: 0,
          chargingProfilePurpose: 'TxDefaultProfile',
          chargingProfileKind: 'Absolute',
          chargingSchedule: { chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit: 7.3 }] },
        },
      },
      'strict',
    );
    assert.equal(r.ok, true);
  });
});

describe('tolerant repair', () => {
  it('truncates an over-long serial number and records it', () => {
    const r = v.validate('BootNotification', 'req', { ...boot, chargePointSerialNumber: 'S'.repeat(30) }, 'tolerant');
    assert.ok(r.ok);
    assert.equal(r.payload.chargePointSerialNumber, 'S'.repeat(25));
    assert.deepEqual(r.findings, [
      {
        path: '/chargePointSerialNumber',
        rule: 'truncated-to-max-length',
        original: 'S'.repeat(30),
        repaired: 'S'.repeat(25),
      },
    ]);
  });
  it('maps errorCode "Error" to OtherError', () => {
    const r = v.validate(
      'StatusNotification',
      'req',
      { connectorId: 1, errorCode: 'Error', status: 'Faulted' },
      'tolerant',
    );
    assert.ok(r.ok);
    assert.equal(r.payload.errorCode, 'OtherError');
  });
  it('repairs sampled values: numbers, unknown unit, zone-less timestamp, unknown measurand', () => {
    const r = v.validate(
      'MeterValues',
      'req',
      {
        connectorId: 1,
        meterValue: [
          {
            timestamp: '2026-11-23T10:00:00',
            sampledValue: [
              { value: 1234.5, measurand: 'Energy.Active.Import.Register', unit: 'Wh' },
              { value: '50', measurand: 'Frequency', unit: 'Hz' },
              { value: '1', measurand: 'Energy.Something' },
            ],
          },
        ],
      },
      'tolerant',
    );
    assert.ok(r.ok);
    const mv = (r.payload.meterValue as Array<{ timestamp: string; sampledValue: Array<Record<string, unknown>> }>)[0]!;
    assert.equal(mv.timestamp, '2026-11-23T10:00:00Z');
    assert.deepEqual(mv.sampledValue, [
      { value: '1234.5', measurand: 'Energy.Active.Import.Register', unit: 'Wh' },
      { value: '50', measurand: 'Frequency' },
    ]);
    assert.deepEqual(
      r.findings.map((f) => f.rule),
      ['timestamp-without-zone', 'number-as-string', 'unknown-enum-dropped', 'unknown-enum-item-dropped'],
    );
  });
  it('still rejects what cannot be repaired', () => {
    const missing = v.validate(
      'BootNotification',
      'req',
      { chargePointVendor: 'x', chargePointSerialNumber: 'S'.repeat(30) },
      'tolerant',
    );
    assert.ok(!missing.ok);
    assert.equal(missing.error.code, 'OccurenceConstraintViolation');
    const nan = v.validate(
      'StatusNotification',
      'req',
      { connectorId: 'abc', errorCode: 'NoError', status: 'Available' },
      'tolerant',
    );
    assert.ok(!nan.ok);
    assert.equal(nan.error.code, 'TypeConstraintViolation');
    const status = v.validate(
      'StatusNotification',
      'req',
      { connectorId: 1, errorCode: 'NoError', status: 'Sleeping' },
      'tolerant',
    );
    assert.ok(!status.ok);
    assert.equal(status.error.code, 'PropertyConstraintViolation');
  });
  it('never repairs an id tag', () => {
    const r = v.validate('Authorize', 'req', { idTag: 'T'.repeat(21) }, 'tolerant');
    assert.ok(!r.ok);
  });
  it('keeps a __proto__ key as data without polluting prototypes', () => {
    const payload = JSON.parse(
      '{"connectorId":1,"errorCode":"Error","status":"Available","__proto__":{"polluted":true}}',
    );
    const r = v.validate('StatusNotification', 'req', payload, 'tolerant');
    assert.ok(r.ok);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
  });
});

describe('date-time without allocation', () => {
  const reference = (
    createRequire(import.meta.url)('ajv-formats/dist/formats.js') as {
      fullFormats: Record<string, { validate: (s: string) => boolean }>;
    }
  ).fullFormats['date-time']!.validate;

  it('gives ajv-formats’ verdict on edge cases of every field', () => {
    const cases = [
      '2026-12-01T19:45:00Z',
      '2026-12-01t19:45:00.123z',
      '2026-12-01T19:45:00+01:00',
      '2026-12-01T19:45:00-23:59',
      '2026-12-01T19:45:00+24:00',
      '2026-12-01T19:45:00+01:60',
      '2026-12-01T19:45:00+0100',
      '2026-12-01 19:45:00Z',
      '2026-12-01T19:45:00',
      '2026-13-01T00:00:00Z',
      '2026-00-01T00:00:00Z',
      '2026-12-00T00:00:00Z',
      '2026-12-32T00:00:00Z',
      '2026-04-31T00:00:00Z',
      '2024-02-29T00:00:00Z',
      '2026-02-29T00:00:00Z',
      '2000-02-29T00:00:00Z',
      '1900-02-29T00:00:00Z',
      '2026-12-01T24:00:00Z',
      '2026-12-01T23:60:00Z',
      '2026-12-01T23:59:60Z',
      '2026-12-01T22:59:60Z',
      '2026-12-31T23:59:60.5Z',
      '2026-12-01T00:59:60+01:00',
      '2026-12-01T19:45:00.Z',
      '2026-12-01T19:45Z',
      '２０２６-12-01T19:45:00Z',
      '',
    ];
    for (const c of cases) assert.equal(isDateTime(c), reference(c), c);
  });

  it('agrees with ajv-formats on random timestamps', () => {
    let seed = 7;
    const rnd = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed % n;
    };
    const d2 = (n: number) => String(n).padStart(2, '0');
    for (let i = 0; i < 20_000; i++) {
      const zone = [`Z`, `z`, `+${d2(rnd(26))}:${d2(rnd(62))}`, `-${d2(rnd(26))}:${d2(rnd(62))}`][rnd(4)];
      const frac = rnd(3) === 0 ? `.${rnd(1000)}` : '';
      const s = `${1896 + rnd(210)}-${d2(rnd(14))}-${d2(rnd(33))}T${d2(rnd(25))}:${d2(rnd(61))}:${d2(rnd(62))}${frac}${zone}`;
      assert.equal(isDateTime(s), reference(s), s);
    }
  });
});

describe('empty answers', () => {
  it('knows which answers may be empty, as the schemas say', () => {
    assert.equal(v.acceptsEmpty('MeterValues', 'conf'), true);
    assert.equal(v.acceptsEmpty('StatusNotification', 'conf'), true);
    assert.equal(v.acceptsEmpty('BootNotification', 'conf'), false);
    assert.equal(v.acceptsEmpty('StartTransaction', 'conf'), false);
    assert.equal(v.acceptsEmpty('Heartbeat', 'req'), true);
  });
});
