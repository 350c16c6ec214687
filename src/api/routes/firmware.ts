// Firmware: images (streamed upload, list, show, delete, signature), update jobs per charger,
// rollouts over many chargers, and the download links chargers fetch without the operator token
// (`/firmware/<image>/<expiry>/<mac>/<name>`, outside /api/: the link itself is the credential).
import { createReadStream } from 'node:fs';
import type { Readable } from 'node:stream';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import type { FirmwareRollouts, FirmwareService, RolloutTarget, SignedMode } from '../../central/index.ts';
import { AmpereError } from '../../errors.ts';
import type { FirmwareJobState } from '../../store/firmware.ts';
import { type ApiContext, chargerOr404, defined, pageOf } from '../context.ts';
import {
  CHARGER_ID_PARAMS,
  errors,
  FIRMWARE_IMAGE,
  FIRMWARE_JOB,
  FIRMWARE_JOB_QUERY,
  FIRMWARE_ROLLOUT,
  FIRMWARE_ROLLOUT_INPUT,
  FIRMWARE_SIGNATURE_INPUT,
  FIRMWARE_UPDATE_INPUT,
  FIRMWARE_UPLOAD_QUERY,
  PAGE_QUERY,
  page,
  query,
} from '../schemas.ts';

/** What the composition root hands the firmware routes. */
export interface FirmwareApiPort {
  service: FirmwareService;
  rollouts: FirmwareRollouts;
  /** --public-url: the base of the links; else the Host of the operator's request. */
  publicUrl?: string;
}

const TAG = ['firmware'];
const IMAGE_PARAMS = {
  type: 'object',
  properties: { imageId: { type: 'string', minLength: 1 } },
  required: ['imageId'],
};
const NUM_PARAMS = { type: 'object', properties: { id: { type: 'integer', minimum: 1 } }, required: ['id'] };

interface UpdateBody {
  imageId: string;
  retrieveDate?: string;
  retries?: number;
  retryInterval?: number;
  signed?: SignedMode;
  linkValidity?: number;
}

interface RolloutBody {
  imageId: string;
  target: RolloutTarget;
  concurrency?: number;
  maxFailureRate?: number;
  minFinished?: number;
  retries?: number;
  retryInterval?: number;
  signed?: SignedMode;
}

/** The start of a link a charger can reach: --public-url, else how the operator reached us. */
function baseUrl(port: FirmwareApiPort, req: FastifyRequest): string {
  if (port.publicUrl) return port.publicUrl;
  return `${req.protocol}://${req.headers.host ?? req.hostname}`;
}

/** `bytes=a-b`, `bytes=a-`, `bytes=-n`: one range (RFC 9110 §14.1.2); undefined = the whole file. */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | undefined | null {
  if (!header) return undefined;
  const m = /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!m || (m[1] === '' && m[2] === '')) return null;
  let start: number;
  let end: number;
  if (m[1] === '') {
    start = Math.max(0, size - Number(m[2]));
    end = size - 1;
  } else {
    start = Number(m[1]);
    end = m[2] === '' ? size - 1 : Math.min(Number(m[2]), size - 1);
  }
  return start > end || start >= size ? null : { start, end };
}

