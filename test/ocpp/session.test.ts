import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AmpereError } from '../../src/errors.ts';
import { OcppError } from '../../src/ocpp/errors.ts';
import { type IncomingCall, RpcSession, type Timers } from '../../src/ocpp/session.ts';
import { Validator } from '../../src/ocpp/validate.ts';

const validator = new Validator();

class FakeTimers implements Timers {
  now = 0;
  private items: Array<{ at: number; fn: () => void; id: number }> = [];
  private next = 1;
  setTimeout(fn: () => void, ms: number) {
    const id = this.next++;
    this.items.push({ at: this.now + ms, fn, id });
    return id;
  }
  clearTimeout(h: unknown) {
    this.items = this.items.filter((i) => i.id !== h);
  }
  advance(ms: number) {
    this.now += ms;
    const due = this.items.filter((i) => i.at <= this.now);
    this.items = this.items.filter((i) => i.at > this.now);
    for (const d of due) d.fn();
  }
}

function setup(handle: (c: IncomingCall) => object | Promise<object> = () => ({}), extra = {}) {
  const sent: unknown[] = [];
  const timers = new FakeTimers();
  let n = 0;
  const session = new RpcSession({
    validator,
    mode: () => 'strict',
    send: (t) => sent.push(JSON.parse(t)),
    handle,
    handles: new Set(['Heartbeat', 'StartTransaction', 'StatusNotification']),
    callTimeoutMs: 1000,
    timers,
    newId: () => `c${++n}`,
    ...extra,
  });
  return { sent, session, timers };
}

const tick = () => new Promise((r) => setImmediate(r));

describe('RpcSession incoming', () => {
  it('answers a valid CALL with the handler result', async () => {
    const { sent, session } = setup(() => ({ currentTime: '2026-01-01T00:00:00Z' }));
    session.receive('[2,"h1","Heartbeat",{}]');
    await tick();
    assert.deepEqual(sent, [[3, 'h1', { currentTime: '2026-01-01T00:00:00Z' }]]);
  });
  it('NotImplemented for an unknown action, NotSupported for a known one not handled', async () => {
    const { sent, session } = setup();
    session.receive('[2,"u1","FooBar",{}]');
    session.receive('[2,"u2","Reset",{"type":"Soft"}]');
    await tick();
    assert.deepEqual(
      sent.map((f) => (f as unknown[]).slice(0, 3)),
      [
        [4, 'u1', 'NotImplemented'],
        [4, 'u2', 'NotSupported'],
      ],
    );
  });
  it('InternalError without the stack when a handler throws; OcppError passes its code', async () => {
    let n = 0;
    const { sent, session } = setup(() => {
      n++;
      if (n === 1) throw new Error('secret stack detail');
      throw new OcppError('GenericError', 'nope');
    });
    session.receive('[2,"i1","Heartbeat",{}]');
    session.receive('[2,"i2","Heartbeat",{}]');
    await tick();
    await tick();
    assert.equal((sent[0] as unknown[])[2], 'InternalError');
    assert.ok(!JSON.stringify(sent[0]).includes('secret'));
    assert.deepEqual(sent[1], [4, 'i2', 'GenericError', 'nope', {}]);
  });
  it('answers a repeated uniqueId without running the handler twice', async () => {
    let runs = 0;
    const { sent, session } = setup(() => ({ transactionId: ++runs, idTagInfo: { status: 'Accepted' } }));
    const start =
      '[2,"s1","StartTransaction",{"connectorId":1,"idTag":"A","meterStart":0,"timestamp":"2026-01-01T00:00:00Z"}]';
    session.receive(start);
    session.receive(start);
    await tick();
    await tick();
    assert.equal(runs, 1);
    assert.deepEqual(sent[0], sent[1]);
  });
  it('remembers the last repeatWindow uniqueIds: an older one runs the handler again', async () => {
    let runs = 0;
    const { sent, session } = setup(
      () => {
        runs++;
        return { currentTime: '2026-01-01T00:00:00Z' };
      },
      { repeatWindow: 3 },
    );
    for (const id of ['h1', 'h2', 'h3', 'h3', 'h4']) session.receive(`[2,"${id}","Heartbeat",{}]`);
    await tick();
    assert.equal(runs, 4, 'h3 repeated: answered again without running the handler');
    session.receive('[2,"h2","Heartbeat",{}]'); // still among the last 3 (h2, h3, h4)
    await tick();
    assert.equal(runs, 4);
    session.receive('[2,"h1","Heartbeat",{}]'); // forgotten when h4 came
    await tick();
    assert.equal(runs, 5);
    assert.equal(sent.length, 7);
  });
  it('after the window has wrapped many times, exactly the last repeatWindow uniqueIds are remembered', async () => {
    let runs = 0;
    const { session } = setup(
      () => {
        runs++;
        return { currentTime: '2026-01-01T00:00:00Z' };
      },
      { repeatWindow: 3 },
    );
    for (let i = 1; i <= 11; i++) session.receive(`[2,"w${i}","Heartbeat",{}]`);
    await tick();
    assert.equal(runs, 11);
    for (const id of ['w11', 'w9', 'w10']) session.receive(`[2,"${id}","Heartbeat",{}]`);
    await tick();
    assert.equal(runs, 11, 'the last three are answered again without running the handler');
    session.receive('[2,"w8","Heartbeat",{}]');
    await tick();
    assert.equal(runs, 12, 'the fourth newest was forgotten');
  });
  it('a uniqueId reused with another action is a new CALL, remembered from its own arrival', async () => {
    let runs = 0;
    const { session } = setup(
      () => {
        runs++;
        return {};
      },
      { repeatWindow: 2 },
    );
    const status = '{"connectorId":1,"errorCode":"NoError","status":"Available"}';
    session.receive('[2,"x1","Heartbeat",{}]');
    session.receive(`[2,"x1","StatusNotification",${status}]`); // same id, another action: runs
    session.receive('[2,"x2","Heartbeat",{}]'); // the Heartbeat x1 slot is the oldest: dropped
    await tick();
    assert.equal(runs, 3);
    session.receive(`[2,"x1","StatusNotification",${status}]`); // the reuse is still remembered
    await tick();
    assert.equal(runs, 3);
  });
  it('answers FormationViolation with -1 for garbage and ignores broken responses', async () => {
    const { sent, session } = setup();
    session.receive('garbage');
    session.receive('[3,"zz"]');
    await tick();
    assert.deepEqual(sent, [[4, '-1', 'FormationViolation', 'Message is not valid JSON', {}]]);
  });
});

