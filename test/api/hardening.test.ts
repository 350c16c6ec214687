// Operator API hardening over real HTTP: security headers on every answer (also errors, the docs
// page and the event stream), CORS refused by default and allowed for configured origins, HSTS
// over TLS, and the per-address lock after wrong bearer tokens, recorded as security events.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { loadServeConfig } from '../../src/config/index.ts';
import { CPO, makePki } from '../security/helpers.ts';
import { httpsFetch, startTestServer, type TestServer, TOKEN, until } from './helpers.ts';

const COMMON = {
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
};

function assertHardened(headers: Headers, what: string, opts: { docs?: boolean; api?: boolean } = {}) {
  for (const [k, v] of Object.entries(COMMON)) assert.equal(headers.get(k), v, `${what}: ${k}`);
  assert.equal(headers.get('strict-transport-security'), null, `${what}: no HSTS over plain http`);
  if (opts.api === false) return;
  const csp = headers.get('content-security-policy') ?? '';
  if (opts.docs) {
    assert.match(csp, /script-src 'self'/, what);
    assert.match(csp, /style-src 'self' 'unsafe-inline'/, what);
    assert.match(csp, /img-src 'self' data:/, what);
    assert.match(csp, /frame-ancestors 'none'/, what);
    assert.doesNotMatch(csp, /unsafe-eval/, what);
  } else {
    assert.match(csp, /^default-src 'none'/, what);
    assert.equal(headers.get('cache-control'), 'no-store', `${what}: cache-control`);
  }
}

describe('API hardening', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  test('security headers on success, errors, the OpenAPI document and the docs page', async () => {
    assertHardened((await s.api('GET', '/api/chargers')).headers, '200');
    assertHardened((await s.api('GET', '/api/chargers', undefined, { authorization: '' })).headers, '401');
    assertHardened((await s.api('GET', '/api/chargers/NOPE')).headers, '404');
    assertHardened((await s.api('GET', '/api/nothing')).headers, 'unknown route');
    assertHardened((await s.api('GET', '/api/chargers?limit=0')).headers, '400');
    assertHardened(
      (await s.api('POST', '/api/chargers', '{bad json', { 'content-type': 'application/json' })).headers,
      'bad json',
    );
    assertHardened((await fetch(`${s.url}/api/openapi.json`)).headers, 'openapi.json');
    const docs = await fetch(`${s.url}/api/docs/`);
    assert.equal(docs.status, 200);
    assertHardened(docs.headers, 'docs', { docs: true });
    const asset = await fetch(`${s.url}/api/docs/static/swagger-ui-bundle.js`);
    assert.equal(asset.status, 200);
    assertHardened(asset.headers, 'docs asset', { docs: true });
    assertHardened((await fetch(`${s.url}/`)).headers, 'outside /api', { api: false });
  });

  test('the event stream (written outside fastify reply) carries them too', async () => {
    const stop = new AbortController();
    const res = await fetch(`${s.url}/api/events`, {
      headers: { authorization: `Bearer ${TOKEN}` },
      signal: stop.signal,
    });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    for (const [k, v] of Object.entries(COMMON)) assert.equal(res.headers.get(k), v, k);
    assert.match(res.headers.get('content-security-policy') ?? '', /default-src 'none'/);
    stop.abort();
  });

  test('CORS is off by default: preflights are refused, answers carry no Allow-Origin', async () => {
    const pre = await fetch(`${s.url}/api/chargers`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://evil.example',
        'access-control-request-method': 'GET',
        'access-control-request-headers': 'authorization',
      },
    });
    assert.equal(pre.status, 403);
    assert.equal(pre.headers.get('access-control-allow-origin'), null);
    assert.equal(((await pre.json()) as any).error.code, 'AMPERE_ERR_FORBIDDEN');
    const get = await s.api('GET', '/api/chargers', undefined, { origin: 'https://evil.example' });
    assert.equal(get.status, 200);
    assert.equal(get.headers.get('access-control-allow-origin'), null);
    assert.equal(get.headers.get('vary'), 'Origin');
  });

  test('a missing token is not counted as a guess', async () => {
    for (let i = 0; i < 25; i++) {
      assert.equal((await s.api('GET', '/api/chargers', undefined, { authorization: '' })).status, 401);
    }
    assert.equal((await s.api('GET', '/api/chargers')).status, 200);
    const events = await s.store.listEvents({ kind: 'SecurityEvent' });
    assert.equal(events.total, 0);
  });

  test('a wrong token is a security event, without the token', async () => {
    const r = await s.api('GET', '/api/chargers', undefined, { authorization: 'Bearer guess-number-one' });
    assert.equal(r.status, 401);
    const list = await until(async () => {
      const x = await s.api('GET', '/api/security/events');
      return x.body.total > 0 ? x : null;
    });
    const e = list?.body.items[0];
    assert.equal(e.type, 'OperatorApiAuthenticationFailed');
    assert.equal(e.chargerId, null);
    assert.equal(e.source, 'central');
    assert.match(e.data.remoteAddress, /127\.0\.0\.1/);
    assert.equal(JSON.stringify(list?.body).includes('guess-number-one'), false);
  });
});

