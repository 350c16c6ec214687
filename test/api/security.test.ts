// Per-charger security over the API: profile and AuthorizationKey (write-only), the raise
// procedure, security events, charger certificates, conformance findings; real WebSocket chargers
// with Basic auth at the upgrade, and a check that no key reaches an answer or a log line.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { Writable } from 'node:stream';
import { after, before, describe, test } from 'node:test';
import { pino } from 'pino';
import { createCsr } from '../../src/central/security/index.ts';
import { TestCharger } from '../helpers/charger.ts';
import { CPO, makePki } from '../security/helpers.ts';
import { startTestServer, type TestServer, until } from './helpers.ts';

const KEY1 = '0123456789abcdef0123456789abcdef01234567'; // 40 hex digits = 20 bytes
const KEY2 = 'correct-horse-123'; // 17 characters of text
const KEY3 = 'FEDCBA9876543210FEDCBA9876543210'; // 32 hex digits
const KEY4 = 'never-sent-key-42';
const KEYS = [KEY1, KEY2, KEY3, KEY4];

const basic = (id: string, key: string) => ({
  authorization: `Basic ${Buffer.from(`${id}:${key}`).toString('base64')}`,
});

describe('security API', () => {
  let s: TestServer;
  const logLines: string[] = [];
  const open: TestCharger[] = [];
  const connect = async (id: string, key?: string) => {
    const c = await TestCharger.connect(s.ws, id, key ? { headers: basic(id, key) } : {});
    open.push(c);
    return c;
  };

  before(async () => {
    const sink = new Writable({
      write(chunk, _enc, done) {
        logLines.push(chunk.toString());
        done();
      },
    });
    s = await startTestServer({}, { log: pino({ level: 'trace' }, sink) });
  });
  after(async () => {
    for (const c of open) await c.close().catch(() => {});
    await s.close();
  });

  test('reading and refusing: 404, 400 with the field named, 409 for an impossible profile', async () => {
    assert.equal((await s.api('GET', '/api/chargers/NOPE/security')).status, 404);
    assert.equal((await s.api('PUT', '/api/chargers/NOPE/security', { profile: 0 })).status, 404);
    assert.equal((await s.api('POST', '/api/chargers', { id: 'SEC-1' })).status, 201);

    const got = await s.api('GET', '/api/chargers/SEC-1/security');
    assert.equal(got.status, 200);
    assert.deepEqual(got.body, {
      chargerId: 'SEC-1',
      securityProfile: 0,
      pendingProfile: null,
      authorizationKeySet: false,
      connected: false,
      server: { tls: false, clientCa: false, ca: false, cpoName: null, cnCheck: 'id' },
    });

    const cases: [unknown, string][] = [
      [{}, 'body.profile'],
      [{ authorizationKey: 'short' }, 'body.authorizationKey'],
      [{ profile: 5 }, 'body.profile'],
      [{ push: true }, 'body.push'],
      [{ authorizationKey: KEY1, extra: 1 }, 'body.extra'],
    ];
    for (const [body, field] of cases) {
      const r = await s.api('PUT', '/api/chargers/SEC-1/security', body);
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.equal(r.body.error.details.field, field);
    }
    // 25 characters: neither 16-20 of text nor 32-40 hex digits (A00.FR.205); not echoed.
    const odd = 'x'.repeat(25);
    const bad = await s.api('PUT', '/api/chargers/SEC-1/security', { authorizationKey: odd });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /16 to 20/);
    assert.equal(JSON.stringify(bad.body).includes(odd), false);

    const noKey = await s.api('PUT', '/api/chargers/SEC-1/security', { profile: 1 });
    assert.equal(noKey.status, 409);
    assert.match(noKey.body.error.message, /AuthorizationKey/);
    // Profile 2 needs TLS: refused before anything changes (the key is not stored either).
    const noTls = await s.api('PUT', '/api/chargers/SEC-1/security', { profile: 2, authorizationKey: KEY4 });
    assert.equal(noTls.status, 409);
    assert.match(noTls.body.error.message, /TLS/);
    assert.equal((await s.api('GET', '/api/chargers/SEC-1/security')).body.authorizationKeySet, false);
  });

  test('offline: the key is stored as configured on the charger, and profile 1 is enforced at the upgrade', async () => {
    const r = await s.api('PUT', '/api/chargers/SEC-1/security', { profile: 1, authorizationKey: KEY1 });
    assert.equal(r.status, 200);
    assert.equal(r.body.authorizationKeyStatus, 'Stored');
    assert.equal(r.body.securityProfile, 1);
    assert.equal(r.body.authorizationKeySet, true);
    assert.equal('authorizationKey' in r.body, false);

    await assert.rejects(connect('SEC-1'), /HTTP 401/);
    await assert.rejects(connect('SEC-1', KEY2), /HTTP 401/);
    const c = await connect('SEC-1', KEY1);
    assert.equal((await c.boot()).status, 'Accepted');
    assert.equal((await s.api('GET', '/api/chargers/SEC-1/security')).body.connected, true);
    assert.equal((await s.api('GET', '/api/chargers/SEC-1')).body.securityProfile, 1);
    await c.close();
  });

  test('connected: the key goes out with ChangeConfiguration; Accepted replaces it, Rejected keeps the old one', async () => {
    let answer = 'Accepted';
    const sent: Record<string, unknown>[] = [];
    const c = await connect('SEC-1', KEY1);
    c.onCall = (action, payload) => {
      if (action !== 'ChangeConfiguration') return {};
      sent.push(payload);
      return { status: answer };
    };
    await c.boot();
    const r = await s.api('PUT', '/api/chargers/SEC-1/security', { authorizationKey: KEY2 });
    assert.equal(r.status, 200);
    assert.equal(r.body.authorizationKeyStatus, 'Accepted');
    assert.deepEqual(sent, [{ key: 'AuthorizationKey', value: KEY2 }]);
    await c.close();
    await until(async () => !(await s.api('GET', '/api/chargers/SEC-1/security')).body.connected);
    await assert.rejects(connect('SEC-1', KEY1), /HTTP 401/, 'the old key stops working');

    const c2 = await connect('SEC-1', KEY2);
    c2.onCall = c.onCall;
    await c2.boot();
    answer = 'Rejected';
    const rejected = await s.api('PUT', '/api/chargers/SEC-1/security', { authorizationKey: KEY3 });
    assert.equal(rejected.status, 200);
    assert.equal(rejected.body.authorizationKeyStatus, 'Rejected');
    // push: false = the key was set on the charger by other means: nothing is sent.
    const count = sent.length;
    const local = await s.api('PUT', '/api/chargers/SEC-1/security', { authorizationKey: KEY2, push: false });
    assert.equal(local.body.authorizationKeyStatus, 'Stored');
    assert.equal(sent.length, count);
    await c2.close();
    await assert.rejects(connect('SEC-1', KEY3), /HTTP 401/, 'a rejected key never becomes valid');
    const c3 = await connect('SEC-1', KEY2);
    await c3.close();

    // Lowering the profile is the operator's word.
    const lowered = await s.api('PUT', '/api/chargers/SEC-1/security', { profile: 0 });
    assert.equal(lowered.body.securityProfile, 0);
    assert.equal(lowered.body.authorizationKeyStatus, null);
  });

  test('offline charger: a rotation that cannot reach it is a 409 only when pushing is forced', async () => {
    const r = await s.api('PUT', '/api/chargers/SEC-1/security', { authorizationKey: KEY2, push: true });
    assert.equal(r.status, 409);
    assert.equal(r.body.error.code, 'AMPERE_ERR_CHARGER_OFFLINE');
  });

  test('raise: the documented procedure, pending until the charger reconnects with the new profile', async () => {
    await s.api('POST', '/api/chargers', { id: 'RAISE-1' });
    await s.api('PUT', '/api/chargers/RAISE-1/security', { authorizationKey: KEY3 });
    assert.equal((await s.api('POST', '/api/chargers/NOPE/security/raise', { profile: 1 })).status, 404);
    const offline = await s.api('POST', '/api/chargers/RAISE-1/security/raise', { profile: 1 });
    assert.equal(offline.status, 409);
    assert.equal(offline.body.error.code, 'AMPERE_ERR_CHARGER_OFFLINE');

    const sent: Record<string, unknown>[] = [];
    const onCall = (action: string, payload: Record<string, unknown>) => {
      if (action === 'ChangeConfiguration') sent.push(payload);
      return action === 'ChangeConfiguration' ? { status: 'Accepted' } : {};
    };
    const c = await connect('RAISE-1');
    c.onCall = onCall;
    await c.boot();
    const zero = await s.api('POST', '/api/chargers/RAISE-1/security/raise', { profile: 0 });
    assert.equal(zero.status, 400);
    assert.equal(zero.body.error.details.field, 'body.profile');
    const tls = await s.api('POST', '/api/chargers/RAISE-1/security/raise', { profile: 2 });
    assert.equal(tls.status, 409);
    assert.match(tls.body.error.message, /TLS/);

    const r = await s.api('POST', '/api/chargers/RAISE-1/security/raise', { profile: 1 });
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { status: 'Accepted', securityProfile: 0, pendingProfile: 1 });
    assert.deepEqual(sent, [{ key: 'SecurityProfile', value: '1' }]);
    assert.equal((await s.api('GET', '/api/chargers/RAISE-1/security')).body.pendingProfile, 1);
    await c.close();

    // The old profile keeps working until the charger has connected with the new one (A05.FR.07).
    const fallback = await connect('RAISE-1');
    await fallback.close();
    const raised = await connect('RAISE-1', KEY3);
    await raised.close();
    const after = (await s.api('GET', '/api/chargers/RAISE-1/security')).body;
    assert.equal(after.securityProfile, 1);
    assert.equal(after.pendingProfile, null);
    await assert.rejects(connect('RAISE-1'), /HTTP 401/, 'lower profiles are refused once raised');

    const again = await connect('RAISE-1', KEY3);
    const same = await s.api('POST', '/api/chargers/RAISE-1/security/raise', { profile: 1 });
    assert.equal(same.status, 409);
    await again.close();
  });

  test('security events of a charger, and of all', async () => {
    assert.equal((await s.api('GET', '/api/chargers/NOPE/security/events')).status, 404);
    const r = await s.api('GET', '/api/chargers/SEC-1/security/events');
    assert.equal(r.status, 200);
    const types = new Set(r.body.items.map((e: any) => e.type));
    for (const t of ['FailedToAuthenticate', 'ReconfigurationOfSecurityParameters']) assert.ok(types.has(t), t);
    const failed = r.body.items.find((e: any) => e.type === 'FailedToAuthenticate');
    assert.equal(failed.source, 'central');
    assert.equal(failed.chargerId, 'SEC-1');
    assert.match(failed.data.remoteAddress, /127\.0\.0\.1/);
    assert.ok(r.body.items.every((e: any) => e.chargerId === 'SEC-1'));
    const one = await s.api('GET', '/api/chargers/SEC-1/security/events?limit=1');
    assert.equal(one.body.items.length, 1);
    assert.equal(one.body.total, r.body.total);
    assert.equal((await s.api('GET', '/api/chargers/SEC-1/security/events?limit=0')).status, 400);

    const all = await s.api('GET', '/api/security/events?chargerId=RAISE-1');
    assert.equal(all.status, 200);
    assert.ok(all.body.items.some((e: any) => e.type === 'SecurityProfileRaised' && e.data.to === 1));
    assert.equal((await s.api('GET', '/api/security/events?bogus=1')).status, 400);
  });

  test('a certificate needs the built-in CA: 409 without one', async () => {
    assert.equal((await s.api('POST', '/api/chargers/NOPE/certificate', {})).status, 404);
    const r = await s.api('POST', '/api/chargers/SEC-1/certificate', {});
    assert.equal(r.status, 409);
    assert.match(r.body.error.message, /CA/);
  });

  test('conformance findings, and the per-charger validation mode', async () => {
    const c = await connect('FIND-1');
    await c.boot();
    const noZone = {
      connectorId: 1,
      meterValue: [{ timestamp: '2026-11-23T10:00:00', sampledValue: [{ value: '1' }] }],
    };
    assert.equal((await c.callFrame('MeterValues', noZone))[0], 3);
    const r = await until(async () => {
      const x = await s.api('GET', '/api/chargers/FIND-1/findings');
      return x.body.total > 0 ? x : null;
    }).then((x) => x!);
    const f = r.body.items.find((i: any) => i.rule === 'timestamp-without-zone');
    assert.ok(f, JSON.stringify(r.body.items));
    assert.equal(f.action, 'MeterValues');
    assert.equal(f.chargerId, 'FIND-1');
    assert.equal(f.path, '/meterValue/0/timestamp');
    assert.equal(f.original, '2026-11-23T10:00:00');
    const filtered = await s.api('GET', '/api/chargers/FIND-1/findings?rule=timestamp-without-zone&action=MeterValues');
    assert.ok(filtered.body.items.length >= 1);
    assert.equal((await s.api('GET', '/api/chargers/FIND-1/findings?rule=nothing-like-it')).body.total, 0);
    assert.equal((await s.api('GET', '/api/chargers/FIND-1/findings?limit=0')).status, 400);
    assert.equal((await s.api('GET', '/api/chargers/NOPE/findings')).status, 404);

    const strict = await s.api('PATCH', '/api/chargers/FIND-1', { validationMode: 'strict' });
    assert.equal(strict.status, 200);
    assert.equal(strict.body.validationMode, 'strict');
    const refused = await c.callFrame('MeterValues', noZone);
    assert.equal(refused[0], 4);
    assert.equal((await s.api('PATCH', '/api/chargers/FIND-1', { validationMode: 'lenient' })).status, 400);
    await s.api('PATCH', '/api/chargers/FIND-1', { validationMode: null });
    assert.equal((await c.callFrame('MeterValues', noZone))[0], 3);
    await c.close();
  });

  test('no AuthorizationKey appears in any answer or log line', async () => {
    // A few more reads that could carry it: the charger, the stored configuration, the events.
    await s.api('GET', '/api/chargers/SEC-1');
    await s.api('GET', '/api/chargers/SEC-1/configuration/stored');
    await s.api('GET', '/api/security/events?limit=1000');
    const events = await s.store.listEvents({ limit: 10_000 });
    assert.ok(s.transcript.length > 30);
    assert.ok(logLines.length > 0, 'the trace logger saw the run');
    for (const key of KEYS) {
      for (const text of s.transcript) assert.equal(text.includes(key), false, `answer carries ${key}: ${text}`);
      for (const line of logLines) assert.equal(line.includes(key), false, `log carries ${key}: ${line}`);
      assert.equal(JSON.stringify(events.items).includes(key), false, `an event carries ${key}`);
    }
  });
});

