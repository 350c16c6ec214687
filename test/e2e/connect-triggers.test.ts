// Triggers on connect, observed from the charger's side over real WebSockets: a charger that
// connects without booting is asked to boot; after the Accepted boot (unless it reports its
// connectors by itself) and on a reconnect it is asked for StatusNotification; a Weidmüller (no TriggerMessage) is not asked; the setting is in the API.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { CONNECT_TRIGGER_AFTER_BOOT_MS } from '../../src/central/index.ts';
import { startTestServer, type TestServer } from '../api/helpers.ts';
import { TestCharger } from '../helpers/charger.ts';
import { until } from '../helpers/wait.ts';

/** The TriggerMessage requests a test charger received, in order. */
function triggers(c: TestCharger): string[] {
  return c.received
    .filter((f) => f[0] === 2 && f[2] === 'TriggerMessage')
    .map((f) => (f[3] as { requestedMessage: string }).requestedMessage);
}

describe('triggers on connect', () => {
  let server: TestServer;
  const open: TestCharger[] = [];

  before(async () => {
    server = await startTestServer({ callTimeoutMs: 5000 });
  });
  after(async () => {
    for (const c of open) await c.close().catch(() => {});
    await server.close();
  });

  it('a quiet new charger is asked to boot, then for its status; a reconnect is asked for its status', async () => {
    const c = await TestCharger.connect(server.ws, 'TRIG-1');
    open.push(c);
    c.onCall = (action, payload) => {
      if (action === 'TriggerMessage' && payload.requestedMessage === 'BootNotification') {
        setImmediate(() => void c.boot('TestVendor', 'TestModel'));
      }
      return action === 'TriggerMessage' ? { status: 'Accepted' } : {};
    };
    await until(() => (triggers(c).length >= 2 ? true : undefined));
    assert.deepEqual(triggers(c), ['BootNotification', 'StatusNotification']);
    await c.close();

    const again = await TestCharger.connect(server.ws, 'TRIG-1');
    open.push(again);
    again.onCall = () => ({ status: 'Accepted' });
    await until(() => (triggers(again).length >= 1 ? true : undefined));
    assert.deepEqual(triggers(again), ['StatusNotification']);
    // Asking an Accepted charger to boot again is refused, so none was asked for.
    assert.equal((await server.api('GET', '/api/connect-triggers')).body.enabled, true);
  });

  it('a charger that reports its connectors right after its boot is not asked to report them', async () => {
    const c = await server.charger('TRIG-SELF', { boot: false });
    open.push(c);
    c.onCall = () => ({ status: 'Accepted' });
    await c.boot('TestVendor', 'TestModel');
    await c.call('StatusNotification', { connectorId: 0, errorCode: 'NoError', status: 'Available' });
    await c.call('StatusNotification', { connectorId: 1, errorCode: 'NoError', status: 'Available' });
    // Past the wait for its own report (CONNECT_TRIGGER_AFTER_BOOT_MS) and the queue's turn.
    await new Promise((r) => setTimeout(r, CONNECT_TRIGGER_AFTER_BOOT_MS + 1000));
    assert.deepEqual(triggers(c), []);
    // Its next boot makes those states stale: a silent boot is asked again.
    await c.boot('TestVendor', 'TestModel');
    await until(() => (triggers(c).length >= 1 ? true : undefined));
    assert.deepEqual(triggers(c), ['StatusNotification']);
  });

  it('a Weidmüller (no TriggerMessage) is never asked; the setting is read and changed in the API', async () => {
    const w = await server.charger('TRIG-W', { boot: false });
    open.push(w);
    await w.boot('Weidmüller', 'AC SMART VALUE');
    const other = await server.charger('TRIG-2', { boot: false });
    open.push(other);
    other.onCall = () => ({ status: 'Accepted' });
    await other.boot('TestVendor', 'TestModel');
    // The other charger's trigger comes by the same path after its boot; by then the Weidmüller's
    // decision, made on the same path first, was to send nothing.
    await until(() => (triggers(other).length >= 1 ? true : undefined));
    assert.deepEqual(triggers(w), []);

    const off = await server.api('PUT', '/api/connect-triggers', { enabled: false });
    assert.deepEqual(off.body, { enabled: false });
    assert.deepEqual((await server.api('GET', '/api/connect-triggers')).body, { enabled: false });
    const bad = await server.api('PUT', '/api/connect-triggers', { enabled: 'no' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'AMPERE_ERR_BAD_REQUEST');
    await server.api('PUT', '/api/connect-triggers', { enabled: true });
  });
});
