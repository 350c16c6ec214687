// The simulator's secure firmware update (security whitepaper, SignedUpdateFirmware) on the
// generic profile, over a real HTTP download: the signature is checked with the signing
// certificate's key, the certificate against an installed ManufacturerRootCertificate; and a
// body that does not match the server's checksum header is a failed download.
import assert from 'node:assert/strict';
import { createHash, sign } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { createCa, type KeyPairPem } from '../../src/central/security/index.ts';
import { getProfile } from '../../src/chargepoint/index.ts';
import { rig, until } from './helpers.ts';

const image = Buffer.alloc(8192, 3);
let http: Server;
let base = '';
let vendor: KeyPairPem;
let other: KeyPairPem;

before(async () => {
  [vendor, other] = await Promise.all([
    createCa({ organization: 'Maker', commonName: 'Maker firmware', keyType: 'ec' }),
    createCa({ organization: 'Someone else', keyType: 'ec' }),
  ]);
  http = createServer((req, res) => {
    const sum = createHash('sha256').update(image).digest('hex');
    const headers = {
      'x-firmware-version': '7.0.0',
      'x-checksum-sha256': req.url === '/corrupt.bin' ? '0'.repeat(64) : sum,
    };
    res.writeHead(200, headers);
    res.end(image);
  });
  await new Promise<void>((r) => http.listen(0, '127.0.0.1', r));
  base = `http://127.0.0.1:${(http.address() as AddressInfo).port}`;
});
after(() => new Promise<void>((r) => http.close(() => r())));

function request(now: number, file: string, signer: KeyPairPem, body = image) {
  return {
    requestId: 42,
    firmware: {
      location: `${base}/${file}`,
      retrieveDateTime: new Date(now).toISOString(),
      signingCertificate: vendor.certPem,
      signature: sign('sha256', body, signer.keyPem).toString('base64'),
    },
  };
}

describe('SignedUpdateFirmware (generic profile)', () => {
  it('verifies the signature, installs, and reports each step with the requestId', async () => {
    const { clock, station, central } = await rig('generic');
    assert.deepEqual(await station.handle('SignedUpdateFirmware', request(clock.now(), 'fw.bin', vendor)), {
      status: 'Accepted',
    });
    await until(clock, () => central.of('SignedFirmwareStatusNotification').some((p) => p.status === 'Installed'), 500);
    const notes = central.of('SignedFirmwareStatusNotification');
    assert.deepEqual(
      notes.map((p) => p.status),
      ['Downloading', 'Downloaded', 'SignatureVerified', 'Installing', 'Installed'],
    );
    assert.ok(notes.every((p) => p.requestId === 42));
    assert.equal(station.firmwareVersion, '7.0.0');
  });

  it('a signature made with another key: InvalidSignature and a security event, no install', async () => {
    const { clock, station, central } = await rig('generic');
    await station.handle('SignedUpdateFirmware', request(clock.now(), 'fw.bin', other));
    await until(clock, () =>
      central.of('SignedFirmwareStatusNotification').some((p) => p.status === 'InvalidSignature'),
    );
    assert.deepEqual(
      central.of('SignedFirmwareStatusNotification').map((p) => p.status),
      ['Downloading', 'Downloaded', 'InvalidSignature'],
    );
    assert.equal(central.of('SecurityEventNotification')[0]?.type, 'InvalidFirmwareSignature');
    assert.equal(station.firmwareVersion, '1.0.0');
  });

  it('a signing certificate not issued by the installed manufacturer root: InvalidCertificate', async () => {
    // The generic profile with the extension's certificate management, to hold a manufacturer root.
    const withCerts = {
      ...getProfile('generic'),
      receives: [...getProfile('generic').receives, 'InstallCertificate' as const],
    };
    const { station, central, clock } = await rig(withCerts);
    await station.handle('InstallCertificate', {
      certificateType: 'ManufacturerRootCertificate',
      certificate: other.certPem,
    });
    assert.deepEqual(await station.handle('SignedUpdateFirmware', request(clock.now(), 'fw.bin', vendor)), {
      status: 'InvalidCertificate',
    });
    await until(clock, () => central.of('SecurityEventNotification').length > 0);
    assert.equal(central.of('SecurityEventNotification')[0]?.type, 'InvalidFirmwareSigningCertificate');
    assert.equal(central.of('SignedFirmwareStatusNotification').length, 0);
  });

  it('a body that does not match the checksum header is a failed download', async () => {
    const { clock, station, central } = await rig('generic');
    await station.handle('UpdateFirmware', {
      location: `${base}/corrupt.bin`,
      retrieveDate: new Date(clock.now()).toISOString(),
    });
    await until(clock, () => central.of('FirmwareStatusNotification').length === 2);
    assert.deepEqual(
      central.of('FirmwareStatusNotification').map((p) => p.status),
      ['Downloading', 'DownloadFailed'],
    );
  });

  it('Eaton has no security extension: SignedUpdateFirmware is NotImplemented', async () => {
    const { station, clock } = await rig('eaton-green-motion');
    await assert.rejects(station.handle('SignedUpdateFirmware', request(clock.now(), 'fw.bin', vendor)), (e: any) => {
      assert.equal(e.code ?? e.callError, 'NotImplemented');
      return true;
    });
  });
});
