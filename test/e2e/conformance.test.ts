// Conformance regressions (issues 15 and 16), each named after what broke, with the simulator as
// the charger over a real WebSocket against an in-process server on port 0 (real SQLite file).
import assert from 'node:assert/strict';
import { X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterEach, describe, it } from 'node:test';
import { initCertificates } from '../../src/app/tls.ts';
import { createCa } from '../../src/central/security/index.ts';
import { createStation, type SimStation } from '../../src/chargepoint/index.ts';
import { CERTIFICATE_RECEIVED } from '../../src/chargepoint/profiles/common.ts';
import { generic } from '../../src/chargepoint/profiles/generic.ts';
import { startTestServer, type TestServer, TOKEN, until } from '../api/helpers.ts';
import { runCli, tempDir } from '../helpers/process.ts';

/** Quick reconnects, so no test waits for a real charger's backoff. */
const fast = { ...generic, backoff: { minS: 0.1, randomS: 0, repeat: 1000, fixedS: 0.1 } };

let server: TestServer | undefined;
let sims: SimStation[] = [];
afterEach(async () => {
  for (const s of sims) await s.stop();
  sims = [];
  await server?.close();
  server = undefined;
});

async function simulate(
  id: string,
  profile: typeof generic = fast,
  config: Record<string, string> = {},
  ca?: string,
): Promise<SimStation> {
  const sim = createStation({ id, profile, url: `${server!.ws}/ocpp`, config, ...(ca ? { ca } : {}) });
  sims.push(sim);
  await sim.start();
  await until(() => sim.station.registration === 'Accepted');
  return sim;
}

describe('issue 16.1: commands to a quiet charger', () => {
  it('a command to an idle, already-booted charger is delivered within one second', async () => {
    // The call timeout is the bound: an answer (200) proves the command left and came back in time.
    server = await startTestServer({ callTimeoutMs: 1000 });
    // A charger that says nothing after a reconnect (no StatusNotification, Heartbeat 300 s away).
    const sim = await simulate('QUIET-1', { ...fast, statusOnReconnect: false });
    sim.station.setNetwork(false);
    await until(() => !server!.central.isConnected('QUIET-1'));
    sim.station.setNetwork(true);
    await until(() => server!.central.isConnected('QUIET-1'));
    const res = await server.api('POST', '/api/chargers/QUIET-1/commands/GetConfiguration', {
      key: ['HeartbeatInterval'],
    });
    assert.equal(res.status, 200, JSON.stringify(res.body));
    assert.equal(res.body.configurationKey[0].key, 'HeartbeatInterval');
  });
});

/** Polls until `fn` finds something (writes land asynchronously). */
async function found<T>(fn: () => Promise<T | undefined>, timeoutMs = 3000): Promise<T> {
  return (await until(fn, timeoutMs)) as T;
}

/** A charger that loses every StopTransaction (power cut, full journal): the profile never sends one. */
const lossy = { ...fast, sends: fast.sends.filter((a) => a !== 'StopTransaction') };

async function charging(sim: SimStation, idTag: string, connectorId = 1): Promise<number> {
  const st = sim.station;
  if (!st.connector(connectorId).plugged) st.plug(connectorId);
  assert.equal(await st.swipe(idTag, connectorId), 'Accepted');
  await until(() => st.connector(connectorId).tx?.id !== undefined);
  return st.connector(connectorId).tx!.id!;
}

async function metered(txId: number): Promise<number> {
  const m = await found(async () => {
    const s = await server!.store.transactionMeterSummary(txId);
    return s.lastWh !== null && s.samples >= 2 ? s : undefined;
  }, 10_000);
  return Math.round(m.lastWh!);
}

/** The transaction once it is stopped. */
function stopped(txId: number, timeoutMs = 3000) {
  return found(async () => {
    const tx = await server!.store.getTransaction(txId);
    return tx?.stoppedAt ? tx : undefined;
  }, timeoutMs);
}

