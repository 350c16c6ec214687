// Firmware end to end (issue 12 item 2): `ampere serve` as a real process, the simulator as the
// chargers. An image is uploaded through the API, served from the server's own port at a signed,
// expiring link the simulator really downloads over HTTP, installed by a reboot, and confirmed by
// the version of the next BootNotification; an expired link ends in DownloadFailed; signed
// firmware goes to the profile with the security extension and falls back (or is refused) for
// Eaton's; a rollout keeps to its concurrency limit and halts on failures.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { randomBytes, sign } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createCa } from '../../src/central/security/index.ts';
import { createStation, fetchTrusting, type SimStation, type Station } from '../../src/chargepoint/index.ts';
import { runCli, type ServerProcess, spawnServer, tempDir } from '../helpers/process.ts';
import { SimFleet } from '../helpers/sim.ts';
import { sleep, until } from '../helpers/wait.ts';

const TOKEN = 'firmware-e2e-token-0123456789abcdef0123';
const auth = { authorization: `Bearer ${TOKEN}` };

/** The location the charger was sent (its own record of the CALL). */
function sentLocation(s: Station, action = 'UpdateFirmware'): string {
  const call = s.history.filter((h) => h.dir === 'in' && h.action === action).at(-1)?.payload as any;
  return action === 'UpdateFirmware' ? call.location : call.firmware.location;
}

