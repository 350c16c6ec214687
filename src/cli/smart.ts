// The smart-charging commands of `ampere`: sites (grid limit, algorithm, chargers, building load),
// prices, the tariff, and session plans. Thin clients of the API, like the other operator commands;
// every command takes --help and refuses unknown flags (node's util.parseArgs, strict).
import { readFileSync } from 'node:fs';
import { type ParseArgsConfig, parseArgs } from 'node:util';
import { loadClientConfig } from '../config/client.ts';
import { AmpereError, isAmpereError } from '../errors.ts';
import { type Client, client, table } from './operator.ts';

export const SMART_COMMANDS = ['sites', 'site', 'prices', 'tariff'];

export const SMART_USAGE = `Smart charging:
  sites                                 sites with their grid limit, algorithm and chargers
  site ID                               status: phase load against the limit, allocation and what is
                                        counted per charger (and why), plan, last actuations
  site set ID [--grid-limit A] [--grid-limit-kw KW] [--algorithm UNIFORM|OPTIMIZED|SUSPENDABLE]
              [--time-zone TZ] [--name N] [--idle-current A] [--min-current A] [--fallback-current A]
              [--voltage V] [--objective cheapest|greenest]     create or change a site
  site rm ID                            delete a site
  site ID charger add CHARGER [--phases 1|3] [--max-current A] [--min-current A] [--priority N]
              [--rotation RST…] [--fallback-current A] [--whole-amperes]
  site ID charger rm CHARGER
  site ID load L1,L2,L3                 the building load per phase (A), from a meter
  prices ID                             the site's price (and CO2) series
  prices ID import FILE.csv             CSV with start,price[,co2] (slots of 15, 30 or 60 min)
  prices ID set --start ISO --slot 15|30|60 --price P1,P2,… [--co2 C1,C2,…]
  tariff                                the tariff that prices sessions (and plans, where no series)
  tariff set --flat PRICE [--currency EUR] [--co2 G]  |  tariff set FILE.json
  tx plan TX                            the session's plan: departure, energy, next slots, why it waits
  tx plan TX --departure 07:00|ISO [--energy KWH] [--greenest|--cheapest]
  tx fast TX                            fast charge: charge now, whatever the plan
  tags plan TAG --departure 07:00 [--energy KWH] [--greenest]  |  tags plan TAG --clear
Each takes --help.`;

type Flags = NonNullable<ParseArgsConfig['options']>;

const HELP = { help: { type: 'boolean', short: 'h' } } as const;

interface Parsed {
  values: Record<string, string | boolean | undefined>;
  positionals: string[];
}

/**
 * Parses a command's arguments strictly: an unknown flag or a missing value is refused with a hint.
 * null when --help was asked for.
 */
function parse(usage: string, args: string[], options: Flags, positionals: number): Parsed | null {
  let parsed: Parsed;
  try {
    parsed = parseArgs({ args, options: { ...options, ...HELP }, allowPositionals: true, strict: true }) as Parsed;
  } catch (e) {
    throw new AmpereError('AMPERE_ERR_BAD_REQUEST', `${(e as Error).message.split('\n')[0]}\nUsage: ${usage}`);
  }
  if (parsed.values.help) return null;
  if (parsed.positionals.length > positionals)
    throw new AmpereError(
      'AMPERE_ERR_BAD_REQUEST',
      `Unexpected argument "${parsed.positionals[positionals]}"\nUsage: ${usage}`,
    );
  return parsed;
}

const str = (v: string | boolean | undefined) => (typeof v === 'string' ? v : undefined);

function need(value: string | boolean | undefined, what: string, usage: string): string {
  if (typeof value !== 'string' || value === '')
    throw new AmpereError('AMPERE_ERR_BAD_REQUEST', `Missing ${what}\nUsage: ${usage}`);
  return value;
}

function num(value: string | boolean | undefined, flag: string): number | undefined {
  if (typeof value !== 'string') return undefined;
  const n = Number(value);
  if (!Number.isFinite(n))
    throw new AmpereError('AMPERE_ERR_BAD_REQUEST', `--${flag} must be a number, got "${value}"`);
  return n;
}

function numbers(value: string, flag: string): number[] {
  return value.split(',').map((v) => num(v.trim(), flag)!);
}

const enc = encodeURIComponent;
const defined = <T extends Record<string, unknown>>(o: T) =>
  Object.fromEntries(Object.entries(o).filter(([, v]) => v !== undefined)) as Partial<T>;
