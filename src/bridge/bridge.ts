// The home-automation bridge: follows the central system's events, keeps the object model, and
// hands changes to its transports (MQTT with Home Assistant discovery, webhooks). Commands come
// back through the same ports the API uses. A client of the central system, never of the store.
import type { Logger } from 'pino';
import type { CentralEvent } from '../central/index.ts';
import { AmpereError } from '../errors.ts';
import { type CommandPorts, type CommandRequest, type CommandResult, CommandRunner } from './commands.ts';
import { type BridgeSettings, checkBridgeSettings, redactedSettings } from './config.ts';
import type { DeviceInfo } from './ha-discovery.ts';
import type { KnxStatus, KnxTransport } from './knx.ts';
import { BridgeModel, type ObjectChange } from './model.ts';
import type { MqttStatus, MqttTransport } from './mqtt.ts';
import type { DeadLetter, WebhookSender, WebhookStats } from './webhooks.ts';

export interface BridgePorts extends CommandPorts {
  subscribe(fn: (e: CentralEvent) => void): () => void;
}

export interface BridgeOptions {
  ports: BridgePorts;
  log: Logger;
  settings: BridgeSettings;
  /** Writes settings changed through the API (the bridge's file). */
  save(settings: BridgeSettings): void;
  /** Builds the MQTT transport once the bridge exists (it needs the bridge's model); none without --mqtt. */
  mqtt?: (bridge: Bridge) => MqttTransport;
  /** The KNX transport (--knx); none without it. */
  knx?: (bridge: Bridge) => KnxTransport;
  webhooks: WebhookSender;
}

export interface BridgeStatus {
  mqtt: MqttStatus | null;
  knx: KnxStatus | null;
  webhooks: WebhookStats;
  chargers: Array<{ chargerId: string; connectors: number[]; online: boolean }>;
  events: number;
  commands: number;
  lastError: string | null;
}

export class Bridge {
  readonly model: BridgeModel;
  private settingsNow: BridgeSettings;
  private readonly runner: CommandRunner;
  private readonly mqtt: MqttTransport | undefined;
  private readonly knx: KnxTransport | undefined;
  private readonly webhooks: WebhookSender;
  private unsubscribe: (() => void) | undefined;
  private events = 0;
  private commands = 0;
  private lastError: string | null = null;

  constructor(private readonly opts: BridgeOptions) {
    this.settingsNow = opts.settings;
    this.model = new BridgeModel({
      configuredMaxCurrentA: (id) => this.settingsNow.chargers[id]?.maxCurrentA,
      // Transports are fixed at start (--mqtt, --knx): without one, nobody reads the meter objects.
      meterObjects: opts.mqtt !== undefined || opts.knx !== undefined,
    });
    this.runner = new CommandRunner(
      opts.ports,
      this.model,
      () => ({
        idTagOf: (id) => this.settingsNow.chargers[id]?.idTag,
        configuredMaxCurrentA: (id) => this.settingsNow.chargers[id]?.maxCurrentA,
        reservationMinutes: this.settingsNow.reservationMinutes,
      }),
      (changes) => this.changed(changes),
    );
    this.webhooks = opts.webhooks;
    this.webhooks.configure(this.settingsNow.webhooks, this.retry(this.settingsNow));
    this.mqtt = opts.mqtt?.(this);
    this.knx = opts.knx?.(this);
  }

