// The CLI's client of the operator API. Each route it uses is listed with the types generated
// from the API's own JSON schemas (api-types.generated.ts), so a changed answer is a type error
// here rather than an `undefined` in a table.
import { readFileSync } from 'node:fs';
import type { ClientConfig } from '../config/client.ts';
import { AmpereError } from '../errors.ts';
import type * as T from './api-types.generated.ts';
import type { NodeView } from './nodes.ts';

type Id = { id: string };

/** Route → path parameters, query, body and answer. */
export interface Routes {
  'GET /api/chargers': { params: Record<string, never>; query: true; body: never; res: T.Page<T.Charger> };
  'GET /api/chargers/:id': { params: Id; query: false; body: never; res: T.ChargerDetail };
  'GET /api/approvals': { params: Record<string, never>; query: true; body: never; res: T.Page<T.Approval> };
  'GET /api/nodes': { params: Record<string, never>; query: false; body: never; res: { items: NodeView[] } };
  'POST /api/chargers/:id/approve': { params: Id; query: false; body: never; res: T.ChargerApproved };
  'POST /api/chargers/:id/reject': { params: Id; query: false; body: never; res: T.ChargerApproved };
  'GET /api/id-tags': { params: Record<string, never>; query: true; body: never; res: T.Page<T.IdTag> };
  'GET /api/id-tags/:idTag': { params: { idTag: string }; query: false; body: never; res: T.IdTag };
  'POST /api/id-tags': { params: Record<string, never>; query: false; body: T.IdTagCreate; res: T.IdTag };
  'PATCH /api/id-tags/:idTag': { params: { idTag: string }; query: false; body: T.IdTagPatch; res: T.IdTag };
  'DELETE /api/id-tags/:idTag': { params: { idTag: string }; query: false; body: never; res: null };
  'POST /api/id-tags/import': { params: Record<string, never>; query: false; body: string; res: { imported: number } };
  'GET /api/transactions': { params: Record<string, never>; query: true; body: never; res: T.Page<T.Transaction> };
  'GET /api/transactions/:id': { params: Id; query: true; body: never; res: T.TransactionDetail };
  'GET /api/sessions/active': {
    params: Record<string, never>;
    query: true;
    body: never;
    res: { items: T.TransactionDetail[] };
  };
  'POST /api/chargers/:id/commands/:action': {
    params: Id & { action: string };
    query: false;
    body: unknown;
    res: Record<string, unknown>;
  };
  'GET /api/chargers/:id/configuration': { params: Id; query: true; body: never; res: T.Configuration };
  'PUT /api/chargers/:id/configuration/:key': {
    params: Id & { key: string };
    query: false;
    body: { value: string };
    res: { status: 'Accepted' | 'Rejected' | 'RebootRequired' | 'NotSupported' };
  };
  'GET /api/chargers/:id/security': { params: Id; query: false; body: never; res: T.ChargerSecurity };
  'PUT /api/chargers/:id/security': {
    params: Id;
    query: false;
    body: T.SecuritySettings;
    res: T.ChargerSecurityResult;
  };
  'POST /api/chargers/:id/security/raise': {
    params: Id;
    query: false;
    body: T.SecurityRaise;
    res: T.SecurityRaiseResult;
  };
  'GET /api/chargers/:id/security/events': { params: Id; query: true; body: never; res: T.Page<T.SecurityEvent> };
  'GET /api/security/events': { params: Record<string, never>; query: true; body: never; res: T.Page<T.SecurityEvent> };
  'POST /api/chargers/:id/certificate': { params: Id; query: false; body: T.CertificateRequest; res: T.Certificate };
  'GET /api/chargers/:id/findings': { params: Id; query: true; body: never; res: T.Page<T.Finding> };
  'GET /api/chargers/:id/id-tags': { params: Id; query: false; body: never; res: T.ChargerTags };
  'PUT /api/chargers/:id/id-tags': { params: Id; query: false; body: T.ChargerTagsInput; res: T.ChargerTags };
  'GET /api/reservations': { params: Record<string, never>; query: true; body: never; res: T.Page<T.Reservation> };
  'POST /api/chargers/:id/reservations': {
    params: Id;
    query: false;
    body: T.ReservationInput;
    res: T.ReservationResult;
  };
  'DELETE /api/chargers/:id/reservations/:reservationId': {
    params: Id & { reservationId: string };
    query: false;
    body: never;
    res: T.ReservationResult;
  };
  'GET /api/chargers/:id/local-list': { params: Id; query: false; body: never; res: T.LocalList };
  'POST /api/chargers/:id/local-list/sync': { params: Id; query: true; body: never; res: T.LocalListSync };
  'GET /api/config-policies': {
    params: Record<string, never>;
    query: false;
    body: never;
    res: { items: T.ConfigPolicy[] };
  };
  'PUT /api/config-policies': {
    params: Record<string, never>;
    query: false;
    body: T.ConfigPolicyInput;
    res: T.ConfigPolicy;
  };
  'DELETE /api/config-policies': { params: Record<string, never>; query: true; body: never; res: null };
  'GET /api/chargers/:id/config-drift': { params: Id; query: false; body: never; res: T.ConfigDrift };
  'POST /api/chargers/:id/config-policy/apply': {
    params: Id;
    query: true;
    body: never;
    res: { items: T.ConfigApplyResult[] };
  };
}

