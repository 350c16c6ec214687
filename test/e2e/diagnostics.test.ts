// Diagnostics end to end (issue 12 item 3): GetDiagnostics to Ampere's own FTP server and HTTP
// upload endpoint, with the simulator as the charger over real sockets; files listed and
// downloaded through the API; a credential that expired, was used, or is wrong is refused.
import assert from 'node:assert/strict';
import { Readable, Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { Client } from 'basic-ftp';
import { createStation, getProfile, type SimStation } from '../../src/chargepoint/index.ts';
import { startTestServer, type TestServer } from '../api/helpers.ts';
import type { TestCharger } from '../helpers/charger.ts';
import { until } from '../helpers/wait.ts';

/** Wall time plus an offset the test moves (credentials expire after --diagnostics-ttl). */
let offsetMs = 0;
const clock = { now: () => Date.now() + offsetMs };

async function ftpUpload(location: string, body: Buffer | string, name = 'x.log'): Promise<void> {
  const url = new URL(location);
  const client = new Client(5000);
  try {
    await client.access({
      host: url.hostname,
      port: Number(url.port),
      user: decodeURIComponent(url.username),
      password: decodeURIComponent(url.password),
    });
    await client.uploadFrom(Readable.from([Buffer.from(body)]), name);
  } finally {
    client.close();
  }
}

describe('diagnostics uploads to Ampere', () => {
  let server: TestServer;
  let sim: SimStation;
  let bare: TestCharger;
  /** GetDiagnostics locations the bare charger received. */
  const locations: string[] = [];

  before(async () => {
    server = await startTestServer(
      { ftpPort: 0, publicHost: '127.0.0.1', diagnosticsMaxMb: 1, callTimeoutMs: 5000 },
      { clock },
    );
    sim = createStation({ id: 'DIAG-1', profile: getProfile('generic'), url: `${server.ws}/ocpp` });
    await sim.start();
    await until(() => (sim.station.registration === 'Accepted' ? true : undefined));
    bare = await server.charger('DIAG-BARE');
    // A charger that answers a file name and leaves the upload to the test.
    bare.onCall = (action, payload) => {
      if (action !== 'GetDiagnostics') return {};
      locations.push(String(payload.location));
      return { fileName: 'bare.log' };
    };
  });
  after(async () => {
    await sim.stop();
    await bare.close();
    await server.close();
  });

  it('the simulator uploads by FTP; the file is listed and downloaded with its content', async () => {
    const asked = await server.api('POST', '/api/chargers/DIAG-1/diagnostics', {});
    assert.equal(asked.status, 201, JSON.stringify(asked.body));
    assert.equal(asked.body.transport, 'ftp');
    assert.equal(asked.body.status, 'sent');
    assert.match(asked.body.fileName, /^diagnostics-DIAG-1-.*\.json$/);
    assert.equal('secretHash' in asked.body, false);
    const sent = sim.station.history.find((h) => h.dir === 'in' && h.action === 'GetDiagnostics');
    assert.match(
      String((sent!.payload as { location: string }).location),
      new RegExp(`^ftp://ampere-${asked.body.id}:[A-Za-z0-9_-]+@127\\.0\\.0\\.1:${server.ftp!.port}/$`),
    );

    const done = await until(async () => {
      const r = await server.api('GET', `/api/diagnostics/${asked.body.id}`);
      return r.body.downloadable && r.body.status === 'Uploaded' ? r.body : undefined;
    });
    const steps = done.history.map((h: { status: string }) => h.status);
    for (const s of ['requested', 'sent', 'Uploading', 'received', 'Uploaded']) assert.ok(steps.includes(s), steps);

    const file = await server.api('GET', `/api/diagnostics/${asked.body.id}/file`);
    assert.equal(file.status, 200);
    assert.match(String(file.headers.get('content-disposition')), /filename="diagnostics-DIAG-1-.*\.json"/);
    const content = JSON.parse(file.body);
    assert.equal(content.chargePointId, 'DIAG-1');
    assert.equal(done.fileSize, Buffer.byteLength(file.body));
    assert.ok(content.history.some((h: { action?: string }) => h.action === 'BootNotification'));
  });

  it('the simulator uploads by HTTP to Ampere’s own port; both files are listed newest first', async () => {
    const asked = await server.api('POST', '/api/chargers/DIAG-1/diagnostics', { transport: 'http' });
    assert.equal(asked.status, 201);
    const done = await until(async () => {
      const r = await server.api('GET', `/api/diagnostics/${asked.body.id}`);
      return r.body.downloadable && r.body.status === 'Uploaded' ? r.body : undefined;
    });
    assert.equal(done.transport, 'http');
    const file = await server.api('GET', `/api/diagnostics/${asked.body.id}/file`);
    assert.equal(JSON.parse(file.body).chargePointId, 'DIAG-1');

    const list = await server.api('GET', '/api/chargers/DIAG-1/diagnostics');
    assert.deepEqual(
      list.body.items.slice(0, 2).map((r: { id: number; transport: string }) => [r.id, r.transport]),
      [
        [asked.body.id, 'http'],
        [asked.body.id - 1, 'ftp'],
      ],
    );
  });

  it("the security extension's GetLog: uploaded by FTP, statuses from LogStatusNotification with the requestId", async () => {
    // A charger with the security extension's log upload.
    const generic = getProfile('generic');
    const withLog = createStation({
      id: 'DIAG-LOG',
      profile: {
        ...generic,
        receives: [...generic.receives, 'GetLog'],
        sends: [...generic.sends, 'LogStatusNotification'],
      },
      url: `${server.ws}/ocpp`,
    });
    await withLog.start();
    try {
      await until(() => (withLog.station.registration === 'Accepted' ? true : undefined));
      await getLog(withLog);
    } finally {
      await withLog.stop();
    }
    const refused = await server.api('POST', '/api/chargers/DIAG-1/diagnostics', { logType: 'SecurityLog' });
    assert.equal(refused.status, 502);
    assert.equal(refused.body.error.details.ocppCode, 'NotImplemented');
  });

  async function getLog(sim: SimStation): Promise<void> {
    const asked = await server.api('POST', '/api/chargers/DIAG-LOG/diagnostics', { logType: 'SecurityLog' });
    assert.equal(asked.status, 201, JSON.stringify(asked.body));
    assert.equal(asked.body.logType, 'SecurityLog');
    const sent = sim.station.history.findLast((h) => h.dir === 'in' && h.action === 'GetLog');
    const req = sent!.payload as { logType: string; requestId: number; log: { remoteLocation: string } };
    assert.equal(req.logType, 'SecurityLog');
    assert.equal(req.requestId, asked.body.id);
    assert.match(req.log.remoteLocation, new RegExp(`^ftp://ampere-${asked.body.id}:`));
    const done = await until(async () => {
      const r = await server.api('GET', `/api/diagnostics/${asked.body.id}`);
      return r.body.downloadable && r.body.status === 'Uploaded' ? r.body : undefined;
    });
    assert.ok(done.history.some((h: { status: string }) => h.status === 'Uploading'));
    const file = await server.api('GET', `/api/diagnostics/${asked.body.id}/file`);
    assert.equal(JSON.parse(file.body).chargePointId, 'DIAG-LOG');
    const notified = sim.station.history.filter((h) => h.dir === 'out' && h.action === 'LogStatusNotification');
    assert.deepEqual(
      notified.map((h) => h.payload),
      [
        { status: 'Uploading', requestId: asked.body.id },
        { status: 'Uploaded', requestId: asked.body.id },
      ],
    );
  }

  it('a used credential is refused, and the FTP server allows no listing or download', async () => {
    const [first] = (await server.api('GET', '/api/chargers/DIAG-1/diagnostics')).body.items.filter(
      (r: { transport: string; logType: string | null }) => r.transport === 'ftp' && r.logType === null,
    );
    const sent = sim.station.history.filter((h) => h.dir === 'in' && h.action === 'GetDiagnostics');
    const location = sent
      .map((h) => (h.payload as { location: string }).location)
      .find((l) => l.startsWith(`ftp://ampere-${first.id}:`))!;
    await assert.rejects(ftpUpload(location, 'again'), /530/);

    const asked = await server.api('POST', '/api/chargers/DIAG-BARE/diagnostics', {});
    assert.equal(asked.body.fileName, 'bare.log');
    const url = new URL(locations.at(-1)!);
    const client = new Client(5000);
    try {
      await client.access({ host: url.hostname, port: Number(url.port), user: url.username, password: url.password });
      await assert.rejects(client.list(), /502/);
      const sink = new Writable({ write: (_c, _e, cb) => cb() });
      await assert.rejects(client.downloadTo(sink, 'bare.log'), /502/);
      await assert.rejects(client.remove('bare.log'), /502/);
    } finally {
      client.close();
    }
  });

  it('an upload over the size limit is cut off and not kept', async () => {
    const asked = await server.api('POST', '/api/chargers/DIAG-BARE/diagnostics', {});
    await assert.rejects(ftpUpload(locations.at(-1)!, Buffer.alloc(1024 * 1024 + 1, 65)));
    const r = await until(async () => {
      const x = await server.api('GET', `/api/diagnostics/${asked.body.id}`);
      return x.body.error ? x.body : undefined;
    });
    assert.match(r.error, /larger than 1048576 bytes/);
    assert.equal(r.downloadable, false);
    assert.equal((await server.api('GET', `/api/diagnostics/${asked.body.id}/file`)).status, 404);
  });

  it('a wrong or expired credential is refused by FTP and HTTP', async () => {
    const ftp = await server.api('POST', '/api/chargers/DIAG-BARE/diagnostics', {});
    const ftpLocation = locations.at(-1)!;
    const http = await server.api('POST', '/api/chargers/DIAG-BARE/diagnostics', { transport: 'http' });
    const httpLocation = locations.at(-1)!;
    assert.match(httpLocation, new RegExp(`/diagnostics-upload/${http.body.id}/[A-Za-z0-9_-]+$`));

    const wrong = new URL(ftpLocation);
    wrong.password = 'not-the-password';
    await assert.rejects(ftpUpload(wrong.href, 'x'), /530/);
    const badHttp = await fetch(`${httpLocation.replace(/\/[^/]+$/, '/wrong')}`, { method: 'PUT', body: 'x' });
    assert.equal(badHttp.status, 401);

    offsetMs += 3601_000; // past the default --diagnostics-ttl of an hour
    await assert.rejects(ftpUpload(ftpLocation, 'late'), /530 .*expired/);
    const late = await fetch(httpLocation, { method: 'PUT', body: 'late' });
    assert.equal(late.status, 401);
    assert.equal(((await late.json()) as { error: { code: string } }).error.code, 'AMPERE_ERR_DIAGNOSTICS_CREDENTIAL');
    for (const id of [ftp.body.id, http.body.id]) {
      assert.equal((await server.api('GET', `/api/diagnostics/${id}`)).body.downloadable, false);
    }
    offsetMs = 0;
  });

  it('the simulator with a wrong FTP credential retries, then reports UploadFailed', async () => {
    const port = server.ftp!.port;
    const before = sim.station.history.length;
    await sim.station.handle('GetDiagnostics', {
      location: `ftp://ampere-1:wrong@127.0.0.1:${port}/`,
      retries: 1,
      retryInterval: 0,
    });
    const statuses = () =>
      sim.station.history
        .slice(before)
        .filter((h) => h.dir === 'out' && h.action === 'DiagnosticsStatusNotification')
        .map((h) => (h.payload as { status: string }).status);
    await until(() => (statuses().includes('UploadFailed') ? true : undefined));
    assert.deepEqual(statuses(), ['Uploading', 'Uploading', 'UploadFailed']);
  });

  it('FTP asked for while the FTP server is off is refused with a clear error', async () => {
    const plain = await startTestServer({}, {});
    try {
      const c = await plain.charger('NO-FTP');
      const r = await plain.api('POST', '/api/chargers/NO-FTP/diagnostics', { transport: 'ftp' });
      assert.equal(r.status, 409);
      assert.equal(r.body.error.code, 'AMPERE_ERR_DIAGNOSTICS_TRANSPORT');
      assert.match(r.body.error.message, /--ftp-port/);
      await c.close();
    } finally {
      await plain.close();
    }
  });
});
