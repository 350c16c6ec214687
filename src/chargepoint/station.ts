// One simulated charge point: connectors with the OCPP 1.6 status machine, EVs, meters, RFID,
// configuration, smart charging, firmware and diagnostics. Transport-free: a connection layer
// attaches a Link when the WebSocket is up (connection.ts), tests attach a fake one.
// Nothing here names a vendor: every difference between chargers comes from the VendorProfile.
import { createHash, createVerify, X509Certificate } from 'node:crypto';
import { type Action, formatTimestamp, type RequestOf, type ResponseOf } from '../ocpp/index.ts';
import { ChargerCertificates } from './certificates.ts';
import type { Clock, TimerHandle } from './clock.ts';
import { type ConfigPersistence, ConfigStore } from './config-store.ts';
import { uploadDiagnosticsFile } from './diagnostics-upload.ts';
import { Ev, type EvOptions } from './ev.ts';
import { EnergyMeter } from './meter.ts';
import type { Refusal, VendorProfile } from './profile.ts';
import { ampsFor, type ChargingProfile, SmartCharging, type TxContext } from './smart-charging.ts';

export type ConnectorStatus =
  | 'Available'
  | 'Preparing'
  | 'Charging'
  | 'SuspendedEV'
  | 'SuspendedEVSE'
  | 'Finishing'
  | 'Reserved'
  | 'Unavailable'
  | 'Faulted';

export type StopReason = NonNullable<RequestOf<'StopTransaction'>['reason']>;
type IdTagInfo = ResponseOf<'Authorize'>['idTagInfo'];
type MeterValue = RequestOf<'MeterValues'>['meterValue'][number];
type SampledValue = MeterValue['sampledValue'][number];

/** What a Link's call rejects with: the connection layer maps transport and OCPP errors onto these. */
export class LinkError extends Error {
  constructor(
    readonly kind: 'callError' | 'timeout' | 'offline',
    message: string,
    readonly code?: string,
  ) {
    super(message);
  }
}

/** Thrown by `handle` to answer with a CALLERROR; the connection layer turns it into an OcppError. */
export class CallRefused extends Error {
  constructor(
    readonly code: 'NotImplemented' | 'NotSupported' | 'InternalError' | 'PropertyConstraintViolation',
    message: string,
  ) {
    super(message);
  }
}

export interface Link {
  call(action: Action, payload: unknown): Promise<unknown>;
}

export type StationEvent =
  | { type: 'sent' | 'received'; action: string; payload: unknown }
  | { type: 'answered'; action: string; payload: unknown }
  | { type: 'status'; connectorId: number; status: ConnectorStatus }
  | { type: 'registration'; status: string }
  | { type: 'log'; message: string };

export interface StationHooks {
  /** The station rebooted: drop the connection, reconnect after `delayMs`. */
  reboot?(delayMs: number): void;
  /** Network cable pulled / plugged back (scenario steps `offline` / `online`). */
  network?(up: boolean): void;
  event?(e: StationEvent): void;
  /** Latency of each outgoing CALL, for load mode's counters. */
  latency?(ms: number, ok: boolean): void;
}

export interface StationOptions {
  id: string;
  profile: VendorProfile;
  clock: Clock;
  config?: Record<string, string>;
  persistence?: ConfigPersistence;
  random?: () => number;
  fetch?: typeof fetch;
  hooks?: StationHooks;
  /** How often the EV/meter physics is recomputed while charging (s). */
  physicsTickS?: number;
  /** Time a reboot takes before the charger reconnects (ms). */
  rebootDelayMs?: number;
  /** Messages kept for `expect` steps and diagnostics (small in load mode). */
  historySize?: number;
}

interface Tx {
  localId: number;
  id?: number;
  idTag: string;
  meterStartWh: number;
  startedAt: number;
  reservationId?: number;
  data: MeterValue[];
  /** The CS answered StartTransaction with a status other than Accepted. */
  deauthorized?: boolean;
}

export interface Connector {
  id: number;
  status: ConnectorStatus;
  errorCode: string;
  sentStatus?: string;
  plugged: boolean;
  ev?: Ev;
  meter: EnergyMeter;
  tx?: Tx;
  finishing: boolean;
  fault?: string;
  operative: boolean;
  scheduledOperative?: boolean;
  pendingAuth?: { idTag: string; reservationId?: number; profile?: ChargingProfile; timer?: TimerHandle };
  reservation?: { id: number; idTag: string; parentIdTag?: string; expiry: number; timer?: TimerHandle };
  sampleTimer?: TimerHandle;
  physicsTimer?: TimerHandle;
  lastIntervalWh: number;
  offeredA: number;
  /** When the charger began offering current to the car (start-up delay of the car). */
  offeredSince?: number;
}

interface QueuedMessage {
  action: 'StartTransaction' | 'StopTransaction' | 'MeterValues';
  build: () => unknown | undefined;
  onResult?: (res: any) => void;
  attempts: number;
}

const MEASURANDS = new Set([
  'Energy.Active.Import.Register',
  'Energy.Active.Import.Interval',
  'Power.Active.Import',
  'Current.Import',
  'Current.Offered',
  'Voltage',
  'SoC',
]);
const MEASURAND_KEYS = new Set([
  'MeterValuesSampledData',
  'MeterValuesAlignedData',
  'StopTxnSampledData',
  'StopTxnAlignedData',
]);
/** IEC 61851-1: the lowest current a PWM pilot can offer; below it the EV cannot charge. */
const MIN_CURRENT_A = 6;

let localTxIds = 1;

export class Station {
  /** The charge point id; go-e takes a new one from the URL set through its HTTP API (`rename`). */
  id: string;
  readonly profile: VendorProfile;
  readonly clock: Clock;
  readonly config: ConfigStore;
  readonly connectors: Connector[] = [];
  readonly smart: SmartCharging;
  readonly history: { dir: 'out' | 'in'; action: string; payload: unknown; at: number }[] = [];
  registration: 'None' | 'Pending' | 'Accepted' | 'Rejected' = 'None';
  firmwareVersion: string;
  firmwareStatus = 'Idle';
  diagnosticsStatus = 'Idle';
  /** Connector 0: the charge point as a whole (OCPP 1.6 §4.9). */
  status0: ConnectorStatus = 'Available';
  operative0 = true;
  localList = new Map<string, IdTagInfo>();
  localListVersion = 0;
  poweredOn = true;
  bootCount = 0;

  private link?: Link;
  private hooks: StationHooks;
  private random: () => number;
  private fetchImpl: typeof fetch;
  private heartbeatTimer?: TimerHandle;
  private bootTimer?: TimerHandle;
  /** HeartbeatInterval values the central system set with ChangeConfiguration (see boot()). */
  private heartbeatChanges = 0;
  private alignedTimer?: TimerHandle;
  private queue: QueuedMessage[] = [];
  private queueBusy = false;
  private queueTimer?: TimerHandle;
  private bootedThisPowerCycle = false;
  /** Set while sending what a TriggerMessage asked for (allowed even while Pending). */
  private triggering = false;
  /** Security extension: installed roots and the charger's own certificate. */
  readonly certificates = new ChargerCertificates();
  /** An installed image waiting for the boot after its reboot, and how to report Installed. */
  private pendingFirmware?: { version: string; report: (status: string) => void };
  private readonly historySize: number;
  private readonly physicsTickMs: number;
  private readonly rebootDelayMs: number;

