// The bridge's own settings: which chargers, their tags and configured currents, the topic prefix,
// QoS and retain, Home Assistant discovery and the webhooks. Kept in a JSON file (--bridge-config,
// default DATA/bridge.json) and changed through the API, which writes the file back.
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { AmpereError, type AmpereErrorCode } from '../errors.ts';

export interface BridgeChargerSettings {
  /** Tag used by a start command that names none (xxter: the charger's configured tag). */
  idTag?: string;
  /** The configured max current (A): what "restore to configured" goes back to. */
  maxCurrentA?: number;
  /** Name shown in Home Assistant (default: the charger id). */
  name?: string;
}

export interface WebhookSettings {
  url: string;
  /** HMAC-SHA256 key; at least 16 characters. */
  secret: string;
  /** Event types to send (default: every type the bridge forwards). */
  events?: string[];
}

/** xxter's KNX group objects (src/bridge/knx.ts gives each its direction and DPT). */
export const KNX_OBJECT_NAMES = [
  'status',
  'error',
  'charging',
  'reserve',
  'availability',
  'unlock',
  'energy_last',
  'start_time',
  'end_time',
  'current',
  'max_current',
  'max_current_restore',
  'fast_charge',
  'reset',
] as const;
export type KnxObjectName = (typeof KNX_OBJECT_NAMES)[number];

export interface KnxSettings {
  /** DPT of currents: 9.021 (2-byte float, mA resolution 0.01 A) or 14.019 (4-byte float). */
  currentDpt: '9.021' | '14.019';
  /** DPT of start and end times: 19.001 (date and time) or 10.001 (time of day). */
  timeDpt: '19.001' | '10.001';
  /** Group addresses per charger: object → main/middle/sub, for one connector (default 1). */
  chargers: Record<string, { connector?: number; addresses: Partial<Record<KnxObjectName, string>> }>;
}

export interface BridgeSettings {
  /** Root of the topic tree (default `ampere`). */
  topicPrefix: string;
  qos: 0 | 1 | 2;
  /** Retain state topics (default true). */
  retain: boolean;
  /** Home Assistant discovery prefix; empty string turns discovery off. */
  discoveryPrefix: string;
  /** `all` chargers, or only those `listed` under chargers. */
  include: 'all' | 'listed';
  chargers: Record<string, BridgeChargerSettings>;
  webhooks: WebhookSettings[];
  /** How long a reservation made through the bridge lasts (min). */
  reservationMinutes: number;
  /** Tries per webhook delivery before it becomes a dead letter. */
  webhookAttempts: number;
  /** Wait before a webhook's 2nd try (ms), doubled for each further one (at most 5 min). */
  webhookBackoffMs: number;
  knx: KnxSettings;
}

export const BRIDGE_DEFAULTS: Readonly<BridgeSettings> = Object.freeze<BridgeSettings>({
  topicPrefix: 'ampere',
  qos: 1,
  retain: true,
  discoveryPrefix: 'homeassistant',
  include: 'all',
  chargers: {},
  webhooks: [],
  reservationMinutes: 30,
  webhookAttempts: 6,
  webhookBackoffMs: 2000,
  knx: { currentDpt: '9.021', timeDpt: '19.001', chargers: {} },
});

const KEYS = new Set(Object.keys(BRIDGE_DEFAULTS));
const CHARGER_KEYS = new Set(['idTag', 'maxCurrentA', 'name']);
const WEBHOOK_KEYS = new Set(['url', 'secret', 'events']);

/**
 * Checks a (partial) settings document and merges it over `base`. `code` is the error to throw:
 * AMPERE_ERR_BAD_REQUEST from the API, AMPERE_ERR_CONFIG from the file.
 */
