// `ampere certs init|client`: the built-in CA for small sites (security profiles 2 and 3).
import { join } from 'node:path';
import { initCertificates, issueChargerCertificate } from '../app/tls.ts';
import { AmpereError } from '../errors.ts';
import { type CommandSpec, type FlagSpec, groupHelp, selectCommand } from './args.ts';

const DAYS: FlagSpec = { type: 'string', value: 'N', help: 'validity in days (1 to 36500)' };
const DATA: FlagSpec = { type: 'string', value: 'DIR', help: 'data folder; files go to DIR/certs (default ./data)' };

const CERTS: CommandSpec[] = [
  {
    name: 'certs init',
    summary:
      'creates DIR/certs/ca.pem, ca.key, server.pem, server.key (hosts default localhost,127.0.0.1, CPO name "Ampere")',
    flags: {
      data: DATA,
      hosts: { type: 'string', value: 'NAME,NAME', help: 'names and addresses of the server certificate' },
      'cpo-name': { type: 'string', value: 'NAME', help: 'O of the CA and of charger certificates' },
      days: DAYS,
      force: { type: 'boolean', help: 'replace existing files' },
    },
  },
  {
    name: 'certs client',
    args: ['ID'],
    summary:
      "issues a charger certificate for security profile 3 (CN = ID, O = the CA's CPO name) in DIR/certs/chargers/",
    flags: { data: DATA, 'cpo-name': { type: 'string', value: 'NAME', help: 'O of the certificate' }, days: DAYS },
  },
];

export const CERTS_USAGE = groupHelp(CERTS);

function days(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  const n = Number(raw);
  if (!Number.isInteger(n) || n < 1 || n > 36500) throw new AmpereError('AMPERE_ERR_CONFIG', '--days: 1 to 36500');
  return n;
}

export async function runCertsCli(argv: string[], out: (text: string) => void): Promise<number> {
  if (argv.length === 0 || argv[0] === 'help') {
    out(CERTS_USAGE);
    return 0;
  }
  const picked = selectCommand(CERTS, argv);
  if ('help' in picked) {
    out(picked.help);
    return 0;
  }
  const { command, parsed } = picked;
  const v = (name: string) => parsed.flags[name] as string | undefined;
  const d = days(v('days'));
  if (command.name === 'certs init') {
    const dir = join(v('data') ?? './data', 'certs');
    const hosts = (v('hosts') ?? 'localhost,127.0.0.1')
      .split(',')
      .map((h) => h.trim())
      .filter(Boolean);
    const cpoName = v('cpo-name') ?? 'Ampere';
    const files = initCertificates({
      dir,
      hosts,
      cpoName,
      ...(d ? { days: d } : {}),
      ...(parsed.flags.force ? { force: true } : {}),
    });
    out(
      `CA and server certificate written to ${dir} (hosts ${hosts.join(', ')}, CPO name "${cpoName}").\n` +
        `Serve with TLS (profiles 2 and 3):\n` +
        `  ampere serve --tls-cert ${files.cert} --tls-key ${files.key} --tls-ca ${files.caCert} --cpo-name "${cpoName}"\n` +
        `Chargers trust ${files.caCert} (install it as their CentralSystemRootCertificate).\n`,
    );
    return 0;
  }
  const id = parsed.args[0]!;
  const cpoName = v('cpo-name');
  const files = issueChargerCertificate({
    dir: join(v('data') ?? './data', 'certs'),
    chargerId: id,
    ...(cpoName ? { cpoName } : {}),
    ...(d ? { days: d } : {}),
  });
  out(`Charger certificate for ${id}: ${files.cert} (key ${files.key}; trust ${files.ca}).\n`);
  return 0;
}
