// The central system: the registry of connected chargers, the dispatch of their CALLs to the
// handlers of each feature profile, and the commands Ampere sends to them.
import type { Logger } from 'pino';
import { AmpereError } from '../errors.ts';
import {
  type Action,
  type ActionMap,
  type CentralAction,
  type IncomingCall,
  OcppError,
  RpcSession,
  type SessionLogger,
  type Timers,
  type Validator,
} from '../ocpp/index.ts';
import type { ChargerPatch, ChargerRecord, Store } from '../store/types.ts';
import type { EventBus } from './events.ts';
import { afterCommand } from './handlers/after-command.ts';
import type { HandlerContext, HandlerHost } from './handlers/context.ts';
import { HANDLERS } from './handlers/index.ts';
import { type BootAnswer, type CentralSettings, ChargerLink, type Transport } from './link.ts';
import type { CentralMetrics } from './metrics.ts';
import type { Clock } from './ports.ts';
import { ChargerSecurity, redactPayload, type SecuritySettings } from './security/charger-security.ts';

export { type BootAnswer, type CentralSettings, ChargerLink, type RegistrationPolicy, type Transport } from './link.ts';
export type { Clock } from './ports.ts';

export interface CentralDeps {
  store: Store;
  validator: Validator;
  log: Logger;
  events: EventBus;
  clock: Clock;
  settings: CentralSettings;
  timers?: Timers;
  /** Security profiles, CPO name, the built-in CA (src/central/security). */
  security?: Partial<SecuritySettings>;
  /** Operations metrics (messages by action, CALLERRORs, command round trips); none when absent. */
  metrics?: CentralMetrics;
  /** Where connections are recorded; default the store (one node). A cluster claims them per node. */
  connections?: ConnectionRecorder;
}

/** Records a charger's connection opening and closing (src/central/cluster: a claim per node). */
export interface ConnectionRecorder {
  opened(link: ChargerLink): Promise<void>;
  /** True when the charger is offline now; false when a newer connection (maybe on another node) holds it. */
  closed(link: ChargerLink): Promise<boolean>;
}

const HANDLED: ReadonlySet<string> = new Set(Object.keys(HANDLERS));
/** How often the lastSeenAt of active chargers is written. */
const LAST_SEEN_FLUSH_MS = 1000;

/**
 * A session's logger. The charger's pino child is made when the session first logs: most sessions
 * never do, a pino child per connection is a visible share of a reconnect storm's CPU, and one
 * object per connection holds less than a set of closures (memory per idle charger).
 */
class ChargerLog implements SessionLogger {
  #child: Logger | undefined;
  constructor(
    private readonly parent: Logger,
    private readonly chargerId: string,
  ) {}

  #logger(): Logger {
    this.#child ??= this.parent.child({ chargerId: this.chargerId });
    return this.#child;
  }

  debug(o: object, m?: string): void {
    if (this.parent.isLevelEnabled('debug')) this.#logger().debug(o, m);
  }

  info(o: object, m?: string): void {
    if (this.parent.isLevelEnabled('info')) this.#logger().info(o, m);
  }

  warn(o: object, m?: string): void {
    this.#logger().warn(o, m);
  }

  error(o: object, m?: string): void {
    this.#logger().error(o, m);
  }
}

/** On one node the central system is itself the charger directory and the command sender (ports.ts). */
export class CentralSystem implements HandlerHost {
  readonly store: Store;
  readonly events: EventBus;
  readonly log: Logger;
  readonly clock: Clock;
  readonly settings: CentralSettings;
  /** Security profiles, AuthorizationKey rotation, profile raises, CSR signing. */
  readonly security: ChargerSecurity;
  private readonly validator: Validator;
  private readonly timers: Timers | undefined;
  private readonly connections: ConnectionRecorder | undefined;
  private readonly metrics: CentralMetrics | undefined;
  private readonly links = new Map<string, ChargerLink>();
  /** Cached charger records of connected chargers (settings read on every message). */
  private readonly records = new Map<string, ChargerRecord>();
  /** The last BootNotification answer per charger id, kept across reconnects. */
  private readonly bootAnswers = new Map<string, BootAnswer>();
  /** lastSeenAt per charger not yet written (see noteSeen). */
  private readonly lastSeen = new Map<string, number>();
  private lastSeenTimer: NodeJS.Timeout | undefined;

