// Flags + environment → one validated, frozen config object (docs/architecture.md, "Config is read once"). Nothing else in
// Ampere reads process.env. Unknown or misspelt keys are rejected with a hint.
import { AmpereError } from '../errors.ts';

export type RegistrationPolicy = 'open' | 'pending' | 'known';
export type ValidationModeSetting = 'strict' | 'tolerant';

export interface ServeConfig {
  host: string;
  port: number;
  data: string;
  /** A `postgres://` URL switches to PostgreSQL; otherwise SQLite at `${data}/ampere.db`. */
  db: string | undefined;
  apiToken: string | undefined;
  registration: RegistrationPolicy;
  validation: ValidationModeSetting;
  /** Interval answered in BootNotification.conf when the charger has no own setting (s). */
  heartbeatInterval: number;
  /** Retry interval answered with a Pending or Rejected BootNotification (s). */
  bootRetryInterval: number;
  /** WebSocket ping period (s); 0 disables. */
  pingInterval: number;
  callTimeoutMs: number;
  maxFrameBytes: number;
  logLevel: 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';
  tlsCert: string | undefined;
  tlsKey: string | undefined;
  tlsCa: string | undefined;
  /** OpenSSL cipher list for TLS 1.2; default: docs/security.md (whitepaper ∩ ELB 2018-06). */
  tlsCiphers: string | undefined;
  /** CA private key (PEM) that signs chargers' CSRs with --tls-ca; default DATA/certs/ca.key if present. */
  caKey: string | undefined;
  /** A second, plain ws port for profile 0/1 chargers on a LAN next to TLS; off by default. */
  plainPort: number | undefined;
  /** The CPO name: O of charger certificates (security profile 3, CpoName). */
  cpoName: string | undefined;
  /** Profile 3: the client certificate's CN is the charge point id or its serial number. */
  cnCheck: 'id' | 'serial';
  /** Seconds from TCP accept to a complete HTTP request or WebSocket upgrade; 0 = no limit. */
  handshakeTimeout: number;
  /** Connections per remote address still in their handshake; 0 = no cap. */
  maxPendingConnections: number;
  /** Messages per second per charger; 0 = no limit. */
  rateLimit: number;
  /** Messages a charger may send at once before it is throttled. */
  rateBurst: number;
  /** Browser origins allowed to call the operator API (CORS); none by default. */
  corsOrigins: readonly string[];
  /** Home-automation bridge: an mqtt[s]:// broker URL, or `embedded[://user:pass@host:port]`; off when unset. */
  mqtt: string | undefined;
  /** CA certificate (PEM file) of an mqtts:// broker with a private CA. */
  mqttCa: string | undefined;
  /** The bridge's settings file (chargers, topic prefix, webhooks); default DATA/bridge.json. */
  bridgeConfig: string | undefined;
  /** KNXnet/IP tunnelling gateway `host[:port]` (default port 3671) for the bridge's KNX objects; off when unset. */
  knx: string | undefined;
  /** FTP server for diagnostics uploads: its control port (0 = a free port); off when unset. */
  ftpPort: number | undefined;
  /** Passive data ports of the FTP server [min, max]; any free port when unset. */
  ftpPassivePorts: readonly [number, number] | undefined;
  /** The host chargers reach Ampere at (diagnostics upload locations); default: this machine's first address. */
  publicHost: string | undefined;
  /** Largest diagnostics upload (MB). */
  diagnosticsMaxMb: number;
  /** Lifetime of a diagnostics upload credential (s). */
  diagnosticsTtl: number;
  /** Trigger StatusNotification (and BootNotification when never Accepted) when a charger connects. */
  connectTriggers: boolean;
  /** This node's id in a cluster on PostgreSQL; default hostname + a random suffix (src/app). */
  nodeId: string | undefined;
  /** How often a node on PostgreSQL writes its heartbeat (ms). */
  nodeHeartbeatMs: number;
  /** A node silent this long is declared dead and only its chargers go offline (ms). */
  nodeDeadMs: number;
  /** The base URL chargers reach this server's HTTP port at (firmware links); default: the Host the operator's request used. */
  publicUrl: string | undefined;
  /** Largest firmware image accepted by an upload, in MB. */
  firmwareMaxSize: number;
  /** Seconds without news from a charger after which a firmware update job is marked timed out. */
  firmwareJobTimeout: number;
  /** A scrape-only bearer token for GET /metrics (the operator token works too). */
  metricsToken: string | undefined;
  /** Seconds a SIGTERM/SIGINT drain may take before the process exits anyway. */
  drainTimeout: number;
  /** Meter values older than this many days are folded into daily totals and deleted; undefined keeps all. */
  retentionDays: number | undefined;
}

