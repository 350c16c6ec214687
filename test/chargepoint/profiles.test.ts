import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { PROFILES } from '../../src/chargepoint/profiles/index.ts';
import { CallRefused } from '../../src/chargepoint/station.ts';
import { CENTRAL_ACTIONS } from '../../src/ocpp/index.ts';
import { rig } from './helpers.ts';

async function outcome(profile: string, action: string, payload: unknown): Promise<unknown> {
  const { station } = await rig(profile);
  try {
    return await station.handle(action, payload);
  } catch (e) {
    if (e instanceof CallRefused) return { callError: e.code };
    throw e;
  }
}

describe('vendor profiles are data', () => {
  it('every profile names only known actions and has unique keys', () => {
    const known = new Set<string>(CENTRAL_ACTIONS);
    for (const p of Object.values(PROFILES)) {
      for (const a of p.receives) assert.ok(known.has(a), `${p.name}: ${a}`);
      const keys = p.keys.map((k) => k.key);
      assert.equal(new Set(keys).size, keys.length, `${p.name} has duplicate keys`);
    }
  });
});

describe('eaton-green-motion', () => {
  it('answers the L-marked messages with their own not-supported values', async () => {
    assert.deepEqual(await outcome('eaton-green-motion', 'ClearCache', {}), { status: 'Rejected' });
    assert.deepEqual(await outcome('eaton-green-motion', 'GetLocalListVersion', {}), { listVersion: -1 });
    assert.deepEqual(await outcome('eaton-green-motion', 'SendLocalList', { listVersion: 1, updateType: 'Full' }), {
      status: 'NotSupported',
    });
    assert.deepEqual(await outcome('eaton-green-motion', 'GetCompositeSchedule', { connectorId: 1, duration: 60 }), {
      status: 'Rejected',
    });
    assert.deepEqual(await outcome('eaton-green-motion', 'CertificateSigned', { certificateChain: 'x' }), {
      callError: 'NotImplemented',
    });
  });

  it('still claims all six feature profiles, hides unimplemented keys, answers action keys by name', async () => {
    const { station } = await rig('eaton-green-motion');
    const all: any = await station.handle('GetConfiguration', {});
    const byKey = new Map(all.configurationKey.map((k: any) => [k.key, k]));
    assert.equal((byKey.get('SupportedFeatureProfiles') as any).value.split(',').length, 6);
    assert.ok(!byKey.has('AuthorizationCacheEnabled'));
    assert.ok(!byKey.has('FactoryReset'));
    const some: any = await station.handle('GetConfiguration', { key: ['FactoryReset', 'RSSI', 'BlinkRepeat'] });
    assert.deepEqual(
      some.configurationKey.map((k: any) => [k.key, k.value]),
      [
        ['FactoryReset', 'Inactive'],
        ['RSSI', '-999'],
      ],
    );
    assert.deepEqual(some.unknownKey, ['BlinkRepeat']);
    assert.deepEqual(await station.handle('ChangeConfiguration', { key: 'FactoryReset', value: 'Active-now' }), {
      status: 'Accepted',
    });
    assert.deepEqual(await station.handle('ChangeConfiguration', { key: 'AuthorizeRemoteTxRequests', value: 'true' }), {
      status: 'Rejected',
    });
    assert.deepEqual(await station.handle('ChangeConfiguration', { key: 'RetryRepeatTimes', value: '3' }), {
      status: 'RebootRequired',
    });
  });

  it('plugging in starts a free transaction in CsMode 1; DataTransfer follows EnabledDataTransfer', async () => {
    const { clock, station, central } = await rig('eaton-green-motion');
    station.plug(1, { maxPowerW: 22_000 });
    await clock.advance(0);
    assert.equal(central.of('StartTransaction')[0].idTag, 'FREECHARGING');
    await station.dataTransfer('StopSource', 'x');
    await station.dataTransfer('MachineMismatch', 'x');
    assert.deepEqual(
      central.of('DataTransfer').map((p) => p.messageId),
      ['StopSource'],
    );
    assert.deepEqual(await station.handle('DataTransfer', { vendorId: 'Other' }), { status: 'UnknownVendorId' });
    // MeterValueSampleInterval 10 s, 3 x 16 A hardware limit (11 kW).
    await clock.advance(10_000);
    assert.equal(central.of('MeterValues').length, 1);
    assert.equal(Math.round(station.connector(1).meter.powerW), 3 * 230 * 16);
  });
});

