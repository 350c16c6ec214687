import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { FakeClock } from '../../src/chargepoint/clock.ts';
import { getProfile } from '../../src/chargepoint/profiles/index.ts';
import { Station } from '../../src/chargepoint/station.ts';
import { FakeCentral, rig } from './helpers.ts';

describe('boot and heartbeat', () => {
  it('retries BootNotification after the Pending interval, then heartbeats at the given interval', async () => {
    const clock = new FakeClock();
    const central = new FakeCentral(clock);
    let boots = 0;
    central.responders.BootNotification = () => ({
      status: ++boots < 3 ? 'Pending' : 'Accepted',
      currentTime: new Date(clock.now()).toISOString(),
      interval: boots < 3 ? 20 : 120,
    });
    const station = new Station({ id: 'CP1', profile: getProfile('generic'), clock });
    station.attach(central);
    await clock.advance(0);
    assert.equal(station.registration, 'Pending');
    assert.deepEqual(central.actions(), ['BootNotification']);
    await clock.advance(19_000);
    assert.equal(central.of('BootNotification').length, 1);
    await clock.advance(1_000);
    assert.equal(central.of('BootNotification').length, 2);
    await clock.advance(20_000);
    assert.equal(station.registration, 'Accepted');
    assert.equal(station.config.get('HeartbeatInterval'), '120');
    // §4.9: after boot, one StatusNotification for connector 0 and each connector.
    assert.deepEqual(
      central.of('StatusNotification').map((p) => p.connectorId),
      [0, 1],
    );
    await clock.advance(360_000);
    assert.equal(central.of('Heartbeat').length, 3);
  });

  it("a HeartbeatInterval set right after the boot's answer is not overwritten by that answer's interval", async () => {
    const clock = new FakeClock();
    const central = new FakeCentral(clock);
    const station = new Station({ id: 'CP1', profile: getProfile('generic'), clock });
    const changed: unknown[] = [];
    // The answer (interval 300) and the ChangeConfiguration the central system sent after it
    // arrive together: the request is handled before boot() resumes from its await.
    central.responders.BootNotification = () =>
      Promise.resolve().then(() => {
        if (changed.length === 0)
          changed.push(station.handle('ChangeConfiguration', { key: 'HeartbeatInterval', value: '120' }));
        return { status: 'Accepted', currentTime: new Date(clock.now()).toISOString(), interval: 300 };
      });
    station.attach(central);
    await clock.advance(0);
    assert.deepEqual(await Promise.all(changed), [{ status: 'Accepted' }]);
    assert.equal(station.registration, 'Accepted');
    assert.equal(station.config.get('HeartbeatInterval'), '120');
    // A later boot's answer, with no change behind it, applies again.
    station.reboot('Soft');
    await clock.advance(60_000);
    assert.equal(station.config.get('HeartbeatInterval'), '300');
  });

  it('while Pending sends only BootNotification and what the central system triggers', async () => {
    const clock = new FakeClock();
    const central = new FakeCentral(clock);
    central.responders.BootNotification = () => ({
      status: 'Pending',
      currentTime: new Date().toISOString(),
      interval: 600,
    });
    const station = new Station({ id: 'CP1', profile: getProfile('generic'), clock });
    station.attach(central);
    await clock.advance(0);
    station.plug(1);
    await clock.advance(1000);
    assert.deepEqual(central.actions(), ['BootNotification']);
    await station.handle('TriggerMessage', { requestedMessage: 'StatusNotification', connectorId: 1 });
    await clock.advance(0);
    assert.deepEqual(central.actions(), ['BootNotification', 'StatusNotification']);
    assert.equal(central.of('StatusNotification')[0].status, 'Preparing');
  });

  it('sends nothing but BootNotification while Rejected', async () => {
    const clock = new FakeClock();
    const central = new FakeCentral(clock);
    central.responders.BootNotification = () => ({
      status: 'Rejected',
      currentTime: new Date().toISOString(),
      interval: 60,
    });
    const station = new Station({ id: 'CP1', profile: getProfile('generic'), clock });
    station.attach(central);
    await clock.advance(0);
    station.plug(1);
    await station.swipe('TAG');
    await clock.advance(125_000);
    assert.deepEqual(new Set(central.actions()), new Set(['BootNotification']));
    assert.equal(central.of('BootNotification').length, 3);
  });
});

