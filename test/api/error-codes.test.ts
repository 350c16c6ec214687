// Issue 15.3: every error answer carries a registered code with the HTTP status docs/errors.md
// gives it, the store's own codes included.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AMPERE_ERRORS, type AmpereErrorCode } from '../../src/errors.ts';
import { startTestServer, type TestServer, TOKEN } from './helpers.ts';

describe('error codes agree with their registered HTTP status', () => {
  let s: TestServer;
  const answers: { status: number; code: string }[] = [];
  const raw = async (method: string, path: string, body: Uint8Array, headers: Record<string, string> = {}) => {
    const res = await fetch(s.url + path, { method, headers: { authorization: `Bearer ${TOKEN}`, ...headers }, body });
    const parsed = (await res.json()) as { error: { code: string } };
    answers.push({ status: res.status, code: parsed.error.code });
    return { status: res.status, code: parsed.error.code };
  };
  before(async () => {
    s = await startTestServer();
  });
  after(async () => {
    await s.close();
  });

  // Regression: a body without a content type was answered 415 with AMPERE_ERR_BAD_REQUEST (400 in the docs).
  it('a body without a content type is 415 AMPERE_ERR_UNSUPPORTED_MEDIA_TYPE', async () => {
    const r = await raw('POST', '/api/chargers', new TextEncoder().encode('{"id":"X1"}'));
    assert.deepEqual(r, { status: 415, code: 'AMPERE_ERR_UNSUPPORTED_MEDIA_TYPE' });
  });

  it('a body over the limit is 413 AMPERE_ERR_PAYLOAD_TOO_LARGE', async () => {
    const big = new Uint8Array(2 * 1024 * 1024).fill(0x20);
    const r = await raw('POST', '/api/chargers', big, { 'content-type': 'application/json' });
    assert.deepEqual(r, { status: 413, code: 'AMPERE_ERR_PAYLOAD_TOO_LARGE' });
  });

  it('malformed JSON is 400 AMPERE_ERR_BAD_REQUEST', async () => {
    const r = await raw('POST', '/api/chargers', new TextEncoder().encode('{"id":'), {
      'content-type': 'application/json',
    });
    assert.deepEqual(r, { status: 400, code: 'AMPERE_ERR_BAD_REQUEST' });
  });

  it('every error answer above and in the transcript has its registered status', () => {
    const fromTranscript = s.transcript
      .map((line) => {
        const m = /^(\d{3}) .*?"code":"(AMPERE_ERR_[A-Z_]+)"/.exec(line);
        return m ? { status: Number(m[1]), code: m[2]! } : undefined;
      })
      .filter((a) => a !== undefined);
    for (const a of [...answers, ...fromTranscript]) {
      assert.equal(a.status, AMPERE_ERRORS[a.code as AmpereErrorCode]?.status, `${a.code} answered ${a.status}`);
    }
  });
});

// Regression: the store's codes were outside the registry and reached the API as 500 AMPERE_ERR_INTERNAL.
describe("the store's codes through the API", () => {
  it('a closed store is 503 AMPERE_ERR_STORE_CLOSED, not 500 AMPERE_ERR_INTERNAL', async () => {
    const s = await startTestServer();
    try {
      await s.store.close();
      const r = await s.api('GET', '/api/chargers');
      assert.equal(r.status, 503);
      assert.equal(r.body.error.code, 'AMPERE_ERR_STORE_CLOSED');
    } finally {
      await s.close().catch(() => {});
    }
  });
});
