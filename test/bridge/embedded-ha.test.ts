// The embedded broker (`--mqtt embedded://user:pass@host:port`) with Home Assistant discovery:
// clients must log in; every discovery config has what Home Assistant's MQTT integration documents
// as required for its component, with valid device classes, units and state classes, device info
// from the charger's BootNotification, and availability; the command topics it names work.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { connectAsync } from 'mqtt';
import { createStation, type SimStation } from '../../src/chargepoint/index.ts';
import { startTestServer, type TestServer } from '../api/helpers.ts';
import { Observer, until } from './helpers.ts';

// What Home Assistant's MQTT integration documents per component (home-assistant.io/integrations/<component>.mqtt).
const REQUIRED: Record<string, string[]> = {
  sensor: ['state_topic'],
  switch: ['command_topic'],
  number: ['command_topic'],
  button: ['command_topic'],
};
// Sensor device classes with the units Home Assistant accepts for each, and their allowed state classes.
const SENSOR_CLASSES: Record<string, { units: string[]; stateClasses: string[] }> = {
  power: { units: ['W', 'kW', 'MW'], stateClasses: ['measurement'] },
  current: { units: ['A', 'mA'], stateClasses: ['measurement'] },
  energy: { units: ['Wh', 'kWh', 'MWh'], stateClasses: ['total', 'total_increasing'] },
};
const BUTTON_CLASSES = ['identify', 'restart', 'update'];