  constructor(o: StationOptions) {
    this.id = o.id;
    this.profile = o.profile;
    this.clock = o.clock;
    this.hooks = o.hooks ?? {};
    this.random = o.random ?? Math.random;
    this.fetchImpl = o.fetch ?? fetch;
    this.historySize = o.historySize ?? 200;
    this.physicsTickMs = (o.physicsTickS ?? 30) * 1000;
    this.rebootDelayMs = o.rebootDelayMs ?? 2000;
    this.firmwareVersion = o.profile.firmwareVersion;
    this.config = new ConfigStore(
      o.profile.keys,
      o.profile.actionKeys,
      o.profile.actionKeyValues,
      o.persistence,
      o.config,
    );
    this.smart = new SmartCharging(o.profile.voltage, o.profile.phases);
    const n = this.config.int('NumberOfConnectors', o.profile.connectors);
    const now = this.clock.now();
    for (let id = 1; id <= n; id++) {
      this.connectors.push({
        id,
        status: 'Available',
        errorCode: 'NoError',
        plugged: false,
        meter: new EnergyMeter(now, o.profile.voltage),
        finishing: false,
        operative: true,
        lastIntervalWh: 0,
        offeredA: 0,
      });
    }
  }

  /** A new charge point id, used from the next connection on (go-e's `ocppu`). */
  rename(id: string): void {
    this.id = id;
  }

  setHooks(h: StationHooks): void {
    this.hooks = { ...this.hooks, ...h };
  }

  get online(): boolean {
    return this.link !== undefined;
  }

  connector(id: number): Connector {
    const c = this.connectors[id - 1];
    if (!c) throw new Error(`station ${this.id} has no connector ${id}`);
    return c;
  }

  // ---------------------------------------------------------------- link lifecycle

  /** The connection is up (WebSocket open, subprotocol agreed). */
  attach(link: Link): void {
    this.link = link;
    if (!this.poweredOn) return;
    if (!this.bootedThisPowerCycle || this.profile.bootOnReconnect || this.registration !== 'Accepted') {
      void this.boot();
    } else {
      // Back after an outage: report where each connector is, then deliver what was queued (§4.9, §4.7).
      if (this.profile.statusOnReconnect !== false) this.sendAllStatus(true);
      this.startHeartbeat();
      this.pumpQueue();
    }
  }

  detach(): void {
    this.link = undefined;
    this.clock.clearTimeout(this.heartbeatTimer);
    this.clock.clearTimeout(this.bootTimer);
    this.heartbeatTimer = undefined;
  }

  /** Stops every timer (the station is being discarded). */
  dispose(): void {
    this.detach();
    this.poweredOn = false;
    this.clock.clearTimeout(this.alignedTimer);
    this.clock.clearTimeout(this.queueTimer);
    for (const c of this.connectors) this.clearConnectorTimers(c);
  }

  // ---------------------------------------------------------------- outgoing

  private log(message: string): void {
    this.hooks.event?.({ type: 'log', message });
  }

  private remember(dir: 'out' | 'in', action: string, payload: unknown): void {
    if (this.historySize === 0) return;
    this.history.push({ dir, action, payload, at: this.clock.now() });
    if (this.history.length > this.historySize) this.history.shift();
  }

  /** A CALL now, if connected and allowed; resolves undefined when it could not be sent. */
  private async call<A extends Action>(action: A, payload: RequestOf<A>): Promise<ResponseOf<A> | undefined> {
    if (!this.profile.sends.includes(action)) return undefined;
    const link = this.link;
    if (!link) return undefined;
    // §4.2: until Accepted, only BootNotification; while Pending also what the CS triggers (§5.17).
    if (
      action !== 'BootNotification' &&
      this.registration !== 'Accepted' &&
      !(this.registration === 'Pending' && this.triggering)
    )
      return undefined;
    this.remember('out', action, payload);
    this.hooks.event?.({ type: 'sent', action, payload });
    const t0 = this.clock.now();
    const started = performance.now();
    try {
      const res = (await link.call(action, payload)) as ResponseOf<A>;
      this.hooks.latency?.(performance.now() - started, true);
      this.hooks.event?.({ type: 'answered', action, payload: res });
      return res;
    } catch (err) {
      this.hooks.latency?.(performance.now() - started, false);
      this.log(`${action} failed after ${this.clock.now() - t0} ms: ${(err as Error).message}`);
      throw err;
    }
  }

  /** Fire and forget, for messages whose loss is harmless (Heartbeat, StatusNotification). */
  private send<A extends Action>(action: A, payload: RequestOf<A>): void {
    this.call(action, payload).catch(() => undefined);
  }

  /**
   * Transaction-related messages (OCPP 1.6 §4.7, §4.8, §4.10 and "Error responses to
   * transaction-related messages") are kept in order while offline and delivered after reconnect;
   * a CALLERROR or timeout is retried TransactionMessageAttempts times, waiting
   * TransactionMessageRetryInterval × attempts so far.
   */
  private enqueue(m: Omit<QueuedMessage, 'attempts'>): void {
    if (!this.profile.sends.includes(m.action)) return;
    this.queue.push({ ...m, attempts: 0 });
    this.pumpQueue();
  }

  get queuedMessages(): number {
    return this.queue.length;
  }

  private pumpQueue(): void {
    if (this.queueBusy || this.queueTimer || !this.link || this.registration !== 'Accepted') return;
    const head = this.queue[0];
    if (!head) return;
    const payload = head.build();
    if (payload === undefined) {
      // e.g. MeterValues of a transaction whose StartTransaction was given up on.
      this.queue.shift();
      this.pumpQueue();
      return;
    }
    this.queueBusy = true;
    head.attempts++;
    this.call(head.action, payload as never).then(
      (res) => {
        this.queueBusy = false;
        if (res === undefined && !this.link) return this.pumpQueue();
        this.queue.shift();
        head.onResult?.(res);
        this.pumpQueue();
      },
      (err: unknown) => {
        this.queueBusy = false;
        if (err instanceof LinkError && err.kind === 'offline') {
          head.attempts--; // not a delivery attempt: wait for the connection
          return;
        }
        const max = this.config.int('TransactionMessageAttempts', 3);
        if (head.attempts >= max) {
          this.log(`${head.action} dropped after ${head.attempts} attempts`);
          this.queue.shift();
          this.pumpQueue();
          return;
        }
        const wait = this.config.int('TransactionMessageRetryInterval', 60) * 1000 * head.attempts;
        this.queueTimer = this.clock.setTimeout(() => {
          this.queueTimer = undefined;
          this.pumpQueue();
        }, wait);
      },
    );
  }

  // ---------------------------------------------------------------- boot & heartbeat