describe('RpcSession outgoing', () => {
  it('keeps one CALL in flight and queues the rest', async () => {
    const { sent, session } = setup();
    const a = session.call('Reset', { type: 'Soft' });
    const b = session.call('ClearCache', {});
    assert.equal(sent.length, 1);
    session.receive('[3,"c1",{"status":"Accepted"}]');
    assert.deepEqual(await a, { status: 'Accepted' });
    assert.deepEqual(sent[1], [2, 'c2', 'ClearCache', {}]);
    session.receive('[4,"c2","NotSupported","no cache",{}]');
    await assert.rejects(b, (e: unknown) => e instanceof OcppError && e.code === 'NotSupported');
  });
  it('times out with a clear error and ignores the late answer', async () => {
    const { session, timers } = setup();
    const a = session.call('Reset', { type: 'Hard' });
    timers.advance(1000);
    await assert.rejects(a, (e: unknown) => e instanceof AmpereError && e.code === 'AMPERE_ERR_CALL_TIMEOUT');
    session.receive('[3,"c1",{"status":"Accepted"}]');
  });
  it('rejects an invalid outgoing request before sending it', async () => {
    const { sent, session } = setup();
    await assert.rejects(
      session.call('Reset', { type: 'Medium' } as never),
      (e: unknown) => e instanceof AmpereError && e.code === 'AMPERE_ERR_INVALID_OUTGOING',
    );
    assert.equal(sent.length, 0);
  });
  it('holds CALLs until the first incoming CALL was answered', async () => {
    const { sent, session } = setup(() => ({ currentTime: '2026-01-01T00:00:00Z' }), {
      holdCallsMs: 3000,
    });
    void session.call('ClearCache', {}).catch(() => {});
    assert.equal(sent.length, 0);
    session.receive('[2,"h1","Heartbeat",{}]');
    await tick();
    assert.deepEqual(
      sent.map((f) => (f as unknown[])[0]),
      [3, 2],
    );
  });
  // Regression (issue 16.1): a charger that reconnects and says nothing never received a command.
  it('a command to a quiet charger is sent once the hold grace is over', () => {
    const { sent, session, timers } = setup(() => ({}), { holdCallsMs: 3000, callTimeoutMs: 30_000 });
    void session.call('ClearCache', {}).catch(() => {});
    timers.advance(2999);
    assert.equal(sent.length, 0);
    timers.advance(1);
    assert.deepEqual(sent, [[2, 'c1', 'ClearCache', {}]]);
  });
  it('a CALL without a hold is sent at once', () => {
    const { sent, session } = setup(() => ({}), { holdCallsMs: 0 });
    void session.call('ClearCache', {}).catch(() => {});
    assert.equal(sent.length, 1);
  });
  // Regression (issue 16.1): the timeout only started once the held CALL was finally sent.
  it('the call timeout counts from acceptance, also for a CALL that was never sent', async () => {
    const { sent, session, timers } = setup(() => ({}), { holdCallsMs: 60_000 });
    const a = session.call('ClearCache', {});
    timers.advance(1000);
    await assert.rejects(
      a,
      (e: unknown) => e instanceof AmpereError && e.code === 'AMPERE_ERR_CALL_TIMEOUT' && e.details?.sent === false,
    );
    timers.advance(60_000);
    assert.equal(sent.length, 0, 'a command nobody waits for any more is not sent');
  });
  it('a CALL queued behind another times out from its own acceptance', async () => {
    const { sent, session, timers } = setup();
    const a = session.call('ClearCache', {});
    timers.advance(600);
    const b = session.call('ClearCache', {});
    timers.advance(400);
    await assert.rejects(a, (e: unknown) => e instanceof AmpereError && e.code === 'AMPERE_ERR_CALL_TIMEOUT');
    assert.equal(sent.length, 2, 'the second is sent once the first timed out');
    timers.advance(600);
    await assert.rejects(b, (e: unknown) => e instanceof AmpereError && e.code === 'AMPERE_ERR_CALL_TIMEOUT');
  });
  it('rejects everything pending on close', async () => {
    const { session } = setup();
    const a = session.call('ClearCache', {});
    const b = session.call('ClearCache', {});
    session.close();
    await assert.rejects(a, (e: unknown) => e instanceof AmpereError && e.code === 'AMPERE_ERR_SESSION_CLOSED');
    await assert.rejects(b);
  });
});

