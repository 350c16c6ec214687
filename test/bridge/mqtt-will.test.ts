// Birth and last will with `ampere serve` as a real process: an orderly stop says offline (and
// the chargers offline); a kill -9 leaves it to the broker, which publishes the bridge's will.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestCharger } from '../helpers/charger.ts';
import { spawnServer } from '../helpers/process.ts';
import { type Mosquitto, Observer, startMosquitto } from './helpers.ts';

describe('MQTT birth and last will (ampere serve process, mosquitto)', () => {
  let broker: Mosquitto;
  let obs: Observer;
  before(async () => {
    broker = await startMosquitto();
    obs = await Observer.connect(broker.url, ['ampere/bridge/online', 'ampere/+/online']);
  });
  after(async () => {
    await obs?.close();
    await broker?.stop();
  });

  /** Waits for `topic` = `payload` among the messages after index `from`. */
  const next = (from: number, topic: string, payload: string) => obs.waitFor(topic, payload, from);

  it('a killed server is reported offline by the broker (last will)', async () => {
    const start = obs.seen.length;
    const server = await spawnServer(['--mqtt', broker.url, '--registration', 'open']);
    await next(start, 'ampere/bridge/online', 'online');
    const killed = obs.seen.length;
    await server.kill();
    await next(killed, 'ampere/bridge/online', 'offline');
  });

  it('an orderly stop says offline itself and marks its chargers offline', async () => {
    const start = obs.seen.length;
    const server = await spawnServer(['--mqtt', broker.url, '--registration', 'open']);
    await next(start, 'ampere/bridge/online', 'online');
    const charger = await TestCharger.connect(server.wsUrl, 'W1');
    await charger.boot('V', 'M');
    await next(start, 'ampere/W1/online', '1');
    assert.equal(await server.stop(), 0);
    const after = obs.seen.slice(start).map((m) => `${m.topic}=${m.payload}`);
    const chargerOffline = after.indexOf('ampere/W1/online=0');
    assert.ok(chargerOffline >= 0, after.join(' '));
    assert.ok(chargerOffline < after.lastIndexOf('ampere/bridge/online=offline'), after.join(' '));
  });
});
