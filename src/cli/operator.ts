// The operator commands of `ampere`: thin clients of the HTTP API, so they work against any
// server the operator can reach. Tables for people, `--json` for scripts.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type ClientConfig, loadClientConfig } from '../config/client.ts';
import { AmpereError } from '../errors.ts';

export const OPERATOR_COMMANDS = [
  'chargers',
  'charger',
  'approvals',
  'approve',
  'reject',
  'tags',
  'tx',
  'call',
  'config',
  'events',
  'security',
  'security-events',
  'findings',
];

export const OPERATOR_USAGE = `Operator commands (talk to a running server over its API):
  chargers [--connected] [--registration R] [--vendor V] [--limit N]   list chargers
  charger ID                           one charger and its connectors
  approvals                            chargers waiting for approval
  approve ID | reject ID               accept or reject a charger
  tags [list] [--search S]             id tags;  tags add TAG [--status S] [--expiry ISO] [--parent TAG] [--note TEXT]
  tags set TAG [--status S] …          change;   tags rm TAG;  tags import FILE.csv (idTag,status,expiryDate,parentIdTag,note)
  tx [list] [--charger ID] [--active] [--tag T] [--limit N]   transactions with energy, duration and cost
  tx show ID | tx active               one transaction / live analytics of active ones
  tx start CHARGER TAG [--connector N] RemoteStartTransaction;  tx stop ID   RemoteStopTransaction
  call ID ACTION [JSON]                send any OCPP 1.6 command, e.g. call CP1 Reset '{"type":"Soft"}'
  config ID [KEY…]                     read the configuration;  config ID set KEY VALUE
  events [--charger ID] [--type T]     follow the live event stream (Ctrl-C to stop)
  security ID                          security profile, pending raise, whether a key is set
  security ID [--profile N] [--key KEY | --key-file FILE | --key -] [--no-push]
                                       set profile and/or AuthorizationKey (connected: sent with ChangeConfiguration)
  security ID raise N                  raise a connected charger's profile (whitepaper A05 procedure)
  security ID events                   its security events;  security-events [--charger ID]  all of them
  security ID cert [--csr FILE] [--days N] [--out DIR]   charger certificate from the built-in CA
  findings ID [--action A] [--rule R]  conformance findings (schema deviations repaired in tolerant mode)
Client flags: --url URL (AMPERE_URL), --token T (AMPERE_API_TOKEN, else DATA/api-token), --data DIR, --json`;

export interface Client {
  config: Readonly<ClientConfig>;
  request<T = any>(method: string, path: string, body?: unknown, contentType?: string): Promise<T>;
  out(text: string): void;
}

function tokenOf(config: ClientConfig): string {
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

export function client(config: Readonly<ClientConfig>): Client {
  const token = tokenOf(config);
  return {
    config,
    out: (text) => process.stdout.write(text.endsWith('\n') ? text : `${text}\n`),
    async request(method, path, body, contentType) {
      let res: Response;
      try {
        res = await fetch(config.url + path, {
          method,
          headers: {
            authorization: `Bearer ${token}`,
            ...(body !== undefined ? { 'content-type': contentType ?? 'application/json' } : {}),
          },
          ...(body !== undefined ? { body: typeof body === 'string' ? body : JSON.stringify(body) } : {}),
        });
      } catch (e) {
        throw new AmpereError(
          'AMPERE_ERR_CONFIG',
          `Cannot reach ${config.url}: ${(e as Error).cause ?? (e as Error).message}`,
        );
      }
      const text = await res.text();
      const parsed = text === '' ? null : JSON.parse(text);
      if (!res.ok) {
        const err = parsed?.error ?? { code: `HTTP ${res.status}`, message: text };
        const e = new Error(`${err.message} (${err.code})`) as Error & { status: number; body: unknown };
        e.status = res.status;
        e.body = parsed;
        throw e;
      }
      return parsed;
    },
  };
}

// ---------------------------------------------------------------- formatting

function cell(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(2);
  return String(v);
}

export function table(headers: string[], rows: unknown[][]): string {
  const text = rows.map((r) => r.map(cell));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => r[i]!.length)));
  const line = (r: string[]) =>
    r
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(headers), ...text.map(line)].join('\n');
}

