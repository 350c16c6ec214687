// Session analytics, what an energy app shows its users: energy so far, current power, whether the
// car is charging or only plugged in, time to a target, and the cost under the site's tariff.
import type { MeterValueRecord, Store, TransactionRecord } from '../store/types.ts';
import { type Cost, costOf, type EnergyReading, TARIFF_SETTING, type Tariff } from './tariff.ts';

export type SessionState = 'charging' | 'plugged-in' | 'unknown';
export type PowerSource = 'Power.Active.Import' | 'Current.Import×Voltage' | 'Current.Import×230V';

export interface LiveSession {
  state: SessionState;
  connectorStatus: string | null;
  energyWh: number;
  powerW: number | null;
  powerSource: PowerSource | null;
  sampledAt: string | null;
  targetWh: number | null;
  secondsToTarget: number | null;
}

/**
 * Where a power figure comes from: sampled power (Power.Active.Import), or the energy register
 * (energy over time between two readings: meterStart, register samples, meterStop).
 */
export type PowerFigureSource = 'Power.Active.Import' | 'Energy.Active.Import.Register';

export interface TransactionView extends Omit<TransactionRecord, 'createdAt'> {
  active: boolean;
  durationSeconds: number;
  /** Energy over duration: always from the energy register. */
  averagePowerW: number | null;
  averagePowerSource: PowerFigureSource | null;
  /** The highest power the session saw: never below the average over any stretch with readings. */
  peakPowerW: number | null;
  peakPowerSource: PowerFigureSource | null;
  cost: Cost | null;
  meterSamples: number;
  live: LiveSession | null;
}

const ENERGY = 'Energy.Active.Import.Register';
/** Below this a connector in Charging is only plugged in (EVs idle at a few watts). */
const IDLE_W = 50;
/** Nominal phase voltage when a charger reports current without voltage (IEC 60038). */
const NOMINAL_V = 230;
const RECENT_MS = 5 * 60_000;
/** Up to this many register samples are priced one by one. */
const RAW_READINGS = 5000;
/**
 * Register readings are whole Wh: over a few seconds one Wh is hundreds of watts. Averages over
 * stretches shorter than this are not read as power.
 */
const MIN_STRETCH_MS = 15 * 60_000;
const PLUGGED = new Set(['Preparing', 'Charging', 'SuspendedEV', 'SuspendedEVSE', 'Finishing']);

export async function loadTariff(store: Store): Promise<Tariff | null> {
  const raw = await store.getSetting(TARIFF_SETTING);
  if (!raw) return null;
  try {
    return JSON.parse(raw) as Tariff;
  } catch {
    return null;
  }
}

export async function saveTariff(store: Store, tariff: Tariff | null): Promise<void> {
  await store.setSetting(TARIFF_SETTING, tariff ? JSON.stringify(tariff) : null);
}

/** The latest sample per (measurand, phase) among recent rows. */
function latest(rows: readonly MeterValueRecord[]): Map<string, MeterValueRecord> {
  const out = new Map<string, MeterValueRecord>();
  for (const r of rows) {
    // An outlet reading wins over an inlet one for the same quantity.
    const key = `${r.measurand ?? ENERGY}|${r.phase ?? ''}`;
    const prev = out.get(key);
    if (!prev || prev.timestamp <= r.timestamp) out.set(key, r);
  }
  return out;
}

const num = (r: MeterValueRecord | undefined): number | null => {
  if (!r) return null;
  const n = Number(r.value);
  if (!Number.isFinite(n)) return null;
  return r.unit === 'kW' || r.unit === 'kVA' ? n * 1000 : n;
};

/** Current power: Power.Active.Import, else Current.Import × Voltage summed over phases. */
export function currentPower(rows: readonly MeterValueRecord[]): { w: number | null; source: PowerSource | null } {
  const last = latest(rows);
  const of = (measurand: string) => [...last.values()].filter((r) => (r.measurand ?? ENERGY) === measurand);
  const power = of('Power.Active.Import').filter((r) => r.phase !== 'N');
  if (power.length > 0) {
    const total = power.find((r) => r.phase === null);
    const w = total ? num(total) : power.reduce((s, r) => s + (num(r) ?? 0), 0);
    return { w, source: 'Power.Active.Import' };
  }
  const currents = of('Current.Import').filter((r) => r.phase !== 'N');
  if (currents.length === 0) return { w: null, source: null };
  const volts = new Map(of('Voltage').map((r) => [r.phase, num(r)] as const));
  const anyVolt = [...volts.values()].find((v) => v !== null) ?? null;
  const phased = currents.filter((r) => r.phase !== null);
  const used = phased.length > 0 ? phased : currents;
  let w = 0;
  let nominal = false;
  for (const c of used) {
    const p = c.phase ?? '';
    const v = volts.get(c.phase) ?? volts.get(`${p}-N`) ?? volts.get(null) ?? anyVolt;
    if (v === null || v === undefined) nominal = true;
    w += (num(c) ?? 0) * (v ?? NOMINAL_V);
  }
  return { w, source: nominal ? 'Current.Import×230V' : 'Current.Import×Voltage' };
}