  start(): void {
    this.unsubscribe = this.opts.ports.subscribe((e) => this.onEvent(e));
    this.mqtt?.start();
    this.knx?.start();
  }

  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.webhooks.stop();
    await this.mqtt?.stop();
    await this.knx?.stop();
  }

  settings(): BridgeSettings {
    return this.settingsNow;
  }

  /** The settings for the API: webhook secrets left out. */
  publicSettings() {
    return redactedSettings(this.settingsNow);
  }

  /** Applies a settings document from the API (merged over the current one), saves it, and republishes. */
  updateSettings(input: unknown): ReturnType<Bridge['publicSettings']> {
    const before = this.settingsNow;
    const next = checkBridgeSettings(input, before);
    this.opts.save(next);
    this.settingsNow = next;
    this.webhooks.configure(next.webhooks, this.retry(next));
    this.mqtt?.reconfigure(before);
    // New group addresses get their objects' values at once.
    this.knx?.publish(this.model.snapshot());
    return this.publicSettings();
  }

  private retry(s: BridgeSettings) {
    return { attempts: s.webhookAttempts, backoffMs: s.webhookBackoffMs };
  }

  bridged(chargerId: string): boolean {
    return this.settingsNow.include === 'all' || this.settingsNow.chargers[chargerId] !== undefined;
  }

  /** Runs one command from any transport (or the API); the answer is never an exception. */
  async command(req: CommandRequest): Promise<CommandResult> {
    this.commands++;
    if (!this.bridged(req.chargerId)) {
      return {
        chargerId: req.chargerId,
        connectorId: req.connectorId,
        command: req.command,
        ok: false,
        error: { code: 'AMPERE_ERR_NOT_FOUND', message: `unknown charger "${req.chargerId}" (not bridged)` },
        at: new Date(this.opts.ports.now()).toISOString(),
      };
    }
    const result = await this.runner.run(req);
    if (result.error) this.lastError = `${req.chargerId} ${req.command}: ${result.error.message}`;
    return result;
  }

  /** Home Assistant device info of every charger, or of `only` (a publish touches a few of thousands). */
  devices(only?: ReadonlySet<string>): DeviceInfo[] {
    return this.model.known(only).map((k) => {
      const conf = this.settingsNow.chargers[k.chargerId];
      const v = (o: string) => {
        const x = this.model.value(k.chargerId, null, o);
        return x === undefined || x === '' ? undefined : String(x);
      };
      const vendor = v('vendor');
      const model = v('model');
      const firmware = v('firmware');
      return {
        chargerId: k.chargerId,
        connectors: k.connectors,
        ...(conf?.name ? { name: conf.name } : {}),
        ...(vendor ? { vendor } : {}),
        ...(model ? { model } : {}),
        ...(firmware ? { firmware } : {}),
        ...(conf?.maxCurrentA ? { maxCurrentA: conf.maxCurrentA } : {}),
      };
    });
  }

  deadLetters(): readonly DeadLetter[] {
    return this.webhooks.deadLetters();
  }

  redeliver(id: string): void {
    if (!this.webhooks.redeliver(id)) {
      throw new AmpereError('AMPERE_ERR_NOT_FOUND', `No dead letter "${id}" whose webhook is still configured`, {
        id,
      });
    }
  }

  status(): BridgeStatus {
    const mqtt = this.mqtt?.status() ?? null;
    const knx = this.knx?.status() ?? null;
    return {
      mqtt,
      knx,
      webhooks: this.webhooks.stats(),
      chargers: this.model.known(),
      events: this.events,
      commands: this.commands,
      lastError: this.lastError ?? mqtt?.lastError ?? knx?.lastError ?? this.webhooks.stats().lastError,
    };
  }

  private onEvent(e: CentralEvent): void {
    if (e.chargerId !== null && !this.bridged(e.chargerId)) return;
    this.events++;
    try {
      this.webhooks.handle(e);
      const changes = this.model.apply(e);
      if (changes.length > 0) this.changed(changes);
    } catch (err) {
      // One odd event must not stop the bridge: it is logged and the next one is handled.
      this.lastError = `event ${e.type}: ${(err as Error).message}`;
      this.opts.log.error({ err, type: e.type }, 'bridge: could not handle an event');
    }
  }

  private changed(changes: ObjectChange[]): void {
    this.mqtt?.publish(changes);
    this.knx?.publish(changes);
  }
}