describe('transactions', () => {
  it('swipe, plug, charge, meter values, stop by the same card', async () => {
    const { clock, station, central } = await rig('generic', {
      config: { MeterValueSampleInterval: '60', StopTxnSampledData: 'Energy.Active.Import.Register' },
    });
    assert.equal(await station.swipe('TAG1'), 'Accepted');
    assert.equal(station.connector(1).status, 'Preparing');
    station.plug(1, { maxPowerW: 11_000, soc: 0.2 });
    await clock.advance(0);
    assert.equal(station.connector(1).status, 'Charging');
    const start = central.of('StartTransaction')[0];
    assert.equal(start.idTag, 'TAG1');
    assert.equal(start.meterStart, 0);
    await clock.advance(3_600_000);
    const mv = central.of('MeterValues');
    assert.equal(mv.length, 60);
    assert.equal(mv[0].transactionId, 1001 + 0 || mv[0].transactionId);
    const measurands = mv[0].meterValue[0].sampledValue.map((s: any) => s.measurand);
    assert.deepEqual(measurands, ['Energy.Active.Import.Register', 'Power.Active.Import']);
    assert.equal(await station.swipe('TAG1'), 'Stopped');
    await clock.advance(0);
    const stop = central.of('StopTransaction')[0];
    assert.equal(stop.reason, 'Local');
    assert.equal(stop.transactionId, start && mv[0].transactionId);
    // 11 kW for an hour (3 x 15.94 A x 230 V): about 11 kWh.
    assert.ok(stop.meterStop > 10_900 && stop.meterStop < 11_100, `meterStop ${stop.meterStop}`);
    // StopTxnSampledData: Transaction.Begin, 60 periodic samples, Transaction.End.
    assert.equal(stop.transactionData.length, 62);
    assert.equal(stop.transactionData[0].sampledValue[0].context, 'Transaction.Begin');
    assert.equal(stop.transactionData.at(-1).sampledValue[0].context, 'Transaction.End');
    assert.equal(station.connector(1).status, 'Finishing');
    station.unplug(1);
    await clock.advance(0);
    assert.deepEqual(central.statuses(1), ['Available', 'Preparing', 'Charging', 'Finishing', 'Available']);
  });

  it('stops with EVDisconnected when unplugged, and a full car goes SuspendedEV', async () => {
    const { clock, station, central } = await rig('generic');
    station.plug(1, { soc: 0.99, maxPowerW: 7_000, capacityWh: 10_000 });
    await station.swipe('TAG');
    await clock.advance(0);
    assert.equal(station.connector(1).status, 'Charging');
    await clock.advance(3_600_000);
    assert.equal(station.connector(1).status, 'SuspendedEV');
    station.unplug(1);
    await clock.advance(0);
    assert.equal(central.of('StopTransaction')[0].reason, 'EVDisconnected');
    assert.equal(station.connector(1).status, 'Available');
  });

  it('a card rejected by Authorize starts nothing; one rejected in StartTransaction is DeAuthorized', async () => {
    const { clock, station, central } = await rig('generic');
    station.plug(1);
    assert.equal(await station.swipe('BAD-1'), 'Invalid');
    assert.equal(central.of('StartTransaction').length, 0);
    central.responders.Authorize = () => ({ idTagInfo: { status: 'Accepted' } });
    await station.swipe('BAD-2');
    await clock.advance(0);
    assert.equal(central.of('StopTransaction')[0].reason, 'DeAuthorized');
  });

  it('remote start waits for the cable; remote stop; unlock stops with UnlockCommand', async () => {
    const { clock, station, central } = await rig('generic');
    assert.deepEqual(await station.handle('RemoteStartTransaction', { idTag: 'R1', connectorId: 1 }), {
      status: 'Accepted',
    });
    await clock.advance(0);
    assert.equal(station.connector(1).status, 'Preparing');
    station.plug(1);
    await clock.advance(0);
    const txId = central.of('StartTransaction').length && station.connector(1).tx?.id;
    assert.ok(txId);
    assert.deepEqual(await station.handle('RemoteStopTransaction', { transactionId: 999 }), { status: 'Rejected' });
    assert.deepEqual(await station.handle('RemoteStopTransaction', { transactionId: txId }), { status: 'Accepted' });
    await clock.advance(0);
    assert.equal(central.of('StopTransaction')[0].reason, 'Remote');
    station.unplug(1);
    await station.handle('RemoteStartTransaction', { idTag: 'R2' });
    await clock.advance(0);
    station.plug(1);
    await clock.advance(0);
    assert.deepEqual(await station.handle('UnlockConnector', { connectorId: 1 }), { status: 'Unlocked' });
    await clock.advance(0);
    assert.equal(central.of('StopTransaction')[1].reason, 'UnlockCommand');
    assert.deepEqual(await station.handle('UnlockConnector', { connectorId: 7 }), { status: 'NotSupported' });
  });

  it('remote start without a cable lapses after ConnectionTimeOut', async () => {
    const { clock, station } = await rig('generic', { config: { ConnectionTimeOut: '30' } });
    await station.handle('RemoteStartTransaction', { idTag: 'R1' });
    await clock.advance(0);
    assert.equal(station.connector(1).status, 'Preparing');
    await clock.advance(30_000);
    assert.equal(station.connector(1).status, 'Available');
  });

  it('AuthorizeRemoteTxRequests authorises the remote idTag first', async () => {
    const { clock, station, central } = await rig('generic', { config: { AuthorizeRemoteTxRequests: 'true' } });
    station.plug(1);
    await station.handle('RemoteStartTransaction', { idTag: 'BAD-R' });
    await clock.advance(0);
    assert.equal(central.of('Authorize')[0].idTag, 'BAD-R');
    assert.equal(central.of('StartTransaction').length, 0);
  });
});

