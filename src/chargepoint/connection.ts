// The station's WebSocket: security profiles 0/1/2, the `ocpp1.6` subprotocol, the RPC session
// from src/ocpp, reconnect with the profile's backoff, pings, and the offline/online and reboot
// hooks that scenarios use. One Connection per Station.
import type { ConnectionOptions as TlsOptions } from 'node:tls';
import WebSocket from 'ws';
import { AmpereError } from '../errors.ts';
import {
  type Action,
  attachWebSocket,
  CENTRAL_ACTIONS,
  OCPP16_SUBPROTOCOL,
  OcppError,
  RpcSession,
  type Timers,
  type Validator,
} from '../ocpp/index.ts';
import { reconnectDelayMs } from './backoff.ts';
import type { Clock, TimerHandle } from './clock.ts';
import type { VendorProfile } from './profile.ts';
import { CallRefused, LinkError, type Station } from './station.ts';

export interface ConnectionOptions {
  station: Station;
  /** Central system URL; when it has no path the profile's default path is used. The id is appended. */
  url: string;
  /** AuthorizationKey for security profiles 1 and 2 (HTTP Basic, user = charge point id). */
  password?: string;
  /** PEM CA certificate(s) to trust for wss (security profile 2). */
  ca?: string | Buffer;
  validator: Validator;
  clock: Clock;
  random?: () => number;
  callTimeoutMs?: number;
  /** Start without connecting (go-e: OCPP off until enabled through its HTTP API). */
  enabled?: boolean;
  onState?: (state: 'connecting' | 'open' | 'closed', detail?: string) => void;
  /** Counts every OCPP-J message in and out (load mode's messages/s). */
  onMessage?: (dir: 'in' | 'out') => void;
}

const HANDLED: ReadonlySet<string> = new Set(CENTRAL_ACTIONS);

/** `ws://host:port/prefix` + `/{id}`; a bare host gets the profile's path (Eaton: /ocppj/v1.6). */
export function stationUrl(
  base: string,
  id: string,
  profile: VendorProfile,
): { url: string; user?: string; pass?: string } {
  const u = new URL(base);
  const user = u.username ? decodeURIComponent(u.username) : undefined;
  const pass = u.password ? decodeURIComponent(u.password) : undefined;
  u.username = '';
  u.password = '';
  let path = u.pathname.replace(/\/+$/, '');
  if (path === '') path = profile.defaultPath.replace(/\/+$/, '');
  u.pathname = `${path}/${encodeURIComponent(id)}`;
  const out: { url: string; user?: string; pass?: string } = { url: u.toString() };
  if (user !== undefined) out.user = user;
  if (pass !== undefined) out.pass = pass;
  return out;
}

export class Connection {
  readonly station: Station;
  private url: string;
  private ws?: WebSocket;
  private session?: RpcSession;
  private attempt = 0;
  private retryTimer?: TimerHandle;
  private pingTimer?: TimerHandle;
  private stopped = false;
  private networkUp = true;
  private rebooting = false;
  enabled: boolean;
  connectedSince?: number;
  acceptedSince?: number;
  lastError?: string;

  constructor(private readonly o: ConnectionOptions) {
    this.station = o.station;
    this.url = o.url;
    this.enabled = o.enabled ?? true;
    this.station.setHooks({
      reboot: (delayMs) => this.rebootFor(delayMs),
      network: (up) => this.setNetwork(up),
    });
  }

  get open(): boolean {
    return this.ws?.readyState === WebSocket.OPEN && this.station.online;
  }

  get currentUrl(): string {
    return this.url;
  }

  start(): void {
    this.stopped = false;
    this.connect();
  }

  /** Closes the socket for good and stops the station's timers. */
  stop(): void {
    this.stopped = true;
    this.o.clock.clearTimeout(this.retryTimer);
    this.drop();
    this.station.dispose();
  }

  /** go-e `ocppe`: switch OCPP on or off. */
  setEnabled(on: boolean): void {
    this.enabled = on;
    if (on) this.reconnectNow();
    else this.drop();
  }

  /** go-e `ocppu`: a new server URL; reconnects when enabled. */
  setUrl(url: string): void {
    this.url = url;
    if (this.enabled) this.reconnectNow();
  }

  private reconnectNow(): void {
    this.o.clock.clearTimeout(this.retryTimer);
    this.drop();
    this.attempt = 0;
    this.connect();
  }

  private setNetwork(up: boolean): void {
    this.networkUp = up;
    if (up) this.reconnectNow();
    else this.drop();
  }

  private rebootFor(delayMs: number): void {
    this.rebooting = true;
    this.drop();
    this.o.clock.clearTimeout(this.retryTimer);
    this.retryTimer = this.o.clock.setTimeout(() => {
      this.rebooting = false;
      this.attempt = 0;
      this.connect();
    }, delayMs);
  }

  private drop(): void {
    const ws = this.ws;
    this.ws = undefined;
    this.o.clock.clearTimeout(this.pingTimer);
    this.session?.close(new AmpereError('AMPERE_ERR_SESSION_CLOSED', 'connection dropped'));
    this.session = undefined;
    this.station.detach();
    this.connectedSince = undefined;
    this.acceptedSince = undefined;
    if (ws) {
      ws.removeAllListeners();
      ws.on('error', () => undefined);
      ws.terminate();
    }
  }

