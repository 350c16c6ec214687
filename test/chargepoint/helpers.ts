// Test doubles for the simulator: an in-process central system behind the Link interface, and a
// tiny OCPP server on `ws` + the real RpcSession for socket-level tests.
import { createServer, type IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { type WebSocket, WebSocketServer } from 'ws';
import { FakeClock, flush } from '../../src/chargepoint/clock.ts';
import type { VendorProfile } from '../../src/chargepoint/profile.ts';
import { getProfile } from '../../src/chargepoint/profiles/index.ts';
import { type Link, LinkError, Station } from '../../src/chargepoint/station.ts';
import {
  attachWebSocket,
  CHARGER_ACTIONS,
  createValidator,
  OcppError,
  RpcSession,
  type Validator,
} from '../../src/ocpp/index.ts';

export type Responder = (payload: any) => unknown;

let txCounter = 1000;

export function defaultAnswer(action: string, payload: any, now: number): unknown {
  switch (action) {
    case 'BootNotification':
      return { status: 'Accepted', currentTime: new Date(now).toISOString(), interval: 300 };
    case 'Heartbeat':
      return { currentTime: new Date(now).toISOString() };
    case 'Authorize':
      return { idTagInfo: { status: payload.idTag?.startsWith('BAD') ? 'Invalid' : 'Accepted' } };
    case 'StartTransaction':
      return {
        transactionId: ++txCounter,
        idTagInfo: { status: payload.idTag?.startsWith('BAD') ? 'Invalid' : 'Accepted' },
      };
    case 'DataTransfer':
      return { status: 'Accepted' };
    default:
      return {};
  }
}

/** A central system in the same process: records every CALL, answers with defaults or overrides. */
export class FakeCentral implements Link {
  calls: { action: string; payload: any; at: number }[] = [];
  responders: Record<string, Responder> = {};
  /** Return an error kind to fail this CALL. */
  fail?: (action: string, payload: any) => 'callError' | 'timeout' | undefined;

  constructor(private readonly clock: { now(): number }) {}

  async call(action: string, payload: unknown): Promise<unknown> {
    this.calls.push({ action, payload, at: this.clock.now() });
    const kind = this.fail?.(action, payload);
    if (kind)
      throw new LinkError(kind, `${action} failed (${kind})`, kind === 'callError' ? 'InternalError' : undefined);
    const r = this.responders[action];
    return r ? r(payload) : defaultAnswer(action, payload, this.clock.now());
  }

  actions(): string[] {
    return this.calls.map((c) => c.action);
  }

  of(action: string): any[] {
    return this.calls.filter((c) => c.action === action).map((c) => c.payload);
  }

  statuses(connectorId = 1): string[] {
    return this.of('StatusNotification')
      .filter((p) => p.connectorId === connectorId)
      .map((p) => p.status);
  }
}

export interface Rig {
  clock: FakeClock;
  station: Station;
  central: FakeCentral;
}

/** A booted station (unless `boot: false`) on a FakeClock talking to a FakeCentral. */
export async function rig(
  profile: string | VendorProfile = 'generic',
  o: { config?: Record<string, string>; boot?: boolean; fetch?: typeof fetch } = {},
): Promise<Rig> {
  const clock = new FakeClock();
  const central = new FakeCentral(clock);
  const station = new Station({
    id: 'CP1',
    profile: typeof profile === 'string' ? getProfile(profile) : profile,
    clock,
    random: () => 0.5,
    ...(o.config ? { config: o.config } : {}),
    ...(o.fetch ? { fetch: o.fetch } : {}),
  });
  if (o.boot !== false) {
    station.attach(central);
    await clock.advance(0);
  }
  return { clock, station, central };
}

/** Advances a FakeClock in small steps while real I/O (HTTP, sockets) completes. */
export async function until(clock: FakeClock, cond: () => boolean, stepMs = 0, limitMs = 5000): Promise<void> {
  const end = Date.now() + limitMs;
  while (!cond()) {
    if (Date.now() > end) throw new Error('condition not reached in time');
    await clock.advance(stepMs);
    await new Promise((r) => setTimeout(r, 2));
  }
}

export interface TestServer {
  url: string;
  port: number;
  calls: { id: string; action: string; payload: any }[];
  sessions: Map<string, RpcSession>;
  auth: Map<string, string | undefined>;
  responders: Record<string, Responder>;
  /** Fail the next CALLs of an action with a CALLERROR. */
  failNext: Record<string, number>;
  call(id: string, action: string, payload: unknown): Promise<any>;
  closeClients(): void;
  close(): Promise<void>;
}

let sharedValidator: Validator | undefined;

/** A tiny OCPP 1.6J central system on `ws` and the RpcSession of src/ocpp. */
export async function startTestServer(port = 0, o: { password?: string } = {}): Promise<TestServer> {
  sharedValidator ??= createValidator();
  const validator = sharedValidator;
  const http = createServer();
  const wss = new WebSocketServer({
    noServer: true,
    handleProtocols: (protocols) => (protocols.has('ocpp1.6') ? 'ocpp1.6' : false),
  });
  const sockets = new Set<WebSocket>();
  const s: TestServer = {
    url: '',
    port: 0,
    calls: [],
    sessions: new Map(),
    auth: new Map(),
    responders: {},
    failNext: {},
    call: (id, action, payload) => {
      const session = s.sessions.get(id);
      if (!session) return Promise.reject(new Error(`${id} not connected`));
      return session.call(action as never, payload as never);
    },
    closeClients() {
      for (const ws of sockets) ws.terminate();
    },
    close: async () => {
      s.closeClients();
      await new Promise<void>((r) => wss.close(() => r()));
      await new Promise<void>((r) => http.close(() => r()));
    },
  };
  http.on('upgrade', (req: IncomingMessage, socket, head) => {
    const id = decodeURIComponent((req.url ?? '').split('/').pop() ?? '');
    const header = req.headers.authorization;
    if (o.password !== undefined) {
      const expected = `Basic ${Buffer.from(`${id}:${o.password}`).toString('base64')}`;
      if (header !== expected) {
        socket.end('HTTP/1.1 401 Unauthorized\r\n\r\n');
        return;
      }
    }
    wss.handleUpgrade(req, socket, head, (ws) => {
      sockets.add(ws);
      s.auth.set(id, header);
      const session = new RpcSession({
        validator,
        mode: () => 'strict',
        send: (t) => ws.send(t),
        handles: new Set(CHARGER_ACTIONS),
        callTimeoutMs: 5000,
        handle: async (c) => {
          s.calls.push({ id, action: c.action, payload: c.payload });
          if ((s.failNext[c.action] ?? 0) > 0) {
            s.failNext[c.action]!--;
            throw new OcppError('InternalError', 'try again');
          }
          const r = s.responders[c.action];
          return (r ? r(c.payload) : defaultAnswer(c.action, c.payload, Date.now())) as object;
        },
      });
      s.sessions.set(id, session);
      attachWebSocket(ws, session);
      ws.on('close', () => {
        sockets.delete(ws);
        if (s.sessions.get(id) === session) s.sessions.delete(id);
      });
    });
  });
  await new Promise<void>((r) => http.listen(port, '127.0.0.1', r));
  s.port = (http.address() as AddressInfo).port;
  s.url = `ws://127.0.0.1:${s.port}/ocpp`;
  return s;
}

export { flush };
