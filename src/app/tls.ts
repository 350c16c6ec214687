// Serving chargers securely: the TLS listener (security profiles 2 and 3), the optional plain
// second port, certificate reload on SIGHUP, the connection guard, and the settings the
// central system's security needs. The cipher list is documented in docs/security.md.
import { constants } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createHttpsServer, type ServerOptions } from 'node:https';
import type { Socket } from 'node:net';
import { join } from 'node:path';
import type { Logger } from 'pino';
import type { Gateway, GatewayOptions } from '../central/index.ts';
import {
  ConnectionGuard,
  certificateSubject,
  createCa,
  issueClientCertificate,
  issueServerCertificate,
  type KeyPairPem,
  type KeyType,
  type SecuritySettings,
} from '../central/security/index.ts';
import type { ServeConfig } from '../config/index.ts';
import { AmpereError } from '../errors.ts';

/**
 * TLS 1.2 ciphers: what the security whitepaper requires (A00.FR.317/318: ECDHE with ECDSA or RSA,
 * AES-128-GCM-SHA256 and AES-256-GCM-SHA384) within AWS ELBSecurityPolicy-TLS-1-2-Ext-2018-06
 * (ev.energy's policy). The intersection is these four; ELB's CBC and non-ECDHE suites are left out.
 * TLS 1.3 (allowed: the minimum is 1.2) keeps to its two AES-GCM suites.
 */
export const DEFAULT_TLS12_CIPHERS = [
  'ECDHE-ECDSA-AES128-GCM-SHA256',
  'ECDHE-RSA-AES128-GCM-SHA256',
  'ECDHE-ECDSA-AES256-GCM-SHA384',
  'ECDHE-RSA-AES256-GCM-SHA384',
];
export const DEFAULT_TLS13_CIPHERS = ['TLS_AES_128_GCM_SHA256', 'TLS_AES_256_GCM_SHA384'];

function read(path: string, what: string): string {
  try {
    return readFileSync(path, 'utf8');
  } catch (e) {
    throw new AmpereError('AMPERE_ERR_CONFIG', `Cannot read the ${what} ${path}: ${(e as Error).message}`);
  }
}

/** The TLS options of the listener, read from the files now (again on every reload). */
export function tlsOptions(config: Readonly<ServeConfig>): ServerOptions {
  const ciphers = config.tlsCiphers ?? [...DEFAULT_TLS13_CIPHERS, ...DEFAULT_TLS12_CIPHERS].join(':');
  return {
    cert: read(config.tlsCert!, 'TLS certificate'),
    key: read(config.tlsKey!, 'TLS key'),
    ...(config.tlsCa ? { ca: read(config.tlsCa, 'client CA') } : {}),
    minVersion: 'TLSv1.2',
    ciphers,
    honorCipherOrder: true,
    // OpenSSL 3 has no TLS compression compiled in; the flag says so explicitly (CRIME).
    secureOptions: constants.SSL_OP_NO_COMPRESSION | constants.SSL_OP_NO_RENEGOTIATION,
    // Profile 3: a client certificate is asked for, and judged per charger at the upgrade
    // (profile 1/2 chargers on the same port have none).
    requestCert: config.tlsCa !== undefined,
    rejectUnauthorized: false,
    ...(config.handshakeTimeout > 0 ? { handshakeTimeout: config.handshakeTimeout * 1000 } : {}),
  };
}

/** The CA that signs chargers' CSRs: --tls-ca with --ca-key, or DATA/certs from `ampere certs init`. */
export function loadSigningCa(config: Readonly<ServeConfig>): KeyPairPem | undefined {
  if (config.caKey) {
    if (!config.tlsCa) throw new AmpereError('AMPERE_ERR_CONFIG', '--ca-key needs --tls-ca (the CA certificate)');
    return { certPem: read(config.tlsCa, 'CA certificate'), keyPem: read(config.caKey, 'CA key') };
  }
  const dir = join(config.data, 'certs');
  if (existsSync(join(dir, 'ca.pem')) && existsSync(join(dir, 'ca.key'))) {
    return { certPem: read(join(dir, 'ca.pem'), 'CA certificate'), keyPem: read(join(dir, 'ca.key'), 'CA key') };
  }
  return undefined;
}