describe('firmware against the simulator', () => {
  let server: ServerProcess;
  const fleet = new SimFleet();
  const image = randomBytes(300_000);
  const generic = (id: string) => fleet.start(server.wsUrl, id, 'generic', '/ocpp');
  const eaton = (id: string) => fleet.start(server.wsUrl, id, 'eaton-green-motion', '/ocppj/v1.6');

  async function api(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }> {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { ...auth, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : null };
  }

  async function upload(bytes: Buffer, name: string, version: string): Promise<any> {
    const res = await fetch(`${server.url}/api/firmware?name=${name}&version=${version}`, {
      method: 'POST',
      headers: { ...auth, 'content-type': 'application/octet-stream' },
      body: bytes,
    });
    assert.equal(res.status, 201, await res.clone().text());
    return res.json();
  }

  /** The job once it left `running`. */
  function finished(id: number): Promise<any> {
    return until(async () => {
      const j = (await api('GET', `/api/firmware/jobs/${id}`)).body;
      return j.state === 'running' || j.state === 'queued' ? undefined : j;
    }, 30_000);
  }

  before(async () => {
    server = await spawnServer(['--registration', 'open', '--firmware-max-size', '1'], {
      data: tempDir(),
      env: { AMPERE_API_TOKEN: TOKEN },
    });
  });
  after(async () => {
    await fleet.stop();
    await server.stop();
  });

  it('upload → UpdateFirmware → real HTTP download → Installed → the next boot reports the new version', async () => {
    const img = await upload(image, 'ampere-2.0.0.bin', '2.0.0');
    assert.equal(img.size, image.length);
    assert.match(img.sha256, /^[0-9a-f]{64}$/);
    const s = await generic('FW-1');
    const start = await api('POST', '/api/chargers/FW-1/firmware-update', { imageId: img.id, signed: 'never' });
    assert.equal(start.status, 202, JSON.stringify(start.body));
    assert.equal(start.body.method, 'UpdateFirmware');
    const job = await finished(start.body.id);
    assert.equal(job.state, 'succeeded', JSON.stringify(job));
    assert.equal(job.versionBefore, '1.0.0');
    assert.equal(job.versionAfter, '2.0.0');
    const statuses = job.history.map((h: any) => h.status);
    for (const st of ['Downloading', 'Downloaded', 'Installing', 'Boot with firmware 2.0.0', 'Confirmed']) {
      assert.ok(statuses.includes(st), `${st} in ${statuses.join(', ')}`);
    }
    assert.equal(s.firmwareVersion, '2.0.0');
    assert.equal((await api('GET', '/api/chargers/FW-1')).body.firmwareVersion, '2.0.0');

    // The link: no operator token needed, the whole file or a range of it; altered → 403.
    const location = sentLocation(s);
    assert.ok(location.startsWith(`${server.url}/firmware/${img.id}/`), location);
    const whole = await fetch(location);
    assert.equal(whole.status, 200);
    assert.deepEqual(Buffer.from(await whole.arrayBuffer()), image);
    const part = await fetch(location, { headers: { range: 'bytes=100-199' } });
    assert.equal(part.status, 206);
    assert.equal(part.headers.get('content-range'), `bytes 100-199/${image.length}`);
    assert.deepEqual(Buffer.from(await part.arrayBuffer()), image.subarray(100, 200));
    const head = await fetch(location, { method: 'HEAD' });
    assert.equal(head.headers.get('content-length'), String(image.length));
    assert.equal(head.headers.get('x-firmware-version'), '2.0.0');
    const forged = location.replace(/\/(\d+)\/([^/]+)\//, (_m, exp) => `/${Number(exp) + 3600}/AAAA/`);
    const refused = await fetch(forged);
    assert.equal(refused.status, 403);
    assert.equal(((await refused.json()) as any).error.code, 'AMPERE_ERR_FIRMWARE_URL_INVALID');
    const unknown = await api('POST', '/api/chargers/FW-1/firmware-update', { imageId: 'nope' });
    assert.equal(unknown.status, 404);
  });

  it('an expired link: the charger reports DownloadFailed after its retries and the job fails', async () => {
    const img = await upload(randomBytes(50_000), 'gm-4.4.0.bin', '4.4.0');
    const s = await eaton('GM-EXP');
    const retrieveDate = new Date(Date.now() + 3000).toISOString();
    const start = await api('POST', '/api/chargers/GM-EXP/firmware-update', {
      imageId: img.id,
      retrieveDate,
      retries: 1,
      retryInterval: 1,
      linkValidity: 1,
    });
    assert.equal(start.status, 202, JSON.stringify(start.body));
    const job = await finished(start.body.id);
    assert.equal(job.state, 'failed');
    assert.equal(job.status, 'DownloadFailed');
    // retries: 1 → two attempts, both refused (403), then DownloadFailed.
    assert.equal(job.history.filter((h: any) => h.status === 'Downloading').length, 2);
    assert.equal(s.firmwareVersion, '4.3.2');
    const expired = await fetch(sentLocation(s));
    assert.equal(expired.status, 403);
    assert.equal(((await expired.json()) as any).error.code, 'AMPERE_ERR_FIRMWARE_URL_EXPIRED');
  });

  it('signed firmware: SignedUpdateFirmware where the profile has it; Eaton falls back in auto, is refused in always', async () => {
    const bytes = randomBytes(80_000);
    const img = await upload(bytes, 'signed-3.0.0.bin', '3.0.0');
    const vendor = await createCa({ organization: 'Ampere Simulators', commonName: 'Firmware signing', keyType: 'ec' });
    const wrong = await api('PUT', `/api/firmware/${img.id}/signature`, {
      signingCertificate: vendor.certPem,
      signature: sign('sha256', randomBytes(10), vendor.keyPem).toString('base64'),
    });
    assert.equal(wrong.status, 400);
    assert.equal(wrong.body.error.code, 'AMPERE_ERR_FIRMWARE_SIGNATURE');
    const signed = await api('PUT', `/api/firmware/${img.id}/signature`, {
      signingCertificate: vendor.certPem,
      signature: sign('sha256', bytes, vendor.keyPem).toString('base64'),
    });
    assert.equal(signed.status, 200, JSON.stringify(signed.body));

    const g = await generic('FW-SIGNED');
    const start = await api('POST', '/api/chargers/FW-SIGNED/firmware-update', { imageId: img.id });
    assert.equal(start.status, 202, JSON.stringify(start.body));
    const job = await finished(start.body.id);
    assert.equal(job.method, 'SignedUpdateFirmware');
    assert.equal(job.state, 'succeeded', JSON.stringify(job));
    assert.ok(job.history.some((h: any) => h.status === 'SignatureVerified'));
    assert.equal(g.firmwareVersion, '3.0.0');
    assert.equal((sentLocation(g, 'SignedUpdateFirmware') as string).includes(img.id), true);

    await eaton('GM-SIGNED');
    const refused = await api('POST', '/api/chargers/GM-SIGNED/firmware-update', { imageId: img.id, signed: 'always' });
    assert.equal(refused.status, 409);
    assert.match(refused.body.error.message, /does not support SignedUpdateFirmware/);
    const fallback = await api('POST', '/api/chargers/GM-SIGNED/firmware-update', { imageId: img.id });
    assert.equal(fallback.status, 202, JSON.stringify(fallback.body));
    assert.equal(fallback.body.method, 'UpdateFirmware');
    assert.equal((await finished(fallback.body.id)).state, 'succeeded');
  });

  it('bad input gets a clear error and loses nothing; an image in use cannot be deleted', async () => {
    const post = (type: string, query: string, body: Buffer) =>
      fetch(`${server.url}/api/firmware?${query}`, {
        method: 'POST',
        headers: { ...auth, 'content-type': type },
        body,
      });
    const json = await post('application/json', 'name=a.bin&version=1', Buffer.from('{}'));
    assert.equal(json.status, 415);
    const badName = await post('application/octet-stream', 'name=../etc/passwd&version=1', Buffer.alloc(10));
    assert.equal(badName.status, 400);
    assert.match(((await badName.json()) as any).error.message, /name: 1-128 characters/);
    const big = await post('application/octet-stream', 'name=big.bin&version=1', Buffer.alloc(1024 * 1024 + 1));
    assert.equal(big.status, 413);
    assert.equal(((await big.json()) as any).error.code, 'AMPERE_ERR_PAYLOAD_TOO_LARGE');
    const before = (await api('GET', '/api/firmware')).body.items.length;
    assert.ok(!(await api('GET', '/api/firmware')).body.items.some((i: any) => i.name === 'big.bin'));

    const img = await upload(randomBytes(1000), 'later-9.0.0.bin', '9.0.0');
    await generic('FW-LATER');
    const later = await api('POST', '/api/chargers/FW-LATER/firmware-update', {
      imageId: img.id,
      retrieveDate: new Date(Date.now() + 86400_000).toISOString(),
    });
    assert.equal(later.status, 202);
    const inUse = await api('DELETE', `/api/firmware/${img.id}`);
    assert.equal(inUse.status, 409);
    assert.equal(inUse.body.error.code, 'AMPERE_ERR_FIRMWARE_IN_USE');
    const again = await api('POST', '/api/chargers/FW-LATER/firmware-update', { imageId: img.id });
    assert.equal(again.body.error.code, 'AMPERE_ERR_FIRMWARE_BUSY');
    const cancel = await runCli(['firmware', 'job', String(later.body.id), '--cancel', '--json'], {
      AMPERE_URL: server.url,
      AMPERE_API_TOKEN: TOKEN,
    });
    assert.equal(JSON.parse(cancel.stdout).state, 'cancelled');
    assert.equal((await api('DELETE', `/api/firmware/${img.id}`)).status, 204);
    assert.equal((await api('GET', '/api/firmware')).body.items.length, before);
  });

  it('a rollout keeps to its concurrency, halts past its failure rate; one by vendor and model completes', async () => {
    const bytes = randomBytes(60_000);
    const img = await upload(bytes, 'fleet-5.0.0.bin', '5.0.0');
    const vendor = await createCa({ organization: 'Ampere Simulators', commonName: 'Fleet signing', keyType: 'ec' });
    await api('PUT', `/api/firmware/${img.id}/signature`, {
      signingCertificate: vendor.certPem,
      signature: sign('sha256', bytes, vendor.keyPem).toString('base64'),
    });
    for (const id of ['RA-1', 'RA-2']) await generic(id);
    for (const id of ['RB-1', 'RB-2', 'RB-3', 'RB-4']) await eaton(id);

    // Every firmware.job event, to count the jobs running at any moment.
    const lines: string[] = [];
    const ac = new AbortController();
    const stream = fetch(`${server.url}/api/events?type=firmware.job`, { headers: auth, signal: ac.signal }).then(
      async (res) => {
        for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>)
          lines.push(Buffer.from(chunk).toString());
      },
    );
    await sleep(300);

    // signed: always fails on Eaton (no security extension): those jobs fail, the rollout halts.
    const created = await runCli(
      [
        'firmware',
        'rollout',
        'start',
        img.id,
        '--charger',
        'RA-1,RA-2,RB-1,RB-2,RB-3,RB-4',
        '--concurrency',
        '2',
        '--max-failure-rate',
        '0.3',
        '--min-finished',
        '2',
        '--signed',
        'always',
        '--json',
      ],
      { AMPERE_URL: server.url, AMPERE_API_TOKEN: TOKEN },
    );
    assert.equal(created.code, 0, created.stderr);
    const rollout = JSON.parse(created.stdout);
    assert.equal(rollout.progress.total, 6);
    const halted = await until(async () => {
      const r = (await api('GET', `/api/firmware/rollouts/${rollout.id}`)).body;
      return r.state === 'halted' ? r : undefined;
    }, 40_000);
    assert.match(halted.haltReason, /failure rate/);
    assert.ok(halted.progress.queued >= 1, JSON.stringify(halted.progress));
    const jobs = (await api('GET', `/api/firmware/jobs?rolloutId=${rollout.id}`)).body.items;
    const queuedLeft = jobs.filter((j: any) => j.state === 'queued').map((j: any) => j.chargerId);
    assert.ok(queuedLeft.every((id: string) => id.startsWith('RB-')));

    const cancelled = await runCli(['firmware', 'rollout', 'cancel', String(rollout.id), '--json'], {
      AMPERE_URL: server.url,
      AMPERE_API_TOKEN: TOKEN,
    });
    assert.equal(cancelled.code, 0, cancelled.stderr);
    assert.equal(JSON.parse(cancelled.stdout).state, 'cancelled');

    // The same image by vendor + model, plain UpdateFirmware (auto falls back): every Eaton box.
    const second = await api('POST', '/api/firmware/rollouts', {
      imageId: img.id,
      target: { vendor: 'GreenMotion', model: 'GMAC11' },
      concurrency: 2,
    });
    assert.equal(second.status, 201, JSON.stringify(second.body));
    const done = await until(async () => {
      const r = (await api('GET', `/api/firmware/rollouts/${second.body.id}`)).body;
      return r.state === 'completed' ? r : undefined;
    }, 60_000);
    assert.equal(done.progress.succeeded, done.progress.total);
    assert.ok(done.progress.total >= 4);

    ac.abort();
    await stream.catch(() => undefined);
    // Never more than the concurrency running at once, per rollout, from the events in order.
    for (const r of [rollout.id, second.body.id]) {
      const running = new Set<number>();
      let peak = 0;
      for (const line of lines.join('').split('\n')) {
        if (!line.startsWith('data: ')) continue;
        const e = JSON.parse(line.slice(6));
        if (e.data.rolloutId !== r) continue;
        if (e.data.state === 'running') running.add(e.data.jobId);
        else running.delete(e.data.jobId);
        peak = Math.max(peak, running.size);
      }
      assert.ok(peak >= 1 && peak <= 2, `rollout ${r}: peak ${peak}`);
    }
  });
});

