// `ampere certs init|client`: the built-in CA for small sites (security profiles 2 and 3).
import { join } from 'node:path';
import { initCertificates, issueChargerCertificate } from '../app/tls.ts';
import { AmpereError } from '../errors.ts';

export const CERTS_USAGE = `Usage:
  ampere certs init [--data DIR] [--hosts NAME,NAME] [--cpo-name NAME] [--days N] [--key-type rsa|ec] [--force]
      creates DIR/certs/ca.pem, ca.key, server.pem, server.key (default DIR ./data,
      hosts localhost,127.0.0.1, CPO name "Ampere", key type rsa: RSA 2048; ec: ECDSA P-256)
  ampere certs client ID [--data DIR] [--cpo-name NAME] [--days N]
      issues a charger certificate for security profile 3: CN = ID, O = the CA's CPO name,
      written to DIR/certs/chargers/ID.pem and ID.key
`;

function flags(argv: string[], allowed: string[]): { values: Record<string, string>; rest: string[] } {
  const values: Record<string, string> = {};
  const rest: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    if (!arg.startsWith('--')) {
      rest.push(arg);
      continue;
    }
    const eq = arg.indexOf('=');
    const name = eq > 0 ? arg.slice(2, eq) : arg.slice(2);
    if (!allowed.includes(name)) throw new AmpereError('AMPERE_ERR_CONFIG', `Unknown flag --${name}\n\n${CERTS_USAGE}`);
    if (name === 'force') {
      values.force = 'true';
      continue;
    }
    const value = eq > 0 ? arg.slice(eq + 1) : argv[++i];
    if (value === undefined) throw new AmpereError('AMPERE_ERR_CONFIG', `--${name} needs a value`);
    values[name] = value;
  }
  return { values, rest };
}

function days(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 36500) throw new AmpereError('AMPERE_ERR_CONFIG', '--days: 1 to 36500');
  return n;
}

export async function runCertsCli(argv: string[], out: (text: string) => void): Promise<number> {
  const [sub, ...rest] = argv;
  if (sub === 'init') {
    const { values } = flags(rest, ['data', 'hosts', 'cpo-name', 'days', 'key-type', 'force']);
    const keyType = values['key-type'] ?? 'rsa';
    if (keyType !== 'rsa' && keyType !== 'ec') {
      throw new AmpereError('AMPERE_ERR_CONFIG', `--key-type: rsa or ec, not "${keyType}"`);
    }
    const dir = join(values.data ?? './data', 'certs');
    const hosts = (values.hosts ?? 'localhost,127.0.0.1')
      .split(',')
      .map((h) => h.trim())
      .filter(Boolean);
    const cpoName = values['cpo-name'] ?? 'Ampere';
    const d = days(values.days);
    const files = await initCertificates({
      dir,
      hosts,
      cpoName,
      keyType,
      ...(d ? { days: d } : {}),
      ...(values.force ? { force: true } : {}),
    });
    out(
      `CA and server certificate written to ${dir} (hosts ${hosts.join(', ')}, CPO name "${cpoName}").\n` +
        `Serve with TLS (profiles 2 and 3):\n` +
        `  ampere serve --tls-cert ${files.cert} --tls-key ${files.key} --tls-ca ${files.caCert} --cpo-name "${cpoName}"\n` +
        `Chargers trust ${files.caCert} (install it as their CentralSystemRootCertificate).\n`,
    );
    return 0;
  }
  if (sub === 'client') {
    const { values, rest: ids } = flags(rest, ['data', 'cpo-name', 'days']);
    const id = ids[0];
    if (!id || ids.length > 1) throw new AmpereError('AMPERE_ERR_CONFIG', `Give one charge point id\n\n${CERTS_USAGE}`);
    const d = days(values.days);
    const files = await issueChargerCertificate({
      dir: join(values.data ?? './data', 'certs'),
      chargerId: id,
      ...(values['cpo-name'] ? { cpoName: values['cpo-name'] } : {}),
      ...(d ? { days: d } : {}),
    });
    out(`Charger certificate for ${id}: ${files.cert} (key ${files.key}; trust ${files.ca}).\n`);
    return 0;
  }
  out(CERTS_USAGE);
  return sub === undefined || sub === 'help' ? 0 : 2;
}