export function checkBridgeSettings(
  input: unknown,
  base: Readonly<BridgeSettings> = BRIDGE_DEFAULTS,
  code: AmpereErrorCode = 'AMPERE_ERR_BAD_REQUEST',
): BridgeSettings {
  const fail = (field: string, why: string): never => {
    throw new AmpereError(code, `bridge settings: ${field} ${why}`, { field });
  };
  if (!input || typeof input !== 'object' || Array.isArray(input)) fail('(document)', 'must be a JSON object');
  const o = input as Record<string, unknown>;
  for (const k of Object.keys(o)) if (!KEYS.has(k)) fail(k, `is not a setting (known: ${[...KEYS].join(', ')})`);
  const out: BridgeSettings = { ...base, chargers: { ...base.chargers }, webhooks: [...base.webhooks] };
  if (o.topicPrefix !== undefined) {
    // MQTT 3.1.1 §4.7.1: + and # are wildcards, never part of a topic a client publishes.
    if (typeof o.topicPrefix !== 'string' || !/^[^#+\s]{1,64}$/.test(o.topicPrefix) || o.topicPrefix.endsWith('/'))
      fail('topicPrefix', 'must be 1-64 characters without +, #, spaces or a trailing /');
    out.topicPrefix = o.topicPrefix as string;
  }
  if (o.qos !== undefined) {
    if (o.qos !== 0 && o.qos !== 1 && o.qos !== 2) fail('qos', 'must be 0, 1 or 2');
    out.qos = o.qos as 0 | 1 | 2;
  }
  if (o.retain !== undefined) {
    if (typeof o.retain !== 'boolean') fail('retain', 'must be true or false');
    out.retain = o.retain as boolean;
  }
  if (o.discoveryPrefix !== undefined) {
    if (typeof o.discoveryPrefix !== 'string' || !/^[^#+\s]{0,64}$/.test(o.discoveryPrefix))
      fail('discoveryPrefix', 'must be a topic prefix without +, # or spaces ("" = off)');
    out.discoveryPrefix = o.discoveryPrefix as string;
  }
  if (o.include !== undefined) {
    if (o.include !== 'all' && o.include !== 'listed') fail('include', 'must be "all" or "listed"');
    out.include = o.include as 'all' | 'listed';
  }
  const integer = (field: 'reservationMinutes' | 'webhookAttempts' | 'webhookBackoffMs', min: number, max: number) => {
    const n = o[field];
    if (n === undefined) return;
    if (typeof n !== 'number' || !Number.isInteger(n) || n < min || n > max)
      fail(field, `must be an integer from ${min} to ${max}`);
    out[field] = n as number;
  };
  integer('reservationMinutes', 1, 1440);
  integer('webhookAttempts', 1, 20);
  integer('webhookBackoffMs', 10, 600_000);
  if (o.chargers !== undefined) {
    if (!o.chargers || typeof o.chargers !== 'object' || Array.isArray(o.chargers))
      fail('chargers', 'must be an object keyed by charger id');
    out.chargers = {};
    for (const [id, c] of Object.entries(o.chargers as Record<string, unknown>)) {
      const f = `chargers.${id}`;
      // Any charge point id (topics.ts encodes the characters a topic level cannot hold).
      if (id.length < 1 || id.length > 48) fail(f, 'is not a charger id (1-48 characters)');
      if (!c || typeof c !== 'object' || Array.isArray(c)) fail(f, 'must be an object');
      const cs = c as Record<string, unknown>;
      for (const k of Object.keys(cs)) if (!CHARGER_KEYS.has(k)) fail(`${f}.${k}`, 'is not a charger setting');
      if (cs.idTag !== undefined && (typeof cs.idTag !== 'string' || cs.idTag.length < 1 || cs.idTag.length > 20))
        fail(`${f}.idTag`, 'must be 1-20 characters (OCPP 1.6 IdToken)');
      if (
        cs.maxCurrentA !== undefined &&
        (typeof cs.maxCurrentA !== 'number' || !(cs.maxCurrentA > 0) || cs.maxCurrentA > 1000)
      )
        fail(`${f}.maxCurrentA`, 'must be a number of amperes above 0');
      if (cs.name !== undefined && (typeof cs.name !== 'string' || cs.name.length > 100))
        fail(`${f}.name`, 'must be text of at most 100 characters');
      out.chargers[id] = cs as BridgeChargerSettings;
    }
  }
  if (o.webhooks !== undefined) {
    if (!Array.isArray(o.webhooks)) fail('webhooks', 'must be a list');
    out.webhooks = (o.webhooks as unknown[]).map((w, i) => {
      const f = `webhooks[${i}]`;
      if (!w || typeof w !== 'object' || Array.isArray(w)) fail(f, 'must be an object');
      const ws = w as Record<string, unknown>;
      for (const k of Object.keys(ws)) if (!WEBHOOK_KEYS.has(k)) fail(`${f}.${k}`, 'is not a webhook setting');
      let url: URL | undefined;
      try {
        url = new URL(String(ws.url));
      } catch {
        url = undefined;
      }
      if (!url || !/^https?:$/.test(url.protocol)) fail(`${f}.url`, 'must be an http:// or https:// URL');
      // A webhook sent back without its secret (as the API shows it) keeps the one it had.
      const kept = base.webhooks.find((b) => b.url === ws.url)?.secret;
      if (ws.secret === undefined && kept !== undefined) ws.secret = kept;
      if (typeof ws.secret !== 'string' || ws.secret.length < 16)
        fail(`${f}.secret`, 'must be at least 16 characters (the HMAC-SHA256 key)');
      if (ws.events !== undefined && (!Array.isArray(ws.events) || ws.events.some((e) => typeof e !== 'string')))
        fail(`${f}.events`, 'must be a list of event types');
      return { ...ws } as unknown as WebhookSettings;
    });
  }
  if (o.knx !== undefined) out.knx = checkKnx(o.knx, fail);
  return out;
}

/** KNX 3-level group address main/middle/sub: 0-31 / 0-7 / 0-255. */
const GROUP_ADDRESS = /^([12]?\d|3[01])\/[0-7]\/(25[0-5]|2[0-4]\d|1?\d?\d)$/;

function checkKnx(input: unknown, fail: (field: string, why: string) => never): KnxSettings {
  if (!input || typeof input !== 'object' || Array.isArray(input)) fail('knx', 'must be an object');
  const k = input as Record<string, unknown>;
  for (const key of Object.keys(k))
    if (!['currentDpt', 'timeDpt', 'chargers'].includes(key)) fail(`knx.${key}`, 'is not a KNX setting');
  const currentDpt = k.currentDpt ?? '9.021';
  if (currentDpt !== '9.021' && currentDpt !== '14.019') fail('knx.currentDpt', 'must be "9.021" or "14.019"');
  const timeDpt = k.timeDpt ?? '19.001';
  if (timeDpt !== '19.001' && timeDpt !== '10.001') fail('knx.timeDpt', 'must be "19.001" or "10.001"');
  const chargers: KnxSettings['chargers'] = {};
  const seen = new Map<string, string>();
  for (const [id, c] of Object.entries((k.chargers ?? {}) as Record<string, unknown>)) {
    const f = `knx.chargers.${id}`;
    if (!c || typeof c !== 'object' || Array.isArray(c)) fail(f, 'must be an object');
    const cs = c as { connector?: unknown; addresses?: unknown };
    for (const key of Object.keys(cs)) if (!['connector', 'addresses'].includes(key)) fail(`${f}.${key}`, 'is unknown');
    if (cs.connector !== undefined && (!Number.isInteger(cs.connector) || (cs.connector as number) < 1))
      fail(`${f}.connector`, 'must be a connector number (1, 2, …)');
    if (!cs.addresses || typeof cs.addresses !== 'object')
      fail(`${f}.addresses`, 'must map objects to group addresses');
    for (const [object, ga] of Object.entries(cs.addresses as Record<string, unknown>)) {
      if (!(KNX_OBJECT_NAMES as readonly string[]).includes(object))
        fail(`${f}.addresses.${object}`, `is not a KNX object (known: ${KNX_OBJECT_NAMES.join(', ')})`);
      if (typeof ga !== 'string' || !GROUP_ADDRESS.test(ga))
        fail(`${f}.addresses.${object}`, 'must be a group address main/middle/sub, e.g. 1/0/7');
      const other = seen.get(ga as string);
      if (other) fail(`${f}.addresses.${object}`, `uses ${ga}, already given to ${other}`);
      seen.set(ga as string, `${id}.${object}`);
    }
    chargers[id] = cs as KnxSettings['chargers'][string];
  }
  return { currentDpt: currentDpt as KnxSettings['currentDpt'], timeDpt: timeDpt as KnxSettings['timeDpt'], chargers };
}

/** Reads the settings file; a missing file means the defaults. */
export function loadBridgeSettings(file: string): BridgeSettings {
  if (!existsSync(file)) return { ...BRIDGE_DEFAULTS };
  let parsed: unknown;
  try {
    parsed = JSON.parse(readFileSync(file, 'utf8'));
  } catch (e) {
    throw new AmpereError('AMPERE_ERR_CONFIG', `bridge settings: ${file} is not JSON (${(e as Error).message})`);
  }
  return checkBridgeSettings(parsed, BRIDGE_DEFAULTS, 'AMPERE_ERR_CONFIG');
}

/** Writes JSON atomically (a crash never leaves half a file); owner-only, as it may hold secrets. */
export function writeJson(file: string, value: unknown): void {
  const tmp = `${file}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(value, null, 2)}\n`, { mode: 0o600 });
  renameSync(tmp, file);
}

export function saveBridgeSettings(file: string, s: BridgeSettings): void {
  writeJson(file, s);
}

/** The settings as the API shows them: webhook secrets are write-only (left out). */
export function redactedSettings(s: BridgeSettings): Omit<BridgeSettings, 'webhooks'> & { webhooks: object[] } {
  return { ...s, webhooks: s.webhooks.map(({ secret: _secret, ...w }) => w) };
}
