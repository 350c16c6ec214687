// End to end against a real mosquitto: a simulated charger's session drives the published topics
// in order with xxter's enum values; every command topic makes the right OCPP call on the
// simulator and a result; bad topics and payloads get errors while the bridge keeps running; a
// charger offline answers "charger offline"; a broker killed mid-session is reconnected to and
// the retained state is published again.
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { createStation, type SimStation } from '../../src/chargepoint/index.ts';
import { startTestServer, type TestServer } from '../api/helpers.ts';
import { type Mosquitto, Observer, startMosquitto, until } from './helpers.ts';

const P = 'ampere';

describe('MQTT bridge against mosquitto', () => {
  let broker: Mosquitto;
  let s: TestServer;
  let sim: SimStation;
  let obs: Observer;
  const received = (action: string) =>
    sim.station.history.filter((h) => h.dir === 'in' && h.action === action).map((h) => h.payload as any);

  before(async () => {
    broker = await startMosquitto();
    s = await startTestServer({ mqtt: broker.url, callTimeoutMs: 5000 });
    const file = join(s.data, 'bridge.json');
    // The settings file is read at start; written through the API afterwards.
    writeFileSync(file, '{}');
    const r = await s.api('PATCH', '/api/bridge/settings', { chargers: { CP1: { idTag: 'TAG1', maxCurrentA: 16 } } });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    assert.equal((await s.api('POST', '/api/id-tags', { idTag: 'TAG1', status: 'Accepted' })).status, 201);
    obs = await Observer.connect(broker.url, [`${P}/#`]);
    await obs.waitFor(`${P}/bridge/online`, 'online');
    sim = createStation({
      id: 'CP1',
      profile: 'generic',
      url: `${s.ws}/ocpp`,
      historySize: 1000,
      config: {
        MeterValueSampleInterval: '1',
        MeterValuesSampledData: 'Energy.Active.Import.Register,Power.Active.Import,Current.Import',
      },
    });
    await sim.start();
  });
  after(async () => {
    await obs?.close();
    await sim?.stop();
    await s?.close();
    await broker?.stop();
  });

  it('publishes a session in order with the status enum values', async () => {
    await obs.waitFor(`${P}/CP1/1/status`, 'Available');
    assert.equal(await obs.waitFor(`${P}/CP1/online`), '1');
    await obs.waitFor(`${P}/CP1/1/status_code`, '0');
    await obs.waitFor(`${P}/CP1/1/error_code`, '0');
    await obs.waitFor(`${P}/CP1/1/availability`, '1');
    await obs.waitFor(`${P}/CP1/1/max_current`, '16'); // the configured max current
    assert.ok(await obs.waitFor(`${P}/CP1/vendor`));

    sim.station.plug(1, { maxPowerW: 11000, phases: 3 });
    await obs.waitFor(`${P}/CP1/1/status`, 'Preparing');
    const start = await obs.command(P, 'CP1/1', 'start', '');
    assert.equal(start.ok, true, JSON.stringify(start));
    assert.equal(start.status, 'Accepted');
    assert.equal(received('RemoteStartTransaction').at(-1).idTag, 'TAG1', 'the configured tag');
    await obs.waitFor(`${P}/CP1/1/status`, 'Charging');
    await obs.waitFor(`${P}/CP1/1/charging`, '1');
    await obs.waitFor(`${P}/CP1/1/current`, (p) => Number(p) > 6);
    await obs.waitFor(`${P}/CP1/1/power`, (p) => Number(p) > 1000);
    assert.ok(Date.parse(await obs.waitFor(`${P}/CP1/1/start_time`)) > 0);
    assert.deepEqual(obs.values(`${P}/CP1/1/status_code`).slice(0, 3), ['0', '1', '2']);
  });

  it('answers bad topics and payloads with errors and keeps running', async () => {
    const unknownCommand = await obs.command(P, 'CP1/1', 'explode', '1');
    assert.equal(unknownCommand.ok, false);
    assert.match(unknownCommand.error.message, /unknown command "explode"/);
    const unknownCharger = await obs.command(P, 'NOPE/1', 'unlock', '1');
    assert.equal(unknownCharger.ok, false);
    assert.equal(unknownCharger.error.code, 'AMPERE_ERR_NOT_FOUND');
    assert.match(unknownCharger.error.message, /unknown charger "NOPE"/);
    const badNumber = await obs.command(P, 'CP1/1', 'max_current', 'lots');
    assert.equal(badNumber.error.code, 'AMPERE_ERR_BAD_REQUEST');
    const badSwitch = await obs.command(P, 'CP1/1', 'availability', 'maybe');
    assert.match(badSwitch.error.message, /expected 1\/0, ON\/OFF/);
    const badJson = await obs.command(P, 'CP1/1', 'start', '{"idTag":');
    assert.match(badJson.error.message, /not a JSON object/);
    const before = obs.seen.length;
    await obs.client.publishAsync(`${P}/CP1/x/set/unlock`, '1', { qos: 1 });
    const err = JSON.parse(await obs.waitFor(`${P}/bridge/error`, (p) => p.includes('CP1/x')));
    assert.match(err.error.message, /connector "x" is not a number/);
    assert.ok(obs.seen.length > before);
    const status = await s.api('GET', '/api/bridge');
    assert.equal(status.body.mqtt.connected, true);
    assert.ok(status.body.mqtt.commandErrors >= 6);
  });

  it('sends the right OCPP call for each command and publishes the result', async () => {
    const beforeMax = obs.seen.length;
    const max = await obs.command(P, 'CP1/1', 'max_current', '10');
    assert.equal(max.status, 'Accepted', JSON.stringify(max));
    const profile = received('SetChargingProfile').at(-1);
    assert.equal(profile.connectorId, 0);
    assert.equal(profile.csChargingProfiles.chargingProfilePurpose, 'ChargePointMaxProfile');
    assert.equal(profile.csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0].limit, 10);
    await obs.waitFor(`${P}/CP1/1/max_current`, '10');
    // The simulator's EV follows the lower limit: the current drops, and the drop is published.
    await obs.waitFor(`${P}/CP1/1/current`, (p) => Number(p) > 0 && Number(p) <= 10.05, beforeMax);

    const restore = await obs.command(P, 'CP1/1', 'max_current_restore', '');
    assert.equal(restore.ok, true, JSON.stringify(restore));
    assert.equal(received('ClearChargingProfile').at(-1).id, 8800);
    await until('max current back to configured', () => obs.last(`${P}/CP1/1/max_current`) === '16');
    const again = await obs.command(P, 'CP1/1', 'max_current', 'restore');
    assert.equal(again.status, 'Unknown', 'nothing left to clear');
    assert.equal(again.ok, true, 'a restore with no override in force has nothing to undo');

    const fast = await obs.command(P, 'CP1/1', 'fast_charge', 'ON');
    assert.equal(fast.ok, true, JSON.stringify(fast));
    assert.equal(fast.response.fast, true, 'the smart engine’s answer is passed on (with its warnings)');
    await obs.waitFor(`${P}/CP1/1/fast_charge`, '1');

    let mark = obs.seen.length;
    const stop = await obs.command(P, 'CP1/1', 'charging', 'OFF');
    assert.equal(stop.status, 'Accepted', JSON.stringify(stop));
    assert.equal(received('RemoteStopTransaction').length, 1);
    await obs.waitFor(`${P}/CP1/1/charging`, '0');
    const energy = Number(await obs.waitFor(`${P}/CP1/1/energy_last_wh`));
    assert.ok(energy > 0, `energy at stop ${energy}`);
    assert.ok(Date.parse(await obs.waitFor(`${P}/CP1/1/end_time`)) > 0);
    await obs.waitFor(`${P}/CP1/1/current`, '0', mark);

    const unlock = await obs.command(P, 'CP1/1', 'unlock', '1');
    assert.equal(unlock.status, 'Unlocked');
    assert.equal(received('UnlockConnector').at(-1).connectorId, 1);
    mark = obs.seen.length;
    sim.station.unplug(1);
    await obs.waitFor(`${P}/CP1/1/status`, 'Available', mark);

    const reserve = await obs.command(P, 'CP1/1', 'reserve', '1');
    assert.equal(reserve.status, 'Accepted', JSON.stringify(reserve));
    assert.equal(received('ReserveNow').at(-1).idTag, 'TAG1');
    await obs.waitFor(`${P}/CP1/1/status_code`, '6');
    const free = await obs.command(P, 'CP1/1', 'reserve', '0');
    assert.equal(free.status, 'Accepted', JSON.stringify(free));
    assert.equal(received('CancelReservation').at(-1).reservationId, received('ReserveNow').at(-1).reservationId);

    const off = await obs.command(P, 'CP1/1', 'availability', '0');
    assert.equal(off.status, 'Accepted');
    assert.deepEqual(received('ChangeAvailability').at(-1), { connectorId: 1, type: 'Inoperative' });
    await obs.waitFor(`${P}/CP1/1/status_code`, '7');
    await obs.waitFor(`${P}/CP1/1/availability`, '0');
    mark = obs.seen.length;
    await obs.command(P, 'CP1/1', 'availability', '1');
    await obs.waitFor(`${P}/CP1/1/availability`, '1', mark);
  });

  it('reconnects after the broker is killed mid-session and republishes the retained state', async () => {
    sim.station.plug(1, { maxPowerW: 11000, phases: 3 });
    await obs.command(P, 'CP1/1', 'start', 'TAG1');
    await obs.waitFor(`${P}/CP1/1/status`, 'Charging');
    const connects = (await s.api('GET', '/api/bridge')).body.mqtt.connects;
    await obs.close();

    await broker.kill();
    await until(
      'the bridge to see the broker gone',
      async () => !(await s.api('GET', '/api/bridge')).body.mqtt.connected,
    );
    await broker.restart();
    await until('the bridge to reconnect', async () => {
      const m = (await s.api('GET', '/api/bridge')).body.mqtt;
      return m.connected && m.connects > connects;
    });
    // The restarted broker (no persistence) lost every retained message: the bridge publishes them again.
    obs = await Observer.connect(broker.url, [`${P}/#`]);
    await obs.waitFor(`${P}/CP1/1/status`, 'Charging');
    const topics = ['bridge/online', 'CP1/online', 'CP1/1/status', 'CP1/1/status_code', 'CP1/1/charging'];
    for (const t of topics) await obs.waitFor(`${P}/${t}`);
    // Once republished, the restarted broker holds them as retained messages for anyone subscribing later.
    const late = await Observer.connect(broker.url, [`${P}/#`]);
    try {
      for (const t of topics) {
        await until(`${t} retained after the restart`, () =>
          late.seen.some((m) => m.topic === `${P}/${t}` && m.retain),
        );
      }
      assert.equal(late.last(`${P}/CP1/1/status`), 'Charging');
    } finally {
      await late.close();
    }
    await obs.waitFor(`${P}/bridge/online`, 'online');
    // Commands work again over the new connection.
    const stop = await obs.command(P, 'CP1/1', 'stop', '');
    assert.equal(stop.status, 'Accepted');
    await obs.waitFor(`${P}/CP1/1/charging`, '0');
  });

  it('answers a command for a charger that went offline with "charger offline"', async () => {
    sim.connection!.stop();
    await obs.waitFor(`${P}/CP1/online`, '0');
    const r = await obs.command(P, 'CP1/1', 'unlock', '1');
    assert.equal(r.ok, false);
    assert.equal(r.error.code, 'AMPERE_ERR_CHARGER_OFFLINE');
    assert.match(r.error.message, /charger offline/);
    const soft = await obs.command(P, 'CP1', 'reset', 'soft');
    assert.equal(soft.error.code, 'AMPERE_ERR_CHARGER_OFFLINE');
  });
});
