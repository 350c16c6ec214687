// Security profile 3 over real TLS with certificates made in the test: chain, validity, O = the
// CPO name, CN = the charger (A00.FR.403-407); and the CSR flow of the 1.6 security extension.
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import type WebSocket from 'ws';
import { createCa, createCsr, issueClientCertificate } from '../../src/central/security/index.ts';
import { attempt, basic, CPO, callOver, makePki, type Pki, start, statusOf } from './helpers.ts';

describe('profile 3 (TLS + client certificate)', () => {
  let pki: Pki;
  let s: Awaited<ReturnType<typeof start>>;
  let tlsOpts: (cert: { certPem: string; keyPem: string }) => { ca: string; cert: string; key: string };
  before(async () => {
    pki = await makePki();
    s = await start({
      tlsCert: pki.files.cert,
      tlsKey: pki.files.key,
      tlsCa: pki.files.ca,
      caKey: pki.files.caKey,
      cpoName: CPO,
    });
    await s.central.updateCharger('P3', { securityProfile: 3, registration: 'accepted' });
    await s.central.updateCharger('P2', { securityProfile: 2, registration: 'accepted' });
    await s.central.security.setAuthorizationKey('P2', 'correct-horse-1234', { push: false });
    tlsOpts = (c) => ({ ca: pki.ca.certPem, cert: c.certPem, key: c.keyPem });
  });
  after(() => s.close());

  it('accepts the charger with its own certificate', async () => {
    assert.equal(statusOf(await attempt(s.wsUrl, 'P3', tlsOpts(await pki.client('P3')))), 'open');
  });

  it('refuses no certificate, an expired one, an unknown CA, a CN or O mismatch', async () => {
    assert.equal(statusOf(await attempt(s.wsUrl, 'P3', { ca: pki.ca.certPem })), 403, 'no certificate');
    const expired = await pki.client('P3', {
      notBefore: new Date(Date.now() - 2 * 86_400_000),
      notAfter: new Date(Date.now() - 86_400_000),
    });
    assert.equal(statusOf(await attempt(s.wsUrl, 'P3', tlsOpts(expired))), 403, 'expired');
    const rogueCa = await createCa({ organization: CPO });
    const rogue = await issueClientCertificate(rogueCa, { commonName: 'P3', organization: CPO });
    assert.equal(statusOf(await attempt(s.wsUrl, 'P3', tlsOpts(rogue))), 403, 'unknown CA');
    assert.equal(statusOf(await attempt(s.wsUrl, 'P3', tlsOpts(await pki.client('P4')))), 403, 'CN mismatch');
    assert.equal(
      statusOf(await attempt(s.wsUrl, 'P3', tlsOpts(await pki.client('P3', { organization: 'Other CPO' })))),
      403,
      'O mismatch',
    );
    // Basic auth is not enough for profile 3.
    assert.equal(statusOf(await attempt(s.wsUrl, 'P3', { ca: pki.ca.certPem, ...basic('P3', 'x'.repeat(16)) })), 403);
    const events = await s.store.listEvents({ chargerId: 'P3', kind: 'SecurityEvent', limit: 100 });
    const bad = events.items.filter((e) => (e.payload as { type: string }).type === 'InvalidChargePointCertificate');
    assert.ok(bad.length >= 5, `each refused certificate is a security event (${bad.length})`);
  });

  it('lets a profile-2 charger on the same port in with Basic and no certificate', async () => {
    assert.equal(
      statusOf(await attempt(s.wsUrl, 'P2', { ca: pki.ca.certPem, headers: basic('P2', 'correct-horse-1234') })),
      'open',
    );
  });

  it('signs a CSR (SignCertificate → CertificateSigned) and refuses a CSR for someone else', async () => {
    const a = await attempt(s.wsUrl, 'P3', tlsOpts(await pki.client('P3')));
    assert.equal(a.kind, 'open');
    const ws = (a as { ws: WebSocket }).ws;
    const signed = new Promise<string>((resolve) => {
      ws.on('message', (d) => {
        const f = JSON.parse(d.toString()) as unknown[];
        if (f[0] === 2 && f[2] === 'CertificateSigned') {
          ws.send(JSON.stringify([3, f[1], { status: 'Accepted' }]));
          resolve((f[3] as { certificateChain: string }).certificateChain);
        }
      });
    });
    const { csrPem } = await createCsr({ commonName: 'P3', organization: CPO });
    const answer = await callOver(ws, 's1', 'SignCertificate', { csr: csrPem });
    assert.deepEqual(answer, [3, 's1', { status: 'Accepted' }]);
    const cert = new X509Certificate(await signed);
    assert.ok(cert.verify(new X509Certificate(pki.ca.certPem).publicKey), 'signed by the CA');
    assert.match(cert.subject, /CN=P3/);
    assert.match(cert.subject, new RegExp(`O=${CPO}`));
    const other = await createCsr({ commonName: 'SOMEONE-ELSE', organization: CPO });
    assert.deepEqual(await callOver(ws, 's2', 'SignCertificate', { csr: other.csrPem }), [
      3,
      's2',
      { status: 'Rejected' },
    ]);
    assert.deepEqual(await callOver(ws, 's3', 'SignCertificate', { csr: 'not a CSR' }), [
      3,
      's3',
      { status: 'Rejected' },
    ]);
    // Give the CertificateSigned answer time to be recorded.
    await new Promise((r) => setTimeout(r, 100));
    const kinds = (await s.store.listEvents({ chargerId: 'P3', limit: 100 })).items.map((e) => e.kind);
    assert.ok(kinds.includes('CertificateSigned'));
    ws.close();
  });

  it('stores SecurityEventNotification, LogStatusNotification and SignedFirmwareStatusNotification', async () => {
    const a = await attempt(s.wsUrl, 'P3', tlsOpts(await pki.client('P3')));
    const ws = (a as { ws: WebSocket }).ws;
    const ts = new Date().toISOString();
    assert.equal(
      (
        await callOver(ws, 'e1', 'SecurityEventNotification', {
          type: 'TamperDetectionActivated',
          timestamp: ts,
          techInfo: 'lid',
        })
      )[0],
      3,
    );
    assert.equal((await callOver(ws, 'e2', 'LogStatusNotification', { status: 'Uploaded', requestId: 7 }))[0], 3);
    assert.equal(
      (await callOver(ws, 'e3', 'SignedFirmwareStatusNotification', { status: 'SignatureVerified', requestId: 8 }))[0],
      3,
    );
    const events = (await s.store.listEvents({ chargerId: 'P3', limit: 200 })).items;
    const tamper = events.find((e) => (e.payload as { type?: string }).type === 'TamperDetectionActivated');
    assert.deepEqual(tamper?.payload, {
      type: 'TamperDetectionActivated',
      source: 'charger',
      timestamp: ts,
      techInfo: 'lid',
    });
    assert.ok(events.some((e) => e.kind === 'LogStatus'));
    assert.ok(events.some((e) => e.kind === 'SignedFirmwareStatus'));
    ws.close();
  });
});

describe('profile 3 with --cn-check serial', () => {
  it('matches the CN against the serial number from BootNotification', async () => {
    const pki = await makePki();
    const s = await start({
      tlsCert: pki.files.cert,
      tlsKey: pki.files.key,
      tlsCa: pki.files.ca,
      cpoName: CPO,
      cnCheck: 'serial',
    });
    try {
      await s.central.updateCharger('S3', { securityProfile: 3, registration: 'accepted' });
      await s.store.recordBoot(
        'S3',
        { chargePointVendor: 'V', chargePointModel: 'M', chargePointSerialNumber: 'SN-42' },
        Date.now(),
      );
      const opts = async (cn: string) => {
        const c = await pki.client(cn);
        return { ca: pki.ca.certPem, cert: c.certPem, key: c.keyPem };
      };
      assert.equal(statusOf(await attempt(s.wsUrl, 'S3', await opts('SN-42'))), 'open');
      assert.equal(statusOf(await attempt(s.wsUrl, 'S3', await opts('S3'))), 403);
    } finally {
      await s.close();
    }
  });
});