const fmtA = (a: unknown) => (typeof a === 'number' ? `${Math.round(a * 10) / 10} A` : '-');

// ---------------------------------------------------------------- sites

async function sites(c: Client, args: string[]): Promise<void> {
  const usage = 'ampere sites';
  if (!parse(usage, args, {}, 0)) return c.out(usage);
  const list = await c.request('GET', '/api/sites');
  if (c.config.json) return c.out(JSON.stringify(list, null, 2));
  c.out(
    table(
      ['ID', 'NAME', 'LIMIT', 'ALGORITHM', 'CHARGERS', 'TIME ZONE'],
      list.map((s: any) => [
        s.id,
        s.name,
        [
          s.gridLimitA !== undefined ? `${s.gridLimitA} A` : null,
          s.gridLimitKw !== undefined ? `${s.gridLimitKw} kW` : null,
        ]
          .filter(Boolean)
          .join(' / '),
        s.algorithm ?? 'SUSPENDABLE',
        s.chargers.map((x: any) => x.chargerId).join(','),
        s.timeZone ?? 'UTC',
      ]),
    ),
  );
}

const SITE_FLAGS = {
  'grid-limit': { type: 'string' },
  'grid-limit-kw': { type: 'string' },
  algorithm: { type: 'string' },
  'time-zone': { type: 'string' },
  name: { type: 'string' },
  'idle-current': { type: 'string' },
  'min-current': { type: 'string' },
  'fallback-current': { type: 'string' },
  voltage: { type: 'string' },
  objective: { type: 'string' },
} as const;

const CHARGER_FLAGS = {
  phases: { type: 'string' },
  'max-current': { type: 'string' },
  'min-current': { type: 'string' },
  priority: { type: 'string' },
  rotation: { type: 'string' },
  'fallback-current': { type: 'string' },
  'whole-amperes': { type: 'boolean' },
} as const;

async function getSite(c: Client, id: string): Promise<any | null> {
  try {
    return await c.request('GET', `/api/sites/${enc(id)}`);
  } catch (e) {
    if ((e as { status?: number }).status === 404) return null;
    throw e;
  }
}

async function putSite(c: Client, site: any): Promise<void> {
  const { id, warnings: _w, ...body } = site;
  const saved = await c.request('PUT', `/api/sites/${enc(id)}`, body);
  if (c.config.json) return c.out(JSON.stringify(saved, null, 2));
  c.out(`site ${id}: saved`);
  for (const w of saved.warnings ?? []) c.out(`warning: ${w}`);
}

