// `ampere firmware …`: images, updates and rollouts (README "Firmware"), a thin client of
// /api/firmware. The upload streams the file to the server; it is never read whole here.
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { basename } from 'node:path';
import { Readable } from 'node:stream';
import { AmpereError } from '../errors.ts';
import type { Parsed } from './args.ts';
import { ApiFailure } from './client.ts';
import { type Client, type OperatorCommand, runCommands, table } from './operator.ts';

const s = (p: Parsed, name: string) => p.flags[name] as string | undefined;
const num = (p: Parsed, name: string): number | undefined => {
  const v = s(p, name);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isFinite(n)) throw new AmpereError('AMPERE_ERR_CONFIG', `--${name} must be a number, got "${v}"`);
  return n;
};

function show(c: Client, v: unknown, text: (v: any) => string): void {
  c.out(c.config.json ? JSON.stringify(v, null, 2) : text(v));
}

const imagesTable = (items: any[], width: number) =>
  items.length === 0
    ? 'No firmware images.'
    : table(
        ['ID', 'NAME', 'VERSION', 'SIZE', 'SHA-256', 'SIGNED', 'UPLOADED'],
        items.map((i) => [i.id, i.name, i.version, i.size, i.sha256.slice(0, 16), i.signature !== null, i.createdAt]),
        width,
      );

const jobsTable = (items: any[], width: number) =>
  items.length === 0
    ? 'No firmware jobs.'
    : table(
        ['JOB', 'CHARGER', 'IMAGE', 'METHOD', 'STATE', 'STATUS', 'BEFORE', 'AFTER', 'ROLLOUT'],
        items.map((j) => [
          j.id,
          j.chargerId,
          j.imageId.slice(0, 8),
          j.method,
          j.state,
          j.status,
          j.versionBefore,
          j.versionAfter,
          j.rolloutId,
        ]),
        width,
      );

function jobText(j: any): string {
  const lines = [
    `Job ${j.id}: ${j.method} of image ${j.imageId} to ${j.chargerId}: ${j.state}${j.error ? ` (${j.error})` : ''}`,
    `Firmware ${j.versionBefore ?? '?'} → ${j.versionAfter ?? '?'}`,
  ];
  for (const h of j.history) lines.push(`  ${h.at}  ${h.status}`);
  return lines.join('\n');
}

function rolloutText(r: any): string {
  const p = r.progress;
  return [
    `Rollout ${r.id} of image ${r.imageId}: ${r.state}${r.haltReason ? ` (${r.haltReason})` : ''}`,
    `  ${p.total} chargers: ${p.queued} queued, ${p.running} running, ${p.succeeded} succeeded, ${p.failed} failed, ${p.timedOut} timed out, ${p.cancelled} cancelled`,
    `  concurrency ${r.concurrency}, halts above ${(r.maxFailureRate * 100).toFixed(0)} % failed after ${r.minFinished} finished (now ${(p.failureRate * 100).toFixed(0)} %)`,
  ].join('\n');
}

async function upload(c: Client, file: string, name: string, version: string): Promise<any> {
  let size: number;
  try {
    size = statSync(file).size;
  } catch (e) {
    throw new AmpereError('AMPERE_ERR_CONFIG', `Cannot read ${file}: ${(e as Error).message}`);
  }
  const query = new URLSearchParams({ name, version });
  let res: Response;
  try {
    res = await fetch(`${c.config.url}/api/firmware?${query}`, {
      method: 'POST',
      headers: {
        authorization: `Bearer ${c.token}`,
        'content-type': 'application/octet-stream',
        'content-length': String(size),
      },
      body: Readable.toWeb(createReadStream(file)) as ReadableStream,
      duplex: 'half',
    } as RequestInit);
  } catch (e) {
    throw new AmpereError(
      'AMPERE_ERR_CONFIG',
      `Cannot reach ${c.config.url}: ${(e as Error).cause ?? (e as Error).message}`,
    );
  }
  const text = await res.text();
  const body = text === '' ? null : JSON.parse(text);
  if (!res.ok) {
    const err = body?.error ?? { code: `HTTP ${res.status}`, message: text };
    throw new ApiFailure(res.status, body, `${err.message} (${err.code})`);
  }
  return body;
}

const RETRY_FLAGS = {
  retries: { type: 'string', value: 'N', help: 'download retries the charger makes' },
  'retry-interval': { type: 'string', value: 'S', help: 'seconds between them' },
  signed: {
    type: 'string',
    value: 'MODE',
    help: 'auto (default), always or never: SignedUpdateFirmware or UpdateFirmware',
  },
} as const;