describe('availability, reservations, reset, trigger', () => {
  it('ChangeAvailability during a transaction is Scheduled and applied after the stop', async () => {
    const { clock, station, central } = await rig('generic');
    station.plug(1);
    await station.swipe('T');
    await clock.advance(0);
    assert.deepEqual(await station.handle('ChangeAvailability', { connectorId: 1, type: 'Inoperative' }), {
      status: 'Scheduled',
    });
    assert.equal(station.connector(1).status, 'Charging');
    await station.swipe('T');
    station.unplug(1);
    await clock.advance(0);
    assert.equal(station.connector(1).status, 'Unavailable');
    assert.deepEqual(await station.handle('ChangeAvailability', { connectorId: 0, type: 'Operative' }), {
      status: 'Accepted',
    });
    assert.equal(station.connector(1).status, 'Available');
    assert.deepEqual(central.statuses(1).slice(-2), ['Unavailable', 'Available']);
  });

  it('ReserveNow holds the connector for its idTag until expiry', async () => {
    const { clock, station } = await rig('generic');
    const expiryDate = new Date(clock.now() + 600_000).toISOString();
    assert.deepEqual(
      await station.handle('ReserveNow', { connectorId: 1, expiryDate, idTag: 'MINE', reservationId: 7 }),
      { status: 'Accepted' },
    );
    assert.equal(station.connector(1).status, 'Reserved');
    assert.deepEqual(await station.handle('ReserveNow', { connectorId: 0, expiryDate, idTag: 'X', reservationId: 8 }), {
      status: 'Rejected',
    });
    assert.equal(await station.swipe('OTHER', 1), 'Reserved');
    await clock.advance(600_000);
    assert.equal(station.connector(1).status, 'Available');
    await station.handle('ReserveNow', {
      connectorId: 1,
      expiryDate: new Date(clock.now() + 600_000).toISOString(),
      idTag: 'MINE',
      reservationId: 9,
    });
    assert.deepEqual(await station.handle('CancelReservation', { reservationId: 1 }), { status: 'Rejected' });
    station.plug(1);
    assert.equal(await station.swipe('MINE'), 'Accepted');
    assert.equal(station.connector(1).tx?.reservationId, 9);
  });

  it('Reset stops the transaction, reboots, applies RebootRequired keys and boots again', async () => {
    const profile = getProfile('generic');
    const { clock, station, central } = await rig(profile);
    assert.deepEqual(await station.handle('ChangeConfiguration', { key: 'SecurityProfile', value: '1' }), {
      status: 'RebootRequired',
    });
    assert.equal(station.config.get('SecurityProfile'), '0');
    assert.deepEqual(await station.handle('ChangeConfiguration', { key: 'NumberOfConnectors', value: '3' }), {
      status: 'Rejected',
    });
    assert.deepEqual(await station.handle('ChangeConfiguration', { key: 'Nope', value: '3' }), {
      status: 'NotSupported',
    });
    station.plug(1);
    await station.swipe('T');
    await clock.advance(0);
    assert.deepEqual(await station.handle('Reset', { type: 'Hard' }), { status: 'Accepted' });
    await clock.advance(5_000);
    assert.equal(central.of('BootNotification').length, 2);
    assert.equal(central.of('StopTransaction')[0].reason, 'HardReset');
    assert.equal(station.config.get('SecurityProfile'), '1');
  });

  it('TriggerMessage sends the requested message after answering', async () => {
    const { clock, station, central } = await rig('generic');
    const before = central.calls.length;
    assert.deepEqual(
      await station.handle('TriggerMessage', { requestedMessage: 'StatusNotification', connectorId: 1 }),
      {
        status: 'Accepted',
      },
    );
    assert.equal(central.calls.length, before);
    await clock.advance(0);
    assert.equal(central.calls.at(-1)?.action, 'StatusNotification');
    await station.handle('TriggerMessage', { requestedMessage: 'MeterValues' });
    await clock.advance(0);
    assert.equal(central.calls.at(-1)?.action, 'MeterValues');
    assert.equal(central.calls.at(-1)?.payload.meterValue[0].sampledValue[0].context, 'Trigger');
  });
});

