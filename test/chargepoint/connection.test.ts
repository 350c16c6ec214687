import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { WebSocketServer } from 'ws';
import { FakeClock } from '../../src/chargepoint/clock.ts';
import { stationUrl } from '../../src/chargepoint/connection.ts';
import { createStation, type SimStation } from '../../src/chargepoint/index.ts';
import { getProfile } from '../../src/chargepoint/profiles/index.ts';
import { OcppError } from '../../src/ocpp/index.ts';
import { startTestServer, type TestServer, until } from './helpers.ts';

const cleanup: (() => Promise<void> | void)[] = [];
after(async () => {
  for (const f of cleanup.reverse()) await f();
});

function sim(o: Parameters<typeof createStation>[0]): SimStation {
  const s = createStation(o);
  cleanup.push(() => s.stop());
  return s;
}

async function server(port = 0, opts: { password?: string } = {}): Promise<TestServer> {
  const s = await startTestServer(port, opts);
  cleanup.push(() => s.close());
  return s;
}

describe('stationUrl', () => {
  it('appends the id, and uses the profile path for a bare host', () => {
    const eaton = getProfile('eaton-green-motion');
    assert.equal(stationUrl('ws://h:8180', '14452', eaton).url, 'ws://h:8180/ocppj/v1.6/14452');
    assert.equal(
      stationUrl('ws://h/steve/websocket/CentralSystemService/', 'A B', eaton).url,
      'ws://h/steve/websocket/CentralSystemService/A%20B',
    );
    assert.deepEqual(stationUrl('ws://14452:key@h/ocppj/v1.6', '14452', eaton), {
      url: 'ws://h/ocppj/v1.6/14452',
      user: '14452',
      pass: 'key',
    });
  });
});