  /** OCPP 1.6 §4.2: BootNotification until Accepted; Pending/Rejected retry after `interval`. */
  async boot(): Promise<void> {
    this.clock.clearTimeout(this.bootTimer);
    const p = this.profile;
    let res: ResponseOf<'BootNotification'> | undefined;
    const changesBefore = this.heartbeatChanges;
    try {
      res = await this.call('BootNotification', {
        chargePointVendor: p.chargePointVendor,
        chargePointModel: p.chargePointModel,
        chargePointSerialNumber: this.config.get('SerialNumber') || undefined,
        firmwareVersion: this.firmwareVersion,
      } as RequestOf<'BootNotification'>);
    } catch {
      res = undefined;
    }
    if (!this.link) return;
    if (!res) {
      this.bootTimer = this.clock.setTimeout(() => void this.boot(), 30_000);
      return;
    }
    this.registration = res.status;
    this.hooks.event?.({ type: 'registration', status: res.status });
    // The answer's interval, unless a ChangeConfiguration of HeartbeatInterval was handled while
    // this awaited it: the central system sends no request before it has accepted the boot (OCPP
    // 1.6 §4.2), so that request came after the answer, and a charger handling its messages in
    // order keeps its value. (This continuation runs after the frames received with the answer.)
    if (res.interval > 0 && res.status === 'Accepted' && this.heartbeatChanges === changesBefore)
      this.config.setInternal('HeartbeatInterval', String(res.interval));
    if (res.status !== 'Accepted') {
      const retryS = res.interval > 0 ? res.interval : 60;
      this.bootTimer = this.clock.setTimeout(() => void this.boot(), retryS * 1000);
      return;
    }
    const firstBoot = !this.bootedThisPowerCycle;
    this.bootedThisPowerCycle = true;
    this.bootCount++;
    this.sendAllStatus(true);
    this.startHeartbeat();
    this.startAligned();
    if (firstBoot && this.pendingFirmware) {
      const { report } = this.pendingFirmware;
      this.pendingFirmware = undefined;
      report('Installed');
    }
    this.pumpQueue();
  }

  private startHeartbeat(): void {
    this.clock.clearTimeout(this.heartbeatTimer);
    const s = this.config.int('HeartbeatInterval', 300);
    if (s <= 0 || !this.link) return;
    this.heartbeatTimer = this.clock.setTimeout(() => {
      this.send('Heartbeat', {});
      this.startHeartbeat();
    }, s * 1000);
  }

  // ---------------------------------------------------------------- status machine

  private derive(c: Connector): ConnectorStatus {
    if (c.fault) return 'Faulted';
    if (c.tx) {
      if (!c.plugged) return 'SuspendedEV';
      if (c.tx.deauthorized || c.offeredA < MIN_CURRENT_A) return 'SuspendedEVSE';
      if (c.meter.powerW <= 0) return 'SuspendedEV';
      return 'Charging';
    }
    if (!c.operative || !this.operative0) return 'Unavailable';
    if (c.finishing && c.plugged) return 'Finishing';
    if (c.plugged || c.pendingAuth) return 'Preparing';
    if (c.reservation) return 'Reserved';
    return 'Available';
  }

  /** Recomputes the connector's status and sends a StatusNotification when it changed (§4.9). */
  private refresh(c: Connector): void {
    this.updatePower(c);
    const status = this.derive(c);
    const errorCode = c.fault ?? 'NoError';
    if (status === c.status && errorCode === c.errorCode) return;
    c.status = status;
    c.errorCode = errorCode;
    this.hooks.event?.({ type: 'status', connectorId: c.id, status });
    this.sendStatus(c.id, status, errorCode);
  }

  private sendStatus(connectorId: number, status: ConnectorStatus, errorCode: string): void {
    if (!this.link) return;
    if (this.registration !== 'Accepted' && !(this.registration === 'Pending' && this.triggering)) return;
    this.send('StatusNotification', {
      connectorId,
      errorCode,
      status,
      timestamp: this.iso(),
    } as RequestOf<'StatusNotification'>);
  }

  private sendAllStatus(force: boolean): void {
    const s0: ConnectorStatus =
      this.connectors.every((c) => c.fault) && this.connectors.length > 0
        ? 'Faulted'
        : this.operative0
          ? 'Available'
          : 'Unavailable';
    this.status0 = s0;
    if (force) this.sendStatus(0, s0, 'NoError');
    for (const c of this.connectors) {
      c.status = this.derive(c);
      c.errorCode = c.fault ?? 'NoError';
      if (force) this.sendStatus(c.id, c.status, c.errorCode);
    }
  }

  // ---------------------------------------------------------------- physics

  /** The current the station offers on `c` now: hardware, vendor current key, smart charging. */
  private offeredLimit(c: Connector): { amps: number; phases: number } {
    const p = this.profile;
    let amps = p.maxCurrentA;
    const key = p.roles?.maxCurrentKey;
    if (key) amps = Math.min(amps, this.config.int(key, amps));
    let phases: number = Math.min(p.phases, c.ev?.phases ?? p.phases);
    const l = this.smart.limitAt(c.id, this.clock.now(), this.txContext(c));
    if (l) {
      if (p.phaseSwitching && l.numberPhases !== undefined) phases = Math.min(phases, l.numberPhases);
      amps = Math.min(amps, ampsFor(l, phases, p.voltage));
    }
    return { amps, phases };
  }

  private txContext(c: Connector): TxContext | undefined {
    if (!c.tx) return undefined;
    return c.tx.id === undefined
      ? { startedAt: c.tx.startedAt }
      : { transactionId: c.tx.id, startedAt: c.tx.startedAt };
  }

  /** Integrates energy so far, then sets the currents the EV draws from now on. */
  private updatePower(c: Connector): void {
    const now = this.clock.now();
    const { amps, phases: stationPhases } = this.offeredLimit(c);
    c.offeredA = c.tx ? amps : 0;
    let perPhase = [0, 0, 0];
    const offering = c.tx && c.plugged && c.ev && !c.tx.deauthorized && amps >= MIN_CURRENT_A;
    if (!offering) c.offeredSince = undefined;
    else if (c.offeredSince === undefined) c.offeredSince = now;
    const waiting = offering && c.ev ? c.offeredSince! + c.ev.startDelayMs - now : 0;
    if (offering && c.ev && waiting <= 0) {
      const phases = stationPhases;
      const demandA = c.ev.demandW() / (this.profile.voltage * phases);
      const a = Math.max(0, Math.min(amps, demandA));
      perPhase = [0, 1, 2].map((i) => (i < phases ? round2(a) : 0));
    }
    const added = c.meter.setCurrents(now, perPhase);
    if (c.ev && c.plugged) c.ev.absorb(added);
    this.clock.clearTimeout(c.physicsTimer);
    c.physicsTimer = undefined;
    if (c.tx)
      c.physicsTimer = this.clock.setTimeout(
        () => this.refresh(c),
        waiting > 0 ? Math.min(waiting, this.physicsTickMs) : this.physicsTickMs,
      );
  }

  // ---------------------------------------------------------------- meter values

  private sample(c: Connector, measurands: string[], context: SampledValue['context']): MeterValue {
    c.meter.advance(this.clock.now());
    const sampledValue: SampledValue[] = [];
    const phases = c.meter.currentA.filter((a, i) => a > 0 || i < (this.profile.phases === 1 ? 1 : 3)).length;
    const labels = ['L1', 'L2', 'L3'] as const;
    for (const m of measurands) {
      switch (m) {
        case 'Energy.Active.Import.Register':
          sampledValue.push(sv(String(Math.round(c.meter.registerWh)), context, m, 'Wh'));
          break;
        case 'Energy.Active.Import.Interval': {
          const wh = c.meter.registerWh;
          sampledValue.push(sv(String(Math.round(wh - c.lastIntervalWh)), context, m, 'Wh'));
          c.lastIntervalWh = wh;
          break;
        }
        case 'Power.Active.Import':
          sampledValue.push(sv(String(Math.round(c.meter.powerW)), context, m, 'W'));
          break;
        case 'Current.Offered':
          sampledValue.push(sv(String(round2(c.offeredA)), context, m, 'A'));
          break;
        case 'Current.Import':
          for (let i = 0; i < phases; i++)
            sampledValue.push({ ...sv(String(round2(c.meter.currentA[i]!)), context, m, 'A'), phase: labels[i] });
          break;
        case 'Voltage':
          for (let i = 0; i < phases; i++)
            sampledValue.push({
              ...sv(String(c.meter.voltageV[i]), context, m, 'V'),
              phase: `${labels[i]}-N` as SampledValue['phase'],
            });
          break;
        case 'SoC':
          if (c.ev)
            sampledValue.push({
              ...sv(String(Math.round(c.ev.soc * 100)), context, m, 'Percent'),
              location: 'EV',
            });
          break;
      }
    }
    return { timestamp: this.iso(), sampledValue } as MeterValue;
  }

