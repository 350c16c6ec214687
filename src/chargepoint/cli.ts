// `ampere simulate`: one charger you can watch, or (with --count) a fleet for load tests.
// Progress and logs go to stderr; the final JSON report goes to stdout, so it can be piped.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { createStation } from './index.ts';
import { runLoad } from './load.ts';
import { getProfile, PROFILES } from './profiles/index.ts';
import { parseScenario, runScenario, type Scenario } from './scenario.ts';

export const SIMULATE_USAGE = `Usage: ampere simulate --url URL --profile NAME [options]

  --url URL            central system, e.g. ws://127.0.0.1:8180/ocppj/v1.6 (the id is appended)
  --profile NAME       ${Object.keys(PROFILES).join(' | ')} (default generic)
  --id ID              charge point id (with --count: the id prefix)
  --count N            run N stations in this process (load mode)
  --ramp PER_SECOND    stations started per second in load mode (default 100)
  --duration S         stop after S seconds (load mode: after the last station started)
  --scenario FILE      JSON scenario (steps: plug, swipe, wait, setEvPower, offline, online,
                       fault, clearFault, reboot, unplug, expect, waitFor); "charge" = built-in
  --tag TAG            the card the built-in charge presents (default SIM-{id}, one per station)
  --password P         AuthorizationKey: HTTP Basic auth (security profiles 1 and 2)
  --ca FILE            PEM CA to trust for wss:// (security profile 2)
  --config KEY=VALUE   initial configuration key (repeatable)
  --http-port PORT     go-e: serve its local HTTP API (/api/status, /api/set) on PORT
  --quiet              no per-message log lines
`;

/**
 * The card a simulated station presents unless --tag says otherwise: one per station id, so two
 * simulators are two drivers, not one card used twice (ConcurrentTx). CiString20 (OCPP 1.6 §7.28).
 */
export function defaultTag(stationId: string): string {
  return `SIM-${stationId}`.slice(0, 20);
}

/** Plug a car in, present a card (unless the profile charges freely), charge. */
export function chargeScenario(idTag: string): Scenario {
  return {
    name: 'charge',
    steps: [
      { plug: { connector: 1, soc: 0.3 } },
      { wait: 1 },
      { swipe: idTag },
      { waitFor: { status: 'Charging', timeout: 120 } },
    ],
  };
}

export const CHARGE_SCENARIO: Scenario = chargeScenario('AMPERE-SIM');

function loadScenario(arg: string | undefined): Scenario | undefined {
  if (arg === undefined) return undefined;
  if (arg === 'charge') return chargeScenario('AMPERE-SIM');
  if (/\.ya?ml$/i.test(arg)) throw new Error('YAML scenarios are not supported yet; write the scenario as JSON');
  return parseScenario(JSON.parse(readFileSync(arg, 'utf8')));
}