const time = (iso: unknown) => (typeof iso === 'string' ? iso.replace('T', ' ').replace(/\.\d{3}Z$/, 'Z') : iso);
const kwh = (wh: unknown) => (typeof wh === 'number' ? (wh / 1000).toFixed(3) : null);
const minutes = (s: unknown) => (typeof s === 'number' ? `${Math.round(s / 60)} min` : null);

/** `--name value` flags of a command; `--flag` alone is "true". */
function options(args: string[]): { positional: string[]; flags: Record<string, string> } {
  const positional: string[] = [];
  const flags: Record<string, string> = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) {
      positional.push(a);
      continue;
    }
    const eq = a.indexOf('=');
    if (eq > 0) flags[a.slice(2, eq)] = a.slice(eq + 1);
    else if (args[i + 1] !== undefined && !args[i + 1]!.startsWith('--')) flags[a.slice(2)] = args[++i]!;
    else flags[a.slice(2)] = 'true';
  }
  return { positional, flags };
}

function qs(params: Record<string, string | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) if (v !== undefined) q.set(k, v);
  const s = q.toString();
  return s ? `?${s}` : '';
}

const enc = encodeURIComponent;

function need(value: string | undefined, what: string): string {
  if (value === undefined || value === '') throw new AmpereError('AMPERE_ERR_BAD_REQUEST', `Missing ${what}`);
  return value;
}

// ---------------------------------------------------------------- commands

function chargersTable(items: any[]): string {
  return table(
    ['ID', 'REGISTRATION', 'CONNECTED', 'VENDOR', 'MODEL', 'FIRMWARE', 'LAST SEEN'],
    items.map((c) => [c.id, c.registration, c.connected, c.vendor, c.model, c.firmwareVersion, time(c.lastSeenAt)]),
  );
}

function txTable(items: any[]): string {
  return table(
    ['ID', 'CHARGER', 'CONN', 'ID TAG', 'STARTED', 'STOPPED', 'KWH', 'DURATION', 'AVG W', 'PEAK W', 'COST', 'REASON'],
    items.map((t) => [
      t.id,
      t.chargerId,
      t.connectorId,
      t.idTag,
      time(t.startedAt),
      t.active ? 'active' : time(t.stoppedAt),
      kwh(t.energyWh),
      minutes(t.durationSeconds),
      t.averagePowerW === null ? null : Math.round(t.averagePowerW),
      t.peakPowerW === null ? null : Math.round(t.peakPowerW),
      t.cost ? `${t.cost.amount.toFixed(2)} ${t.cost.currency}` : null,
      t.stopReason,
    ]),
  );
}

function keyValues(o: Record<string, unknown>, keys: string[]): string {
  const w = Math.max(...keys.map((k) => k.length));
  return keys.map((k) => `${k.padEnd(w)}  ${cell(k.endsWith('At') ? time(o[k]) : o[k])}`).join('\n');
}