  private connect(): void {
    if (this.stopped || !this.enabled || !this.networkUp || this.rebooting || this.ws) return;
    const st = this.station;
    const { url, user, pass } = stationUrl(this.url, st.id, st.profile);
    const headers: Record<string, string> = {};
    // Security profiles 1 and 2 (OCPP 1.6 Security whitepaper §2.1.3): HTTP Basic with the charge
    // point id as user and the AuthorizationKey as password.
    const password = this.o.password ?? pass;
    if (password) headers.authorization = `Basic ${Buffer.from(`${user ?? st.id}:${password}`).toString('base64')}`;
    const options: WebSocket.ClientOptions & TlsOptions = {
      headers,
      perMessageDeflate: false,
      handshakeTimeout: 30_000,
    };
    if (this.o.ca) options.ca = this.o.ca;
    this.o.onState?.('connecting');
    const ws = new WebSocket(url, [OCPP16_SUBPROTOCOL], options);
    this.ws = ws;
    // No 'unexpected-response' listener: with one, ws would leave a refused handshake (401) open.
    ws.on('error', (err) => {
      this.lastError = err.message;
    });
    ws.on('close', () => {
      if (this.ws !== ws) return;
      this.ws = undefined;
      this.o.clock.clearTimeout(this.pingTimer);
      this.session?.close(new AmpereError('AMPERE_ERR_SESSION_CLOSED', 'connection closed'));
      this.session = undefined;
      this.station.detach();
      this.connectedSince = undefined;
      this.acceptedSince = undefined;
      this.o.onState?.('closed', this.lastError);
      this.scheduleReconnect();
    });
    ws.on('open', () => this.opened(ws));
  }

  private opened(ws: WebSocket): void {
    // OCPP-J 1.6 §3.1.2: without the agreed subprotocol the server does not speak OCPP 1.6.
    if (ws.protocol !== OCPP16_SUBPROTOCOL) {
      this.lastError = `server chose subprotocol "${ws.protocol}"`;
      ws.close(1002);
      return;
    }
    const clock = this.o.clock;
    const timers: Timers = {
      setTimeout: (fn, ms) => clock.setTimeout(fn, ms),
      clearTimeout: (h) => clock.clearTimeout(h as TimerHandle),
    };
    const onMessage = this.o.onMessage;
    const session = new RpcSession({
      validator: this.o.validator,
      mode: () => 'tolerant',
      send: (text) => {
        onMessage?.('out');
        ws.send(text);
      },
      handle: async (call) => {
        try {
          return (await this.station.handle(call.action, call.payload)) as object;
        } catch (e) {
          if (e instanceof CallRefused) throw new OcppError(e.code, e.message);
          throw e;
        }
      },
      handles: HANDLED,
      callTimeoutMs: this.o.callTimeoutMs ?? 30_000,
      timers,
      repeatWindow: 4,
    });
    this.session = session;
    if (onMessage) ws.on('message', () => onMessage('in'));
    attachWebSocket(ws, session);
    this.attempt = 0;
    this.connectedSince = clock.now();
    this.lastError = undefined;
    this.o.onState?.('open');
    this.schedulePing(ws);
    this.station.attach({
      call: (action: Action, payload: unknown) =>
        session.call(action, payload as never).then(
          (res) => {
            if (action === 'BootNotification' && (res as { status?: string }).status === 'Accepted')
              this.acceptedSince = clock.now();
            return res;
          },
          (err: unknown) => {
            throw toLinkError(err);
          },
        ),
    });
  }

  private schedulePing(ws: WebSocket): void {
    const s = this.station.config.int('WebSocketPingInterval', 0);
    if (s <= 0) return;
    this.pingTimer = this.o.clock.setTimeout(() => {
      if (this.ws !== ws) return;
      ws.ping();
      this.schedulePing(ws);
    }, s * 1000);
  }

  /** The profile's backoff; keys named by the profile (Eaton's RetryBackoff*) override its defaults. */
  nextDelayMs(): number {
    const p = this.station.profile;
    const cfg = this.station.config;
    const r = p.roles ?? {};
    const rule = {
      minS: cfg.int(r.backoffMinKey, p.backoff.minS),
      randomS: cfg.int(r.backoffRandomKey, p.backoff.randomS),
      repeat: cfg.int(r.backoffRepeatKey, p.backoff.repeat),
      fixedS: p.backoff.fixedS,
    };
    this.attempt++;
    return reconnectDelayMs(this.attempt, rule, this.o.random ?? Math.random);
  }

  private scheduleReconnect(): void {
    if (this.stopped || !this.enabled || !this.networkUp || this.rebooting) return;
    const delay = this.nextDelayMs();
    this.o.clock.clearTimeout(this.retryTimer);
    this.retryTimer = this.o.clock.setTimeout(() => this.connect(), delay);
  }
}

function toLinkError(err: unknown): LinkError {
  if (err instanceof OcppError) return new LinkError('callError', err.message, err.code);
  if (err instanceof AmpereError) {
    if (err.code === 'AMPERE_ERR_CALL_TIMEOUT') return new LinkError('timeout', err.message);
    if (err.code === 'AMPERE_ERR_SESSION_CLOSED') return new LinkError('offline', err.message);
    return new LinkError('callError', err.message, err.code);
  }
  return new LinkError('offline', (err as Error)?.message ?? String(err));
}
