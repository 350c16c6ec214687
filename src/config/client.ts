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
}

export const CLIENT_OPTIONS = [
  { flag: 'url', env: 'AMPERE_URL', help: 'server URL (default http://127.0.0.1:8180)' },
  { flag: 'token', env: 'AMPERE_API_TOKEN', help: 'operator API token (default: read DATA/api-token)' },
  { flag: 'data', env: 'AMPERE_DATA', help: 'data folder of a local server, for its token file (default ./data)' },
  { flag: 'json', env: '', help: 'print JSON instead of tables' },
] as const;

/**
 * Splits the CLI's own flags (--url, --token, --data, --json) from the command's arguments.
 * Other flags are left in `rest` for the command to interpret.
 */
export function loadClientConfig(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
): { config: Readonly<ClientConfig>; rest: string[] } {
  const flags: Record<string, string> = {};
  let json = false;
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (arg === '--json') {
      json = true;
      continue;
    }
    const m = /^--(url|token|data)(?:=(.*))?$/.exec(arg);
    if (!m) {
      rest.push(arg);
      continue;
    }
    const value = m[2] ?? argv[++i];
    if (value === undefined) throw new AmpereError('AMPERE_ERR_CONFIG', `--${m[1]} needs a value`);
    flags[m[1]!] = value;
  }
  const url = (flags.url ?? env.AMPERE_URL ?? 'http://127.0.0.1:8180').replace(/\/+$/, '');
  if (!/^https?:\/\/[^/]/.test(url)) {
    throw new AmpereError('AMPERE_ERR_CONFIG', `--url must be an http:// or https:// URL, got "${url}"`);
  }
  const token = flags.token ?? env.AMPERE_API_TOKEN;
  const data = flags.data ?? env.AMPERE_DATA ?? './data';
  return {
    config: Object.freeze({ url, token: token === '' ? undefined : token, tokenFile: join(data, 'api-token'), json }),
    rest,
  };
}
