// Diagnostics requests (GetDiagnostics to Ampere's own upload endpoint, src/central/diagnostics.ts):
// the checks and row mapping both stores share. The upload credential is kept only as a hash.
import { invalid, optionalInt, optionalText, requireInt, requireText } from './checks.ts';
import { toIso, toMs, toMsOrNull } from './time.ts';
import type { DiagnosticsPatch, DiagnosticsRequestInput, DiagnosticsRequestRecord, TimeInput } from './types.ts';

export const DIAGNOSTICS_TRANSPORTS = ['ftp', 'http'] as const;
/** GetLog's log types (security whitepaper); none = GetDiagnostics. */
export const LOG_TYPES = ['DiagnosticsLog', 'SecurityLog'] as const;

export const DIAGNOSTICS_INSERT = `INSERT INTO diagnostics_requests (charger_id, transport, log_type, secret_hash,
  expires_at, start_time, stop_time, retries, retry_interval, status, history, created_at, updated_at)
  VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`;

/** The insert's values, in DIAGNOSTICS_INSERT's order. */
export function diagnosticsRow(r: DiagnosticsRequestInput, at: TimeInput): unknown[] {
  if (r.logType != null && !(LOG_TYPES as readonly string[]).includes(r.logType)) {
    throw invalid(`logType: one of ${LOG_TYPES.join(', ')}, or none for GetDiagnostics`);
  }
  if (!(DIAGNOSTICS_TRANSPORTS as readonly string[]).includes(r.transport)) {
    throw invalid(`transport: one of ${DIAGNOSTICS_TRANSPORTS.join(', ')} is required`);
  }
  const ms = toMs(at, 'at');
  return [
    requireText(r.chargerId, 'chargerId'),
    r.transport,
    r.logType ?? null,
    requireText(r.secretHash, 'secretHash'),
    toMs(r.expiresAt, 'expiresAt'),
    toMsOrNull(r.startTime, 'startTime'),
    toMsOrNull(r.stopTime, 'stopTime'),
    optionalInt(r.retries, 'retries'),
    optionalInt(r.retryInterval, 'retryInterval'),
    'requested',
    JSON.stringify([{ status: 'requested', at: toIso(ms) }]),
    ms,
    ms,
  ];
}

/** The columns a patch may set, and how each value is stored. */
const PATCH_COLUMNS: Record<keyof DiagnosticsPatch, [column: string, toDb: (v: unknown, field: string) => unknown]> = {
  status: ['status', (v, f) => requireText(v, f)],
  fileName: ['file_name', (v, f) => optionalText(v, f)],
  file: ['file', (v, f) => optionalText(v, f)],
  fileSize: ['file_size', (v, f) => (v === null ? null : requireInt(v, f))],
  receivedAt: ['received_at', (v, f) => toMsOrNull(v as TimeInput | null, f)],
  error: ['error', (v, f) => optionalText(v, f)],
  history: [
    'history',
    (v, f) => {
      if (!Array.isArray(v)) throw invalid(`${f}: an array is required`);
      return JSON.stringify(v);
    },
  ],
};

/** `SET a = ?, b = ?, updated_at = ?` and its values, for the fields the patch names. */
export function diagnosticsPatchSql(patch: DiagnosticsPatch, at: TimeInput): { set: string; values: unknown[] } {
  const cols: string[] = [];
  const values: unknown[] = [];
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    const spec = PATCH_COLUMNS[k as keyof DiagnosticsPatch];
    if (!spec) throw invalid(`${k}: not a field of a diagnostics request that can change`);
    cols.push(`${spec[0]} = ?`);
    values.push(spec[1](v, k));
  }
  cols.push('updated_at = ?');
  values.push(toMs(at, 'at'));
  return { set: cols.join(', '), values };
}

const isoOrNull = (v: unknown) => (v === null || v === undefined ? null : toIso(Number(v)));
const intOrNull = (v: unknown) => (v === null || v === undefined ? null : Number(v));

export function diagnosticsRecord(r: any): DiagnosticsRequestRecord {
  return {
    id: Number(r.id),
    chargerId: r.charger_id,
    transport: r.transport,
    logType: r.log_type ?? null,
    secretHash: r.secret_hash,
    expiresAt: toIso(Number(r.expires_at)),
    startTime: isoOrNull(r.start_time),
    stopTime: isoOrNull(r.stop_time),
    retries: intOrNull(r.retries),
    retryInterval: intOrNull(r.retry_interval),
    status: r.status,
    fileName: r.file_name ?? null,
    file: r.file ?? null,
    fileSize: intOrNull(r.file_size),
    receivedAt: isoOrNull(r.received_at),
    error: r.error ?? null,
    history: JSON.parse(r.history),
    createdAt: toIso(Number(r.created_at)),
    updatedAt: toIso(Number(r.updated_at)),
  };
}