type Handler = (req: IncomingMessage, res: ServerResponse) => void;

export interface SecureServing {
  scheme: 'http' | 'https';
  /** For the CentralSystem's `security` dependency. */
  security: Partial<SecuritySettings>;
  /** For the Gateway (spread into its options, with authorizeUpgrade from central.security). */
  gateway: Pick<GatewayOptions, 'rateLimit' | 'connectionGuard'>;
  /** The main listener (for fastify's serverFactory): https when TLS is configured. */
  createServer(handler: Handler, gateway: Gateway): Server;
  /** The optional plain port for profile 0/1 chargers; resolves to its port, or undefined when off. */
  listenPlain(gateway: Gateway, host: string): Promise<number | undefined>;
  /** Re-reads certificate, key and CA (SIGHUP). Connected chargers stay; new handshakes use the new files. */
  reload(): boolean;
  close(): Promise<void>;
}

export function secureServing(config: Readonly<ServeConfig>, log: Logger): SecureServing {
  const tls = config.tlsCert !== undefined;
  const initial = tls ? tlsOptions(config) : undefined;
  const ca = loadSigningCa(config);
  const lastLogged = new Map<string, number>();
  const guard = new ConnectionGuard({
    maxPendingPerAddress: config.maxPendingConnections,
    handshakeTimeoutMs: config.handshakeTimeout * 1000,
    onRefused: (address, reason) => {
      // One line per address and minute: a flood must not become a log flood.
      const now = Date.now();
      if ((lastLogged.get(address) ?? 0) > now - 60_000) return;
      lastLogged.set(address, now);
      if (lastLogged.size > 10_000) lastLogged.clear();
      log.warn({ remoteAddress: address, reason }, 'connection refused');
    },
  });
  const servers: Server[] = [];
  const guarded = (server: Server, gateway: Gateway): Server => {
    server.on('connection', guard.onConnection as (s: Socket) => void);
    server.on('request', (req: IncomingMessage) => guard.settle(req.socket));
    server.on('upgrade', gateway.handleUpgrade);
    server.on('tlsClientError', (err: Error & { code?: string }, socket: Socket) =>
      log.debug({ remoteAddress: socket.remoteAddress, code: err.code }, 'TLS handshake failed'),
    );
    servers.push(server);
    return server;
  };
  let main: Server | undefined;
  return {
    scheme: tls ? 'https' : 'http',
    security: {
      tls,
      clientCa: config.tlsCa !== undefined,
      cpoName: config.cpoName,
      cnCheck: config.cnCheck,
      ca,
      ...(config.tlsCa !== undefined ? { rootPem: read(config.tlsCa, 'CA certificate') } : {}),
    },
    gateway: {
      rateLimit: { perSecond: config.rateLimit, burst: config.rateBurst, maxQueued: config.rateBurst },
      connectionGuard: guard,
    },
    createServer(handler, gateway) {
      main = guarded(initial ? createHttpsServer(initial, handler) : createHttpServer(handler), gateway);
      return main;
    },
    async listenPlain(gateway, host) {
      if (config.plainPort === undefined) return undefined;
      const plain = guarded(
        createHttpServer((_req, res) => {
          res.writeHead(404, { 'content-type': 'application/json' });
          res.end('{"error":{"code":"AMPERE_ERR_NOT_FOUND","message":"This port serves chargers only"}}');
        }),
        gateway,
      );
      await new Promise<void>((resolve, reject) => {
        plain.once('error', reject);
        plain.listen(config.plainPort, host, () => resolve());
      });
      const a = plain.address();
      const port = typeof a === 'object' && a ? a.port : config.plainPort;
      log.warn({ port }, 'plain ws port open: profile 0/1 chargers only, for a trusted LAN');
      return port;
    },
    reload() {
      if (!tls || !main) return false;
      try {
        (main as unknown as import('node:tls').Server).setSecureContext(tlsOptions(config));
        log.info('TLS certificate reloaded');
        return true;
      } catch (e) {
        log.error({ err: (e as Error).message }, 'TLS reload failed; the previous certificate stays');
        return false;
      }
    },
    async close() {
      await Promise.all(
        servers
          .filter((s) => s !== main)
          .map((s) => new Promise<void>((resolve) => (s.listening ? s.close(() => resolve()) : resolve()))),
      );
    },
  };
}