function checkConfig(topic: string, c: any): void {
  const m = /^homeassistant\/(sensor|switch|number|button)\/([a-zA-Z0-9_-]+)\/([a-zA-Z0-9_-]+)\/config$/.exec(topic);
  assert.ok(m, `discovery topic ${topic} is <prefix>/<component>/<node_id>/<object_id>/config`);
  const component = m[1]!;
  for (const f of REQUIRED[component]!) assert.equal(typeof c[f], 'string', `${topic}: ${f}`);
  assert.equal(typeof c.unique_id, 'string', `${topic}: unique_id (needed for the device registry)`);
  assert.ok(Array.isArray(c.device.identifiers) && c.device.identifiers.length > 0, `${topic}: device.identifiers`);
  assert.equal(typeof c.origin.name, 'string', `${topic}: origin.name is required when origin is given`);
  assert.ok(['all', 'any', 'latest'].includes(c.availability_mode));
  for (const a of c.availability) assert.equal(typeof a.topic, 'string');
  for (const t of [c.state_topic, c.command_topic]) if (t !== undefined) assert.doesNotMatch(t, /[+#]/);
  if (component === 'sensor') {
    if (c.device_class === 'enum') {
      assert.ok(Array.isArray(c.options) && c.options.length > 0, `${topic}: enum sensors need options`);
      assert.equal(c.unit_of_measurement, undefined, `${topic}: enum sensors take no unit`);
      assert.equal(c.state_class, undefined, `${topic}: enum sensors take no state class`);
    } else {
      const allowed = SENSOR_CLASSES[c.device_class];
      assert.ok(allowed, `${topic}: device class ${c.device_class}`);
      assert.ok(allowed.units.includes(c.unit_of_measurement), `${topic}: unit ${c.unit_of_measurement}`);
      assert.ok(allowed.stateClasses.includes(c.state_class), `${topic}: state class ${c.state_class}`);
    }
  }
  if (component === 'switch') {
    for (const f of ['payload_on', 'payload_off', 'state_on', 'state_off']) assert.equal(typeof c[f], 'string');
  }
  if (component === 'number') {
    assert.ok(c.min < c.max && c.step > 0, `${topic}: min < max, step > 0`);
    assert.ok(['auto', 'box', 'slider'].includes(c.mode));
    assert.equal(c.unit_of_measurement, 'A');
  }
  if (component === 'button' && c.device_class !== undefined) assert.ok(BUTTON_CLASSES.includes(c.device_class));
}

describe('embedded broker with Home Assistant discovery', () => {
  let s: TestServer;
  let sim: SimStation;
  let obs: Observer;
  let url: string;

  before(async () => {
    s = await startTestServer({ mqtt: 'embedded://ha:secret-pass@127.0.0.1:0', callTimeoutMs: 5000 });
    assert.ok(s.bridge.brokerPort, 'the embedded broker listens');
    url = `mqtt://127.0.0.1:${s.bridge.brokerPort}`;
    const r = await s.api('PATCH', '/api/bridge/settings', {
      chargers: { 'EAT 1': { name: 'Garage', maxCurrentA: 16 } },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    obs = await Observer.connect(url, ['homeassistant/#', 'ampere/#'], { username: 'ha', password: 'secret-pass' });
    sim = createStation({ id: 'EAT 1', profile: 'eaton-green-motion', url: `${s.ws}/ocppj/v1.6`, historySize: 500 });
    await sim.start();
  });
  after(async () => {
    await obs?.close();
    await sim?.stop();
    await s?.close();
  });

  it('refuses a client with the wrong password', async () => {
    await assert.rejects(
      connectAsync(url, { username: 'ha', password: 'wrong', reconnectPeriod: 0 }),
      /Bad username or password|Not authorized/i,
    );
  });

  it('publishes discovery configs Home Assistant accepts, with device info and availability', async () => {
    const statusTopic = 'homeassistant/sensor/ampere_EAT_1/c1_status/config';
    await obs.waitFor(statusTopic);
    await until('all entities', () => obs.seen.filter((m) => m.topic.startsWith('homeassistant/')).length >= 12);
    const configs = new Map<string, any>();
    for (const m of obs.seen) if (m.topic.startsWith('homeassistant/')) configs.set(m.topic, JSON.parse(m.payload));
    const byComponent = (c: string) => [...configs.keys()].filter((t) => t.startsWith(`homeassistant/${c}/`));
    assert.deepEqual(
      byComponent('sensor')
        .map((t) => t.split('/')[3])
        .sort(),
      ['c1_current', 'c1_energy_last', 'c1_error', 'c1_power', 'c1_session_energy', 'c1_status'],
    );
    assert.deepEqual(
      byComponent('switch')
        .map((t) => t.split('/')[3])
        .sort(),
      ['c1_availability', 'c1_charging', 'c1_fast_charge'],
    );
    assert.deepEqual(
      byComponent('number').map((t) => t.split('/')[3]),
      ['c1_max_current'],
    );
    assert.deepEqual(
      byComponent('button')
        .map((t) => t.split('/')[3])
        .sort(),
      ['c1_unlock', 'reset'],
    );
    for (const [topic, c] of configs) checkConfig(topic, c);
    // Retained, so Home Assistant finds them after its own restart: a late subscriber gets them all.
    const late = await Observer.connect(url, ['homeassistant/#'], { username: 'ha', password: 'secret-pass' });
    try {
      await until('retained configs', () => new Set(late.seen.map((m) => m.topic)).size === configs.size);
      assert.ok(late.seen.every((m) => m.retain));
    } finally {
      await late.close();
    }

    const status = configs.get(statusTopic);
    assert.equal(status.device.name, 'Garage');
    assert.equal(status.device.manufacturer, sim.station.profile.chargePointVendor);
    assert.equal(status.device.model, sim.station.profile.chargePointModel);
    assert.equal(typeof status.device.sw_version, 'string');
    assert.deepEqual(status.options.slice(0, 3), ['Available', 'Preparing', 'Charging']);
    assert.equal(status.state_topic, 'ampere/EAT 1/1/status');
    assert.equal(configs.get('homeassistant/number/ampere_EAT_1/c1_max_current/config').max, 16);
    // Every availability topic the entities name is published, with the payload meaning "available".
    for (const a of status.availability) assert.equal(await obs.waitFor(a.topic), a.payload_available);
  });

  it('a discovered switch command topic reaches the charger', async () => {
    const sw = JSON.parse(await obs.waitFor('homeassistant/switch/ampere_EAT_1/c1_availability/config'));
    await obs.client.publishAsync(sw.command_topic, sw.payload_off, { qos: 1 });
    await obs.waitFor(sw.state_topic, sw.state_off);
    const answer = JSON.parse(await obs.waitFor('ampere/EAT 1/1/result/availability'));
    assert.equal(answer.status, 'Accepted');
    const changed = sim.station.history.filter((h) => h.dir === 'in' && h.action === 'ChangeAvailability');
    assert.deepEqual(changed.at(-1)?.payload, { connectorId: 1, type: 'Inoperative' });
  });
});