export function firmwareRoutes(app: FastifyInstance, port: FirmwareApiPort, { central }: ApiContext): void {
  const { service, rollouts } = port;
  const images = service.images;
  const store = central.store.firmware;

  // The upload body is handed over unread: the route streams it to disk.
  app.addContentTypeParser('application/octet-stream', (_req, payload, done) => done(null, payload));

  app.post<{ Querystring: { name: string; version: string } }>(
    '/api/firmware',
    {
      schema: {
        tags: TAG,
        summary: `Upload a firmware image (application/octet-stream), streamed to the data folder with its SHA-256; at most --firmware-max-size MB (default ${256})`,
        querystring: FIRMWARE_UPLOAD_QUERY,
        response: { 201: FIRMWARE_IMAGE, ...errors(413, 415) },
      },
    },
    async (req, reply) => {
      if (!String(req.headers['content-type'] ?? '').startsWith('application/octet-stream')) {
        throw new AmpereError(
          'AMPERE_ERR_UNSUPPORTED_MEDIA_TYPE',
          'Send the image as the body with content-type application/octet-stream',
        );
      }
      const img = await images.save(req.body as Readable, { name: req.query.name, version: req.query.version });
      return reply.code(201).send(img);
    },
  );

  app.get(
    '/api/firmware',
    {
      schema: {
        tags: TAG,
        summary: 'Firmware images, newest first',
        response: {
          200: { type: 'object', properties: { items: { type: 'array', items: FIRMWARE_IMAGE } }, required: ['items'] },
          ...errors(),
        },
      },
    },
    async () => ({ items: await store.listImages() }),
  );

  app.get<{ Params: { imageId: string } }>(
    '/api/firmware/:imageId',
    {
      schema: {
        tags: TAG,
        summary: 'One firmware image',
        params: IMAGE_PARAMS,
        response: { 200: FIRMWARE_IMAGE, ...errors(404) },
      },
    },
    async (req) => images.get(req.params.imageId),
  );

  app.put<{ Params: { imageId: string }; Body: { signingCertificate: string; signature: string } }>(
    '/api/firmware/:imageId/signature',
    {
      schema: {
        tags: TAG,
        summary: 'Attach the signing certificate and signature of an image (checked against the image)',
        params: IMAGE_PARAMS,
        body: FIRMWARE_SIGNATURE_INPUT,
        response: { 200: FIRMWARE_IMAGE, ...errors(404) },
      },
    },
    async (req) => images.sign(req.params.imageId, req.body.signingCertificate, req.body.signature),
  );

  app.delete<{ Params: { imageId: string } }>(
    '/api/firmware/:imageId',
    {
      schema: {
        tags: TAG,
        summary: 'Delete an image and its file (refused while an open job or rollout uses it)',
        params: IMAGE_PARAMS,
        response: { 204: { type: 'null' }, ...errors(404, 409) },
      },
    },
    async (req, reply) => {
      const id = req.params.imageId;
      await images.get(id);
      const open = await store.listJobs({ imageId: id, open: true, limit: 1 });
      const live = (await store.listRollouts()).filter(
        (r) => r.imageId === id && (r.state === 'running' || r.state === 'paused' || r.state === 'halted'),
      );
      if (open.total > 0 || live.length > 0) {
        throw new AmpereError(
          'AMPERE_ERR_FIRMWARE_IN_USE',
          `Firmware image ${id} is used by ${open.total} open job(s) and ${live.length} unfinished rollout(s)`,
          { imageId: id, openJobs: open.total, rollouts: live.map((r) => r.id) },
        );
      }
      await images.remove(id);
      return reply.code(204).send();
    },
  );

  // ---------------------------------------------------------------- jobs

  app.post<{ Params: { id: string }; Body: UpdateBody }>(
    '/api/chargers/:id/firmware-update',
    {
      schema: {
        tags: TAG,
        summary:
          'Send UpdateFirmware (or SignedUpdateFirmware) with a signed, expiring link to the image; the job is followed to the next boot',
        params: CHARGER_ID_PARAMS,
        body: FIRMWARE_UPDATE_INPUT,
        response: { 202: FIRMWARE_JOB, ...errors(404, 409, 502, 504) },
      },
    },
    async (req, reply) => {
      await chargerOr404(central, req.params.id);
      const job = await service.update(req.params.id, { ...req.body, baseUrl: baseUrl(port, req) });
      return reply.code(202).send(job);
    },
  );

  app.get<{
    Querystring: {
      chargerId?: string;
      rolloutId?: number;
      imageId?: string;
      state?: FirmwareJobState;
      limit?: number;
      offset?: number;
    };
  }>(
    '/api/firmware/jobs',
    {
      schema: {
        tags: TAG,
        summary: 'Firmware update jobs, newest first',
        querystring: query({ ...FIRMWARE_JOB_QUERY, ...PAGE_QUERY }),
        response: { 200: page(FIRMWARE_JOB), ...errors() },
      },
    },
    async (req) => pageOf(await store.listJobs(defined({ ...req.query })), req.query),
  );

  app.get<{ Params: { id: number } }>(
    '/api/firmware/jobs/:id',
    {
      schema: {
        tags: TAG,
        summary: 'One firmware job',
        params: NUM_PARAMS,
        response: { 200: FIRMWARE_JOB, ...errors(404) },
      },
    },
    async (req) => {
      const job = await store.getJob(req.params.id);
      if (!job) throw new AmpereError('AMPERE_ERR_NOT_FOUND', `No firmware job ${req.params.id}`);
      return job;
    },
  );

  app.post<{ Params: { id: number } }>(
    '/api/firmware/jobs/:id/cancel',
    {
      schema: {
        tags: TAG,
        summary: 'Stop following a job (OCPP 1.6 cannot call an UpdateFirmware back)',
        params: NUM_PARAMS,
        response: { 200: FIRMWARE_JOB, ...errors(404, 409) },
      },
    },
    async (req) => service.cancel(req.params.id),
  );

  // ---------------------------------------------------------------- rollouts

  app.post<{ Body: RolloutBody }>(
    '/api/firmware/rollouts',
    {
      schema: {
        tags: TAG,
        summary:
          'Roll an image out to chargers by id, vendor/model or tag, `concurrency` at a time, halting past maxFailureRate; offline chargers wait',
        body: FIRMWARE_ROLLOUT_INPUT,
        response: { 201: FIRMWARE_ROLLOUT, ...errors(404, 409) },
      },
    },
    async (req, reply) => {
      const b = req.body;
      const view = await rollouts.create({
        imageId: b.imageId,
        target: b.target,
        concurrency: b.concurrency ?? 5,
        maxFailureRate: b.maxFailureRate ?? 0.2,
        minFinished: b.minFinished ?? 5,
        baseUrl: baseUrl(port, req),
        ...(b.retries !== undefined ? { retries: b.retries } : {}),
        ...(b.retryInterval !== undefined ? { retryInterval: b.retryInterval } : {}),
        ...(b.signed !== undefined ? { signed: b.signed } : {}),
      });
      return reply.code(201).send(view);
    },
  );

  app.get(
    '/api/firmware/rollouts',
    {
      schema: {
        tags: TAG,
        summary: 'Rollouts with their progress, newest first',
        response: {
          200: {
            type: 'object',
            properties: { items: { type: 'array', items: FIRMWARE_ROLLOUT } },
            required: ['items'],
          },
          ...errors(),
        },
      },
    },
    async () => ({ items: await rollouts.list() }),
  );

  app.get<{ Params: { id: number } }>(
    '/api/firmware/rollouts/:id',
    {
      schema: {
        tags: TAG,
        summary: 'One rollout and its progress',
        params: NUM_PARAMS,
        response: { 200: FIRMWARE_ROLLOUT, ...errors(404) },
      },
    },
    async (req) => rollouts.view(req.params.id),
  );

  for (const action of ['pause', 'resume', 'cancel'] as const) {
    app.post<{ Params: { id: number } }>(
      `/api/firmware/rollouts/:id/${action}`,
      {
        schema: {
          tags: TAG,
          summary: {
            pause: 'Start no more jobs (running ones go on)',
            resume: 'Start jobs again; after a halt the failure rate counts afresh',
            cancel: 'Drop the queued jobs; running ones are followed to their end',
          }[action],
          params: NUM_PARAMS,
          response: { 200: FIRMWARE_ROLLOUT, ...errors(404, 409) },
        },
      },
      async (req) => rollouts[action](req.params.id),
    );
  }

  // ---------------------------------------------------------------- the download links

  app.route<{ Params: { imageId: string; expires: string; mac: string; name: string } }>({
    method: ['GET', 'HEAD'],
    url: '/firmware/:imageId/:expires/:mac/:name',
    exposeHeadRoute: false,
    schema: { hide: true },
    handler: async (req, reply) => serveImage(req, reply, service),
  });
}