async function findingRules(id: string): Promise<string[]> {
  const res = await server!.api('GET', `/api/chargers/${id}/findings`);
  return (res.body.items as { rule: string }[]).map((f) => f.rule);
}

describe('issue 16.3: transactions whose StopTransaction was lost', () => {
  it('a new StartTransaction on the connector closes the lost one (superseded), and the card is not ConcurrentTx', async () => {
    server = await startTestServer({ callTimeoutMs: 2000 });
    await server.store.upsertIdTag({ idTag: 'LOST-CARD', status: 'Accepted' });
    const sim = await simulate('LOSSY-1', lossy, { MeterValueSampleInterval: '1' });
    const first = await charging(sim, 'LOST-CARD');
    const lastWh = await metered(first);
    // The same card stops its transaction (Local): the StopTransaction is lost; the EV stays plugged.
    assert.equal(await sim.station.swipe('LOST-CARD'), 'Stopped');
    const second = await charging(sim, 'LOST-CARD');
    assert.notEqual(second, first);
    const closed = await stopped(first);
    assert.equal(closed.stopReason, `superseded by transaction ${second}`);
    assert.ok(closed.meterStop! >= lastWh, `meterStop ${closed.meterStop} is the last metered energy ${lastWh}`);
    assert.deepEqual(
      (await server.store.activeTransactionsByIdTag('LOST-CARD')).map((t) => t.id),
      [second],
      'the second start was Accepted, not ConcurrentTx',
    );
    assert.ok((await findingRules('LOSSY-1')).includes('stale-transaction-superseded'));
  });

  it('a BootNotification closes the transactions the reboot ended', async () => {
    server = await startTestServer({ callTimeoutMs: 2000 });
    await server.store.upsertIdTag({ idTag: 'BOOT-CARD', status: 'Accepted' });
    const sim = await simulate('LOSSY-2', lossy, { MeterValueSampleInterval: '1' });
    const tx = await charging(sim, 'BOOT-CARD');
    await metered(tx);
    const events: string[] = [];
    server.central.events.subscribe((e) => {
      if (e.type === 'transaction.stopped' && e.data.stale) events.push(String(e.data.reason));
    });
    sim.station.reboot('Soft');
    const closed = await stopped(tx, 10_000);
    assert.equal(closed.stopReason, 'charger rebooted');
    // The event follows the commits (the close, then its finding): wait for it, do not race it.
    await until(() => events.length > 0);
    assert.deepEqual(events, ['charger rebooted']);
    assert.ok((await findingRules('LOSSY-2')).includes('stale-transaction-reboot'));
    // The card is free again: a new start is Accepted.
    await until(() => sim.station.registration === 'Accepted', 10_000);
    const again = await charging(sim, 'BOOT-CARD');
    assert.ok(again > tx);
  });

  it('a connector reporting Available closes its transaction; a StopTransaction that arrives later wins', async () => {
    server = await startTestServer({ callTimeoutMs: 2000 });
    await server.store.upsertIdTag({ idTag: 'LATE-CARD', status: 'Accepted' });
    // This charger keeps its StopTransaction while offline and delivers it after the status report.
    const sim = await simulate('LATE-1', fast, { MeterValueSampleInterval: '1' });
    const tx = await charging(sim, 'LATE-CARD');
    await metered(tx);
    const reasons: string[] = [];
    server.central.events.subscribe((e) => {
      if (e.type === 'transaction.stopped') reasons.push(`${e.data.reason}${e.data.reconciled ? ' (reconciled)' : ''}`);
    });
    sim.station.setNetwork(false);
    await until(() => !server!.central.isConnected('LATE-1'));
    sim.station.unplug(1);
    const meterStop = Math.round(sim.station.connector(1).meter.registerWh);
    sim.station.setNetwork(true);
    await until(() => sim.station.queuedMessages === 0 && sim.station.online, 10_000);
    const t = await found(async () => {
      const r = await server!.store.getTransaction(tx);
      return r?.stopReason === 'EVDisconnected' ? r : undefined;
    });
    assert.equal(t.meterStop, meterStop, "the charger's own meterStop wins");
    await until(() => reasons.length >= 2);
    assert.deepEqual(reasons, ['connector reported Available', 'EVDisconnected (reconciled)']);
    assert.ok((await findingRules('LATE-1')).includes('stale-transaction-available'));
  });
});

