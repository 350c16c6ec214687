// The composition root (docs/architecture.md): builds the store, the central system, the gateway and the
// HTTP surfaces from one config object, and wires them. Only this file constructs concrete things.
import { randomBytes } from 'node:crypto';
import { mkdirSync } from 'node:fs';
import { hostname, networkInterfaces } from 'node:os';
import { join } from 'node:path';
import { type Logger, pino } from 'pino';
import { type ApiRoute, createApi, type ReadinessCheck, resolveApiToken } from '../api/index.ts';
import { ClusterDirectory, ClusterEvents, ClusterNode, RoutedCommandSender } from '../central/cluster/index.ts';
import {
  BOOT_HOLD_MS,
  CentralSystem,
  type ChargerDirectory,
  CONNECT_TRIGGER_AFTER_BOOT_MS,
  type CommandSender,
  ConnectTriggers,
  Diagnostics,
  EventBus,
  FirmwareImages,
  FirmwareRollouts,
  FirmwareService,
  Gateway,
  loadFirmwareSecret,
  type RunningFtpServer,
  rebootWindowTick,
  startConfigPolicies,
  startFtpServer,
  startLocalLists,
  unrefTimers,
} from '../central/index.ts';
import { SmartController } from '../central/smart/controller.ts';
import type { ServeConfig } from '../config/index.ts';
import { createValidator } from '../ocpp/index.ts';
import type { NodeRecord } from '../store/cluster.ts';

export type { NodeRecord } from '../store/cluster.ts';

import type { PostgresCluster } from '../store/postgres-cluster.ts';
import { type Retention, startRetention } from '../store/retention.ts';
import { openSqliteStore } from '../store/sqlite.ts';
import type { CommitObserver, Store } from '../store/types.ts';
import { ensureUi } from '../ui/index.ts';
import { type RunningBridge, startBridge } from './bridge.ts';
import { Metrics } from './metrics.ts';
import { secureServing } from './tls.ts';

export interface RunningServer {
  url: string;
  port: number;
  central: CentralSystem;
  smart: SmartController;
  store: Store;
  log: Logger;
  /** The operator API's bearer token (configured, stored or generated at this start). */
  apiToken: string;
  /** Every route the API registered (tests compare them with the OpenAPI document). */
  apiRoutes: readonly ApiRoute[];
  /** The plain second port for profile 0/1 chargers (--plain-port), when open. */
  plainPort?: number;
  /** The home-automation bridge (MQTT, Home Assistant, webhooks) and its embedded broker's port. */
  bridge: RunningBridge;
  /** The FTP server for diagnostics uploads (--ftp-port), when on. */
  ftp?: RunningFtpServer;
  /** This node of a cluster on PostgreSQL (absent on SQLite); `registered` is a readiness check. */
  clusterNode?: ClusterNode;
  /** Re-reads the TLS certificate, key and CA (SIGHUP) without dropping chargers. */
  reloadTls(): boolean;
  /** Prometheus metrics (GET /metrics). */
  metrics: Metrics;
  /**
   * Graceful stop (SIGTERM): refuse new requests and connections (503, /ready too), close
   * chargers with 1001 so they reconnect to another node, finish queued commits, then close.
   */
  drain(): Promise<void>;
  close(): Promise<void>;
}

/** How long GET /ready waits for each readiness check (ms). */
export const READY_TIMEOUT_MS = 2000;
/** How long a drain waits for chargers to close their side after the 1001 close frame (ms). */
const CHARGER_CLOSE_WAIT_MS = 2000;

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