interface Option {
  flag: string;
  env: string;
  parse: (raw: string) => unknown;
  key: keyof ServeConfig;
  help: string;
}

function int(name: string, min: number, max: number) {
  return (raw: string): number => {
    const n = Number(raw);
    if (!Number.isInteger(n) || n < min || n > max) {
      throw new AmpereError('AMPERE_ERR_CONFIG', `${name} must be an integer from ${min} to ${max}, got "${raw}"`);
    }
    return n;
  };
}

function oneOf<T extends string>(name: string, values: readonly T[]) {
  return (raw: string): T => {
    if (!(values as readonly string[]).includes(raw)) {
      throw new AmpereError('AMPERE_ERR_CONFIG', `${name} must be one of ${values.join(', ')}, got "${raw}"`);
    }
    return raw as T;
  };
}

const text = (raw: string) => raw;

/** `https://a.example,http://localhost:5173`: exact origins, as browsers send them. */
function origins(raw: string): readonly string[] {
  const list = raw
    .split(',')
    .map((o) => o.trim())
    .filter((o) => o !== '');
  for (const o of list) {
    let parsed: URL | undefined;
    try {
      parsed = new URL(o);
    } catch {
      parsed = undefined;
    }
    if (!parsed || !/^https?:$/.test(parsed.protocol) || parsed.origin !== o) {
      throw new AmpereError(
        'AMPERE_ERR_CONFIG',
        `cors-origin: "${o}" is not an origin like https://ops.example.com or http://localhost:5173 (no path, no trailing slash, no *)`,
      );
    }
  }
  return Object.freeze(list);
}

/** mqtt://, mqtts://, ws://, wss:// broker URLs, or `embedded` with an optional embedded://user:pass@host:port. */
function mqttUrl(raw: string): string {
  if (raw === 'embedded') return raw;
  let u: URL | undefined;
  try {
    u = new URL(raw);
  } catch {
    u = undefined;
  }
  if (!u || !/^(mqtts?|wss?|embedded):$/.test(u.protocol)) {
    throw new AmpereError(
      'AMPERE_ERR_CONFIG',
      `mqtt must be mqtt://[user:pass@]host[:port], mqtts://…, or embedded[://[user:pass@]host:port], got "${raw.replace(/:[^:@/]*@/, ':***@')}"`,
    );
  }
  return raw;
}

/** http(s)://host[:port][/prefix] without a trailing slash: the start of the firmware links. */
function publicUrl(raw: string): string {
  let u: URL | undefined;
  try {
    u = new URL(raw);
  } catch {
    u = undefined;
  }
  if (!u || !/^https?:$/.test(u.protocol) || u.search || u.hash) {
    throw new AmpereError('AMPERE_ERR_CONFIG', `public-url must be http(s)://host[:port], got "${raw}"`);
  }
  return raw.replace(/\/+$/, '');
}

/** host or host:port of a KNXnet/IP gateway. */
function knxGateway(raw: string): string {
  const m = /^([^:\s]+)(?::(\d{1,5}))?$/.exec(raw);
  if (!m || (m[2] !== undefined && (Number(m[2]) < 1 || Number(m[2]) > 65535))) {
    throw new AmpereError('AMPERE_ERR_CONFIG', `knx must be host or host:port of a KNXnet/IP gateway, got "${raw}"`);
  }
  return raw;
}

/** Printable ASCII without spaces, as it appears in logs, `ampere nodes` and the database. */
function nodeId(raw: string): string {
  if (!/^[!-~]{1,100}$/.test(raw)) {
    throw new AmpereError(
      'AMPERE_ERR_CONFIG',
      `node-id must be 1 to 100 printable characters without spaces, got "${raw}"`,
    );
  }
  return raw;
}

/** A bearer token: at least 16 printable characters without spaces (it travels in a header). */
function secretToken(name: string) {
  return (raw: string): string => {
    if (!/^[\x21-\x7e]{16,}$/.test(raw)) {
      throw new AmpereError(
        'AMPERE_ERR_CONFIG',
        `${name} must be at least 16 printable characters without spaces (e.g. openssl rand -hex 24)`,
      );
    }
    return raw;
  };
}