  private startSampling(c: Connector): void {
    this.clock.clearTimeout(c.sampleTimer);
    const s = this.config.int('MeterValueSampleInterval', 0);
    if (s <= 0 || !c.tx) return;
    c.sampleTimer = this.clock.setTimeout(() => {
      this.sampleNow(c, 'Sample.Periodic');
      this.startSampling(c);
    }, s * 1000);
  }

  private sampleNow(c: Connector, context: SampledValue['context']): void {
    const tx = c.tx;
    if (!tx) return;
    this.updatePower(c);
    const measurands = this.config.list('MeterValuesSampledData');
    if (measurands.length > 0) {
      const mv = this.sample(c, measurands, context);
      this.enqueue({
        action: 'MeterValues',
        build: () => (tx.id === undefined ? undefined : { connectorId: c.id, transactionId: tx.id, meterValue: [mv] }),
      });
    }
    const stopData = this.config.list('StopTxnSampledData');
    if (stopData.length > 0 && context === 'Sample.Periodic') this.recordTxData(tx, this.sample(c, stopData, context));
  }

  private recordTxData(tx: Tx, mv: MeterValue): void {
    const max = this.config.int('StopTxnSampledDataMaxLength', 100);
    if (tx.data.length < max) tx.data.push(mv);
  }

  /** ClockAlignedDataInterval: values at whole multiples of the interval since midnight (§9.1.7). */
  private startAligned(): void {
    this.clock.clearTimeout(this.alignedTimer);
    const s = this.config.int('ClockAlignedDataInterval', 0);
    if (s <= 0) return;
    const now = this.clock.now();
    const midnight = now - (now % 86_400_000);
    const next = midnight + (Math.floor((now - midnight) / (s * 1000)) + 1) * s * 1000;
    this.alignedTimer = this.clock.setTimeout(() => {
      this.alignedNow();
      this.startAligned();
    }, next - now);
  }

  private alignedNow(): void {
    const measurands = this.config.list('MeterValuesAlignedData');
    const stopAligned = this.config.list('StopTxnAlignedData');
    for (const c of this.connectors) {
      if (c.tx) this.updatePower(c);
      if (measurands.length > 0) {
        const mv = this.sample(c, measurands, 'Sample.Clock');
        const tx = c.tx;
        if (tx) {
          this.enqueue({
            action: 'MeterValues',
            build: () =>
              tx.id === undefined ? undefined : { connectorId: c.id, transactionId: tx.id, meterValue: [mv] },
          });
        } else {
          this.send('MeterValues', { connectorId: c.id, meterValue: [mv] } as RequestOf<'MeterValues'>);
        }
      }
      if (c.tx && stopAligned.length > 0) this.recordTxData(c.tx, this.sample(c, stopAligned, 'Sample.Clock'));
    }
  }

  // ---------------------------------------------------------------- authorisation & transactions

  /** §3.5: online Authorize (or LocalPreAuthorize from the list), else offline rules. */
  async authorize(idTag: string): Promise<IdTagInfo> {
    const local = this.config.bool('LocalAuthListEnabled', true) ? this.localList.get(idTag) : undefined;
    if (this.link && this.registration === 'Accepted') {
      if (local?.status === 'Accepted' && this.config.bool('LocalPreAuthorize', false)) return local;
      try {
        const res = await this.call('Authorize', { idTag });
        if (res) return res.idTagInfo;
      } catch {
        // fall through to the offline rules
      }
    }
    if (local && this.config.bool('LocalAuthorizeOffline', true)) return local;
    if (this.config.bool('AllowOfflineTxForUnknownId', false)) return { status: 'Accepted' };
    return { status: 'Invalid' };
  }

  /** An RFID card held to the reader. Returns the authorisation outcome. */
  async swipe(idTag: string, connectorId?: number): Promise<string> {
    this.log(`swipe ${idTag}`);
    // The same card stops its own transaction (§3.6 "Local stop").
    const own = this.connectors.find((c) => c.tx && c.tx.idTag === idTag);
    if (own) {
      this.stopTransaction(own, 'Local', idTag);
      return 'Stopped';
    }
    const c = this.chooseConnector(connectorId, idTag);
    if (!c) return 'NoConnector';
    const info = await this.authorize(idTag);
    if (info.status !== 'Accepted') return info.status;
    if (c.tx || c.fault || !c.operative) return 'Busy';
    const reservationId =
      c.reservation && matchesReservation(c.reservation, idTag, info) ? c.reservation.id : undefined;
    if (c.reservation && reservationId === undefined) return 'Reserved';
    this.armPending(c, { idTag, reservationId });
    return 'Accepted';
  }

  private chooseConnector(connectorId: number | undefined, idTag?: string): Connector | undefined {
    if (connectorId !== undefined) return this.connectors[connectorId - 1];
    return (
      this.connectors.find((c) => c.plugged && !c.tx && !c.fault) ??
      this.connectors.find((c) => idTag !== undefined && c.reservation?.idTag === idTag) ??
      this.connectors.find((c) => !c.tx && !c.fault && c.operative && !c.reservation)
    );
  }

  /** Authorised and waiting for the cable, at most ConnectionTimeOut seconds (§9.1.6). */
  private armPending(c: Connector, pending: NonNullable<Connector['pendingAuth']>): void {
    this.clock.clearTimeout(c.pendingAuth?.timer);
    c.pendingAuth = pending;
    if (c.plugged) {
      this.startTransaction(c);
      return;
    }
    const timeoutS = this.config.int('ConnectionTimeOut', 60);
    pending.timer = this.clock.setTimeout(() => {
      if (c.pendingAuth === pending) {
        c.pendingAuth = undefined;
        this.refresh(c);
      }
    }, timeoutS * 1000);
    this.refresh(c);
  }

  plug(connectorId = 1, ev: EvOptions = {}): void {
    const c = this.connector(connectorId);
    c.plugged = true;
    c.finishing = false;
    c.ev = new Ev(ev);
    this.log(`plug connector ${connectorId}`);
    const free = this.profile.roles?.freeCharging;
    if (c.pendingAuth) this.startTransaction(c);
    else if (free && this.config.get(free.key) === free.value && !c.fault && c.operative && this.operative0)
      this.armPending(c, { idTag: free.idTag });
    else this.refresh(c);
  }

  unplug(connectorId = 1): void {
    const c = this.connector(connectorId);
    c.plugged = false;
    c.finishing = false;
    this.log(`unplug connector ${connectorId}`);
    // §9.1 StopTransactionOnEVSideDisconnect: stop (reason EVDisconnected) or keep the transaction suspended.
    if (c.tx && this.config.bool('StopTransactionOnEVSideDisconnect', true)) this.stopTransaction(c, 'EVDisconnected');
    c.ev = undefined;
    this.refresh(c);
  }

  setEvPower(connectorId: number, watts: number): void {
    const c = this.connector(connectorId);
    if (c.ev) {
      c.meter.advance(this.clock.now());
      c.ev.maxPowerW = watts;
    }
    this.refresh(c);
  }