/** The host chargers reach this machine at, when --public-host is not given. */
function defaultPublicHost(listenHost: string): string {
  if (listenHost !== '0.0.0.0' && listenHost !== '::') return listenHost;
  for (const list of Object.values(networkInterfaces())) {
    for (const a of list ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  return '127.0.0.1';
}

function isPostgres(db: string | undefined): db is string {
  return db?.startsWith('postgres://') === true || db?.startsWith('postgresql://') === true;
}

/** The default node id: the machine's name and a random suffix, so two processes on one host differ. */
function defaultNodeId(): string {
  return `${hostname()}-${randomBytes(3).toString('hex')}`;
}

async function openStore(config: ServeConfig, onCommit: CommitObserver): Promise<Store> {
  if (isPostgres(config.db)) {
    // Imported only here: pg is not loaded by a server on SQLite (issue 14, start time).
    const { openPostgresStore } = await import('../store/postgres.ts');
    return openPostgresStore({ url: config.db, onCommit });
  }
  mkdirSync(config.data, { recursive: true });
  return openSqliteStore({ file: config.db ?? join(config.data, 'ampere.db'), onCommit });
}

export async function startServer(
  config: Readonly<ServeConfig>,
  log: Logger = createLogger(config.logLevel),
  /** Tests move time (e.g. past a credential's expiry); the server itself reads the system clock. */
  clock: { now(): number } = { now: () => Date.now() },
): Promise<RunningServer> {
  const nodeId = config.nodeId ?? defaultNodeId();
  // Read at each scrape; `central` exists by the time anything is scraped.
  const metrics = new Metrics({
    nodeId,
    connectedChargers: (): number => central.connectedIds().length,
  });
  const store = await openStore(config, metrics.commit);
  // On PostgreSQL every process is a node of a cluster (a cluster of one, alone): a start marks
  // offline only the chargers no live node holds, never the other nodes' (src/central/cluster).
  let backplane: PostgresCluster | undefined;
  if (isPostgres(config.db)) {
    // Imported only here: pg is not loaded by a server on SQLite (issue 14, start time).
    const { openPostgresCluster } = await import('../store/postgres-cluster.ts');
    backplane = await openPostgresCluster({ url: config.db, nodeId }).catch(async (e) => {
      await store.close();
      throw e;
    });
  } else {
    await store.markAllDisconnected(clock.now());
  }
  const events = new EventBus({ now: clock.now });
  const directory = backplane ? new ClusterDirectory({ backplane, clock, log }) : undefined;
  const validator = createValidator();
  const secure = secureServing(config, log);
  const central = new CentralSystem({
    store,
    validator,
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
    security: secure.security,
    metrics,
    ...(directory ? { connections: directory } : {}),
  });
  let routed: (CommandSender & ChargerDirectory) | undefined;
  let routedSender: RoutedCommandSender | undefined;
  let clusterEvents: ClusterEvents | undefined;
  let clusterNode: ClusterNode | undefined;
  if (backplane && directory) {
    directory.onTakeover((chargerId, toNode) => central.handOver(chargerId, toNode));
    routedSender = new RoutedCommandSender({
      backplane,
      directory,
      local: central,
      timers: unrefTimers,
      callTimeoutMs: config.callTimeoutMs,
      log,
    });
    const sender = routedSender;
    routed = {
      call: (id, action, payload) => sender.call(id, action, payload),
      isConnected: (id) => directory.isConnected(id),
      connectedIds: () => directory.connectedIds(),
    };
    clusterEvents = new ClusterEvents({ backplane, local: events, timers: unrefTimers, log });
    await clusterEvents.start();
    clusterNode = new ClusterNode({
      backplane,
      directory,
      events,
      clock,
      timers: unrefTimers,
      log,
      address: null,
      settings: { heartbeatMs: config.nodeHeartbeatMs, deadAfterMs: config.nodeDeadMs, keepEvents: 100_000 },
    });
    await clusterNode.start();
  }
  const listNodes = async (): Promise<NodeRecord[]> => {
    if (backplane) return backplane.nodes();
    const at = new Date(clock.now()).toISOString();
    return [
      {
        id: nodeId,
        address: url,
        startedAt,
        heartbeatAt: at,
        alive: true,
        stoppedAt: null,
        chargers: central.connectedIds().length,
      },
    ];
  };
  const startedAt = new Date(clock.now()).toISOString();
  // From SIGTERM on: /ready says 503, new requests and charger connections are refused.
  let draining = false;
  // What GET /ready checks (the composition root adds one per dependency that must answer).
  const readiness: ReadinessCheck[] = [{ name: 'store', check: () => store.ping() }];
  // A node of a cluster is ready once registered (and while its heartbeat finds it alive).
  if (clusterNode) {
    const node = clusterNode;
    readiness.push({
      name: 'node',
      check: async () => {
        if (!node.registered) throw new Error(`node ${node.id} is not registered`);
      },
    });
  }
  const gateway = new Gateway({
    central,
    maxFrameBytes: config.maxFrameBytes,
    pingInterval: config.pingInterval,
    authorizeUpgrade: (req, id) =>
      draining
        ? Promise.resolve({ status: 503, message: 'The server is shutting down: connect to another node' })
        : central.security.authorizeUpgrade(req, id),
    ...secure.gateway,
  });
  mkdirSync(config.data, { recursive: true });
  // On PostgreSQL several nodes may share the sites: one leads each (an advisory lock per site).
  const leases = isPostgres(config.db)
    ? (await import('../store/postgres-leases.ts')).openPostgresLeases({
        url: config.db,
        onLost: (err) => log.warn({ err: err.message }, 'smart charging: leases lost with their connection'),
      })
    : undefined;
  const smart = new SmartController({
    store,
    // A site's leader may be a node that does not hold the site's chargers: routed on PostgreSQL.
    commands: routed ?? central,
    directory: routed ?? central,
    events,
    clock,
    log,
    ...(leases ? { leases } : {}),
  });
  await smart.start();
  central.security.certificates.start();
  // Configuration policies: sent after every Accepted boot (src/central/config-policies.ts).
  const stopConfigPolicies = startConfigPolicies(central);
  // Reboot window: chargers with RebootRequired policy keys are reset inside it, checked each minute.
  const rebootTimer = setInterval(() => void rebootWindowTick(central), 60_000);
  rebootTimer.unref();
  // Local authorisation lists: reconciled after every Accepted boot (src/central/local-lists.ts).
  const stopLocalLists = startLocalLists(central);
  // Triggers on connect (src/central/after-boot.ts): fresh connector states after a boot or reconnect.
  const connectTriggers = new ConnectTriggers(central, {
    enabledByDefault: config.connectTriggers,
    // A charger that boots does so first: ask only once the boot hold of a new connection is over.
    quietMs: BOOT_HOLD_MS + 500,
    afterBootMs: CONNECT_TRIGGER_AFTER_BOOT_MS,
    schedule: (fn, ms) => void unrefTimers.setTimeout(fn, ms),
  });
  connectTriggers.start();
  // Diagnostics uploads (src/central/diagnostics.ts): FTP with --ftp-port, HTTP on the main port.
  const publicHost = config.publicHost ?? defaultPublicHost(config.host);
  let ftp: RunningFtpServer | undefined;
  let httpBase = '';
  const diagnostics = new Diagnostics({
    central,
    dir: join(config.data, 'diagnostics'),
    endpoints: { ftp: () => ftp?.url, http: () => httpBase },
    maxBytes: config.diagnosticsMaxMb * 1024 * 1024,
    credentialTtlMs: config.diagnosticsTtl * 1000,
  });
  diagnostics.start();
  if (config.ftpPort !== undefined) {
    ftp = await startFtpServer({
      host: config.host,
      port: config.ftpPort,
      publicHost,
      passivePorts: config.ftpPassivePorts,
      diagnostics,
      log,
    });
  }
  const bridge = await startBridge(config, central, smart, log, routed);
  // Firmware: images under DATA/firmware, jobs followed from status notices and boots, rollouts.
  const firmware = new FirmwareService(
    central,
    new FirmwareImages(
      store.firmware,
      config.data,
      loadFirmwareSecret(config.data),
      clock.now,
      config.firmwareMaxSize * 1024 * 1024,
    ),
    { jobTimeoutS: config.firmwareJobTimeout },
  );
  firmware.start();
  const rollouts = new FirmwareRollouts(firmware);
  rollouts.start();
  const firmwareSweep = setInterval(
    () => {
      firmware
        .sweep()
        .then(() => rollouts.pumpAll())
        .catch((e) => log.warn({ err: (e as Error).message }, 'firmware sweep failed'));
    },
    Math.min(60_000, config.firmwareJobTimeout * 250),
  );
  firmwareSweep.unref();
  // Meter-value retention (--retention-days): folds old rows into daily totals, hourly.
  const retention: Retention | undefined =
    config.retentionDays === undefined
      ? undefined
      : startRetention({
          store,
          days: config.retentionDays,
          clock,
          timers: unrefTimers,
          log,
        });
  const token = resolveApiToken(config.data, config.apiToken);
  if (token.source === 'generated') {
    // Printed once, to the terminal only: never through the logger.
    process.stderr.write(
      `ampere: generated the operator API token (kept in ${token.file}, shown only now):\n  ${token.token}\n`,
    );
  }
  // The web console: built now if `npm ci` did not (or its sources changed since).
  const ui = await ensureUi();
  if (ui.problem) log.warn({ problem: ui.problem }, 'web console');
  // One port for everything: the API answers HTTP requests, the gateway takes WebSocket upgrades.
  const { app: api, routes: apiRoutes } = await createApi({
    ui,
    tokenFile: token.file,
    central,
    smart,
    validator,
    token: token.token,
    log,
    corsOrigins: config.corsOrigins,
    bridge: bridge.bridge,
    diagnostics,
    connectTriggers,
    ...(routed ? { commands: routed, directory: routed } : {}),
    ...(clusterEvents ? { eventLog: clusterEvents } : {}),
    nodes: listNodes,
    firmware: { service: firmware, rollouts, ...(config.publicUrl ? { publicUrl: config.publicUrl } : {}) },
    ops: {
      readiness,
      readyTimeoutMs: READY_TIMEOUT_MS,
      draining: () => draining,
      metrics,
      metricsTokens: config.metricsToken ? [token.token, config.metricsToken] : [token.token],
    },
    // http, or https with --tls-cert (src/app/tls.ts); the gateway takes the upgrades either way.
    serverFactory: (handler) => secure.createServer(handler, gateway),
  });
  await api.listen({ port: config.port, host: config.host });
  const address = api.server.address();
  const port = typeof address === 'object' && address ? address.port : config.port;
  const shownHost = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;
  const plainPort = await secure.listenPlain(gateway, config.host);
  const url = `${secure.scheme}://${shownHost.includes(':') ? `[${shownHost}]` : shownHost}:${port}`;
  httpBase = `${secure.scheme}://${publicHost.includes(':') ? `[${publicHost}]` : publicHost}:${port}`;
  await backplane?.setAddress(
    `${shownHost === '127.0.0.1' && config.host !== '127.0.0.1' ? hostname() : shownHost}:${port}`,
  );
  log.info({ url, registration: config.registration, validation: config.validation }, 'ampere listening');

  let closing: Promise<void> | undefined;
  const close = () => {
    closing ??= (async () => {
      await smart.stop();
      await leases?.close();
      central.security.certificates.stop();
      stopConfigPolicies();
      clearInterval(rebootTimer);
      stopLocalLists();
      diagnostics.stop();
      connectTriggers.stop();
      await ftp?.close();
      clearInterval(firmwareSweep);
      rollouts.stop();
      firmware.stop();
      await bridge.close();
      await retention?.stop();
      routedSender?.close();
      central.closeAll();
      await clusterNode?.stop();
      await clusterEvents?.close();
      await backplane?.close();
      gateway.close();
      await secure.close();
      await api.close();
      await store.close();
      log.info('ampere stopped');
      log.flush();
    })();
    return closing;
  };
  const drain = async () => {
    draining = true;
    log.info({ chargers: gateway.connections }, 'draining: closing chargers with 1001');
    // RFC 6455 §7.4.1: 1001 "going away"; chargers reconnect, through the load balancer, elsewhere.
    central.closeAll(1001, 'Server shutting down');
    const until = Date.now() + CHARGER_CLOSE_WAIT_MS;
    while (gateway.connections > 0 && Date.now() < until) await new Promise((r) => setTimeout(r, 20));
    // close() stops the listeners, then the store finishes its queued commits before it closes.
    await close();
  };
  return {
    url,
    port,
    central,
    smart,
    store,
    log,
    apiToken: token.token,
    apiRoutes,
    bridge,
    ...(clusterNode ? { clusterNode } : {}),
    ...(plainPort !== undefined ? { plainPort } : {}),
    ...(ftp ? { ftp } : {}),
    reloadTls: secure.reload,
    metrics,
    drain,
    close,
  };
}
