// Configuration policies (desired ChangeConfiguration values fleet-wide, per model or per charger)
// and the outcome per charger and key: the checks and row mapping both stores share.
import { invalid, optionalText, requireInt, requireText } from './checks.ts';
import { toIso, toMs } from './time.ts';
import type {
  ChargerTagsRecord,
  ConfigOutcomeInput,
  ConfigOutcomeRecord,
  ConfigPolicyInput,
  ConfigPolicyRecord,
  ConfigPolicyTarget,
  ReservationInput,
  ReservationRecord,
  TimeInput,
} from './types.ts';

export const CONFIG_POLICY_SCOPES = ['fleet', 'model', 'charger'] as const;

/** [scope, vendor, model, charger_id, key]: '' where a scope has no such part (a NOT NULL primary key). */
export type PolicyKeyRow = [scope: string, vendor: string, model: string, chargerId: string, key: string];

export function policyKeyRow(p: ConfigPolicyTarget): PolicyKeyRow {
  if (!(CONFIG_POLICY_SCOPES as readonly string[]).includes(p.scope)) {
    throw invalid(`scope: one of ${CONFIG_POLICY_SCOPES.join(', ')} is required`);
  }
  const key = requireText(p.key, 'key');
  if (key.length > 50) throw invalid('key: at most 50 characters (OCPP 1.6 CiString50)');
  switch (p.scope) {
    case 'fleet':
      if (p.vendor || p.model || p.chargerId) throw invalid('a fleet policy names no vendor, model or charger');
      return ['fleet', '', '', '', key];
    case 'model':
      if (p.chargerId) throw invalid('a model policy names no charger');
      return ['model', requireText(p.vendor, 'vendor'), requireText(p.model, 'model'), '', key];
    default:
      if (p.vendor || p.model) throw invalid('a charger policy names no vendor or model');
      return ['charger', '', '', requireText(p.chargerId, 'chargerId'), key];
  }
}

/** The key row plus the value (CiString500) and the time in ms. */
export function policyRow(p: ConfigPolicyInput, at: TimeInput): [...PolicyKeyRow, value: string, updatedAt: number] {
  const row = policyKeyRow(p);
  if (typeof p.value !== 'string') throw invalid('value: a string is required');
  if (p.value.length > 500) throw invalid('value: at most 500 characters (OCPP 1.6 CiString500)');
  return [...row, p.value, toMs(at, 'at')];
}

export function policyRecord(r: {
  scope: string;
  vendor: string;
  model: string;
  charger_id: string;
  key: string;
  value: string;
  updated_at: number | string;
}): ConfigPolicyRecord {
  return {
    scope: r.scope as ConfigPolicyRecord['scope'],
    vendor: r.vendor === '' ? null : r.vendor,
    model: r.model === '' ? null : r.model,
    chargerId: r.charger_id === '' ? null : r.charger_id,
    key: r.key,
    value: r.value,
    updatedAt: toIso(Number(r.updated_at)),
  };
}

/** [charger_id, key, value, status, note, at] per outcome. */
export function outcomeRows(
  chargerId: string,
  outcomes: readonly ConfigOutcomeInput[],
  at: TimeInput,
): [string, string, string, string, string | null, number][] {
  requireText(chargerId, 'chargerId');
  const ms = toMs(at, 'at');
  return outcomes.map((o, i) => [
    chargerId,
    requireText(o.key, `outcomes[${i}].key`),
    typeof o.value === 'string' ? o.value : '',
    requireText(o.status, `outcomes[${i}].status`),
    o.note ?? null,
    ms,
  ]);
}

export function outcomeRecord(r: {
  charger_id: string;
  key: string;
  value: string;
  status: string;
  note: string | null;
  at: number | string;
}): ConfigOutcomeRecord {
  return {
    chargerId: r.charger_id,
    key: r.key,
    value: r.value,
    status: r.status,
    note: r.note,
    at: toIso(Number(r.at)),
  };
}

export const POLICY_ORDER = `CASE scope WHEN 'fleet' THEN 0 WHEN 'model' THEN 1 ELSE 2 END, vendor, model, charger_id, key`;

// ---------------------------------------------------------------- per-charger id tags

/** Rows [charger_id, kind, id_tag]; tags are kept in lower case, as the id tag registry keys them. */
export function chargerTagRows(
  chargerId: string,
  tags: { allowed: readonly string[]; freeChargingTag: string | null },
): [string, 'allowed' | 'free', string][] {
  requireText(chargerId, 'chargerId');
  if (!Array.isArray(tags.allowed)) throw invalid('allowed: an array of id tags is required');
  const rows: [string, 'allowed' | 'free', string][] = [];
  const seen = new Set<string>();
  tags.allowed.forEach((t, i) => {
    const tag = requireText(t, `allowed[${i}]`);
    if (tag.length > 20) throw invalid(`allowed[${i}]: at most 20 characters (OCPP 1.6 IdToken)`);
    if (!seen.has(tag.toLowerCase())) rows.push([chargerId, 'allowed', tag.toLowerCase()]);
    seen.add(tag.toLowerCase());
  });
  if (tags.freeChargingTag !== null) {
    const tag = requireText(tags.freeChargingTag, 'freeChargingTag');
    if (tag.length > 20) throw invalid('freeChargingTag: at most 20 characters (OCPP 1.6 IdToken)');
    rows.push([chargerId, 'free', tag.toLowerCase()]);
  }
  return rows;
}

export function chargerTagsRecord(
  chargerId: string,
  rows: readonly { kind: string; id_tag: string }[],
): ChargerTagsRecord {
  const allowed = rows.filter((r) => r.kind === 'allowed').map((r) => r.id_tag);
  const free = rows.find((r) => r.kind === 'free');
  return {
    chargerId,
    allowed: allowed.length === 0 ? ['*'] : allowed.sort(),
    freeChargingTag: free ? free.id_tag : null,
  };
}

// ---------------------------------------------------------------- reservations

/** [charger_id, connector_id, id_tag, parent_id_tag, expiry_at, status, created_at, updated_at] */
export function reservationRow(r: ReservationInput, at: TimeInput): unknown[] {
  const connectorId = requireInt(r.connectorId, 'connectorId');
  if (connectorId < 0) throw invalid('connectorId: 0 or more');
  const idTag = requireText(r.idTag, 'idTag');
  if (idTag.length > 20) throw invalid('idTag: at most 20 characters (OCPP 1.6 IdToken)');
  const ms = toMs(at, 'at');
  return [
    requireText(r.chargerId, 'chargerId'),
    connectorId,
    idTag,
    optionalText(r.parentIdTag, 'parentIdTag'),
    toMs(r.expiryDate, 'expiryDate'),
    'requested',
    ms,
    ms,
  ];
}

export function reservationRecord(r: any): ReservationRecord {
  return {
    id: Number(r.id),
    chargerId: r.charger_id,
    connectorId: Number(r.connector_id),
    idTag: r.id_tag,
    parentIdTag: r.parent_id_tag,
    expiryDate: toIso(Number(r.expiry_at)),
    status: r.status,
    transactionId: r.transaction_id === null ? null : Number(r.transaction_id),
    createdAt: toIso(Number(r.created_at)),
    updatedAt: toIso(Number(r.updated_at)),
  };
}
