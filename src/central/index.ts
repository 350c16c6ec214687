export {
  CONNECT_TRIGGER_AFTER_BOOT_MS,
  type ConnectTrigger,
  ConnectTriggers,
  type ConnectTriggersOptions,
  connectTrigger,
} from './after-boot.ts';
export { type ApprovalOutcome, approvalOutcome, supportsTriggerMessage } from './approvals.ts';
export { authorizeIdTag, WILDCARD_TAG } from './authorization.ts';
export {
  BOOT_HOLD_MS,
  type BootAnswer,
  type CentralDeps,
  type CentralSettings,
  CentralSystem,
  ChargerLink,
  type ConnectionRecorder,
  type RegistrationPolicy,
  type Transport,
} from './central-system.ts';
export {
  type ApplyResult,
  applyConfigPolicies,
  configurationDrift,
  type DesiredKey,
  type DriftReport,
  desiredConfiguration,
  inRebootWindow,
  parseRebootWindow,
  type RebootWindow,
  rebootWindowFor,
  rebootWindowTick,
  setRebootWindow,
  startConfigPolicies,
} from './config-policies.ts';
export {
  Diagnostics,
  type DiagnosticsEndpoints,
  type DiagnosticsRequestInput,
  type DiagnosticsView,
  diagnosticsView,
  HTTP_UPLOAD_PATH,
} from './diagnostics.ts';
export { type CentralEvent, type CentralEventType, EventBus, HISTORY_AFTER_STREAMS_MS } from './events.ts';
export {
  checkSignedChoice,
  type FirmwarePorts,
  FirmwareService,
  type FirmwareSettings,
  type SignedMode,
  type UpdateOptions,
} from './firmware.ts';
export { FIRMWARE_SECRET_FILE, FirmwareImages, loadFirmwareSecret } from './firmware-images.ts';
export {
  FirmwareRollouts,
  type RolloutInput,
  type RolloutProgress,
  type RolloutTarget,
  type RolloutView,
  rolloutProgress,
} from './firmware-rollouts.ts';
export { type RunningFtpServer, startFtpServer } from './ftp-server.ts';
export { chargerIdFromUrl, Gateway, type GatewayOptions, MAX_CHARGER_ID_LENGTH, selectSubprotocol } from './gateway.ts';
export { DATA_TRANSFER_VENDORS } from './handlers/core.ts';
export { HANDLERS } from './handlers/index.ts';
export {
  desiredLocalList,
  type LocalListState,
  type LocalListSyncResult,
  localListState,
  reconcileLocalList,
  startLocalLists,
  syncLocalList,
} from './local-lists.ts';
export { normalise } from './meter.ts';
export type { CentralMetrics } from './metrics.ts';
export {
  type CentralPorts,
  type ChargerAdmin,
  type ChargerDirectory,
  type Clock,
  type CommandSender,
  type EventSink,
  type EventSource,
  type Leases,
  soleLeases,
  type Timers,
  unrefTimers,
} from './ports.ts';
export { cancelReservation, type ReserveRequest, reservationView, reserve } from './reservations.ts';
export { SmartController, type SmartControllerOptions } from './smart/controller.ts';