describe('go-e', () => {
  it('refuses what it does not implement with NotImplemented; MeterValuesSampledData is read-only', async () => {
    for (const action of [
      'ChangeAvailability',
      'ClearCache',
      'DataTransfer',
      'GetDiagnostics',
      'ReserveNow',
      'GetCompositeSchedule',
    ]) {
      assert.deepEqual(await outcome('go-e', action, {}), { callError: 'NotImplemented' }, action);
    }
    const { station } = await rig('go-e');
    assert.deepEqual(
      await station.handle('ChangeConfiguration', {
        key: 'MeterValuesSampledData',
        value: 'Energy.Active.Import.Register,Power.Active.Import',
      }),
      { status: 'Rejected' },
    );
    assert.deepEqual(await station.handle('ChangeConfiguration', { key: 'MeterValueSampleInterval', value: '60' }), {
      status: 'Accepted',
    });
    assert.deepEqual(await station.handle('ChangeConfiguration', { key: 'StopTxnSampledData', value: '' }), {
      status: 'NotSupported',
    });
  });

  it('switches to one phase when a schedule period says numberPhases 1', async () => {
    const { clock, station } = await rig('go-e');
    station.plug(1);
    await station.swipe('T');
    await clock.advance(0);
    await station.handle('SetChargingProfile', {
      connectorId: 1,
      csChargingProfiles: {
        chargingProfileId: 1,
        stackLevel: 0,
        chargingProfilePurpose: 'TxProfile',
        chargingProfileKind: 'Relative',
        chargingSchedule: {
          chargingRateUnit: 'A',
          chargingSchedulePeriod: [{ startPeriod: 0, limit: 10, numberPhases: 1 }],
        },
      },
    });
    assert.deepEqual(station.connector(1).meter.currentA, [10, 0, 0]);
  });

  it('never sends DataTransfer and only triggers what it sends', async () => {
    const { station } = await rig('go-e');
    assert.deepEqual(await station.handle('TriggerMessage', { requestedMessage: 'DiagnosticsStatusNotification' }), {
      status: 'NotImplemented',
    });
    assert.equal(await station.dataTransfer('x'), undefined);
  });
});

describe('weidmueller-ac-smart', () => {
  it('has no TriggerMessage, local list or DataTransfer; uses the ChargeSchedule… spelling', async () => {
    for (const action of ['TriggerMessage', 'ClearCache', 'DataTransfer', 'SendLocalList', 'GetLocalListVersion']) {
      assert.deepEqual(await outcome('weidmueller-ac-smart', action, {}), { callError: 'NotImplemented' }, action);
    }
    const { station } = await rig('weidmueller-ac-smart');
    const r: any = await station.handle('GetConfiguration', {
      key: ['ChargeScheduleAllowedChargingRateUnit', 'ChargingScheduleAllowedChargingRateUnit'],
    });
    assert.deepEqual(r.unknownKey, ['ChargingScheduleAllowedChargingRateUnit']);
  });

  it('ConnectorMaximumCurrent limits the current; firmware updates send no status notifications', async () => {
    const { clock, station, central } = await rig('weidmueller-ac-smart');
    station.plug(1, { maxPowerW: 22_000 });
    await station.swipe('T');
    await clock.advance(0);
    assert.equal(station.connector(1).meter.currentA[0], 31.88);
    assert.deepEqual(await station.handle('ChangeConfiguration', { key: 'ConnectorMaximumCurrent', value: '13' }), {
      status: 'Accepted',
    });
    assert.equal(station.connector(1).meter.currentA[0], 13);
    const composite: any = await station.handle('GetCompositeSchedule', { connectorId: 1, duration: 60 });
    assert.equal(composite.chargingSchedule.chargingSchedulePeriod[0].limit, 13);
    assert.equal(central.of('FirmwareStatusNotification').length, 0);
  });
});

describe('generic', () => {
  it('handles every 1.6 central-system action', async () => {
    const { station } = await rig('generic');
    for (const a of ['ClearCache', 'GetLocalListVersion', 'DataTransfer']) {
      const r = await station.handle(a, a === 'DataTransfer' ? { vendorId: 'Ampere', messageId: 'Echo' } : {});
      assert.ok(r && typeof r === 'object', a);
    }
  });
});
