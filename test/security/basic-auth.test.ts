// Security profiles 1 and 2 at the upgrade, over real sockets: Basic auth, profile checks, the
// plain second port, brute-force backoff, key rotation and profile raise (A05).
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { hashAuthorizationKey, verifyAuthorizationKey } from '../../src/central/security/index.ts';
import { attempt, basic, callOver, LogSink, makePki, type Pki, start, statusOf } from './helpers.ts';

const KEY = 'correct-horse-1234'; // 18 characters: text
const HEX_KEY = '00112233445566778899aabbccddeeff00112233'; // 40 hex digits: 20 bytes

describe('AuthorizationKey hashing', () => {
  it('stores a salted scrypt hash and reads 32-40 hex digits as hex', async () => {
    const h1 = await hashAuthorizationKey(KEY);
    const h2 = await hashAuthorizationKey(KEY);
    assert.notEqual(h1, h2, 'salted');
    assert.ok(!h1.includes(KEY));
    assert.ok(await verifyAuthorizationKey(Buffer.from(KEY), h1));
    assert.ok(!(await verifyAuthorizationKey(Buffer.from('correct-horse-1235'), h1)));
    const hx = await hashAuthorizationKey(HEX_KEY);
    assert.ok(await verifyAuthorizationKey(Buffer.from(HEX_KEY.toUpperCase()), hx), 'hex is case-insensitive');
    assert.ok(await verifyAuthorizationKey(Buffer.from(HEX_KEY, 'hex'), hx), 'the 20 raw bytes are the same key');
    await assert.rejects(hashAuthorizationKey('short'));
    await assert.rejects(hashAuthorizationKey('x'.repeat(21)));
  });
});

describe('profile 1 (Basic over ws)', () => {
  let s: Awaited<ReturnType<typeof start>>;
  const sink = new LogSink();
  before(async () => {
    s = await start({}, sink);
    await s.central.updateCharger('P1', { securityProfile: 1, registration: 'accepted' });
    await s.central.security.setAuthorizationKey('P1', KEY, { push: false });
    await s.central.updateCharger('LOCK', { securityProfile: 1, registration: 'accepted' });
    await s.central.security.setAuthorizationKey('LOCK', KEY, { push: false });
  });
  after(() => s.close());

  it('refuses a missing or wrong password with 401 and accepts the right one', async () => {
    assert.equal(statusOf(await attempt(s.wsUrl, 'P1')), 401);
    assert.equal(statusOf(await attempt(s.wsUrl, 'P1', { headers: basic('P1', 'wrong-password-123') })), 401);
    assert.equal(statusOf(await attempt(s.wsUrl, 'P1', { headers: basic('OTHER', KEY) })), 401, 'user must be the id');
    assert.equal(statusOf(await attempt(s.wsUrl, 'P1', { headers: basic('P1', KEY) })), 'open');
    const events = await s.store.listEvents({ chargerId: 'P1', kind: 'SecurityEvent' });
    const failures = events.items.filter((e) => (e.payload as { type: string }).type === 'FailedToAuthenticate');
    assert.equal(failures.length, 3, 'each failure is a security event');
    assert.ok(!sink.text.includes(KEY), 'the key never reaches a log line');
  });

  it('refuses ids with non-printable characters', async () => {
    assert.equal(statusOf(await attempt(s.wsUrl, 'A\u202eB')), 400);
    assert.equal(statusOf(await attempt(s.wsUrl, 'A\u0007B')), 400);
  });

  it('backs off after repeated failures, even for the right password (per id)', async () => {
    for (let i = 0; i < 5; i++) {
      assert.equal(statusOf(await attempt(s.wsUrl, 'LOCK', { headers: basic('LOCK', `wrong-password-${i}00`) })), 401);
    }
    assert.equal(statusOf(await attempt(s.wsUrl, 'LOCK', { headers: basic('LOCK', 'wrong-password-x00') })), 401);
    const locked = await attempt(s.wsUrl, 'LOCK', { headers: basic('LOCK', KEY) });
    assert.equal(statusOf(locked), 429);
  });
});