describe('connection', () => {
  it('security profile 1: HTTP Basic with the id and AuthorizationKey; boots and charges', async () => {
    const srv = await server(0, { password: 'secret-key-1234' });
    const clock = new FakeClock(Date.now());
    const s = sim({ id: 'CP-B1', profile: 'generic', url: srv.url, password: 'secret-key-1234', clock });
    await s.start();
    await until(clock, () => s.station.registration === 'Accepted');
    assert.equal(srv.auth.get('CP-B1'), `Basic ${Buffer.from('CP-B1:secret-key-1234').toString('base64')}`);
    s.station.plug(1);
    await s.station.swipe('TAG');
    await until(clock, () => srv.calls.some((c) => c.action === 'StartTransaction'));
    assert.deepEqual(
      srv.calls
        .filter((c) => c.id === 'CP-B1')
        .map((c) => c.action)
        .slice(0, 3),
      ['BootNotification', 'StatusNotification', 'StatusNotification'],
    );
  });

  it('reconnects with the Eaton backoff on the injected clock (min + random, then fixed)', async () => {
    const srv = await server(0, { password: 'right' });
    const clock = new FakeClock(Date.now());
    const attempts: number[] = [];
    const closes: number[] = [];
    const s = sim({
      id: '14452',
      profile: 'eaton-green-motion',
      url: srv.url,
      password: 'wrong',
      clock,
      random: () => 0.5,
      config: { RetryRepeatTimes: '3' },
      onState: (st) => {
        if (st === 'connecting') attempts.push(clock.now());
        if (st === 'closed') closes.push(clock.now());
      },
    });
    const t0 = clock.now();
    await s.start();
    for (let i = 0; i < 6; i++) {
      const n = attempts.length;
      await until(clock, () => attempts.length > n, 1000);
    }
    // From each refused handshake to the next attempt (the clock steps 1 s while real I/O runs).
    const gaps = attempts.slice(1).map((t, i) => (t - closes[i]!) / 1000);
    assert.equal(attempts[0], t0);
    // RetryBackoffWaitMinimum 10 + 0.5 x RetryBackoffRandomRange 6 = 13 s for 3 tries, then 16 s.
    assert.deepEqual(gaps.slice(0, 5), [13, 13, 13, 16, 16]);
  });

  it('delivers transaction messages queued while the server was down, in order, after it restarts', async () => {
    let srv = await server(0);
    const port = srv.port;
    const clock = new FakeClock(Date.now());
    const s = sim({
      id: 'CP-Q',
      profile: 'generic',
      url: srv.url,
      clock,
      random: () => 0,
      config: { MeterValueSampleInterval: '60' },
    });
    await s.start();
    await until(clock, () => s.station.registration === 'Accepted');
    s.station.plug(1);
    await s.station.swipe('TAG');
    await until(clock, () => s.station.connector(1).tx?.id !== undefined);
    const txId = s.station.connector(1).tx!.id;
    await srv.close();
    await until(clock, () => !s.station.online);
    await clock.advance(180_000);
    s.station.unplug(1);
    await clock.advance(0);
    assert.equal(s.station.queuedMessages, 4);
    srv = await server(port);
    await until(clock, () => s.station.queuedMessages === 0, 1000);
    const tx = srv.calls.filter((c) => ['MeterValues', 'StopTransaction'].includes(c.action));
    assert.deepEqual(
      tx.map((c) => c.action),
      ['MeterValues', 'MeterValues', 'MeterValues', 'StopTransaction'],
    );
    for (const c of tx) assert.equal(c.payload.transactionId, txId);
    assert.equal(tx[3]!.payload.reason, 'EVDisconnected');
    // No second BootNotification: the charger did not reboot, it only lost the connection.
    assert.equal(srv.calls.filter((c) => c.action === 'BootNotification').length, 0);
  });

  it('retries a transaction message the server answers with a CALLERROR', async () => {
    const srv = await server(0);
    const clock = new FakeClock(Date.now());
    const s = sim({
      id: 'CP-R',
      profile: 'generic',
      url: srv.url,
      clock,
      config: { TransactionMessageRetryInterval: '5' },
    });
    await s.start();
    await until(clock, () => s.station.registration === 'Accepted');
    srv.failNext.StartTransaction = 2;
    s.station.plug(1);
    await s.station.swipe('TAG');
    await until(clock, () => s.station.connector(1).tx?.id !== undefined, 1000);
    assert.equal(srv.calls.filter((c) => c.action === 'StartTransaction').length, 3);
  });

  it('refusals travel as CALLERRORs over the wire', async () => {
    const srv = await server(0);
    const clock = new FakeClock(Date.now());
    const s = sim({ id: 'GOE-1', profile: 'go-e', url: srv.url, clock });
    await s.start();
    await until(clock, () => s.station.registration === 'Accepted');
    await assert.rejects(
      srv.call('GOE-1', 'ReserveNow', {
        connectorId: 1,
        expiryDate: new Date().toISOString(),
        idTag: 'X',
        reservationId: 1,
      }),
      (e: unknown) => e instanceof OcppError && e.code === 'NotImplemented',
    );
    const conf = await srv.call('GOE-1', 'GetConfiguration', { key: ['MeterValuesSampledData'] });
    assert.equal(conf.configurationKey[0].readonly, true);
  });

  it('go-e: the local HTTP API switches OCPP on and points it at a server', async () => {
    const srv = await server(0);
    const clock = new FakeClock(Date.now());
    const s = sim({ id: '201564', profile: 'go-e', clock, httpApiPort: 0 });
    await s.start();
    const api = s.httpApi!;
    const before = await (await fetch(`${api.url}/api/status?filter=ocppe,ocppc`)).json();
    assert.deepEqual(before, { ocppe: false, ocppc: false });
    const target = `ws://127.0.0.1:${srv.port}/chargers/201564`;
    const set = await fetch(`${api.url}/api/set?ocppe=true&ocppu=${encodeURIComponent(target)}`);
    assert.equal(set.status, 200);
    await until(clock, () => s.station.registration === 'Accepted');
    const st = (await (await fetch(`${api.url}/api/status`)).json()) as Record<string, unknown>;
    assert.equal(st.ocppc, true);
    assert.equal(st.ocppa, true);
    assert.equal(srv.sessions.has('201564'), true);
    const bad = await fetch(`${api.url}/api/set?ocppc=true`);
    assert.equal(bad.status, 400);
  });

  it('go-e: the id at the end of ocppu= is the charge point id, not its own default id', async () => {
    const srv = await server(0);
    const clock = new FakeClock(Date.now());
    const s = sim({ id: 'GOE-DEFAULT', profile: 'go-e', clock, httpApiPort: 0 });
    await s.start();
    const target = `ws://127.0.0.1:${srv.port}/steve/websocket/CentralSystemService/201777`;
    const set = await fetch(`${s.httpApi!.url}/api/set?ocppe=true&ocppu=${encodeURIComponent(target)}`);
    assert.equal(set.status, 200);
    await until(clock, () => s.station.registration === 'Accepted');
    assert.equal(srv.sessions.has('201777'), true);
    assert.equal(srv.sessions.has('GOE-DEFAULT'), false);
    assert.equal(s.station.id, '201777');
    const st = (await (await fetch(`${s.httpApi!.url}/api/status?filter=ocppu`)).json()) as { ocppu: string };
    assert.equal(st.ocppu, target);
  });

  it('security profile 2: wss with a configured CA and Basic auth', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'ampere-tls-'));
    execFileSync(
      'openssl',
      [
        'req',
        '-x509',
        '-newkey',
        'rsa:2048',
        '-nodes',
        '-days',
        '1',
        '-subj',
        '/CN=localhost',
        '-addext',
        'subjectAltName=DNS:localhost,IP:127.0.0.1',
        '-keyout',
        join(dir, 'key.pem'),
        '-out',
        join(dir, 'cert.pem'),
      ],
      { stdio: 'ignore' },
    );
    const cert = readFileSync(join(dir, 'cert.pem'));
    const https = createHttpsServer({ key: readFileSync(join(dir, 'key.pem')), cert });
    const wss = new WebSocketServer({ server: https, handleProtocols: () => 'ocpp1.6' });
    const seen: string[] = [];
    wss.on('connection', (ws, req) => {
      seen.push(String(req.headers.authorization));
      ws.on('message', (m) => {
        const [, id] = JSON.parse(String(m));
        ws.send(JSON.stringify([3, id, { status: 'Accepted', currentTime: new Date().toISOString(), interval: 300 }]));
      });
    });
    await new Promise<void>((r) => https.listen(0, '127.0.0.1', r));
    cleanup.push(
      () =>
        new Promise<void>((r) => {
          wss.close();
          https.close(() => r());
          https.closeAllConnections();
        }),
    );
    const port = (https.address() as AddressInfo).port;
    const clock = new FakeClock(Date.now());
    const s = sim({
      id: 'TLS1',
      profile: 'generic',
      url: `wss://localhost:${port}/ocpp`,
      password: 'pw-for-tls-1',
      ca: cert,
      clock,
    });
    await s.start();
    await until(clock, () => s.station.registration === 'Accepted');
    assert.equal(seen[0], `Basic ${Buffer.from('TLS1:pw-for-tls-1').toString('base64')}`);
  });
});