describe('RpcSession answers', () => {
  it('sends InternalError instead of an answer that fails its own schema', async () => {
    const { sent, session } = setup(() => ({ currentTime: 'not a time' }));
    session.receive('[2,"h9","Heartbeat",{}]');
    await tick();
    assert.equal((sent[0] as unknown[])[2], 'InternalError');
  });
});

describe('RpcSession answers without an async chain', () => {
  it('an empty answer is the exact CALLRESULT text where the schema allows {}, an InternalError where not', async () => {
    const texts: string[] = [];
    const { session } = setup(() => ({}), { send: (t: string) => texts.push(t) });
    session.receive('[2,"s1","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"Available"}]');
    // Heartbeat.conf requires currentTime: {} must not pass as an answer.
    session.receive('[2,"h1","Heartbeat",{}]');
    session.receive('[2,"a\\"b","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"Available"}]');
    await tick();
    assert.equal(texts[0], '[3,"s1",{}]');
    assert.equal(JSON.parse(texts[1]!)[2], 'InternalError');
    assert.equal(texts[2], '[3,"a\\"b",{}]', 'the uniqueId is escaped as JSON');
  });

  it('answers CALLs in arrival order when a slow one is followed by quick ones', async () => {
    const releases: Array<() => void> = [];
    const order: string[] = [];
    const { sent, session } = setup((c) => {
      order.push(c.uniqueId);
      if (c.uniqueId === 'slow') return new Promise<object>((r) => releases.push(() => r({})));
      return c.action === 'Heartbeat' ? { currentTime: '2026-01-01T00:00:00Z' } : {};
    });
    const status = '"StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"Available"}';
    session.receive(`[2,"slow",${status}]`);
    session.receive('[2,"q1","Heartbeat",{}]');
    session.receive(`[2,"q2",${status}]`);
    await tick();
    assert.deepEqual(sent, [], 'nothing overtakes the slow answer');
    assert.deepEqual(order, ['slow'], 'the next handler runs only once the previous CALL is answered');
    releases[0]!();
    await tick();
    assert.deepEqual(
      sent.map((f) => (f as unknown[]).slice(0, 2)),
      [
        [3, 'slow'],
        [3, 'q1'],
        [3, 'q2'],
      ],
    );
  });

  it('a synchronous answer that re-enters the session (a peer answering at once) keeps the order', () => {
    const texts: string[] = [];
    let session: RpcSession;
    const handle = (c: IncomingCall) => {
      // While answering c1, the peer sends c2 from inside send(): it must wait for c1's answer.
      return c.action === 'Heartbeat' ? { currentTime: '2026-01-01T00:00:00Z' } : {};
    };
    ({ session } = setup(handle, {
      send: (t: string) => {
        texts.push(t);
        if (texts.length === 1) session.receive('[2,"c2","Heartbeat",{}]');
      },
    }));
    session.receive('[2,"c1","Heartbeat",{}]');
    assert.deepEqual(
      texts.map((t) => JSON.parse(t)[1]),
      ['c1', 'c2'],
    );
  });

  it('a handler that rejects or resolves with a bad answer gets an InternalError, and the next CALL is answered', async () => {
    let n = 0;
    const { sent, session } = setup(() => {
      n++;
      if (n === 1) return Promise.reject(new Error('store down'));
      if (n === 2) return Promise.resolve({ currentTime: 1n } as object);
      return { currentTime: '2026-01-01T00:00:00Z' };
    });
    session.receive('[2,"r1","Heartbeat",{}]');
    session.receive('[2,"r2","Heartbeat",{}]');
    session.receive('[2,"r3","Heartbeat",{}]');
    await tick();
    assert.deepEqual(
      sent.map((f) => (f as unknown[]).slice(0, 3)),
      [
        [4, 'r1', 'InternalError'],
        [4, 'r2', 'InternalError'],
        [3, 'r3', { currentTime: '2026-01-01T00:00:00Z' }],
      ],
    );
  });

  it('a repeat received while the answer is pending gets the same answer once it is ready', async () => {
    let release: () => void = () => {};
    let runs = 0;
    const { sent, session } = setup(() => {
      runs++;
      return new Promise<object>((r) => {
        release = () => r({});
      });
    });
    const text = '[2,"p1","StatusNotification",{"connectorId":1,"errorCode":"NoError","status":"Available"}]';
    session.receive(text);
    session.receive(text);
    await tick();
    assert.deepEqual(sent, []);
    release();
    await tick();
    assert.equal(runs, 1);
    assert.deepEqual(sent, [
      [3, 'p1', {}],
      [3, 'p1', {}],
    ]);
  });
});