async function tags(c: Client, args: string[]): Promise<void> {
  const [sub = 'list', ...rest] = args;
  const { positional, flags } = options(rest);
  const fields = () => ({
    ...(flags.status ? { status: flags.status } : {}),
    ...(flags.expiry ? { expiryDate: flags.expiry === 'none' ? null : flags.expiry } : {}),
    ...(flags.parent ? { parentIdTag: flags.parent === 'none' ? null : flags.parent } : {}),
    ...(flags.note ? { note: flags.note } : {}),
  });
  const show = (t: any) =>
    c.out(
      c.config.json
        ? JSON.stringify(t, null, 2)
        : keyValues(t, ['idTag', 'status', 'expiryDate', 'parentIdTag', 'note', 'updatedAt']),
    );
  switch (sub) {
    case 'list': {
      const page = await c.request(
        'GET',
        `/api/id-tags${qs({ search: flags.search, status: flags.status, limit: flags.limit, offset: flags.offset })}`,
      );
      if (c.config.json) return c.out(JSON.stringify(page, null, 2));
      c.out(
        table(
          ['ID TAG', 'STATUS', 'EXPIRY', 'PARENT', 'NOTE'],
          page.items.map((t: any) => [t.idTag, t.status, time(t.expiryDate), t.parentIdTag, t.note]),
        ),
      );
      if (page.total > page.items.length) c.out(`(${page.items.length} of ${page.total}; --limit/--offset for more)`);
      return;
    }
    case 'show':
      return show(await c.request('GET', `/api/id-tags/${enc(need(positional[0], 'TAG'))}`));
    case 'add':
      return show(await c.request('POST', '/api/id-tags', { idTag: need(positional[0], 'TAG'), ...fields() }));
    case 'set':
      return show(await c.request('PATCH', `/api/id-tags/${enc(need(positional[0], 'TAG'))}`, fields()));
    case 'rm':
    case 'delete':
      await c.request('DELETE', `/api/id-tags/${enc(need(positional[0], 'TAG'))}`);
      return c.out(c.config.json ? JSON.stringify({ deleted: positional[0] }) : `deleted ${positional[0]}`);
    case 'import': {
      const file = need(positional[0], 'FILE.csv');
      const r = await c.request('POST', '/api/id-tags/import', readFileSync(file, 'utf8'), 'text/csv');
      return c.out(c.config.json ? JSON.stringify(r) : `imported ${r.imported} id tags`);
    }
    default:
      throw new AmpereError('AMPERE_ERR_BAD_REQUEST', `Unknown "tags ${sub}" (list, show, add, set, rm, import)`);
  }
}

async function tx(c: Client, args: string[]): Promise<void> {
  const [sub = 'list', ...rest] = args;
  const { positional, flags } = options(rest);
  switch (sub) {
    case 'list': {
      const page = await c.request(
        'GET',
        `/api/transactions${qs({
          chargerId: flags.charger,
          idTag: flags.tag,
          connectorId: flags.connector,
          active: flags.active,
          from: flags.from,
          to: flags.to,
          limit: flags.limit,
          offset: flags.offset,
        })}`,
      );
      if (c.config.json) return c.out(JSON.stringify(page, null, 2));
      c.out(txTable(page.items));
      if (page.total > page.items.length) c.out(`(${page.items.length} of ${page.total}; --limit/--offset for more)`);
      return;
    }
    case 'show': {
      const t = await c.request(
        'GET',
        `/api/transactions/${enc(need(positional[0], 'ID'))}${qs({ targetWh: flags.target })}`,
      );
      if (c.config.json) return c.out(JSON.stringify(t, null, 2));
      c.out(txTable([t]));
      if (t.live) c.out(`\n${liveLine(t)}`);
      return;
    }
    case 'active': {
      const r = await c.request(
        'GET',
        `/api/sessions/active${qs({ chargerId: flags.charger, targetWh: flags.target })}`,
      );
      if (c.config.json) return c.out(JSON.stringify(r, null, 2));
      c.out(
        table(
          ['ID', 'CHARGER', 'CONN', 'STATE', 'KWH', 'POWER W', 'TO TARGET', 'COST'],
          r.items.map((t: any) => [
            t.id,
            t.chargerId,
            t.connectorId,
            t.live?.state,
            kwh(t.energyWh),
            t.live?.powerW === null || t.live?.powerW === undefined ? null : Math.round(t.live.powerW),
            minutes(t.live?.secondsToTarget),
            t.cost ? `${t.cost.amount.toFixed(2)} ${t.cost.currency}` : null,
          ]),
        ),
      );
      return;
    }
    case 'start': {
      const charger = need(positional[0], 'CHARGER');
      const body = {
        idTag: need(positional[1], 'TAG'),
        ...(flags.connector ? { connectorId: Number(flags.connector) } : {}),
      };
      const r = await c.request('POST', `/api/chargers/${enc(charger)}/commands/RemoteStartTransaction`, body);
      return c.out(c.config.json ? JSON.stringify(r) : `RemoteStartTransaction: ${r.status}`);
    }
    case 'stop': {
      const id = Number(need(positional[0], 'ID'));
      const t = await c.request('GET', `/api/transactions/${id}`);
      const r = await c.request('POST', `/api/chargers/${enc(t.chargerId)}/commands/RemoteStopTransaction`, {
        transactionId: id,
      });
      return c.out(c.config.json ? JSON.stringify(r) : `RemoteStopTransaction: ${r.status}`);
    }
    default:
      throw new AmpereError('AMPERE_ERR_BAD_REQUEST', `Unknown "tx ${sub}" (list, show, active, start, stop)`);
  }
}

