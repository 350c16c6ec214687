// Local authorisation lists (OCPP 1.6 §3.5, §5.10 GetLocalListVersion, §5.15 SendLocalList): each
// charger gets the id tags it may use (its per-charger tags, `*` = every tag Ampere knows) so it
// can authorise offline. Ampere keeps the version and entries it last sent; a change goes out as a
// Differential update, a version the charger does not share as a Full one. A charger that answers
// NotSupported (or -1, or a CALLERROR: go-e, Eaton, whose manual marks these "not to be used")
// is recorded as such and skipped until the operator asks again.
import { isAmpereError } from '../errors.ts';
import type { IdTagRecord } from '../store/types.ts';
import { onAcceptedBoot } from './after-boot.ts';
import type { IdTagInfo } from './authorization.ts';
import { WILDCARD_TAG } from './authorization.ts';
import type { CentralHost } from './ports.ts';

export interface LocalListEntry {
  idTag: string;
  idTagInfo: IdTagInfo;
}

export interface LocalListState {
  chargerId: string;
  /** The version the charger holds, as far as Ampere knows (0: never sent). */
  version: number;
  /** synced; unsupported (skipped); failed (the last update was refused); never. */
  status: 'synced' | 'unsupported' | 'failed' | 'never';
  /** The charger's last answer (SendLocalList status, `listVersion -1`, or a CALLERROR code). */
  answer: string | null;
  entries: LocalListEntry[];
  at: string | null;
}

export interface LocalListSyncResult {
  /** Full, Differential, or none (nothing to send, or skipped). */
  updateType: 'Full' | 'Differential' | 'none';
  /** How many entries were sent. */
  sent: number;
  state: LocalListState;
}

const settingKey = (chargerId: string) => `local-list:${chargerId}`;

export async function localListState(central: CentralHost, chargerId: string): Promise<LocalListState> {
  const raw = await central.store.getSetting(settingKey(chargerId));
  if (raw) return JSON.parse(raw) as LocalListState;
  return { chargerId, version: 0, status: 'never', answer: null, entries: [], at: null };
}

async function save(central: CentralHost, state: LocalListState): Promise<LocalListState> {
  const saved = { ...state, at: new Date(central.clock.now()).toISOString() };
  await central.store.setSetting(settingKey(state.chargerId), JSON.stringify(saved));
  return saved;
}

function infoOf(t: IdTagRecord): IdTagInfo {
  const info: IdTagInfo = { status: t.status };
  if (t.expiryDate) info.expiryDate = `${t.expiryDate.slice(0, 19)}Z`;
  if (t.parentIdTag) info.parentIdTag = t.parentIdTag;
  return info;
}

/** The list a charger should hold: the tags it may use (OCPP 1.6 §7.27 AuthorizationData). */
export async function desiredLocalList(central: CentralHost, chargerId: string): Promise<LocalListEntry[]> {
  const [tags, registry] = await Promise.all([
    central.store.getChargerTags(chargerId),
    central.store.listIdTags({ limit: 10_000 }),
  ]);
  const all = tags.allowed.includes(WILDCARD_TAG);
  const allowed = new Set(tags.allowed);
  return registry.items
    .filter((t) => t.idTag !== WILDCARD_TAG)
    .filter(
      (t) =>
        all ||
        allowed.has(t.idTag.toLowerCase()) ||
        (t.parentIdTag !== null && allowed.has(t.parentIdTag.toLowerCase())),
    )
    .map((t) => ({ idTag: t.idTag, idTagInfo: infoOf(t) }))
    .sort((a, b) => a.idTag.localeCompare(b.idTag));
}