describe('local list and offline authorisation', () => {
  it('SendLocalList Full/Differential with versions; offline cards authorised from the list', async () => {
    const { clock, station, central } = await rig('generic');
    const full = {
      listVersion: 3,
      updateType: 'Full',
      localAuthorizationList: [
        { idTag: 'A', idTagInfo: { status: 'Accepted' } },
        { idTag: 'B', idTagInfo: { status: 'Blocked' } },
      ],
    };
    assert.deepEqual(await station.handle('SendLocalList', full), { status: 'Accepted' });
    assert.deepEqual(await station.handle('GetLocalListVersion', {}), { listVersion: 3 });
    assert.deepEqual(
      await station.handle('SendLocalList', { listVersion: 2, updateType: 'Differential', localAuthorizationList: [] }),
      { status: 'VersionMismatch' },
    );
    await station.handle('SendLocalList', {
      listVersion: 4,
      updateType: 'Differential',
      localAuthorizationList: [{ idTag: 'C', idTagInfo: { status: 'Accepted' } }, { idTag: 'A' }],
    });
    station.detach();
    assert.equal(await station.swipe('C'), 'Accepted');
    assert.equal(await station.swipe('B', 1), 'Blocked');
    station.plug(1);
    await clock.advance(0);
    assert.equal(station.connector(1).status, 'Charging');
    assert.equal(central.of('Authorize').length, 0);
    assert.equal(station.queuedMessages, 1);
  });
});

describe('offline queue', () => {
  it('queues transaction messages offline and replays them in order with the real transactionId', async () => {
    const { clock, station, central } = await rig('generic', {
      config: { MeterValueSampleInterval: '60', AllowOfflineTxForUnknownId: 'true' },
    });
    station.detach();
    station.plug(1);
    await station.swipe('OFF');
    await clock.advance(180_000);
    await station.swipe('OFF');
    await clock.advance(0);
    assert.equal(station.queuedMessages, 5);
    const before = central.calls.length;
    central.responders.StartTransaction = () => ({ transactionId: 77, idTagInfo: { status: 'Accepted' } });
    station.attach(central);
    await clock.advance(0);
    const replay = central.calls
      .slice(before)
      .filter((c) => c.action !== 'StatusNotification' && c.action !== 'Heartbeat');
    assert.deepEqual(
      replay.map((c) => c.action),
      ['StartTransaction', 'MeterValues', 'MeterValues', 'MeterValues', 'StopTransaction'],
    );
    assert.equal(replay[1]!.payload.transactionId, 77);
    assert.equal(replay[4]!.payload.transactionId, 77);
    const times = replay.slice(1, 4).map((c) => Date.parse(c.payload.meterValue[0].timestamp));
    assert.deepEqual(times, [...times].sort());
  });

  it('retries a refused transaction message TransactionMessageAttempts times, RetryInterval x attempts apart', async () => {
    const { clock, station, central } = await rig('generic', {
      config: { TransactionMessageAttempts: '3', TransactionMessageRetryInterval: '10' },
    });
    central.fail = (a) => (a === 'StartTransaction' ? 'callError' : undefined);
    station.plug(1);
    await station.swipe('T');
    await clock.advance(0);
    const at = () => central.calls.filter((c) => c.action === 'StartTransaction').map((c) => c.at);
    assert.equal(at().length, 1);
    await clock.advance(10_000);
    assert.equal(at().length, 2);
    await clock.advance(19_000);
    assert.equal(at().length, 2);
    await clock.advance(1_000);
    assert.equal(at().length, 3);
    await clock.advance(100_000);
    assert.equal(at().length, 3);
    assert.equal(station.queuedMessages, 0);
  });
});