export const SERVE_OPTIONS: Option[] = [
  { flag: 'host', env: 'AMPERE_HOST', key: 'host', parse: text, help: 'address to listen on (default 0.0.0.0)' },
  {
    flag: 'port',
    env: 'AMPERE_PORT',
    key: 'port',
    parse: int('port', 0, 65535),
    help: 'port for OCPP, API and UI (default 8180; 0 = any free port)',
  },
  { flag: 'data', env: 'AMPERE_DATA', key: 'data', parse: text, help: 'data folder (default ./data)' },
  {
    flag: 'db',
    env: 'AMPERE_DB',
    key: 'db',
    parse: text,
    help: 'database: a postgres:// URL, or a SQLite file (default DATA/ampere.db)',
  },
  {
    flag: 'api-token',
    env: 'AMPERE_API_TOKEN',
    key: 'apiToken',
    parse: text,
    help: 'operator API token (generated at first start when unset)',
  },
  {
    flag: 'registration',
    env: 'AMPERE_REGISTRATION',
    key: 'registration',
    parse: oneOf('registration', ['open', 'pending', 'known'] as const),
    help: 'unknown chargers: open (accept), pending (hold until approved; default), known (refuse)',
  },
  {
    flag: 'validation',
    env: 'AMPERE_VALIDATION',
    key: 'validation',
    parse: oneOf('validation', ['tolerant', 'strict'] as const),
    help: 'tolerant (default: repair known firmware deviations) or strict (reject every schema violation)',
  },
  {
    flag: 'heartbeat-interval',
    env: 'AMPERE_HEARTBEAT_INTERVAL',
    key: 'heartbeatInterval',
    parse: int('heartbeat-interval', 1, 86400),
    help: 'HeartbeatInterval answered at boot (s, default 300)',
  },
  {
    flag: 'boot-retry-interval',
    env: 'AMPERE_BOOT_RETRY_INTERVAL',
    key: 'bootRetryInterval',
    parse: int('boot-retry-interval', 1, 86400),
    help: 'retry interval for Pending/Rejected boots (s, default 60)',
  },
  {
    flag: 'ping-interval',
    env: 'AMPERE_PING_INTERVAL',
    key: 'pingInterval',
    parse: int('ping-interval', 0, 86400),
    help: 'WebSocket ping period (s, default 60; 0 = off)',
  },
  {
    flag: 'call-timeout',
    env: 'AMPERE_CALL_TIMEOUT',
    key: 'callTimeoutMs',
    parse: int('call-timeout', 100, 600000),
    help: 'how long to wait for a charger to answer (ms, default 30000)',
  },
  {
    flag: 'max-frame',
    env: 'AMPERE_MAX_FRAME',
    key: 'maxFrameBytes',
    parse: int('max-frame', 65536, 64 * 1024 * 1024),
    help: 'largest WebSocket message (bytes, default 1 MiB, at least 64 KiB)',
  },
  {
    flag: 'log-level',
    env: 'AMPERE_LOG_LEVEL',
    key: 'logLevel',
    parse: oneOf('log-level', ['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent'] as const),
    help: 'log level (default info)',
  },
  {
    flag: 'tls-cert',
    env: 'AMPERE_TLS_CERT',
    key: 'tlsCert',
    parse: text,
    help: 'server certificate (PEM): serve wss/https',
  },
  { flag: 'tls-key', env: 'AMPERE_TLS_KEY', key: 'tlsKey', parse: text, help: 'server private key (PEM)' },
  {
    flag: 'tls-ca',
    env: 'AMPERE_TLS_CA',
    key: 'tlsCa',
    parse: text,
    help: 'CA (PEM) for client certificates (security profile 3)',
  },
  {
    flag: 'tls-ciphers',
    env: 'AMPERE_TLS_CIPHERS',
    key: 'tlsCiphers',
    parse: text,
    help: 'TLS 1.2 cipher list (default: ECDHE-ECDSA/RSA with AES-GCM, see docs/security.md)',
  },
  {
    flag: 'ca-key',
    env: 'AMPERE_CA_KEY',
    key: 'caKey',
    parse: text,
    help: "CA private key (PEM) to sign chargers' CSRs (default DATA/certs/ca.key if present)",
  },
  {
    flag: 'plain-port',
    env: 'AMPERE_PLAIN_PORT',
    key: 'plainPort',
    parse: int('plain-port', 0, 65535),
    help: 'second, plain ws port for profile 0/1 chargers next to TLS (default off)',
  },
  {
    flag: 'cpo-name',
    env: 'AMPERE_CPO_NAME',
    key: 'cpoName',
    parse: text,
    help: 'CPO name: O of charger certificates (security profile 3)',
  },
  {
    flag: 'cn-check',
    env: 'AMPERE_CN_CHECK',
    key: 'cnCheck',
    parse: oneOf('cn-check', ['id', 'serial'] as const),
    help: 'profile 3: client certificate CN is the charge point id (default) or its serial number',
  },
  {
    flag: 'handshake-timeout',
    env: 'AMPERE_HANDSHAKE_TIMEOUT',
    key: 'handshakeTimeout',
    parse: int('handshake-timeout', 0, 600),
    help: 'seconds to complete TLS + HTTP upgrade (default 10; 0 = off)',
  },
  {
    flag: 'max-pending-connections',
    env: 'AMPERE_MAX_PENDING_CONNECTIONS',
    key: 'maxPendingConnections',
    parse: int('max-pending-connections', 0, 1_000_000),
    help: 'unauthenticated connections per remote address (default 500; 0 = no cap)',
  },
  {
    flag: 'rate-limit',
    env: 'AMPERE_RATE_LIMIT',
    key: 'rateLimit',
    parse: int('rate-limit', 0, 1_000_000),
    help: 'messages per second per charger before throttling (default 20; 0 = off)',
  },
  {
    flag: 'rate-burst',
    env: 'AMPERE_RATE_BURST',
    key: 'rateBurst',
    parse: int('rate-burst', 1, 1_000_000),
    help: 'messages a charger may send at once (default 200)',
  },
  {
    flag: 'cors-origin',
    env: 'AMPERE_CORS_ORIGIN',
    key: 'corsOrigins',
    parse: origins,
    help: 'browser origins allowed to call the API, comma-separated (default none: CORS off)',
  },
  {
    flag: 'mqtt',
    env: 'AMPERE_MQTT',
    key: 'mqtt',
    parse: mqttUrl,
    help: 'home-automation bridge: mqtt[s]://user:pass@host:port, or embedded[://user:pass@host:port] (default off)',
  },
  {
    flag: 'mqtt-ca',
    env: 'AMPERE_MQTT_CA',
    key: 'mqttCa',
    parse: text,
    help: "CA (PEM) of an mqtts broker's certificate",
  },
  {
    flag: 'bridge-config',
    env: 'AMPERE_BRIDGE_CONFIG',
    key: 'bridgeConfig',
    parse: text,
    help: 'bridge settings file: chargers, topic prefix, webhooks (default DATA/bridge.json)',
  },
  {
    flag: 'knx',
    env: 'AMPERE_KNX',
    key: 'knx',
    parse: knxGateway,
    help: 'KNXnet/IP tunnelling gateway host[:port] (default port 3671) for the bridge (default off)',
  },
  {
    flag: 'ftp-port',
    env: 'AMPERE_FTP_PORT',
    key: 'ftpPort',
    parse: int('ftp-port', 0, 65535),
    help: 'FTP server for diagnostics uploads on this port (0 = any free port; default off)',
  },
  {
    flag: 'ftp-passive-ports',
    env: 'AMPERE_FTP_PASSIVE_PORTS',
    key: 'ftpPassivePorts',
    parse: portRange,
    help: 'passive data ports of the FTP server, MIN-MAX (default any free port)',
  },
  {
    flag: 'public-host',
    env: 'AMPERE_PUBLIC_HOST',
    key: 'publicHost',
    parse: text,
    help: "host or address chargers reach Ampere at, for diagnostics upload locations (default this machine's first address)",
  },
  {
    flag: 'diagnostics-max-mb',
    env: 'AMPERE_DIAGNOSTICS_MAX_MB',
    key: 'diagnosticsMaxMb',
    parse: int('diagnostics-max-mb', 1, 10240),
    help: 'largest diagnostics upload (MB, default 50)',
  },
  {
    flag: 'diagnostics-ttl',
    env: 'AMPERE_DIAGNOSTICS_TTL',
    key: 'diagnosticsTtl',
    parse: int('diagnostics-ttl', 10, 7 * 86400),
    help: 'lifetime of a diagnostics upload credential (s, default 3600)',
  },
  {
    flag: 'connect-triggers',
    env: 'AMPERE_CONNECT_TRIGGERS',
    key: 'connectTriggers',
    parse: onOff('connect-triggers'),
    help: 'on a connect, trigger StatusNotification (and BootNotification if never Accepted) where supported (default on)',
  },
  {
    flag: 'node-id',
    env: 'AMPERE_NODE_ID',
    key: 'nodeId',
    parse: nodeId,
    help: 'this node in a cluster on PostgreSQL (default hostname-random)',
  },
  {
    flag: 'node-heartbeat',
    env: 'AMPERE_NODE_HEARTBEAT',
    key: 'nodeHeartbeatMs',
    parse: int('node-heartbeat', 100, 600000),
    help: 'how often a node on PostgreSQL writes its heartbeat (ms, default 2000)',
  },
  {
    flag: 'node-dead-after',
    env: 'AMPERE_NODE_DEAD_AFTER',
    key: 'nodeDeadMs',
    parse: int('node-dead-after', 300, 3600000),
    help: 'a node silent this long is dead; only its chargers go offline (ms, default 10000)',
  },
  {
    flag: 'public-url',
    env: 'AMPERE_PUBLIC_URL',
    key: 'publicUrl',
    parse: publicUrl,
    help: "http(s)://host[:port] chargers reach this server at, for firmware links (default: the operator request's Host)",
  },
  {
    flag: 'firmware-max-size',
    env: 'AMPERE_FIRMWARE_MAX_SIZE',
    key: 'firmwareMaxSize',
    parse: int('firmware-max-size', 1, 4096),
    help: 'largest firmware image an upload may carry, in MB (default 256)',
  },
  {
    flag: 'firmware-job-timeout',
    env: 'AMPERE_FIRMWARE_JOB_TIMEOUT',
    key: 'firmwareJobTimeout',
    parse: int('firmware-job-timeout', 1, 30 * 86400),
    help: 'seconds without a firmware status from a charger before its update is marked timed out (default 3600)',
  },
  {
    flag: 'metrics-token',
    env: 'AMPERE_METRICS_TOKEN',
    key: 'metricsToken',
    parse: secretToken('metrics-token'),
    help: 'bearer token that may read /metrics and nothing else (the operator token works too)',
  },
  {
    flag: 'drain-timeout',
    env: 'AMPERE_DRAIN_TIMEOUT',
    key: 'drainTimeout',
    parse: int('drain-timeout', 1, 3600),
    help: 'seconds SIGTERM/SIGINT may take to drain (close chargers, finish commits) before exiting (default 30)',
  },
  {
    flag: 'retention-days',
    env: 'AMPERE_RETENTION_DAYS',
    key: 'retentionDays',
    parse: int('retention-days', 1, 36500),
    help: 'keep raw meter values this many days, then fold them into daily totals per connector (default: keep all)',
  },
];