  fault(connectorId: number, errorCode = 'OtherError'): void {
    const c = this.connector(connectorId);
    if (c.tx) this.stopTransaction(c, 'Other');
    c.fault = errorCode;
    this.refresh(c);
  }

  clearFault(connectorId: number): void {
    const c = this.connector(connectorId);
    c.fault = undefined;
    this.refresh(c);
  }

  private startTransaction(c: Connector): void {
    const pending = c.pendingAuth;
    if (!pending || c.tx) return;
    this.clock.clearTimeout(pending.timer);
    c.pendingAuth = undefined;
    this.clock.clearTimeout(c.reservation?.timer);
    c.reservation = undefined;
    c.meter.advance(this.clock.now());
    const tx: Tx = {
      localId: localTxIds++,
      idTag: pending.idTag,
      meterStartWh: Math.round(c.meter.registerWh),
      startedAt: this.clock.now(),
      data: [],
    };
    if (pending.reservationId !== undefined) tx.reservationId = pending.reservationId;
    c.tx = tx;
    c.lastIntervalWh = c.meter.registerWh;
    const stopData = this.config.list('StopTxnSampledData');
    if (stopData.length > 0) this.recordTxData(tx, this.sample(c, stopData, 'Transaction.Begin'));
    const req: Record<string, unknown> = {
      connectorId: c.id,
      idTag: tx.idTag,
      meterStart: tx.meterStartWh,
      timestamp: this.iso(),
    };
    if (tx.reservationId !== undefined) req.reservationId = tx.reservationId;
    this.enqueue({
      action: 'StartTransaction',
      build: () => req,
      onResult: (res: ResponseOf<'StartTransaction'> | undefined) => {
        if (!res) return;
        tx.id = res.transactionId;
        if (pending.profile && c.tx === tx) {
          this.smart.set(c.id, { ...pending.profile, transactionId: tx.id }, this.clock.now(), this.txContext(c), 99);
        }
        // §4.8: a transaction started with a card the CS does not accept is stopped (StopTransactionOnInvalidId).
        if (res.idTagInfo.status !== 'Accepted' && c.tx === tx) {
          if (this.config.bool('StopTransactionOnInvalidId', true)) this.stopTransaction(c, 'DeAuthorized');
          else {
            tx.deauthorized = true;
            this.refresh(c);
          }
        }
      },
    });
    if (pending.profile) this.smart.set(c.id, pending.profile, this.clock.now(), this.txContext(c), 99);
    this.startSampling(c);
    this.refresh(c);
  }

  stopTransaction(c: Connector, reason: StopReason, idTag?: string): void {
    const tx = c.tx;
    if (!tx) return;
    this.updatePower(c);
    const stopData = this.config.list('StopTxnSampledData');
    if (stopData.length > 0) this.recordTxData(tx, this.sample(c, stopData, 'Transaction.End'));
    const meterStop = Math.round(c.meter.registerWh);
    const timestamp = this.iso();
    c.tx = undefined;
    this.clock.clearTimeout(c.sampleTimer);
    this.smart.endTransaction(c.id);
    c.finishing = c.plugged;
    this.enqueue({
      action: 'StopTransaction',
      build: () => {
        if (tx.id === undefined) return undefined;
        const req: Record<string, unknown> = { transactionId: tx.id, meterStop, timestamp, reason };
        if (idTag) req.idTag = idTag;
        if (tx.data.length > 0) req.transactionData = tx.data;
        return req;
      },
    });
    // §5.2: an availability change scheduled during the transaction applies now.
    if (c.scheduledOperative !== undefined) {
      c.operative = c.scheduledOperative;
      c.scheduledOperative = undefined;
    }
    this.refresh(c);
  }

  // ---------------------------------------------------------------- reboot & network

  /** Power cycle: transactions stop, timers stop, RebootRequired keys apply, boot again (§5.14). */
  reboot(kind: 'Soft' | 'Hard' = 'Soft'): void {
    for (const c of this.connectors) this.stopTransaction(c, kind === 'Hard' ? 'HardReset' : 'SoftReset');
    // The stop messages are queued: they go out after the next boot, like a real charger's journal.
    this.poweredOn = false;
    this.bootedThisPowerCycle = false;
    this.registration = 'None';
    this.clock.clearTimeout(this.heartbeatTimer);
    this.clock.clearTimeout(this.bootTimer);
    this.clock.clearTimeout(this.alignedTimer);
    for (const c of this.connectors) {
      this.clock.clearTimeout(c.pendingAuth?.timer);
      c.pendingAuth = undefined;
    }
    this.log(`reboot (${kind})`);
    const link = this.link;
    if (this.hooks.reboot) {
      this.detach();
      this.hooks.reboot(this.rebootDelayMs);
    }
    this.clock.setTimeout(() => {
      this.poweredOn = true;
      this.config.applyPending();
      if (this.link) void this.boot();
      else if (link && !this.hooks.reboot) this.attach(link);
    }, this.rebootDelayMs);
  }

  setNetwork(up: boolean): void {
    this.hooks.network?.(up);
  }

  // ---------------------------------------------------------------- incoming

  /** Answers a CALL from the central system; throws CallRefused for a CALLERROR. */
  async handle(action: string, payload: any): Promise<unknown> {
    this.remember('in', action, payload);
    this.hooks.event?.({ type: 'received', action, payload });
    if (!this.profile.receives.includes(action as Action)) {
      return refuse(this.profile.refusals[action as Action] ?? this.profile.defaultRefusal, action);
    }
    switch (action) {
      case 'GetConfiguration':
        return this.config.getConfiguration(payload.key);
      case 'ChangeConfiguration':
        return { status: this.changeConfiguration(payload.key, payload.value) };
      case 'Reset':
        this.clock.setTimeout(() => this.reboot(payload.type), 0);
        return { status: 'Accepted' };
      case 'ClearCache':
        return { status: 'Accepted' };
      case 'RemoteStartTransaction':
        return this.remoteStart(payload);
      case 'RemoteStopTransaction': {
        const c = this.connectors.find((x) => x.tx?.id === payload.transactionId);
        if (!c) return { status: 'Rejected' };
        this.clock.setTimeout(() => this.stopTransaction(c, 'Remote'), 0);
        return { status: 'Accepted' };
      }
      case 'UnlockConnector': {
        const c = this.connectors[payload.connectorId - 1];
        if (!c) return { status: 'NotSupported' };
        if (c.tx) this.stopTransaction(c, 'UnlockCommand');
        return { status: 'Unlocked' };
      }
      case 'ChangeAvailability':
        return { status: this.changeAvailability(payload.connectorId, payload.type === 'Operative') };
      case 'TriggerMessage':
        return this.trigger(payload.requestedMessage, payload.connectorId);
      case 'ReserveNow':
        return { status: this.reserve(payload) };
      case 'CancelReservation': {
        const c = this.connectors.find((x) => x.reservation?.id === payload.reservationId);
        if (!c) return { status: 'Rejected' };
        this.clock.clearTimeout(c.reservation?.timer);
        c.reservation = undefined;
        this.refresh(c);
        return { status: 'Accepted' };
      }
      case 'GetLocalListVersion':
        return { listVersion: this.localListVersion };
      case 'SendLocalList':
        return { status: this.sendLocalList(payload) };
      case 'SetChargingProfile': {
        const id = payload.connectorId as number;
        const c = id === 0 ? undefined : this.connectors[id - 1];
        if (id !== 0 && !c) return { status: 'Rejected' };
        const max = this.config.int('ChargeProfileMaxStackLevel', 10);
        const status = this.smart.set(id, payload.csChargingProfiles, this.clock.now(), c && this.txContext(c), max);
        for (const x of this.connectors) this.refresh(x);
        return { status };
      }
      case 'ClearChargingProfile': {
        const status = this.smart.clear(payload);
        for (const x of this.connectors) this.refresh(x);
        return { status };
      }
      case 'GetCompositeSchedule':
        return this.compositeSchedule(payload);
      case 'DataTransfer': {
        const dt = this.profile.dataTransfer;
        if (!dt || dt.vendorId !== payload.vendorId) return { status: 'UnknownVendorId' };
        const enabled = dt.enabledKey ? this.config.list(dt.enabledKey) : dt.messageIds;
        if (payload.messageId && !enabled.includes(payload.messageId)) return { status: 'UnknownMessageId' };
        return { status: 'Accepted' };
      }
      case 'UpdateFirmware':
        this.scheduleFirmware(payload);
        return {};
      case 'SignedUpdateFirmware':
        return this.signedFirmware(payload);
      case 'GetDiagnostics':
        return this.diagnostics(payload);
      case 'GetLog':
        return this.getLog(payload);
      case 'InstallCertificate':
        return { status: this.certificates.install(payload.certificateType, payload.certificate) };
      case 'GetInstalledCertificateIds':
        return this.certificates.list(payload.certificateType);
      case 'DeleteCertificate':
        return { status: this.certificates.delete(payload.certificateHashData) };
      case 'CertificateSigned':
        return { status: await this.certificates.signed(payload.certificateChain) };
      case 'ExtendedTriggerMessage':
        return this.extendedTrigger(payload.requestedMessage, payload.connectorId);
      default:
        throw new CallRefused('NotImplemented', `${action} is not implemented by the simulator`);
    }
  }

