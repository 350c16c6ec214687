// The FTP server chargers upload diagnostics to (most chargers can upload only by FTP). Built on
// ftp-srv, restricted to what an upload needs: login only with a live per-request credential
// (diagnostics.ts), passive mode only, STOR only: no listing, no download, no delete, no rename.
// Files are streamed to the diagnostics folder through Diagnostics.openUpload (size limit there).
import { lookup } from 'node:dns/promises';
import { createServer, isIPv4 } from 'node:net';
import type { Writable } from 'node:stream';
import { FileSystem, FtpSrv } from 'ftp-srv';
import type { Logger } from 'pino';
import type { Diagnostics } from './diagnostics.ts';

export interface FtpServerOptions {
  /** Address to listen on. */
  host: string;
  /** Control port; 0 = a free port. */
  port: number;
  /** The host chargers reach Ampere at: put in GetDiagnostics locations and PASV answers. */
  publicHost: string;
  /** Passive data ports [min, max]; undefined = any free port. */
  passivePorts: readonly [number, number] | undefined;
  diagnostics: Diagnostics;
  log: Logger;
}

export interface RunningFtpServer {
  port: number;
  /** `ftp://PUBLIC-HOST:PORT`, without credentials. */
  url: string;
  close(): Promise<void>;
}

/**
 * The commands an uploading client needs (RFC 959 §4.1, RFC 2428 EPSV); every other command is
 * answered 502 before it reaches a handler. PORT/EPRT (active mode) are left out on purpose: the
 * server would have to connect out to the charger, which NAT and firewalls rarely allow.
 */
const COMMANDS = [
  'USER',
  'PASS',
  'TYPE',
  'MODE',
  'STRU',
  'PASV',
  'EPSV',
  'STOR',
  'ALLO',
  'CWD',
  'XCWD',
  'CDUP',
  'PWD',
  'XPWD',
  'FEAT',
  'SYST',
  'OPTS',
  'NOOP',
  'ABOR',
  'QUIT',
];

/** How long a control connection may stay idle. */
const IDLE_MS = 60_000;

/** What ftp-srv's passive connector holds (its data server and socket). */
interface DataConnector {
  dataSocket?: import('node:net').Socket | null;
  dataServer?: import('node:net').Server | null;
}

class FtpRefusal extends Error {
  constructor(
    readonly code: number,
    message: string,
  ) {
    super(message);
  }
}

const refuse = () => Promise.reject(new FtpRefusal(550, 'Only uploads are allowed here'));

/** A write-only file system: every STOR becomes one upload of the logged-in request. */
function uploadOnlyFs(connection: unknown, open: (fileName: string) => Writable): FileSystem {
  const fs = new FileSystem(connection as never, { root: '/', cwd: '/' });
  let cwd = '/';
  return Object.assign(fs, {
    currentDirectory: () => cwd,
    // Chargers change into the location's path before STOR; the path names nothing here.
    chdir: async (path = '.') => {
      cwd = path.startsWith('/') ? path : `${cwd.replace(/\/$/, '')}/${path}`;
      return cwd;
    },
    write: (fileName: string) => {
      const stream = open(fileName);
      // ftp-srv ends an upload by emitting 'close' on a stream that has 'close' listeners (a pipe
      // adds one) instead of calling end(); end it then, unless it already ended or failed.
      stream.once('close', () => {
        if (!stream.writableEnded && !stream.destroyed) stream.end();
      });
      return { stream, clientPath: fileName };
    },
    get: refuse,
    list: refuse,
    read: refuse,
    delete: refuse,
    mkdir: refuse,
    rename: refuse,
    chmod: refuse,
  });
}

/** A free TCP port on `host` (the passive data port when no range is configured). */
function freePort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export async function startFtpServer(o: FtpServerOptions): Promise<RunningFtpServer> {
  const log = o.log.child({ component: 'ftp' });
  // PASV answers carry an IPv4 address (RFC 959 §4.1.2): the public host, resolved if it is a name.
  const passiveAddress = async () =>
    isIPv4(o.publicHost) ? o.publicHost : (await lookup(o.publicHost, { family: 4 })).address;
  const before = new Set(['SIGTERM', 'SIGINT', 'SIGQUIT'].flatMap((s) => process.listeners(s as NodeJS.Signals)));
  const server = new FtpSrv({
    url: `ftp://${o.host}:${o.port}`,
    pasv_url: passiveAddress as never,
    pasv_min: o.passivePorts?.[0] ?? 1024,
    pasv_max: o.passivePorts?.[1] ?? 65535,
    anonymous: false,
    whitelist: COMMANDS,
    greeting: 'Ampere diagnostics upload',
    // Not ftp-srv's `timeout`: it also arms an uncleared timer of that length per disconnect.
    timeout: 0,
    log,
  });
  // ftp-srv exits the process on signals; Ampere's own shutdown closes it instead.
  for (const sig of ['SIGTERM', 'SIGINT', 'SIGQUIT'] as const) {
    for (const l of process.listeners(sig)) if (!before.has(l)) process.removeListener(sig, l);
  }
  if (!o.passivePorts) {
    (server as unknown as { getNextPasvPort: () => Promise<number> }).getNextPasvPort = () => freePort(o.host);
  }
  server.on('login', ({ connection, username, password }, resolve, reject) => {
    o.diagnostics.authenticateFtp(username, password).then(
      (request) => {
        log.info({ requestId: request.id, chargerId: request.chargerId }, 'diagnostics upload login');
        resolve({ fs: uploadOnlyFs(connection, (name) => o.diagnostics.openUpload(request, name)) });
      },
      (err: Error) => reject(err),
    );
  });
  // ftp-srv leaves a passive data connection open when its command is refused (LIST, RETR: 502)
  // or replaced by the next PASV/EPSV; such sockets are closed with their control connection.
  (server as unknown as import('node:events').EventEmitter).on('connect', ({ connection }: { connection: unknown }) => {
    const c = connection as unknown as { connector: DataConnector; commandSocket: import('node:net').Socket };
    const used: DataConnector[] = [];
    let current = c.connector;
    Object.defineProperty(c, 'connector', {
      configurable: true,
      enumerable: true,
      get: () => current,
      set: (next: DataConnector) => {
        used.push(current);
        current = next;
      },
    });
    // An idle control connection is dropped after IDLE_MS.
    c.commandSocket.setTimeout(IDLE_MS, () => c.commandSocket.destroy());
    c.commandSocket.once('close', () => {
      for (const x of [...used, current]) {
        x?.dataSocket?.destroy();
        x?.dataServer?.close();
      }
    });
  });
  server.on('client-error', ({ error }) => log.debug({ err: error?.message }, 'ftp client error'));
  await server.listen();
  const address = (server as unknown as { server: import('node:net').Server }).server.address();
  const port = typeof address === 'object' && address ? address.port : o.port;
  const host = o.publicHost.includes(':') ? `[${o.publicHost}]` : o.publicHost;
  log.info({ port }, 'FTP server for diagnostics uploads listening');
  return {
    port,
    url: `ftp://${host}:${port}`,
    close: async () => {
      await server.close();
    },
  };
}
