// The bridge to a broker that needs TLS and a password: mosquitto with a certificate from a
// private CA (--mqtt-ca) and a password file; a wrong password is reported, never logged or shown.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestServer, type TestServer } from '../api/helpers.ts';
import { makePki } from '../security/helpers.ts';
import { type Mosquitto, Observer, startMosquitto, until } from './helpers.ts';

describe('MQTT bridge over TLS with a password (mosquitto)', () => {
  const pki = makePki();
  let broker: Mosquitto;
  const servers: TestServer[] = [];
  before(async () => {
    broker = await startMosquitto({
      tls: { cert: pki.files.cert, key: pki.files.key, ca: pki.files.ca },
      users: { bridge: 'bridge-pass-1', watcher: 'watcher-pass-1' },
    });
  });
  after(async () => {
    for (const s of servers) await s.close();
    await broker?.stop();
  });

  it('connects with mqtts, the CA and the password, and publishes its birth message', async () => {
    const url = `mqtts://bridge:bridge-pass-1@127.0.0.1:${broker.port}`;
    const s = await startTestServer({ mqtt: url, mqttCa: pki.files.ca });
    servers.push(s);
    await until('connected', async () => (await s.api('GET', '/api/bridge')).body.mqtt.connected);
    const status = (await s.api('GET', '/api/bridge')).body.mqtt;
    assert.equal(status.url, `mqtts://bridge:***@127.0.0.1:${broker.port}`, 'the password is never shown');
    const obs = await Observer.connect(broker.url, ['ampere/bridge/online'], {
      username: 'watcher',
      password: 'watcher-pass-1',
      ca: pki.ca.certPem,
    } as never);
    try {
      assert.equal(await obs.waitFor('ampere/bridge/online'), 'online');
    } finally {
      await obs.close();
    }
  });

  it('reports a wrong password as its last error and keeps the server running', async () => {
    const s = await startTestServer({
      mqtt: `mqtts://bridge:wrong-password@127.0.0.1:${broker.port}`,
      mqttCa: pki.files.ca,
    });
    servers.push(s);
    await until('the refusal', async () => (await s.api('GET', '/api/bridge')).body.mqtt.lastError !== null);
    const b = (await s.api('GET', '/api/bridge')).body;
    assert.equal(b.mqtt.connected, false);
    assert.match(b.mqtt.lastError, /not authori[sz]ed|bad user ?name or password/i);
    assert.doesNotMatch(JSON.stringify(b), /wrong-password/);
    assert.equal((await s.api('GET', '/api/chargers')).status, 200);
  });
});
