// Configuration policies: the configuration an operator wants on a charger (fleet-wide, per
// vendor + model, or per charger; the more specific wins), sent with ChangeConfiguration after
// each Accepted boot (what ev.energy does on connect), with the charger's answer kept per key.
// A key the charger refused (Rejected: read-only or an invalid value, e.g. go-e's
// MeterValuesSampledData; NotSupported: unknown key) is not sent again until its desired value
// changes, so a read-only key is not retried forever.
import { AmpereError, isAmpereError } from '../errors.ts';
import { zoneOffsetMs } from '../smart/index.ts';
import type { ChargerRecord, ConfigOutcomeInput, ConfigOutcomeRecord, ConfigPolicyRecord } from '../store/types.ts';
import { onAcceptedBoot } from './after-boot.ts';
import type { CentralHost } from './ports.ts';

export interface DesiredKey {
  key: string;
  value: string;
  /** Which policy gave the value. */
  scope: ConfigPolicyRecord['scope'];
}

export interface ApplyResult extends ConfigOutcomeInput {
  /** Not sent now: the charger refused this value before. */
  skipped: boolean;
}

export interface DriftItem {
  key: string;
  desired: string;
  scope: ConfigPolicyRecord['scope'];
  /** The charger's value (null: it does not report the key). */
  actual: string | null;
  readonly: boolean | null;
  inSync: boolean;
  outcome: Omit<ConfigOutcomeRecord, 'chargerId'> | null;
}

export interface DriftReport {
  chargerId: string;
  /** `charger`: read now with GetConfiguration; `stored`: the last copy (the charger is offline). */
  source: 'charger' | 'stored';
  items: DriftItem[];
}

/** Answers after which a value is not sent again (OCPP 1.6 §5.3: Rejected, NotSupported). */
const FINAL = new Set(['Rejected', 'NotSupported']);

const NOTES: Record<string, string> = {
  Rejected: 'not settable on this model (read-only or value refused); not retried until the desired value changes',
  NotSupported: 'the charger does not know this key; not retried until the desired value changes',
  RebootRequired: 'takes effect after the charger reboots',
};

const RANK = { fleet: 0, model: 1, charger: 2 } as const;

/** The desired configuration of one charger: fleet < vendor + model < charger. */
export function desiredConfiguration(
  policies: readonly ConfigPolicyRecord[],
  charger: Pick<ChargerRecord, 'id' | 'vendor' | 'model'>,
): DesiredKey[] {
  const out = new Map<string, DesiredKey & { rank: number }>();
  for (const p of policies) {
    const applies =
      p.scope === 'fleet' ||
      (p.scope === 'model' && p.vendor === charger.vendor && p.model === charger.model) ||
      (p.scope === 'charger' && p.chargerId === charger.id);
    if (!applies) continue;
    const rank = RANK[p.scope];
    const before = out.get(p.key);
    if (!before || before.rank <= rank) out.set(p.key, { key: p.key, value: p.value, scope: p.scope, rank });
  }
  return [...out.values()].sort((a, b) => a.key.localeCompare(b.key)).map(({ rank: _r, ...d }) => d);
}

async function desiredFor(central: CentralHost, chargerId: string): Promise<DesiredKey[]> {
  const charger = await central.store.getCharger(chargerId);
  if (!charger) throw new AmpereError('AMPERE_ERR_NOT_FOUND', `No charger "${chargerId}"`, { chargerId });
  return desiredConfiguration(await central.store.listConfigPolicies(), charger);
}

/**
 * Sends the desired configuration with ChangeConfiguration, one key at a time, and stores each
 * answer. `force` also sends values the charger refused before.
 */
