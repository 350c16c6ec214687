import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { balancerHints, deriveCapabilities, planActuation } from '../../src/smart/actuation.ts';
import { validateChargingProfile } from '../../src/smart/profiles.ts';
import { findVendorEntry } from '../../src/smart/vendor-capabilities.ts';

const ALL_PROFILES = 'Core,FirmwareManagement,LocalAuthListManagement,Reservation,RemoteTrigger,SmartCharging';

describe('capabilities', () => {
  it('finds the table entry from BootNotification vendor/model', () => {
    assert.equal(findVendorEntry('GreenMotion', 'GM-AC-22')?.name, 'eaton-green-motion');
    assert.equal(findVendorEntry('go-e GmbH', 'HOMEfix')?.name, 'go-e');
    assert.equal(findVendorEntry('Weidmüller', 'AC SMART ADVANCED')?.name, 'weidmueller-ac-smart');
    assert.equal(findVendorEntry('ACME', 'X'), undefined);
  });

  it('Eaton: SupportedFeatureProfiles says SmartCharging, the table says unusable: on/off', () => {
    const caps = deriveCapabilities({
      vendor: 'GreenMotion',
      configuration: { SupportedFeatureProfiles: ALL_PROFILES },
    });
    assert.equal(caps.txProfile, 'no');
    assert.deepEqual(caps.mechanisms, ['onOff']);
    assert.equal(balancerHints(caps).onOffOnly, true);
  });

  it('go-e: profiles with phase switching', () => {
    const caps = deriveCapabilities({
      vendor: 'go-e',
      configuration: { SupportedFeatureProfiles: 'Core,FirmwareManagement,SmartCharging,RemoteTrigger' },
    });
    assert.deepEqual(caps.mechanisms, ['chargingProfile', 'onOff']);
    assert.equal(caps.phaseSwitching, true);
  });

  it('Weidmüller: the vendor key first, with its own spelling of the units key', () => {
    const caps = deriveCapabilities({
      vendor: 'Weidmueller',
      configuration: { ConnectorMaximumCurrent: '32', ChargeScheduleAllowedChargingRateUnit: 'Power' },
    });
    assert.equal(caps.currentKey, 'ConnectorMaximumCurrent');
    assert.deepEqual(caps.mechanisms, ['configKey', 'chargingProfile', 'onOff']);
    assert.deepEqual(caps.rateUnits, ['W']);
  });

  it('answers mark capabilities missing: NotSupported / NotImplemented / Rejected', () => {
    const base = { vendor: 'Unknown Inc', configuration: { SupportedFeatureProfiles: ALL_PROFILES } };
    assert.deepEqual(deriveCapabilities(base).mechanisms, ['chargingProfile', 'onOff']);
    const a = deriveCapabilities({ ...base, answers: [{ action: 'SetChargingProfile', status: 'NotImplemented' }] });
    assert.deepEqual(a.mechanisms, ['onOff']);
    const b = deriveCapabilities({
      ...base,
      answers: [{ action: 'SetChargingProfile', status: 'Rejected', purpose: 'TxProfile' }],
    });
    assert.equal(b.txProfile, 'no');
    assert.deepEqual(b.mechanisms, ['chargingProfile', 'onOff']); // ChargePointMaxProfile still possible
    const c = deriveCapabilities({
      ...base,
      answers: [
        { action: 'SetChargingProfile', status: 'Rejected', purpose: 'TxProfile' },
        { action: 'SetChargingProfile', status: 'Rejected', purpose: 'ChargePointMaxProfile' },
        { action: 'RemoteStopTransaction', status: 'NotSupported' },
      ],
    });
    assert.deepEqual(c.mechanisms, []);
    const w = deriveCapabilities({
      vendor: 'Weidmüller',
      answers: [{ action: 'ChangeConfiguration', key: 'ConnectorMaximumCurrent', status: 'RebootRequired' }],
    });
    assert.equal(w.currentKey, undefined);
    assert.equal(w.mechanisms[0], 'chargingProfile');
  });

  it('SupportedFeatureProfiles without SmartCharging rules profiles out', () => {
    const caps = deriveCapabilities({ vendor: 'X', configuration: { SupportedFeatureProfiles: 'Core,RemoteTrigger' } });
    assert.deepEqual(caps.mechanisms, ['onOff']);
  });
});