describe('issue 15.7: two StopTransactions for one transaction', () => {
  // The SAP e-mobility simulator stops with one StopTransaction without a reason, then another
  // with reason=Local: raw frames, as that independent client sends them.
  it('the second StopTransaction is answered, changes nothing stored, and is recorded as a finding', async () => {
    server = await startTestServer();
    await server.store.upsertIdTag({ idTag: 'SAP-CARD', status: 'Accepted' });
    const cp = await server.charger('SAP-1');
    try {
      const started = await cp.call<{ transactionId: number }>('StartTransaction', {
        connectorId: 1,
        idTag: 'SAP-CARD',
        meterStart: 100,
        timestamp: '2026-11-23T10:00:00Z',
      });
      const tx = started.transactionId;
      const first = { transactionId: tx, meterStop: 900, timestamp: '2026-11-23T11:00:00Z', idTag: 'SAP-CARD' };
      assert.deepEqual(await cp.call('StopTransaction', first), { idTagInfo: { status: 'Accepted' } });
      const second = { ...first, meterStop: 950, timestamp: '2026-11-23T11:00:05Z', reason: 'Local' };
      assert.deepEqual(await cp.call('StopTransaction', second), { idTagInfo: { status: 'Accepted' } });
      const stored = (await server.store.getTransaction(tx))!;
      assert.deepEqual(
        [stored.meterStop, stored.stopReason, stored.stoppedAt],
        [900, null, '2026-11-23T11:00:00.000Z'],
      );
      const findings = (await server.api('GET', '/api/chargers/SAP-1/findings')).body.items as {
        rule: string;
        original: { meterStop: number; reason: string };
      }[];
      const repeat = findings.find((f) => f.rule === 'repeated-stop');
      assert.ok(repeat, JSON.stringify(findings));
      assert.deepEqual([repeat.original.meterStop, repeat.original.reason], [950, 'Local']);
    } finally {
      await cp.close();
    }
  });
});

describe('issue 15.2: analytics that contradict themselves', () => {
  // Regression: a transaction listed with AVG W 7053 above its PEAK W 6900 (one sparse power sample).
  it('peak power is never below the average; each figure says where it comes from', async () => {
    server = await startTestServer();
    await server.store.upsertIdTag({ idTag: 'AVG-CARD', status: 'Accepted' });
    const cp = await server.charger('AVG-1');
    try {
      const t0 = Date.parse('2026-11-23T10:00:00Z');
      const iso = (ms: number) => new Date(ms).toISOString().replace('.000Z', 'Z');
      const { transactionId } = await cp.call<{ transactionId: number }>('StartTransaction', {
        connectorId: 1,
        idTag: 'AVG-CARD',
        meterStart: 0,
        timestamp: iso(t0),
      });
      await cp.call('MeterValues', {
        connectorId: 1,
        transactionId,
        meterValue: [
          {
            timestamp: iso(t0 + 5 * 60_000),
            sampledValue: [{ value: '6900', measurand: 'Power.Active.Import', unit: 'W' }],
          },
        ],
      });
      await cp.call('StopTransaction', { transactionId, meterStop: 7053, timestamp: iso(t0 + 3_600_000) });
      const list = await server.api('GET', '/api/transactions?chargerId=AVG-1');
      const t = list.body.items[0];
      assert.equal(Math.round(t.averagePowerW), 7053);
      assert.ok(t.peakPowerW >= t.averagePowerW, `peak ${t.peakPowerW} below average ${t.averagePowerW}`);
      assert.equal(t.averagePowerSource, 'Energy.Active.Import.Register');
      assert.equal(t.peakPowerSource, 'Energy.Active.Import.Register');
      const one = (await server.api('GET', `/api/transactions/${transactionId}`)).body;
      assert.deepEqual([one.peakPowerW, one.peakPowerSource], [t.peakPowerW, t.peakPowerSource]);
    } finally {
      await cp.close();
    }
  });
});

