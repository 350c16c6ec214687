// Smart-charging configuration kept by the central system: sites, their chargers, price/CO2
// series and per-session plans. Small documents, stored as JSON settings in the store so every
// store implementation carries them without a schema change.
import { AmpereError } from '../../errors.ts';
import type { BalancingAlgorithm, GridPhase, KeptEntry, Objective, PhaseRotation } from '../../smart/index.ts';

export interface SiteCharger {
  chargerId: string;
  /** 1- or 3-phase connection of the charger. */
  phases: 1 | 3;
  /** Grid phase (1-3) of each charger phase, charger L1 first. */
  phaseMapping?: GridPhase[];
  rotation?: PhaseRotation;
  priority?: number;
  /** Charger or cable maximum, A per phase. */
  maxCurrentA?: number;
  minCurrentA?: number;
  fallbackCurrentA?: number;
  /** The charger takes whole amperes only (limits are rounded down to 1 A). */
  wholeAmperes?: boolean;
}

export interface SiteConfig {
  id: string;
  name?: string;
  /** Grid connection limit, A per phase. */
  gridLimitA?: number;
  /** Grid connection limit, kW. */
  gridLimitKw?: number;
  voltage?: number;
  algorithm?: BalancingAlgorithm;
  fallbackCurrentA?: number;
  minCurrentA?: number;
  phaseSwitching?: boolean;
  /**
   * Standing limit of a free connector (A): what a car that plugs in may draw before Ampere has
   * balanced it, reserved on the grid. 0 = no reservation (a new car draws the charger's maximum
   * until balanced). Default: minCurrentA, or 6 A.
   */
  idleCurrentA?: number;
  /** IANA time zone for departure times given as HH:MM (default UTC). */
  timeZone?: string;
  /** Default planner objective for the site. */
  objective?: Objective;
  chargers: SiteCharger[];
}

export interface SiteLoad {
  /** Live building load per phase (A) from a meter, subtracted by the balancer. */
  buildingLoadA: [number, number, number];
  at: string;
}

export interface TariffSeries {
  /** ISO start of the first slot. */
  start: string;
  slotMinutes: number;
  /** Price per kWh per slot. */
  price: number[];
  /** g CO2 per kWh per slot (optional). */
  co2?: number[];
}

export interface SessionPlanInput {
  /** ISO time the car must be ready. */
  departure?: string;
  /** Energy wanted, kWh. */
  energyKWh?: number;
  objective?: Objective;
  /** true: charge now regardless of the plan ("fast charge"). */
  fast?: boolean;
}

/** A default plan on an id tag (xxter's "smart energy tag"): departure as local HH:MM. */
export interface TagPlan {
  departureTime?: string;
  energyKWh?: number;
  objective?: Objective;
}

const SITES_KEY = 'smart:sites';
const seriesKey = (siteId: string) => `smart:series:${siteId}`;
const loadKey = (siteId: string) => `smart:load:${siteId}`;
const PLANS_KEY = 'smart:plans';
const ledgerKey = (siteId: string) => `smart:ledger:${siteId}`;

export interface SettingsPort {
  getSetting(key: string): Promise<string | null>;
  setSetting(key: string, value: string | null): Promise<void>;
}

async function readJson<T>(store: SettingsPort, key: string, fallback: T): Promise<T> {
  const raw = await store.getSetting(key);
  if (raw === null) return fallback;
  try {
    return JSON.parse(raw) as T;
  } catch {
    throw new AmpereError('AMPERE_ERR_STORE', `Setting ${key} is not valid JSON`);
  }
}

export class SmartRepository {
  constructor(private readonly store: SettingsPort) {}

  async sites(): Promise<SiteConfig[]> {
    return readJson<SiteConfig[]>(this.store, SITES_KEY, []);
  }

  async saveSites(sites: SiteConfig[]): Promise<void> {
    await this.store.setSetting(SITES_KEY, JSON.stringify(sites));
  }

  async series(siteId: string): Promise<TariffSeries | null> {
    return readJson<TariffSeries | null>(this.store, seriesKey(siteId), null);
  }