export type Query = Record<string, string | number | boolean | undefined>;

export type RequestOf<R extends keyof Routes> = (Routes[R]['params'] extends Record<string, never>
  ? { params?: undefined }
  : { params: Routes[R]['params'] }) &
  (Routes[R]['query'] extends true ? { query?: Query } : { query?: undefined }) &
  ([Routes[R]['body']] extends [never] ? { body?: undefined } : { body: Routes[R]['body'] });

/** An answer other than 2xx: the API's error body, its code and the HTTP status. */
export class ApiFailure extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
    message: string,
  ) {
    super(message);
  }
}

export interface Client {
  config: Readonly<ClientConfig>;
  token: string;
  call<R extends keyof Routes>(route: R, req?: RequestOf<R>): Promise<Routes[R]['res']>;
  /**
   * Untyped: for routes not in `Routes` yet (src/cli/smart.ts). A string body goes as text/csv
   * unless `contentType` says otherwise.
   */
  request(method: string, path: string, body?: unknown, contentType?: string): Promise<any>;
  out(text: string): void;
}

export function tokenOf(config: ClientConfig): string {
  if (config.token) return config.token;
  try {
    const t = readFileSync(config.tokenFile, 'utf8').trim();
    if (t !== '') return t;
  } catch {
    // fall through to the error below
  }
  throw new AmpereError(
    'AMPERE_ERR_UNAUTHORIZED',
    `No API token: pass --token, set AMPERE_API_TOKEN, or run where ${config.tokenFile} exists`,
  );
}

/** `/api/chargers/:id` + { id: 'CP 1' } → `/api/chargers/CP%201?…`. */
export function pathOf(route: string, params: Record<string, string> = {}, query: Query = {}): string {
  const path = route.split(' ')[1]!.replace(/:(\w+)/g, (_, name: string) => {
    const v = params[name];
    if (v === undefined) throw new Error(`${route}: no value for :${name}`);
    return encodeURIComponent(v);
  });
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(query)) if (v !== undefined) q.set(k, String(v));
  const s = q.toString();
  return s ? `${path}?${s}` : path;
}

export function createClient(config: Readonly<ClientConfig>): Client {
  const token = tokenOf(config);
  return {
    config,
    token,
    out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    call(route, req) {
      const r = (req ?? {}) as { params?: Record<string, string>; query?: Query; body?: unknown };
      return this.request(route.split(' ')[0]!, pathOf(route, r.params, r.query), r.body);
    },
    async request(method, path, body, contentType) {
      const isText = typeof body === 'string';
      let res: Response;
      try {
        res = await fetch(config.url + path, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body !== undefined
              ? { 'content-type': contentType ?? (isText ? 'text/csv' : 'application/json') }
              : {}),
          },
          ...(body !== undefined ? { body: isText ? body : JSON.stringify(body) } : {}),
        });
      } catch (e) {
        throw new AmpereError(
          'AMPERE_ERR_CONFIG',
          `Cannot reach ${config.url}: ${(e as Error).cause ?? (e as Error).message}`,
        );
      }
      const text = await res.text();
      const parsed: unknown = text === '' ? null : JSON.parse(text);
      if (!res.ok) {
        const err = (parsed as T.ErrorBody | null)?.error ?? { code: `HTTP ${res.status}`, message: text };
        throw new ApiFailure(res.status, parsed, `${err.message} (${err.code})`);
      }
      return parsed as never;
    },
  };
}