async function site(c: Client, args: string[]): Promise<void> {
  const [first, second, ...rest] = args;
  if (first === undefined || first === '--help' || first === '-h') return c.out(SMART_USAGE);
  if (first === 'set') {
    const usage = 'ampere site set ID [--grid-limit A] [--algorithm …] [--time-zone TZ] …  (ampere site --help)';
    const p = parse(
      usage,
      [second ?? '', ...rest].filter((x, i) => i > 0 || x !== ''),
      SITE_FLAGS,
      1,
    );
    if (!p) return c.out(SMART_USAGE);
    const id = need(p.positionals[0], 'site ID', usage);
    const v = p.values;
    const existing = (await getSite(c, id)) ?? { id, chargers: [] };
    const algorithm = str(v.algorithm)?.toUpperCase();
    if (algorithm !== undefined && !['UNIFORM', 'OPTIMIZED', 'SUSPENDABLE'].includes(algorithm))
      throw new AmpereError('AMPERE_ERR_BAD_REQUEST', '--algorithm must be UNIFORM, OPTIMIZED or SUSPENDABLE');
    return putSite(c, {
      ...existing,
      ...defined({
        gridLimitA: num(v['grid-limit'], 'grid-limit'),
        gridLimitKw: num(v['grid-limit-kw'], 'grid-limit-kw'),
        algorithm,
        timeZone: str(v['time-zone']),
        name: str(v.name),
        idleCurrentA: num(v['idle-current'], 'idle-current'),
        minCurrentA: num(v['min-current'], 'min-current'),
        fallbackCurrentA: num(v['fallback-current'], 'fallback-current'),
        voltage: num(v.voltage, 'voltage'),
        objective: str(v.objective),
      }),
    });
  }
  if (first === 'rm' || first === 'delete') {
    const usage = 'ampere site rm ID';
    const p = parse(usage, rest, {}, 0);
    if (!p) return c.out(usage);
    const id = need(second, 'site ID', usage);
    await c.request('DELETE', `/api/sites/${enc(id)}`);
    return c.out(`site ${id}: deleted`);
  }
  const id = first;
  switch (second) {
    case undefined:
    case 'status':
      return siteStatus(c, id, rest);
    case 'load': {
      const usage = 'ampere site ID load L1,L2,L3   (building load per phase, A)';
      const p = parse(usage, rest, {}, 1);
      if (!p) return c.out(usage);
      const load = numbers(need(p.positionals[0], 'L1,L2,L3', usage), 'load');
      if (load.length !== 3)
        throw new AmpereError('AMPERE_ERR_BAD_REQUEST', `Three values, one per phase\nUsage: ${usage}`);
      const r = await c.request('POST', `/api/sites/${enc(id)}/load`, { buildingLoadA: load });
      return c.out(c.config.json ? JSON.stringify(r) : `site ${id}: building load ${load.join(' / ')} A`);
    }
    case 'charger': {
      const [action, ...more] = rest;
      const usage = `ampere site ID charger add CHARGER [--phases 1|3] [--max-current A] [--priority N] …  |  ampere site ID charger rm CHARGER`;
      if (action !== 'add' && action !== 'rm') {
        if (action === '--help' || action === '-h') return c.out(usage);
        throw new AmpereError(
          'AMPERE_ERR_BAD_REQUEST',
          `Unknown "site ID charger ${action ?? ''}" (add, rm)\nUsage: ${usage}`,
        );
      }
      const p = parse(usage, more, action === 'add' ? CHARGER_FLAGS : {}, 1);
      if (!p) return c.out(usage);
      const chargerId = need(p.positionals[0], 'CHARGER', usage);
      const existing = await getSite(c, id);
      if (!existing)
        throw new AmpereError(
          'AMPERE_ERR_NOT_FOUND',
          `No site ${id}: create it first with "ampere site set ${id} --grid-limit A"`,
        );
      const others = existing.chargers.filter((x: any) => x.chargerId !== chargerId);
      if (action === 'rm') {
        if (others.length === existing.chargers.length)
          throw new AmpereError('AMPERE_ERR_NOT_FOUND', `Charger ${chargerId} is not in site ${id}`);
        return putSite(c, { ...existing, chargers: others });
      }
      const v = p.values;
      const before = existing.chargers.find((x: any) => x.chargerId === chargerId) ?? {};
      const phases = num(v.phases, 'phases');
      const charger = {
        ...before,
        chargerId,
        phases: phases ?? before.phases ?? 3,
        ...defined({
          maxCurrentA: num(v['max-current'], 'max-current'),
          minCurrentA: num(v['min-current'], 'min-current'),
          priority: num(v.priority, 'priority'),
          rotation: str(v.rotation)?.toUpperCase(),
          fallbackCurrentA: num(v['fallback-current'], 'fallback-current'),
          wholeAmperes: v['whole-amperes'] === true ? true : undefined,
        }),
      };
      return putSite(c, { ...existing, chargers: [...others, charger] });
    }
    default:
      throw new AmpereError(
        'AMPERE_ERR_BAD_REQUEST',
        `Unknown "site ID ${second}" (status, load, charger add|rm; or: site set ID, site rm ID)`,
      );
  }
}

