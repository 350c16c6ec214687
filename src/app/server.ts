// The composition root (design.md): builds the store, the central system, the gateway and the
// HTTP surfaces from one config object, and wires them. Only this file constructs concrete things.
import { mkdirSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { join } from 'node:path';
import { type Logger, pino } from 'pino';
import { CentralSystem, EventBus, Gateway } from '../central/index.ts';
import type { ServeConfig } from '../config/index.ts';
import { AmpereError } from '../errors.ts';
import { createValidator } from '../ocpp/index.ts';
import { openSqliteStore } from '../store/sqlite.ts';
import type { Store } from '../store/types.ts';

export interface RunningServer {
  url: string;
  port: number;
  central: CentralSystem;
  store: Store;
  log: Logger;
  close(): Promise<void>;
}

export function createLogger(level: ServeConfig['logLevel']): Logger {
  // Logs go to stderr: stdout's first line is the URL, for scripts and tests.
  return pino(
    {
      level,
      base: undefined,
      // No secret reaches a log line, whatever a caller passes.
      redact: {
        paths: [
          'authorization',
          'password',
          'token',
          '*.authorization',
          '*.password',
          '*.token',
          'req.headers.authorization',
        ],
        censor: '[redacted]',
      },
    },
    pino.destination({ fd: 2, sync: false }),
  );
}

async function openStore(config: ServeConfig): Promise<Store> {
  if (config.db?.startsWith('postgres://') || config.db?.startsWith('postgresql://')) {
    throw new AmpereError(
      'AMPERE_ERR_CONFIG',
      'PostgreSQL storage is not available in this build yet; use the embedded SQLite store',
    );
  }
  mkdirSync(config.data, { recursive: true });
  return openSqliteStore({ file: config.db ?? join(config.data, 'ampere.db') });
}

function notFound(_req: IncomingMessage, res: ServerResponse): void {
  const body = JSON.stringify({ error: { code: 'AMPERE_ERR_NOT_FOUND', message: 'Not found' } });
  res.writeHead(404, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(body) });
  res.end(body);
}

export async function startServer(
  config: Readonly<ServeConfig>,
  log: Logger = createLogger(config.logLevel),
): Promise<RunningServer> {
  const clock = { now: () => Date.now() };
  const store = await openStore(config);
  await store.markAllDisconnected(clock.now());
  const events = new EventBus({ now: clock.now });
  const central = new CentralSystem({
    store,
    validator: createValidator(),
    log,
    events,
    clock,
    settings: {
      registration: config.registration,
      validation: config.validation,
      heartbeatInterval: config.heartbeatInterval,
      bootRetryInterval: config.bootRetryInterval,
      callTimeoutMs: config.callTimeoutMs,
    },
  });
  const gateway = new Gateway({ central, maxFrameBytes: config.maxFrameBytes, pingInterval: config.pingInterval });
  const server: Server = createHttpServer(notFound);
  server.on('upgrade', gateway.handleUpgrade);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => resolve());
  });
  const address = server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const url = `http://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`;
  log.info({ url, registration: config.registration, validation: config.validation }, 'ampere listening');

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      central.closeAll();
      gateway.close();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await store.close();
      log.info('ampere stopped');
      log.flush();
    })();
    return closing;
  };
  return { url, port, central, store, log, close };
}
