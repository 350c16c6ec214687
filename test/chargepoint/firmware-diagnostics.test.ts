import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { rig, until } from './helpers.ts';

let http: Server;
let base = '';
const uploads: { name: string; body: string }[] = [];
let firmwareHits = 0;

before(async () => {
  http = createServer((req, res) => {
    if (req.method === 'GET' && req.url === '/fw/ampere-2.0.0.bin') {
      firmwareHits++;
      res.writeHead(200, { 'content-type': 'application/octet-stream' });
      return res.end(Buffer.alloc(4096, 1));
    }
    if (req.method === 'GET' && req.url === '/fw/flaky.bin') {
      firmwareHits++;
      if (firmwareHits < 3) {
        res.writeHead(503);
        return res.end();
      }
      res.writeHead(200, { 'x-firmware-version': '3.1.4' });
      return res.end('firmware');
    }
    if (req.method === 'POST' && req.url === '/upload') {
      const chunks: Buffer[] = [];
      req.on('data', (c) => chunks.push(c));
      req.on('end', () => {
        const name = /filename="([^"]+)"/.exec(String(req.headers['content-disposition']))?.[1] ?? '';
        uploads.push({ name, body: Buffer.concat(chunks).toString() });
        res.writeHead(201);
        res.end();
      });
      return;
    }
    res.writeHead(404);
    res.end();
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((r) => http.close(() => r())));

describe('UpdateFirmware', () => {
  it('downloads at retrieveDate, reports the status sequence, reboots into the new version', async () => {
    firmwareHits = 0;
    const { clock, station, central } = await rig('generic');
    const retrieveDate = new Date(clock.now() + 60_000).toISOString();
    assert.deepEqual(
      await station.handle('UpdateFirmware', { location: `${base}/fw/ampere-2.0.0.bin`, retrieveDate }),
      {},
    );
    await clock.advance(59_000);
    assert.equal(firmwareHits, 0);
    await clock.advance(1_000);
    await until(clock, () => central.of('FirmwareStatusNotification').some((p) => p.status === 'Installed'), 500);
    assert.deepEqual(
      central.of('FirmwareStatusNotification').map((p) => p.status),
      ['Downloading', 'Downloaded', 'Installing', 'Installed'],
    );
    const boots = central.of('BootNotification');
    assert.equal(boots.length, 2);
    assert.equal(boots[1].firmwareVersion, 'ampere-2.0.0');
    assert.equal(station.firmwareVersion, 'ampere-2.0.0');
  });

  it('retries a failed download `retries` times, `retryInterval` apart', async () => {
    firmwareHits = 0;
    const { clock, station, central } = await rig('generic');
    await station.handle('UpdateFirmware', {
      location: `${base}/fw/flaky.bin`,
      retrieveDate: new Date(clock.now()).toISOString(),
      retries: 3,
      retryInterval: 30,
    });
    await until(clock, () => station.firmwareVersion === '3.1.4', 1000);
    assert.equal(firmwareHits, 3);
    assert.deepEqual(
      central
        .of('FirmwareStatusNotification')
        .map((p) => p.status)
        .slice(0, 4),
      ['Downloading', 'Downloading', 'Downloading', 'Downloaded'],
    );
  });

  it('reports DownloadFailed when the file is not there', async () => {
    const { clock, station, central } = await rig('generic');
    await station.handle('UpdateFirmware', {
      location: `${base}/fw/missing.bin`,
      retrieveDate: new Date(clock.now()).toISOString(),
    });
    await until(clock, () => central.of('FirmwareStatusNotification').length === 2);
    assert.deepEqual(
      central.of('FirmwareStatusNotification').map((p) => p.status),
      ['Downloading', 'DownloadFailed'],
    );
  });
});

describe('GetDiagnostics', () => {
  it('answers the file name, uploads it over HTTP, reports Uploading then Uploaded', async () => {
    const { clock, station, central } = await rig('generic');
    const res: any = await station.handle('GetDiagnostics', { location: `${base}/upload` });
    assert.match(res.fileName, /^diagnostics-CP1-.*\.json$/);
    await until(clock, () => central.of('DiagnosticsStatusNotification').length === 2);
    assert.deepEqual(
      central.of('DiagnosticsStatusNotification').map((p) => p.status),
      ['Uploading', 'Uploaded'],
    );
    const up = uploads.at(-1)!;
    assert.equal(up.name, res.fileName);
    assert.equal(JSON.parse(up.body).chargePointId, 'CP1');
  });

  it('reports UploadFailed for a location that refuses the file; answers no file name for a scheme it cannot use', async () => {
    const { clock, station, central } = await rig('generic');
    await station.handle('GetDiagnostics', { location: `${base}/nowhere` });
    await until(clock, () => central.of('DiagnosticsStatusNotification').length === 2);
    assert.equal(central.of('DiagnosticsStatusNotification')[1].status, 'UploadFailed');
    assert.deepEqual(await station.handle('GetDiagnostics', { location: 'sftp://example.com/' }), {});
  });
});