  private changeConfiguration(key: string, value: string): string {
    if (MEASURAND_KEYS.has(key) && this.config.has(key)) {
      const items = value
        .split(',')
        .map((s) => s.trim())
        .filter(Boolean);
      if (items.some((m) => !MEASURANDS.has(m))) return 'Rejected';
      const maxLen = this.config.int(`${key}MaxLength`, 0);
      if (maxLen > 0 && items.length > maxLen) return 'Rejected';
    }
    const status = this.config.change(key, value);
    if (status === 'Accepted') {
      if (key === 'HeartbeatInterval') {
        this.heartbeatChanges++;
        this.startHeartbeat();
      } else if (key === 'MeterValueSampleInterval') for (const c of this.connectors) this.startSampling(c);
      else if (key === 'ClockAlignedDataInterval') this.startAligned();
      else for (const c of this.connectors) this.refresh(c);
    }
    return status;
  }

  /** §5.11; with AuthorizeRemoteTxRequests the idTag is authorised first (§9.1.1). */
  private remoteStart(req: RequestOf<'RemoteStartTransaction'>): { status: 'Accepted' | 'Rejected' } {
    const c =
      req.connectorId !== undefined
        ? this.connectors[req.connectorId - 1]
        : this.connectors.find((x) => !x.tx && !x.fault && x.operative && !x.reservation);
    if (!c || c.tx || c.fault || !c.operative || !this.operative0) return { status: 'Rejected' };
    if (req.chargingProfile && req.chargingProfile.chargingProfilePurpose !== 'TxProfile')
      return { status: 'Rejected' };
    if (c.reservation && c.reservation.idTag !== req.idTag) return { status: 'Rejected' };
    const go = async () => {
      if (this.config.bool('AuthorizeRemoteTxRequests', false)) {
        const info = await this.authorize(req.idTag);
        if (info.status !== 'Accepted') return;
      }
      const pending: NonNullable<Connector['pendingAuth']> = { idTag: req.idTag };
      if (c.reservation) pending.reservationId = c.reservation.id;
      if (req.chargingProfile) pending.profile = req.chargingProfile;
      this.armPending(c, pending);
    };
    this.clock.setTimeout(() => void go(), 0);
    return { status: 'Accepted' };
  }

  private changeAvailability(connectorId: number, operative: boolean): 'Accepted' | 'Rejected' | 'Scheduled' {
    const targets = connectorId === 0 ? this.connectors : [this.connectors[connectorId - 1]];
    if (targets.some((c) => !c)) return 'Rejected';
    let scheduled = false;
    if (connectorId === 0) this.operative0 = operative;
    for (const c of targets as Connector[]) {
      if (c.tx) {
        c.scheduledOperative = operative;
        scheduled = true;
      } else c.operative = operative;
    }
    if (connectorId === 0) this.sendAllStatusChange();
    for (const c of targets as Connector[]) this.refresh(c);
    return scheduled ? 'Scheduled' : 'Accepted';
  }

  private sendAllStatusChange(): void {
    const s0: ConnectorStatus = this.operative0 ? 'Available' : 'Unavailable';
    if (s0 !== this.status0) {
      this.status0 = s0;
      this.sendStatus(0, s0, 'NoError');
    }
  }

  private trigger(requested: string, connectorId?: number): { status: string } {
    if (!this.profile.triggerable.includes(requested)) return { status: 'NotImplemented' };
    if (connectorId !== undefined && connectorId !== 0 && !this.connectors[connectorId - 1])
      return { status: 'Rejected' };
    const targets = connectorId ? [this.connector(connectorId)] : this.connectors;
    // §5.17: the requested message follows the TriggerMessage.conf.
    this.clock.setTimeout(() => {
      this.triggering = true;
      try {
        this.sendTriggered(requested, connectorId, targets);
      } finally {
        this.triggering = false;
      }
    }, 0);
    return { status: 'Accepted' };
  }

  /** Security whitepaper F06: SignChargePointCertificate makes a new key and sends SignCertificate. */
  private extendedTrigger(requested: string, connectorId?: number): { status: string } {
    if (requested !== 'SignChargePointCertificate') return this.trigger(requested, connectorId);
    this.clock.setTimeout(() => {
      const organization = this.config.get('CpoName') ?? 'Ampere';
      const keyType = this.config.get('CertificateKeyType') === 'rsa' ? 'rsa' : 'ec';
      void this.certificates
        .csr(this.id, organization, keyType)
        .then((csr) => this.call('SignCertificate', { csr }))
        .catch((e) => this.log(`SignCertificate failed: ${(e as Error).message}`));
    }, 0);
    return { status: 'Accepted' };
  }

  private sendTriggered(requested: string, connectorId: number | undefined, targets: Connector[]): void {
    switch (requested) {
      case 'BootNotification':
        void this.boot();
        break;
      case 'Heartbeat':
        this.send('Heartbeat', {});
        break;
      case 'StatusNotification':
        if (connectorId === undefined || connectorId === 0) this.sendStatus(0, this.status0, 'NoError');
        if (connectorId !== 0) for (const c of targets) this.sendStatus(c.id, c.status, c.errorCode);
        break;
      case 'MeterValues':
        for (const c of targets) {
          if (c.tx) this.updatePower(c);
          const mv = this.sample(c, this.config.list('MeterValuesSampledData'), 'Trigger');
          const req: Record<string, unknown> = { connectorId: c.id, meterValue: [mv] };
          if (c.tx?.id !== undefined) req.transactionId = c.tx.id;
          this.send('MeterValues', req as unknown as RequestOf<'MeterValues'>);
        }
        break;
      case 'FirmwareStatusNotification':
        this.send('FirmwareStatusNotification', {
          status: this.firmwareStatus,
        } as RequestOf<'FirmwareStatusNotification'>);
        break;
      case 'DiagnosticsStatusNotification':
        this.send('DiagnosticsStatusNotification', {
          status: this.diagnosticsStatus,
        } as RequestOf<'DiagnosticsStatusNotification'>);
        break;
    }
  }

