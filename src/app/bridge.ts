// Builds the home-automation bridge from the config: its settings file, the embedded broker or
// the broker URL, the MQTT and KNX transports and the webhook sender, on the central system's ports.
// The transports' libraries (mqtt, aedes, knxultimate: most of the server's module loading) are
// imported only when configured, so a server without them starts faster (issue 14).
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import type { Logger } from 'pino';
import { Bridge } from '../bridge/bridge.ts';
import { loadBridgeSettings, saveBridgeSettings } from '../bridge/config.ts';
import type { EmbeddedBroker } from '../bridge/embedded-broker.ts';
import { loadDeadLetters, saveDeadLetters, WebhookSender } from '../bridge/webhooks.ts';
import type { CentralSystem, ChargerDirectory, CommandSender } from '../central/index.ts';
import type { SmartController } from '../central/smart/controller.ts';
import type { ServeConfig } from '../config/index.ts';
import { AmpereError } from '../errors.ts';

export interface RunningBridge {
  bridge: Bridge;
  /** The embedded broker's port (--mqtt embedded), when one runs. */
  brokerPort?: number;
  close(): Promise<void>;
}

export async function startBridge(
  config: Readonly<ServeConfig>,
  central: CentralSystem,
  smart: SmartController,
  log: Logger,
  /** On several nodes: commands and presence over every node (src/central/cluster). */
  routed: CommandSender & ChargerDirectory = central,
): Promise<RunningBridge> {
  const blog = log.child({ component: 'bridge' });
  const file = config.bridgeConfig ?? join(config.data, 'bridge.json');
  const settings = loadBridgeSettings(file);
  const deadLetterFile = join(dirname(file), 'bridge-dead-letters.json');
  let broker: EmbeddedBroker | undefined;
  let url = config.mqtt;
  if (url === 'embedded' || url?.startsWith('embedded://')) {
    const u = url === 'embedded' ? undefined : new URL(url);
    const { startEmbeddedBroker } = await import('../bridge/embedded-broker.ts');
    broker = await startEmbeddedBroker({
      host: u?.hostname ? u.hostname.replace(/^\[|\]$/g, '') : config.host,
      port: u?.port ? Number(u.port) : 1883,
      ...(u?.username ? { username: decodeURIComponent(u.username), password: decodeURIComponent(u.password) } : {}),
    });
    url = broker.url;
    blog.info({ port: broker.port }, 'bridge: embedded MQTT broker listening');
  }
  let ca: string | undefined;
  if (config.mqttCa) {
    try {
      ca = readFileSync(config.mqttCa, 'utf8');
    } catch (e) {
      throw new AmpereError('AMPERE_ERR_CONFIG', `--mqtt-ca: cannot read ${config.mqttCa} (${(e as Error).message})`);
    }
  }
  const brokerUrl = url;
  const [mqtt, knx] = await Promise.all([
    brokerUrl ? import('../bridge/mqtt.ts') : undefined,
    config.knx ? import('../bridge/knx.ts') : undefined,
  ]);
  const bridge = new Bridge({
    log: blog,
    settings,
    save: (s) => saveBridgeSettings(file, s),
    ports: {
      subscribe: (fn) => central.events.subscribe(fn),
      call: (id, action, payload) => routed.call(id, action, payload),
      isConnected: (id) => routed.isConnected(id),
      chargerExists: async (id) => (await central.store.getCharger(id)) !== null,
      // The smart-charging engine's own fast-charge switch, so the site limit still holds.
      setFastCharge: (tx, fast) => smart.setSessionPlan(tx, { fast }),
      now: () => central.clock.now(),
    },
    webhooks: new WebhookSender({
      now: () => central.clock.now(),
      timers: { setTimeout: (fn, ms) => setTimeout(fn, ms).unref(), clearTimeout: (h) => clearTimeout(h as never) },
      fetch: globalThis.fetch,
      onError: (message) => blog.warn(message),
      deadLetters: loadDeadLetters(deadLetterFile),
      persist: (list) => {
        try {
          saveDeadLetters(deadLetterFile, list);
        } catch (e) {
          blog.error({ err: e }, `bridge: could not write ${deadLetterFile}`);
        }
      },
    }),
    ...(brokerUrl && mqtt
      ? {
          mqtt: (b: Bridge) =>
            new mqtt.MqttTransport({
              url: brokerUrl,
              ...(ca ? { ca } : {}),
              clientId: `ampere-bridge-${settings.topicPrefix}`.slice(0, 23),
              log: blog,
              settings: () => b.settings(),
              snapshot: () => b.model.snapshot(),
              devices: (only) => b.devices(only),
              onCommand: (req) => b.command(req),
            }),
        }
      : {}),
    ...(config.knx && knx
      ? {
          knx: (b: Bridge) => {
            const [host, port] = config.knx!.split(':');
            return new knx.KnxTransport({
              host: host!,
              port: port ? Number(port) : 3671,
              log: blog,
              settings: () => b.settings(),
              snapshot: () => b.model.snapshot(),
              onCommand: (req) => b.command(req),
            });
          },
        }
      : {}),
  });
  bridge.start();
  return {
    bridge,
    ...(broker ? { brokerPort: broker.port } : {}),
    close: async () => {
      await bridge.stop();
      await broker?.close();
    },
  };
}