export const DEFAULTS: ServeConfig = {
  host: '0.0.0.0',
  port: 8180,
  data: './data',
  db: undefined,
  apiToken: undefined,
  registration: 'pending',
  validation: 'tolerant',
  heartbeatInterval: 300,
  bootRetryInterval: 60,
  pingInterval: 60,
  callTimeoutMs: 30_000,
  maxFrameBytes: 1024 * 1024,
  logLevel: 'info',
  tlsCert: undefined,
  tlsKey: undefined,
  tlsCa: undefined,
  tlsCiphers: undefined,
  caKey: undefined,
  plainPort: undefined,
  cpoName: undefined,
  cnCheck: 'id',
  handshakeTimeout: 10,
  maxPendingConnections: 500,
  rateLimit: 20,
  rateBurst: 200,
  corsOrigins: [],
  mqtt: undefined,
  mqttCa: undefined,
  bridgeConfig: undefined,
  knx: undefined,
  ftpPort: undefined,
  ftpPassivePorts: undefined,
  publicHost: undefined,
  diagnosticsMaxMb: 50,
  diagnosticsTtl: 3600,
  connectTriggers: true,
  nodeId: undefined,
  nodeHeartbeatMs: 2000,
  nodeDeadMs: 10_000,
  publicUrl: undefined,
  firmwareMaxSize: 256,
  firmwareJobTimeout: 3600,
  metricsToken: undefined,
  drainTimeout: 30,
  retentionDays: undefined,
};