  /** §5.13 ReserveNow; the reservation lapses at expiryDate. */
  private reserve(req: RequestOf<'ReserveNow'>): string {
    if (req.connectorId === 0) {
      if (!this.config.bool('ReserveConnectorZeroSupported', false)) return 'Rejected';
    }
    const c =
      req.connectorId === 0
        ? this.connectors.find((x) => !x.tx && !x.plugged && !x.reservation && !x.fault && x.operative)
        : this.connectors[req.connectorId - 1];
    if (!c) return req.connectorId === 0 ? 'Occupied' : 'Rejected';
    if (c.fault) return 'Faulted';
    if (!c.operative || !this.operative0) return 'Unavailable';
    if (c.tx || c.plugged || c.pendingAuth) return 'Occupied';
    if (c.reservation && c.reservation.id !== req.reservationId) return 'Occupied';
    // A reservation id already used elsewhere is replaced (§5.13).
    for (const x of this.connectors) {
      if (x.reservation?.id === req.reservationId) {
        this.clock.clearTimeout(x.reservation.timer);
        x.reservation = undefined;
        if (x !== c) this.refresh(x);
      }
    }
    const expiry = Date.parse(req.expiryDate);
    const reservation: NonNullable<Connector['reservation']> = { id: req.reservationId, idTag: req.idTag, expiry };
    if (req.parentIdTag) reservation.parentIdTag = req.parentIdTag;
    reservation.timer = this.clock.setTimeout(
      () => {
        if (c.reservation === reservation) {
          c.reservation = undefined;
          this.refresh(c);
        }
      },
      Math.max(0, expiry - this.clock.now()),
    );
    c.reservation = reservation;
    this.refresh(c);
    return 'Accepted';
  }

  /** §5.15: Full replaces, Differential adds/updates (with idTagInfo) or removes (without). */
  private sendLocalList(req: RequestOf<'SendLocalList'>): string {
    if (!this.config.bool('LocalAuthListEnabled', true)) return 'NotSupported';
    const entries = req.localAuthorizationList ?? [];
    const max = this.config.int('SendLocalListMaxLength', 1000);
    if (entries.length > max) return 'Failed';
    if (req.updateType === 'Differential') {
      if (req.listVersion <= this.localListVersion) return 'VersionMismatch';
      for (const e of entries) {
        if (e.idTagInfo) this.localList.set(e.idTag, e.idTagInfo);
        else this.localList.delete(e.idTag);
      }
    } else {
      this.localList.clear();
      for (const e of entries) if (e.idTagInfo) this.localList.set(e.idTag, e.idTagInfo);
    }
    this.localListVersion = req.listVersion;
    this.config.setInternal('LocalListVersion', String(req.listVersion));
    return 'Accepted';
  }

  private compositeSchedule(req: RequestOf<'GetCompositeSchedule'>): unknown {
    const c = req.connectorId === 0 ? undefined : this.connectors[req.connectorId - 1];
    if (req.connectorId !== 0 && !c) return { status: 'Rejected' };
    const unit = req.chargingRateUnit ?? 'A';
    const now = this.clock.now();
    // The charger's own maximum bounds every period, and fills time no profile covers.
    const hwA = this.offeredHardware();
    const hw = unit === 'A' ? hwA : Math.round(hwA * this.profile.voltage * this.profile.phases);
    const periods = this.smart.composite(req.connectorId, now, req.duration, unit, c && this.txContext(c), hwA);
    if (periods.length === 0 || periods[0]!.startPeriod > 0) periods.unshift({ startPeriod: 0, limit: hw });
    return {
      status: 'Accepted',
      connectorId: req.connectorId,
      scheduleStart: new Date(now).toISOString(),
      chargingSchedule: {
        duration: req.duration,
        startSchedule: new Date(now).toISOString(),
        chargingRateUnit: unit,
        chargingSchedulePeriod: periods,
      },
    };
  }

  private offeredHardware(): number {
    const key = this.profile.roles?.maxCurrentKey;
    return key
      ? Math.min(this.profile.maxCurrentA, this.config.int(key, this.profile.maxCurrentA))
      : this.profile.maxCurrentA;
  }

  // ---------------------------------------------------------------- firmware & diagnostics

  private setFirmwareStatus(status: string): void {
    this.firmwareStatus = status;
    this.send('FirmwareStatusNotification', { status } as RequestOf<'FirmwareStatusNotification'>);
  }

  /** Security whitepaper, secure firmware update: the same steps, reported with the job's requestId. */
  private setSignedFirmwareStatus(requestId: number, status: string): void {
    this.firmwareStatus = status;
    this.send('SignedFirmwareStatusNotification', {
      status,
      requestId,
    } as RequestOf<'SignedFirmwareStatusNotification'>);
  }

  /**
   * §5.19 UpdateFirmware: at retrieveDate download (Downloading → Downloaded | DownloadFailed, with
   * `retries` every `retryInterval`), then Installing, reboot into the new version, Installed after boot.
   * The new version is the `x-firmware-version` response header, else the file name without extension.
   */
  private scheduleFirmware(req: RequestOf<'UpdateFirmware'>): void {
    this.downloadFirmware(
      {
        location: req.location,
        retrieveDate: req.retrieveDate,
        retries: req.retries ?? 0,
        retryIntervalS: req.retryInterval ?? 30,
      },
      (status) => this.setFirmwareStatus(status),
    );
  }

