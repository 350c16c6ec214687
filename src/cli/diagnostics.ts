// `ampere diagnostics …`: GetDiagnostics uploads to Ampere (README "Diagnostics"), a thin client
// of /api/chargers/ID/diagnostics and /api/diagnostics.
import { createWriteStream } from 'node:fs';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { loadClientConfig } from '../config/client.ts';
import { AmpereError } from '../errors.ts';
import { client, table } from './operator.ts';

export const DIAGNOSTICS_USAGE = `  diagnostics get ID [--http] [--log DiagnosticsLog|SecurityLog] [--from ISO] [--to ISO] [--retries N] [--retry-interval S]
                                       ask charger ID for its diagnostics (GetDiagnostics; --log: GetLog), uploaded
                                       to Ampere by FTP (needs serve --ftp-port) or, with --http, by HTTP
  diagnostics ls [ID]                  requests and their files, newest first (one charger's with ID)
  diagnostics show REQ                 one request: status history, file
  diagnostics download REQ -o FILE     save the uploaded file (-o - writes to stdout)`;

const usage = (msg: string) => new AmpereError('AMPERE_ERR_CONFIG', `${msg}\n\n${DIAGNOSTICS_USAGE}`);

function options(args: string[], known: Record<string, 'bool' | 'value'>): Record<string, string | true> {
  const out: Record<string, string | true> = {};
  for (let i = 0; i < args.length; i++) {
    const m = /^(--[a-z-]+|-o)(?:=(.*))?$/.exec(args[i]!);
    const kind = m ? known[m[1]!] : undefined;
    if (!m || !kind) throw usage(`Unknown argument "${args[i]}"`);
    if (kind === 'bool') out[m[1]!] = true;
    else {
      const v = m[2] ?? args[++i];
      if (v === undefined) throw usage(`${m[1]} needs a value`);
      out[m[1]!] = v;
    }
  }
  return out;
}

function rows(items: any[]): string {
  if (items.length === 0) return 'No diagnostics requests.';
  return table(
    ['REQ', 'CHARGER', 'VIA', 'STATUS', 'FILE', 'BYTES', 'REQUESTED', 'ERROR'],
    items.map((r) => [r.id, r.chargerId, r.transport, r.status, r.fileName, r.fileSize, r.createdAt, r.error]),
  );
}

function detail(r: any): string {
  const lines = [
    `Request ${r.id} for ${r.chargerId} by ${r.transport}: ${r.status}`,
    `File: ${r.downloadable ? `${r.fileName ?? r.file} (${r.fileSize} bytes): ampere diagnostics download ${r.id} -o FILE` : (r.fileName ?? 'none yet')}`,
    `Credential valid until ${r.expiresAt}`,
  ];
  if (r.error) lines.push(`Error: ${r.error}`);
  for (const h of r.history) lines.push(`  ${h.at}  ${h.status}${h.info ? `  ${h.info}` : ''}`);
  return lines.join('\n');
}

export async function runDiagnosticsCommand(argv: string[], env: NodeJS.ProcessEnv): Promise<number> {
  if (argv.includes('--help') || argv.includes('-h')) {
    process.stdout.write(`Usage:\n${DIAGNOSTICS_USAGE}\n`);
    return 0;
  }
  const { config, rest } = loadClientConfig(argv, env);
  const [sub, arg, ...more] = rest;
  const c = client(config);
  const show = (v: unknown, text: string) => c.out(config.json ? JSON.stringify(v, null, 2) : text);
  try {
    switch (sub) {
      case 'get': {
        if (!arg) throw usage('Give a charge point id');
        const o = options(more, {
          '--http': 'bool',
          '--log': 'value',
          '--from': 'value',
          '--to': 'value',
          '--retries': 'value',
          '--retry-interval': 'value',
        });
        const body: Record<string, unknown> = { transport: o['--http'] ? 'http' : 'ftp' };
        if (o['--log']) body.logType = o['--log'];
        if (o['--from']) body.startTime = o['--from'];
        if (o['--to']) body.stopTime = o['--to'];
        if (o['--retries']) body.retries = Number(o['--retries']);
        if (o['--retry-interval']) body.retryInterval = Number(o['--retry-interval']);
        const r = await c.request('POST', `/api/chargers/${encodeURIComponent(arg)}/diagnostics`, body);
        show(
          r,
          r.fileName
            ? `${body.logType ? 'GetLog' : 'GetDiagnostics'}: the charger will upload ${r.fileName} (request ${r.id}; ampere diagnostics show ${r.id})`
            : `${body.logType ? 'GetLog' : 'GetDiagnostics'}: the charger has no diagnostics to upload (request ${r.id})`,
        );
        return 0;
      }
      case 'ls': {
        options(more, {});
        const r = await c.request(
          'GET',
          arg ? `/api/chargers/${encodeURIComponent(arg)}/diagnostics` : '/api/diagnostics',
        );
        show(r, rows(r.items));
        return 0;
      }
      case 'show': {
        if (!arg) throw usage('Give the request number REQ');
        const r = await c.request('GET', `/api/diagnostics/${encodeURIComponent(arg)}`);
        show(r, detail(r));
        return 0;
      }
      case 'download': {
        if (!arg) throw usage('Give the request number REQ');
        const o = options(more, { '-o': 'value', '--output': 'value' });
        const target = (o['-o'] ?? o['--output']) as string | undefined;
        if (!target) throw usage('Give the file to write with -o FILE');
        const res = await fetch(`${config.url}/api/diagnostics/${encodeURIComponent(arg)}/file`, {
          headers: { authorization: `Bearer ${c.token}` },
        });
        if (!res.ok || !res.body) {
          const e = (await res.json().catch(() => null)) as { error?: { code: string; message: string } } | null;
          throw Object.assign(
            new Error(`${e?.error?.message ?? `HTTP ${res.status}`} (${e?.error?.code ?? res.status})`),
            {
              status: res.status,
            },
          );
        }
        const body = Readable.fromWeb(res.body as never);
        if (target === '-') await pipeline(body, process.stdout, { end: false });
        else {
          await pipeline(body, createWriteStream(target));
          process.stderr.write(`wrote ${target} (${res.headers.get('content-length') ?? '?'} bytes)\n`);
        }
        return 0;
      }
      default:
        throw usage(sub ? `Unknown: diagnostics ${sub}` : 'Give a sub-command');
    }
  } catch (e) {
    const err = e as Error & { status?: number };
    // Usage and configuration errors exit 2 (main.ts); the server's answers exit 1.
    if (err.status === undefined || e instanceof AmpereError) throw e;
    process.stderr.write(`ampere: ${err.message}\n`);
    return 1;
  }
}