async function siteStatus(c: Client, id: string, args: string[]): Promise<void> {
  const usage = 'ampere site ID';
  if (!parse(usage, args, {}, 0)) return c.out(usage);
  const st = await c.request('GET', `/api/sites/${enc(id)}/status`);
  if (c.config.json) return c.out(JSON.stringify(st, null, 2));
  const limit = [
    st.gridLimitA !== null ? `${st.gridLimitA} A` : null,
    st.gridLimitKw !== null ? `${st.gridLimitKw} kW` : null,
  ]
    .filter(Boolean)
    .join(', ');
  c.out(`site ${id}: limit ${limit}; building ${st.buildingLoadA.join(' / ')} A`);
  c.out(
    `counted per phase ${st.phaseLoadA.map((a: number) => a.toFixed(1)).join(' / ')} A (${st.powerKw} kW), last run ${st.at ?? 'never'}`,
  );
  if (st.violations.length > 0)
    c.out(`LIMIT EXCEEDED ${st.violations.length} time(s), last: ${st.violations.at(-1).over}`);
  c.out('');
  c.out(
    table(
      ['CHARGER', 'SESSION', 'STATE', 'CURRENT', 'PHASES', 'WHY'],
      st.allocations.map((a: any) => [
        a.chargerId,
        a.sessionId,
        a.state,
        fmtA(a.currentA),
        a.gridPhases.join(''),
        a.reason,
      ]),
    ),
  );
  c.out('');
  c.out(
    table(
      ['CHARGER', 'COUNTED', 'ON PHASES', 'BASIS'],
      st.ledger.map((e: any) => [`${e.chargerId}/${e.connectorId}`, fmtA(e.countedA), e.phases.join(''), e.basis]),
    ),
  );
  const plan = st.plan;
  if (plan)
    c.out(
      `\nplan: ${plan.sessions.length} session(s), cost ${plan.cost.toFixed(2)}, ${Math.round(plan.co2g)} g CO2, ${plan.shortfallKWh.toFixed(1)} kWh short`,
    );
  if (st.recentActuations.length > 0) {
    c.out('');
    c.out(
      table(
        ['AT', 'CHARGER', 'DIRECTION', 'TO', 'MECHANISM', 'COMMANDS', 'OK'],
        st.recentActuations
          .slice(-8)
          .map((r: any) => [
            r.at,
            `${r.chargerId}/${r.connectorId}`,
            r.direction,
            fmtA(r.currentA),
            r.mechanism,
            r.commands.map((x: any) => `${x.action} ${x.status}`).join(', '),
            r.ok,
          ]),
      ),
    );
  }
}

// ---------------------------------------------------------------- prices and tariff

async function prices(c: Client, args: string[]): Promise<void> {
  const [id, sub, ...rest] = args;
  const usage =
    'ampere prices ID  |  prices ID import FILE.csv  |  prices ID set --start ISO --slot 15|30|60 --price P1,P2,… [--co2 …]';
  if (id === undefined || id === '--help' || id === '-h') return c.out(usage);
  if (sub === undefined) {
    const s = await c.request('GET', `/api/sites/${enc(id)}/prices`);
    if (c.config.json) return c.out(JSON.stringify(s, null, 2));
    const slot = s.slotMinutes * 60_000;
    return c.out(
      table(
        ['START', 'PRICE', 'CO2 G/KWH'],
        s.price.map((p: number, i: number) => [new Date(Date.parse(s.start) + i * slot).toISOString(), p, s.co2?.[i]]),
      ),
    );
  }
  let body: unknown;
  let result: any;
  if (sub === 'import') {
    const p = parse(usage, rest, {}, 1);
    if (!p) return c.out(usage);
    const file = need(p.positionals[0], 'FILE.csv', usage);
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      throw new AmpereError('AMPERE_ERR_BAD_REQUEST', `Cannot read ${file}: ${(e as Error).message}`);
    }
    result = await c.request('POST', `/api/sites/${enc(id)}/prices.csv`, text, 'text/csv');
  } else if (sub === 'set') {
    const p = parse(
      usage,
      rest,
      { start: { type: 'string' }, slot: { type: 'string' }, price: { type: 'string' }, co2: { type: 'string' } },
      0,
    );
    if (!p) return c.out(usage);
    body = {
      start: need(p.values.start, '--start', usage),
      slotMinutes: num(need(p.values.slot, '--slot', usage), 'slot'),
      price: numbers(need(p.values.price, '--price', usage), 'price'),
      ...(typeof p.values.co2 === 'string' ? { co2: numbers(p.values.co2, 'co2') } : {}),
    };
    result = await c.request('PUT', `/api/sites/${enc(id)}/prices`, body);
  } else throw new AmpereError('AMPERE_ERR_BAD_REQUEST', `Unknown "prices ID ${sub}"\nUsage: ${usage}`);
  if (c.config.json) return c.out(JSON.stringify(result, null, 2));
  c.out(`site ${id}: ${result.price.length} slots of ${result.slotMinutes} min from ${result.start}`);
  for (const w of result.warnings ?? []) c.out(`warning: ${w}`);
}

