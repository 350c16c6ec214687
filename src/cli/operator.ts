// The operator commands of `ampere`: thin clients of the HTTP API, so they work against any
// server the operator can reach. Tables for people, `--json` for scripts. Each command is data
// (its flags and arguments, parsed by args.ts) plus a run function, so other files (smart.ts)
// add theirs the same way and `runCommands` serves them all.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { CLIENT_FLAGS, clientConfig } from '../config/client.ts';
import { AmpereError } from '../errors.ts';
import type * as T from './api-types.generated.ts';
import { type CommandSpec, type Flags, type Parsed, selectCommand, usageLines } from './args.ts';
import { ApiFailure, type Client, createClient } from './client.ts';

// For command files that build their own client (src/cli/smart.ts).
export { type Client, createClient as client } from './client.ts';

export interface OperatorCommand extends CommandSpec {
  run(c: Client, p: Parsed): Promise<void>;
}

// ---------------------------------------------------------------- formatting

function cell(v: unknown): string {
  if (v === null || v === undefined) return '-';
  if (typeof v === 'boolean') return v ? 'yes' : 'no';
  if (typeof v === 'number') return Number.isInteger(v) ? String(v) : v.toFixed(2);
  return String(v).replace(/\s+/g, ' ');
}

/**
 * A table whose lines fit in `width` columns: the widest columns give way first, and a cut value
 * ends in "…" (the whole value is in --json).
 */
export function table(headers: string[], rows: unknown[][], width = Number.POSITIVE_INFINITY): string {
  const text = rows.map((r) => r.map(cell));
  const widths = headers.map((h, i) => Math.max(h.length, ...text.map((r) => r[i]!.length)));
  const gap = 2 * (headers.length - 1);
  const floor = headers.map((h) => Math.max(h.length, 4));
  while (widths.reduce((a, b) => a + b, 0) + gap > width) {
    let widest = -1;
    for (let i = 0; i < widths.length; i++) {
      if (widths[i]! > floor[i]! && (widest < 0 || widths[i]! > widths[widest]!)) widest = i;
    }
    if (widest < 0) break;
    widths[widest]!--;
  }
  const fit = (c: string, w: number) => (c.length <= w ? c.padEnd(w) : `${c.slice(0, w - 1)}…`);
  const line = (r: string[]) =>
    r
      .map((c, i) => fit(c, widths[i]!))
      .join('  ')
      .trimEnd();
  return [line(headers), ...text.map(line)].join('\n');
}

const time = (iso: unknown) => (typeof iso === 'string' ? iso.replace('T', ' ').replace(/\.\d{3}Z$/, 'Z') : iso);
const kwh = (wh: unknown) => (typeof wh === 'number' ? (wh / 1000).toFixed(3) : null);
const minutes = (s: unknown) => (typeof s === 'number' ? `${Math.round(s / 60)} min` : null);
const round = (n: number | null | undefined) => (n === null || n === undefined ? null : Math.round(n));
const money = (cost: T.Cost | null) => (cost ? `${cost.amount.toFixed(2)} ${cost.currency}` : null);

function keyValues(o: Record<string, unknown>, keys: string[]): string {
  const w = Math.max(...keys.map((k) => k.length));
  return keys.map((k) => `${k.padEnd(w)}  ${cell(k.endsWith('At') ? time(o[k]) : o[k])}`).join('\n');
}

/** Prints JSON with --json, else the table `human` makes. */
function show<V>(c: Client, value: V, human: (v: V) => string): void {
  c.out(c.config.json ? JSON.stringify(value, null, 2) : human(value));
}

function pageTable<V>(c: Client, page: T.Page<V>, human: (items: V[]) => string): void {
  if (c.config.json) {
    c.out(JSON.stringify(page, null, 2));
    return;
  }
  c.out(human(page.items));
  if (page.total > page.items.length) c.out(`(${page.items.length} of ${page.total}; --limit/--offset for more)`);
}

const s = (p: Parsed, name: string) => p.flags[name] as string | undefined;
const b = (p: Parsed, name: string) => (p.flags[name] === true ? true : undefined);

const PAGING: Flags = {
  limit: { type: 'string', value: 'N', help: 'rows per page (default 100)' },
  offset: { type: 'string', value: 'N', help: 'rows to skip' },
};

function chargersTable(items: T.Charger[], width: number): string {
  return table(
    ['ID', 'REGISTRATION', 'CONNECTED', 'VENDOR', 'MODEL', 'FIRMWARE', 'LAST SEEN'],
    items.map((c) => [c.id, c.registration, c.connected, c.vendor, c.model, c.firmwareVersion, time(c.lastSeenAt)]),
    width,
  );
}

function txTable(items: T.Transaction[], width: number): string {
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
      round(t.averagePowerW),
      round(t.peakPowerW),
      money(t.cost),
      t.stopReason,
    ]),
    width,
  );
}