function liveLine(t: any): string {
  const l = t.live;
  const parts = [`state ${l.state}`, `${kwh(l.energyWh)} kWh so far`];
  if (l.powerW !== null) parts.push(`${Math.round(l.powerW)} W (${l.powerSource})`);
  if (l.secondsToTarget !== null) parts.push(`${minutes(l.secondsToTarget)} to ${kwh(l.targetWh)} kWh`);
  return parts.join(', ');
}

function eventSummary(e: any): string {
  const d = e.data ?? {};
  switch (e.type) {
    case 'connector.status':
      return `connector ${d.connectorId} ${d.status}${d.errorCode && d.errorCode !== 'NoError' ? ` (${d.errorCode})` : ''}`;
    case 'transaction.started':
      return `tx ${d.transactionId} connector ${d.connectorId} tag ${d.idTag} (${d.status})`;
    case 'transaction.stopped':
      return `tx ${d.transactionId} ${d.reason ?? ''} ${d.energyWh === null ? '' : `${kwh(d.energyWh)} kWh`}`.trim();
    case 'command.sent':
      return `→ ${d.action} ${JSON.stringify(d.payload)}`;
    case 'command.answered':
      return d.ok ? `← ${d.action} ${JSON.stringify(d.response)}` : `← ${d.action} failed: ${d.message}`;
    case 'callerror':
      return `${d.direction ?? ''} ${d.action ?? ''} ${d.code}: ${d.description ?? ''}`.trim();
    case 'charger.boot':
      return `${d.chargePointVendor} ${d.chargePointModel} → ${d.status}`;
    case 'meter.values': {
      const values = (d.meterValue ?? []).flatMap((mv: any) => mv.sampledValue ?? []);
      return values
        .slice(0, 4)
        .map(
          (v: any) =>
            `${v.measurand ?? 'Energy.Active.Import.Register'}${v.phase ? `/${v.phase}` : ''}=${v.value}${v.unit ?? ''}`,
        )
        .join(' ');
    }
    default:
      return JSON.stringify(d);
  }
}