describe('API hardening: wrong-token lock', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  test('after 10 wrong tokens the address is locked (429, Retry-After), also for the right token', async () => {
    for (let i = 0; i < 11; i++) {
      const r = await s.api('GET', '/api/chargers', undefined, { authorization: `Bearer wrong-${i}` });
      assert.equal(r.status, 401, `attempt ${i + 1}`);
    }
    const locked = await s.api('GET', '/api/chargers');
    assert.equal(locked.status, 429);
    assert.equal(locked.body.error.code, 'AMPERE_ERR_RATE_LIMITED');
    assert.ok(Number(locked.headers.get('retry-after')) >= 1);
    assertHardened(locked.headers, '429');
    const events = await until(async () => {
      const p = await s.store.listEvents({ kind: 'SecurityEvent', limit: 100 });
      return p.total >= 11 ? p : null;
    });
    const types = new Set(events?.items.map((e) => (e.payload as { type: string }).type));
    assert.deepEqual([...types], ['OperatorApiAuthenticationFailed']);
    assert.ok(events?.items.some((e) => (e.payload as { lockedMs?: number }).lockedMs === 1000));
    assert.equal(JSON.stringify(events?.items).includes('wrong-'), false);
    // While locked, guesses are not even checked (and not recorded again).
    await s.api('GET', '/api/chargers', undefined, { authorization: 'Bearer wrong-again' });
    assert.equal((await s.store.listEvents({ kind: 'SecurityEvent' })).total, events?.total);
    // The OpenAPI document stays readable.
    assert.equal((await fetch(`${s.url}/api/openapi.json`)).status, 200);
  });
});

describe('API hardening: configured CORS origins', () => {
  let s: TestServer;
  const ALLOWED = 'https://ops.example.com';
  before(async () => {
    s = await startTestServer({ corsOrigins: [ALLOWED, 'http://localhost:5173'] });
  });
  after(() => s.close());

  test('a preflight from an allowed origin is answered before the token check', async () => {
    const pre = await fetch(`${s.url}/api/chargers/X/security`, {
      method: 'OPTIONS',
      headers: {
        origin: ALLOWED,
        'access-control-request-method': 'PUT',
        'access-control-request-headers': 'authorization, content-type',
      },
    });
    assert.equal(pre.status, 204);
    assert.equal(pre.headers.get('access-control-allow-origin'), ALLOWED);
    assert.match(pre.headers.get('access-control-allow-methods') ?? '', /PUT/);
    assert.match(pre.headers.get('access-control-allow-headers') ?? '', /authorization/);
    assert.equal(pre.headers.get('vary'), 'Origin');
    for (const [k, v] of Object.entries(COMMON)) assert.equal(pre.headers.get(k), v, k);

    const get = await s.api('GET', '/api/chargers', undefined, { origin: ALLOWED });
    assert.equal(get.status, 200);
    assert.equal(get.headers.get('access-control-allow-origin'), ALLOWED);
    const unauth = await s.api('GET', '/api/chargers', undefined, { origin: ALLOWED, authorization: '' });
    assert.equal(unauth.status, 401);
    assert.equal(unauth.headers.get('access-control-allow-origin'), ALLOWED, 'the page can read the 401');
  });

  test('other origins are still refused', async () => {
    const pre = await fetch(`${s.url}/api/chargers`, {
      method: 'OPTIONS',
      headers: { origin: 'https://ops.example.com.evil.example', 'access-control-request-method': 'GET' },
    });
    assert.equal(pre.status, 403);
    assert.equal(pre.headers.get('access-control-allow-origin'), null);
    const get = await s.api('GET', '/api/chargers', undefined, { origin: 'http://localhost:8080' });
    assert.equal(get.headers.get('access-control-allow-origin'), null);
  });

  test('--cors-origin takes exact origins, comma-separated', () => {
    const c = loadServeConfig(['--cors-origin', 'https://a.example, http://localhost:5173'], {});
    assert.deepEqual(c.corsOrigins, ['https://a.example', 'http://localhost:5173']);
    assert.deepEqual(loadServeConfig([], { AMPERE_CORS_ORIGIN: 'https://b.example' }).corsOrigins, [
      'https://b.example',
    ]);
    assert.deepEqual(loadServeConfig([], {}).corsOrigins, []);
    for (const bad of ['*', 'https://a.example/', 'a.example', 'ftp://a.example', 'https://a.example/path']) {
      assert.throws(() => loadServeConfig(['--cors-origin', bad], {}), /cors-origin/, bad);
    }
  });
});

describe('API hardening over TLS', () => {
  let s: TestServer;
  let ca: string;
  before(async () => {
    const pki = await makePki();
    ca = pki.ca.certPem;
    s = await startTestServer({ tlsCert: pki.files.cert, tlsKey: pki.files.key, cpoName: CPO }, { ca });
  });
  after(() => s.close());

  test('HSTS on every answer', async () => {
    assert.match(s.url, /^https:/);
    for (const [path, auth] of [
      ['/api/chargers', `Bearer ${TOKEN}`],
      ['/api/chargers', ''],
      ['/api/docs/', ''],
    ] as const) {
      const r = await httpsFetch(s.url + path, { headers: { authorization: auth }, ca });
      assert.equal(r.headers.get('strict-transport-security'), 'max-age=31536000', path);
      assert.equal(r.headers.get('x-content-type-options'), 'nosniff', path);
    }
  });
});