/** Entries to add or change (with idTagInfo) and to remove (without), OCPP 1.6 §5.15. */
function difference(
  before: readonly LocalListEntry[],
  after: readonly LocalListEntry[],
): { idTag: string; idTagInfo?: IdTagInfo }[] {
  const old = new Map(before.map((e) => [e.idTag, JSON.stringify(e.idTagInfo)]));
  const now = new Set(after.map((e) => e.idTag));
  return [
    ...after.filter((e) => old.get(e.idTag) !== JSON.stringify(e.idTagInfo)),
    ...before.filter((e) => !now.has(e.idTag)).map((e) => ({ idTag: e.idTag })),
  ];
}

/** A CALLERROR or a NotSupported answer: the charger has no local list to manage. */
function unsupportedCode(e: unknown): string | undefined {
  if (!isAmpereError(e, 'AMPERE_ERR_CHARGER_CALLERROR')) return undefined;
  return String(e.details?.ocppCode ?? 'CALLERROR');
}

/**
 * Brings the charger's list up to date: Differential when Ampere knows what it holds, else (or
 * with `full`) Full. A charger recorded as unsupported is skipped unless `force`.
 */
export async function syncLocalList(
  central: CentralHost,
  chargerId: string,
  opts: { full?: boolean; force?: boolean } = {},
): Promise<LocalListSyncResult> {
  let state = await localListState(central, chargerId);
  if (state.status === 'unsupported' && !opts.force) return { updateType: 'none', sent: 0, state };
  const desired = await desiredLocalList(central, chargerId);
  const full = opts.full || state.status !== 'synced';
  const changes = full ? desired : difference(state.entries, desired);
  if (!full && changes.length === 0) return { updateType: 'none', sent: 0, state };
  const updateType = full ? 'Full' : 'Differential';
  const listVersion = state.version + 1;
  let answer: string;
  try {
    ({ status: answer } = await central.call(chargerId, 'SendLocalList', {
      listVersion,
      updateType,
      localAuthorizationList: changes,
    }));
  } catch (e) {
    const code = unsupportedCode(e);
    if (code === undefined) throw e;
    state = await save(central, { ...state, status: 'unsupported', answer: code });
    return { updateType: 'none', sent: 0, state };
  }
  if (answer === 'VersionMismatch' && !full) return syncLocalList(central, chargerId, { ...opts, full: true });
  if (answer === 'Accepted') {
    state = await save(central, {
      chargerId,
      version: listVersion,
      status: 'synced',
      answer,
      entries: desired,
      at: null,
    });
  } else {
    state = await save(central, { ...state, status: answer === 'NotSupported' ? 'unsupported' : 'failed', answer });
  }
  return { updateType, sent: changes.length, state };
}

/** At an Accepted boot: GetLocalListVersion, then a Full update unless the versions agree. */
export async function reconcileLocalList(central: CentralHost, chargerId: string): Promise<LocalListSyncResult> {
  const state = await localListState(central, chargerId);
  if (state.status === 'unsupported') return { updateType: 'none', sent: 0, state };
  // Nothing sent before and nothing to send: a site without id tags is not asked at all.
  if (state.status === 'never' && (await desiredLocalList(central, chargerId)).length === 0) {
    return { updateType: 'none', sent: 0, state };
  }
  let version: number;
  try {
    ({ listVersion: version } = await central.call(chargerId, 'GetLocalListVersion', {}));
  } catch (e) {
    const code = unsupportedCode(e);
    if (code === undefined) throw e;
    const saved = await save(central, { ...state, status: 'unsupported', answer: code });
    return { updateType: 'none', sent: 0, state: saved };
  }
  // OCPP 1.6 §5.10: -1 = the charger does not support local authorisation lists.
  if (version === -1) {
    const saved = await save(central, { ...state, status: 'unsupported', answer: 'listVersion -1' });
    return { updateType: 'none', sent: 0, state: saved };
  }
  return syncLocalList(central, chargerId, { full: version !== state.version || state.status !== 'synced' });
}

/** Reconciles after every Accepted BootNotification; returns the unsubscribe. */
export function startLocalLists(central: CentralHost): () => void {
  return onAcceptedBoot(central, 'local list reconciliation', (id) => reconcileLocalList(central, id));
}