/** Follows the stream; reconnects with Last-Event-ID when the connection drops. */
async function events(c: Client, args: string[]): Promise<void> {
  const { flags } = options(args);
  const path = `/api/events${qs({ chargerId: flags.charger, type: flags.type })}`;
  const token = tokenOf(c.config);
  let lastId: string | undefined = flags.since;
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  while (!stop.signal.aborted) {
    try {
      const res = await fetch(c.config.url + path, {
        headers: { authorization: `Bearer ${token}`, ...(lastId ? { 'last-event-id': lastId } : {}) },
        signal: stop.signal,
      });
      if (!res.ok || !res.body) {
        const body = await res.text();
        throw new AmpereError('AMPERE_ERR_CONFIG', `events: HTTP ${res.status} ${body}`);
      }
      const decoder = new TextDecoder();
      let buffer = '';
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        buffer += decoder.decode(chunk, { stream: true });
        let cut = buffer.indexOf('\n\n');
        while (cut >= 0) {
          const block = buffer.slice(0, cut);
          buffer = buffer.slice(cut + 2);
          cut = buffer.indexOf('\n\n');
          let id: string | undefined;
          let type = 'message';
          let data = '';
          for (const line of block.split('\n')) {
            if (line.startsWith('id: ')) id = line.slice(4);
            else if (line.startsWith('event: ')) type = line.slice(7);
            else if (line.startsWith('data: ')) data += line.slice(6);
          }
          if (id) lastId = id;
          if (!data) continue;
          if (type === 'gap') {
            process.stderr.write(`ampere: some events were missed (${data})\n`);
            continue;
          }
          const e = JSON.parse(data);
          c.out(
            c.config.json
              ? JSON.stringify(e)
              : `${time(e.at)}  ${e.type.padEnd(20)} ${(e.chargerId ?? '-').padEnd(16)} ${eventSummary(e)}`,
          );
        }
      }
    } catch (e) {
      if (stop.signal.aborted) break;
      if (e instanceof AmpereError) throw e;
      process.stderr.write(`ampere: event stream interrupted (${(e as Error).message}); reconnecting\n`);
    }
    if (!stop.signal.aborted) await new Promise((r) => setTimeout(r, 2000));
  }
}

function securityEventsTable(items: any[]): string {
  return table(
    ['AT', 'CHARGER', 'TYPE', 'SOURCE', 'DETAILS'],
    items.map((e) => [time(e.at), e.chargerId, e.type, e.source, JSON.stringify(e.data)]),
  );
}

/** The AuthorizationKey from --key, --key-file or stdin (`--key -`): never echoed. */
function keyFrom(flags: Record<string, string>): string | undefined {
  if (flags['key-file']) return readFileSync(flags['key-file'], 'utf8').trim();
  if (flags.key === '-') return readFileSync(0, 'utf8').trim();
  if (flags.key === 'true')
    throw new AmpereError('AMPERE_ERR_BAD_REQUEST', '--key needs a value (or --key - to read stdin)');
  return flags.key;
}