export async function applyConfigPolicies(
  central: CentralHost,
  chargerId: string,
  opts: { force?: boolean } = {},
): Promise<ApplyResult[]> {
  const desired = await desiredFor(central, chargerId);
  if (desired.length === 0) return [];
  const last = new Map((await central.store.listConfigOutcomes(chargerId)).map((o) => [o.key, o]));
  const results: ApplyResult[] = [];
  const verified = await verifyAfterReboot(central, chargerId, desired, last);
  for (const d of desired) {
    const before = last.get(d.key);
    const check = verified.get(d.key);
    if (check) {
      results.push(check);
      continue;
    }
    if (!opts.force && before && before.value === d.value && FINAL.has(before.status)) {
      results.push({ key: d.key, value: d.value, status: before.status, note: before.note, skipped: true });
      continue;
    }
    try {
      const { status } = await central.call(chargerId, 'ChangeConfiguration', { key: d.key, value: d.value });
      results.push({ key: d.key, value: d.value, status, note: NOTES[status] ?? null, skipped: false });
    } catch (e) {
      // Offline or gone: nothing more can be sent now; the next boot tries again.
      if (isAmpereError(e, 'AMPERE_ERR_CHARGER_OFFLINE') || isAmpereError(e, 'AMPERE_ERR_SESSION_CLOSED')) break;
      results.push({ key: d.key, value: d.value, status: 'Failed', note: (e as Error).message, skipped: false });
    }
  }
  const sent = results.filter((r) => !r.skipped || verified.has(r.key));
  if (sent.length > 0) {
    await central.store.recordConfigOutcomes(
      chargerId,
      sent.map(({ skipped: _s, ...o }) => o),
      central.clock.now(),
    );
  }
  return results;
}

/**
 * Keys last answered RebootRequired with the value still desired: after a reboot they should be in
 * effect (OCPP 1.6 §5.3), so Ampere reads them (GetConfiguration) instead of sending them again.
 * Those now at the desired value are recorded Accepted ("in effect after a reboot").
 */
async function verifyAfterReboot(
  central: CentralHost,
  chargerId: string,
  desired: readonly DesiredKey[],
  last: ReadonlyMap<string, ConfigOutcomeRecord>,
): Promise<Map<string, ApplyResult>> {
  const out = new Map<string, ApplyResult>();
  const pending = desired.filter((d) => {
    const o = last.get(d.key);
    return o?.status === 'RebootRequired' && o.value === d.value;
  });
  if (pending.length === 0) return out;
  let keys: { key: string; value?: string }[];
  try {
    keys =
      (await central.call(chargerId, 'GetConfiguration', { key: pending.map((d) => d.key) })).configurationKey ?? [];
  } catch {
    return out; // sent again below, as before
  }
  const actual = new Map(keys.map((k) => [k.key, k.value]));
  for (const d of pending) {
    if (actual.get(d.key) !== d.value) continue;
    out.set(d.key, { key: d.key, value: d.value, status: 'Accepted', note: 'in effect after a reboot', skipped: true });
  }
  return out;
}

/** Desired against actual: read with GetConfiguration when connected, else the stored copy. */
export async function configurationDrift(central: CentralHost, chargerId: string): Promise<DriftReport> {
  const desired = await desiredFor(central, chargerId);
  let source: DriftReport['source'] = 'stored';
  const actual = new Map<string, { value: string | null; readonly: boolean }>();
  if (central.isConnected(chargerId) && desired.length > 0) {
    const r = await central.call(chargerId, 'GetConfiguration', { key: desired.map((d) => d.key) });
    for (const k of r.configurationKey ?? []) actual.set(k.key, { value: k.value ?? null, readonly: k.readonly });
    source = 'charger';
  } else {
    for (const k of await central.store.getConfiguration(chargerId)) actual.set(k.key, k);
  }
  const outcomes = new Map((await central.store.listConfigOutcomes(chargerId)).map((o) => [o.key, o]));
  return {
    chargerId,
    source,
    items: desired.map((d) => {
      const a = actual.get(d.key);
      const o = outcomes.get(d.key);
      return {
        key: d.key,
        desired: d.value,
        scope: d.scope,
        actual: a?.value ?? null,
        readonly: a ? a.readonly : null,
        inSync: a?.value === d.value,
        outcome: o ? { key: o.key, value: o.value, status: o.status, note: o.note, at: o.at } : null,
      };
    }),
  };
}

/** Applies the policies after every Accepted BootNotification; returns the unsubscribe. */
export function startConfigPolicies(central: CentralHost): () => void {
  return onAcceptedBoot(central, 'configuration policies', async (id) => {
    // A reboot Ampere asked for (reboot window) has happened: the next window may ask again.
    // Read first: most boots follow no such reboot, and a read costs less than a write.
    if ((await central.store.getSetting(rebootSentKey(id))) !== null)
      await central.store.setSetting(rebootSentKey(id), null);
    return applyConfigPolicies(central, id);
  });
}

// ---------------------------------------------------------------- reboot window

/**
 * When Ampere may reboot chargers whose policy keys answered RebootRequired: a daily window of
 * local time (`02:00-04:00`, may cross midnight) in an IANA time zone. Fleet-wide, or per charger.
 */
