// Commands and configuration: every central→charger message over the API, and the error mapping
// of a charger that is offline (409), silent (504) or answers with a CALLERROR (502).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { CENTRAL_ACTIONS, createValidator } from '../../src/ocpp/index.ts';
import type { TestCharger } from '../helpers/charger.ts';
import { iso, startTestServer, type TestServer } from './helpers.ts';

const SOON = iso(Date.now() + 3_600_000);
const PROFILE = {
  chargingProfileId: 1,
  stackLevel: 0,
  chargingProfilePurpose: 'TxDefaultProfile',
  chargingProfileKind: 'Absolute',
  // 7.3 is not a multiple of 0.1 in IEEE 754: the schema check needs a tolerance.
  chargingSchedule: { chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit: 7.3 }] },
};
const HASH = { hashAlgorithm: 'SHA256', issuerNameHash: 'a1', issuerKeyHash: 'b2', serialNumber: 'c3' };

/** A valid request and the charger's valid answer, for every message a central system sends. */
const EXAMPLES: Record<string, [Record<string, unknown>, Record<string, unknown>]> = {
  CancelReservation: [{ reservationId: 1 }, { status: 'Accepted' }],
  ChangeAvailability: [{ connectorId: 0, type: 'Inoperative' }, { status: 'Scheduled' }],
  ChangeConfiguration: [{ key: 'MeterValueSampleInterval', value: '10' }, { status: 'Accepted' }],
  ClearCache: [{}, { status: 'Accepted' }],
  ClearChargingProfile: [{ id: 1 }, { status: 'Accepted' }],
  DataTransfer: [
    { vendorId: 'com.example', messageId: 'ping', data: 'x' },
    { status: 'Accepted', data: 'pong' },
  ],
  GetCompositeSchedule: [{ connectorId: 1, duration: 3600 }, { status: 'Rejected' }],
  GetConfiguration: [{}, { configurationKey: [{ key: 'HeartbeatInterval', readonly: false, value: '300' }] }],
  GetDiagnostics: [{ location: 'ftp://logs.example/' }, { fileName: 'diag.zip' }],
  GetLocalListVersion: [{}, { listVersion: 3 }],
  RemoteStartTransaction: [{ idTag: 'TAG1', connectorId: 1 }, { status: 'Accepted' }],
  RemoteStopTransaction: [{ transactionId: 12 }, { status: 'Rejected' }],
  ReserveNow: [{ connectorId: 1, expiryDate: SOON, idTag: 'TAG1', reservationId: 7 }, { status: 'Occupied' }],
  Reset: [{ type: 'Soft' }, { status: 'Accepted' }],
  SendLocalList: [
    { listVersion: 4, updateType: 'Full', localAuthorizationList: [{ idTag: 'TAG1' }] },
    { status: 'Accepted' },
  ],
  SetChargingProfile: [{ connectorId: 1, csChargingProfiles: PROFILE }, { status: 'Accepted' }],
  TriggerMessage: [{ requestedMessage: 'StatusNotification', connectorId: 1 }, { status: 'Accepted' }],
  UnlockConnector: [{ connectorId: 1 }, { status: 'Unlocked' }],
  UpdateFirmware: [{ location: 'https://fw.example/1.2.bin', retrieveDate: SOON }, {}],
  CertificateSigned: [{ certificateChain: '-----BEGIN CERTIFICATE-----' }, { status: 'Accepted' }],
  DeleteCertificate: [{ certificateHashData: HASH }, { status: 'NotFound' }],
  ExtendedTriggerMessage: [{ requestedMessage: 'Heartbeat' }, { status: 'Accepted' }],
  GetInstalledCertificateIds: [
    { certificateType: 'CentralSystemRootCertificate' },
    { status: 'Accepted', certificateHashData: [HASH] },
  ],
  GetLog: [
    { logType: 'SecurityLog', requestId: 5, log: { remoteLocation: 'https://logs.example/' } },
    { status: 'Accepted', filename: 'sec.log' },
  ],
  InstallCertificate: [
    { certificateType: 'ManufacturerRootCertificate', certificate: '-----BEGIN CERTIFICATE-----' },
    { status: 'Accepted' },
  ],
  SignedUpdateFirmware: [
    {
      requestId: 9,
      firmware: {
        location: 'https://fw.example/2.bin',
        retrieveDateTime: SOON,
        signingCertificate: 'PEM',
        signature: 'c2ln',
      },
    },
    { status: 'Accepted' },
  ],
};

