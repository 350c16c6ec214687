// The MQTT transport: the object model as a topic tree (topics.ts), commands in and results out,
// Home Assistant discovery, birth and last will on PREFIX/bridge/online. After every (re)connect
// the bridge says it is online, subscribes again and republishes all retained state, so a broker
// that restarted without persistence is whole again.
import { connect, type IClientOptions, type MqttClient } from 'mqtt';
import type { Logger } from 'pino';
import type { CommandRequest, CommandResult } from './commands.ts';
import type { BridgeSettings } from './config.ts';
import { type DeviceInfo, discoveryMessages } from './ha-discovery.ts';
import type { ObjectChange } from './model.ts';
import { parseCommandTopic, resultTopic, stateTopic } from './topics.ts';

export interface MqttOptions {
  /** mqtt://, mqtts://, ws:// or wss:// with user:password@ when the broker needs them. */
  url: string;
  /** CA certificate (PEM) that signed an mqtts broker's certificate, when it is not a public one. */
  ca?: string;
  clientId: string;
  log: Logger;
  settings(): BridgeSettings;
  /** Every object's current value, for the republish after a (re)connect. */
  snapshot(): ObjectChange[];
  devices(only?: ReadonlySet<string>): DeviceInfo[];
  onCommand(req: CommandRequest): Promise<CommandResult>;
  /** Wait before a reconnect (ms, default 2000). */
  reconnectMs?: number;
}

export interface MqttStatus {
  url: string;
  connected: boolean;
  connects: number;
  messagesIn: number;
  messagesOut: number;
  commandErrors: number;
  lastError: string | null;
}

/** Commands are short: a number, a word or a small JSON object. */
const MAX_COMMAND_BYTES = 1024;

export class MqttTransport {
  private client: MqttClient | undefined;
  private readonly stats: MqttStatus;
  /** Discovery configs last published per charger (JSON), so only a change is sent again. */
  private readonly discovered = new Map<string, string>();
  /** The prefixes subscribed at this connection (a settings change moves them). */
  private subscribedPrefix: string | undefined;

  constructor(private readonly opts: MqttOptions) {
    const u = new URL(opts.url);
    // The status shows where the bridge connects, never the password.
    if (u.password) u.password = '***';
    this.stats = {
      url: u.toString(),
      connected: false,
      connects: 0,
      messagesIn: 0,
      messagesOut: 0,
      commandErrors: 0,
      lastError: null,
    };
  }

  status(): MqttStatus {
    return { ...this.stats };
  }

  start(): void {
    const s = this.opts.settings();
    const u = new URL(this.opts.url);
    const options: IClientOptions = {
      clientId: this.opts.clientId,
      // A persistent session: commands sent at QoS 1/2 while the bridge is away are kept by the broker.
      clean: false,
      reconnectPeriod: this.opts.reconnectMs ?? 2000,
      connectTimeout: 10_000,
      will: { topic: `${s.topicPrefix}/bridge/online`, payload: Buffer.from('offline'), qos: 1, retain: true },
      ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
      ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
      ...(this.opts.ca ? { ca: this.opts.ca } : {}),
    };
    u.username = '';
    u.password = '';
    const client = connect(u.toString(), options);
    this.client = client;
    client.on('connect', () => {
      this.stats.connected = true;
      this.stats.connects++;
      this.opts.log.info(
        { url: this.stats.url, connects: this.stats.connects },
        'bridge: connected to the MQTT broker',
      );
      this.online();
    });
    client.on('close', () => {
      if (this.stats.connected) this.opts.log.warn({ url: this.stats.url }, 'bridge: MQTT connection lost');
      this.stats.connected = false;
    });
    client.on('error', (e) => {
      this.stats.lastError = e.message;
      this.opts.log.warn({ err: e.message }, 'bridge: MQTT error');
    });
    client.on('message', (topic, payload, packet) => {
      this.stats.messagesIn++;
      this.command(topic, payload, packet.retain).catch((e) => {
        // Whatever a message holds, the bridge keeps running.
        this.stats.lastError = `command ${topic}: ${(e as Error).message}`;
        this.opts.log.error({ err: e, topic }, 'bridge: command failed');
      });
    });
  }

  async stop(): Promise<void> {
    const client = this.client;
    if (!client) return;
    this.client = undefined;
    const s = this.opts.settings();
    if (client.connected) {
      // Chargers are no longer reachable through Ampere: their retained online flag must not say otherwise.
      const online = this.opts
        .snapshot()
        .filter((c) => c.connectorId === null && c.object === 'online' && c.value === 1);
      await Promise.all(
        online.map((c) =>
          client
            .publishAsync(stateTopic(s.topicPrefix, c.chargerId, null, 'online'), '0', { qos: 1, retain: s.retain })
            .catch(() => {}),
        ),
      );
      // An orderly stop says offline itself: the will is only for a crash.
      await client.publishAsync(`${s.topicPrefix}/bridge/online`, 'offline', { qos: 1, retain: true }).catch(() => {});
    }
    await client.endAsync(!client.connected);
    this.stats.connected = false;
  }