async function energyReadings(store: Store, tx: TransactionRecord): Promise<EnergyReading[]> {
  const readings: EnergyReading[] = [{ at: Date.parse(tx.startedAt), wh: tx.meterStart }];
  const raw = await store.queryMeterValues({ transactionId: tx.id, measurand: ENERGY, limit: RAW_READINGS + 1 });
  // One register: a charger reporting both Inlet and Outlet would otherwise zig-zag between them.
  const location = raw.find((r) => r.wh !== null && r.phase === null)?.location ?? null;
  if (raw.length <= RAW_READINGS) {
    for (const r of raw) {
      if (r.wh !== null && r.phase === null && r.location === location) {
        readings.push({ at: Date.parse(r.timestamp), wh: r.wh });
      }
    }
  } else {
    // Long sessions: five-minute buckets (the last sample of each) keep a week to a few thousand.
    const buckets = await store.queryMeterBuckets({ transactionId: tx.id, measurand: ENERGY, stepSeconds: 300 });
    for (const b of buckets) {
      if (b.wh !== null && b.phase === null && b.location === location) {
        readings.push({ at: Date.parse(b.timestamp) + 150_000, wh: b.wh });
      }
    }
  }
  if (tx.stoppedAt && tx.meterStop !== null) readings.push({ at: Date.parse(tx.stoppedAt), wh: tx.meterStop });
  return readings;
}

/**
 * The highest average power over stretches of at least MIN_STRETCH_MS between energy readings
 * (oldest first), the whole session included: what the register proves the car drew at least.
 */
export function registerPeak(readings: readonly EnergyReading[]): number | null {
  const sorted = [...readings].sort((a, b) => a.at - b.at);
  let best: number | null = null;
  const consider = (from: EnergyReading, to: EnergyReading) => {
    const ms = to.at - from.at;
    if (ms <= 0) return;
    const w = ((to.wh - from.wh) * 3_600_000) / ms;
    if (w >= 0 && (best === null || w > best)) best = w;
  };
  let from = sorted[0];
  for (const r of sorted.slice(1)) {
    if (from && r.at - from.at >= MIN_STRETCH_MS) {
      consider(from, r);
      from = r;
    }
  }
  const first = sorted[0];
  const last = sorted[sorted.length - 1];
  if (first && last) consider(first, last);
  return best;
}

function targetOf(smartPlan: unknown): number | null {
  if (!smartPlan || typeof smartPlan !== 'object') return null;
  const p = smartPlan as Record<string, unknown>;
  // A smart energy tag's plan states kWh (src/central/smart/model.ts TagPlan).
  const v = p.targetWh ?? p.targetEnergyWh ?? (typeof p.energyKWh === 'number' ? p.energyKWh * 1000 : undefined);
  return typeof v === 'number' && v > 0 ? v : null;
}

export interface ViewOptions {
  now: number;
  tariff: Tariff | null;
  /** Target energy for the estimate; defaults to the id tag's smart plan target, if any. */
  targetWh?: number;
  /** Skip the live block and the meter query behind it (lists). */
  live?: boolean;
}

export async function transactionView(
  store: Store,
  tx: TransactionRecord,
  opts: ViewOptions,
): Promise<TransactionView> {
  const summary = await store.transactionMeterSummary(tx.id);
  const active = tx.stoppedAt === null;
  const end = active ? opts.now : Date.parse(tx.stoppedAt!);
  const durationSeconds = Math.max(0, (end - Date.parse(tx.startedAt)) / 1000);
  const energyWh = active
    ? summary.lastWh !== null
      ? Math.max(0, summary.lastWh - tx.meterStart)
      : 0
    : (tx.energyWh ?? null);
  const averagePowerW = energyWh !== null && durationSeconds > 0 ? (energyWh * 3600) / durationSeconds : null;
  const readings = await energyReadings(store, tx);
  if (active && summary.lastWh !== null && summary.lastAt) {
    readings.push({ at: Date.parse(summary.lastAt), wh: summary.lastWh });
  }
  // Peak is the highest power the session saw: sampled power when the charger reports it, but
  // never below what the energy register proves over a stretch (sparse or missing power samples).
  const fromRegister = registerPeak(readings);
  const sampledWins = summary.peakW !== null && (fromRegister === null || summary.peakW >= fromRegister);
  const peakPowerW = sampledWins ? summary.peakW : fromRegister;
  const peakPowerSource: PowerFigureSource | null =
    peakPowerW === null ? null : sampledWins ? 'Power.Active.Import' : 'Energy.Active.Import.Register';
  const cost: Cost | null = opts.tariff ? costOf(opts.tariff, readings) : null;
  let live: LiveSession | null = null;
  if (active && opts.live !== false) {
    const since = Math.max(
      Date.parse(tx.startedAt),
      (summary.lastAt ? Date.parse(summary.lastAt) : opts.now) - RECENT_MS,
    );
    const rows = await store.queryMeterValues({ transactionId: tx.id, from: since, limit: 5000 });
    const { w, source } = currentPower(rows);
    const connector = (await store.listConnectors(tx.chargerId)).find((c) => c.connectorId === tx.connectorId);
    const status = connector?.status ?? null;
    let state: SessionState = 'unknown';
    if (status === 'Charging' && (w === null || w > IDLE_W)) state = 'charging';
    else if (status !== null && PLUGGED.has(status)) state = 'plugged-in';
    const targetWh = opts.targetWh ?? targetOf((await store.getIdTag(tx.idTag))?.smartPlan);
    let secondsToTarget: number | null = null;
    if (targetWh !== null) {
      const left = targetWh - (energyWh ?? 0);
      if (left <= 0) secondsToTarget = 0;
      else if (state === 'charging' && w !== null && w > IDLE_W) secondsToTarget = Math.round((left / w) * 3600);
    }
    live = {
      state,
      connectorStatus: status,
      energyWh: energyWh ?? 0,
      powerW: w,
      powerSource: source,
      sampledAt: summary.lastAt,
      targetWh,
      secondsToTarget,
    };
  }
  const { createdAt: _created, ...rest } = tx;
  return {
    ...rest,
    active,
    energyWh,
    durationSeconds,
    averagePowerW,
    averagePowerSource: averagePowerW === null ? null : 'Energy.Active.Import.Register',
    peakPowerW,
    peakPowerSource,
    cost,
    meterSamples: summary.samples,
    live,
  };
}
