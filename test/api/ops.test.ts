// The operations routes in process (inject): readiness checks that fail or hang, and what a
// draining node answers.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import Fastify from 'fastify';
import { type OpsPort, opsRoutes } from '../../src/api/routes/ops.ts';

const TOKEN = 'ops-unit-token-0123456789';

function opsApp(overrides: Partial<OpsPort> = {}) {
  let draining = false;
  const app = Fastify();
  opsRoutes(app, {
    readiness: [{ name: 'store', check: async () => {} }],
    readyTimeoutMs: 50,
    draining: () => draining,
    metrics: { scrape: async () => ({ contentType: 'text/plain; version=0.0.4; charset=utf-8', body: 'up 1\n' }) },
    metricsTokens: [TOKEN],
    ...overrides,
  });
  app.get('/api/chargers', async () => ({ items: [] }));
  return { app, drain: () => (draining = true) };
}

describe('GET /ready', () => {
  it('names each failing check: one that rejects and one that does not answer in time', async () => {
    const { app } = opsApp({
      readiness: [
        { name: 'store', check: async () => {} },
        { name: 'node', check: async () => Promise.reject(new Error('node not registered')) },
        { name: 'slow', check: () => new Promise(() => {}) },
      ],
    });
    const res = await app.inject({ method: 'GET', url: '/ready' });
    assert.equal(res.statusCode, 503);
    const body = res.json();
    assert.equal(body.error.code, 'AMPERE_ERR_NOT_READY');
    assert.deepEqual(body.error.details.checks, {
      store: 'ok',
      node: 'node not registered',
      slow: 'no answer within 50 ms',
    });
    assert.match(body.error.message, /node: node not registered; slow: no answer within 50 ms/);
  });
});

describe('a draining node', () => {
  it('answers /ready and every other request 503 with Connection: close, but /health and /metrics still answer', async () => {
    const { app, drain } = opsApp();
    assert.equal((await app.inject({ method: 'GET', url: '/ready' })).statusCode, 200);
    drain();
    for (const url of ['/ready', '/api/chargers', '/ready?verbose=1']) {
      const res = await app.inject({ method: 'GET', url });
      assert.equal(res.statusCode, 503, url);
      assert.equal(res.json().error.code, 'AMPERE_ERR_DRAINING');
      assert.equal(res.headers.connection, 'close');
    }
    assert.equal((await app.inject({ method: 'GET', url: '/health' })).statusCode, 200);
    const metrics = await app.inject({ method: 'GET', url: '/metrics', headers: { authorization: `Bearer ${TOKEN}` } });
    assert.equal(metrics.statusCode, 200);
    assert.equal(metrics.body, 'up 1\n');
  });
});
