// The central system in process: real store (SQLite in memory), a fake transport per charger.
import assert from 'node:assert/strict';
import { beforeEach, describe, it } from 'node:test';
import { pino } from 'pino';
import { CentralSystem, EventBus, HISTORY_AFTER_STREAMS_MS } from '../../src/central/index.ts';
import { AmpereError } from '../../src/errors.ts';
import { createValidator, type Timers } from '../../src/ocpp/index.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/types.ts';

const validator = createValidator();
const tick = () => new Promise((r) => setTimeout(r, 5));

const clock = Date.parse('2026-11-23T10:00:00Z');
async function setup(registration: 'open' | 'pending' = 'open', timers?: Timers, callTimeoutMs = 500) {
  const store: Store = await openSqliteStore({ file: ':memory:' });
  const events = new EventBus({ now: () => clock });
  const central = new CentralSystem({
    ...(timers ? { timers } : {}),
    store,
    validator,
    log: pino({ level: 'silent' }),
    events,
    clock: { now: () => clock },
    settings: {
      registration,
      validation: 'tolerant',
      heartbeatInterval: 300,
      bootRetryInterval: 60,
      callTimeoutMs,
    },
  });
  return { store, events, central };
}

async function charger(central: CentralSystem, id: string) {
  const out: unknown[][] = [];
  let n = 0;
  const link = await central.attach(id, { send: (t) => out.push(JSON.parse(t)), close() {} }, '127.0.0.1');
  const call = async (action: string, payload: object) => {
    const uid = `m${++n}`;
    central.receive(link, JSON.stringify([2, uid, action, payload]));
    for (let i = 0; i < 100; i++) {
      const f = out.find((x) => x[1] === uid && x[0] !== 2);
      if (f) return f;
      await tick();
    }
    throw new Error(`no answer to ${action}`);
  };
  return { link, out, call };
}

describe('authorization', () => {
  let ctx: Awaited<ReturnType<typeof setup>>;
  beforeEach(async () => {
    ctx = await setup();
  });

  it('applies expiry, a blocked parent, ConcurrentTx and the * wildcard', async () => {
    const { store, central } = ctx;
    await store.upsertIdTag({ idTag: 'OLD', status: 'Accepted', expiryDate: '2020-01-01T00:00:00Z' });
    await store.upsertIdTag({ idTag: 'FLEET', status: 'Blocked' });
    await store.upsertIdTag({ idTag: 'CHILD', status: 'Accepted', parentIdTag: 'FLEET' });
    await store.upsertIdTag({ idTag: 'BUSY', status: 'Accepted' });
    const cp = await charger(central, 'A1');
    await cp.call('BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' });
    const auth = async (idTag: string) =>
      ((await cp.call('Authorize', { idTag }))[2] as { idTagInfo: { status: string } }).idTagInfo.status;
    assert.equal(await auth('OLD'), 'Expired');
    assert.equal(await auth('CHILD'), 'Blocked');
    assert.equal(await auth('STRANGER'), 'Invalid');
    await cp.call('StartTransaction', {
      connectorId: 1,
      idTag: 'BUSY',
      meterStart: 0,
      timestamp: '2026-11-23T10:00:00Z',
    });
    // OCPP 1.6 §7.2: ConcurrentTx belongs to StartTransaction only.
    assert.equal(await auth('busy'), 'Accepted');
    const second = await cp.call('StartTransaction', {
      connectorId: 2,
      idTag: 'BUSY',
      meterStart: 0,
      timestamp: '2026-11-23T10:01:00Z',
    });
    assert.equal((second[2] as { idTagInfo: { status: string } }).idTagInfo.status, 'ConcurrentTx');
    await store.upsertIdTag({ idTag: '*', status: 'Accepted' });
    assert.equal(await auth('STRANGER'), 'Accepted');
  });

  // Regression (issue 16.2): Authorize answered ConcurrentTx for a card charging elsewhere.
  it('Authorize for a tag in a transaction elsewhere is Accepted, not ConcurrentTx', async () => {
    const { store, central } = ctx;
    await store.upsertIdTag({ idTag: 'CARD', status: 'Accepted' });
    const a = await charger(central, 'AZ1');
    const b = await charger(central, 'AZ2');
    await a.call('BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' });
    await b.call('BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' });
    await a.call('StartTransaction', {
      connectorId: 1,
      idTag: 'CARD',
      meterStart: 0,
      timestamp: '2026-11-23T10:00:00Z',
    });
    const answer = (await b.call('Authorize', { idTag: 'CARD' }))[2] as { idTagInfo: { status: string } };
    assert.equal(answer.idTagInfo.status, 'Accepted');
    await store.upsertIdTag({ idTag: 'CARD', status: 'Blocked' });
    const blocked = (await b.call('Authorize', { idTag: 'CARD' }))[2] as { idTagInfo: { status: string } };
    assert.equal(blocked.idTagInfo.status, 'Blocked');
  });
});