describe('profile 2 (TLS + Basic) and the plain second port', () => {
  let pki: Pki;
  let s: Awaited<ReturnType<typeof start>>;
  before(async () => {
    pki = await makePki();
    s = await start({ tlsCert: pki.files.cert, tlsKey: pki.files.key, plainPort: 0 });
    for (const [id, p] of [
      ['P2', 2],
      ['P1', 1],
      ['P0', 0],
    ] as const) {
      await s.central.updateCharger(id, { securityProfile: p, registration: 'accepted' });
      if (p > 0) await s.central.security.setAuthorizationKey(id, KEY, { push: false });
    }
  });
  after(() => s.close());

  it('serves wss on the main port and refuses profile 2 on plain ws', async () => {
    assert.match(s.url, /^https:/);
    assert.ok(s.plainUrl);
    assert.equal(statusOf(await attempt(s.wsUrl, 'P2', { ca: pki.ca.certPem, headers: basic('P2', KEY) })), 'open');
    assert.equal(statusOf(await attempt(s.wsUrl, 'P2', { ca: pki.ca.certPem })), 401);
    assert.equal(statusOf(await attempt(s.plainUrl!, 'P2', { headers: basic('P2', KEY) })), 403);
    assert.equal(statusOf(await attempt(s.plainUrl!, 'P1', { headers: basic('P1', KEY) })), 'open');
    assert.equal(statusOf(await attempt(s.plainUrl!, 'P0')), 'open');
    // Plain ws against the TLS port is not even an HTTP conversation.
    const plainToTls = await attempt(s.wsUrl.replace('wss:', 'ws:'), 'P2', { headers: basic('P2', KEY) });
    assert.notEqual(statusOf(plainToTls), 'open');
  });

  it('refuses TLS 1.1 and ciphers outside the list', async () => {
    const old = await attempt(s.wsUrl, 'P0', {
      ca: pki.ca.certPem,
      minVersion: 'TLSv1',
      maxVersion: 'TLSv1.1',
      ciphers: 'DEFAULT@SECLEVEL=0',
    });
    assert.equal(old.kind, 'error');
    // The server's alert 70 (protocol_version), not a client-side refusal.
    assert.match((old as { message: string }).message, /alert protocol version/);
    const cbc = await attempt(s.wsUrl, 'P0', {
      ca: pki.ca.certPem,
      maxVersion: 'TLSv1.2',
      ciphers: 'ECDHE-RSA-AES128-SHA',
    });
    assert.equal(cbc.kind, 'error');
    assert.match((cbc as { message: string }).message, /alert handshake failure/);
    const tls12 = await attempt(s.wsUrl, 'P0', { ca: pki.ca.certPem, maxVersion: 'TLSv1.2' });
    assert.equal(tls12.kind, 'open');
    if (tls12.kind === 'open') {
      const sock = (tls12.ws as unknown as { _socket: import('node:tls').TLSSocket })._socket;
      assert.equal(sock.getProtocol(), 'TLSv1.2');
      assert.match(sock.getCipher().standardName, /^TLS_ECDHE_(RSA|ECDSA)_WITH_AES_(128_GCM_SHA256|256_GCM_SHA384)$/);
      tls12.ws.close();
    }
  });

  it('reloads the certificate without dropping connected chargers', async () => {
    const a = await attempt(s.wsUrl, 'P2', { ca: pki.ca.certPem, headers: basic('P2', KEY) });
    assert.equal(a.kind, 'open');
    const ws = (a as { ws: import('ws').WebSocket }).ws;
    const { writeFileSync } = await import('node:fs');
    const { issueServerCertificate } = await import('../../src/central/security/index.ts');
    const next = await issueServerCertificate(pki.ca, { hosts: ['localhost', '127.0.0.1'] });
    writeFileSync(pki.files.cert, next.certPem);
    writeFileSync(pki.files.key, next.keyPem);
    assert.equal(s.reloadTls(), true);
    const b = await attempt(s.wsUrl, 'P0', { ca: pki.ca.certPem });
    assert.equal(b.kind, 'open');
    const sock = (b as unknown as { ws: { _socket: import('node:tls').TLSSocket } }).ws._socket;
    const { X509Certificate } = await import('node:crypto');
    assert.equal(sock.getPeerCertificate().fingerprint256, new X509Certificate(next.certPem).fingerprint256);
    (b as { ws: import('ws').WebSocket }).ws.close();
    const answer = await callOver(ws, 'h1', 'Heartbeat', {});
    assert.equal(answer[0], 3, 'the charger connected before the reload is still served');
    ws.close();
  });
});

