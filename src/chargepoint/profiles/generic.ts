// `generic`: a charge point implementing all of OCPP 1.6 (core and the five optional feature
// profiles) plus the security extension's secure firmware update (SignedUpdateFirmware, with
// SignedFirmwareStatusNotification and the firmware security events). The rest of the extension's
// CALLs is answered with a CALLERROR NotImplemented: OCPP-J 1.6 §4.2.3, "Requested Action is not
// known by receiver".
import type { VendorProfile } from '../profile.ts';
import { ALL_RECEIVED, ALL_SENT, ALL_TRIGGERABLE, standardKeys } from './common.ts';

export const generic: VendorProfile = {
  name: 'generic',
  description:
    'All of OCPP 1.6J: Core, FirmwareManagement, LocalAuthListManagement, Reservation, SmartCharging, RemoteTrigger; signed firmware update (security extension)',
  chargePointVendor: 'Ampere',
  chargePointModel: 'Simulator',
  firmwareVersion: '1.0.0',
  defaultPath: '/ocpp',
  defaultIdPrefix: 'SIM',
  connectors: 1,
  phases: 3,
  maxCurrentA: 32,
  voltage: 230,
  securityProfiles: [0, 1, 2],
  sends: [...ALL_SENT, 'SignedFirmwareStatusNotification', 'SecurityEventNotification'],
  receives: [...ALL_RECEIVED, 'SignedUpdateFirmware'],
  refusals: {},
  defaultRefusal: { callError: 'NotImplemented' },
  triggerable: ALL_TRIGGERABLE,
  keys: [
    ...standardKeys({
      connectors: 1,
      profiles: 'Core,FirmwareManagement,LocalAuthListManagement,Reservation,SmartCharging,RemoteTrigger',
    }).map((k) => (k.key === 'ConnectorSwitch3to1PhaseSupported' ? { ...k, value: 'true' } : k)),
    { key: 'AuthorizationKey', value: '', type: 'string' },
    { key: 'SecurityProfile', value: '0', type: 'int', rebootRequired: true, min: 0, max: 3 },
  ],
  dataTransfer: { vendorId: 'Ampere', messageIds: ['Echo'] },
  phaseSwitching: true,
  backoff: { minS: 5, randomS: 5, repeat: 5, fixedS: 60 },
  bootOnReconnect: false,
};