export async function runSimulateCli(argv: string[]): Promise<number> {
  let values: Record<string, string | string[] | boolean | undefined>;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        url: { type: 'string' },
        profile: { type: 'string' },
        id: { type: 'string' },
        count: { type: 'string' },
        ramp: { type: 'string' },
        duration: { type: 'string' },
        scenario: { type: 'string' },
        password: { type: 'string' },
        tag: { type: 'string' },
        ca: { type: 'string' },
        config: { type: 'string', multiple: true },
        'http-port': { type: 'string' },
        quiet: { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${SIMULATE_USAGE}`);
    return 2;
  }
  if (values.help) {
    process.stdout.write(SIMULATE_USAGE);
    return 0;
  }
  const str = (k: string) => values[k] as string | undefined;
  const num = (k: string, d: number) => {
    const v = str(k);
    if (v === undefined) return d;
    const n = Number(v);
    if (!Number.isFinite(n) || n < 0) throw new Error(`--${k} must be a non-negative number`);
    return n;
  };
  let scenario: Scenario | undefined;
  let profileName: string;
  const config: Record<string, string> = {};
  let count: number;
  let ramp: number;
  let durationS: number;
  let ca: Buffer | undefined;
  try {
    scenario = loadScenario(str('scenario'));
    profileName = str('profile') ?? scenario?.profile ?? 'generic';
    getProfile(profileName);
    Object.assign(config, scenario?.config ?? {});
    for (const kv of (values.config as string[] | undefined) ?? []) {
      const i = kv.indexOf('=');
      if (i <= 0) throw new Error(`--config expects KEY=VALUE, got "${kv}"`);
      config[kv.slice(0, i)] = kv.slice(i + 1);
    }
    count = num('count', 1);
    ramp = num('ramp', 100);
    durationS = num('duration', 0);
    ca = str('ca') ? readFileSync(str('ca')!) : undefined;
  } catch (e) {
    process.stderr.write(`${(e as Error).message}\n\n${SIMULATE_USAGE}`);
    return 2;
  }
  const url = str('url');
  const profile = getProfile(profileName);
  const httpPort = str('http-port');
  if (!url && !(profile.httpApi && httpPort !== undefined)) {
    process.stderr.write(`--url is required\n\n${SIMULATE_USAGE}`);
    return 2;
  }
  const password = str('password');

  if (values.count !== undefined) {
    if (!url) {
      process.stderr.write('--count needs --url\n');
      return 2;
    }
    const tty = process.stderr.isTTY;
    const run = runLoad({
      url,
      profile,
      count: Math.max(1, Math.floor(count)),
      ramp: Math.max(1, ramp),
      durationS,
      idPrefix: str('id') ?? profile.defaultIdPrefix,
      ...(password !== undefined ? { password } : {}),
      ...(ca ? { ca } : {}),
      ...(scenario ? { scenario } : {}),
      ...(Object.keys(config).length ? { config } : {}),
      progress: (line, final) => process.stderr.write(tty && !final ? `\r${line}\u001b[K` : `${line}\n`),
      progressEveryMs: tty ? 1000 : 5000,
    });
    const onSig = () => run.stop();
    process.once('SIGINT', onSig);
    process.once('SIGTERM', onSig);
    // As for one station below: stations waiting to reconnect must not let the process end.
    const keepAlive = setInterval(() => undefined, 60_000);
    const report = await run.done.finally(() => clearInterval(keepAlive));
    process.off('SIGINT', onSig);
    process.off('SIGTERM', onSig);
    process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    return 0;
  }

  // One station, with a readable log.
  const quiet = values.quiet === true;
  const log = (s: string) => process.stderr.write(`${new Date().toISOString()} ${s}\n`);
  const id = str('id') ?? profile.defaultId ?? `${profile.defaultIdPrefix}1`;
  const tag = str('tag') ?? defaultTag(id);
  if (tag.length > 20) {
    process.stderr.write(`--tag: an id tag has at most 20 characters (OCPP 1.6 CiString20), got ${tag.length}\n`);
    return 2;
  }
  const sim = createStation({
    id,
    profile,
    ...(url ? { url } : {}),
    ...(password !== undefined ? { password } : {}),
    ...(ca ? { ca } : {}),
    ...(Object.keys(config).length ? { config } : {}),
    ...(httpPort !== undefined ? { httpApiPort: Number(httpPort) } : {}),
    onState: (st, detail) => log(`connection ${st}${detail ? ` (${detail})` : ''}`),
    hooks: {
      event: (e) => {
        if (quiet) return;
        if (e.type === 'sent') log(`→ ${e.action} ${JSON.stringify(e.payload)}`);
        else if (e.type === 'answered') log(`← ${e.action} ${JSON.stringify(e.payload)}`);
        else if (e.type === 'received') log(`⇐ ${e.action} ${JSON.stringify(e.payload)}`);
        else if (e.type === 'status') log(`connector ${e.connectorId}: ${e.status}`);
        else if (e.type === 'registration') log(`registration ${e.status}`);
        else if (e.type === 'log') log(e.message);
      },
    },
  });
  const st = sim.station;
  // The station's timers do not hold the process open (tests and load mode rely on that); while
  // the server is away and the station waits to reconnect, this does, until Ctrl-C or --duration.
  const keepAlive = setInterval(() => undefined, 60_000);
  await sim.start();
  if (sim.httpApi) log(`go-e HTTP API on ${sim.httpApi.url}/api/status`);
  let stop: () => void = () => undefined;
  const stopped = new Promise<void>((resolve) => {
    stop = resolve;
  });
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  const timer = durationS > 0 ? setTimeout(stop, durationS * 1000) : undefined;
  const waitBooted = async () => {
    while (st.registration !== 'Accepted') {
      if (await Promise.race([stopped.then(() => true), new Promise((r) => setTimeout(() => r(false), 200))]))
        return false;
    }
    return true;
  };
  let result: Awaited<ReturnType<typeof runScenario>> | undefined;
  if (await waitBooted()) {
    result = await Promise.race([
      runScenario(st, scenario ?? chargeScenario(tag), { log: (l) => log(`scenario ${l}`) }),
      stopped.then(() => undefined),
    ]);
    // A scenario file runs once; the built-in charge goes on until --duration or Ctrl-C.
    if (scenario === undefined || durationS > 0) await stopped;
  }
  if (timer) clearTimeout(timer);
  process.off('SIGINT', stop);
  process.off('SIGTERM', stop);
  // Leave like a driver: end the session so the central system sees a StopTransaction.
  for (const c of st.connectors) if (c.tx) st.stopTransaction(c, 'Local');
  const deadline = Date.now() + 3000;
  while (st.queuedMessages > 0 && st.online && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  const report = {
    id: st.id,
    profile: profile.name,
    registration: st.registration,
    firmwareVersion: st.firmwareVersion,
    connectors: st.connectors.map((c) => ({
      id: c.id,
      status: c.status,
      energyWh: Math.round(c.meter.registerWh),
      powerW: Math.round(c.meter.powerW),
    })),
    queuedMessages: st.queuedMessages,
    ...(result ? { scenario: { name: result.name, ok: result.ok, failed: result.steps.filter((s) => !s.ok) } } : {}),
  };
  await sim.stop();
  clearInterval(keepAlive);
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
  return result && !result.ok ? 1 : 0;
}
