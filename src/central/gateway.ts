// The WebSocket gateway: the HTTP upgrade of a charger's connection. The charge point id, the
// subprotocol and the registration policy are checked here, before a WebSocket exists.
import type { IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { WebSocket, WebSocketServer } from 'ws';
import { OCPP16_SUBPROTOCOL } from '../ocpp/index.ts';
import type { ChargerRecord } from '../store/types.ts';
import type { CentralSystem } from './central-system.ts';
import type { ConnectionGuard } from './security/connection-guard.ts';
import { MessageThrottle, type RateLimitOptions } from './security/rate-limit.ts';
import { textFrame } from './ws-frame.ts';

/** Longest charge point id accepted (CiString48, as the id in a URL of OCPP-J 1.6 §3.1.1). */
export const MAX_CHARGER_ID_LENGTH = 48;

export interface GatewayOptions {
  central: CentralSystem;
  maxFrameBytes: number;
  /** Ping period in seconds; 0 disables. */
  pingInterval: number;
  /**
   * A hook for security profiles: called at the upgrade before anything else is decided.
   * Returning a status refuses the upgrade with it.
   */
  authorizeUpgrade?: (req: IncomingMessage, chargerId: string) => Promise<{ status: number; message: string } | null>;
  /** Per-charger message-rate limit (throttle, then disconnect); absent or perSecond 0 = none. */
  rateLimit?: RateLimitOptions;
  /** Told when a connection has become a charger's WebSocket (it no longer counts as unauthenticated). */
  connectionGuard?: ConnectionGuard;
}

export type UpgradeRefusal = { status: number; message: string };

/** Reads the charge point id from the last path segment of the upgrade URL. */
export function chargerIdFromUrl(url: string | undefined): string | UpgradeRefusal {
  const path = (url ?? '/').split('?')[0]!;
  const segments = path.split('/');
  let last = segments[segments.length - 1] ?? '';
  if (last === '' && segments.length > 1) last = segments[segments.length - 2] ?? '';
  let id: string;
  try {
    id = decodeURIComponent(last);
  } catch {
    return { status: 400, message: 'The charge point id is not valid percent-encoding' };
  }
  if (id.length === 0) return { status: 400, message: 'The URL names no charge point id' };
  if (id.length > MAX_CHARGER_ID_LENGTH) {
    return { status: 400, message: `The charge point id is longer than ${MAX_CHARGER_ID_LENGTH} characters` };
  }
  // Printable characters only: ids end up in logs, file names and the dashboard. \p{C} covers
  // control, format (bidi overrides, zero-width), private-use, unassigned and lone surrogates.
  if (/[\p{C}\p{Zl}\p{Zp}]/u.test(id)) {
    return { status: 400, message: 'The charge point id has non-printable characters' };
  }
  return id;
}

/** OCPP-J 1.6 §3.1.2: the server selects `ocpp1.6` from the offered subprotocols. */
export function selectSubprotocol(header: string | undefined): 'ocpp1.6' | 'none' | UpgradeRefusal {
  if (header === undefined || header.trim() === '') return 'none';
  const offered = header.split(',').map((p) => p.trim().toLowerCase());
  if (offered.includes(OCPP16_SUBPROTOCOL)) return OCPP16_SUBPROTOCOL;
  // OCA test case TC_088: a charger offering only other protocols is refused.
  return { status: 400, message: `Subprotocol ${OCPP16_SUBPROTOCOL} was not offered (offered: ${offered.join(', ')})` };
}

function refuse(socket: Duplex, status: number, message: string): void {
  const reason =
    {
      400: 'Bad Request',
      401: 'Unauthorized',
      403: 'Forbidden',
      404: 'Not Found',
      429: 'Too Many Requests',
      503: 'Service Unavailable',
    }[status] ?? 'Error';
  const body = JSON.stringify({ error: { code: status, message } });
  // RFC 7235 §3.1: a 401 names the scheme (security profiles 1 and 2: Basic).
  const challenge = status === 401 ? 'WWW-Authenticate: Basic realm="ampere", charset="UTF-8"\r\n' : '';
  socket.end(
    `HTTP/1.1 ${status} ${reason}\r\nConnection: close\r\n${challenge}Content-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
  );
}

export class Gateway {
  private readonly wss: WebSocketServer;
  private readonly opts: GatewayOptions;
  private pingTimer: NodeJS.Timeout | undefined;
  private readonly alive = new WeakMap<WebSocket, boolean>();

  constructor(opts: GatewayOptions) {
    this.opts = opts;
    this.wss = new WebSocketServer({
      noServer: true,
      // A frame over the limit closes only that socket, with 1009 (RFC 6455 §7.4.1).
      maxPayload: opts.maxFrameBytes,
      perMessageDeflate: false,
      handleProtocols: (protocols) => (protocols.has(OCPP16_SUBPROTOCOL) ? OCPP16_SUBPROTOCOL : false),
    });
    if (opts.pingInterval > 0) {
      this.pingTimer = setInterval(() => this.pingAll(), opts.pingInterval * 1000);
      this.pingTimer.unref();
    }
  }

  /** Attach to an http/https server's 'upgrade' event. */
  handleUpgrade = (req: IncomingMessage, socket: Duplex, head: Buffer): void => {
    socket.on('error', () => socket.destroy());
    this.upgrade(req, socket, head).catch((e) => {
      this.opts.central.log.error({ err: e }, 'upgrade failed');
      refuse(socket, 500, 'Internal error');
    });
  };

  private async upgrade(req: IncomingMessage, socket: Duplex, head: Buffer): Promise<void> {
    const { central } = this.opts;
    const remoteAddress = req.socket.remoteAddress ?? null;
    const id = chargerIdFromUrl(req.url);
    if (typeof id !== 'string') {
      central.log.warn({ url: req.url, remoteAddress, status: id.status }, id.message);
      return refuse(socket, id.status, id.message);
    }
    const proto = selectSubprotocol(req.headers['sec-websocket-protocol']);
    if (typeof proto !== 'string') {
      central.log.warn({ chargerId: id, remoteAddress }, proto.message);
      return refuse(socket, proto.status, proto.message);
    }
    if (this.opts.authorizeUpgrade) {
      const denied = await this.opts.authorizeUpgrade(req, id);
      if (denied) return refuse(socket, denied.status, denied.message);
    }
    const known = await central.store.getCharger(id);
    if (central.settings.registration === 'known' && !known) {
      // OCPP-J 1.6 §3.1.1: an unknown charge point may be refused at the handshake with 404.
      await central.store.recordConnectionAttempt(id, remoteAddress, central.clock.now());
      central.log.warn({ chargerId: id, remoteAddress }, 'unknown charger refused');
      return refuse(socket, 404, `Unknown charge point ${id}`);
    }
    await this.countPendingConnection(id, known?.registration, remoteAddress);
    if (proto === 'none') {
      central.log.warn({ chargerId: id }, 'no Sec-WebSocket-Protocol offered; treating the connection as ocpp1.6');
    }
    if (socket.destroyed) return;
    this.opts.connectionGuard?.settle(req.socket);
    this.wss.handleUpgrade(req, socket, head, (ws) => void this.onOpen(ws, socket, id, remoteAddress, known));
  }

  /**
   * A charger waiting for approval (held Pending, or new under the pending policy) has its
   * connections counted, so the approvals list shows how often it tried; approving clears them.
   */
  private async countPendingConnection(
    id: string,
    registration: string | undefined,
    remoteAddress: string | null,
  ): Promise<void> {
    const { central } = this.opts;
    const waiting =
      registration === 'pending' || (registration === undefined && central.settings.registration === 'pending');
    if (waiting) await central.store.recordConnectionAttempt(id, remoteAddress, central.clock.now());
  }

  private async onOpen(
    ws: WebSocket,
    socket: Duplex,
    chargerId: string,
    remoteAddress: string | null,
    known: ChargerRecord | null,
  ): Promise<void> {
    const { central } = this.opts;
    this.alive.set(ws, true);
    ws.on('pong', () => this.alive.set(ws, true));
    // Messages that arrive while the connection is being registered are kept in order.
    const early: string[] = [];
    let link: Awaited<ReturnType<CentralSystem['attach']>> | undefined;
    const take = (text: string) => {
      if (link) central.receive(link, text);
      else early.push(text);
    };
    const limit = this.opts.rateLimit;
    const throttle =
      limit && limit.perSecond > 0
        ? new MessageThrottle(
            limit,
            {
              now: () => Date.now(),
              setTimeout: (fn, ms) => setTimeout(fn, ms),
              clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
            },
            take,
            () => {
              // Throttling did not slow it down: the flood ends here; other chargers never noticed.
              central.log.warn({ chargerId, remoteAddress }, 'message rate limit exceeded: disconnected');
              void central.security.recordEvent(chargerId, 'MessageFlood', { remoteAddress, ...limit });
              ws.close(1008, 'Message rate limit exceeded');
              // A peer that ignores the close frame does not keep the socket.
              setTimeout(() => ws.terminate(), 1000).unref();
            },
          )
        : undefined;
    ws.on('message', (data, isBinary) => {
      const text = isBinary || Array.isArray(data) ? Buffer.from(data as Buffer).toString('utf8') : data.toString();
      if (throttle) throttle.push(text);
      else take(text);
    });
    ws.on('error', (e) => central.log.warn({ chargerId, err: e.message }, 'socket error'));
    ws.on('close', (code) => {
      throttle?.stop();
      if (code === 1009) central.log.warn({ chargerId }, 'frame over the size limit: connection closed');
      if (link) central.detach(link);
    });
    link = await central.attach(
      chargerId,
      {
        send: (text) => {
          // The socket `ws` writes to: a frame in one write (ws-frame.ts), in order with ws's own.
          if (ws.readyState === WebSocket.OPEN) socket.write(textFrame(text));
        },
        close: (code, reason) => ws.close(code, reason),
      },
      remoteAddress,
      known,
    );
    if (ws.readyState !== WebSocket.OPEN) {
      central.detach(link);
      return;
    }
    for (const text of early.splice(0)) central.receive(link, text);
  }

  private pingAll(): void {
    for (const ws of this.wss.clients) {
      if (this.alive.get(ws) === false) {
        // No pong since the last ping: the charger is gone (OCPP-J 1.6 §5, WebSocketPingInterval).
        ws.terminate();
        continue;
      }
      this.alive.set(ws, false);
      ws.ping();
    }
  }

  get connections(): number {
    return this.wss.clients.size;
  }

  close(): void {
    if (this.pingTimer) clearInterval(this.pingTimer);
    for (const ws of this.wss.clients) ws.terminate();
    this.wss.close();
  }
}
