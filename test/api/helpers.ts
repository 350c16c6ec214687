// Shared by the API suites: a server started in-process on port 0 with a temp data folder, an
// HTTP client for its API, and chargers that boot over a real WebSocket.
import { request as httpsRequest } from 'node:https';
import type { Logger } from 'pino';
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
  /** Every answer `api` received: status line, headers and body as text (for leak checks). */
  transcript: string[];
  /** Connects a charger, boots it and reports its connectors Available. */
  charger(id: string, opts?: { boot?: boolean; connectors?: number }): Promise<TestCharger>;
}

export async function startTestServer(
  overrides: Partial<ServeConfig> = {},
  /** `ca`: the CA (PEM) that signed the server certificate, when the server speaks TLS. */
  opts: { log?: Logger; ca?: string; clock?: { now(): number } } = {},
): Promise<TestServer> {
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
  const s = await startServer(Object.freeze(config), opts.log, opts.clock);
  const transcript: string[] = [];
  const api = async (method: string, path: string, body?: unknown, headers: Record<string, string> = {}) => {
    const h: Record<string, string> = { authorization: `Bearer ${TOKEN}`, ...headers };
    let payload: string | undefined;
    if (body !== undefined) {
      payload = typeof body === 'string' ? body : JSON.stringify(body);
      h['content-type'] ??= typeof body === 'string' ? 'text/csv' : 'application/json';
    }
    const res = opts.ca
      ? await httpsFetch(s.url + path, { method, headers: h, body: payload, ca: opts.ca })
      : await fetch(s.url + path, { method, headers: h, body: payload });
    const text = await res.text();
    transcript.push(`${res.status} ${JSON.stringify([...res.headers])} ${text}`);
    let parsed: unknown = text;
    if ((res.headers.get('content-type') ?? '').includes('json') && text !== '') parsed = JSON.parse(text);
    return { status: res.status, body: parsed as any, headers: res.headers };
  };
  const ws = s.url.replace(/^http/, 'ws');
  return Object.assign(s, {
    ws,
    data,
    api,
    transcript,
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

/** Enough of fetch over https with a private CA (fetch itself cannot be given one). */
export function httpsFetch(
  url: string,
  init: { method?: string; headers?: Record<string, string>; body?: string | undefined; ca: string },
): Promise<{ status: number; headers: Headers; text(): Promise<string> }> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest(url, { method: init.method ?? 'GET', headers: init.headers ?? {}, ca: init.ca }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (d: Buffer) => chunks.push(d));
      res.on('end', () => {
        const headers = new Headers();
        for (const [k, v] of Object.entries(res.headers)) {
          if (v !== undefined) headers.set(k, Array.isArray(v) ? v.join(', ') : v);
        }
        const body = Buffer.concat(chunks).toString();
        resolve({ status: res.statusCode ?? 0, headers, text: async () => body });
      });
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(init.body);
  });
}