const CPO = 'ACME CPO';
/** A charger with the security extension's certificate management and the CPO name configured. */
const secure = {
  ...fast,
  sends: [...fast.sends, 'SignCertificate' as const],
  receives: [...fast.receives, ...CERTIFICATE_RECEIVED],
  keys: [...fast.keys, { key: 'CpoName', value: CPO, type: 'string' as const }],
};

/** A TLS server whose built-in CA (RSA or EC) signs chargers' CSRs. */
let caFile = '';
async function serveWithCa(keyType: 'rsa' | 'ec'): Promise<string> {
  const files = await initCertificates({
    dir: join(tempDir(), 'certs'),
    hosts: ['localhost', '127.0.0.1'],
    cpoName: CPO,
    keyType,
  });
  const caPem = readFileSync(files.caCert, 'utf8');
  caFile = files.caCert;
  server = await startTestServer(
    {
      tlsCert: files.cert,
      tlsKey: files.key,
      tlsCa: files.caCert,
      caKey: files.caKey,
      cpoName: CPO,
      callTimeoutMs: 5000,
    },
    { ca: caPem },
  );
  return caPem;
}

/** ExtendedTriggerMessage SignChargePointCertificate; resolves with the certificate the charger got. */
async function renew(sim: SimStation, id: string): Promise<X509Certificate> {
  const before = sim.station.certificates.own;
  const r = await server!.api('POST', `/api/chargers/${id}/commands/ExtendedTriggerMessage`, {
    requestedMessage: 'SignChargePointCertificate',
  });
  assert.deepEqual(r.body, { status: 'Accepted' });
  const pem = await found(async () => {
    const own = sim.station.certificates.own;
    return own !== before ? own : undefined;
  }, 10_000);
  return new X509Certificate(pem);
}

describe('issue 16.4: ECDSA certificate signing requests', () => {
  // Regression: SignCertificate with a P-256 CSR answered Rejected ("OID is not RSA").
  it('a P-256 CSR is signed by an RSA built-in CA', async () => {
    const caPem = await serveWithCa('rsa');
    const sim = await simulate('EC-1', secure, {}, caPem);
    const cert = await renew(sim, 'EC-1');
    assert.equal(cert.publicKey.asymmetricKeyType, 'ec');
    assert.ok(cert.verify(new X509Certificate(caPem).publicKey), 'signed by the CA');
    assert.match(cert.subject, /CN=EC-1/);
    assert.match(cert.subject, new RegExp(`O=${CPO}`));
  });

  it('an EC built-in CA serves TLS and signs P-256 and RSA CSRs', async () => {
    const caPem = await serveWithCa('ec');
    assert.equal(new X509Certificate(caPem).publicKey.asymmetricKeyType, 'ec');
    const sim = await simulate('EC-2', secure, {}, caPem);
    const ec = await renew(sim, 'EC-2');
    assert.equal(ec.publicKey.asymmetricKeyType, 'ec');
    assert.ok(ec.verify(new X509Certificate(caPem).publicKey));
    // The simulator's own key CertificateKeyType=rsa: an RSA 2048 CSR.
    const rsaProfile = {
      ...secure,
      keys: [...secure.keys, { key: 'CertificateKeyType', value: 'rsa', type: 'string' as const }],
    };
    const rsaSim = await simulate('RSA-2', rsaProfile, {}, caPem);
    const rsa = await renew(rsaSim, 'RSA-2');
    assert.equal(rsa.publicKey.asymmetricKeyType, 'rsa');
    assert.ok(rsa.verify(new X509Certificate(caPem).publicKey));
  });
});

