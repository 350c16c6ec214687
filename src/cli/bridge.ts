// `ampere bridge …`: the home-automation bridge's state, settings and webhook dead letters, over
// the API (like every operator command). Flags are read with node's util.parseArgs.
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { loadClientConfig } from '../config/client.ts';
import { AmpereError } from '../errors.ts';

export const BRIDGE_USAGE = `  bridge [status]                      MQTT connection, messages in/out, last error, webhooks, bridged chargers
  bridge settings                      topic prefix, QoS, retain, discovery, chargers, webhooks (secrets hidden)
  bridge settings --set JSON | --file FILE.json   change settings (the fields given replace the current ones)
  bridge dead-letters                  webhook deliveries that failed every try
  bridge redeliver ID                  deliver a dead letter again`;

type Print = (text: string) => void;

function lines(rows: Array<[string, unknown]>): string {
  const w = Math.max(...rows.map(([k]) => k.length));
  return rows.map(([k, v]) => `${k.padEnd(w)}  ${v === null || v === undefined ? '-' : String(v)}`).join('\n');
}

const parseFlags = (args: string[]) =>
  parseArgs({ args, allowPositionals: true, options: { set: { type: 'string' }, file: { type: 'string' } } });

function json(text: string, what: string): unknown {
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new AmpereError('AMPERE_ERR_BAD_REQUEST', `${what} is not JSON: ${(e as Error).message}`);
  }
}

export async function runBridgeCli(argv: string[], env: NodeJS.ProcessEnv, print: Print): Promise<number> {
  const { config, rest } = loadClientConfig(argv, env);
  let parsed: ReturnType<typeof parseFlags>;
  try {
    parsed = parseFlags(rest);
  } catch (e) {
    throw new AmpereError('AMPERE_ERR_CONFIG', `${(e as Error).message}\n${BRIDGE_USAGE}`);
  }
  const { positionals, values } = parsed;
  let token = config.token;
  if (!token) {
    try {
      token = readFileSync(config.tokenFile, 'utf8').trim();
    } catch {
      throw new AmpereError('AMPERE_ERR_UNAUTHORIZED', `No API token: pass --token or set AMPERE_API_TOKEN`);
    }
  }
  const api = async (method: string, path: string, body?: unknown): Promise<any> => {
    const res = await fetch(`${config.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    }).catch((e: Error) => {
      throw new AmpereError('AMPERE_ERR_CONFIG', `Cannot reach ${config.url}: ${e.cause ?? e.message}`);
    });
    const answer: any = res.status === 204 ? null : await res.json();
    if (!res.ok) throw new AmpereError('AMPERE_ERR_BAD_REQUEST', `${answer.error.message} (${answer.error.code})`);
    return answer;
  };
  const show = (o: unknown, text: () => string) => print(config.json ? JSON.stringify(o, null, 2) : text());
  const [sub = 'status', arg] = positionals;
  switch (sub) {
    case 'status': {
      const s = await api('GET', '/api/bridge');
      show(s, () =>
        lines([
          ['mqtt', s.mqtt ? `${s.mqtt.url} ${s.mqtt.connected ? 'connected' : 'NOT connected'}` : 'off (no --mqtt)'],
          ['connects', s.mqtt?.connects],
          ['messages in/out', s.mqtt ? `${s.mqtt.messagesIn} / ${s.mqtt.messagesOut}` : null],
          ['command errors', s.mqtt?.commandErrors],
          ['events', s.events],
          ['commands', s.commands],
          ['webhooks', `${s.webhooks.hooks} (delivered ${s.webhooks.delivered}, pending ${s.webhooks.pending})`],
          ['dead letters', s.webhooks.deadLetters],
          ['chargers', s.chargers.map((c: any) => `${c.chargerId}${c.online ? '' : ' (offline)'}`).join(', ') || null],
          ['last error', s.lastError],
        ]),
      );
      return 0;
    }
    case 'settings': {
      let change: unknown;
      if (values.set !== undefined) change = json(values.set, '--set');
      else if (values.file !== undefined) change = json(readFileSync(values.file, 'utf8'), values.file);
      const s =
        change === undefined
          ? await api('GET', '/api/bridge/settings')
          : await api('PATCH', '/api/bridge/settings', change);
      print(JSON.stringify(s, null, 2));
      return 0;
    }
    case 'dead-letters': {
      const list = (await api('GET', '/api/bridge/dead-letters')) as any[];
      show(list, () =>
        list.length === 0
          ? 'no dead letters'
          : list
              .map((d) => `${d.id}  ${d.failedAt}  ${d.event.type}  ${d.url}  ${d.lastError} (${d.attempts} tries)`)
              .join('\n'),
      );
      return 0;
    }
    case 'redeliver': {
      if (!arg) throw new AmpereError('AMPERE_ERR_BAD_REQUEST', 'bridge redeliver needs a dead letter ID');
      await api('POST', `/api/bridge/dead-letters/${encodeURIComponent(arg)}/redeliver`);
      print(`redelivering ${arg}`);
      return 0;
    }
    default:
      print(`Unknown bridge command "${sub}".\n${BRIDGE_USAGE}`);
      return 2;
  }
}