async function security(c: Client, args: string[]): Promise<void> {
  const { positional, flags } = options(args);
  const id = need(positional[0], 'ID');
  const sub = positional[1];
  const path = `/api/chargers/${enc(id)}/security`;
  const show = (v: any) => {
    if (c.config.json) return c.out(JSON.stringify(v, null, 2));
    c.out(
      keyValues(
        {
          ...v,
          authorizationKey: v.authorizationKeySet ? 'set' : 'not set',
          server: `tls ${cell(v.server.tls)}, client CA ${cell(v.server.clientCa)}, built-in CA ${cell(v.server.ca)}`,
        },
        [
          'chargerId',
          'securityProfile',
          'pendingProfile',
          'authorizationKey',
          ...(v.authorizationKeyStatus ? ['authorizationKeyStatus'] : []),
          'connected',
          'server',
        ],
      ),
    );
  };
  switch (sub) {
    case undefined: {
      const key = keyFrom(flags);
      if (flags.profile === undefined && key === undefined) return show(await c.request('GET', path));
      const body: Record<string, unknown> = {};
      if (flags.profile !== undefined) body.profile = Number(flags.profile);
      if (key !== undefined) body.authorizationKey = key;
      if (flags['no-push'] === 'true') body.push = false;
      return show(await c.request('PUT', path, body));
    }
    case 'raise': {
      const r = await c.request('POST', `${path}/raise`, { profile: Number(need(positional[2], 'PROFILE')) });
      if (c.config.json) return c.out(JSON.stringify(r, null, 2));
      return c.out(
        `ChangeConfiguration SecurityProfile: ${r.status}; profile ${r.securityProfile}` +
          (r.pendingProfile === null ? '' : `, raise to ${r.pendingProfile} pending until the charger reconnects`),
      );
    }
    case 'events': {
      const page = await c.request('GET', `${path}/events${qs({ limit: flags.limit, offset: flags.offset })}`);
      if (c.config.json) return c.out(JSON.stringify(page, null, 2));
      return c.out(securityEventsTable(page.items));
    }
    case 'cert': {
      const body: Record<string, unknown> = {};
      if (flags.csr) body.csr = readFileSync(flags.csr, 'utf8');
      if (flags.days) body.days = Number(flags.days);
      const r = await c.request('POST', `/api/chargers/${enc(id)}/certificate`, body);
      if (c.config.json) return c.out(JSON.stringify(r, null, 2));
      const dir = flags.out ?? '.';
      mkdirSync(dir, { recursive: true });
      const base = join(dir, encodeURIComponent(id));
      writeFileSync(`${base}.pem`, r.certificatePem);
      writeFileSync(`${base}-ca.pem`, r.caCertificatePem);
      const written = [`${base}.pem`, `${base}-ca.pem`];
      if (r.privateKeyPem) {
        writeFileSync(`${base}.key`, r.privateKeyPem, { mode: 0o600 });
        chmodSync(`${base}.key`, 0o600);
        written.push(`${base}.key`);
      }
      return c.out(
        `certificate CN=${r.commonName} O=${r.organization} until ${time(r.notAfter)}: ${written.join(', ')}`,
      );
    }
    default:
      throw new AmpereError('AMPERE_ERR_BAD_REQUEST', `Unknown "security ID ${sub}" (raise, events, cert)`);
  }
}