function retryBody(p: Parsed): Record<string, unknown> {
  const body: Record<string, unknown> = {};
  if (s(p, 'retries') !== undefined) body.retries = num(p, 'retries');
  if (s(p, 'retry-interval') !== undefined) body.retryInterval = num(p, 'retry-interval');
  if (s(p, 'signed') !== undefined) body.signed = s(p, 'signed');
  return body;
}

export const FIRMWARE_COMMANDS: OperatorCommand[] = [
  {
    name: 'firmware ls',
    isDefault: true,
    summary: 'firmware images, newest first',
    async run(c) {
      const r = await c.request('GET', '/api/firmware');
      show(c, r, (v) => imagesTable(v.items, c.config.columns));
    },
  },
  {
    name: 'firmware upload',
    args: ['FILE'],
    summary: 'upload a firmware image (streamed; the server keeps it with its SHA-256)',
    flags: {
      version: {
        type: 'string',
        value: 'V',
        help: 'the firmwareVersion the charger reports once it runs the image (required)',
      },
      name: { type: 'string', value: 'NAME', help: 'file name in the download link (default: the file name)' },
      'signing-cert': { type: 'string', value: 'PEM', help: 'signing certificate file (signed firmware)' },
      signature: { type: 'string', value: 'FILE', help: 'file holding the base64 signature over the image' },
    },
    async run(c, p) {
      const version = s(p, 'version');
      if (!version) throw new AmpereError('AMPERE_ERR_CONFIG', 'firmware upload: --version V is required');
      const file = p.args[0]!;
      const certFile = s(p, 'signing-cert');
      const sigFile = s(p, 'signature');
      if ((certFile === undefined) !== (sigFile === undefined)) {
        throw new AmpereError('AMPERE_ERR_CONFIG', 'firmware upload: --signing-cert and --signature go together');
      }
      let img = await upload(c, file, s(p, 'name') ?? basename(file), version);
      if (certFile && sigFile) {
        img = await c.request('PUT', `/api/firmware/${encodeURIComponent(img.id)}/signature`, {
          signingCertificate: readFileSync(certFile, 'utf8'),
          signature: readFileSync(sigFile, 'utf8').trim(),
        });
      }
      show(c, img, (v) => `Uploaded ${v.name} (${v.version}): ${v.id}, ${v.size} bytes, sha256 ${v.sha256}`);
    },
  },
  {
    name: 'firmware show',
    args: ['IMAGE'],
    summary: 'one firmware image',
    async run(c, p) {
      const v = await c.request('GET', `/api/firmware/${encodeURIComponent(p.args[0]!)}`);
      show(c, v, (i) => imagesTable([i], c.config.columns));
    },
  },
  {
    name: 'firmware rm',
    args: ['IMAGE'],
    summary: 'delete an image and its file (refused while in use)',
    async run(c, p) {
      await c.request('DELETE', `/api/firmware/${encodeURIComponent(p.args[0]!)}`);
      show(c, { deleted: p.args[0] }, () => `Deleted ${p.args[0]}`);
    },
  },
  {
    name: 'firmware update',
    args: ['CHARGER', 'IMAGE'],
    summary: 'send the image to one charger (UpdateFirmware or SignedUpdateFirmware)',
    flags: {
      at: { type: 'string', value: 'ISO', help: 'retrieveDate: when the charger downloads (default now)' },
      ...RETRY_FLAGS,
    },
    async run(c, p) {
      const body = { imageId: p.args[1]!, ...retryBody(p), ...(s(p, 'at') ? { retrieveDate: s(p, 'at') } : {}) };
      const j = await c.request('POST', `/api/chargers/${encodeURIComponent(p.args[0]!)}/firmware-update`, body);
      show(c, j, jobText);
    },
  },
  {
    name: 'firmware jobs',
    summary: 'update jobs, newest first',
    flags: {
      charger: { type: 'string', value: 'ID', help: 'of one charger' },
      rollout: { type: 'string', value: 'N', help: 'of one rollout' },
      state: { type: 'string', value: 'S', help: 'queued, running, succeeded, failed, timed-out, cancelled' },
    },
    async run(c, p) {
      const q = new URLSearchParams();
      if (s(p, 'charger')) q.set('chargerId', s(p, 'charger')!);
      if (s(p, 'rollout')) q.set('rolloutId', s(p, 'rollout')!);
      if (s(p, 'state')) q.set('state', s(p, 'state')!);
      const r = await c.request('GET', `/api/firmware/jobs?${q}`);
      show(c, r, (v) => jobsTable(v.items, c.config.columns));
    },
  },
  {
    name: 'firmware job',
    args: ['JOB'],
    summary: 'one job with its status history; `--cancel` stops following it',
    flags: { cancel: { type: 'boolean', help: 'cancel the job' } },
    async run(c, p) {
      const id = encodeURIComponent(p.args[0]!);
      const j = p.flags.cancel
        ? await c.request('POST', `/api/firmware/jobs/${id}/cancel`)
        : await c.request('GET', `/api/firmware/jobs/${id}`);
      show(c, j, jobText);
    },
  },
  {
    name: 'firmware rollout',
    args: ['ACTION', 'ARG?'],
    summary: 'start IMAGE (with --charger, --vendor/--model or --tag) | ls | show N | pause N | resume N | cancel N',
    flags: {
      charger: { type: 'string', value: 'IDS', help: 'comma-separated charger ids' },
      vendor: { type: 'string', value: 'V', help: 'chargePointVendor' },
      model: { type: 'string', value: 'M', help: 'chargePointModel' },
      tag: { type: 'string', value: 'TAG', help: 'chargers whose id tag list names it' },
      concurrency: { type: 'string', value: 'N', help: 'jobs at once (default 5)' },
      'max-failure-rate': { type: 'string', value: 'R', help: 'halt above this failed/finished ratio (default 0.2)' },
      'min-finished': { type: 'string', value: 'N', help: 'finished jobs before the rate counts (default 5)' },
      ...RETRY_FLAGS,
    },
    async run(c, p) {
      const [action, arg] = p.args as [string, string | undefined];
      const need = () => {
        if (!arg) throw new AmpereError('AMPERE_ERR_CONFIG', `firmware rollout ${action}: give the rollout number`);
        return encodeURIComponent(arg);
      };
      switch (action) {
        case 'start': {
          if (!arg) throw new AmpereError('AMPERE_ERR_CONFIG', 'firmware rollout start: give the image id');
          const target: Record<string, unknown> = {};
          if (s(p, 'charger'))
            target.chargerIds = s(p, 'charger')!
              .split(',')
              .map((x) => x.trim())
              .filter(Boolean);
          for (const k of ['vendor', 'model', 'tag']) if (s(p, k)) target[k] = s(p, k);
          const body: Record<string, unknown> = { imageId: arg, target, ...retryBody(p) };
          if (s(p, 'concurrency')) body.concurrency = num(p, 'concurrency');
          if (s(p, 'max-failure-rate')) body.maxFailureRate = num(p, 'max-failure-rate');
          if (s(p, 'min-finished')) body.minFinished = num(p, 'min-finished');
          show(c, await c.request('POST', '/api/firmware/rollouts', body), rolloutText);
          return;
        }
        case 'ls': {
          const r = await c.request('GET', '/api/firmware/rollouts');
          show(c, r, (v) => (v.items.length === 0 ? 'No rollouts.' : v.items.map(rolloutText).join('\n')));
          return;
        }
        case 'show':
          show(c, await c.request('GET', `/api/firmware/rollouts/${need()}`), rolloutText);
          return;
        case 'pause':
        case 'resume':
        case 'cancel':
          show(c, await c.request('POST', `/api/firmware/rollouts/${need()}/${action}`), rolloutText);
          return;
        default:
          throw new AmpereError(
            'AMPERE_ERR_CONFIG',
            `firmware rollout: unknown action "${action}" (start, ls, show, pause, resume, cancel)`,
          );
      }
    },
  },
];

export const FIRMWARE_USAGE = `Firmware (each takes --help):
  firmware [ls] | upload FILE --version V | show IMAGE | rm IMAGE
  firmware update CHARGER IMAGE [--at ISO] [--retries N] [--retry-interval S] [--signed auto|always|never]
  firmware jobs [--charger ID] [--rollout N] | job N [--cancel]
  firmware rollout start IMAGE --charger A,B | --vendor V --model M | --tag T [--concurrency N] [--max-failure-rate R]
  firmware rollout ls | show N | pause N | resume N | cancel N`;

export function runFirmwareCommand(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  columns?: number,
): Promise<number> {
  return runCommands(FIRMWARE_COMMANDS, 'firmware', argv, env, columns);
}
