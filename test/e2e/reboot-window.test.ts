// The reboot window of the configuration policies, driven by a moved clock: a charger whose policy
// key answered RebootRequired gets Reset Soft once, only inside the window and with no transaction
// running; after its next boot the key is read back and recorded as in effect, not sent again.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { inRebootWindow, rebootWindowTick } from '../../src/central/index.ts';
import { startTestServer, type TestServer } from '../api/helpers.ts';
import type { TestCharger } from '../helpers/charger.ts';
import { until } from '../helpers/wait.ts';

let offsetMs = 0;
const clock = { now: () => Date.now() + offsetMs };
/** Moves the server's clock to `iso`. */
const setTime = (iso: string) => {
  offsetMs = Date.parse(iso) - Date.now();
};

describe('inRebootWindow', () => {
  const rw = { window: '02:00-04:00', timeZone: 'Europe/Amsterdam' };
  it('reads the window on the local wall clock, across daylight saving', () => {
    assert.equal(inRebootWindow(Date.parse('2026-01-15T01:30:00Z'), rw), true); // 02:30 CET
    assert.equal(inRebootWindow(Date.parse('2026-07-15T00:30:00Z'), rw), true); // 02:30 CEST
    assert.equal(inRebootWindow(Date.parse('2026-07-15T01:30:00Z'), rw), true); // 03:30 CEST
    assert.equal(inRebootWindow(Date.parse('2026-07-15T02:00:00Z'), rw), false); // 04:00 CEST: the end is out
    assert.equal(inRebootWindow(Date.parse('2026-01-15T12:00:00Z'), rw), false);
  });
  it('takes a window across midnight', () => {
    const night = { window: '23:00-01:00', timeZone: 'UTC' };
    assert.equal(inRebootWindow(Date.parse('2026-01-15T23:30:00Z'), night), true);
    assert.equal(inRebootWindow(Date.parse('2026-01-16T00:59:00Z'), night), true);
    assert.equal(inRebootWindow(Date.parse('2026-01-16T01:00:00Z'), night), false);
  });
});

describe('reboot window (fake clock, real WebSocket)', () => {
  let server: TestServer;
  let c: TestCharger;
  /** The charger's configuration: the value set stays pending until it reboots. */
  let active = '10';
  let pending: string | undefined;
  const calls = (action: string) => c.received.filter((f) => f[0] === 2 && f[2] === action);

  const answer = (action: string, payload: Record<string, unknown>) => {
    switch (action) {
      case 'ChangeConfiguration':
        pending = String(payload.value);
        return { status: 'RebootRequired' };
      case 'GetConfiguration':
        return { configurationKey: [{ key: 'MeterValueSampleInterval', readonly: false, value: active }] };
      case 'Reset':
        return { status: 'Accepted' };
      case 'TriggerMessage':
        return { status: 'Accepted' };
      default:
        return {};
    }
  };

  before(async () => {
    setTime('2026-01-15T11:00:00Z'); // 12:00 in Amsterdam
    server = await startTestServer({ callTimeoutMs: 5000 }, { clock });
    c = await server.charger('RW-1');
    c.onCall = answer;
  });
  after(async () => {
    await c.close().catch(() => {});
    await server.close();
  });

  it('resets once inside the window with no transaction, then verifies the key after the boot', async () => {
    const put = await server.api('PUT', '/api/config-policies', {
      scope: 'charger',
      chargerId: 'RW-1',
      key: 'MeterValueSampleInterval',
      value: '60',
    });
    assert.equal(put.status, 200, JSON.stringify(put.body));
    const applied = await server.api('POST', '/api/chargers/RW-1/config-policy/apply');
    assert.equal(applied.body.items[0].status, 'RebootRequired');

    const bad = await server.api('PUT', '/api/config-policies/reboot-window', {
      window: '2-4',
      timeZone: 'Europe/Amsterdam',
    });
    assert.equal(bad.status, 400);
    assert.match(bad.body.error.message, /HH:MM-HH:MM/);
    const zone = await server.api('PUT', '/api/config-policies/reboot-window', {
      window: '02:00-04:00',
      timeZone: 'Mars/Olympus',
    });
    assert.match(zone.body.error.message, /Unknown time zone/);
    const set = await server.api('PUT', '/api/config-policies/reboot-window', {
      window: '02:00-04:00',
      timeZone: 'Europe/Amsterdam',
    });
    assert.deepEqual(set.body, {
      chargerId: null,
      rebootWindow: { window: '02:00-04:00', timeZone: 'Europe/Amsterdam' },
    });
    assert.deepEqual((await server.api('GET', '/api/config-policies/reboot-window?chargerId=RW-1')).body.rebootWindow, {
      window: '02:00-04:00',
      timeZone: 'Europe/Amsterdam',
    });

    // Midday: outside the window.
    assert.deepEqual(await rebootWindowTick(server.central), []);
    // 02:30 in Amsterdam, but a session is running.
    setTime('2026-01-16T01:30:00Z');
    const start = await c.call<{ transactionId: number }>('StartTransaction', {
      connectorId: 1,
      idTag: 'ANY',
      meterStart: 0,
      timestamp: new Date(clock.now()).toISOString(),
    });
    assert.deepEqual(await rebootWindowTick(server.central), []);
    await c.call('StopTransaction', {
      transactionId: start.transactionId,
      meterStop: 100,
      timestamp: new Date(clock.now()).toISOString(),
    });
    assert.deepEqual(await rebootWindowTick(server.central), [{ chargerId: 'RW-1', status: 'Accepted' }]);
    assert.deepEqual(
      calls('Reset').map((f) => f[3]),
      [{ type: 'Soft' }],
    );
    // Once: the next minute of the window sends nothing more.
    setTime('2026-01-16T01:31:00Z');
    assert.deepEqual(await rebootWindowTick(server.central), []);

    // The charger reboots: the pending value becomes active, it boots again.
    active = pending!;
    const changesBefore = calls('ChangeConfiguration').length;
    await c.boot('TestVendor', 'TestModel');
    const drift = await until(async () => {
      const r = await server.api('GET', '/api/chargers/RW-1/config-drift');
      const item = r.body.items.find((i: { key: string }) => i.key === 'MeterValueSampleInterval');
      return item?.outcome?.status === 'Accepted' ? item : undefined;
    });
    assert.equal(drift.outcome.note, 'in effect after a reboot');
    assert.equal(drift.inSync, true);
    assert.equal(calls('ChangeConfiguration').length, changesBefore);
    // Nothing is RebootRequired any more: the window sends no more resets.
    setTime('2026-01-17T01:30:00Z');
    assert.deepEqual(await rebootWindowTick(server.central), []);
  });
});