describe('commands API', () => {
  let s: TestServer;
  let c: TestCharger;
  const config = new Map<string, string>(
    Object.entries({
      GetConfigurationMaxKeys: '2',
      HeartbeatInterval: '300',
      MeterValueSampleInterval: '60',
      NumberOfConnectors: '1',
      AuthorizeRemoteTxRequests: 'true',
    }),
  );
  const getConfigurationCalls: unknown[] = [];

  before(async () => {
    s = await startTestServer();
    c = await s.charger('CMD-1');
    c.onCall = (action, payload) => {
      if (action === 'GetConfiguration') {
        getConfigurationCalls.push(payload);
        const keys = (payload.key as string[] | undefined) ?? [...config.keys()];
        if (keys.length > Number(config.get('GetConfigurationMaxKeys'))) return { configurationKey: [] };
        return {
          configurationKey: keys
            .filter((k) => config.has(k))
            .map((k) => ({ key: k, readonly: k === 'NumberOfConnectors', value: config.get(k) })),
          unknownKey: keys.filter((k) => !config.has(k)),
        };
      }
      if (action === 'ChangeConfiguration') {
        if (!config.has(payload.key as string)) return { status: 'NotSupported' };
        config.set(payload.key as string, payload.value as string);
        return { status: 'Accepted' };
      }
      return EXAMPLES[action]?.[1] ?? {};
    };
  });
  after(async () => {
    await c.close();
    await s.close();
  });

  test('the examples are themselves valid against the OCA schemas', () => {
    const v = createValidator();
    assert.deepEqual(Object.keys(EXAMPLES).sort(), [...CENTRAL_ACTIONS].sort());
    for (const [action, [req, conf]] of Object.entries(EXAMPLES)) {
      assert.equal(v.validate(action as never, 'req', req, 'strict').ok, true, `${action}.req`);
      assert.equal(v.validate(action as never, 'conf', conf, 'strict').ok, true, `${action}.conf`);
    }
  });

  test('every central→charger message: the body is sent, the answer returned', async () => {
    const saved = c.onCall;
    for (const action of CENTRAL_ACTIONS) {
      const [req, conf] = EXAMPLES[action]!;
      let seen: [string, unknown] | undefined;
      c.onCall = (a, p) => {
        seen = [a, p];
        return conf;
      };
      const r = await s.api('POST', `/api/chargers/CMD-1/commands/${action}`, req);
      assert.equal(r.status, 200, `${action}: ${JSON.stringify(r.body)}`);
      assert.deepEqual(r.body, conf, action);
      assert.deepEqual(seen, [action, req], action);
    }
    c.onCall = saved;
  });

  test('400 names the failing field of the message schema', async () => {
    const cases: [string, unknown, string][] = [
      ['Reset', { type: 'Medium' }, 'body.type'],
      ['Reset', {}, 'body.type'],
      ['ChangeAvailability', { connectorId: '1', type: 'Operative' }, 'body.connectorId'],
      ['RemoteStartTransaction', { idTag: 'X'.repeat(21) }, 'body.idTag'],
      ['RemoteStartTransaction', { idTag: 'A', colour: 'red' }, 'body.colour'],
      [
        'SetChargingProfile',
        { connectorId: 1, csChargingProfiles: { ...PROFILE, stackLevel: 'top' } },
        'body.csChargingProfiles.stackLevel',
      ],
      ['UpdateFirmware', { location: 'https://x/', retrieveDate: 'tomorrow' }, 'body.retrieveDate'],
    ];
    for (const [action, body, field] of cases) {
      const r = await s.api('POST', `/api/chargers/CMD-1/commands/${action}`, body);
      assert.equal(r.status, 400, `${action} ${JSON.stringify(body)}`);
      assert.equal(r.body.error.code, 'AMPERE_ERR_BAD_REQUEST');
      assert.equal(r.body.error.details.field, field, r.body.error.message);
      assert.ok(r.body.error.message.includes(field));
    }
  });

  test('404 for an unknown action or charger; 409 for an offline charger', async () => {
    const unknownAction = await s.api('POST', '/api/chargers/CMD-1/commands/BootNotification', {});
    assert.equal(unknownAction.status, 404);
    assert.ok(unknownAction.body.error.details.actions.includes('Reset'));
    const unknownCharger = await s.api('POST', '/api/chargers/NOPE/commands/Reset', { type: 'Soft' });
    assert.equal(unknownCharger.status, 404);
    await s.api('POST', '/api/chargers', { id: 'OFF-1' });
    const offline = await s.api('POST', '/api/chargers/OFF-1/commands/Reset', { type: 'Soft' });
    assert.equal(offline.status, 409);
    assert.equal(offline.body.error.code, 'AMPERE_ERR_CHARGER_OFFLINE');
    const offlineConfig = await s.api('GET', '/api/chargers/OFF-1/configuration');
    assert.equal(offlineConfig.status, 409);
  });

  test('502 with the charger CALLERROR code and text', async () => {
    const saved = c.onCall;
    c.onCall = (_a, _p) => undefined;
    c.ws.removeAllListeners('message');
    // Answer with a CALLERROR frame by hand.
    c.ws.on('message', (data) => {
      const f = JSON.parse(data.toString());
      if (f[0] === 2) c.ws.send(JSON.stringify([4, f[1], 'NotSupported', 'No reset here', { hint: 1 }]));
    });
    const r = await s.api('POST', '/api/chargers/CMD-1/commands/Reset', { type: 'Hard' });
    assert.equal(r.status, 502);
    assert.equal(r.body.error.code, 'AMPERE_ERR_CHARGER_CALLERROR');
    assert.equal(r.body.error.details.ocppCode, 'NotSupported');
    assert.equal(r.body.error.details.description, 'No reset here');
    c.onCall = saved;
  });

  test('504 when the charger does not answer in time', async () => {
    const silent = await s.charger('CMD-SILENT');
    silent.onCall = () => undefined;
    const t0 = Date.now();
    const r = await s.api('POST', '/api/chargers/CMD-SILENT/commands/ClearCache', {});
    assert.equal(r.status, 504);
    assert.equal(r.body.error.code, 'AMPERE_ERR_CALL_TIMEOUT');
    assert.ok(Date.now() - t0 < 3000);
    await silent.close();
  });

  test('502 when the answer fails its schema', async () => {
    const odd = await s.charger('CMD-ODD');
    odd.onCall = () => ({ status: 'Perhaps' });
    const r = await s.api('POST', '/api/chargers/CMD-ODD/commands/Reset', { type: 'Soft' });
    assert.equal(r.status, 502);
    assert.equal(r.body.error.code, 'AMPERE_ERR_CHARGER_BAD_RESPONSE');
    await odd.close();
  });
});

