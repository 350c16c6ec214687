export { Bridge, type BridgeOptions, type BridgePorts, type BridgeStatus } from './bridge.ts';
export {
  BRIDGE_MAX_PROFILE_ID,
  COMMANDS,
  type CommandName,
  type CommandRequest,
  type CommandResult,
  parseSwitch,
} from './commands.ts';
export {
  BRIDGE_DEFAULTS,
  type BridgeSettings,
  checkBridgeSettings,
  loadBridgeSettings,
  saveBridgeSettings,
} from './config.ts';
export { type EmbeddedBroker, startEmbeddedBroker } from './embedded-broker.ts';
export { type DeviceInfo, discoveryMessages, haId } from './ha-discovery.ts';
export { KNX_OBJECTS, KnxTransport } from './knx.ts';
export { BridgeModel, CURRENT_STEP_A, ERROR_ENUM, type ObjectChange, STATUS_ENUM } from './model.ts';
export { MqttTransport } from './mqtt.ts';
export { commandTopic, parseCommandTopic, resultTopic, stateTopic, topicId } from './topics.ts';
export {
  type DeadLetter,
  loadDeadLetters,
  saveDeadLetters,
  signWebhook,
  WEBHOOK_EVENTS,
  WebhookSender,
} from './webhooks.ts';