describe('RpcSession keeps answering', () => {
  it('when a hook throws while held CALLs are released after an answer', async () => {
    const { sent, session } = setup(() => ({ currentTime: '2026-01-01T00:00:00Z' }), {
      holdCallsMs: 60_000,
      onCall: (direction: string) => {
        if (direction === 'out') throw new Error('metrics broke');
      },
    });
    const reset = session.call('Reset', { type: 'Soft' });
    reset.catch(() => {});
    session.receive('[2,"k1","Heartbeat",{}]');
    await tick();
    session.receive('[2,"k2","Heartbeat",{}]');
    await tick();
    assert.deepEqual(
      sent.filter((f) => (f as unknown[])[0] === 3).map((f) => (f as unknown[])[1]),
      ['k1', 'k2'],
    );
    session.close();
  });

  it('when a handler returns a thenable whose then() throws', async () => {
    let n = 0;
    const { sent, session } = setup(() => {
      n++;
      if (n === 1) {
        return Object.defineProperty({}, 'then', {
          value: () => {
            throw new Error('broken thenable');
          },
        });
      }
      return { currentTime: '2026-01-01T00:00:00Z' };
    });
    session.receive('[2,"t1","Heartbeat",{}]');
    session.receive('[2,"t2","Heartbeat",{}]');
    await tick();
    assert.deepEqual(
      sent.map((f) => (f as unknown[]).slice(0, 3)),
      [
        [4, 't1', 'InternalError'],
        [3, 't2', { currentTime: '2026-01-01T00:00:00Z' }],
      ],
    );
  });
});