  /**
   * Security whitepaper, SignedUpdateFirmware: the signing certificate must be readable and, when a
   * ManufacturerRootCertificate is installed, issued by it (else InvalidCertificate and the
   * security event InvalidFirmwareSigningCertificate); the downloaded file must verify with the
   * certificate's key (else InvalidSignature); then SignatureVerified, Installing, the reboot, and
   * Installed after the boot.
   */
  private signedFirmware(req: RequestOf<'SignedUpdateFirmware'>): { status: string } {
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(req.firmware.signingCertificate);
    } catch {
      return { status: 'InvalidCertificate' };
    }
    const roots = this.certificates.pems('ManufacturerRootCertificate').map((pem) => new X509Certificate(pem));
    if (roots.length > 0 && !roots.some((root) => cert.checkIssued(root) && cert.verify(root.publicKey))) {
      this.send('SecurityEventNotification', {
        type: 'InvalidFirmwareSigningCertificate',
        timestamp: this.iso(),
      } as RequestOf<'SecurityEventNotification'>);
      return { status: 'InvalidCertificate' };
    }
    const signature = Buffer.from(req.firmware.signature, 'base64');
    this.downloadFirmware(
      {
        location: req.firmware.location,
        retrieveDate: req.firmware.retrieveDateTime,
        retries: req.retries ?? 0,
        retryIntervalS: req.retryInterval ?? 30,
        verify: (body) => {
          let ok = false;
          try {
            ok = createVerify('sha256').update(body).verify(cert.publicKey, signature);
          } catch {
            ok = false;
          }
          if (!ok) {
            this.send('SecurityEventNotification', {
              type: 'InvalidFirmwareSignature',
              timestamp: this.iso(),
            } as RequestOf<'SecurityEventNotification'>);
          }
          return ok ? 'SignatureVerified' : 'InvalidSignature';
        },
      },
      (status) => this.setSignedFirmwareStatus(req.requestId, status),
    );
    return { status: 'Accepted' };
  }

  /**
   * The download both updates share: a real HTTP(S) GET of `location` at retrieveDate, retried;
   * a body whose SHA-256 differs from the server's `x-checksum-sha256` header counts as a failed
   * download, as a corrupted transfer would on a real charger.
   */
  private downloadFirmware(
    o: {
      location: string;
      retrieveDate: string;
      retries: number;
      retryIntervalS: number;
      verify?: (body: Uint8Array) => 'SignatureVerified' | 'InvalidSignature';
    },
    report: (status: string) => void,
  ): void {
    const at = Date.parse(o.retrieveDate);
    const attempt = async (left: number) => {
      report('Downloading');
      let version: string | undefined;
      let body: Uint8Array;
      try {
        const res = await this.fetchImpl(o.location);
        body = new Uint8Array(await res.arrayBuffer());
        if (!res.ok || body.length === 0) throw new Error(`HTTP ${res.status}`);
        const sum = res.headers.get('x-checksum-sha256');
        if (sum && createHash('sha256').update(body).digest('hex') !== sum.toLowerCase()) {
          throw new Error('checksum mismatch');
        }
        version = res.headers.get('x-firmware-version') ?? fileStem(o.location);
      } catch (err) {
        this.log(`firmware download failed: ${(err as Error).message}`);
        if (left > 0) {
          this.clock.setTimeout(() => void attempt(left - 1), o.retryIntervalS * 1000);
          return;
        }
        report('DownloadFailed');
        return;
      }
      report('Downloaded');
      if (o.verify) {
        const verdict = o.verify(body);
        report(verdict);
        if (verdict !== 'SignatureVerified') return;
      }
      this.installWhenIdle(version, report);
    };
    this.clock.setTimeout(() => void attempt(o.retries), Math.max(0, at - this.clock.now()));
  }

  /** Installing waits for running transactions to end: a real charger does not cut a charge for an update. */
  private installWhenIdle(version: string, report: (status: string) => void): void {
    if (this.connectors.some((c) => c.tx)) {
      this.clock.setTimeout(() => this.installWhenIdle(version, report), 10_000);
      return;
    }
    report('Installing');
    this.clock.setTimeout(() => {
      this.firmwareVersion = version;
      this.pendingFirmware = { version, report };
      this.reboot('Hard');
    }, 1000);
  }

  /**
   * §5.9 GetDiagnostics: answers the file name, then uploads it to `location` by FTP or HTTP POST
   * (diagnostics-upload.ts): Uploading → Uploaded, or UploadFailed after `retries` more tries
   * every `retryInterval` s. A location it cannot upload to gets no fileName.
   */
  private diagnostics(req: RequestOf<'GetDiagnostics'>): { fileName?: string } {
    if (!UPLOADABLE.test(req.location)) return {};
    const fileName = this.uploadLog(req.location, req, (status) => {
      this.diagnosticsStatus = status;
      this.send('DiagnosticsStatusNotification', { status } as RequestOf<'DiagnosticsStatusNotification'>);
    });
    return { fileName };
  }

  /**
   * Security whitepaper GetLog (DiagnosticsLog or SecurityLog): the same upload, reported with
   * LogStatusNotification carrying the requestId (Uploading → Uploaded | UploadFailure).
   */
  private getLog(req: RequestOf<'GetLog'>): ResponseOf<'GetLog'> {
    const location = req.log.remoteLocation;
    if (!UPLOADABLE.test(location)) return { status: 'Rejected' };
    const filename = this.uploadLog(
      location,
      { startTime: req.log.oldestTimestamp, stopTime: req.log.latestTimestamp, ...req },
      (status) =>
        this.send('LogStatusNotification', {
          status: status === 'UploadFailed' ? 'UploadFailure' : status,
          requestId: req.requestId,
        } as RequestOf<'LogStatusNotification'>),
    );
    return { status: 'Accepted', filename };
  }

  /** Builds the log file, uploads it with retries, reports each step; returns the file name. */
  private uploadLog(
    location: string,
    req: { startTime?: string; stopTime?: string; retries?: number; retryInterval?: number },
    report: (status: 'Uploading' | 'Uploaded' | 'UploadFailed') => void,
  ): string {
    const fileName = `diagnostics-${this.id}-${new Date(this.clock.now()).toISOString().replace(/[:.]/g, '')}.json`;
    const retries = req.retries ?? 0;
    const intervalS = req.retryInterval ?? 30;
    const body = JSON.stringify({
      chargePointId: this.id,
      firmwareVersion: this.firmwareVersion,
      configuration: this.config.snapshot(),
      history: this.history.filter(
        (h) =>
          (!req.startTime || h.at >= Date.parse(req.startTime)) && (!req.stopTime || h.at <= Date.parse(req.stopTime)),
      ),
    });
    const attempt = async (left: number) => {
      report('Uploading');
      try {
        await uploadDiagnosticsFile(location, fileName, body, this.fetchImpl);
        report('Uploaded');
      } catch (err) {
        this.log(`diagnostics upload failed: ${(err as Error).message}`);
        if (left > 0) this.clock.setTimeout(() => void attempt(left - 1), intervalS * 1000);
        else report('UploadFailed');
      }
    };
    this.clock.setTimeout(() => void attempt(retries), 0);
    return fileName;
  }

  /** A vendor DataTransfer the profile knows and EnabledDataTransfer selects. */
  async dataTransfer(messageId: string, data?: string): Promise<unknown> {
    const dt = this.profile.dataTransfer;
    if (!dt) return undefined;
    const enabled = dt.enabledKey ? this.config.list(dt.enabledKey) : dt.messageIds;
    if (!dt.messageIds.includes(messageId) || !enabled.includes(messageId)) return undefined;
    const req: Record<string, unknown> = { vendorId: dt.vendorId, messageId };
    if (data !== undefined) req.data = data;
    return this.call('DataTransfer', req as unknown as RequestOf<'DataTransfer'>).catch(() => undefined);
  }

  // ---------------------------------------------------------------- helpers

  private clearConnectorTimers(c: Connector): void {
    this.clock.clearTimeout(c.sampleTimer);
    this.clock.clearTimeout(c.physicsTimer);
    this.clock.clearTimeout(c.pendingAuth?.timer);
    this.clock.clearTimeout(c.reservation?.timer);
  }

  iso(): string {
    return formatTimestamp(this.clock.now());
  }
}

/** Locations the simulator can upload to (diagnostics-upload.ts). */
const UPLOADABLE = /^(https?|ftp):/i;

function sv(value: string, context: SampledValue['context'], measurand: string, unit: string): SampledValue {
  return { value, context, measurand, unit, location: 'Outlet' } as SampledValue;
}

function round2(n: number): number {
  return Math.round(n * 100) / 100;
}

function fileStem(url: string): string {
  const last = new URL(url).pathname.split('/').pop() ?? 'firmware';
  return last.replace(/\.[^.]*$/, '') || 'firmware';
}

function matchesReservation(r: NonNullable<Connector['reservation']>, idTag: string, info: IdTagInfo): boolean {
  // §5.13: the reserved idTag, or any card with the reservation's parentIdTag.
  return r.idTag === idTag || (r.parentIdTag !== undefined && r.parentIdTag === info.parentIdTag);
}

function refuse(r: Refusal, action: string): unknown {
  if ('respond' in r) return r.respond;
  throw new CallRefused(r.callError, r.message ?? `${action} is not supported by this charger`);
}
