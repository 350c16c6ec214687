// Hostile input over real sockets: floods, slow and idle handshakes, too many unauthenticated
// connections from one address, deep JSON and prototype pollution.
import assert from 'node:assert/strict';
import { connect, type Socket } from 'node:net';
import { after, before, describe, it } from 'node:test';
import type WebSocket from 'ws';
import { attempt, callOver, start, statusOf } from './helpers.ts';

const open = async (base: string, id: string) => {
  const a = await attempt(base, id);
  assert.equal(a.kind, 'open');
  return (a as { ws: WebSocket }).ws;
};

describe('message-rate limit', () => {
  let s: Awaited<ReturnType<typeof start>>;
  before(async () => {
    s = await start({ rateLimit: 20, rateBurst: 50 });
  });
  after(() => s.close());

  it('throttles a burst above the limit and answers every message, in order', async () => {
    const ws = await open(s.wsUrl, 'BURSTY');
    const answers: string[] = [];
    const done = new Promise<void>((resolve) =>
      ws.on('message', (d) => {
        answers.push((JSON.parse(d.toString()) as unknown[])[1] as string);
        if (answers.length === 60) resolve();
      }),
    );
    const t0 = Date.now();
    for (let i = 0; i < 60; i++) ws.send(JSON.stringify([2, `h${i}`, 'Heartbeat', {}]));
    await done;
    const ms = Date.now() - t0;
    assert.deepEqual(
      answers,
      Array.from({ length: 60 }, (_, i) => `h${i}`),
    );
    // 50 at once, the other 10 at 20/s: about half a second.
    assert.ok(ms >= 350, `throttled (${ms} ms)`);
    ws.close();
  });

  it('disconnects a flood with 1008 while a well-behaved charger is unaffected', async () => {
    const good = await open(s.wsUrl, 'GOOD');
    const flood = await open(s.wsUrl, 'FLOOD');
    const closed = new Promise<number>((resolve) => flood.once('close', (code) => resolve(code)));
    for (let i = 0; i < 2000; i++) flood.send(JSON.stringify([2, `f${i}`, 'Heartbeat', {}]));
    assert.equal(await closed, 1008);
    const t0 = Date.now();
    for (let i = 0; i < 5; i++) assert.equal((await callOver(good, `g${i}`, 'Heartbeat', {}))[0], 3);
    assert.ok(Date.now() - t0 < 1000);
    const events = await s.store.listEvents({ chargerId: 'FLOOD', kind: 'SecurityEvent' });
    assert.ok(events.items.some((e) => (e.payload as { type: string }).type === 'MessageFlood'));
    good.close();
  });
});

describe('handshake limits', () => {
  let s: Awaited<ReturnType<typeof start>>;
  let port: number;
  before(async () => {
    s = await start({ handshakeTimeout: 1, maxPendingConnections: 5 });
    port = s.port;
  });
  after(() => s.close());

  const raw = () =>
    new Promise<Socket>((resolve, reject) => {
      const c = connect(port, '127.0.0.1', () => resolve(c));
      c.once('error', reject);
    });
  const closedWithin = (c: Socket, ms: number) =>
    new Promise<boolean>((resolve) => {
      const t = setTimeout(() => resolve(false), ms);
      c.once('close', () => {
        clearTimeout(t);
        resolve(true);
      });
    });

  it('cuts off a connection that sends nothing, or headers too slowly', async () => {
    const idle = await raw();
    const slow = await raw();
    slow.write('GET /ocpp/SLOW HTTP/1.1\r\nHost: x\r\n');
    const drip = setInterval(() => slow.write('X-Drip: 1\r\n'), 200);
    const t0 = Date.now();
    const [a, b] = await Promise.all([closedWithin(idle, 4000), closedWithin(slow, 4000)]);
    clearInterval(drip);
    assert.ok(a && b, 'both closed');
    assert.ok(Date.now() - t0 >= 800);
  });

  it('caps unauthenticated connections per address; others still get in after', async () => {
    const held = await Promise.all(Array.from({ length: 5 }, raw));
    const sixth = await raw();
    assert.ok(await closedWithin(sixth, 1000), 'the sixth pending connection is refused at once');
    for (const c of held) c.destroy();
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(statusOf(await attempt(s.wsUrl, 'AFTER')), 'open');
  });

  it('does not count connected chargers against the cap', async () => {
    const chargers = await Promise.all(Array.from({ length: 8 }, (_, i) => open(s.wsUrl, `C${i}`)));
    assert.equal(statusOf(await attempt(s.wsUrl, 'NINTH')), 'open');
    for (const c of chargers) c.close();
  });
});

describe('JSON limits', () => {
  let s: Awaited<ReturnType<typeof start>>;
  before(async () => {
    s = await start({});
  });
  after(() => s.close());

  it('answers deep nesting with FormationViolation and survives prototype-pollution keys', async () => {
    const ws = await open(s.wsUrl, 'DEEP');
    const deep = `[2,"d1","DataTransfer",{"vendorId":"x","data":${'['.repeat(100_000)}${']'.repeat(100_000)}}]`;
    const answer = await new Promise<unknown[]>((resolve) => {
      ws.on('message', (d) => resolve(JSON.parse(d.toString()) as unknown[]));
      ws.send(deep);
    });
    assert.equal(answer[1], 'd1');
    assert.equal(answer[2], 'FormationViolation');
    ws.removeAllListeners('message');
    // Tolerant mode (the default) drops fields a PDU does not have, and records the finding; strict
    // mode answers FormationViolation (the fuzzer covers that). Either way nothing is polluted.
    const polluted = await callOver(ws, 'p1', 'Heartbeat', JSON.parse('{"__proto__":{"polluted":true}}'));
    assert.equal(polluted[0], 3);
    const boot = await callOver(
      ws,
      'p2',
      'BootNotification',
      JSON.parse('{"chargePointVendor":"V","chargePointModel":"M","constructor":{"prototype":{"polluted":true}}}'),
    );
    assert.equal(boot[0], 3);
    assert.equal(({} as Record<string, unknown>).polluted, undefined);
    assert.equal((Object.prototype as Record<string, unknown>).polluted, undefined);
    const findings = await s.store.listFindings('DEEP');
    assert.ok(findings.items.some((f) => f.path === '/__proto__' && f.rule === 'unknown-field-dropped'));
    assert.equal((await callOver(ws, 'p3', 'Heartbeat', {}))[0], 3, 'the connection is still served');
    ws.close();
  });

  it('closes a frame over the size limit with 1009', async () => {
    const ws = await open(s.wsUrl, 'BIG');
    const closed = new Promise<number>((resolve) => ws.once('close', (c) => resolve(c)));
    ws.send(`[2,"b1","DataTransfer",{"vendorId":"x","data":"${'x'.repeat(2 * 1024 * 1024)}"}]`);
    assert.equal(await closed, 1009);
  });
});