/** `min-max` passive port range of the FTP server. */
function portRange(raw: string): readonly [number, number] {
  const m = /^(\d{1,5})-(\d{1,5})$/.exec(raw);
  const lo = Number(m?.[1]);
  const hi = Number(m?.[2]);
  if (!m || lo < 1024 || hi > 65535 || lo > hi) {
    throw new AmpereError('AMPERE_ERR_CONFIG', `ftp-passive-ports must be MIN-MAX within 1024-65535, got "${raw}"`);
  }
  return Object.freeze([lo, hi] as const);
}

function onOff(name: string) {
  return (raw: string): boolean => {
    if (raw === 'on' || raw === 'true') return true;
    if (raw === 'off' || raw === 'false') return false;
    throw new AmpereError('AMPERE_ERR_CONFIG', `${name} must be on or off, got "${raw}"`);
  };
}

/** Levenshtein distance, for "did you mean" hints on misspelt keys. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0]!;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const cur = row[j]!;
      row[j] = Math.min(row[j]! + 1, row[j - 1]! + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = cur;
    }
  }
  return row[b.length]!;
}

export function hint(name: string, known: string[]): string {
  let best = '';
  let bestD = Number.POSITIVE_INFINITY;
  for (const k of known) {
    const d = distance(name.toLowerCase(), k.toLowerCase());
    if (d < bestD) {
      best = k;
      bestD = d;
    }
  }
  return bestD <= Math.max(2, Math.floor(name.length / 3)) ? ` (did you mean ${best}?)` : '';
}

/** Environment variables that are read elsewhere by libraries, or by other commands, and so not ours to reject. */
const FOREIGN_ENV = new Set(['AMPERE_URL', /* bin/ampere.js: run the build or the sources */ 'AMPERE_FROM']);