async function serveImage(
  req: FastifyRequest<{ Params: { imageId: string; expires: string; mac: string } }>,
  reply: FastifyReply,
  service: FirmwareService,
): Promise<FastifyReply> {
  const { img, path } = await service.images.resolveLink(req.params.imageId, req.params.expires, req.params.mac);
  const range = parseRange(req.headers.range, img.size);
  reply
    .header('content-type', 'application/octet-stream')
    .header('accept-ranges', 'bytes')
    .header('etag', `"${img.sha256}"`)
    .header('cache-control', 'private, no-store')
    .header('x-firmware-version', img.version)
    .header('x-checksum-sha256', img.sha256)
    .header('content-disposition', `attachment; filename="${img.name}"`);
  if (range === null) {
    return reply
      .code(416)
      .header('content-range', `bytes */${img.size}`)
      .type('application/json')
      .send({
        error: { code: 'AMPERE_ERR_BAD_REQUEST', message: `Range not satisfiable (size ${img.size})`, details: null },
      });
  }
  const { start, end } = range ?? { start: 0, end: img.size - 1 };
  reply.header('content-length', String(end - start + 1));
  if (range) reply.code(206).header('content-range', `bytes ${start}-${end}/${img.size}`);
  if (req.method === 'HEAD') return reply.send();
  return reply.send(createReadStream(path, { start, end }));
}