  constructor(deps: CentralDeps) {
    this.store = deps.store;
    this.validator = deps.validator;
    this.log = deps.log;
    this.events = deps.events;
    this.clock = deps.clock;
    this.settings = deps.settings;
    this.timers = deps.timers;
    this.connections = deps.connections;
    this.metrics = deps.metrics;
    this.security = new ChargerSecurity(
      {
        store: this.store,
        events: this.events,
        clock: this.clock,
        log: this.log,
        commands: this,
        directory: this,
        admin: this,
      },
      deps.security,
    );
  }

  // ------------------------------------------------------------------ connections

  isConnected(chargerId: string): boolean {
    return this.links.has(chargerId);
  }

  connectedIds(): string[] {
    return [...this.links.keys()];
  }

  link(chargerId: string): ChargerLink | undefined {
    return this.links.get(chargerId);
  }

  /**
   * Called by the gateway once a charger's WebSocket is open. A second connection replaces the
   * first. `known` is the charger's row as the gateway read it at the upgrade a moment ago
   * (null: none), so it is not read twice; absent, attach reads it.
   */
  async attach(
    chargerId: string,
    transport: Transport,
    remoteAddress: string | null,
    known?: ChargerRecord | null,
  ): Promise<ChargerLink> {
    const old = this.links.get(chargerId);
    if (old) {
      this.log.info({ chargerId }, 'new connection replaces the old one');
      this.detach(old, 'replaced');
      old.transport.close(1000, 'Replaced by a new connection');
    }
    const now = this.clock.now();
    const link = new ChargerLink(chargerId, transport, remoteAddress, now, (l) => this.newSession(l));
    this.links.set(chargerId, link);
    const bootAnswer = this.bootAnswers.get(chargerId);
    if (bootAnswer) link.bootAnswer = bootAnswer;
    const record = known === undefined ? await this.store.getCharger(chargerId) : known;
    if (record && !link.closed) this.records.set(chargerId, record);
    if (this.connections) await this.connections.opened(link);
    // A charger without a row yet has no connection to mark: its first BootNotification stores
    // the row and the connection together (handlers/core.ts).
    else if (record) await this.store.setConnection(chargerId, true, remoteAddress, now);
    this.events.emit('charger.connected', chargerId, { remoteAddress });
    this.log.info({ chargerId, remoteAddress }, 'charger connected');
    return link;
  }

  receive(link: ChargerLink, text: string): void {
    link.session.receive(text);
  }

  /** Called by the gateway when the socket closed (or by attach when replaced). */
  detach(link: ChargerLink, reason = 'closed'): void {
    if (link.closed) return;
    link.closed = true;
    link.session.close(
      new AmpereError('AMPERE_ERR_SESSION_CLOSED', `The connection ${reason} before the charger answered`),
    );
    if (this.links.get(link.chargerId) === link) {
      this.links.delete(link.chargerId);
      this.records.delete(link.chargerId);
      if (this.connections) {
        // In a cluster the charger may already be connected to another node: offline only if not.
        this.connections.closed(link).then(
          (offline) => {
            if (offline) this.events.emit('charger.disconnected', link.chargerId, { reason });
          },
          (e) => this.log.error({ err: e, chargerId: link.chargerId }, 'could not store disconnection'),
        );
      } else {
        this.store
          .setConnection(link.chargerId, false, link.remoteAddress, this.clock.now())
          .catch((e) => this.log.error({ err: e, chargerId: link.chargerId }, 'could not store disconnection'));
        this.events.emit('charger.disconnected', link.chargerId, { reason });
      }
      this.log.info({ chargerId: link.chargerId, reason }, 'charger disconnected');
    }
  }