/** `ampere certificates …` as a real process against the test server (TLS with the built-in CA). */
function cli(args: string[]) {
  return runCli(['certificates', ...args, '--url', server!.url], {
    AMPERE_API_TOKEN: TOKEN,
    NODE_EXTRA_CA_CERTS: caFile,
  });
}

describe('issue 16.5: certificate management', () => {
  it('installs our root, lists what the charger holds, deletes by choosing from the list', async () => {
    const caPem = await serveWithCa('ec');
    const sim = await simulate('CM-1', secure, {}, caPem);
    const empty = await server!.api('GET', '/api/chargers/CM-1/certificates');
    assert.equal(empty.status, 200);
    assert.deepEqual([empty.body.installed, empty.body.listedAt, empty.body.root.available], [[], null, true]);

    const installed = await server!.api('POST', '/api/chargers/CM-1/certificates/install-root');
    assert.equal(installed.body.status, 'Accepted');
    assert.deepEqual(
      installed.body.certificates.installed.map((c: any) => [c.index, c.certificateType, c.ours]),
      [[1, 'CentralSystemRootCertificate', true]],
    );
    // Someone else's root, installed by hand with the raw command.
    const other = await createCa({ organization: 'Charger Maker', keyType: 'rsa' });
    const raw = await server!.api('POST', '/api/chargers/CM-1/commands/InstallCertificate', {
      certificateType: 'ManufacturerRootCertificate',
      certificate: other.certPem,
    });
    assert.deepEqual(raw.body, { status: 'Accepted' });
    const listed = await cli(['CM-1', 'refresh']);
    assert.equal(listed.code, 0, listed.stderr);
    assert.match(listed.stdout, /1 +CentralSystemRootCertificate +\S+ +yes/);
    assert.match(listed.stdout, /2 +ManufacturerRootCertificate +\S+ +no/);

    const deleted = await cli(['CM-1', 'delete', '2']);
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stdout, /DeleteCertificate: Accepted/);
    assert.deepEqual(sim.station.certificates.list('ManufacturerRootCertificate'), { status: 'NotFound' });
    const after = (await server!.api('GET', '/api/chargers/CM-1/certificates')).body;
    assert.deepEqual(
      after.installed.map((c: any) => c.ours),
      [true],
    );
    const missing = await server!.api('DELETE', '/api/chargers/CM-1/certificates/7');
    assert.equal(missing.status, 404);
    assert.equal(missing.body.error.code, 'AMPERE_ERR_NOT_FOUND');
  });

  it('a charger certificate near its expiry is renewed (ExtendedTriggerMessage SignChargePointCertificate)', async () => {
    const caPem = await serveWithCa('rsa');
    const sim = await simulate('CM-2', secure, {}, caPem);
    // A one-day certificate (e.g. issued by hand): inside the 30-day renewal window at once.
    const issued = await server!.api('POST', '/api/chargers/CM-2/certificate', { days: 1 });
    assert.equal(issued.status, 201);
    const renewed = new X509Certificate(await found(async () => sim.station.certificates.own, 10_000));
    assert.ok(renewed.verify(new X509Certificate(caPem).publicKey));
    const view = await found(async () => {
      const v = (await server!.api('GET', '/api/chargers/CM-2/certificates')).body;
      return v.chargerCertificate?.serialNumber === renewed.serialNumber.replace(/^0+/, '').toLowerCase()
        ? v
        : undefined;
    });
    assert.ok(Date.parse(view.chargerCertificate.notAfter) > Date.now() + 300 * 86_400_000);
    assert.equal(view.chargerCertificate.renewRequestedAt, null);
    const events = (await server!.api('GET', '/api/chargers/CM-2/security/events')).body.items as any[];
    assert.ok(events.some((e) => e.type === 'CertificateRenewalRequested' && e.data.reason === 'expiry'));
  });
});
