// Webhooks against a local HTTP receiver that fails the first tries: every request is signed
// (HMAC-SHA256 over timestamp and body, verified here), retries follow the backoff (an injected
// timer, no sleeps), the last failure lands in the dead-letter list, and the API redelivers it.
import assert from 'node:assert/strict';
import { createHmac, timingSafeEqual } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { signWebhook, WebhookSender } from '../../src/bridge/index.ts';
import { EventBus } from '../../src/central/index.ts';
import { startTestServer, type TestServer } from '../api/helpers.ts';
import { until } from './helpers.ts';

const SECRET = 'webhook-secret-0123456789';

interface Hit {
  body: string;
  headers: Record<string, string | string[] | undefined>;
  signatureOk: boolean;
}

/** A receiver that verifies signatures the way a user would, and answers `answer()` (a status). */
async function receiver(answer: () => number): Promise<{ url: string; hits: Hit[]; close(): Promise<void> }> {
  const hits: Hit[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const body = Buffer.concat(chunks).toString();
      const ts = String(req.headers['x-ampere-timestamp']);
      const expected = `sha256=${createHmac('sha256', SECRET).update(`${ts}.${body}`).digest('hex')}`;
      const got = String(req.headers['x-ampere-signature']);
      const signatureOk = got.length === expected.length && timingSafeEqual(Buffer.from(got), Buffer.from(expected));
      hits.push({ body, headers: req.headers, signatureOk });
      res.statusCode = answer();
      res.end();
    });
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  const a = server.address();
  const port = typeof a === 'object' && a ? a.port : 0;
  return { url: `http://127.0.0.1:${port}/hook`, hits, close: () => new Promise((r) => server.close(() => r())) };
}

describe('webhook sender', () => {
  const scheduled: Array<{ fn: () => void; ms: number }> = [];
  const timers = {
    setTimeout: (fn: () => void, ms: number) => scheduled.push({ fn, ms }),
    clearTimeout: () => {},
  };
  const now = () => Date.parse('2026-12-01T12:00:00Z');
  const bus = new EventBus({ now });

  it('retries with backoff until the receiver takes it, every try signed', async () => {
    let n = 0;
    const r = await receiver(() => (++n <= 2 ? 500 : 204));
    try {
      const sender = new WebhookSender({ now, timers, fetch, backoffMs: 1000, maxAttempts: 5 });
      sender.configure([{ url: r.url, secret: SECRET }]);
      sender.handle(bus.emit('transaction.started', 'CP1', { transactionId: 7, connectorId: 1 }));
      for (let i = 0; i < 2; i++) {
        await until(`try ${i + 1}`, () => r.hits.length === i + 1 && scheduled.length === 1);
        scheduled.shift()!.fn();
      }
      await until('delivered', () => sender.stats().delivered === 1);
      assert.equal(r.hits.length, 3);
      assert.ok(
        r.hits.every((h) => h.signatureOk),
        'every try carries a valid signature',
      );
      assert.deepEqual(
        r.hits.map((h) => h.headers['x-ampere-delivery']),
        Array(3).fill(r.hits[0]!.headers['x-ampere-delivery']),
        'one delivery id across its retries',
      );
      const body = JSON.parse(r.hits[0]!.body);
      assert.equal(body.type, 'transaction.started');
      assert.equal(body.data.transactionId, 7);
      assert.equal(r.hits[0]!.headers['x-ampere-timestamp'], String(now() / 1000));
      assert.deepEqual(sender.stats(), {
        hooks: 1,
        delivered: 1,
        failedAttempts: 2,
        pending: 0,
        deadLetters: 0,
        lastError: `${r.url}: HTTP 500`,
      });
    } finally {
      await r.close();
    }
  });

  it('doubles the wait between tries and keeps the last failure as a dead letter', async () => {
    const r = await receiver(() => 503);
    try {
      const sender = new WebhookSender({ now, timers, fetch, backoffMs: 1000, maxAttempts: 4 });
      sender.configure([{ url: r.url, secret: SECRET, events: ['charger.error'] }]);
      sender.handle(
        bus.emit('connector.status', 'CP1', { connectorId: 1, status: 'Faulted', errorCode: 'GroundFailure' }),
      );
      const waits: number[] = [];
      for (let i = 0; i < 3; i++) {
        await until(`try ${i + 1}`, () => scheduled.length === 1);
        const next = scheduled.shift()!;
        waits.push(next.ms);
        next.fn();
      }
      await until('dead letter', () => sender.deadLetters().length === 1);
      assert.deepEqual(waits, [1000, 2000, 4000]);
      assert.equal(r.hits.length, 4);
      assert.equal(JSON.parse(r.hits[0]!.body).type, 'charger.error', 'only the types the hook asked for');
      const dead = sender.deadLetters()[0]!;
      assert.equal(dead.attempts, 4);
      assert.equal(dead.lastError, 'HTTP 503');
      assert.equal(dead.event.data.errorCode, 'GroundFailure');
    } finally {
      await r.close();
    }
  });

  it('keeps a delivery waiting for its next try as a dead letter when stopped, and hands the list to persist', async () => {
    const r = await receiver(() => 500);
    try {
      const persisted: unknown[][] = [];
      const sender = new WebhookSender({ now, timers, fetch, persist: (l) => persisted.push([...l]) });
      sender.configure([{ url: r.url, secret: SECRET }]);
      sender.handle(bus.emit('transaction.stopped', 'CP1', { transactionId: 9 }));
      await until('first try failed', () => scheduled.length === 1);
      scheduled.length = 0;
      sender.stop();
      const dead = sender.deadLetters();
      assert.equal(dead.length, 1);
      assert.match(dead[0]!.lastError, /HTTP 500; Ampere stopped before the next try/);
      assert.deepEqual(persisted.at(-1), [...dead]);
    } finally {
      await r.close();
    }
  });

  it('signs the timestamp and the body together', () => {
    const sig = signWebhook(SECRET, 1700000000, '{"a":1}');
    assert.equal(sig, `sha256=${createHmac('sha256', SECRET).update('1700000000.{"a":1}').digest('hex')}`);
    assert.notEqual(sig, signWebhook(SECRET, 1700000001, '{"a":1}'), 'a replayed body with another time fails');
  });
});