  /**
   * Another node holds the charger now (cluster takeover): this node's socket is stale. It is
   * closed without marking the charger offline and without a disconnection event.
   */
  handOver(chargerId: string, toNode: string): boolean {
    const link = this.links.get(chargerId);
    if (!link) return false;
    link.closed = true;
    this.links.delete(chargerId);
    this.records.delete(chargerId);
    link.session.close(
      new AmpereError('AMPERE_ERR_SESSION_CLOSED', `The charger connected to node ${toNode} before it answered`),
    );
    link.transport.close(1000, 'Connected to another node');
    this.log.info({ chargerId, toNode }, 'charger taken over by another node');
    return true;
  }

  private newSession(link: ChargerLink): RpcSession {
    const log = new ChargerLog(this.log, link.chargerId);
    return new RpcSession({
      validator: this.validator,
      mode: () => this.records.get(link.chargerId)?.validationMode ?? this.settings.validation,
      send: (text) => link.transport.send(text),
      handle: (call) => this.dispatch(link, call),
      handles: HANDLED,
      callTimeoutMs: this.settings.callTimeoutMs,
      ...(this.timers ? { timers: this.timers } : {}),
      log,
      holdCallsMs: holdCallsMs(this.bootAnswers.get(link.chargerId)),
      onCallError: (e) => {
        this.metrics?.callError(e.direction, e.code);
        this.events.emit('callerror', link.chargerId, {
          direction: e.direction,
          uniqueId: e.uniqueId,
          action: e.action,
          code: e.code,
          description: e.description,
        });
      },
      ...(this.metrics
        ? {
            onCall: (direction: 'in' | 'out', action: string) => this.metrics?.call(direction, action),
            onCallDone: (e: { action: string; ok: boolean; ms: number }) =>
              this.metrics?.commandDone(e.action, e.ok, e.ms),
          }
        : {}),
    });
  }

  private dispatch(link: ChargerLink, call: IncomingCall): Promise<object> {
    const handler = HANDLERS[call.action as keyof typeof HANDLERS] as
      | ((c: HandlerContext, p: unknown) => Promise<object>)
      | undefined;
    if (!handler) throw new OcppError('NotSupported', `${call.action} is not supported`);
    const now = this.clock.now();
    this.noteSeen(link.chargerId, now);
    const ctx: HandlerContext = { central: this, link, chargerId: link.chargerId, now, call };
    if (call.findings.length === 0) return handler(ctx, call.payload);
    const findings = this.store.recordFindings(
      link.chargerId,
      call.action,
      call.findings.map((f) => ({
        path: f.path,
        rule: f.rule,
        original: (f.original ?? null) as never,
        repaired: (f.repaired ?? null) as never,
      })),
      now,
    );
    this.events.emit('conformance.finding', link.chargerId, { action: call.action, findings: call.findings });
    return Promise.all([handler(ctx, call.payload), findings]).then(([result]) => result);
  }

  // ------------------------------------------------------------------ last seen

  /**
   * lastSeenAt is presence metadata, not charger data: it is kept in memory and written at most
   * every LAST_SEEN_FLUSH_MS (and at disconnect, which stores the time too), not per frame.
   */
  private noteSeen(chargerId: string, now: number): void {
    this.lastSeen.set(chargerId, now);
    if (this.lastSeenTimer === undefined) {
      this.lastSeenTimer = setTimeout(this.flushLastSeen, LAST_SEEN_FLUSH_MS);
      this.lastSeenTimer.unref();
    }
  }

  /** Writes the pending lastSeenAt times (also called at shutdown). */
  readonly flushLastSeen = (): Promise<unknown> => {
    if (this.lastSeenTimer !== undefined) clearTimeout(this.lastSeenTimer);
    this.lastSeenTimer = undefined;
    const writes: Promise<void>[] = [];
    for (const [id, at] of this.lastSeen) {
      writes.push(this.store.touchCharger(id, at).catch((e) => this.log.warn({ err: e }, 'touch failed')));
    }
    this.lastSeen.clear();
    return Promise.all(writes);
  };

  // ------------------------------------------------------------------ charger records

  cachedRecord(chargerId: string): ChargerRecord | undefined {
    return this.records.get(chargerId);
  }

  rememberRecord(record: ChargerRecord): void {
    if (this.links.has(record.id)) this.records.set(record.id, record);
  }