describe('planActuation', () => {
  const goe = deriveCapabilities({ vendor: 'go-e', configuration: { ChargeProfileMaxStackLevel: '8' } });

  it('TxProfile for the running transaction, valid by our own validation, 1 phase when asked', () => {
    const plan = planActuation(goe, { connectorId: 1, transactionId: 42, currentA: 10.27, phases: 1 });
    assert.equal(plan.mechanism, 'chargingProfile');
    const cmd = plan.commands[0]!;
    assert.equal(cmd.action, 'SetChargingProfile');
    if (cmd.action !== 'SetChargingProfile') return;
    const p = cmd.payload.csChargingProfiles;
    assert.equal(p.transactionId, 42);
    assert.equal(p.stackLevel, 8);
    assert.deepEqual(p.chargingSchedule.chargingSchedulePeriod, [{ startPeriod: 0, limit: 10.2, numberPhases: 1 }]);
    assert.ok(validateChargingProfile(cmd.payload.connectorId, p, { activeTransactionId: 42 }).ok);
  });

  it('pausing with a profile is a limit of 0; resuming rides on RemoteStart without transactionId', () => {
    const pause = planActuation(goe, { connectorId: 1, transactionId: 42, currentA: 0 });
    assert.equal(pause.commands[0]!.action, 'SetChargingProfile');
    const resume = planActuation(goe, { connectorId: 1, currentA: 16, resume: { idTag: 'TAG' } });
    const cmd = resume.commands[0]!;
    assert.equal(cmd.action, 'RemoteStartTransaction');
    if (cmd.action !== 'RemoteStartTransaction') return;
    assert.equal(cmd.payload.chargingProfile?.transactionId, undefined);
    assert.ok(validateChargingProfile(1, cmd.payload.chargingProfile!, { context: 'RemoteStartTransaction' }).ok);
  });

  it('no transaction on a one-connector charger: ChargePointMaxProfile on connector 0', () => {
    const plan = planActuation(goe, { connectorId: 1, currentA: 16 });
    const cmd = plan.commands[0]!;
    assert.equal(cmd.action, 'SetChargingProfile');
    if (cmd.action !== 'SetChargingProfile') return;
    assert.equal(cmd.payload.connectorId, 0);
    assert.equal(cmd.payload.csChargingProfiles.chargingProfilePurpose, 'ChargePointMaxProfile');
    assert.ok(validateChargingProfile(0, cmd.payload.csChargingProfiles).ok);
  });

  it('W when the charger only takes power', () => {
    const caps = deriveCapabilities({
      vendor: 'X',
      configuration: { ChargingScheduleAllowedChargingRateUnit: 'Power' },
    });
    const cmd = planActuation(caps, { connectorId: 1, transactionId: 1, currentA: 16 }).commands[0]!;
    if (cmd.action !== 'SetChargingProfile') throw new Error('expected a profile');
    assert.deepEqual(cmd.payload.csChargingProfiles.chargingSchedule.chargingSchedulePeriod[0], {
      startPeriod: 0,
      limit: 11040,
      numberPhases: 3,
    });
  });

  it('Weidmüller: ChangeConfiguration of its current key, whole amperes', () => {
    const caps = deriveCapabilities({ vendor: 'Weidmüller' });
    const plan = planActuation(caps, { connectorId: 1, transactionId: 5, currentA: 13.7 });
    assert.deepEqual(plan.commands, [
      { action: 'ChangeConfiguration', payload: { key: 'ConnectorMaximumCurrent', value: '13' } },
    ]);
    // A key of 0 A pauses in place; the transaction stays (no RemoteStopTransaction).
    const pause = planActuation(caps, { connectorId: 1, transactionId: 5, currentA: 0 });
    assert.deepEqual(pause.commands, [
      { action: 'ChangeConfiguration', payload: { key: 'ConnectorMaximumCurrent', value: '0' } },
    ]);
  });

  it('Eaton: on/off', () => {
    const caps = deriveCapabilities({ vendor: 'GreenMotion' });
    assert.deepEqual(planActuation(caps, { connectorId: 1, transactionId: 7, currentA: 0 }).commands, [
      { action: 'RemoteStopTransaction', payload: { transactionId: 7 } },
    ]);
    assert.deepEqual(planActuation(caps, { connectorId: 1, currentA: 16, resume: { idTag: 'T' } }).commands, [
      { action: 'RemoteStartTransaction', payload: { connectorId: 1, idTag: 'T' } },
    ]);
    assert.deepEqual(planActuation(caps, { connectorId: 1, transactionId: 7, currentA: 10 }).commands, []);
  });

  it('no mechanism at all: says so and sends nothing', () => {
    const caps = deriveCapabilities({
      vendor: 'GreenMotion',
      answers: [{ action: 'RemoteStopTransaction', status: 'NotImplemented' }],
    });
    const plan = planActuation(caps, { connectorId: 1, transactionId: 7, currentA: 0 });
    assert.equal(plan.mechanism, 'none');
    assert.deepEqual(plan.commands, []);
  });
});
