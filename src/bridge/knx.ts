// The KNX transport: xxter's group objects over KNXnet/IP tunnelling (knxultimate), with the
// datapoint types of xxter's table. Group addresses are configured per charger in the bridge's
// settings (knx.chargers). A group write to a receive object becomes a bridge command; the send
// objects are written whenever their value changes, and all of them again after a (re)connect.
import { dptlib, KNXClient } from 'knxultimate';
import type { Logger } from 'pino';
import type { CommandName, CommandRequest, CommandResult } from './commands.ts';
import type { BridgeSettings, KnxObjectName } from './config.ts';
import type { ObjectChange, ObjectValue } from './model.ts';

interface KnxObjectSpec {
  /** The model object written to the bus on change. */
  send?: string;
  /** The command a group write runs. */
  receive?: CommandName;
  /** Only a 1 triggers it (unlock, reset, restore). */
  trigger?: boolean;
  dpt: string | ((s: BridgeSettings['knx']) => string);
}

/** xxter's group objects with their datapoint types (docs/home-automation.md). */
export const KNX_OBJECTS: Record<KnxObjectName, KnxObjectSpec> = {
  status: { send: 'status_code', dpt: '5.010' },
  error: { send: 'error_code', dpt: '5.010' },
  charging: { send: 'charging', receive: 'charging', dpt: '1.010' },
  reserve: { receive: 'reserve', dpt: '1.010' },
  availability: { send: 'availability', receive: 'availability', dpt: '1.003' },
  unlock: { receive: 'unlock', trigger: true, dpt: '1.003' },
  energy_last: { send: 'energy_last_wh', dpt: '13.010' },
  start_time: { send: 'start_time', dpt: (k) => k.timeDpt },
  end_time: { send: 'end_time', dpt: (k) => k.timeDpt },
  current: { send: 'current', dpt: (k) => k.currentDpt },
  max_current: { send: 'max_current', receive: 'max_current', dpt: (k) => k.currentDpt },
  max_current_restore: { receive: 'max_current_restore', trigger: true, dpt: '1.015' },
  fast_charge: { send: 'fast_charge', receive: 'fast_charge', dpt: '1.003' },
  reset: { receive: 'reset', trigger: true, dpt: '1.015' },
};

export interface KnxOptions {
  host: string;
  port: number;
  log: Logger;
  settings(): BridgeSettings;
  snapshot(): ObjectChange[];
  onCommand(req: CommandRequest): Promise<CommandResult>;
  /** Wait before reconnecting after a lost tunnel (ms, default 5000). */
  reconnectMs?: number;
}

export interface KnxStatus {
  gateway: string;
  connected: boolean;
  connects: number;
  telegramsIn: number;
  telegramsOut: number;
  commandErrors: number;
  lastError: string | null;
}

interface Binding {
  ga: string;
  chargerId: string;
  connectorId: number;
  object: KnxObjectName;
  spec: KnxObjectSpec;
  dpt: string;
}

export class KnxTransport {
  private client: KNXClient | undefined;
  private stopped = false;
  private retry: NodeJS.Timeout | undefined;
  private readonly stats: KnxStatus;

  constructor(private readonly opts: KnxOptions) {
    this.stats = {
      gateway: `${opts.host}:${opts.port}`,
      connected: false,
      connects: 0,
      telegramsIn: 0,
      telegramsOut: 0,
      commandErrors: 0,
      lastError: null,
    };
  }

  status(): KnxStatus {
    return { ...this.stats };
  }

