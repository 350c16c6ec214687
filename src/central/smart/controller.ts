// The smart-charging loop of the central system: follows the event bus, re-runs the pure balancer
// and planner of src/smart for the site concerned, and makes each charger follow its share with
// the mechanism it really supports (profile, vendor current key, or on/off), learning from answers.

import type { Logger } from 'pino';
import { AmpereError, isAmpereError } from '../../errors.ts';
import {
  type ActuationRecord,
  AMPERE_PROFILE_ID_BASE,
  type BalanceResult,
  balancerHints,
  type Capabilities,
  compositeSchedule,
  compositeSegments,
  DEFAULT_CHARGER_MAX_A,
  DEFAULT_VOLTAGE,
  deriveCapabilities,
  type EngineCharger,
  type EngineSession,
  type InstalledProfile,
  type KeptEntry,
  type LearnedAnswer,
  ledgerLoad,
  type Objective,
  type Plan,
  type PlanSession,
  planCharging,
  SiteEngine,
  Unanswered,
  type Violation,
  zoneOffsetMs,
} from '../../smart/index.ts';
import type { Store } from '../../store/types.ts';
import { loadTariff } from '../analytics.ts';
import type { CentralEvent } from '../events.ts';
import {
  type CentralPorts,
  type ChargerDirectory,
  type Clock,
  type CommandSender,
  type Leases,
  soleLeases,
  type Timers,
  unrefTimers,
} from '../ports.ts';
import { effectiveTariff, rateAt, seriesEnd, type Tariff } from '../tariff.ts';
import {
  checkSite,
  nextLocalTime,
  type SessionPlanInput,
  type SiteCharger,
  type SiteConfig,
  type SiteLoad,
  SmartRepository,
  type TagPlan,
  type TariffSeries,
} from './model.ts';

/** What the controller needs: the ports (a routed sender and a cluster directory on several nodes) and the store. */
export interface SmartControllerOptions extends CentralPorts {
  store: Store;
  timers?: Timers;
  /** Which node balances each site (soleLeases on one node; a PostgreSQL advisory lock on several). */
  leases?: Leases;
  /** How often a node that does not lead a site checks whether its leader is gone (ms). */
  leaderPollMs?: number;
  /** Events arriving within this window are balanced once (ms). */
  debounceMs?: number;
  /** Re-plan period, so slot boundaries of the price series take effect (ms). */
  tickMs?: number;
  /** After a change, a car's under-use is ignored for this long, so fast charge does not oscillate (ms). */
  dampMs?: number;
  /** How long a connector whose lowering failed keeps its current out of balancing (ms). */
  holdMs?: number;
}

type SessionInfo = EngineSession;

/** A planner run: the plan, the slots it was made on, and the inputs of each planned session. */
interface PlanRun {
  plan: Plan;
  slots: { start: number; slotMinutes: number; price: number[]; co2: number[]; hasCo2: boolean };
  inputs: Map<string, SessionPlanInput>;
}

/** The lease that makes a node the smart-charging leader of a site. */
const LEASE_PREFIX = 'smart:site:';
const leaseName = (siteId: string) => `${LEASE_PREFIX}${siteId}`;

const OCCUPIED = new Set(['Preparing', 'Charging', 'SuspendedEV', 'SuspendedEVSE', 'Finishing']);
/** Last actuations kept per site for the status route. */
const RECENT = 20;
/** A raise smaller than this is not worth a command (A); a decrease is always sent. */
const DEADBAND_A = 0.5;

export class SmartController {
  readonly repo: SmartRepository;
  private readonly store: Store;
  private readonly commands: CommandSender;
  private readonly directory: ChargerDirectory;
  private readonly events: CentralPorts['events'];
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly timers: Timers;
  private readonly leases: Leases;
  private readonly leaderPollMs: number;
  /** Sites this node leads (balances); the others are balanced by another node. */
  private readonly leading = new Set<string>();
  /** The ledger last kept per site (JSON), so an unchanged ledger is not written again. */
  private readonly keptJson = new Map<string, string>();
  private pollTimer: unknown;
  private readonly debounceMs: number;
  private readonly tickMs: number;
  private readonly dampMs: number;
  private readonly holdMs: number;
  private sitesById = new Map<string, SiteConfig>();
  private siteOfCharger = new Map<string, string>();
  private readonly engines = new Map<string, SiteEngine>();
  private readonly recent = new Map<string, ActuationRecord[]>();
  private readonly violations = new Map<string, Array<Violation & { at: string }>>();
  private readonly measured = new Map<string, number>();
  private readonly answers = new Map<string, LearnedAnswer[]>();
  private readonly configAsked = new Set<string>();
  private readonly paused = new Map<string, { idTag: string; since: number; transactionId: number }>();
  private readonly scheduled = new Map<string, unknown>();
  private readonly running = new Map<string, Promise<void>>();
  private readonly lastResult = new Map<string, { result: BalanceResult; plan: PlanRun | null; at: number }>();
  private unsubscribe: (() => void) | undefined;
  private tickTimer: unknown;
  private stopped = false;

  constructor(opts: SmartControllerOptions) {
    this.store = opts.store;
    this.commands = opts.commands;
    this.directory = opts.directory;
    this.events = opts.events;
    this.clock = opts.clock;
    this.log = opts.log;
    this.repo = new SmartRepository(opts.store);
    this.timers = opts.timers ?? unrefTimers;
    this.leases = opts.leases ?? soleLeases;
    this.leaderPollMs = opts.leaderPollMs ?? 2_000;
    this.debounceMs = opts.debounceMs ?? 150;
    this.tickMs = opts.tickMs ?? 60_000;
    this.dampMs = opts.dampMs ?? 60_000;
    this.holdMs = opts.holdMs ?? 60_000;
  }