function liveLine(l: T.Live): string {
  const parts = [`state ${l.state}`, `${kwh(l.energyWh)} kWh so far`];
  if (l.powerW !== null) parts.push(`${Math.round(l.powerW)} W (${l.powerSource})`);
  if (l.secondsToTarget !== null) parts.push(`${minutes(l.secondsToTarget)} to ${kwh(l.targetWh)} kWh`);
  return parts.join(', ');
}

function securityEventsTable(items: T.SecurityEvent[], width: number): string {
  return table(
    ['AT', 'CHARGER', 'TYPE', 'SOURCE', 'DETAILS'],
    items.map((e) => [time(e.at), e.chargerId, e.type, e.source, JSON.stringify(e.data)]),
    width,
  );
}

// ---------------------------------------------------------------- chargers and approvals

const chargerCommands: OperatorCommand[] = [
  {
    name: 'chargers',
    summary: 'list chargers',
    flags: {
      connected: { type: 'boolean', help: 'only chargers connected now' },
      registration: { type: 'string', value: 'R', help: 'accepted, pending or rejected' },
      vendor: { type: 'string', value: 'V', help: 'chargePointVendor' },
      model: { type: 'string', value: 'M', help: 'chargePointModel' },
      ...PAGING,
    },
    async run(c, p) {
      const page = await c.call('GET /api/chargers', {
        query: {
          connected: b(p, 'connected'),
          registration: s(p, 'registration'),
          vendor: s(p, 'vendor'),
          model: s(p, 'model'),
          limit: s(p, 'limit'),
          offset: s(p, 'offset'),
        },
      });
      pageTable(c, page, (items) => chargersTable(items, c.config.columns));
    },
  },
  {
    name: 'charger',
    args: ['ID'],
    summary: 'one charger and its connectors',
    async run(c, p) {
      const ch = await c.call('GET /api/chargers/:id', { params: { id: p.args[0]! } });
      show(c, ch, (v) =>
        [
          keyValues(v, [
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
          '',
          table(
            ['CONNECTOR', 'STATUS', 'ERROR', 'INFO', 'SINCE'],
            v.connectors.map((x) => [x.connectorId, x.status, x.errorCode, x.info, time(x.timestamp ?? x.updatedAt)]),
            c.config.columns,
          ),
        ].join('\n'),
      );
    },
  },
  {
    name: 'approvals',
    summary: 'chargers waiting for approval (refused ids and Pending chargers)',
    flags: PAGING,
    async run(c, p) {
      const page = await c.call('GET /api/approvals', { query: { limit: s(p, 'limit'), offset: s(p, 'offset') } });
      pageTable(c, page, (items) =>
        table(
          ['ID', 'SOURCE', 'CONNECTED', 'ATTEMPTS', 'LAST', 'FROM', 'VENDOR', 'MODEL'],
          items.map((a) => [
            a.id,
            a.source,
            a.connected,
            a.attempts,
            time(a.lastAt),
            a.remoteAddress,
            a.vendor,
            a.model,
          ]),
          c.config.columns,
        ),
      );
    },
  },
  ...(['approve', 'reject'] as const).map(
    (verb): OperatorCommand => ({
      name: verb,
      args: ['ID'],
      summary: verb === 'approve' ? 'accept a charger' : 'reject a charger',
      async run(c, p) {
        const ch = await c.call(`POST /api/chargers/:id/${verb}`, { params: { id: p.args[0]! } });
        // A charger that cannot be asked to boot again: say when the approval takes effect.
        show(c, ch, (v) =>
          v.approval?.takesEffect === 'next-boot'
            ? `${v.id}: ${v.registration}\n${v.approval.message}`
            : `${v.id}: ${v.registration}`,
        );
      },
    }),
  ),
];

// ---------------------------------------------------------------- id tags

const TAG_FIELDS: Flags = {
  status: { type: 'string', value: 'S', help: 'Accepted, Blocked, Expired, Invalid or ConcurrentTx' },
  expiry: { type: 'string', value: 'ISO', help: 'expiry date (none = no expiry)' },
  parent: { type: 'string', value: 'TAG', help: 'parent id tag (none = no parent)' },
  note: { type: 'string', value: 'TEXT', help: 'a note for people' },
};

function tagFields(p: Parsed): T.IdTagPatch {
  const out: T.IdTagPatch = {};
  const status = s(p, 'status');
  const expiry = s(p, 'expiry');
  const parent = s(p, 'parent');
  const note = s(p, 'note');
  if (status !== undefined) out.status = status as T.IdTagStatus;
  if (expiry !== undefined) out.expiryDate = expiry === 'none' ? null : expiry;
  if (parent !== undefined) out.parentIdTag = parent === 'none' ? null : parent;
  if (note !== undefined) out.note = note;
  return out;
}

const showTag = (c: Client, t: T.IdTag) =>
  show(c, t, (v) => keyValues(v, ['idTag', 'status', 'expiryDate', 'parentIdTag', 'note', 'updatedAt']));

const chargerTagsText = (v: T.ChargerTags) =>
  keyValues({ ...v, allowed: v.allowed.join(', ') }, ['chargerId', 'allowed', 'freeChargingTag']);

function localListText(v: T.LocalList): string {
  return [
    keyValues({ ...v, entries: v.entries.length }, ['chargerId', 'version', 'status', 'answer', 'entries', 'at']),
    '',
    table(
      ['ID TAG', 'STATUS', 'EXPIRY', 'PARENT'],
      v.entries.map((e) => [e.idTag, e.idTagInfo.status, e.idTagInfo.expiryDate, e.idTagInfo.parentIdTag]),
    ),
  ].join('\n');
}

const tagCommands: OperatorCommand[] = [
  {
    name: 'local-list',
    args: ['ID'],
    summary: "the charger's local authorisation list as Ampere last sent it; --sync sends changes now",
    flags: {
      sync: { type: 'boolean', help: 'send now: Differential when possible (also retries an unsupported charger)' },
      full: { type: 'boolean', help: 'with --sync: a Full update' },
    },
    async run(c, p) {
      const id = p.args[0]!;
      if (!b(p, 'sync')) {
        show(c, await c.call('GET /api/chargers/:id/local-list', { params: { id } }), localListText);
        return;
      }
      const r = await c.call('POST /api/chargers/:id/local-list/sync', {
        params: { id },
        query: { full: b(p, 'full') },
      });
      show(
        c,
        r,
        (v) =>
          `SendLocalList ${v.updateType === 'none' ? 'not sent' : `${v.updateType}, ${v.sent} entries`}: ` +
          `version ${v.state.version}, ${v.state.status}${v.state.answer ? ` (${v.state.answer})` : ''}`,
      );
    },
  },
  {
    name: 'charger-tags',
    args: ['ID'],
    summary: 'the id tags allowed at a charger (others are answered Invalid there) and its free-charging tag',
    flags: {
      allow: { type: 'string', value: 'TAG,TAG', help: 'the tags allowed here; * = all (the default)' },
      free: { type: 'string', value: 'TAG', help: "the charger's own tag for charging without a card (none = no tag)" },
    },
    async run(c, p) {
      const id = p.args[0]!;
      const allow = s(p, 'allow');
      const free = s(p, 'free');
      if (allow === undefined && free === undefined) {
        show(c, await c.call('GET /api/chargers/:id/id-tags', { params: { id } }), chargerTagsText);
        return;
      }
      const body: T.ChargerTagsInput = {};
      if (allow !== undefined)
        body.allowed = allow
          .split(',')
          .map((t) => t.trim())
          .filter(Boolean);
      if (free !== undefined) body.freeChargingTag = free === 'none' ? null : free;
      show(c, await c.call('PUT /api/chargers/:id/id-tags', { params: { id }, body }), chargerTagsText);
    },
  },
  {
    name: 'tags list',
    isDefault: true,
    summary: 'id tags',
    flags: { search: { type: 'string', value: 'S', help: 'part of the tag or note' }, ...TAG_FIELDS, ...PAGING },
    async run(c, p) {
      const page = await c.call('GET /api/id-tags', {
        query: { search: s(p, 'search'), status: s(p, 'status'), limit: s(p, 'limit'), offset: s(p, 'offset') },
      });
      pageTable(c, page, (items) =>
        table(
          ['ID TAG', 'STATUS', 'EXPIRY', 'PARENT', 'NOTE'],
          items.map((t) => [t.idTag, t.status, time(t.expiryDate), t.parentIdTag, t.note]),
          c.config.columns,
        ),
      );
    },
  },
  {
    name: 'tags show',
    args: ['TAG'],
    summary: 'one id tag',
    async run(c, p) {
      showTag(c, await c.call('GET /api/id-tags/:idTag', { params: { idTag: p.args[0]! } }));
    },
  },
  {
    name: 'tags add',
    args: ['TAG'],
    summary: 'add an id tag (Accepted unless --status)',
    flags: TAG_FIELDS,
    async run(c, p) {
      showTag(c, await c.call('POST /api/id-tags', { body: { idTag: p.args[0]!, ...tagFields(p) } }));
    },
  },
  {
    name: 'tags set',
    args: ['TAG'],
    summary: 'change an id tag',
    flags: TAG_FIELDS,
    async run(c, p) {
      showTag(c, await c.call('PATCH /api/id-tags/:idTag', { params: { idTag: p.args[0]! }, body: tagFields(p) }));
    },
  },
  {
    name: 'tags rm',
    args: ['TAG'],
    summary: 'delete an id tag',
    async run(c, p) {
      await c.call('DELETE /api/id-tags/:idTag', { params: { idTag: p.args[0]! } });
      c.out(c.config.json ? JSON.stringify({ deleted: p.args[0] }) : `deleted ${p.args[0]}`);
    },
  },
  {
    name: 'tags import',
    args: ['FILE.csv'],
    summary: 'create or update id tags from CSV: idTag,status,expiryDate,parentIdTag,note',
    async run(c, p) {
      const r = await c.call('POST /api/id-tags/import', { body: readFileSync(p.args[0]!, 'utf8') });
      c.out(c.config.json ? JSON.stringify(r) : `imported ${r.imported} id tags`);
    },
  },
];

// ---------------------------------------------------------------- transactions

const txCommands: OperatorCommand[] = [
  {
    name: 'tx list',
    isDefault: true,
    summary: 'transactions with energy, duration and cost',
    flags: {
      charger: { type: 'string', value: 'ID', help: 'of one charger' },
      active: { type: 'boolean', help: 'only active ones' },
      tag: { type: 'string', value: 'TAG', help: 'of one id tag' },
      connector: { type: 'string', value: 'N', help: 'of one connector' },
      from: { type: 'string', value: 'ISO', help: 'started at or after' },
      to: { type: 'string', value: 'ISO', help: 'started before' },
      ...PAGING,
    },
    async run(c, p) {
      const page = await c.call('GET /api/transactions', {
        query: {
          chargerId: s(p, 'charger'),
          idTag: s(p, 'tag'),
          connectorId: s(p, 'connector'),
          active: b(p, 'active'),
          from: s(p, 'from'),
          to: s(p, 'to'),
          limit: s(p, 'limit'),
          offset: s(p, 'offset'),
        },
      });
      pageTable(c, page, (items) => txTable(items, c.config.columns));
    },
  },
  {
    name: 'tx show',
    args: ['ID'],
    summary: 'one transaction (live analytics when active)',
    flags: { target: { type: 'string', value: 'WH', help: 'energy target for the time-to-target estimate' } },
    async run(c, p) {
      const t = await c.call('GET /api/transactions/:id', {
        params: { id: p.args[0]! },
        query: { targetWh: s(p, 'target') },
      });
      show(c, t, (v) => txTable([v], c.config.columns) + (v.live ? `\n\n${liveLine(v.live)}` : ''));
    },
  },
  {
    name: 'tx active',
    summary: 'live analytics of the active transactions',
    flags: {
      charger: { type: 'string', value: 'ID', help: 'of one charger' },
      target: { type: 'string', value: 'WH', help: 'energy target for the time-to-target estimate' },
    },
    async run(c, p) {
      const r = await c.call('GET /api/sessions/active', {
        query: { chargerId: s(p, 'charger'), targetWh: s(p, 'target') },
      });
      show(c, r, (v) =>
        table(
          ['ID', 'CHARGER', 'CONN', 'STATE', 'KWH', 'POWER W', 'TO TARGET', 'COST'],
          v.items.map((t) => [
            t.id,
            t.chargerId,
            t.connectorId,
            t.live?.state,
            kwh(t.energyWh),
            round(t.live?.powerW),
            minutes(t.live?.secondsToTarget),
            money(t.cost),
          ]),
          c.config.columns,
        ),
      );
    },
  },
  {
    name: 'tx start',
    args: ['CHARGER', 'TAG'],
    summary: 'RemoteStartTransaction',
    flags: { connector: { type: 'string', value: 'N', help: 'connector id' } },
    async run(c, p) {
      const connector = s(p, 'connector');
      const body = { idTag: p.args[1]!, ...(connector !== undefined ? { connectorId: Number(connector) } : {}) };
      const r = await c.call('POST /api/chargers/:id/commands/:action', {
        params: { id: p.args[0]!, action: 'RemoteStartTransaction' },
        body,
      });
      c.out(c.config.json ? JSON.stringify(r) : `RemoteStartTransaction: ${r.status}`);
    },
  },
  {
    name: 'tx stop',
    args: ['ID'],
    summary: 'RemoteStopTransaction',
    async run(c, p) {
      const id = p.args[0]!;
      const t = await c.call('GET /api/transactions/:id', { params: { id } });
      const r = await c.call('POST /api/chargers/:id/commands/:action', {
        params: { id: t.chargerId, action: 'RemoteStopTransaction' },
        body: { transactionId: t.id },
      });
      c.out(c.config.json ? JSON.stringify(r) : `RemoteStopTransaction: ${r.status}`);
    },
  },
];

// ---------------------------------------------------------------- commands and configuration

const configCommands: OperatorCommand[] = [
  {
    name: 'call',
    args: ['ID', 'ACTION', 'JSON?'],
    summary: `send any OCPP 1.6 command, e.g. call CP1 Reset '{"type":"Soft"}'`,
    async run(c, p) {
      const [id, action, text = '{}'] = p.args as [string, string, string | undefined];
      let payload: unknown;
      try {
        payload = JSON.parse(text);
      } catch {
        throw new AmpereError('AMPERE_ERR_CONFIG', `call: the payload is not JSON: ${text}`);
      }
      const r = await c.call('POST /api/chargers/:id/commands/:action', { params: { id, action }, body: payload });
      c.out(JSON.stringify(r, null, c.config.json ? 2 : undefined));
    },
  },
  {
    name: 'config',
    args: ['ID', 'KEY...'],
    isDefault: true,
    summary: 'read the configuration (GetConfiguration), all keys or the ones named',
    async run(c, p) {
      const [id, ...keys] = p.args as [string, ...string[]];
      const r = await c.call('GET /api/chargers/:id/configuration', {
        params: { id },
        query: { key: keys.length > 0 ? keys.join(',') : undefined },
      });
      show(c, r, (v) => {
        const lines = [
          table(
            ['KEY', 'VALUE', 'READONLY'],
            v.configurationKey.map((k) => [k.key, k.value, k.readonly]),
            c.config.columns,
          ),
        ];
        if (v.unknownKey.length > 0) lines.push(`unknown: ${v.unknownKey.join(', ')}`);
        return lines.join('\n');
      });
    },
  },
  {
    name: 'config set',
    args: ['ID', 'KEY', 'VALUE'],
    subAt: 1,
    summary: 'change one key (ChangeConfiguration)',
    async run(c, p) {
      const [id, key, value] = p.args as [string, string, string];
      const r = await c.call('PUT /api/chargers/:id/configuration/:key', { params: { id, key }, body: { value } });
      c.out(c.config.json ? JSON.stringify(r) : `${key}: ${r.status}`);
    },
  },
  {
    name: 'findings',
    args: ['ID'],
    summary: 'conformance findings (schema deviations repaired in tolerant mode)',
    flags: {
      action: { type: 'string', value: 'A', help: 'of one OCPP action' },
      rule: { type: 'string', value: 'R', help: 'of one repair rule' },
      ...PAGING,
    },
    async run(c, p) {
      const page = await c.call('GET /api/chargers/:id/findings', {
        params: { id: p.args[0]! },
        query: { action: s(p, 'action'), rule: s(p, 'rule'), limit: s(p, 'limit'), offset: s(p, 'offset') },
      });
      pageTable(c, page, (items) =>
        table(
          ['AT', 'ACTION', 'PATH', 'RULE', 'ORIGINAL', 'REPAIRED'],
          items.map((f) => [
            time(f.at),
            f.action,
            f.path,
            f.rule,
            JSON.stringify(f.original),
            JSON.stringify(f.repaired),
          ]),
          c.config.columns,
        ),
      );
    },
  },
];

// ---------------------------------------------------------------- configuration policies

const POLICY_TARGET: Flags = {
  charger: { type: 'string', value: 'ID', help: 'for one charger' },
  vendor: { type: 'string', value: 'V', help: 'with --model: for chargers of this chargePointVendor' },
  model: { type: 'string', value: 'M', help: 'with --vendor: … and chargePointModel' },
};

/** Fleet-wide unless --charger or --vendor/--model say otherwise. */
function policyTarget(p: Parsed, key: string): T.ConfigPolicyTarget {
  const charger = s(p, 'charger');
  const vendor = s(p, 'vendor');
  const model = s(p, 'model');
  if (charger !== undefined) return { scope: 'charger', chargerId: charger, key };
  if (vendor !== undefined || model !== undefined) {
    return {
      scope: 'model',
      key,
      ...(vendor !== undefined ? { vendor } : {}),
      ...(model !== undefined ? { model } : {}),
    };
  }
  return { scope: 'fleet', key };
}

const scopeText = (x: { scope: string; vendor: string | null; model: string | null; chargerId: string | null }) =>
  x.scope === 'fleet' ? 'fleet' : x.scope === 'model' ? `${x.vendor} ${x.model}` : `charger ${x.chargerId}`;

const policyCommands: OperatorCommand[] = [
  {
    name: 'policies list',
    isDefault: true,
    summary: 'configuration policies: the values wanted on chargers, sent after each Accepted boot',
    async run(c) {
      const r = await c.call('GET /api/config-policies');
      show(c, r, (v) =>
        table(
          ['FOR', 'KEY', 'VALUE', 'UPDATED'],
          v.items.map((x) => [scopeText(x), x.key, x.value, time(x.updatedAt)]),
          c.config.columns,
        ),
      );
    },
  },
  {
    name: 'policies set',
    args: ['KEY', 'VALUE'],
    summary: 'want KEY = VALUE fleet-wide, for a vendor + model, or for one charger',
    flags: POLICY_TARGET,
    async run(c, p) {
      const [key, value] = p.args as [string, string];
      const r = await c.call('PUT /api/config-policies', { body: { ...policyTarget(p, key), value } });
      show(c, r, (v) => `${scopeText(v)}: ${v.key} = ${v.value}`);
    },
  },
  {
    name: 'policies rm',
    args: ['KEY'],
    summary: 'remove a policy (the chargers keep the value they have)',
    flags: POLICY_TARGET,
    async run(c, p) {
      const target = policyTarget(p, p.args[0]!);
      await c.call('DELETE /api/config-policies', { query: { ...target } });
      c.out(
        c.config.json
          ? JSON.stringify({ deleted: target })
          : `removed ${scopeText({ vendor: null, model: null, chargerId: null, ...target })} ${target.key}`,
      );
    },
  },
  {
    name: 'config drift',
    args: ['ID'],
    subAt: 1,
    summary: "desired (policies) against the charger's actual values, with its last answer per key",
    async run(c, p) {
      const r = await c.call('GET /api/chargers/:id/config-drift', { params: { id: p.args[0]! } });
      show(c, r, (v) =>
        [
          table(
            ['KEY', 'DESIRED', 'ACTUAL', 'IN SYNC', 'FROM', 'LAST ANSWER', 'NOTE'],
            v.items.map((x) => [x.key, x.desired, x.actual, x.inSync, x.scope, x.outcome?.status, x.outcome?.note]),
            c.config.columns,
          ),
          v.source === 'stored' ? '(charger offline: actual values are the last stored copy)' : '',
        ]
          .filter(Boolean)
          .join('\n'),
      );
    },
  },
  {
    name: 'config apply',
    args: ['ID'],
    subAt: 1,
    summary: 'send the desired configuration now (ChangeConfiguration per key)',
    flags: { force: { type: 'boolean', help: 'also resend values the charger refused before' } },
    async run(c, p) {
      const r = await c.call('POST /api/chargers/:id/config-policy/apply', {
        params: { id: p.args[0]! },
        query: { force: b(p, 'force') },
      });
      show(c, r, (v) =>
        table(
          ['KEY', 'VALUE', 'ANSWER', 'NOTE'],
          v.items.map((x) => [x.key, x.value, x.skipped ? `${x.status} (not resent)` : x.status, x.note]),
          c.config.columns,
        ),
      );
    },
  },
];

// ---------------------------------------------------------------- reservations

function reservationsTable(items: T.Reservation[], width: number): string {
  return table(
    ['ID', 'CHARGER', 'CONN', 'ID TAG', 'EXPIRES', 'STATUS', 'TX'],
    items.map((r) => [r.id, r.chargerId, r.connectorId, r.idTag, time(r.expiryDate), r.status, r.transactionId]),
    width,
  );
}

const reservationCommands: OperatorCommand[] = [
  {
    name: 'reservations list',
    isDefault: true,
    summary: 'reservations, newest first',
    flags: {
      charger: { type: 'string', value: 'ID', help: 'of one charger' },
      status: { type: 'string', value: 'S', help: 'Accepted, expired, consumed, cancelled, …' },
      ...PAGING,
    },
    async run(c, p) {
      const page = await c.call('GET /api/reservations', {
        query: { chargerId: s(p, 'charger'), status: s(p, 'status'), limit: s(p, 'limit'), offset: s(p, 'offset') },
      });
      pageTable(c, page, (items) => reservationsTable(items, c.config.columns));
    },
  },
  {
    name: 'reservations add',
    args: ['CHARGER', 'TAG'],
    summary: 'reserve a connector for an id tag (ReserveNow)',
    flags: {
      connector: { type: 'string', value: 'N', help: 'connector (default 1; 0 = any, if the charger supports it)' },
      minutes: { type: 'string', value: 'M', help: 'how long (default 30)' },
      until: { type: 'string', value: 'ISO', help: 'expiry date instead of --minutes' },
    },
    async run(c, p) {
      const connector = s(p, 'connector');
      const minutes = s(p, 'minutes');
      const until = s(p, 'until');
      const body: T.ReservationInput = { idTag: p.args[1]! };
      if (connector !== undefined) body.connectorId = Number(connector);
      if (minutes !== undefined) body.minutes = Number(minutes);
      if (until !== undefined) body.expiryDate = until;
      const r = await c.call('POST /api/chargers/:id/reservations', { params: { id: p.args[0]! }, body });
      show(
        c,
        r,
        (v) => `ReserveNow: ${v.status}; reservation ${v.reservation.id} until ${time(v.reservation.expiryDate)}`,
      );
    },
  },
  {
    name: 'reservations cancel',
    args: ['CHARGER', 'RESERVATION'],
    summary: 'cancel a reservation (CancelReservation)',
    async run(c, p) {
      const r = await c.call('DELETE /api/chargers/:id/reservations/:reservationId', {
        params: { id: p.args[0]!, reservationId: p.args[1]! },
      });
      show(c, r, (v) => `CancelReservation: ${v.status}; reservation ${v.reservation.id} ${v.reservation.status}`);
    },
  },
];

// ---------------------------------------------------------------- events

function eventSummary(e: T.Event): string {
  const d = e.data as Record<string, any>;
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
      const values = ((d.meterValue ?? []) as any[]).flatMap((mv) => mv.sampledValue ?? []);
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
async function followEvents(c: Client, p: Parsed): Promise<void> {
  const path = `/api/events?${new URLSearchParams(
    Object.entries({ chargerId: s(p, 'charger'), type: s(p, 'type') }).filter(([, v]) => v !== undefined) as [
      string,
      string,
    ][],
  )}`;
  let lastId: string | undefined = s(p, 'since');
  const stop = new AbortController();
  process.once('SIGINT', () => stop.abort());
  process.once('SIGTERM', () => stop.abort());
  while (!stop.signal.aborted) {
    try {
      const res = await fetch(c.config.url + path, {
        headers: { authorization: `Bearer ${c.token}`, ...(lastId ? { 'last-event-id': lastId } : {}) },
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
          const e = JSON.parse(data) as T.Event;
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

const eventCommands: OperatorCommand[] = [
  {
    name: 'events',
    summary: 'follow the live event stream (Ctrl-C to stop)',
    flags: {
      charger: { type: 'string', value: 'ID', help: 'of one charger' },
      type: { type: 'string', value: 'T', help: 'of one type, e.g. connector.status' },
      since: { type: 'string', value: 'EVENT-ID', help: 'replay from after this event id' },
    },
    run: followEvents,
  },
];

// ---------------------------------------------------------------- security

/** The AuthorizationKey from --key, --key-file or stdin (`--key -`): never echoed. */
function keyFrom(p: Parsed): string | undefined {
  const file = s(p, 'key-file');
  if (file) return readFileSync(file, 'utf8').trim();
  const key = s(p, 'key');
  if (key === '-') return readFileSync(0, 'utf8').trim();
  return key;
}

function showSecurity(c: Client, v: T.ChargerSecurity): void {
  show(c, v, (x) =>
    keyValues(
      {
        ...x,
        authorizationKey: x.authorizationKeySet ? 'set' : 'not set',
        server: `tls ${cell(x.server.tls)}, client CA ${cell(x.server.clientCa)}, built-in CA ${cell(x.server.ca)}`,
      },
      [
        'chargerId',
        'securityProfile',
        'pendingProfile',
        'authorizationKey',
        ...('authorizationKeyStatus' in x ? ['authorizationKeyStatus'] : []),
        'connected',
        'server',
      ],
    ),
  );
}

const securityCommands: OperatorCommand[] = [
  {
    name: 'security',
    args: ['ID'],
    isDefault: true,
    summary: 'show, or set the profile and/or AuthorizationKey (connected: sent with ChangeConfiguration)',
    flags: {
      profile: { type: 'string', value: 'N', help: 'security profile 0-3' },
      key: { type: 'string', value: 'KEY', help: 'AuthorizationKey (- reads stdin)' },
      'key-file': { type: 'string', value: 'FILE', help: 'AuthorizationKey from a file' },
      'no-push': { type: 'boolean', help: 'store the key as already configured on the charger' },
    },
    async run(c, p) {
      const id = p.args[0]!;
      const key = keyFrom(p);
      const profile = s(p, 'profile');
      if (profile === undefined && key === undefined) {
        showSecurity(c, await c.call('GET /api/chargers/:id/security', { params: { id } }));
        return;
      }
      const body: T.SecuritySettings = {};
      if (profile !== undefined) body.profile = Number(profile) as T.SecurityProfile;
      if (key !== undefined) body.authorizationKey = key;
      if (b(p, 'no-push')) body.push = false;
      showSecurity(c, await c.call('PUT /api/chargers/:id/security', { params: { id }, body }));
    },
  },
  {
    name: 'security raise',
    args: ['ID', 'N'],
    subAt: 1,
    summary: "raise a connected charger's profile (whitepaper A05 procedure)",
    async run(c, p) {
      const r = await c.call('POST /api/chargers/:id/security/raise', {
        params: { id: p.args[0]! },
        body: { profile: Number(p.args[1]) as 1 | 2 | 3 },
      });
      show(
        c,
        r,
        (v) =>
          `ChangeConfiguration SecurityProfile: ${v.status}; profile ${v.securityProfile}` +
          (v.pendingProfile === null ? '' : `, raise to ${v.pendingProfile} pending until the charger reconnects`),
      );
    },
  },
  {
    name: 'security events',
    args: ['ID'],
    subAt: 1,
    summary: 'its security events',
    flags: PAGING,
    async run(c, p) {
      const page = await c.call('GET /api/chargers/:id/security/events', {
        params: { id: p.args[0]! },
        query: { limit: s(p, 'limit'), offset: s(p, 'offset') },
      });
      pageTable(c, page, (items) => securityEventsTable(items, c.config.columns));
    },
  },
  {
    name: 'security cert',
    args: ['ID'],
    subAt: 1,
    summary: 'charger certificate from the built-in CA (security profile 3)',
    flags: {
      csr: { type: 'string', value: 'FILE', help: 'PEM CSR made on the charger (else a key pair is generated)' },
      days: { type: 'string', value: 'N', help: 'validity in days' },
      out: { type: 'string', value: 'DIR', help: 'where to write the files (default .)' },
    },
    async run(c, p) {
      const id = p.args[0]!;
      const body: T.CertificateRequest = {};
      const csr = s(p, 'csr');
      const days = s(p, 'days');
      if (csr) body.csr = readFileSync(csr, 'utf8');
      if (days) body.days = Number(days);
      const r = await c.call('POST /api/chargers/:id/certificate', { params: { id }, body });
      if (c.config.json) {
        c.out(JSON.stringify(r, null, 2));
        return;
      }
      const dir = s(p, 'out') ?? '.';
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
      c.out(`certificate CN=${r.commonName} O=${r.organization} until ${time(r.notAfter)}: ${written.join(', ')}`);
    },
  },
  {
    name: 'security-events',
    summary: 'security events of all chargers',
    flags: { charger: { type: 'string', value: 'ID', help: 'of one charger' }, ...PAGING },
    async run(c, p) {
      const page = await c.call('GET /api/security/events', {
        query: { chargerId: s(p, 'charger'), limit: s(p, 'limit'), offset: s(p, 'offset') },
      });
      pageTable(c, page, (items) => securityEventsTable(items, c.config.columns));
    },
  },
];

// ---------------------------------------------------------------- the table of commands

export const OPERATOR_COMMAND_LIST: readonly OperatorCommand[] = [
  ...chargerCommands,
  ...tagCommands,
  ...txCommands,
  ...configCommands,
  ...policyCommands,
  ...reservationCommands,
  ...eventCommands,
  ...securityCommands,
];

/** The group a command word names: `tx` → tx list, tx show, … */
export function commandGroup(commands: readonly OperatorCommand[], word: string): OperatorCommand[] {
  return commands.filter((c) => c.name.split(' ')[0] === word);
}

export const OPERATOR_COMMANDS = [...new Set(OPERATOR_COMMAND_LIST.map((c) => c.name.split(' ')[0]!))];

/** The operator part of `ampere help`. */
export function operatorUsage(commands: readonly OperatorCommand[] = OPERATOR_COMMAND_LIST): string {
  return [
    'Operator commands (talk to a running server over its API; each takes --help):',
    ...usageLines(commands),
    `Common flags: ${Object.keys(CLIENT_FLAGS)
      .map((f) => `--${f}`)
      .join(', ')} (see any command's --help)`,
  ].join('\n');
}

export const OPERATOR_USAGE = operatorUsage();

/**
 * Runs one operator command word with its arguments: parses them (refusing unknown flags with a
 * hint), builds the API client and prints the answer. Exit code: 0, 1 for an API error.
 */
export async function runCommands(
  commands: readonly OperatorCommand[],
  word: string,
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  columns?: number,
): Promise<number> {
  const group = commandGroup(commands, word);
  if (group.length === 0) throw new AmpereError('AMPERE_ERR_CONFIG', `Unknown command "${word}"`);
  const picked = selectCommand(group, argv, CLIENT_FLAGS);
  if ('help' in picked) {
    process.stdout.write(picked.help);
    return 0;
  }
  const { command, parsed } = picked;
  const config = clientConfig(
    parsed.flags as { url?: string; token?: string; data?: string; json?: boolean },
    env,
    columns,
  );
  const c = createClient(config);
  try {
    await command.run(c, parsed);
    return 0;
  } catch (e) {
    if (e instanceof ApiFailure) {
      if (config.json && e.body) process.stderr.write(`${JSON.stringify(e.body)}\n`);
      process.stderr.write(`ampere: ${e.message}\n`);
      return 1;
    }
    throw e;
  }
}

export function runOperatorCommand(
  word: string,
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  columns?: number,
): Promise<number> {
  return runCommands(OPERATOR_COMMAND_LIST, word, argv, env, columns);
}