export interface RebootWindow {
  window: string;
  timeZone: string;
}

const rebootWindowKey = (chargerId?: string) =>
  chargerId ? `reboot-window:charger:${chargerId}` : 'reboot-window:fleet';
const rebootSentKey = (chargerId: string) => `reboot-window-sent:${chargerId}`;

/** Minutes of the day [from, to) of `HH:MM-HH:MM`; a clear error for anything else. */
export function parseRebootWindow(rw: RebootWindow): { from: number; to: number } {
  const m = /^([01]\d|2[0-3]):([0-5]\d)-([01]\d|2[0-3]):([0-5]\d)$/.exec(rw.window);
  const bad = (msg: string) => new AmpereError('AMPERE_ERR_BAD_REQUEST', msg, { field: 'body.window' });
  if (!m) throw bad(`window must be HH:MM-HH:MM in 24-hour time, e.g. 02:00-04:00, got "${rw.window}"`);
  const from = Number(m[1]) * 60 + Number(m[2]);
  const to = Number(m[3]) * 60 + Number(m[4]);
  if (from === to) throw bad('window must not be empty (start and end are the same)');
  try {
    new Intl.DateTimeFormat('en', { timeZone: rw.timeZone });
  } catch {
    throw new AmpereError(
      'AMPERE_ERR_BAD_REQUEST',
      `Unknown time zone "${rw.timeZone}" (an IANA name such as Europe/Amsterdam)`,
      {
        field: 'body.timeZone',
      },
    );
  }
  return { from, to };
}

export function inRebootWindow(at: number, rw: RebootWindow): boolean {
  const { from, to } = parseRebootWindow(rw);
  const local = Math.floor((at + zoneOffsetMs(at, rw.timeZone)) / 60_000);
  const minute = ((local % 1440) + 1440) % 1440;
  return from < to ? minute >= from && minute < to : minute >= from || minute < to;
}

/** The charger's own window, else the fleet's; null when none. */
export async function rebootWindowFor(central: CentralHost, chargerId?: string): Promise<RebootWindow | null> {
  for (const key of chargerId ? [rebootWindowKey(chargerId), rebootWindowKey()] : [rebootWindowKey()]) {
    const raw = await central.store.getSetting(key);
    if (raw) return JSON.parse(raw) as RebootWindow;
  }
  return null;
}

/** Sets (or with null removes) the fleet's window, or one charger's. */
export async function setRebootWindow(
  central: CentralHost,
  rw: RebootWindow | null,
  chargerId?: string,
): Promise<RebootWindow | null> {
  if (rw) parseRebootWindow(rw);
  const value = rw ? JSON.stringify({ window: rw.window, timeZone: rw.timeZone }) : null;
  await central.store.setSetting(rebootWindowKey(chargerId), value);
  return rw;
}

/**
 * Once per pending reboot, inside the window and with no transaction running on the charger,
 * sends Reset Soft (OCPP 1.6 §5.14) to a connected charger with RebootRequired policy keys. The
 * keys are verified after the next boot (applyConfigPolicies). `tick` is driven by the
 * composition root's timer, and by tests with their own clock.
 */
export async function rebootWindowTick(central: CentralHost): Promise<{ chargerId: string; status: string }[]> {
  const done: { chargerId: string; status: string }[] = [];
  const now = central.clock.now();
  for (const chargerId of central.connectedIds()) {
    try {
      const keys = (await central.store.listConfigOutcomes(chargerId))
        .filter((o) => o.status === 'RebootRequired')
        .map((o) => o.key);
      if (keys.length === 0 || (await central.store.getSetting(rebootSentKey(chargerId))) !== null) continue;
      const rw = await rebootWindowFor(central, chargerId);
      if (!rw || !inRebootWindow(now, rw)) continue;
      const active = await central.store.listTransactions({ chargerId, active: true, limit: 1 });
      if (active.items.length > 0) continue;
      await central.store.setSetting(rebootSentKey(chargerId), new Date(now).toISOString());
      const { status } = await central.call(chargerId, 'Reset', { type: 'Soft' });
      central.events.emit('config.reboot', chargerId, { keys, status, window: rw.window, timeZone: rw.timeZone });
      done.push({ chargerId, status });
    } catch (err) {
      central.log.warn({ chargerId, err: (err as Error).message }, 'reboot window: no reset sent');
    }
  }
  return done;
}