  setBootAnswer(link: ChargerLink, answer: BootAnswer): void {
    link.bootAnswer = answer;
    this.bootAnswers.set(link.chargerId, answer);
  }

  /** Operator changes to a charger (registration, heartbeat interval, validation mode, notes, …). */
  async updateCharger(id: string, patch: ChargerPatch): Promise<ChargerRecord> {
    const before = await this.store.getCharger(id);
    const record = await this.store.upsertCharger(id, patch, this.clock.now());
    this.rememberRecord(record);
    if (patch.registration && patch.registration !== before?.registration) {
      this.events.emit('charger.registration', id, { registration: patch.registration });
      // A charger held as Pending learns of its approval at once rather than at its next retry:
      // triggering a BootNotification is allowed while the last answer was not Accepted.
      const link = this.links.get(id);
      if (patch.registration === 'accepted' && link && link.bootAnswer !== 'Accepted') {
        this.call(id, 'TriggerMessage', { requestedMessage: 'BootNotification' }).catch((e) =>
          this.log.info({ chargerId: id, err: (e as Error).message }, 'boot trigger after approval not accepted'),
        );
      }
    }
    return record;
  }

  // ------------------------------------------------------------------ commands

  /** Sends one CALL to a connected charger and returns its validated answer. */
  async call<A extends CentralAction>(
    chargerId: string,
    action: A,
    payload: ActionMap[A]['request'],
  ): Promise<ActionMap[A]['response']> {
    const link = this.links.get(chargerId);
    if (!link)
      throw new AmpereError('AMPERE_ERR_CHARGER_OFFLINE', `Charger ${chargerId} is not connected`, { chargerId });
    refuseBootTrigger(link, action as Action, payload);
    // A secret (AuthorizationKey) never reaches an event, a log or the bridge.
    this.events.emit('command.sent', chargerId, { action, payload: redactPayload(action, payload) });
    try {
      const response = await link.session.call(action, payload);
      this.events.emit('command.answered', chargerId, {
        action,
        ok: true,
        response: response as Record<string, unknown>,
      });
      await afterCommand(this, chargerId, action, payload, response);
      return response;
    } catch (e) {
      const err = e as Error & { code?: string };
      this.events.emit('command.answered', chargerId, { action, ok: false, code: err.code, message: err.message });
      if (e instanceof OcppError) {
        throw new AmpereError(
          'AMPERE_ERR_CHARGER_CALLERROR',
          `The charger answered ${action} with ${e.code}: ${e.message}`,
          {
            ocppCode: e.code,
            description: e.message,
            details: e.details,
          },
        );
      }
      throw e;
    }
  }

  /** Closes every connection (shutdown). */
  closeAll(code = 1001, reason = 'Server shutting down'): void {
    void this.flushLastSeen();
    for (const link of [...this.links.values()]) {
      this.detach(link, 'server shutdown');
      link.transport.close(code, reason);
    }
  }
}

/**
 * How long a new connection's outgoing CALLs wait for the charger's first CALL to be answered.
 * Field manners: many chargers break if the central system calls before answering their boot; but
 * OCPP 1.6 has no such rule, and a charger that reconnects after a network blip, already Accepted,
 * may stay silent until its next Heartbeat. So the hold is a short grace when a BootNotification
 * may come, and none when the charger's boot was already Accepted on this server.
 */
export const BOOT_HOLD_MS = 3000;
function holdCallsMs(lastBootAnswer: BootAnswer | undefined): number {
  return lastBootAnswer === 'Accepted' ? 0 : BOOT_HOLD_MS;
}

/** "Never trigger a BootNotification after one was Accepted": chargers may reboot or re-register. */
function refuseBootTrigger(link: ChargerLink, action: Action, payload: unknown): void {
  const p = payload as { requestedMessage?: string };
  const triggersBoot =
    (action === 'TriggerMessage' || action === 'ExtendedTriggerMessage') && p.requestedMessage === 'BootNotification';
  if (triggersBoot && link.bootAnswer === 'Accepted') {
    throw new AmpereError(
      'AMPERE_ERR_CALL_REFUSED',
      'The charger is already Accepted; triggering another BootNotification is not allowed',
      { action },
    );
  }
}