  async start(): Promise<void> {
    await this.reloadSites();
    this.unsubscribe = this.events.subscribe((e) => this.onEvent(e));
    const tick = () => {
      if (this.stopped) return;
      for (const id of this.sitesById.keys()) this.schedule(id);
      this.tickTimer = this.timers.setTimeout(tick, this.tickMs);
    };
    this.tickTimer = this.timers.setTimeout(tick, this.tickMs);
    if (this.leases.shared) {
      // A site whose leader died is taken over within a poll: the run below tries its lease.
      const poll = () => {
        if (this.stopped) return;
        void this.reloadSites()
          .then(() => {
            for (const id of this.sitesById.keys()) if (!this.leading.has(id)) void this.enqueueRun(id);
          })
          .catch((err) => this.log.warn({ err }, 'smart charging: sites not reloaded'));
        this.pollTimer = this.timers.setTimeout(poll, this.leaderPollMs);
      };
      this.pollTimer = this.timers.setTimeout(poll, this.leaderPollMs);
      // A follower that saw a change of a site's charger tells the leader, wherever it runs.
      this.leases.onNudge?.((name) => {
        const siteId = name.startsWith(LEASE_PREFIX) ? name.slice(LEASE_PREFIX.length) : undefined;
        if (siteId !== undefined && this.leading.has(siteId)) this.schedule(siteId);
      });
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.unsubscribe?.();
    if (this.tickTimer !== undefined) this.timers.clearTimeout(this.tickTimer);
    if (this.pollTimer !== undefined) this.timers.clearTimeout(this.pollTimer);
    for (const t of this.scheduled.values()) this.timers.clearTimeout(t);
    this.scheduled.clear();
    await Promise.allSettled([...this.running.values()]);
    for (const id of this.leading) await this.leases.release(leaseName(id)).catch(() => undefined);
    this.leading.clear();
  }

  /** Whether this node balances the site (always on one node). */
  leads(siteId: string): boolean {
    return this.leading.has(siteId);
  }

  // ---------------------------------------------------------------- configuration

  private async reloadSites(): Promise<void> {
    const sites = await this.repo.sites();
    this.sitesById = new Map(sites.map((s) => [s.id, s]));
    this.siteOfCharger = new Map();
    for (const s of sites) for (const c of s.chargers) this.siteOfCharger.set(c.chargerId, s.id);
  }

  listSites(): SiteConfig[] {
    return [...this.sitesById.values()];
  }

  getSite(id: string): SiteConfig {
    const site = this.sitesById.get(id);
    if (!site) throw new AmpereError('AMPERE_ERR_NOT_FOUND', `No site ${id}`);
    return site;
  }

  async putSite(site: SiteConfig): Promise<SiteConfig> {
    checkSite(site);
    for (const c of site.chargers) {
      const other = this.siteOfCharger.get(c.chargerId);
      if (other && other !== site.id) {
        throw new AmpereError('AMPERE_ERR_CONFLICT', `Charger ${c.chargerId} already belongs to site ${other}`, {
          field: 'chargers',
        });
      }
    }
    const before = this.sitesById.get(site.id);
    const sites = [...this.sitesById.values()].filter((s) => s.id !== site.id);
    sites.push(site);
    await this.repo.saveSites(sites);
    await this.reloadSites();
    const kept = new Set(site.chargers.map((c) => c.chargerId));
    for (const c of before?.chargers ?? []) if (!kept.has(c.chargerId)) await this.release(site.id, c);
    // Told before the answer: a car plugged in right after sees its charger already limited.
    await this.runNow(site.id);
    return site;
  }

  async deleteSite(id: string): Promise<void> {
    const site = this.getSite(id);
    await this.repo.saveSites([...this.sitesById.values()].filter((s) => s.id !== id));
    await this.repo.saveSeries(id, null);
    await this.repo.saveLoad(id, null);
    await this.repo.saveLedger(id, null);
    await this.reloadSites();
    for (const c of site.chargers) await this.release(id, c);
    this.engines.delete(id);
    this.keptJson.delete(id);
    if (this.leading.delete(id)) await this.leases.release(leaseName(id));
  }

  /**
   * A charger that leaves smart charging gets its own limits back: Ampere's charging profiles are
   * cleared and a vendor current key is set to the charger's maximum, so a standing limit of 0 A
   * does not keep it from charging. Best effort: a charger offline now keeps them.
   */
  private async release(siteId: string, c: SiteCharger): Promise<void> {
    const engine = this.engines.get(siteId);
    const connectors = [...(engine?.entries.values() ?? [])].filter((e) => e.chargerId === c.chargerId);
    engine?.forget(c.chargerId);
    if (!this.directory.isConnected(c.chargerId) || connectors.length === 0) return;
    const caps = await this.capabilities(c.chargerId, true);
    const attempt = async (action: string, payload: unknown) => {
      try {
        await this.commands.call(c.chargerId, action as never, payload as never);
      } catch (err) {
        this.log.info({ chargerId: c.chargerId, action, err: (err as Error).message }, 'release: not applied');
      }
    };
    for (const e of connectors) {
      if (caps.txProfile !== 'no' || caps.chargePointMaxProfile !== 'no')
        for (const id of [AMPERE_PROFILE_ID_BASE + e.connectorId, AMPERE_PROFILE_ID_BASE + 100 + e.connectorId])
          await attempt('ClearChargingProfile', { id });
      if (caps.currentKey !== undefined && e.standingA !== undefined)
        await attempt('ChangeConfiguration', {
          key: caps.currentKey,
          value: String(Math.floor(c.maxCurrentA ?? DEFAULT_CHARGER_MAX_A)),
        });
    }
  }

  async setBuildingLoad(siteId: string, buildingLoadA: [number, number, number]): Promise<SiteLoad> {
    this.getSite(siteId);
    const load = { buildingLoadA, at: new Date(this.clock.now()).toISOString() };
    await this.repo.saveLoad(siteId, load);
    await this.runNow(siteId);
    return load;
  }

  async setSeries(siteId: string, series: TariffSeries): Promise<TariffSeries & { warnings?: string[] }> {
    this.getSite(siteId);
    const bad = (field: string, message: string) => {
      throw new AmpereError('AMPERE_ERR_BAD_REQUEST', message, { field });
    };
    if (![15, 30, 60].includes(series.slotMinutes)) bad('slotMinutes', 'slotMinutes must be 15, 30 or 60');
    if (Number.isNaN(Date.parse(series.start))) bad('start', 'start is not a date-time');
    if (series.price.some((p) => !Number.isFinite(p))) bad('price', 'every price must be a number');
    if (series.co2 && series.co2.length !== series.price.length) bad('co2', 'co2 needs one value per price slot');
    if (series.co2?.some((c) => !(c >= 0))) bad('co2', 'co2 values are g/kWh, 0 or more');
    const now = this.clock.now();
    const end = seriesEnd(series);
    if (end <= now)
      bad('start', `the price series ends at ${new Date(end).toISOString()}, before now: nothing left to plan with`);
    await this.repo.saveSeries(siteId, series);
    this.schedule(siteId);
    const warnings = await this.coverageWarnings(siteId);
    return warnings.length > 0 ? { ...series, warnings } : series;
  }

  /** Plans of running sessions at the site whose departure lies beyond the prices known. */
  private async coverageWarnings(
    siteId: string,
    only?: { transactionId: number; departure: string },
  ): Promise<string[]> {
    const model = await this.priceModel(siteId);
    const plans = only ? { [String(only.transactionId)]: { departure: only.departure } } : await this.repo.plans();
    const out: string[] = [];
    for (const [tx, p] of Object.entries(plans)) {
      if (!p.departure) continue;
      const departure = Date.parse(p.departure);
      if (!model) out.push(`transaction ${tx}: no tariff and no price series: it charges at once`);
      else if (model.type === 'dynamic' && !model.fallback && seriesEnd(model.series) < departure)
        out.push(
          `transaction ${tx}: the price series ends at ${new Date(seriesEnd(model.series)).toISOString()}, before its departure ${p.departure}: it is planned only on the slots known`,
        );
    }
    return out;
  }

  async setSessionPlan(
    transactionId: number,
    plan: SessionPlanInput,
  ): Promise<SessionPlanInput & { warnings?: string[] }> {
    const tx = await this.store.getTransaction(transactionId);
    if (!tx) throw new AmpereError('AMPERE_ERR_NOT_FOUND', `No transaction ${transactionId}`);
    if (tx.stoppedAt) throw new AmpereError('AMPERE_ERR_CONFLICT', `Transaction ${transactionId} has ended`);
    if (plan.departure !== undefined && /^\d{1,2}:\d{2}$/.test(plan.departure)) {
      // HH:MM: the next such time on the site's clock.
      const siteId = this.siteOfCharger.get(tx.chargerId);
      const tz = siteId ? this.sitesById.get(siteId)?.timeZone : undefined;
      plan = {
        ...plan,
        departure: new Date(nextLocalTime(plan.departure, this.clock.now(), tz)).toISOString(),
      };
    }
    if (plan.departure !== undefined) {
      const departure = Date.parse(plan.departure);
      if (Number.isNaN(departure))
        throw new AmpereError('AMPERE_ERR_BAD_REQUEST', 'departure is not a date-time', { field: 'departure' });
      if (departure <= this.clock.now())
        throw new AmpereError('AMPERE_ERR_BAD_REQUEST', `departure ${plan.departure} is in the past`, {
          field: 'departure',
        });
    }
    if (plan.energyKWh !== undefined && !(plan.energyKWh > 0))
      throw new AmpereError('AMPERE_ERR_BAD_REQUEST', 'energyKWh must be more than 0', { field: 'energyKWh' });
    const plans = await this.repo.plans();
    plans[String(transactionId)] = plan;
    await this.repo.savePlans(plans);
    const site = this.siteOfCharger.get(tx.chargerId);
    // Answered once the site has been re-balanced, so the plan shown next is the new one.
    if (site) await this.runNow(site);
    const warnings: string[] = [];
    if (!site) warnings.push(`charger ${tx.chargerId} is in no site: the plan takes effect once it is`);
    else if (plan.departure && !plan.fast)
      warnings.push(...(await this.coverageWarnings(site, { transactionId, departure: plan.departure })));
    return warnings.length > 0 ? { ...plan, warnings } : plan;
  }

  // ---------------------------------------------------------------- events

  private onEvent(e: CentralEvent): void {
    const chargerId = e.chargerId;
    if (!chargerId) return;
    const siteId = this.siteOfCharger.get(chargerId);
    if (!siteId) return;
    switch (e.type) {
      case 'charger.connected':
        // A new connection: the charger may have lost what it was told; tell it again.
        this.engines.get(siteId)?.retell(chargerId);
        this.configAsked.delete(chargerId);
        this.schedule(siteId);
        return;
      case 'charger.disconnected':
      case 'charger.boot':
      case 'connector.status':
      case 'transaction.started':
      case 'transaction.stopped':
        if (e.type === 'connector.status' && e.data.status === 'Available') {
          this.paused.delete(`${chargerId}/${e.data.connectorId}`);
        }
        if (e.type === 'transaction.started') this.paused.delete(`${chargerId}/${e.data.connectorId}`);
        this.schedule(siteId);
        return;
      case 'meter.values': {
        const key = `${chargerId}/${e.data.connectorId}`;
        const site = this.sitesById.get(siteId);
        const charger = site?.chargers.find((c) => c.chargerId === chargerId);
        const amps = measuredCurrent(
          e.data.meterValue as MeterValue[],
          site?.voltage ?? DEFAULT_VOLTAGE,
          charger?.phases ?? 3,
        );
        if (amps === undefined) return;
        const before = this.measured.get(key);
        this.measured.set(key, amps);
        const told = this.engines.get(siteId)?.entries.get(key);
        const offered = told ? (told.txA ?? told.standingA) : undefined;
        // Re-plan when the draw moved noticeably, or when a car takes much less than offered.
        if (
          before === undefined ||
          Math.abs(before - amps) > 2 ||
          (offered !== undefined && amps < offered * 0.8 - 2)
        ) {
          this.schedule(siteId);
        }
        return;
      }
      default:
        return;
    }
  }

  /** Balances a site soon (debounced), once at a time per site. */
  schedule(siteId: string): void {
    if (this.stopped) return;
    if (this.leases.shared && !this.leading.has(siteId)) {
      this.nudgeLeader(siteId);
      return;
    }
    if (this.scheduled.has(siteId)) return;
    // Leading edge: the first event after a quiet spell is balanced at once (a car that just started
    // must be made room for before it draws); events that follow within the window share one run.
    const now = this.clock.now();
    const delay = Math.max(0, (this.lastScheduled.get(siteId) ?? Number.NEGATIVE_INFINITY) + this.debounceMs - now);
    this.lastScheduled.set(siteId, now + delay);
    this.scheduled.set(
      siteId,
      this.timers.setTimeout(() => {
        this.scheduled.delete(siteId);
        void this.enqueueRun(siteId);
      }, delay),
    );
  }
  private readonly lastScheduled = new Map<string, number>();

  /** Tells the site's leader on another node to balance (at most one nudge per debounce window). */
  private nudgeLeader(siteId: string): void {
    const now = this.clock.now();
    if ((this.lastNudged.get(siteId) ?? Number.NEGATIVE_INFINITY) + this.debounceMs > now) return;
    this.lastNudged.set(siteId, now);
    this.leases.nudge?.(leaseName(siteId));
  }
  private readonly lastNudged = new Map<string, number>();

  /** Queues a balancing run after the site's run in progress (one at a time per site). */
  private enqueueRun(siteId: string): Promise<void> {
    const prev = this.running.get(siteId) ?? Promise.resolve();
    const next = prev
      .then(() => this.rebalance(siteId))
      .then(
        () => undefined,
        (err) => this.log.error({ err, siteId }, 'smart charging run failed'),
      );
    this.running.set(siteId, next);
    return next;
  }

  /**
   * Balances a site now (after any run in progress) and waits for it, at most `maxWaitMs`: the
   * API answers a change of the site once the chargers have been told, unless one is slow.
   */
  async runNow(siteId: string, maxWaitMs = 5_000): Promise<void> {
    if (this.stopped) return;
    const pending = this.scheduled.get(siteId);
    if (pending !== undefined) {
      this.timers.clearTimeout(pending);
      this.scheduled.delete(siteId);
    }
    const next = this.enqueueRun(siteId).then(() => {
      // Another node leads the site: the change is stored, the leader applies it.
      if (this.leases.shared && !this.leading.has(siteId)) this.nudgeLeader(siteId);
    });
    let timer: unknown;
    await Promise.race([next, new Promise<void>((r) => (timer = this.timers.setTimeout(r, maxWaitMs)))]);
    this.timers.clearTimeout(timer);
  }

  /** Waits for scheduled and running balancing runs (tests, shutdown). */
  async settle(): Promise<void> {
    for (let i = 0; i < 50 && (this.scheduled.size > 0 || this.running.size > 0); i++) {
      await new Promise((r) => setTimeout(r, this.debounceMs + 5));
      await Promise.allSettled([...this.running.values()]);
      if (this.scheduled.size === 0) break;
    }
  }

  // ---------------------------------------------------------------- balancing

  private async sessionsOf(site: SiteConfig): Promise<SessionInfo[]> {
    const store = this.store;
    const out: SessionInfo[] = [];
    for (const c of site.chargers) {
      const [txs, connectors] = await Promise.all([
        store.listTransactions({ chargerId: c.chargerId, active: true, limit: 100 }),
        store.listConnectors(c.chargerId),
      ]);
      const withTx = new Set<number>();
      for (const t of txs.items) {
        withTx.add(t.connectorId);
        out.push({
          id: `tx:${t.id}`,
          chargerId: c.chargerId,
          connectorId: t.connectorId,
          transactionId: t.id,
          idTag: t.idTag,
          startedAt: Date.parse(t.startedAt),
          kind: 'transaction',
        });
      }
      for (const conn of connectors) {
        if (conn.connectorId === 0 || withTx.has(conn.connectorId)) continue;
        const key = `${c.chargerId}/${conn.connectorId}`;
        const paused = this.paused.get(key);
        if (paused) {
          out.push({
            id: `paused:${key}`,
            chargerId: c.chargerId,
            connectorId: conn.connectorId,
            idTag: paused.idTag,
            startedAt: paused.since,
            kind: 'paused',
          });
        } else if (OCCUPIED.has(conn.status) && conn.status !== 'Finishing') {
          // A car plugged in but not started: reserve its share before it draws current.
          out.push({
            id: `plug:${key}`,
            chargerId: c.chargerId,
            connectorId: conn.connectorId,
            startedAt: Date.parse(conn.updatedAt),
            kind: 'prospective',
            // Charging with no open transaction (e.g. one closed as stale while the charger went on):
            // power may flow under whatever the charger still holds.
            ...(conn.status === 'Charging' || conn.status === 'SuspendedEV' ? { drawing: true } : {}),
          });
        } else {
          // Free (or Finishing, Unavailable, Faulted): what counts is the standing limit in force.
          out.push(this.idleSession(c.chargerId, conn.connectorId));
        }
      }
      if (connectors.every((conn) => conn.connectorId === 0) && txs.items.length === 0) {
        // No StatusNotification yet: assume one free connector.
        out.push(this.idleSession(c.chargerId, 1));
      }
    }
    return out;
  }

  /**
   * A free connector of a connected charger holds a reservation: a car may plug in and start at
   * any moment, before Ampere has balanced it. A charger Ampere can limit is given a standing
   * limit (the site's idleCurrentA); one it can only switch on and off is reserved at its maximum.
   */
  private idleSession(chargerId: string, connectorId: number): SessionInfo {
    return { id: `idle:${chargerId}/${connectorId}`, chargerId, connectorId, startedAt: 0, kind: 'idle' };
  }

  /** The site's one price model: its day-ahead series in front of the tariff. */
  async priceModel(siteId: string): Promise<Tariff | null> {
    const [tariff, series] = await Promise.all([loadTariff(this.store), this.repo.series(siteId)]);
    return effectiveTariff(tariff, series);
  }

  /**
   * The price model per charger for a batch of sessions (a list route): each site's series is read
   * once for the batch, not once per session.
   */
  pricing(tariff: Tariff | null): (chargerId: string) => Promise<Tariff | null> {
    const series = new Map<string, Promise<TariffSeries | null>>();
    return async (chargerId) => {
      const siteId = this.siteOfCharger.get(chargerId);
      if (!siteId) return tariff;
      let s = series.get(siteId);
      if (!s) {
        s = this.repo.series(siteId);
        series.set(siteId, s);
      }
      return effectiveTariff(tariff, await s);
    };
  }

  /** The plan input of a session: its own, else its id tag's smart-energy plan. */
  private async planInput(
    s: SessionInfo,
    site: SiteConfig,
    now: number,
    plans?: Record<string, SessionPlanInput>,
  ): Promise<SessionPlanInput | undefined> {
    plans ??= await this.repo.plans();
    const own = s.transactionId !== undefined ? plans[String(s.transactionId)] : undefined;
    if (own) return own;
    return s.idTag ? this.tagPlan(s.idTag, now, site) : undefined;
  }

  private async planFor(site: SiteConfig, sessions: SessionInfo[], now: number): Promise<PlanRun | null> {
    const model = await this.priceModel(site.id);
    if (!model) return null;
    const voltage = site.voltage ?? DEFAULT_VOLTAGE;
    const planSessions: PlanSession[] = [];
    let objective: Objective = site.objective ?? 'cheapest';
    const inputs = new Map<string, SessionPlanInput>();
    const plans = await this.repo.plans();
    for (const s of sessions) {
      if (s.kind === 'prospective' || s.kind === 'idle') continue;
      const input = await this.planInput(s, site, now, plans);
      if (!input || input.fast || input.departure === undefined) continue;
      if (input.objective) objective = input.objective;
      inputs.set(s.id, input);
    }
    if (inputs.size === 0) return null;
    // Slots of the series where there is one, else quarter hours of the tariff, from the slot that
    // holds `now` to the last departure (at most a week ahead).
    const slotMinutes = model.type === 'dynamic' ? model.series.slotMinutes : 15;
    const slotMs = slotMinutes * 60_000;
    const origin = model.type === 'dynamic' ? Date.parse(model.series.start) : 0;
    const start = origin + Math.floor((now - origin) / slotMs) * slotMs;
    const lastDeparture = Math.max(...[...inputs.values()].map((p) => Date.parse(p.departure!)));
    const end = Math.min(lastDeparture, now + 7 * 86_400_000);
    const price: number[] = [];
    const co2: number[] = [];
    let hasCo2 = false;
    for (let t = start; t < end; t += slotMs) {
      const rate = rateAt(model, t + slotMs / 2);
      if (!rate) break;
      price.push(rate.price);
      co2.push(rate.co2 ?? 0);
      if (rate.co2 !== undefined) hasCo2 = true;
    }
    if (price.length === 0) return null;
    for (const s of sessions) {
      const input = inputs.get(s.id);
      if (!input) continue;
      const charger = site.chargers.find((c) => c.chargerId === s.chargerId)!;
      const maxA = charger.maxCurrentA ?? DEFAULT_CHARGER_MAX_A;
      planSessions.push({
        id: s.id,
        arrival: Math.max(now, start),
        departure: Date.parse(input.departure!),
        energyKWh: Math.max(0, (input.energyKWh ?? 0) - (await this.deliveredKWh(s))),
        maxPowerKw: (maxA * charger.phases * voltage) / 1000,
        phases: charger.phases,
        voltage,
      });
    }
    const siteLimitKw = site.gridLimitKw ?? ((site.gridLimitA ?? 0) * 3 * voltage) / 1000;
    const plan = planCharging({ start, slotMinutes, price, co2, siteLimitKw }, planSessions, objective);
    return { plan, slots: { start, slotMinutes, price, co2, hasCo2 }, inputs };
  }

  private async tagPlan(idTag: string, now: number, site: SiteConfig): Promise<SessionPlanInput | undefined> {
    const tag = await this.store.getIdTag(idTag);
    const p = tag?.smartPlan as TagPlan | null | undefined;
    if (!p || typeof p !== 'object' || !p.departureTime) return undefined;
    return {
      departure: new Date(nextLocalTime(p.departureTime, now, site.timeZone)).toISOString(),
      ...(p.energyKWh !== undefined ? { energyKWh: p.energyKWh } : {}),
      ...(p.objective !== undefined ? { objective: p.objective } : {}),
    };
  }

  private async deliveredKWh(s: SessionInfo): Promise<number> {
    if (s.transactionId === undefined) return 0;
    const [tx, summary] = await Promise.all([
      this.store.getTransaction(s.transactionId),
      this.store.transactionMeterSummary(s.transactionId),
    ]);
    if (!tx || summary.lastWh === null) return 0;
    return Math.max(0, (summary.lastWh - tx.meterStart) / 1000);
  }

  private engineOf(siteId: string): SiteEngine {
    let engine = this.engines.get(siteId);
    if (!engine) {
      const commands = this.commands;
      engine = new SiteEngine(
        {
          call: async (chargerId, cmd) => {
            try {
              const res = (await commands.call(chargerId, cmd.action, cmd.payload as never)) as { status?: string };
              return res.status ?? 'Accepted';
            } catch (err) {
              if (isAmpereError(err, 'AMPERE_ERR_CHARGER_CALLERROR'))
                return String(err.details?.ocppCode ?? 'GenericError');
              // Not sent at all: nothing can have changed on the charger.
              if (isAmpereError(err, 'AMPERE_ERR_CHARGER_OFFLINE') || isAmpereError(err, 'AMPERE_ERR_CALL_REFUSED'))
                return 'NotSent';
              throw new Unanswered((err as Error).message);
            }
          },
          capabilities: (chargerId) => this.capabilities(chargerId, true),
          learned: (chargerId, cmd, status) => {
            const learned: LearnedAnswer = { action: cmd.action, status };
            if (cmd.action === 'ChangeConfiguration') learned.key = cmd.payload.key;
            if (cmd.action === 'SetChargingProfile')
              learned.purpose = cmd.payload.csChargingProfiles.chargingProfilePurpose;
            this.learn(chargerId, learned);
          },
          record: (r) => this.onRecord(siteId, r),
          violation: (v) => this.onViolation(siteId, v),
          pausedByStop: (chargerId, connectorId, idTag, since, transactionId) =>
            this.paused.set(`${chargerId}/${connectorId}`, { idTag, since, transactionId }),
          keep: (entries) => this.keep(siteId, entries),
        },
        { deadbandA: DEADBAND_A, dampMs: this.dampMs, holdMs: this.holdMs },
      );
      this.engines.set(siteId, engine);
    }
    return engine;
  }

  private onRecord(siteId: string, r: ActuationRecord): void {
    const list = this.recent.get(siteId) ?? [];
    list.push({ ...r, at: new Date(this.clock.now()).toISOString() } as ActuationRecord);
    if (list.length > RECENT) list.splice(0, list.length - RECENT);
    this.recent.set(siteId, list);
    const payload = { siteId, ...r } as unknown as Record<string, unknown>;
    void this.store
      .recordEvent({
        chargerId: r.chargerId,
        kind: 'smart.actuation',
        payload: payload as never,
        at: this.clock.now(),
      })
      .catch((err) => this.log.warn({ err }, 'smart.actuation not recorded'));
    this.events.emit('smart.actuation', r.chargerId, payload);
  }

  private onViolation(siteId: string, v: Violation): void {
    const at = new Date(this.clock.now()).toISOString();
    const list = this.violations.get(siteId) ?? [];
    list.push({ ...v, at });
    if (list.length > RECENT) list.splice(0, list.length - RECENT);
    this.violations.set(siteId, list);
    this.log.error({ siteId, ...v }, 'site limit: the ledger exceeds the limit');
    this.events.emit('smart.violation', null, { siteId, ...v } as unknown as Record<string, unknown>);
  }

  /** One balancing run for a site: compute, then lower, then raise into the room left. */
  async rebalance(siteId: string): Promise<BalanceResult | undefined> {
    if (this.leases.shared) await this.reloadSites();
    const site = this.sitesById.get(siteId);
    if (!site) return undefined;
    if (!(await this.lead(siteId))) return undefined;
    const now = this.clock.now();
    const sessions = await this.sessionsOf(site);
    const plan = await this.planFor(site, sessions, now);
    const load = await this.repo.load(siteId);
    const chargers: EngineCharger[] = [];
    for (const c of site.chargers) {
      const connected = this.directory.isConnected(c.chargerId);
      const { caps, known } = await this.chargerFacts(c.chargerId, connected);
      const hints = balancerHints(caps);
      const mine = sessions.filter((s) => s.chargerId === c.chargerId);
      chargers.push({
        id: c.chargerId,
        phases: c.phases,
        ...(c.phaseMapping ? { phaseMapping: c.phaseMapping } : {}),
        ...(c.rotation ? { rotation: c.rotation } : {}),
        ...(c.maxCurrentA !== undefined ? { maxCurrentA: c.maxCurrentA } : {}),
        ...(c.minCurrentA !== undefined ? { minCurrentA: c.minCurrentA } : {}),
        ...(c.priority !== undefined ? { priority: c.priority } : {}),
        ...(c.fallbackCurrentA !== undefined ? { fallbackCurrentA: c.fallbackCurrentA } : {}),
        connected,
        everConnected: known,
        // The store keeps the last known state: a session on it when the link dropped.
        lostDuringSession: connected ? [] : mine.filter((s) => s.kind !== 'idle').map((s) => s.connectorId),
        caps,
        stepA: c.wholeAmperes ? 1 : caps.stepA,
        onOffOnly: hints.onOffOnly,
        supportsPhaseSwitching: hints.supportsPhaseSwitching,
      });
    }
    for (const s of sessions) {
      const key = `${s.chargerId}/${s.connectorId}`;
      const slots = plan?.plan.sessions.find((p) => p.sessionId === s.id)?.slots;
      if (slots?.[0]) {
        s.maxCurrentA = slots[0].currentA;
        if (slots[0].currentA <= 0) {
          const next = slots.find((x) => x.currentA > 0);
          s.capReason = next
            ? `waiting for the planned slot at ${localTime(next.start, site.timeZone)}`
            : 'the plan has no slot for this session';
        }
      }
      const measured = this.measured.get(key);
      if (measured !== undefined) s.measuredCurrentA = measured;
    }
    const engine = this.engines.get(siteId) ?? (await this.restoredEngine(siteId));
    const run = await engine.run(
      {
        ...(site.gridLimitA !== undefined ? { gridLimitA: site.gridLimitA } : {}),
        ...(site.gridLimitKw !== undefined ? { gridLimitKw: site.gridLimitKw } : {}),
        ...(site.voltage !== undefined ? { voltage: site.voltage } : {}),
        ...(site.algorithm ? { algorithm: site.algorithm } : {}),
        ...(site.fallbackCurrentA !== undefined ? { fallbackCurrentA: site.fallbackCurrentA } : {}),
        ...(site.minCurrentA !== undefined ? { minCurrentA: site.minCurrentA } : {}),
        ...(site.phaseSwitching !== undefined ? { phaseSwitching: site.phaseSwitching } : {}),
        ...(site.idleCurrentA !== undefined ? { idleCurrentA: site.idleCurrentA } : {}),
        ...(load ? { buildingLoadA: load.buildingLoadA } : {}),
      },
      chargers,
      sessions,
      now,
    );
    await this.keep(siteId, engine.kept(now));
    this.lastResult.set(siteId, { result: run.balance, plan, at: now });
    return run.balance;
  }

  /**
   * Holds the site's lease, or learns that another node does. A site lost to another node drops its
   * engine, so that leading it again starts from the ledger that node kept, not from this node's memory.
   */
  private async lead(siteId: string): Promise<boolean> {
    let held: boolean;
    try {
      held = await this.leases.acquire(leaseName(siteId));
    } catch (err) {
      this.log.warn({ err, siteId }, 'smart charging: lease not checked; not balancing');
      held = false;
    }
    if (held && !this.leading.has(siteId)) {
      this.leading.add(siteId);
      if (this.leases.shared) this.log.info({ siteId }, 'smart charging: this node now leads the site');
    } else if (!held && this.leading.delete(siteId)) {
      this.engines.delete(siteId);
      this.keptJson.delete(siteId);
      this.log.info({ siteId }, 'smart charging: another node leads the site');
    }
    return held;
  }

  /** A new engine for the site, seeded with the ledger the last run kept (here or on another node). */
  private async restoredEngine(siteId: string): Promise<SiteEngine> {
    const kept = await this.repo.ledger(siteId);
    const engine = this.engineOf(siteId);
    engine.restore(kept);
    this.keptJson.set(siteId, JSON.stringify(kept));
    return engine;
  }

  /** Writes the site ledger when it changed (before every command and after every run). */
  private async keep(siteId: string, entries: KeptEntry[]): Promise<void> {
    const json = JSON.stringify(entries);
    if (this.keptJson.get(siteId) === json) return;
    this.keptJson.set(siteId, json);
    await this.repo.saveLedger(siteId, entries);
  }

  /** The site as the operator sees it: the ledger, the last run, the plan, the last actuations. */
  status(siteId: string) {
    const site = this.getSite(siteId);
    const last = this.lastResult.get(siteId);
    const engine = this.engines.get(siteId);
    const promised = engine ? ledgerLoad(engine.entries.values(), engine.limits()) : null;
    const tz = site.timeZone ?? 'UTC';
    return {
      at: last ? new Date(last.at).toISOString() : null,
      // False on a node that does not balance this site (another node leads it; see ports.ts Leases).
      leading: this.leading.has(siteId),
      gridLimitA: site.gridLimitA ?? null,
      gridLimitKw: site.gridLimitKw ?? null,
      buildingLoadA: engine?.limits().buildingLoadA ?? [0, 0, 0],
      allocations: last?.result.allocations ?? [],
      phaseLoadA: promised ? promised.phaseA.map(round2) : (last?.result.phaseLoadA ?? [0, 0, 0]),
      powerKw: promised ? round2(promised.powerW / 1000) : (last?.result.powerKw ?? 0),
      availableA: last?.result.availableA ?? null,
      ledger: engine?.snapshot() ?? [],
      plan: last?.plan ? showPlan(last.plan.plan, tz) : null,
      recentActuations: this.recent.get(siteId) ?? [],
      violations: this.violations.get(siteId) ?? [],
    };
  }

  /**
   * A session as smart charging sees it: what it is allocated and why, its plan (departure, energy
   * wanted, the next slots with their current, price and CO2, expected cost, energy short).
   */
  async sessionView(transactionId: number) {
    const store = this.store;
    const tx = await store.getTransaction(transactionId);
    if (!tx) throw new AmpereError('AMPERE_ERR_NOT_FOUND', `No transaction ${transactionId}`);
    const siteId = this.siteOfCharger.get(tx.chargerId) ?? null;
    const base = { transactionId, chargerId: tx.chargerId, connectorId: tx.connectorId, siteId };
    if (tx.stoppedAt) {
      // An on/off session Ampere stopped is waiting to be started again: say so, and why.
      const key = `${tx.chargerId}/${tx.connectorId}`;
      const paused = this.paused.get(key);
      const alloc =
        paused?.transactionId === transactionId && siteId
          ? this.lastResult.get(siteId)?.result.allocations.find((a) => a.sessionId === `paused:${key}`)
          : undefined;
      if (alloc)
        return {
          ...base,
          state: alloc.state === 'paused' ? 'paused by smart charging' : 'being resumed',
          currentA: null,
          reason: alloc.reason ?? null,
          plan: null,
          nextSlots: [],
        };
      return { ...base, state: 'ended', currentA: null, reason: null, plan: null, nextSlots: [] };
    }
    if (!siteId)
      return {
        ...base,
        state: 'unmanaged',
        currentA: null,
        reason: 'the charger is in no site: it charges at its own maximum',
        plan: null,
        nextSlots: [],
      };
    const site = this.getSite(siteId);
    const tz = site.timeZone ?? 'UTC';
    const now = this.clock.now();
    const sessionId = `tx:${transactionId}`;
    const last = this.lastResult.get(siteId);
    const alloc = last?.result.allocations.find((a) => a.sessionId === sessionId);
    const session: SessionInfo = {
      id: sessionId,
      chargerId: tx.chargerId,
      connectorId: tx.connectorId,
      transactionId,
      idTag: tx.idTag,
      startedAt: Date.parse(tx.startedAt),
      kind: 'transaction',
    };
    const input = await this.planInput(session, site, now);
    const run = last?.plan;
    const sp = run?.plan.sessions.find((p) => p.sessionId === sessionId);
    const model = await this.priceModel(siteId);
    const slotMs = (run?.slots.slotMinutes ?? 15) * 60_000;
    const nextSlots = (sp?.slots ?? [])
      .filter((x) => x.start + slotMs > now && x.energyKWh > 0)
      .slice(0, 12)
      .map((x) => {
        const i = Math.round((x.start - run!.slots.start) / slotMs);
        return {
          start: localTime(x.start, tz),
          end: localTime(x.start + slotMs, tz),
          currentA: x.currentA,
          energyKWh: round2(x.energyKWh),
          price: run!.slots.price[i] ?? null,
          co2: run!.slots.hasCo2 ? (run!.slots.co2[i] ?? null) : null,
        };
      });
    return {
      ...base,
      state: alloc?.state ?? 'waiting for the next balancing run',
      currentA: alloc?.currentA ?? null,
      reason: alloc?.reason ?? null,
      plan: input
        ? {
            fast: input.fast === true,
            departure: input.departure ? localTime(Date.parse(input.departure), tz) : null,
            energyWantedKWh: input.energyKWh ?? null,
            objective: input.objective ?? site.objective ?? 'cheapest',
            deliveredKWh: round2(await this.deliveredKWh(session)),
            shortKWh: sp ? round2(sp.shortfallKWh) : null,
            expectedCost: sp ? round2(sp.cost) : null,
            currency: model?.currency ?? null,
            expectedCo2g: sp && run?.slots.hasCo2 ? Math.round(sp.co2g) : null,
          }
        : null,
      nextSlots,
    };
  }

  /** Every breach of the site limit the ledger recorded (tests, the status route). */
  violationsOf(siteId: string): ReadonlyArray<Violation & { at: string }> {
    return this.violations.get(siteId) ?? [];
  }

  // ---------------------------------------------------------------- capabilities

  /** What Ampere believes a charger supports, for the operator. */
  async capabilitiesOf(chargerId: string): Promise<Capabilities> {
    return this.capabilities(chargerId, false);
  }

  private async capabilities(chargerId: string, connected: boolean): Promise<Capabilities> {
    return (await this.chargerFacts(chargerId, connected)).caps;
  }

  /** What a charger supports, and whether Ampere has a record of it (it has connected). */
  private async chargerFacts(chargerId: string, connected: boolean): Promise<{ caps: Capabilities; known: boolean }> {
    const store = this.store;
    let config = await store.getConfiguration(chargerId);
    if (config.length === 0 && connected && !this.configAsked.has(chargerId)) {
      // Learn the keys once per connection: which current key exists, what is read-only.
      this.configAsked.add(chargerId);
      try {
        await this.commands.call(chargerId, 'GetConfiguration', {});
        config = await store.getConfiguration(chargerId);
      } catch (err) {
        this.log.info({ chargerId, err: (err as Error).message }, 'GetConfiguration for capabilities failed');
      }
    }
    const [record, connectors] = await Promise.all([store.getCharger(chargerId), store.listConnectors(chargerId)]);
    const numberOfConnectors = connectors.filter((c) => c.connectorId > 0).length;
    const caps = deriveCapabilities({
      ...(record?.vendor ? { vendor: record.vendor } : {}),
      ...(record?.model ? { model: record.model } : {}),
      ...(config.length > 0 ? { configuration: Object.fromEntries(config.map((e) => [e.key, e.value ?? ''])) } : {}),
      answers: this.answers.get(chargerId) ?? [],
      ...(numberOfConnectors > 0 ? { numberOfConnectors } : {}),
    });
    return { caps, known: record !== null && record !== undefined };
  }

  private learn(chargerId: string, answer: LearnedAnswer): void {
    const list = this.answers.get(chargerId) ?? [];
    list.push(answer);
    if (list.length > 50) list.splice(0, list.length - 50);
    this.answers.set(chargerId, list);
  }

  // ---------------------------------------------------------------- composite schedules

  /** The composite schedule of a connector as Ampere computes it from the profiles the charger accepted. */
  async computedComposite(chargerId: string, connectorId: number, duration: number, unit: 'A' | 'W' = 'A') {
    const installed = await this.installed(chargerId);
    const tx = connectorId > 0 ? await this.store.activeTransactionFor(chargerId, connectorId) : null;
    return compositeSchedule(installed, {
      connectorId,
      ...this.zoneOf(chargerId),
      start: this.clock.now(),
      duration,
      chargingRateUnit: unit,
      ...(tx ? { transaction: { transactionId: tx.id, startedAt: Date.parse(tx.startedAt) } } : {}),
    });
  }

  /** The time zone of a charger's site, for recurring profiles. */
  private zoneOf(chargerId: string): { timeZone?: string } {
    const siteId = this.siteOfCharger.get(chargerId);
    const tz = siteId ? this.sitesById.get(siteId)?.timeZone : undefined;
    return tz ? { timeZone: tz } : {};
  }

  private async installed(chargerId: string): Promise<InstalledProfile[]> {
    const rows = await this.store.listChargingProfiles(chargerId);
    return rows.map((r) => ({
      connectorId: r.connectorId,
      profile: r.profile as unknown as InstalledProfile['profile'],
      installedAt: Date.parse(r.updatedAt),
    }));
  }

  /**
   * Asks the charger for its composite schedule and compares it with Ampere's own; a mismatch is
   * an event (the charger ignores or misreads a profile).
   */
  async compareComposite(chargerId: string, connectorId: number, duration: number, unit: 'A' | 'W' = 'A') {
    const reported = await this.commands.call(chargerId, 'GetCompositeSchedule', {
      connectorId,
      duration,
      chargingRateUnit: unit,
    });
    const installed = await this.installed(chargerId);
    const start = reported.scheduleStart ? Date.parse(reported.scheduleStart) : this.clock.now();
    const tx = connectorId > 0 ? await this.store.activeTransactionFor(chargerId, connectorId) : null;
    const computed = compositeSegments(installed, {
      connectorId,
      ...this.zoneOf(chargerId),
      start,
      duration,
      chargingRateUnit: unit,
      ...(tx ? { transaction: { transactionId: tx.id, startedAt: Date.parse(tx.startedAt) } } : {}),
    });
    const mismatches: Array<{ at: number; computed: number | null; reported: number | null }> = [];
    const periods = reported.chargingSchedule?.chargingSchedulePeriod ?? [];
    const reportedAt = (offset: number) => {
      let v: number | null = null;
      for (const p of periods) if (p.startPeriod <= offset) v = p.limit;
      return v;
    };
    for (const seg of computed) {
      const offset = Math.round((seg.start - start) / 1000);
      const r = reportedAt(offset);
      const c = seg.limit;
      if (c === null && r === null) continue;
      if (c === null || r === null || Math.abs(c - r) > 0.1) mismatches.push({ at: offset, computed: c, reported: r });
    }
    if (reported.status === 'Accepted' && mismatches.length > 0) {
      this.events.emit('smart.mismatch', chargerId, { connectorId, mismatches });
    }
    return { reported, computed, mismatches };
  }
}

type MeterValue = { sampledValue: Array<{ value: string; measurand?: string; phase?: string; unit?: string }> };

/** Highest per-phase current of the latest sample: Current.Import, else power / (voltage × phases). */
export function measuredCurrent(
  meterValue: MeterValue[] | undefined,
  voltage: number,
  phases: number,
): number | undefined {
  const latest = meterValue?.[meterValue.length - 1];
  if (!latest) return undefined;
  let current: number | undefined;
  let powerW: number | undefined;
  for (const sv of latest.sampledValue) {
    const n = Number(sv.value);
    if (!Number.isFinite(n)) continue;
    if (sv.measurand === 'Current.Import') current = Math.max(current ?? 0, n);
    else if (sv.measurand === 'Power.Active.Import' && (sv.phase === undefined || !sv.phase.startsWith('L'))) {
      powerW = sv.unit === 'kW' ? n * 1000 : n;
    }
  }
  if (current !== undefined) return current;
  if (powerW !== undefined) return powerW / (voltage * phases);
  return undefined;
}

const round2 = (x: number) => Math.round(x * 100) / 100;

/** A time as an ISO string with the site's UTC offset, e.g. 2026-12-01T23:00:00+01:00. */
export function localTime(at: number, timeZone = 'UTC'): string {
  const offsetMin = Math.round(zoneOffsetMs(at, timeZone) / 60_000);
  const wall = new Date(Math.floor(at / 1000) * 1000 + offsetMin * 60_000).toISOString().slice(0, 19);
  if (offsetMin === 0) return `${wall}Z`;
  const abs = Math.abs(offsetMin);
  const hhmm = `${String(Math.floor(abs / 60)).padStart(2, '0')}:${String(abs % 60).padStart(2, '0')}`;
  return `${wall}${offsetMin < 0 ? '-' : '+'}${hhmm}`;
}

/** A plan for people: slot times in the site's time zone instead of epoch ms. */
export function showPlan(plan: Plan, timeZone = 'UTC') {
  return {
    ...plan,
    sessions: plan.sessions.map((p) => ({
      ...p,
      slots: p.slots.map((x) => ({ ...x, start: localTime(x.start, timeZone) })),
    })),
  };
}
