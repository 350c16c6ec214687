// Diagnostics: GetDiagnostics to Ampere's own upload endpoint (src/central/diagnostics.ts), the
// requests and their files, and the HTTP upload endpoint chargers PUT or POST to. The upload
// endpoint is outside /api/: a charger has no bearer token, only its request's one-time credential.
import { createReadStream } from 'node:fs';
import { pipeline } from 'node:stream/promises';
import type { FastifyInstance } from 'fastify';
import { type Diagnostics, type DiagnosticsRequestInput, HTTP_UPLOAD_PATH } from '../../central/index.ts';
import { type ApiContext, chargerOr404 } from '../context.ts';
import {
  CHARGER_ID_PARAMS,
  DIAGNOSTICS_ID_PARAMS,
  DIAGNOSTICS_INPUT,
  DIAGNOSTICS_LIST,
  DIAGNOSTICS_REQUEST,
  errors,
  query,
} from '../schemas.ts';

const TAG = ['diagnostics'];

export function diagnosticsRoutes(app: FastifyInstance, { central }: ApiContext, diagnostics: Diagnostics): void {
  app.post<{ Params: { id: string }; Body: DiagnosticsRequestInput }>(
    '/api/chargers/:id/diagnostics',
    {
      schema: {
        tags: TAG,
        summary:
          'Ask the charger for its diagnostics (GetDiagnostics), uploaded to Ampere by FTP or HTTP with a one-time credential that expires',
        params: CHARGER_ID_PARAMS,
        body: DIAGNOSTICS_INPUT,
        response: { 201: DIAGNOSTICS_REQUEST, ...errors(404, 409, 502, 504) },
      },
    },
    async (req, reply) => {
      await chargerOr404(central, req.params.id);
      const r = await diagnostics.request(req.params.id, req.body ?? {});
      reply.code(201);
      return r;
    },
  );

  app.get<{ Params: { id: string } }>(
    '/api/chargers/:id/diagnostics',
    {
      schema: {
        tags: TAG,
        summary: "The charger's diagnostics requests, newest first",
        params: CHARGER_ID_PARAMS,
        response: { 200: DIAGNOSTICS_LIST, ...errors(404) },
      },
    },
    async (req) => {
      await chargerOr404(central, req.params.id);
      return { items: await diagnostics.list(req.params.id) };
    },
  );

  app.get<{ Querystring: { limit?: number } }>(
    '/api/diagnostics',
    {
      schema: {
        tags: TAG,
        summary: 'Diagnostics requests of every charger, newest first',
        querystring: query({ limit: { type: 'integer', minimum: 1, maximum: 1000, default: 100 } }),
        response: { 200: DIAGNOSTICS_LIST, ...errors() },
      },
    },
    async (req) => ({ items: await diagnostics.list(undefined, req.query.limit ?? 100) }),
  );

  app.get<{ Params: { requestId: number } }>(
    '/api/diagnostics/:requestId',
    {
      schema: {
        tags: TAG,
        summary: 'One diagnostics request: status history and file',
        params: DIAGNOSTICS_ID_PARAMS,
        response: { 200: DIAGNOSTICS_REQUEST, ...errors(404) },
      },
    },
    async (req) => diagnostics.get(req.params.requestId),
  );

  app.get<{ Params: { requestId: number } }>(
    '/api/diagnostics/:requestId/file',
    {
      schema: {
        tags: TAG,
        summary: 'Download the file a charger uploaded',
        params: DIAGNOSTICS_ID_PARAMS,
        response: {
          200: { description: 'the file as uploaded', content: { 'application/octet-stream': { schema: {} } } },
          ...errors(404),
        },
      },
    },
    async (req, reply) => {
      const f = await diagnostics.file(req.params.requestId);
      return reply
        .type('application/octet-stream')
        .header('content-length', f.size)
        .header('content-disposition', `attachment; filename="${f.name}"`)
        .send(createReadStream(f.path));
    },
  );

  // The charger's upload: the body streams into the file as it comes, whatever its content type.
  app.register(async (upload) => {
    upload.removeAllContentTypeParsers();
    upload.addContentTypeParser('*', (_req, payload, done) => done(null, payload));
    const handler = async (
      req: { params: { requestId: string; token: string; '*'?: string }; body: unknown; raw: NodeJS.ReadableStream },
      reply: { code(n: number): { send(b: unknown): unknown } },
    ) => {
      const request = await diagnostics.authenticate(Number(req.params.requestId), req.params.token, 'http');
      const name = req.params['*'] || undefined;
      await pipeline((req.body as NodeJS.ReadableStream | undefined) ?? req.raw, diagnostics.openUpload(request, name));
      return reply.code(201).send({ requestId: request.id, received: true });
    };
    const schema = { hide: true };
    for (const url of [`${HTTP_UPLOAD_PATH}/:requestId/:token`, `${HTTP_UPLOAD_PATH}/:requestId/:token/*`]) {
      upload.route({ method: ['PUT', 'POST'], url, schema, handler: handler as never });
    }
  });
}
