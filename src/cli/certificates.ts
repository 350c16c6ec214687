// `ampere certificates ID …`: certificate management on one charger (docs/security.md,
// "Certificate management"), a thin client of /api/chargers/ID/certificates.
import { loadClientConfig } from '../config/client.ts';
import { AmpereError } from '../errors.ts';
import { client, table } from './operator.ts';

export const CERTIFICATES_USAGE = `  certificates ID                      certificates installed on the charger (as last reported), our root, expiry
  certificates ID refresh              ask the charger for its list again (GetInstalledCertificateIds)
  certificates ID install-root         install the server's root certificate (InstallCertificate)
  certificates ID delete N             delete entry N of the list (DeleteCertificate)
  certificates ID renew                ask for a new charger certificate now (ExtendedTriggerMessage)`;

function render(view: any): string {
  const lines = [
    view.installed.length === 0
      ? view.listedAt
        ? 'No certificates installed.'
        : `No list yet: ampere certificates ${view.chargerId} refresh`
      : table(
          ['#', 'TYPE', 'SERIAL', 'OURS'],
          view.installed.map((c: any) => [c.index, c.certificateType, c.serialNumber, c.ours]),
        ),
  ];
  if (view.listedAt) lines.push(`Listed at ${view.listedAt}.`);
  lines.push(
    view.root.available
      ? `Server root: serial ${view.root.serialNumber}, valid until ${view.root.notAfter}.`
      : 'Server root: none (ampere certs init, or --tls-ca).',
  );
  const cc = view.chargerCertificate;
  lines.push(
    cc
      ? `Charger certificate: serial ${cc.serialNumber}, valid until ${cc.notAfter}; renewal from ${cc.renewFrom}` +
          (cc.renewRequestedAt ? ` (asked at ${cc.renewRequestedAt})` : '')
      : 'Charger certificate: none issued by this server.',
  );
  return lines.join('\n');
}

export async function runCertificatesCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  const { config, rest } = loadClientConfig(argv, env);
  const [id, sub, arg] = rest;
  if (!id) throw new AmpereError('AMPERE_ERR_CONFIG', `Give a charge point id\n\n${CERTIFICATES_USAGE}`);
  const c = client(config);
  const base = `/api/chargers/${encodeURIComponent(id)}/certificates`;
  const show = (v: unknown, text: string) => c.out(config.json ? JSON.stringify(v, null, 2) : text);
  try {
    switch (sub) {
      case undefined: {
        const view = await c.request('GET', base);
        show(view, render(view));
        return 0;
      }
      case 'refresh': {
        const view = await c.request('POST', `${base}/refresh`);
        show(view, render(view));
        return 0;
      }
      case 'install-root':
      case 'delete': {
        const n = Number(arg);
        if (sub === 'delete' && !(Number.isInteger(n) && n >= 1)) {
          throw new AmpereError('AMPERE_ERR_CONFIG', 'delete needs the entry number N (see the list)');
        }
        const r =
          sub === 'delete'
            ? await c.request('DELETE', `${base}/${n}`)
            : await c.request('POST', `${base}/install-root`);
        show(
          r,
          `${sub === 'delete' ? 'DeleteCertificate' : 'InstallCertificate'}: ${r.status}\n${render(r.certificates)}`,
        );
        return r.status === 'Accepted' ? 0 : 1;
      }
      case 'renew': {
        const r = await c.request('POST', `${base}/renew`);
        show(r, `ExtendedTriggerMessage SignChargePointCertificate: ${r.status}`);
        return r.status === 'Accepted' ? 0 : 1;
      }
      default:
        throw new AmpereError('AMPERE_ERR_CONFIG', `Unknown: certificates ID ${sub}\n\n${CERTIFICATES_USAGE}`);
    }
  } catch (e) {
    const err = e as Error & { status?: number };
    if (err.status === undefined) throw e;
    process.stderr.write(`ampere: ${err.message}\n`);
    return 1;
  }
}