async function tariff(c: Client, args: string[]): Promise<void> {
  const [sub, ...rest] = args;
  const usage = 'ampere tariff  |  tariff set --flat PRICE [--currency EUR] [--co2 G]  |  tariff set FILE.json';
  if (sub === '--help' || sub === '-h') return c.out(usage);
  if (sub === undefined) {
    const t = await c.request('GET', '/api/tariff');
    return c.out(c.config.json || t === null ? JSON.stringify(t, null, 2) : describeTariff(t));
  }
  if (sub !== 'set') throw new AmpereError('AMPERE_ERR_BAD_REQUEST', `Unknown "tariff ${sub}"\nUsage: ${usage}`);
  const p = parse(usage, rest, { flat: { type: 'string' }, currency: { type: 'string' }, co2: { type: 'string' } }, 1);
  if (!p) return c.out(usage);
  let body: unknown;
  if (p.positionals[0] !== undefined) {
    try {
      body = JSON.parse(readFileSync(p.positionals[0], 'utf8'));
    } catch (e) {
      throw new AmpereError(
        'AMPERE_ERR_BAD_REQUEST',
        `Cannot read ${p.positionals[0]} as JSON: ${(e as Error).message}`,
      );
    }
  } else {
    body = {
      type: 'flat',
      currency: str(p.values.currency) ?? 'EUR',
      pricePerKwh: num(need(p.values.flat, '--flat PRICE or FILE.json', usage), 'flat'),
      ...(p.values.co2 !== undefined ? { co2PerKwh: num(p.values.co2, 'co2') } : {}),
    };
  }
  const saved = await c.request('PUT', '/api/tariff', body);
  c.out(c.config.json ? JSON.stringify(saved, null, 2) : describeTariff(saved));
}

function describeTariff(t: any): string {
  if (t.type === 'flat')
    return `flat: ${t.pricePerKwh} ${t.currency}/kWh${t.co2PerKwh !== undefined ? `, ${t.co2PerKwh} g CO2/kWh` : ''}`;
  const lines = [`time of use (${t.timeZone ?? 'UTC'}): ${t.defaultPricePerKwh} ${t.currency}/kWh outside the periods`];
  for (const p of t.periods)
    lines.push(`  ${p.from}-${p.to}${p.days ? ` days ${p.days.join(',')}` : ''}: ${p.pricePerKwh} ${t.currency}/kWh`);
  return lines.join('\n');
}

// ---------------------------------------------------------------- session and tag plans

const PLAN_FLAGS = {
  departure: { type: 'string' },
  energy: { type: 'string' },
  greenest: { type: 'boolean' },
  cheapest: { type: 'boolean' },
} as const;

function objectiveOf(v: Parsed['values']): string | undefined {
  if (v.greenest && v.cheapest) throw new AmpereError('AMPERE_ERR_BAD_REQUEST', '--greenest or --cheapest, not both');
  return v.greenest ? 'greenest' : v.cheapest ? 'cheapest' : undefined;
}

/** `tx plan` and `tx fast`. */
export async function txPlan(c: Client, sub: 'plan' | 'fast', args: string[]): Promise<void> {
  if (sub === 'fast') {
    const usage = 'ampere tx fast TX   (charge now, whatever the plan)';
    const p = parse(usage, args, {}, 1);
    if (!p) return c.out(usage);
    const id = need(p.positionals[0], 'TX', usage);
    const r = await c.request('POST', `/api/transactions/${enc(id)}/fast-charge`);
    return c.out(c.config.json ? JSON.stringify(r) : `transaction ${id}: fast charge`);
  }
  const usage = 'ampere tx plan TX [--departure 07:00|ISO] [--energy KWH] [--greenest|--cheapest]';
  const p = parse(usage, args, PLAN_FLAGS, 1);
  if (!p) return c.out(usage);
  const id = need(p.positionals[0], 'TX', usage);
  const v = p.values;
  if (v.departure !== undefined || v.energy !== undefined || v.greenest || v.cheapest) {
    const body = defined({
      departure: need(v.departure, '--departure', usage),
      energyKWh: num(v.energy, 'energy'),
      objective: objectiveOf(v),
    });
    const saved = await c.request('PUT', `/api/transactions/${enc(id)}/plan`, body);
    if (c.config.json) return c.out(JSON.stringify(saved, null, 2));
    c.out(`transaction ${id}: planned`);
    for (const w of saved.warnings ?? []) c.out(`warning: ${w}`);
  }
  return showPlan(c, id);
}

export async function showPlan(c: Client, id: string): Promise<void> {
  const v = await c.request('GET', `/api/transactions/${enc(id)}/plan`);
  if (c.config.json) return c.out(JSON.stringify(v, null, 2));
  c.out(planLine(v));
  if (v.plan) {
    const p = v.plan;
    c.out(
      `  plan: ${p.fast ? 'fast charge' : `departure ${p.departure ?? '-'}, ${p.energyWantedKWh ?? '-'} kWh wanted (${p.objective})`}; ` +
        `delivered ${p.deliveredKWh} kWh` +
        (p.shortKWh ? `, ${p.shortKWh} kWh short of the target` : '') +
        (p.expectedCost !== null ? `, expected cost ${p.expectedCost} ${p.currency ?? ''}` : '') +
        (p.expectedCo2g !== null ? `, ${p.expectedCo2g} g CO2` : ''),
    );
  }
  if (v.nextSlots.length > 0)
    c.out(
      table(
        ['FROM', 'TO', 'CURRENT', 'KWH', 'PRICE', 'CO2'],
        v.nextSlots.map((s: any) => [s.start, s.end, fmtA(s.currentA), s.energyKWh, s.price, s.co2]),
      ),
    );
}

