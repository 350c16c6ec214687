// KNX against knxd (Debian) as a KNXnet/IP tunnelling server with a dummy bus: the bridge and a
// test client each open a tunnel. A simulated charger's session is written to the group addresses
// with xxter's datapoint types; group writes from the bus become OCPP calls on the simulator.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { dptlib, KNXClient } from 'knxultimate';
import { createStation, type SimStation } from '../../src/chargepoint/index.ts';
import { startTestServer, type TestServer } from '../api/helpers.ts';
import { startKnxd, until } from './helpers.ts';

const GA = {
  status: '1/0/1',
  error: '1/0/2',
  charging: '1/0/3',
  availability: '1/0/4',
  unlock: '1/0/5',
  energy_last: '1/0/6',
  start_time: '1/0/7',
  end_time: '1/0/8',
  current: '1/0/9',
  max_current: '1/0/10',
  reset: '1/0/11',
} as const;
const DPT: Record<string, string> = {
  [GA.status]: '5.010',
  [GA.error]: '5.010',
  [GA.charging]: '1.010',
  [GA.availability]: '1.003',
  [GA.energy_last]: '13.010',
  [GA.start_time]: '19.001',
  [GA.end_time]: '19.001',
  [GA.current]: '9.021',
  [GA.max_current]: '9.021',
};

describe('KNX bridge against knxd', () => {
  let knxd: Awaited<ReturnType<typeof startKnxd>>;
  let s: TestServer;
  let sim: SimStation;
  let bus: KNXClient;
  const seen: Array<{ ga: string; value: unknown }> = [];
  const values = (ga: string) => seen.filter((t) => t.ga === ga).map((t) => t.value);
  const waitFor = (ga: string, ok: (v: any) => boolean, from = 0) =>
    until(`${ga}`, () => values(ga).slice(from).some(ok));
  const received = (action: string) =>
    sim.station.history.filter((h) => h.dir === 'in' && h.action === action).map((h) => h.payload as any);

  before(async () => {
    knxd = await startKnxd();
    s = await startTestServer({ knx: `127.0.0.1:${knxd.port}`, callTimeoutMs: 5000 });
    const r = await s.api('PATCH', '/api/bridge/settings', {
      chargers: { CP1: { idTag: 'TAG1', maxCurrentA: 16 } },
      knx: { chargers: { CP1: { addresses: GA } } },
    });
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await s.api('POST', '/api/id-tags', { idTag: 'TAG1', status: 'Accepted' });
    await until('the bridge tunnel', async () => (await s.api('GET', '/api/bridge')).body.knx.connected);
    bus = new KNXClient({
      ipAddr: '127.0.0.1',
      ipPort: knxd.port,
      hostProtocol: 'TunnelUDP',
      loglevel: 'disable',
      localIPAddress: '127.0.0.1',
    } as never);
    bus.on('indication', (packet: any, echoed: boolean) => {
      const cemi = packet.cEMIMessage;
      const ga = cemi.dstAddress.toString();
      if (echoed || !cemi.npdu.isGroupWrite || !DPT[ga]) return;
      seen.push({ ga, value: dptlib.fromBuffer(cemi.npdu.dataValue, dptlib.resolve(DPT[ga]!)) });
    });
    await new Promise<void>((resolve) => {
      bus.once('connected', () => resolve());
      bus.Connect();
    });
    sim = createStation({
      id: 'CP1',
      profile: 'generic',
      url: `${s.ws}/ocpp`,
      historySize: 1000,
      config: { MeterValueSampleInterval: '1', MeterValuesSampledData: 'Energy.Active.Import.Register,Current.Import' },
    });
    await sim.start();
  });
  after(async () => {
    await sim?.stop();
    if (bus?.isConnected()) await bus.Disconnect();
    await s?.close();
    await knxd?.stop();
  });

  it('writes a session to the group addresses with the xxter datapoint types', async () => {
    await waitFor(GA.status, (v) => v === 0);
    await waitFor(GA.availability, (v) => v === true);
    await waitFor(GA.error, (v) => v === 0);
    await waitFor(GA.max_current, (v) => v === 16);
    sim.station.plug(1, { maxPowerW: 11000, phases: 3 });
    await waitFor(GA.status, (v) => v === 1);
    bus.write(GA.charging, true, '1.010');
    await waitFor(GA.status, (v) => v === 2);
    assert.equal(
      received('RemoteStartTransaction')[0]?.idTag,
      'TAG1',
      'a 1 on start/stop starts with the configured tag',
    );
    await waitFor(GA.charging, (v) => v === true);
    await waitFor(GA.start_time, (v) => v instanceof Date);
    await waitFor(GA.current, (v) => v > 6);
    assert.deepEqual(values(GA.status).slice(0, 3), [0, 1, 2]);
  });

  it('turns group writes into OCPP calls', async () => {
    const currents = values(GA.current).length;
    bus.write(GA.max_current, 10, '9.021');
    await until('SetChargingProfile', () => received('SetChargingProfile').length === 1);
    assert.equal(
      received('SetChargingProfile')[0].csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0].limit,
      10,
    );
    await waitFor(GA.current, (v) => v > 0 && v <= 10.05, currents);

    bus.write(GA.charging, false, '1.010');
    await until('RemoteStopTransaction', () => received('RemoteStopTransaction').length === 1);
    await waitFor(GA.energy_last, (v) => v > 0);
    await waitFor(GA.end_time, (v) => v instanceof Date);
    await waitFor(GA.charging, (v) => v === false);

    bus.write(GA.unlock, true, '1.003');
    await until('UnlockConnector', () => received('UnlockConnector').length === 1);
    sim.station.unplug(1);

    bus.write(GA.availability, false, '1.003');
    await until('ChangeAvailability', () => received('ChangeAvailability').length === 1);
    assert.deepEqual(received('ChangeAvailability')[0], { connectorId: 1, type: 'Inoperative' });
    await waitFor(GA.status, (v) => v === 7);

    bus.write(GA.reset, true, '1.015');
    await until('Reset', () => received('Reset').length === 1);
    assert.deepEqual(received('Reset')[0], { type: 'Soft' });
    const status = (await s.api('GET', '/api/bridge')).body.knx;
    assert.ok(status.telegramsIn >= 5 && status.telegramsOut > 10, JSON.stringify(status));
  });
});