describe('firmware over HTTPS when the server runs TLS', () => {
  let server: ServerProcess;
  let sim: SimStation | undefined;
  const data = tempDir();

  before(async () => {
    const init = spawnSync(
      process.execPath,
      ['bin/ampere.js', 'certs', 'init', '--data', data, '--hosts', 'localhost,127.0.0.1'],
      {
        encoding: 'utf8',
      },
    );
    assert.equal(init.status, 0, init.stderr);
    const certs = join(data, 'certs');
    server = await spawnServer(
      ['--registration', 'open', '--tls-cert', join(certs, 'server.pem'), '--tls-key', join(certs, 'server.key')],
      { data, env: { AMPERE_API_TOKEN: TOKEN } },
    );
  });
  after(async () => {
    await sim?.stop();
    await server?.stop();
  });

  it('the link is https on the same port and the simulator downloads through it', async () => {
    const ca = readFileSync(join(data, 'certs', 'ca.pem'));
    const tlsFetch = fetchTrusting(ca);
    const call = async (method: string, path: string, body: unknown, type = 'application/json') => {
      const res = await tlsFetch(`${server.url}${path}`, {
        method,
        headers: { ...auth, 'content-type': type },
        body: type === 'application/json' ? JSON.stringify(body) : (body as Buffer),
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    assert.match(server.url, /^https:/);
    const img = await call(
      'POST',
      '/api/firmware?name=tls-2.0.0.bin&version=2.0.0',
      randomBytes(20_000),
      'application/octet-stream',
    );
    assert.equal(img.status, 201, JSON.stringify(img.body));
    sim = createStation({ id: 'TLS-1', profile: 'generic', url: `${server.wsUrl}/ocpp`, ca });
    await sim.start();
    await until(() => (sim!.station.registration === 'Accepted' ? true : undefined));
    const start = await call('POST', '/api/chargers/TLS-1/firmware-update', { imageId: img.body.id, signed: 'never' });
    assert.equal(start.status, 202, JSON.stringify(start.body));
    const job = await until(async () => {
      const res = await tlsFetch(`${server.url}/api/firmware/jobs/${start.body.id}`, { headers: auth });
      const j = (await res.json()) as any;
      return j.state === 'running' ? undefined : j;
    }, 30_000);
    assert.equal(job.state, 'succeeded', JSON.stringify(job));
    const location = sentLocation(sim.station);
    assert.ok(location.startsWith(`${server.url}/firmware/`), location);
    assert.equal(sim.station.firmwareVersion, '2.0.0');
  });
});