describe('security API with TLS and the built-in CA', () => {
  let s: TestServer;
  let caPem: string;
  before(async () => {
    const pki = await makePki();
    caPem = pki.ca.certPem;
    s = await startTestServer(
      { tlsCert: pki.files.cert, tlsKey: pki.files.key, tlsCa: pki.files.ca, caKey: pki.files.caKey, cpoName: CPO },
      { ca: caPem },
    );
  });
  after(() => s?.close());

  test('profiles 2 and 3 become possible; profile 2 still needs a key', async () => {
    await s.api('POST', '/api/chargers', { id: 'CERT-1' });
    const view = (await s.api('GET', '/api/chargers/CERT-1/security')).body;
    assert.deepEqual(view.server, { tls: true, clientCa: true, ca: true, cpoName: 'ACME CPO', cnCheck: 'id' });
    assert.equal((await s.api('PUT', '/api/chargers/CERT-1/security', { profile: 2 })).status, 409);
    const three = await s.api('PUT', '/api/chargers/CERT-1/security', { profile: 3 });
    assert.equal(three.status, 200);
    assert.equal(three.body.securityProfile, 3);
    const two = await s.api('PUT', '/api/chargers/CERT-1/security', { profile: 2, authorizationKey: KEY1 });
    assert.equal(two.body.securityProfile, 2);
  });

  test('a charger certificate with a new key pair, or from the charger CSR', async () => {
    const r = await s.api('POST', '/api/chargers/CERT-1/certificate', { days: 30 });
    assert.equal(r.status, 201);
    assert.equal(r.body.commonName, 'CERT-1');
    assert.equal(r.body.organization, 'ACME CPO');
    assert.match(r.body.privateKeyPem, /BEGIN (RSA )?PRIVATE KEY/);
    assert.equal(r.body.caCertificatePem, caPem);
    const cert = new X509Certificate(r.body.certificatePem);
    assert.ok(cert.checkIssued(new X509Certificate(caPem)));
    assert.match(cert.subject, /CN=CERT-1/);
    const days = (Date.parse(cert.validTo) - Date.now()) / 86_400_000;
    assert.ok(days > 29 && days < 31, String(days));
    assert.equal(r.headers.get('cache-control'), 'no-store');

    const csr = await createCsr({ commonName: 'CERT-1', organization: 'ACME CPO' });
    const signed = await s.api('POST', '/api/chargers/CERT-1/certificate', { csr: csr.csrPem });
    assert.equal(signed.status, 201);
    assert.equal(signed.body.privateKeyPem, null);
    assert.match(new X509Certificate(signed.body.certificatePem).subject, /CN=CERT-1/);

    const wrongCn = await createCsr({ commonName: 'SOMEONE-ELSE', organization: 'ACME CPO' });
    const refused = await s.api('POST', '/api/chargers/CERT-1/certificate', { csr: wrongCn.csrPem });
    assert.equal(refused.status, 400);
    assert.equal(refused.body.error.details.field, 'body.csr');
    assert.match(refused.body.error.message, /CN/);
    assert.equal((await s.api('POST', '/api/chargers/CERT-1/certificate', { csr: 'junk' })).status, 400);
    assert.equal((await s.api('POST', '/api/chargers/CERT-1/certificate', { days: 0 })).status, 400);

    const events = await s.api('GET', '/api/chargers/CERT-1/security/events');
    assert.equal(events.body.items.filter((e: any) => e.type === 'CertificateIssued').length, 2);
  });
});