/** Parses `--flag value` / `--flag=value` pairs and AMPERE_* variables. Flags win over the environment. */
export function loadServeConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): Readonly<ServeConfig> {
  const out: ServeConfig = { ...DEFAULTS };
  const byEnv = new Map(SERVE_OPTIONS.map((o) => [o.env, o]));
  for (const [name, value] of Object.entries(env)) {
    if (!name.startsWith('AMPERE_') || value === undefined || FOREIGN_ENV.has(name)) continue;
    const opt = byEnv.get(name);
    if (!opt) {
      throw new AmpereError(
        'AMPERE_ERR_CONFIG',
        `Unknown environment variable ${name}${hint(name, [...byEnv.keys()])}`,
      );
    }
    (out as unknown as Record<string, unknown>)[opt.key] = opt.parse(value);
  }
  const byFlag = new Map(SERVE_OPTIONS.map((o) => [o.flag, o]));
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) throw new AmpereError('AMPERE_ERR_CONFIG', `Unexpected argument "${arg}"`);
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    const opt = byFlag.get(name);
    if (!opt) {
      throw new AmpereError(
        'AMPERE_ERR_CONFIG',
        `Unknown flag --${name}${hint(name, [...byFlag.keys()]).replace('mean ', 'mean --')}`,
      );
    }
    let value: string | undefined;
    if (eq > 0) value = arg.slice(eq + 1);
    else {
      value = argv[i + 1];
      i++;
    }
    if (value === undefined) throw new AmpereError('AMPERE_ERR_CONFIG', `--${name} needs a value`);
    (out as unknown as Record<string, unknown>)[opt.key] = opt.parse(value);
  }
  if ((out.tlsCert === undefined) !== (out.tlsKey === undefined)) {
    throw new AmpereError('AMPERE_ERR_CONFIG', '--tls-cert and --tls-key go together');
  }
  if (out.plainPort !== undefined && out.tlsCert === undefined) {
    throw new AmpereError('AMPERE_ERR_CONFIG', '--plain-port is a second, plain port next to TLS: it needs --tls-cert');
  }
  if (out.tlsCa !== undefined && out.tlsCert === undefined) {
    throw new AmpereError(
      'AMPERE_ERR_CONFIG',
      '--tls-ca checks client certificates: it needs --tls-cert and --tls-key',
    );
  }
  if (out.nodeDeadMs < 2 * out.nodeHeartbeatMs) {
    throw new AmpereError(
      'AMPERE_ERR_CONFIG',
      `--node-dead-after (${out.nodeDeadMs} ms) must be at least two heartbeats (--node-heartbeat ${out.nodeHeartbeatMs} ms)`,
    );
  }
  return Object.freeze(out);
}

export function serveHelp(): string {
  return SERVE_OPTIONS.map((o) => `  --${o.flag.padEnd(20)} ${o.env.padEnd(28)} ${o.help}`).join('\n');
}
