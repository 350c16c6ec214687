// The event stream: Server-Sent Events in order, filtered by charger, resumed with Last-Event-ID.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { startTestServer, type TestServer, TOKEN } from './helpers.ts';

interface Sse {
  id: number;
  event: string;
  data: any;
}

/** Opens a stream and collects its messages until `stop()` is called. */
async function open(base: string, path: string, headers: Record<string, string> = {}) {
  const ctrl = new AbortController();
  const res = await fetch(base + path, {
    headers: { authorization: `Bearer ${TOKEN}`, ...headers },
    signal: ctrl.signal,
  });
  const messages: Sse[] = [];
  const waiters: (() => void)[] = [];
  const done = (async () => {
    const decoder = new TextDecoder();
    let buffer = '';
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let cut = buffer.indexOf('\n\n');
        while (cut >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          cut = buffer.indexOf('\n\n');
          const m: Partial<Sse> = {};
          for (const line of block.split('\n')) {
            if (line.startsWith('id: ')) m.id = Number(line.slice(4));
            if (line.startsWith('event: ')) m.event = line.slice(7);
            if (line.startsWith('data: ')) m.data = JSON.parse(line.slice(6));
          }
          if (m.data !== undefined) {
            messages.push(m as Sse);
            for (const w of waiters.splice(0)) w();
          }
        }
      }
    } catch {
      // aborted
    }
  })();
  return {
    res,
    messages,
    async waitFor(pred: (m: Sse[]) => boolean, timeoutMs = 3000) {
      const end = Date.now() + timeoutMs;
      while (!pred(messages)) {
        if (Date.now() > end) throw new Error(`timed out; got ${JSON.stringify(messages.map((m) => m.event))}`);
        await new Promise<void>((r) => {
          waiters.push(r);
          setTimeout(r, 50);
        });
      }
    },
    async stop() {
      ctrl.abort();
      await done;
    },
  };
}

describe('events API (SSE)', () => {
  let s: TestServer;
  before(async () => {
    s = await startTestServer();
  });
  after(() => s.close());

  test('401 without a token', async () => {
    const r = await fetch(`${s.url}/api/events`);
    assert.equal(r.status, 401);
    assert.equal(((await r.json()) as any).error.code, 'AMPERE_ERR_UNAUTHORIZED');
  });

  test('delivers events in order, filtered by charger, then resumes from Last-Event-ID', async () => {
    const all = await open(s.url, '/api/events');
    assert.equal(all.res.status, 200);
    assert.match(all.res.headers.get('content-type') ?? '', /^text\/event-stream/);
    const onlyA = await open(s.url, '/api/events?chargerId=EV-A');
    const a = await s.charger('EV-A');
    const b = await s.charger('EV-B');
    await a.call('StatusNotification', { connectorId: 1, status: 'Preparing', errorCode: 'NoError' });
    await b.call('StatusNotification', { connectorId: 1, status: 'Faulted', errorCode: 'OtherError' });
    await a.call('StartTransaction', {
      connectorId: 1,
      idTag: 'ANY',
      meterStart: 0,
      timestamp: new Date().toISOString(),
    });
    a.onCall = () => ({ status: 'Accepted' });
    assert.equal((await s.api('POST', '/api/chargers/EV-A/commands/Reset', { type: 'Soft' })).status, 200);

    await onlyA.waitFor((m) => m.some((x) => x.event === 'command.answered'));
    await all.waitFor((m) => m.some((x) => x.event === 'command.answered'));
    const ids = all.messages.map((m) => m.id);
    assert.deepEqual(
      ids,
      [...ids].sort((x, y) => x - y),
      'ids ascend',
    );
    assert.equal(new Set(ids).size, ids.length);
    assert.ok(all.messages.every((m) => m.data.id === m.id && m.data.type === m.event));
    const typesA = onlyA.messages.map((m) => m.event);
    assert.ok(onlyA.messages.every((m) => m.data.chargerId === 'EV-A'));
    for (const t of [
      'charger.connected',
      'charger.boot',
      'connector.status',
      'transaction.started',
      'command.sent',
      'command.answered',
    ]) {
      assert.ok(typesA.includes(t), `${t} in ${typesA}`);
    }
    assert.ok(typesA.indexOf('command.sent') < typesA.indexOf('command.answered'));
    assert.ok(all.messages.some((m) => m.data.chargerId === 'EV-B' && m.event === 'connector.status'));
    const faulted = all.messages.find((m) => m.data.chargerId === 'EV-B' && m.data.data.status === 'Faulted');
    assert.equal(faulted?.data.data.errorCode, 'OtherError');

    // Resume: everything after a given id, in order, nothing before it.
    const cut = all.messages[2]!.id;
    await all.stop();
    await b.call('StatusNotification', { connectorId: 1, status: 'Available', errorCode: 'NoError' });
    const resumed = await open(s.url, '/api/events', { 'last-event-id': String(cut) });
    await resumed.waitFor((m) => m.some((x) => x.data.chargerId === 'EV-B' && x.data.data?.status === 'Available'));
    assert.equal(resumed.messages[0]!.id, cut + 1);
    assert.deepEqual(
      resumed.messages.slice(0, all.messages.length - 3).map((m) => m.id),
      all.messages.slice(3).map((m) => m.id),
    );
    // ...and it goes on live after the replay.
    await a.call('StatusNotification', { connectorId: 1, status: 'Charging', errorCode: 'NoError' });
    await resumed.waitFor((m) => m.some((x) => x.data.data?.status === 'Charging'));
    const rIds = resumed.messages.map((m) => m.id);
    assert.deepEqual(
      rIds,
      [...rIds].sort((x, y) => x - y),
    );

    // A type filter and the query-string form of the resume point.
    const typed = await open(s.url, `/api/events?type=connector.status&lastEventId=${cut}`);
    await typed.waitFor((m) => m.some((x) => x.data.data?.status === 'Charging'));
    assert.ok(typed.messages.every((m) => m.event === 'connector.status'));

    await Promise.all([onlyA.stop(), resumed.stop(), typed.stop()]);
    await a.close();
    await b.close();
  });

  test('a resume point older than the buffer is announced as a gap', async () => {
    const small = await startTestServer();
    // A stream was open (the history is kept only then), its client gone.
    small.central.events.watch()();
    // Fill well past nothing: the buffer holds 10 000; ask for id 0 after pushing the oldest out.
    for (let i = 0; i < 10_050; i++) small.central.events.emit('smart.actuation', null, { i });
    const stream = await open(small.url, '/api/events', { 'last-event-id': '1' });
    await stream.waitFor((m) => m.length > 0);
    await stream.stop();
    const raw = await fetch(`${small.url}/api/events?lastEventId=1`, {
      headers: { authorization: `Bearer ${TOKEN}` },
      signal: AbortSignal.timeout(300),
    }).catch(() => null);
    assert.ok(raw);
    const reader = raw.body!.getReader();
    const first = new TextDecoder().decode((await reader.read()).value);
    const second = first.includes('event: gap') ? first : first + new TextDecoder().decode((await reader.read()).value);
    assert.match(second, /event: gap\ndata: \{"from":2,"to":50\}/);
    await reader.cancel().catch(() => {});
    await small.close();
  });

  test('closing the server ends open streams', async () => {
    const other = await startTestServer();
    const stream = await open(other.url, '/api/events');
    const t0 = Date.now();
    await other.close();
    await stream.stop();
    assert.ok(Date.now() - t0 < 2000);
  });
});