  async saveSeries(siteId: string, series: TariffSeries | null): Promise<void> {
    await this.store.setSetting(seriesKey(siteId), series ? JSON.stringify(series) : null);
  }

  async load(siteId: string): Promise<SiteLoad | null> {
    return readJson<SiteLoad | null>(this.store, loadKey(siteId), null);
  }

  async saveLoad(siteId: string, load: SiteLoad | null): Promise<void> {
    await this.store.setSetting(loadKey(siteId), load ? JSON.stringify(load) : null);
  }

  /** The site ledger as the last balancing run (on any node) kept it. */
  async ledger(siteId: string): Promise<KeptEntry[]> {
    return readJson<KeptEntry[]>(this.store, ledgerKey(siteId), []);
  }

  async saveLedger(siteId: string, entries: KeptEntry[] | null): Promise<void> {
    await this.store.setSetting(ledgerKey(siteId), entries ? JSON.stringify(entries) : null);
  }

  async plans(): Promise<Record<string, SessionPlanInput>> {
    return readJson<Record<string, SessionPlanInput>>(this.store, PLANS_KEY, {});
  }

  async savePlans(plans: Record<string, SessionPlanInput>): Promise<void> {
    await this.store.setSetting(PLANS_KEY, JSON.stringify(plans));
  }
}

/** Validates a site document from the API: a clear 400 naming the field. */
export function checkSite(site: SiteConfig): void {
  const bad = (field: string, why: string) => {
    throw new AmpereError('AMPERE_ERR_BAD_REQUEST', `${field}: ${why}`, { field });
  };
  if (!site.id || !/^[\w.-]{1,64}$/.test(site.id)) bad('id', 'letters, digits, . _ - only, 1 to 64 characters');
  if (site.gridLimitA === undefined && site.gridLimitKw === undefined)
    bad('gridLimitA', 'a site needs gridLimitA or gridLimitKw');
  if (site.gridLimitA !== undefined && !(site.gridLimitA > 0)) bad('gridLimitA', 'must be positive');
  if (site.gridLimitKw !== undefined && !(site.gridLimitKw > 0)) bad('gridLimitKw', 'must be positive');
  if (site.timeZone) {
    try {
      new Intl.DateTimeFormat('en', { timeZone: site.timeZone });
    } catch {
      bad('timeZone', `unknown time zone ${site.timeZone}`);
    }
  }
  const seen = new Set<string>();
  site.chargers.forEach((c, i) => {
    if (seen.has(c.chargerId)) bad(`chargers/${i}/chargerId`, `${c.chargerId} is listed twice`);
    seen.add(c.chargerId);
    if (c.phases !== 1 && c.phases !== 3) bad(`chargers/${i}/phases`, 'must be 1 or 3');
    if (c.phaseMapping && c.phaseMapping.length !== c.phases)
      bad(`chargers/${i}/phaseMapping`, `needs ${c.phases} entries`);
  });
}

/** The next instant after `now` at which the wall clock in `timeZone` reads HH:MM. */
export function nextLocalTime(hhmm: string, now: number, timeZone = 'UTC'): number {
  const m = /^(\d{1,2}):(\d{2})$/.exec(hhmm);
  if (!m) throw new AmpereError('AMPERE_ERR_BAD_REQUEST', `departureTime must be HH:MM, got ${hhmm}`);
  const minutes = Number(m[1]) * 60 + Number(m[2]);
  const fmt = new Intl.DateTimeFormat('en-GB', { timeZone, hour: '2-digit', minute: '2-digit', hourCycle: 'h23' });
  const localMinutes = (t: number) => {
    const [h, mm] = fmt.format(new Date(t)).split(':').map(Number);
    return h! * 60 + mm!;
  };
  // Walk forward in whole minutes from the next minute; at most a day and a DST hour.
  const start = Math.ceil((now + 1) / 60_000) * 60_000;
  const delta = (minutes - localMinutes(start) + 1440) % 1440;
  let t = start + delta * 60_000;
  // A DST change inside the window shifts the wall clock; correct by the difference once.
  const drift = (minutes - localMinutes(t) + 1440) % 1440;
  if (drift !== 0) t += (drift > 720 ? drift - 1440 : drift) * 60_000;
  return t;
}