  start(): void {
    this.stopped = false;
    const client = new KNXClient({
      ipAddr: this.opts.host,
      ipPort: this.opts.port,
      hostProtocol: 'TunnelUDP',
      loglevel: 'disable',
      suppress_ack_ldatareq: false,
      ...(this.opts.host === '127.0.0.1' ? { localIPAddress: '127.0.0.1' } : {}),
    } as never);
    this.client = client;
    client.on('connected', () => {
      this.stats.connected = true;
      this.stats.connects++;
      this.opts.log.info({ gateway: this.stats.gateway }, 'bridge: KNX tunnel connected');
      // The bus may have missed changes while the tunnel was down: write every send object again.
      this.publish(this.opts.snapshot());
    });
    client.on('error', (e) => {
      this.stats.lastError = e.message;
    });
    client.on('disconnected', (reason) => {
      this.stats.connected = false;
      this.stats.lastError = `disconnected: ${reason}`;
      if (this.stopped) return;
      this.retry = setTimeout(() => {
        if (!this.stopped) client.Connect();
      }, this.opts.reconnectMs ?? 5000);
      this.retry.unref();
    });
    client.on('indication', (packet, echoed) => {
      if (echoed) return;
      const cemi = (packet as { cEMIMessage: { dstAddress: { toString(): string }; npdu: any } }).cEMIMessage;
      if (!cemi.npdu?.isGroupWrite) return;
      this.stats.telegramsIn++;
      const ga = cemi.dstAddress.toString();
      this.received(ga, cemi.npdu.dataValue as Buffer).catch((e) => {
        this.stats.lastError = `${ga}: ${(e as Error).message}`;
        this.opts.log.error({ err: e, ga }, 'bridge: KNX command failed');
      });
    });
    client.Connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    const client = this.client;
    this.client = undefined;
    if (client?.isConnected()) await client.Disconnect().catch(() => {});
    client?.removeAllListeners();
    this.stats.connected = false;
  }

  /** Writes the send objects among `changes` that have a group address. */
  publish(changes: ObjectChange[]): void {
    if (!this.client || !this.stats.connected) return;
    for (const c of changes) {
      if (c.connectorId === null) continue;
      for (const b of this.bindings()) {
        if (b.chargerId !== c.chargerId || b.connectorId !== c.connectorId || b.spec.send !== c.object) continue;
        this.write(b, c.value);
      }
    }
  }

  // ------------------------------------------------------------------ internals

  private bindings(): Binding[] {
    const k = this.opts.settings().knx;
    const out: Binding[] = [];
    for (const [chargerId, c] of Object.entries(k.chargers)) {
      for (const [object, ga] of Object.entries(c.addresses) as Array<[KnxObjectName, string]>) {
        const spec = KNX_OBJECTS[object];
        out.push({
          ga,
          chargerId,
          connectorId: c.connector ?? 1,
          object,
          spec,
          dpt: typeof spec.dpt === 'function' ? spec.dpt(k) : spec.dpt,
        });
      }
    }
    return out;
  }

  private write(b: Binding, value: ObjectValue): void {
    const v = toKnx(b.dpt, value);
    if (v === undefined) return;
    try {
      this.client!.write(b.ga, v, b.dpt);
      this.stats.telegramsOut++;
    } catch (e) {
      this.stats.lastError = `write ${b.ga}: ${(e as Error).message}`;
    }
  }

  private async received(ga: string, data: Buffer): Promise<void> {
    const b = this.bindings().find((x) => x.ga === ga && x.spec.receive !== undefined);
    if (!b) return;
    let value: unknown;
    try {
      value = dptlib.fromBuffer(data, dptlib.resolve(b.dpt));
    } catch (e) {
      this.stats.commandErrors++;
      this.stats.lastError = `${ga}: cannot read DPT ${b.dpt} (${(e as Error).message})`;
      return;
    }
    if (b.spec.trigger && value !== true) return;
    const payload = typeof value === 'boolean' ? (value ? '1' : '0') : String(value);
    const result = await this.opts.onCommand({
      chargerId: b.chargerId,
      connectorId: b.connectorId,
      command: b.spec.receive!,
      payload: b.spec.receive === 'reset' ? 'soft' : payload,
    });
    if (!result.ok) {
      this.stats.commandErrors++;
      this.stats.lastError = `${ga} ${b.spec.receive}: ${result.error?.message ?? result.status}`;
      this.opts.log.warn({ ga, command: b.spec.receive, result }, 'bridge: KNX command not carried out');
      // A refused switch is written back as it really is, so the bus does not show a wish as a fact.
      if (b.spec.send) {
        const now = this.opts
          .snapshot()
          .find((c) => c.chargerId === b.chargerId && c.connectorId === b.connectorId && c.object === b.spec.send);
        if (now) this.write(b, now.value);
      }
    }
  }
}

/** The model's value in the form knxultimate encodes for the DPT (1.x boolean, times as Date). */
function toKnx(dpt: string, value: ObjectValue): unknown {
  if (dpt.startsWith('1.')) return value === 1 || value === '1';
  if (dpt === '19.001' || dpt === '10.001') {
    const t = Date.parse(String(value));
    return Number.isNaN(t) ? undefined : new Date(t);
  }
  const n = Number(value);
  return Number.isFinite(n) ? n : undefined;
}