describe('commands', () => {
  it('rejects a command to an offline charger with a clear error', async () => {
    const { central } = await setup();
    await assert.rejects(
      central.call('NOBODY', 'Reset', { type: 'Soft' }),
      (e: unknown) => e instanceof AmpereError && e.code === 'AMPERE_ERR_CHARGER_OFFLINE' && e.status === 409,
    );
  });

  // Regression (issue 16.1): a charger that connected and said nothing never got the command.
  it('a command to a quiet, freshly connected charger goes out once the boot hold (3 s) is over', async () => {
    const due: { at: number; fn: () => void }[] = [];
    let now = 0;
    const timers: Timers = {
      setTimeout: (fn, ms) => due.push({ at: now + ms, fn }),
      clearTimeout: () => {},
    };
    const advance = (ms: number) => {
      now += ms;
      for (const t of due.filter((d) => d.at <= now)) {
        due.splice(due.indexOf(t), 1);
        t.fn();
      }
    };
    const { central } = await setup('open', timers, 30_000);
    const cp = await charger(central, 'Q1');
    void central.call('Q1', 'ClearCache', {}).catch(() => {});
    advance(2999);
    assert.equal(cp.out.length, 0, 'held while a BootNotification may come');
    advance(1);
    assert.deepEqual(
      cp.out.map((f) => [f[0], f[2]]),
      [[2, 'ClearCache']],
    );
  });

  it('sends no CALL before the first CALL was answered, then delivers it', async () => {
    const { central } = await setup();
    const cp = await charger(central, 'B1');
    const pending = central.call('B1', 'GetConfiguration', {});
    await tick();
    assert.equal(cp.out.length, 0);
    await cp.call('BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' });
    await tick();
    const callFrame = cp.out.find((f) => f[0] === 2)!;
    assert.equal(callFrame[2], 'GetConfiguration');
    central.receive(
      cp.link,
      JSON.stringify([
        3,
        callFrame[1],
        { configurationKey: [{ key: 'HeartbeatInterval', value: '600', readonly: false }] },
      ]),
    );
    const res = await pending;
    assert.equal(res.configurationKey?.[0]?.value, '600');
    assert.deepEqual(
      (await central.store.getConfiguration('B1')).map((e) => [e.key, e.value, e.readonly]),
      [['HeartbeatInterval', '600', false]],
    );
  });

  it('maps a CALLERROR answer to AMPERE_ERR_CHARGER_CALLERROR with the OCPP code', async () => {
    const { central } = await setup();
    const cp = await charger(central, 'C1');
    await cp.call('BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' });
    const pending = central.call('C1', 'ClearCache', {});
    await tick();
    const f = cp.out.find((x) => x[0] === 2)!;
    central.receive(cp.link, JSON.stringify([4, f[1], 'NotSupported', 'no cache here', {}]));
    await assert.rejects(pending, (e: unknown) => {
      assert.ok(e instanceof AmpereError);
      assert.equal(e.code, 'AMPERE_ERR_CHARGER_CALLERROR');
      assert.equal(e.status, 502);
      assert.equal(e.details?.ocppCode, 'NotSupported');
      return true;
    });
  });

  it('never triggers a BootNotification once one was Accepted', async () => {
    const { central } = await setup();
    const cp = await charger(central, 'D1');
    await cp.call('BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' });
    await assert.rejects(
      central.call('D1', 'TriggerMessage', { requestedMessage: 'BootNotification' }),
      (e: unknown) => e instanceof AmpereError && e.code === 'AMPERE_ERR_CALL_REFUSED',
    );
  });

  it('approving a Pending charger triggers its BootNotification', async () => {
    const { central } = await setup('pending');
    const cp = await charger(central, 'E1');
    const boot = await cp.call('BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' });
    assert.equal((boot[2] as { status: string }).status, 'Pending');
    await central.updateCharger('E1', { registration: 'accepted' });
    await tick();
    const trigger = cp.out.find((f) => f[0] === 2);
    assert.deepEqual(trigger?.slice(2), ['TriggerMessage', { requestedMessage: 'BootNotification' }]);
  });
});

describe('events', () => {
  it('emits connection, boot, status and transaction events in order', async () => {
    const { central, events } = await setup();
    const seen: string[] = [];
    events.watch(); // as an open event stream does: the history for resuming is kept
    events.subscribe((e) => seen.push(e.type));
    const cp = await charger(central, 'F1');
    await cp.call('BootNotification', { chargePointVendor: 'V', chargePointModel: 'M' });
    await cp.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Charging' });
    await cp.call('StartTransaction', { connectorId: 1, idTag: 'X', meterStart: 0, timestamp: '2026-11-23T10:00:00Z' });
    central.detach(cp.link);
    assert.deepEqual(seen, [
      'charger.connected',
      'charger.boot',
      'connector.status',
      'transaction.started',
      'charger.disconnected',
    ]);
    assert.equal(events.since(2).events.length, 3);
  });
});

describe('the event history for resuming a stream', () => {
  it('is kept while a stream is open and for a while after, and not at all without one', () => {
    let now = Date.parse('2026-11-23T10:00:00Z');
    const bus = new EventBus({ now: () => now, bufferSize: 100 });
    bus.emit('smart.actuation', null, { n: 1 });
    bus.emit('smart.actuation', null, { n: 2 });
    // Nobody streams: nothing retained, and a resume is told what it missed.
    assert.deepEqual(bus.since(0), { events: [], complete: false });
    assert.deepEqual(bus.since(2), { events: [], complete: true });

    const unwatch = bus.watch();
    bus.emit('smart.actuation', null, { n: 3 });
    bus.emit('smart.actuation', null, { n: 4 });
    assert.deepEqual(
      bus.since(2).events.map((e) => e.data.n),
      [3, 4],
    );
    assert.equal(bus.since(2).complete, true);
    assert.equal(bus.since(1).complete, false, 'event 2 came before the stream');

    // The stream closes; its client may come back within HISTORY_AFTER_STREAMS_MS.
    unwatch();
    now += HISTORY_AFTER_STREAMS_MS - 1;
    bus.emit('smart.actuation', null, { n: 5 });
    assert.deepEqual(
      bus.since(3).events.map((e) => e.data.n),
      [4, 5],
    );
    // Past it, the history goes.
    now += 2;
    bus.emit('smart.actuation', null, { n: 6 });
    assert.deepEqual(bus.since(5), { events: [], complete: false });
    assert.deepEqual(bus.since(6), { events: [], complete: true });
  });
});