  /** Publishes changed objects (retained, as configured); skipped while disconnected: the reconnect republishes. */
  publish(changes: ObjectChange[]): void {
    if (!this.client?.connected) return;
    const s = this.opts.settings();
    for (const c of changes) {
      this.send(stateTopic(s.topicPrefix, c.chargerId, c.connectorId, c.object), String(c.value), s.retain);
    }
    const touched = new Set(changes.map((c) => c.chargerId));
    if (touched.size > 0) this.discover(touched);
  }

  /** A settings change: move subscriptions to the new prefix and publish everything there. */
  reconfigure(before: BridgeSettings): void {
    if (!this.client?.connected) return;
    const s = this.opts.settings();
    if (before.topicPrefix !== s.topicPrefix) {
      this.send(`${before.topicPrefix}/bridge/online`, 'offline', true);
    }
    if (before.discoveryPrefix !== s.discoveryPrefix || before.topicPrefix !== s.topicPrefix) {
      this.discovered.clear();
    }
    this.online();
  }

  // ------------------------------------------------------------------ internals

  private online(): void {
    const client = this.client;
    if (!client) return;
    const s = this.opts.settings();
    const topics = [`${s.topicPrefix}/+/set/+`, `${s.topicPrefix}/+/+/set/+`];
    if (this.subscribedPrefix !== undefined && this.subscribedPrefix !== s.topicPrefix) {
      client.unsubscribe([`${this.subscribedPrefix}/+/set/+`, `${this.subscribedPrefix}/+/+/set/+`]);
    }
    this.subscribedPrefix = s.topicPrefix;
    client.subscribe(topics, { qos: s.qos }, (err) => {
      if (err) {
        this.stats.lastError = `subscribe: ${err.message}`;
        this.opts.log.error({ err: err.message }, 'bridge: could not subscribe to the command topics');
      }
    });
    // Birth message, then the whole state: a restarted broker may have lost every retained message.
    this.send(`${s.topicPrefix}/bridge/online`, 'online', true, 1);
    for (const c of this.opts.snapshot()) {
      this.send(stateTopic(s.topicPrefix, c.chargerId, c.connectorId, c.object), String(c.value), s.retain);
    }
    this.discovered.clear();
    this.discover(undefined);
  }

  private discover(only: Set<string> | undefined): void {
    const s = this.opts.settings();
    if (!s.discoveryPrefix) return;
    for (const d of this.opts.devices(only)) {
      if (d.connectors.length === 0) continue;
      const signature = JSON.stringify(d);
      if (this.discovered.get(d.chargerId) === signature) continue;
      this.discovered.set(d.chargerId, signature);
      for (const m of discoveryMessages(s.discoveryPrefix, s.topicPrefix, d)) {
        // Home Assistant MQTT discovery: config messages are retained so HA finds them after its own restart.
        this.send(m.topic, JSON.stringify(m.payload), true);
      }
    }
  }

  private send(topic: string, payload: string, retain: boolean, qos?: 0 | 1 | 2): void {
    const client = this.client;
    if (!client) return;
    this.stats.messagesOut++;
    client.publish(topic, payload, { qos: qos ?? this.opts.settings().qos, retain }, (err) => {
      if (err) this.stats.lastError = `publish ${topic}: ${err.message}`;
    });
  }

  private async command(topic: string, payload: Buffer, retained: boolean): Promise<void> {
    const s = this.opts.settings();
    const parsed = parseCommandTopic(s.topicPrefix, topic);
    const fail = (message: string) => {
      this.stats.commandErrors++;
      const error = { code: 'AMPERE_ERR_BAD_REQUEST', message };
      this.send(`${s.topicPrefix}/bridge/error`, JSON.stringify({ topic, error }), false);
      if (parsed.chargerId !== undefined && parsed.command !== undefined) {
        const at = new Date().toISOString();
        const result = {
          ok: false,
          chargerId: parsed.chargerId,
          connectorId: parsed.connectorId ?? 0,
          command: parsed.command,
          error,
          at,
        };
        this.send(
          resultTopic(s.topicPrefix, parsed.chargerId, parsed.connectorId ?? 0, parsed.command),
          JSON.stringify(result),
          false,
        );
      }
    };
    if (retained) {
      // A retained command would run again at every reconnect: refused, and said so.
      return fail('retained commands are not executed; publish commands without the retain flag');
    }
    if (!parsed.ok) return fail(parsed.error);
    if (payload.length > MAX_COMMAND_BYTES) return fail(`the payload is over ${MAX_COMMAND_BYTES} bytes`);
    const text = payload.toString('utf8');
    if (text.includes('\uFFFD')) return fail('the payload is not UTF-8 text');
    const result = await this.opts.onCommand({
      chargerId: parsed.chargerId,
      connectorId: parsed.connectorId,
      command: parsed.command,
      payload: text,
    });
    if (!result.ok) this.stats.commandErrors++;
    this.send(
      resultTopic(s.topicPrefix, parsed.chargerId, parsed.connectorId, parsed.command),
      JSON.stringify(result),
      false,
    );
  }
}
