// Shared by the security tests: a throwaway PKI, an in-process server, and a WebSocket client
// that reports how a connection attempt ended (HTTP status, TLS error, or open).
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino } from 'pino';
import WebSocket from 'ws';
import { type RunningServer, startServer } from '../../src/app/server.ts';
import {
  createCa,
  issueClientCertificate,
  issueServerCertificate,
  type KeyPairPem,
} from '../../src/central/security/index.ts';
import { DEFAULTS, type ServeConfig } from '../../src/config/index.ts';

export const CPO = 'ACME CPO';

export interface Pki {
  dir: string;
  ca: KeyPairPem;
  server: KeyPairPem;
  files: { cert: string; key: string; ca: string; caKey: string };
  client(cn: string, opts?: { organization?: string; notBefore?: Date; notAfter?: Date }): Promise<KeyPairPem>;
}

/** A CA, a server certificate for localhost and 127.0.0.1, written to a temp folder. */
export async function makePki(): Promise<Pki> {
  const dir = mkdtempSync(join(tmpdir(), 'ampere-pki-'));
  const ca = await createCa({ organization: CPO });
  const server = await issueServerCertificate(ca, { hosts: ['localhost', '127.0.0.1'], organization: CPO });
  const files = {
    cert: join(dir, 'server.pem'),
    key: join(dir, 'server.key'),
    ca: join(dir, 'ca.pem'),
    caKey: join(dir, 'ca.key'),
  };
  writeFileSync(files.cert, server.certPem);
  writeFileSync(files.key, server.keyPem);
  writeFileSync(files.ca, ca.certPem);
  writeFileSync(files.caKey, ca.keyPem);
  return {
    dir,
    ca,
    server,
    files,
    client: (cn, opts = {}) =>
      issueClientCertificate(ca, {
        commonName: cn,
        organization: opts.organization ?? CPO,
        ...(opts.notBefore ? { notBefore: opts.notBefore } : {}),
        ...(opts.notAfter ? { notAfter: opts.notAfter } : {}),
      }),
  };
}

/** Captured log lines, to check that no secret is ever logged. */
export class LogSink extends Writable {
  text = '';
  override _write(chunk: Buffer, _enc: string, cb: () => void): void {
    this.text += chunk.toString();
    cb();
  }
}

export async function start(
  overrides: Partial<ServeConfig> = {},
  sink?: LogSink,
): Promise<RunningServer & { wsUrl: string; plainUrl: string | undefined }> {
  const config: ServeConfig = {
    ...DEFAULTS,
    host: '127.0.0.1',
    port: 0,
    data: mkdtempSync(join(tmpdir(), 'ampere-sec-')),
    apiToken: 'test-token-test-token',
    registration: 'open',
    logLevel: sink ? 'debug' : 'silent',
    pingInterval: 0,
    ...overrides,
  };
  const log = pino({ level: config.logLevel }, sink ?? new LogSink());
  const running = await startServer(Object.freeze(config), log);
  return {
    ...running,
    wsUrl: running.url.replace(/^http/, 'ws'),
    plainUrl: running.plainPort !== undefined ? `ws://127.0.0.1:${running.plainPort}` : undefined,
  };
}

export const basic = (user: string, password: string) => ({
  authorization: `Basic ${Buffer.from(`${user}:${password}`).toString('base64')}`,
});

export type Attempt =
  | { kind: 'open'; ws: WebSocket }
  | { kind: 'http'; status: number; body: string }
  | { kind: 'error'; code: string | undefined; message: string }
  | { kind: 'closed' };

export interface ClientOptions {
  headers?: Record<string, string>;
  ca?: string;
  cert?: string;
  key?: string;
  minVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  maxVersion?: 'TLSv1' | 'TLSv1.1' | 'TLSv1.2' | 'TLSv1.3';
  ciphers?: string;
}

/** Tries to open a charger's WebSocket and tells how it went. */
export function attempt(base: string, id: string, opts: ClientOptions = {}): Promise<Attempt> {
  return new Promise((resolve) => {
    const ws = new WebSocket(`${base}/ocpp/${encodeURIComponent(id)}`, ['ocpp1.6'], {
      headers: opts.headers ?? {},
      perMessageDeflate: false,
      ...(opts.ca ? { ca: opts.ca } : {}),
      ...(opts.cert ? { cert: opts.cert, key: opts.key } : {}),
      ...(opts.minVersion ? { minVersion: opts.minVersion } : {}),
      ...(opts.maxVersion ? { maxVersion: opts.maxVersion } : {}),
      ...(opts.ciphers ? { ciphers: opts.ciphers } : {}),
    });
    ws.once('open', () => resolve({ kind: 'open', ws }));
    ws.once('unexpected-response', (_req, res) => {
      let body = '';
      res.on('data', (d: Buffer) => {
        body += d.toString();
      });
      res.on('end', () => resolve({ kind: 'http', status: res.statusCode ?? 0, body }));
      res.on('error', () => resolve({ kind: 'http', status: res.statusCode ?? 0, body }));
    });
    ws.once('error', (e: Error & { code?: string }) => resolve({ kind: 'error', code: e.code, message: e.message }));
  });
}

export function statusOf(a: Attempt): number | string {
  if (a.kind === 'open') {
    a.ws.close();
    return 'open';
  }
  if (a.kind === 'http') return a.status;
  if (a.kind === 'error') return `error:${a.code ?? a.message}`;
  return 'closed';
}

/** Sends a CALL over an open ws and resolves with the answer frame. */
export function callOver(ws: WebSocket, id: string, action: string, payload: unknown): Promise<unknown[]> {
  return new Promise((resolve, reject) => {
    const t = setTimeout(() => reject(new Error(`no answer to ${action}`)), 5000);
    const onMessage = (data: WebSocket.RawData) => {
      const f = JSON.parse(data.toString()) as unknown[];
      if (f[1] === id && (f[0] === 3 || f[0] === 4)) {
        clearTimeout(t);
        ws.off('message', onMessage);
        resolve(f);
      }
    };
    ws.on('message', onMessage);
    ws.send(JSON.stringify([2, id, action, payload]));
  });
}