describe('configuration API', () => {
  let s: TestServer;
  let c: TestCharger;
  const config = new Map<string, string>(
    Object.entries({
      GetConfigurationMaxKeys: '2',
      HeartbeatInterval: '300',
      MeterValueSampleInterval: '60',
      NumberOfConnectors: '1',
      AuthorizeRemoteTxRequests: 'true',
    }),
  );
  const calls: unknown[] = [];
  before(async () => {
    s = await startTestServer();
    c = await s.charger('CFG-1');
    c.onCall = (action, payload) => {
      if (action === 'GetConfiguration') {
        calls.push(payload.key ?? null);
        const keys = (payload.key as string[] | undefined) ?? [...config.keys()];
        return {
          configurationKey: keys
            .filter((k) => config.has(k))
            .map((k) => ({ key: k, readonly: k === 'NumberOfConnectors', value: config.get(k) })),
          ...(keys.some((k) => !config.has(k)) ? { unknownKey: keys.filter((k) => !config.has(k)) } : {}),
        };
      }
      if (action === 'ChangeConfiguration') {
        if (payload.key === 'NumberOfConnectors') return { status: 'Rejected' };
        config.set(payload.key as string, payload.value as string);
        return { status: 'Accepted' };
      }
      return {};
    };
  });
  after(async () => {
    await c.close();
    await s.close();
  });

  test('read all, then the stored copy with readonly flags', async () => {
    const r = await s.api('GET', '/api/chargers/CFG-1/configuration');
    assert.equal(r.status, 200);
    assert.equal(r.body.configurationKey.length, 5);
    assert.equal(r.body.requests, 1);
    const stored = await s.api('GET', '/api/chargers/CFG-1/configuration/stored');
    assert.equal(stored.status, 200);
    const n = stored.body.items.find((e: any) => e.key === 'NumberOfConnectors');
    assert.deepEqual([n.value, n.readonly, typeof n.updatedAt], ['1', true, 'string']);
    assert.equal((await s.api('GET', '/api/chargers/NOPE/configuration/stored')).status, 404);
  });

  test('a key list is paged by GetConfigurationMaxKeys', async () => {
    calls.length = 0;
    const keys = [
      'HeartbeatInterval',
      'MeterValueSampleInterval',
      'NumberOfConnectors',
      'AuthorizeRemoteTxRequests',
      'Nope',
    ];
    const r = await s.api('GET', `/api/chargers/CFG-1/configuration?key=${keys.join(',')}`);
    assert.equal(r.status, 200);
    assert.deepEqual(calls, [keys.slice(0, 2), keys.slice(2, 4), keys.slice(4)]);
    assert.equal(r.body.requests, 3);
    assert.equal(r.body.configurationKey.length, 4);
    assert.deepEqual(r.body.unknownKey, ['Nope']);
  });

  test('change a key: the stored copy follows an accepted change', async () => {
    const r = await s.api('PUT', '/api/chargers/CFG-1/configuration/HeartbeatInterval', { value: '120' });
    assert.deepEqual([r.status, r.body], [200, { status: 'Accepted' }]);
    const stored = await s.api('GET', '/api/chargers/CFG-1/configuration/stored');
    assert.equal(stored.body.items.find((e: any) => e.key === 'HeartbeatInterval').value, '120');
    const refused = await s.api('PUT', '/api/chargers/CFG-1/configuration/NumberOfConnectors', { value: '2' });
    assert.deepEqual(refused.body, { status: 'Rejected' });
    const bad = await s.api('PUT', '/api/chargers/CFG-1/configuration/HeartbeatInterval', { value: 120 });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.details.field, 'body.value');
  });
});