// ---------------------------------------------------------------- certificate files (ampere certs)

export interface CertsInitOptions {
  dir: string;
  hosts: string[];
  cpoName: string;
  days?: number;
  force?: boolean;
  /** The CA's key (and its server certificate's): RSA 2048 (default) or ECDSA P-256. */
  keyType?: KeyType;
}

function writeSecret(path: string, text: string): void {
  writeFileSync(path, text, { mode: 0o600 });
}

/** `ampere certs init`: a CA and a server certificate for the given host names, in `dir`. */
export async function initCertificates(
  opts: CertsInitOptions,
): Promise<Record<'caCert' | 'caKey' | 'cert' | 'key', string>> {
  mkdirSync(opts.dir, { recursive: true, mode: 0o700 });
  const files = {
    caCert: join(opts.dir, 'ca.pem'),
    caKey: join(opts.dir, 'ca.key'),
    cert: join(opts.dir, 'server.pem'),
    key: join(opts.dir, 'server.key'),
  };
  if (existsSync(files.caKey) && !opts.force) {
    throw new AmpereError(
      'AMPERE_ERR_CONFLICT',
      `${files.caKey} exists: every charger certificate depends on it (--force replaces it)`,
    );
  }
  const ca = await createCa({ organization: opts.cpoName, ...(opts.keyType ? { keyType: opts.keyType } : {}) });
  const server = await issueServerCertificate(ca, {
    hosts: opts.hosts,
    organization: opts.cpoName,
    ...(opts.days ? { days: opts.days } : {}),
  });
  writeFileSync(files.caCert, ca.certPem);
  writeSecret(files.caKey, ca.keyPem);
  writeFileSync(files.cert, server.certPem);
  writeSecret(files.key, server.keyPem);
  return files;
}

/** `ampere certs client ID`: a charger certificate (CN = id, O = the CA's organisation or cpoName). */
export async function issueChargerCertificate(opts: {
  dir: string;
  chargerId: string;
  cpoName?: string;
  days?: number;
}): Promise<Record<'cert' | 'key' | 'ca', string>> {
  const ca = {
    certPem: read(join(opts.dir, 'ca.pem'), 'CA certificate'),
    keyPem: read(join(opts.dir, 'ca.key'), 'CA key'),
  };
  const organization = opts.cpoName ?? certificateSubject(ca.certPem).organization;
  if (!organization) throw new AmpereError('AMPERE_ERR_CONFIG', 'The CA has no O; give --cpo-name');
  const pair = await issueClientCertificate(ca, {
    commonName: opts.chargerId,
    organization,
    ...(opts.days ? { days: opts.days } : {}),
  });
  const out = join(opts.dir, 'chargers');
  mkdirSync(out, { recursive: true, mode: 0o700 });
  const base = join(out, encodeURIComponent(opts.chargerId));
  writeFileSync(`${base}.pem`, pair.certPem);
  writeSecret(`${base}.key`, pair.keyPem);
  return { cert: `${base}.pem`, key: `${base}.key`, ca: join(opts.dir, 'ca.pem') };
}