describe('key rotation and profile raise (ChangeConfiguration)', () => {
  let pki: Pki;
  let s: Awaited<ReturnType<typeof start>>;
  const sink = new LogSink();
  before(async () => {
    pki = await makePki();
    s = await start({ tlsCert: pki.files.cert, tlsKey: pki.files.key, plainPort: 0 }, sink);
    await s.central.updateCharger('R1', { securityProfile: 1, registration: 'accepted' });
    await s.central.security.setAuthorizationKey('R1', KEY, { push: false });
  });
  after(() => s.close());

  async function connectAnswering(base: string, password: string, answers: Record<string, string>, tls = false) {
    const a = await attempt(base, 'R1', { headers: basic('R1', password), ...(tls ? { ca: pki.ca.certPem } : {}) });
    assert.equal(a.kind, 'open', JSON.stringify(a.kind === 'http' ? a : ''));
    const ws = (a as { ws: import('ws').WebSocket }).ws;
    ws.on('message', (d) => {
      const f = JSON.parse(d.toString()) as unknown[];
      if (f[0] === 2) {
        const p = f[3] as { key: string };
        ws.send(JSON.stringify([3, f[1], { status: answers[p.key] ?? 'Rejected' }]));
      }
    });
    await callOver(ws, 'b1', 'BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' });
    return ws;
  }

  it('keeps the old key when the charger rejects the new one', async () => {
    const ws = await connectAnswering(s.plainUrl!, KEY, { AuthorizationKey: 'Rejected' });
    const res = await s.central.security.setAuthorizationKey('R1', HEX_KEY);
    assert.equal(res.status, 'Rejected');
    ws.close();
    assert.equal(statusOf(await attempt(s.plainUrl!, 'R1', { headers: basic('R1', HEX_KEY) })), 401);
    assert.equal(statusOf(await attempt(s.plainUrl!, 'R1', { headers: basic('R1', KEY) })), 'open');
  });

  it('switches to the new key once the charger accepts it; the old one is refused', async () => {
    const ws = await connectAnswering(s.plainUrl!, KEY, { AuthorizationKey: 'Accepted' });
    const res = await s.central.security.setAuthorizationKey('R1', HEX_KEY);
    assert.equal(res.status, 'Accepted');
    ws.close();
    assert.equal(statusOf(await attempt(s.plainUrl!, 'R1', { headers: basic('R1', KEY) })), 401);
    assert.equal(statusOf(await attempt(s.plainUrl!, 'R1', { headers: basic('R1', HEX_KEY) })), 'open');
    // The key reached no log line, no event and no configuration copy.
    assert.ok(!sink.text.includes(HEX_KEY));
    const config = await s.store.getConfiguration('R1');
    assert.ok(!JSON.stringify(config).includes(HEX_KEY));
    const events = await s.store.listEvents({ chargerId: 'R1', limit: 1000 });
    assert.ok(!JSON.stringify(events).includes(HEX_KEY));
  });

  it('raises the profile: old profile works until the charger connected with the new one, then never again', async () => {
    const ws = await connectAnswering(s.plainUrl!, HEX_KEY, { SecurityProfile: 'Accepted' });
    const res = await s.central.security.raiseProfile('R1', 2);
    assert.equal(res.status, 'Accepted');
    assert.equal(await s.central.security.pendingProfile('R1'), 2);
    ws.close();
    // Fallback (A05.FR.07): profile 1 still works while the raise is pending.
    assert.equal(statusOf(await attempt(s.plainUrl!, 'R1', { headers: basic('R1', HEX_KEY) })), 'open');
    assert.equal(statusOf(await attempt(s.wsUrl, 'R1', { ca: pki.ca.certPem, headers: basic('R1', HEX_KEY) })), 'open');
    assert.equal((await s.store.getCharger('R1'))?.securityProfile, 2);
    assert.equal(await s.central.security.pendingProfile('R1'), null);
    // A05.FR.09: no way back to profile 1.
    assert.equal(statusOf(await attempt(s.plainUrl!, 'R1', { headers: basic('R1', HEX_KEY) })), 403);
  });
});
