// The web console's server side over real HTTP: the page and its assets with their CSP, sign-in
// trading the operator token for an HttpOnly SameSite=Strict cookie, the API accepting that
// cookie (reads freely, changes only with the CSRF header from the same origin), the event
// stream opened with the cookie alone, sign-out, and the shared lock after wrong tokens.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { BrowserSessions } from '../../src/api/index.ts';
import { startTestServer, type TestServer, TOKEN } from '../api/helpers.ts';

const NO_BEARER = { authorization: '' };

describe('web console session', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  const signIn = async (token = TOKEN, headers: Record<string, string> = {}) =>
    s.api('POST', '/api/session', { token }, { ...NO_BEARER, ...headers });
  const cookieOf = (headers: Headers) => (headers.get('set-cookie') ?? '').split(';')[0]!;

  // It answered AMPERE_ERR_NOT_FOUND "No route GET /" while the README promised a dashboard there.
  test('GET / is the console page: its own script and style sheet only, under a CSP without inline script', async () => {
    const page = await fetch(`${s.url}/`);
    assert.equal(page.status, 200);
    assert.match(page.headers.get('content-type') ?? '', /^text\/html/);
    const csp = page.headers.get('content-security-policy') ?? '';
    assert.match(csp, /script-src 'self'/);
    assert.match(csp, /style-src 'self'(;|$)/);
    assert.match(csp, /frame-ancestors 'none'/);
    assert.doesNotMatch(csp, /unsafe-inline|unsafe-eval/);
    assert.equal(page.headers.get('x-frame-options'), 'DENY');
    const html = await page.text();
    // Every script is an external file: nothing inline for the CSP to have to allow.
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/g)];
    assert.equal(scripts.length, 1);
    assert.equal(scripts[0]![2]!.trim(), '');
    assert.doesNotMatch(html, /\son[a-z]+=/i, 'no inline event handler');
    const script = /src="(\/assets\/[^"]+\.js)"/.exec(html)![1]!;
    const style = /href="(\/assets\/[^"]+\.css)"/.exec(html)![1]!;
    const js = await fetch(s.url + script);
    assert.equal(js.status, 200);
    assert.match(js.headers.get('content-type') ?? '', /javascript/);
    assert.match(js.headers.get('cache-control') ?? '', /immutable/);
    const again = await fetch(s.url + script, { headers: { 'if-none-match': js.headers.get('etag')! } });
    assert.equal(again.status, 304);
    assert.equal((await fetch(s.url + style)).status, 200);
    assert.equal((await fetch(`${s.url}/assets/nothing.js`)).status, 404);
  });

  test('sign-in: a wrong token is refused in words; the right one sets an HttpOnly, SameSite=Strict cookie', async () => {
    const before = await s.api('GET', '/api/session', undefined, NO_BEARER);
    assert.equal(before.status, 200);
    assert.equal(before.body.signedIn, false);
    assert.equal(before.body.csrfToken, undefined);

    const wrong = await signIn('not-the-token');
    assert.equal(wrong.status, 401);
    assert.equal(wrong.body.error.code, 'AMPERE_ERR_UNAUTHORIZED');
    assert.equal(wrong.headers.get('set-cookie'), null);

    const ok = await signIn();
    assert.equal(ok.status, 200);
    assert.equal(ok.body.signedIn, true);
    const setCookie = ok.headers.get('set-cookie') ?? '';
    assert.match(setCookie, /^ampere_session=[^;]+; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+/);
    assert.doesNotMatch(setCookie, new RegExp(TOKEN), 'the cookie is not the token');
    assert.doesNotMatch(JSON.stringify(ok.body), new RegExp(TOKEN));
    const cookie = cookieOf(ok.headers);
    const after = await s.api('GET', '/api/session', undefined, { ...NO_BEARER, cookie });
    assert.equal(after.body.signedIn, true);
    assert.equal(after.body.csrfToken, ok.body.csrfToken);
  });

  test('the cookie reads the API; a change needs the CSRF header and the same origin', async () => {
    const ok = await signIn();
    const cookie = cookieOf(ok.headers);
    const csrf = ok.body.csrfToken as string;
    const read = await s.api('GET', '/api/chargers', undefined, { ...NO_BEARER, cookie });
    assert.equal(read.status, 200);

    const noCsrf = await s.api('POST', '/api/chargers', { id: 'CSRF-1' }, { ...NO_BEARER, cookie });
    assert.equal(noCsrf.status, 403);
    assert.equal(noCsrf.body.error.code, 'AMPERE_ERR_CSRF');
    assert.match(noCsrf.body.error.message, /x-ampere-csrf/);
    const wrongCsrf = await s.api(
      'POST',
      '/api/chargers',
      { id: 'CSRF-1' },
      { ...NO_BEARER, cookie, 'x-ampere-csrf': 'x'.repeat(43) },
    );
    assert.equal(wrongCsrf.status, 403);
    const otherSite = await s.api(
      'POST',
      '/api/chargers',
      { id: 'CSRF-1' },
      { ...NO_BEARER, cookie, 'x-ampere-csrf': csrf, origin: 'https://evil.example' },
    );
    assert.equal(otherSite.status, 403);
    assert.equal(otherSite.body.error.code, 'AMPERE_ERR_FORBIDDEN');
    // Nothing was created by the refused requests.
    assert.equal((await s.api('GET', '/api/chargers/CSRF-1')).status, 404);

    const host = new URL(s.url).host;
    const made = await s.api(
      'POST',
      '/api/chargers',
      { id: 'CSRF-1' },
      { ...NO_BEARER, cookie, 'x-ampere-csrf': csrf, origin: `http://${host}` },
    );
    assert.equal(made.status, 201, JSON.stringify(made.body));
  });

  test('another site cannot sign this browser in (login CSRF)', async () => {
    const r = await signIn(TOKEN, { origin: 'https://evil.example' });
    assert.equal(r.status, 403);
    assert.equal(r.headers.get('set-cookie'), null);
  });

  test('the event stream opens with the cookie alone, as EventSource sends it', async () => {
    const cookie = cookieOf((await signIn()).headers);
    const ac = new AbortController();
    const res = await fetch(`${s.url}/api/events`, { headers: { cookie }, signal: ac.signal });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /text\/event-stream/);
    const reader = res.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    assert.match(first, /ampere events/);
    ac.abort();
    const without = await fetch(`${s.url}/api/events`);
    assert.equal(without.status, 401);
    await without.text();
  });

  test('sign-out revokes the cookie; a forged or altered cookie is refused', async () => {
    const ok = await signIn();
    const cookie = cookieOf(ok.headers);
    const out = await s.api('DELETE', '/api/session', undefined, {
      ...NO_BEARER,
      cookie,
      'x-ampere-csrf': ok.body.csrfToken,
    });
    assert.equal(out.status, 204);
    assert.match(out.headers.get('set-cookie') ?? '', /Max-Age=0/);
    const after = await s.api('GET', '/api/chargers', undefined, { ...NO_BEARER, cookie });
    assert.equal(after.status, 401);
    assert.match(after.body.error.message, /sign in again/);

    const fresh = cookieOf((await signIn()).headers);
    const [exp, nonce, mac] = fresh.split('=')[1]!.split('.');
    const later = `ampere_session=${Number(exp) + 86_400_000}.${nonce}.${mac}`;
    assert.equal((await s.api('GET', '/api/chargers', undefined, { ...NO_BEARER, cookie: later })).status, 401);
  });

  test('on a first start the sign-in page can name the file that keeps the generated token', async () => {
    const first = await startTestServer({ apiToken: undefined });
    try {
      const r = await first.api('GET', '/api/session', undefined, NO_BEARER);
      assert.equal(r.body.signedIn, false);
      assert.equal(r.body.tokenFile, join(first.data, 'api-token'));
      const token = readFileSync(r.body.tokenFile, 'utf8').trim();
      assert.equal((await first.api('POST', '/api/session', { token }, NO_BEARER)).status, 200);
    } finally {
      await first.close();
    }
  });

  test('wrong tokens at sign-in count toward the same lock as wrong bearer tokens', async () => {
    const locked = await startTestServer({}, {});
    try {
      let last = 0;
      for (let i = 0; i < 12; i++) {
        last = (await locked.api('POST', '/api/session', { token: `guess-${i}` }, NO_BEARER)).status;
      }
      assert.equal(last, 429);
      const right = await locked.api('POST', '/api/session', { token: TOKEN }, NO_BEARER);
      assert.equal(right.status, 429, 'even the right token waits out the lock');
      assert.ok(Number(right.headers.get('retry-after')) > 0);
    } finally {
      await locked.close();
    }
  });
});

describe('BrowserSessions', () => {
  test('a cookie expires after its lifetime and dies when the operator token changes', () => {
    let now = 1_000_000;
    const clock = { now: () => now };
    const sessions = new BrowserSessions('token-a', clock, 60_000);
    const { cookie, session } = sessions.create();
    assert.equal(sessions.verify(cookie)?.csrfToken, session.csrfToken);
    assert.equal(new BrowserSessions('token-b', clock, 60_000).verify(cookie), null);
    now += 59_999;
    assert.ok(sessions.verify(cookie));
    now += 1;
    assert.equal(sessions.verify(cookie), null);
  });

  test('the CSRF token differs per session and is checked exactly', () => {
    const sessions = new BrowserSessions('t', { now: () => 0 });
    const a = sessions.create().session;
    const b = sessions.create().session;
    assert.notEqual(a.csrfToken, b.csrfToken);
    assert.equal(sessions.checkCsrf(a, a.csrfToken), true);
    assert.equal(sessions.checkCsrf(a, b.csrfToken), false);
    assert.equal(sessions.checkCsrf(a, undefined), false);
  });
});