export async function runOperatorCommand(command: string, argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { config, rest } = loadClientConfig(argv, env);
  const c = client(config);
  const json = (v: unknown) => c.out(JSON.stringify(v, null, 2));
  try {
    switch (command) {
      case 'chargers': {
        const { flags } = options(rest);
        const page = await c.request(
          'GET',
          `/api/chargers${qs({
            connected: flags.connected,
            registration: flags.registration,
            vendor: flags.vendor,
            model: flags.model,
            limit: flags.limit,
            offset: flags.offset,
          })}`,
        );
        if (config.json) json(page);
        else {
          c.out(chargersTable(page.items));
          if (page.total > page.items.length)
            c.out(`(${page.items.length} of ${page.total}; --limit/--offset for more)`);
        }
        return 0;
      }
      case 'charger': {
        const ch = await c.request('GET', `/api/chargers/${enc(need(rest[0], 'ID'))}`);
        if (config.json) {
          json(ch);
          return 0;
        }
        c.out(
          keyValues(ch, [
            'id',
            'registration',
            'connected',
            'remoteAddress',
            'lastSeenAt',
            'lastBootAt',
            'vendor',
            'model',
            'firmwareVersion',
            'chargePointSerialNumber',
            'heartbeatInterval',
            'validationMode',
            'securityProfile',
            'notes',
          ]),
        );
        c.out(
          `\n${table(
            ['CONNECTOR', 'STATUS', 'ERROR', 'INFO', 'SINCE'],
            ch.connectors.map((x: any) => [
              x.connectorId,
              x.status,
              x.errorCode,
              x.info,
              time(x.timestamp ?? x.updatedAt),
            ]),
          )}`,
        );
        return 0;
      }
      case 'approvals': {
        const page = await c.request('GET', '/api/approvals');
        if (config.json) {
          json(page);
          return 0;
        }
        c.out(
          table(
            ['ID', 'SOURCE', 'CONNECTED', 'ATTEMPTS', 'LAST', 'FROM', 'VENDOR', 'MODEL'],
            page.items.map((a: any) => [
              a.id,
              a.source,
              a.connected,
              a.attempts,
              time(a.lastAt),
              a.remoteAddress,
              a.vendor,
              a.model,
            ]),
          ),
        );
        return 0;
      }
      case 'approve':
      case 'reject': {
        const ch = await c.request('POST', `/api/chargers/${enc(need(rest[0], 'ID'))}/${command}`);
        if (config.json) {
          json(ch);
          return 0;
        }
        c.out(`${ch.id}: ${ch.registration}`);
        return 0;
      }
      case 'tags':
        await tags(c, rest);
        return 0;
      case 'tx':
        await tx(c, rest);
        return 0;
      case 'call': {
        const [id, action, body = '{}'] = rest;
        let payload: unknown;
        try {
          payload = JSON.parse(body);
        } catch {
          throw new AmpereError('AMPERE_ERR_BAD_REQUEST', `The payload is not JSON: ${body}`);
        }
        const r = await c.request(
          'POST',
          `/api/chargers/${enc(need(id, 'ID'))}/commands/${enc(need(action, 'ACTION'))}`,
          payload,
        );
        c.out(JSON.stringify(r, null, config.json ? 2 : undefined));
        return 0;
      }
      case 'config': {
        const [id, ...keys] = rest;
        if (keys[0] === 'set') {
          const r = await c.request(
            'PUT',
            `/api/chargers/${enc(need(id, 'ID'))}/configuration/${enc(need(keys[1], 'KEY'))}`,
            {
              value: need(keys[2], 'VALUE'),
            },
          );
          c.out(config.json ? JSON.stringify(r) : `${keys[1]}: ${r.status}`);
          return 0;
        }
        const r = await c.request(
          'GET',
          `/api/chargers/${enc(need(id, 'ID'))}/configuration${qs({ key: keys.length ? keys.join(',') : undefined })}`,
        );
        if (config.json) {
          json(r);
          return 0;
        }
        c.out(
          table(
            ['KEY', 'VALUE', 'READONLY'],
            r.configurationKey.map((k: any) => [k.key, k.value, k.readonly]),
          ),
        );
        if (r.unknownKey.length > 0) c.out(`unknown: ${r.unknownKey.join(', ')}`);
        return 0;
      }
      case 'events':
        await events(c, rest);
        return 0;
      case 'security':
        await security(c, rest);
        return 0;
      case 'security-events': {
        const { flags } = options(rest);
        const page = await c.request(
          'GET',
          `/api/security/events${qs({ chargerId: flags.charger, limit: flags.limit, offset: flags.offset })}`,
        );
        if (config.json) json(page);
        else c.out(securityEventsTable(page.items));
        return 0;
      }
      case 'findings': {
        const { positional, flags } = options(rest);
        const page = await c.request(
          'GET',
          `/api/chargers/${enc(need(positional[0], 'ID'))}/findings${qs({
            action: flags.action,
            rule: flags.rule,
            limit: flags.limit,
            offset: flags.offset,
          })}`,
        );
        if (config.json) {
          json(page);
          return 0;
        }
        c.out(
          table(
            ['AT', 'ACTION', 'PATH', 'RULE', 'ORIGINAL', 'REPAIRED'],
            page.items.map((f: any) => [
              time(f.at),
              f.action,
              f.path,
              f.rule,
              JSON.stringify(f.original),
              JSON.stringify(f.repaired),
            ]),
          ),
        );
        return 0;
      }
      default:
        throw new AmpereError('AMPERE_ERR_BAD_REQUEST', `Unknown command "${command}"`);
    }
  } catch (e) {
    const err = e as Error & { status?: number; body?: unknown };
    if (err.status !== undefined) {
      if (config.json && err.body) process.stderr.write(`${JSON.stringify(err.body)}\n`);
      process.stderr.write(`ampere: ${err.message}\n`);
      return 1;
    }
    throw e;
  }
}