describe('smart charging', () => {
  it('a TxDefaultProfile limit lowers the metered power; clearing it restores full power', async () => {
    const { clock, station, central } = await rig('generic', { config: { MeterValueSampleInterval: '60' } });
    station.plug(1, { maxPowerW: 22_000 });
    await station.swipe('T');
    await clock.advance(60_000);
    const power = () => Number(central.of('MeterValues').at(-1).meterValue[0].sampledValue[1].value);
    assert.equal(power(), Math.round(3 * 230 * 31.88));
    const res = await station.handle('SetChargingProfile', {
      connectorId: 1,
      csChargingProfiles: {
        chargingProfileId: 1,
        stackLevel: 0,
        chargingProfilePurpose: 'TxDefaultProfile',
        chargingProfileKind: 'Absolute',
        chargingSchedule: {
          startSchedule: new Date(clock.now()).toISOString(),
          chargingRateUnit: 'A',
          chargingSchedulePeriod: [
            { startPeriod: 0, limit: 10 },
            { startPeriod: 600, limit: 16, numberPhases: 1 },
          ],
        },
      },
    });
    assert.deepEqual(res, { status: 'Accepted' });
    await clock.advance(60_000);
    assert.equal(power(), 3 * 230 * 10);
    await clock.advance(600_000);
    // numberPhases 1: the generic profile switches to one phase (ConnectorSwitch3to1PhaseSupported).
    assert.equal(power(), 230 * 16);
    const composite: any = await station.handle('GetCompositeSchedule', { connectorId: 1, duration: 3600 });
    assert.equal(composite.status, 'Accepted');
    assert.deepEqual(composite.chargingSchedule.chargingSchedulePeriod, [
      { startPeriod: 0, limit: 16, numberPhases: 1 },
    ]);
    await station.handle('SetChargingProfile', {
      connectorId: 0,
      csChargingProfiles: {
        chargingProfileId: 2,
        stackLevel: 0,
        chargingProfilePurpose: 'ChargePointMaxProfile',
        chargingProfileKind: 'Relative',
        chargingSchedule: { chargingRateUnit: 'W', chargingSchedulePeriod: [{ startPeriod: 0, limit: 2300 }] },
      },
    });
    await clock.advance(60_000);
    assert.equal(power(), 2300);
    assert.deepEqual(await station.handle('ClearChargingProfile', {}), { status: 'Accepted' });
    assert.deepEqual(await station.handle('ClearChargingProfile', {}), { status: 'Unknown' });
    await clock.advance(60_000);
    assert.equal(power(), Math.round(3 * 230 * 31.88));
  });

  it('a limit below 6 A suspends the EVSE; TxProfile needs a transaction', async () => {
    const { clock, station } = await rig('generic');
    const tx = (limit: number) => ({
      connectorId: 1,
      csChargingProfiles: {
        chargingProfileId: 5,
        stackLevel: 1,
        chargingProfilePurpose: 'TxProfile',
        chargingProfileKind: 'Relative',
        chargingSchedule: { chargingRateUnit: 'A', chargingSchedulePeriod: [{ startPeriod: 0, limit }] },
      },
    });
    assert.deepEqual(await station.handle('SetChargingProfile', tx(0)), { status: 'Rejected' });
    station.plug(1);
    await station.swipe('T');
    await clock.advance(0);
    assert.deepEqual(await station.handle('SetChargingProfile', tx(0)), { status: 'Accepted' });
    assert.equal(station.connector(1).status, 'SuspendedEVSE');
    await station.handle('SetChargingProfile', tx(8));
    assert.equal(station.connector(1).status, 'Charging');
    assert.equal(station.connector(1).meter.powerW, 3 * 230 * 8);
  });
});

describe('clock-aligned data', () => {
  it('sends MeterValuesAlignedData at whole multiples of ClockAlignedDataInterval', async () => {
    const { clock, station, central } = await rig('generic', {
      config: { ClockAlignedDataInterval: '900', MeterValuesAlignedData: 'Energy.Active.Import.Register,Voltage' },
    });
    await clock.advance(3_600_000);
    const mv = central.of('MeterValues');
    assert.equal(mv.length, 4);
    const stamps = mv.map((p) => p.meterValue[0].timestamp);
    for (const s of stamps) assert.equal(Date.parse(s) % 900_000, 0);
    assert.equal(mv[0].meterValue[0].sampledValue[0].context, 'Sample.Clock');
    assert.equal(mv[0].meterValue[0].sampledValue[1].phase, 'L1-N');
    void station;
  });
});