function planLine(v: any): string {
  const now = typeof v.currentA === 'number' && v.state !== 'paused' ? ` at ${fmtA(v.currentA)}` : '';
  return `#${v.transactionId} ${v.chargerId}/${v.connectorId} ${v.state}${now}${v.reason ? `: ${v.reason}` : ''}`;
}

/** After `tx active`: one line per session saying whether it charges and why not. */
export async function activePlans(c: Client): Promise<void> {
  const r = await c.request('GET', '/api/sessions/active');
  if (r.items.length === 0) return;
  c.out('');
  for (const t of r.items) c.out(planLine(await c.request('GET', `/api/transactions/${t.id}/plan`)));
}

async function tagPlan(c: Client, args: string[]): Promise<void> {
  const usage =
    'ampere tags plan TAG --departure 07:00 [--energy KWH] [--greenest|--cheapest]  |  tags plan TAG --clear';
  const p = parse(usage, args, { ...PLAN_FLAGS, clear: { type: 'boolean' } }, 1);
  if (!p) return c.out(usage);
  const tag = need(p.positionals[0], 'TAG', usage);
  const v = p.values;
  const body = v.clear
    ? null
    : defined({
        departureTime: need(v.departure, '--departure HH:MM', usage),
        energyKWh: num(v.energy, 'energy'),
        objective: objectiveOf(v),
      });
  const saved = await c.request('PUT', `/api/id-tags/${enc(tag)}/smart-plan`, body);
  if (c.config.json) return c.out(JSON.stringify(saved, null, 2));
  c.out(
    saved.smartPlan
      ? `${tag}: its sessions are planned to be ready at ${saved.smartPlan.departureTime}${saved.smartPlan.energyKWh ? ` with ${saved.smartPlan.energyKWh} kWh` : ''}`
      : `${tag}: no plan (its sessions charge at once)`,
  );
}

/**
 * Runs a smart-charging command (`sites`, `site`, `prices`, `tariff`, `tx plan|fast`, `tags plan`).
 * Returns the exit code.
 */
export async function runSmartCommand(command: string, argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { config, rest } = loadClientConfig(argv, env);
  const c = client(config);
  try {
    switch (command) {
      case 'sites':
        await sites(c, rest);
        break;
      case 'site':
        await site(c, rest);
        break;
      case 'prices':
        await prices(c, rest);
        break;
      case 'tariff':
        await tariff(c, rest);
        break;
      case 'tx':
        await txPlan(c, rest[0] as 'plan' | 'fast', rest.slice(1));
        break;
      case 'tags':
        await tagPlan(c, rest.slice(1));
        break;
      case 'tx-show':
        if (!config.json) await showPlan(c, rest[0]!);
        break;
      case 'tx-active':
        if (!config.json) await activePlans(c);
        break;
      default:
        throw new AmpereError('AMPERE_ERR_BAD_REQUEST', `Unknown command "${command}"`);
    }
    return 0;
  } catch (e) {
    const err = e as Error & { status?: number; body?: unknown };
    // An HTTP error answer (the API's message); usage errors are AmpereErrors and exit 2 in main.
    if (err.status !== undefined && !isAmpereError(e)) {
      if (config.json && err.body) process.stderr.write(`${JSON.stringify(err.body)}\n`);
      process.stderr.write(`ampere: ${err.message}\n`);
      return 1;
    }
    throw e;
  }
}

/** Which smart command, if any, handles these arguments of `ampere COMMAND …`. */
export function smartRoute(command: string, rest: string[]): 'own' | 'after' | null {
  if (SMART_COMMANDS.includes(command)) return 'own';
  if (command === 'tx' && (rest[0] === 'plan' || rest[0] === 'fast')) return 'own';
  if (command === 'tags' && rest[0] === 'plan') return 'own';
  if (command === 'tx' && (rest[0] === 'show' || rest[0] === 'active')) return 'after';
  return null;
}
