// Settings of the operator CLI (`ampere chargers`, `ampere call`, …): where the server is and
// the token to use. Flags win over the environment; like serve's config, read here only.
import { join } from 'node:path';
import { AmpereError } from '../errors.ts';

export interface ClientConfig {
  /** Base URL of the server, e.g. http://127.0.0.1:8180. */
  url: string;
  /** Bearer token; when unset the CLI reads `tokenFile`. */
  token: string | undefined;
  /** DATA/api-token of a server on this machine (the token generated at its first start). */
  tokenFile: string;
  json: boolean;
  /** Width tables are cut to (long values end in …; --json has them whole). */
  columns: number;
}

/** A pipe or a file has no width: tables are cut only for a terminal or when COLUMNS says so. */
const DEFAULT_COLUMNS = Number.POSITIVE_INFINITY;

export const CLIENT_FLAGS = {
  url: { type: 'string', value: 'URL', help: 'server URL (AMPERE_URL; default http://127.0.0.1:8180)' },
  token: {
    type: 'string',
    value: 'TOKEN',
    help: 'operator API token (AMPERE_API_TOKEN; default: read DATA/api-token)',
  },
  data: { type: 'string', value: 'DIR', help: 'data folder of a local server, for its token file (default ./data)' },
  json: { type: 'boolean', help: 'print JSON instead of tables (whole values)' },
} as const;

/** The client settings from a command's parsed flags (see src/cli/args.ts) and the environment. */
export function clientConfig(
  flags: { url?: string; token?: string; data?: string; json?: boolean },
  env: Readonly<Record<string, string | undefined>>,
  terminalColumns?: number,
): Readonly<ClientConfig> {
  const url = (flags.url ?? env.AMPERE_URL ?? 'http://127.0.0.1:8180').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]/.test(url)) {
    throw new AmpereError('AMPERE_ERR_CONFIG', `--url must be an http:// or https:// URL, got "${url}"`);
  }
  const token = flags.token ?? env.AMPERE_API_TOKEN;
  const data = flags.data ?? env.AMPERE_DATA ?? './data';
  // Tables are cut to the terminal; COLUMNS when not a terminal (a pipe, a test); else not at all.
  const columns = terminalColumns || Number(env.COLUMNS) || DEFAULT_COLUMNS;
  return Object.freeze({
    url,
    token: token === '' ? undefined : token,
    tokenFile: join(data, 'api-token'),
    json: flags.json === true,
    columns: Math.max(40, columns),
  });
}

/**
 * Splits the client flags (--url, --token, --data, --json) from a command's other arguments, for
 * commands that parse the rest themselves (src/cli/smart.ts).
 */
export function loadClientConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): { config: Readonly<ClientConfig>; rest: string[] } {
  const flags: { url?: string; token?: string; data?: string; json?: boolean } = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--json') {
      flags.json = true;
      continue;
    }
    const m = /^--(url|token|data)(?:=(.*))?$/.exec(arg);
    if (!m) {
      rest.push(arg);
      continue;
    }
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new AmpereError('AMPERE_ERR_CONFIG', `--${m[1]} needs a value`);
    flags[m[1] as 'url' | 'token' | 'data'] = value;
  }
  return { config: clientConfig(flags, env), rest };
}
