// The object model as a pure state machine: central events in, changed objects out.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BridgeModel, ERROR_ENUM, parseCommandTopic, STATUS_ENUM, topicId } from '../../src/bridge/index.ts';
import { EventBus } from '../../src/central/index.ts';

const bus = new EventBus({ now: () => Date.parse('2026-12-01T12:00:00Z') });
const model = () => new BridgeModel({ configuredMaxCurrentA: () => 16 });
const meter = (connectorId: number, values: Array<[string, string, string | undefined, string?]>) =>
  bus.emit('meter.values', 'CP', {
    connectorId,
    transactionId: 1,
    meterValue: [
      {
        timestamp: '2026-12-01T12:00:00Z',
        sampledValue: values.map(([measurand, value, unit, phase]) => ({
          measurand,
          value,
          ...(unit ? { unit } : {}),
          ...(phase ? { phase } : {}),
        })),
      },
    ],
  });
const pick = (changes: { object: string; value: unknown }[]) =>
  Object.fromEntries(changes.map((c) => [c.object, c.value]));

describe('bridge object model', () => {
  it("maps every status and error to xxter's enum values", () => {
    assert.deepEqual(STATUS_ENUM.indexOf('Faulted'), 8);
    assert.deepEqual(ERROR_ENUM.indexOf('WeakSignal'), 15);
    const m = model();
    for (const [i, status] of STATUS_ENUM.entries()) {
      const c = pick(m.apply(bus.emit('connector.status', 'CP', { connectorId: 1, status, errorCode: 'NoError' })));
      assert.equal(c.status_code, i, status);
    }
    for (const [i, errorCode] of ERROR_ENUM.entries()) {
      if (i === 0) continue;
      const c = pick(m.apply(bus.emit('connector.status', 'CP', { connectorId: 1, status: 'Faulted', errorCode })));
      assert.equal(c.error_code, i, errorCode);
      assert.equal(c.error, errorCode);
    }
    const vendor = pick(
      m.apply(bus.emit('connector.status', 'CP', { connectorId: 1, status: 'Faulted', errorCode: 'AcmeRelayStuck' })),
    );
    assert.equal(vendor.error_code, 7, 'an unknown error reads as OtherError');
  });

  it('publishes a charging current only when it moved by more than 0.2 A', () => {
    const m = model();
    m.apply(
      bus.emit('transaction.started', 'CP', { transactionId: 1, connectorId: 1, meterStart: 1000, timestamp: 'T0' }),
    );
    assert.deepEqual(pick(m.apply(meter(1, [['Current.Import', '10.0', 'A']]))), { current: 10 });
    assert.deepEqual(m.apply(meter(1, [['Current.Import', '10.2', 'A']])), [], '0.2 A is not more than 0.2 A');
    assert.deepEqual(m.apply(meter(1, [['Current.Import', '9.85', 'A']])), [], 'nor is 0.15 A');
    assert.deepEqual(pick(m.apply(meter(1, [['Current.Import', '10.3', 'A']]))), { current: 10.3 });
    // The step is measured from the last value published, so slow drift is still reported.
    assert.deepEqual(m.apply(meter(1, [['Current.Import', '10.45', 'A']])), []);
    assert.deepEqual(pick(m.apply(meter(1, [['Current.Import', '10.55', 'A']]))), { current: 10.6 });
  });

  it('publishes per-phase currents, power and session energy from one MeterValues', () => {
    const m = model();
    m.apply(
      bus.emit('transaction.started', 'CP', { transactionId: 1, connectorId: 1, meterStart: 1000, timestamp: 'T0' }),
    );
    const c = pick(
      m.apply(
        meter(1, [
          ['Energy.Active.Import.Register', '1.5', 'kWh'],
          ['Power.Active.Import', '7.4', 'kW'],
          ['Current.Import', '16.1', 'A', 'L1'],
          ['Current.Import', '15.9', 'A', 'L2'],
          ['Current.Import', '0.1', 'A', 'L3'],
        ]),
      ),
    );
    assert.deepEqual(c, {
      session_energy_wh: 500,
      power: 7400,
      current_l1: 16.1,
      current_l2: 15.9,
      current_l3: 0.1,
      current: 16.1,
    });
    const small = pick(
      m.apply(
        meter(1, [
          ['Current.Import', '16.2', 'A', 'L1'],
          ['Current.Import', '15.0', 'A', 'L2'],
        ]),
      ),
    );
    assert.deepEqual(small, { current_l2: 15 }, 'only the phase that moved more than 0.2 A');
  });

  it('without a transport (meterObjects false) meter values change no object but the connector is known', () => {
    const m = new BridgeModel({ configuredMaxCurrentA: () => 16, meterObjects: false });
    m.apply(
      bus.emit('transaction.started', 'CP', { transactionId: 1, connectorId: 2, meterStart: 0, timestamp: 'T0' }),
    );
    const changes = m.apply(
      meter(3, [
        ['Energy.Active.Import.Register', '1500', 'Wh'],
        ['Current.Import', '16.0', 'A', 'L1'],
      ]),
    );
    assert.deepEqual(changes, []);
    assert.deepEqual(m.known(), [{ chargerId: 'CP', connectors: [2, 3], online: false }]);
    assert.equal(m.value('CP', 3, 'current'), undefined);
    assert.equal(m.transactionOf('CP', 2), 1, 'what commands use still follows the events');
  });

  it('sends the energy of the transaction, the end time and zero current at stop', () => {
    const m = model();
    const started = pick(
      m.apply(
        bus.emit('transaction.started', 'CP', { transactionId: 4, connectorId: 1, meterStart: 500, timestamp: 'T0' }),
      ),
    );
    assert.deepEqual(started, {
      transaction_id: 4,
      start_time: 'T0',
      session_energy_wh: 0,
      fast_charge: 0,
      charging: 1,
    });
    m.apply(
      meter(1, [
        ['Current.Import', '16', 'A'],
        ['Power.Active.Import', '3680', 'W'],
      ]),
    );
    const stopped = m.apply(
      bus.emit('transaction.stopped', 'CP', {
        transactionId: 4,
        meterStop: 2750,
        timestamp: 'T1',
        energyWh: 2250,
        connectorId: 1,
      }),
    );
    assert.deepEqual(pick(stopped), {
      end_time: 'T1',
      energy_last_wh: 2250,
      session_energy_wh: 2250,
      power: 0,
      current: 0,
      charging: 0,
    });
    assert.equal(stopped.at(-1)!.object, 'charging', 'charging=0 comes last, once the figures are out');
    assert.equal(m.transactionOf('CP', 1), undefined);
  });

  it('knows online, device info and the configured max current', () => {
    const m = model();
    assert.deepEqual(pick(m.apply(bus.emit('charger.connected', 'CP', {}))), { online: 1 });
    const boot = pick(
      m.apply(
        bus.emit('charger.boot', 'CP', { chargePointVendor: 'V', chargePointModel: 'M', firmwareVersion: '1.2' }),
      ),
    );
    assert.deepEqual(boot, { vendor: 'V', model: 'M', firmware: '1.2' });
    const first = pick(
      m.apply(bus.emit('connector.status', 'CP', { connectorId: 1, status: 'Available', errorCode: 'NoError' })),
    );
    assert.equal(first.max_current, 16);
    assert.deepEqual(pick(m.apply(bus.emit('charger.disconnected', 'CP', {}))), { online: 0 });
    assert.deepEqual(m.known(), [{ chargerId: 'CP', connectors: [1], online: false }]);
  });
});

describe('command topics', () => {
  it('reads charger, connector and command, and names what is wrong', () => {
    assert.deepEqual(parseCommandTopic('a/b', 'a/b/CP%2F1/2/set/unlock'), {
      ok: true,
      chargerId: 'CP/1',
      connectorId: 2,
      command: 'unlock',
    });
    assert.equal(topicId('CP/1+#'), 'CP%2F1%2B%23');
    assert.deepEqual(parseCommandTopic('a', 'a/CP/set/reset'), {
      ok: true,
      chargerId: 'CP',
      connectorId: 0,
      command: 'reset',
    });
    const bad = parseCommandTopic('a', 'a/CP/1/set/fly');
    assert.equal(bad.ok, false);
    assert.match((bad as { error: string }).error, /unknown command "fly"/);
    assert.match((parseCommandTopic('a', 'a/CP/1/2/set/x') as { error: string }).error, /is not PREFIX/);
  });
});