describe('webhooks through the server and the API', () => {
  let s: TestServer;
  let ok = false;
  let r: Awaited<ReturnType<typeof receiver>>;
  before(async () => {
    r = await receiver(() => (ok ? 200 : 500));
    s = await startTestServer();
  });
  after(async () => {
    await s?.close();
    await r?.close();
  });

  it('rejects bad settings with the field named, and never shows the secret', async () => {
    const bad = await s.api('PATCH', '/api/bridge/settings', { webhooks: [{ url: r.url, secret: 'short' }] });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'AMPERE_ERR_BAD_REQUEST');
    assert.match(bad.body.error.message, /webhooks\[0\]\.secret/);
    const unknown = await s.api('PATCH', '/api/bridge/settings', { topicPrefx: 'x' });
    assert.match(unknown.body.error.message, /topicPrefx is not a setting/);
    const set = await s.api('PATCH', '/api/bridge/settings', {
      webhooks: [{ url: r.url, secret: SECRET, events: ['charger.connected', 'connector.status'] }],
      webhookAttempts: 2,
      webhookBackoffMs: 20,
    });
    assert.equal(set.status, 200, JSON.stringify(set.body));
    assert.equal(set.body.webhooks[0].secret, undefined);
    assert.doesNotMatch(JSON.stringify((await s.api('GET', '/api/bridge/settings')).body), new RegExp(SECRET));
  });

  it('dead-letters what failed every try and redelivers it through the API', async () => {
    const c = await s.charger('WH1');
    await until('dead letters', async () => (await s.api('GET', '/api/bridge/dead-letters')).body.length >= 3);
    const dead = (await s.api('GET', '/api/bridge/dead-letters')).body as any[];
    assert.deepEqual([...new Set(dead.map((d) => d.event.type))].sort(), ['charger.connected', 'connector.status']);
    assert.ok(dead.every((d) => d.attempts === 2 && d.lastError === 'HTTP 500'));
    assert.ok(r.hits.every((h) => h.signatureOk));

    ok = true;
    const before = r.hits.length;
    const again = await s.api('POST', `/api/bridge/dead-letters/${dead[0].id}/redeliver`);
    assert.equal(again.status, 202);
    await until('redelivered', () => r.hits.length === before + 1);
    assert.equal(JSON.parse(r.hits.at(-1)!.body).id, dead[0].event.id);
    assert.ok(r.hits.at(-1)!.signatureOk);
    const left = (await s.api('GET', '/api/bridge/dead-letters')).body as any[];
    assert.equal(left.length, dead.length - 1);
    const missing = await s.api('POST', '/api/bridge/dead-letters/nope/redeliver');
    assert.equal(missing.status, 404);
    const status = await s.api('GET', '/api/bridge');
    assert.equal(status.body.webhooks.delivered, 1);
    assert.equal(status.body.mqtt, null, 'no broker configured');
    c.ws.close();
  });

  it('keeps the dead letters across a restart', async () => {
    const before = (await s.api('GET', '/api/bridge/dead-letters')).body as any[];
    assert.ok(before.length > 0);
    const data = s.data;
    await s.close();
    s = await startTestServer({ data });
    const after = (await s.api('GET', '/api/bridge/dead-letters')).body as any[];
    assert.deepEqual(after, before);
    assert.equal((await s.api('POST', `/api/bridge/dead-letters/${after[0].id}/redeliver`)).status, 202);
    await until(
      'redelivered after the restart',
      async () => (await s.api('GET', '/api/bridge')).body.webhooks.delivered === 1,
    );
  });

  it('bridges only the listed chargers when asked to', async () => {
    const set = await s.api('PATCH', '/api/bridge/settings', { include: 'listed', chargers: { LISTED: {} } });
    assert.equal(set.status, 200);
    const before = r.hits.length;
    const other = await s.charger('OTHER');
    const listed = await s.charger('LISTED');
    await until('the listed charger', () =>
      r.hits.slice(before).some((h) => JSON.parse(h.body).chargerId === 'LISTED'),
    );
    assert.ok(r.hits.slice(before).every((h) => JSON.parse(h.body).chargerId === 'LISTED'));
    const chargers = (await s.api('GET', '/api/bridge')).body.chargers.map((c: any) => c.chargerId);
    assert.ok(chargers.includes('LISTED') && !chargers.includes('OTHER'));
    other.ws.close();
    listed.ws.close();
  });
});
