// Shared by the API suites: a server started in-process on port 0 with a temp data folder, an
// HTTP client for its API, and chargers that boot over a real WebSocket.
import { type RunningServer, startServer } from '../../src/app/server.ts';
import { DEFAULTS, type ServeConfig } from '../../src/config/index.ts';
import { TestCharger } from '../helpers/charger.ts';
import { tempDir } from '../helpers/process.ts';

export const TOKEN = 'test-token-0123456789';

export interface ApiAnswer<T = any> {
  status: number;
  body: T;
  headers: Headers;
}

export interface TestServer extends RunningServer {
  ws: string;
  data: string;
  api<T = any>(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<ApiAnswer<T>>;
  /** Connects a charger, boots it and reports its connectors Available. */
  charger(id: string, opts?: { boot?: boolean; connectors?: number }): Promise<TestCharger>;
}

export async function startTestServer(overrides: Partial<ServeConfig> = {}): Promise<TestServer> {
  const data = tempDir('ampere-api-');
  const config: ServeConfig = {
    ...DEFAULTS,
    host: '127.0.0.1',
    port: 0,
    data,
    logLevel: 'silent',
    apiToken: TOKEN,
    registration: 'open',
    callTimeoutMs: 400,
    pingInterval: 0,
    ...overrides,
  };
  const s = await startServer(Object.freeze(config));
  const api = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const h: Record<string, string> = { authorization: `Bearer ${TOKEN}`, ...headers };
    let payload: string | undefined;
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      h['content-type'] ??= typeof body === 'string' ? 'text/csv' : 'application/json';
    }
    const res = await fetch(s.url + path, { method, headers: h, body: payload });
    const text = await res.text();
    let parsed: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json') && text !== '') parsed = JSON.parse(text);
    return { status: res.status, body: parsed as any, headers: res.headers };
  };
  const ws = s.url.replace(/^http/, 'ws');
  return Object.assign(s, {
    ws,
    data,
    api,
    async charger(id: string, opts: { boot?: boolean; connectors?: number } = {}) {
      const c = await TestCharger.connect(ws, id);
      if (opts.boot !== false) {
        await c.boot('TestVendor', 'TestModel');
        for (let n = 0; n <= (opts.connectors ?? 1); n++) {
          await c.call('StatusNotification', { connectorId: n, status: 'Available', errorCode: 'NoError' });
        }
      }
      return c;
    },
  });
}

export const iso = (ms: number) => new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z');

/** Polls until `fn` returns a truthy value (events and writes land asynchronously). */
export async function until<T>(fn: () => T | Promise<T>, timeoutMs = 3000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error('timed out waiting');
    await new Promise((r) => setTimeout(r, 20));
  }
}
