// Id tags: the registry Authorize and StartTransaction consult. `*` accepts any unlisted tag.
import { parse } from 'csv-parse/sync';
import type { FastifyInstance } from 'fastify';
import { AmpereError } from '../../errors.ts';
import type { IdTagInput, IdTagRecord, IdTagStatus } from '../../store/types.ts';
import type { ApiContext } from '../context.ts';
import { defined, pageOf } from '../context.ts';
import {
  errors,
  ID_TAG,
  ID_TAG_CREATE,
  ID_TAG_PARAMS,
  ID_TAG_PATCH,
  ID_TAG_STATUS,
  PAGE_QUERY,
  page,
  query,
} from '../schemas.ts';

const TAG = ['id tags'];
const STATUSES = new Set<string>(ID_TAG_STATUS.enum);
const CSV_COLUMNS = ['idTag', 'status', 'expiryDate', 'parentIdTag', 'note'] as const;

function view(t: IdTagRecord) {
  const { smartPlan: _plan, ...rest } = t;
  return rest;
}

async function tagOr404(app: ApiContext, idTag: string): Promise<IdTagRecord> {
  const t = await app.central.store.getIdTag(idTag);
  if (!t) throw new AmpereError('AMPERE_ERR_NOT_FOUND', `No id tag "${idTag}"`, { idTag });
  return t;
}

/**
 * CSV with a header row naming any of idTag, status, expiryDate, parentIdTag, note (idTag
 * required). Empty cells mean "not set". Every row is checked before anything is written.
 */
export function parseIdTagCsv(text: string): IdTagInput[] {
  let rows: Record<string, string>[];
  try {
    rows = parse(text, { columns: true, skip_empty_lines: true, trim: true, bom: true, comment: '#' });
  } catch (e) {
    throw new AmpereError('AMPERE_ERR_BAD_REQUEST', `CSV: ${(e as Error).message}`, { field: 'body' });
  }
  const out: IdTagInput[] = [];
  rows.forEach((row, i) => {
    const line = i + 2; // the header is line 1
    const bad = (column: string, why: string) =>
      new AmpereError('AMPERE_ERR_BAD_REQUEST', `CSV line ${line}: ${column} ${why}`, {
        field: `body.${column}`,
        line,
      });
    for (const k of Object.keys(row)) {
      if (!(CSV_COLUMNS as readonly string[]).includes(k))
        throw bad(k, `is not a column (use ${CSV_COLUMNS.join(', ')})`);
    }
    const idTag = row.idTag ?? '';
    if (idTag === '' || idTag.length > 20) throw bad('idTag', 'must be 1 to 20 characters');
    const tag: IdTagInput = { idTag };
    if (row.status) {
      if (!STATUSES.has(row.status)) throw bad('status', `must be one of ${[...STATUSES].join(', ')}`);
      tag.status = row.status as IdTagStatus;
    }
    if (row.expiryDate) {
      if (Number.isNaN(Date.parse(row.expiryDate))) throw bad('expiryDate', 'is not an ISO 8601 time');
      tag.expiryDate = row.expiryDate;
    }
    if (row.parentIdTag) {
      if (row.parentIdTag.length > 20) throw bad('parentIdTag', 'must be at most 20 characters');
      tag.parentIdTag = row.parentIdTag;
    }
    if (row.note) tag.note = row.note;
    out.push(tag);
  });
  return out;
}

export function idTagRoutes(app: FastifyInstance, ctx: ApiContext): void {
  const store = ctx.central.store;
  const now = () => ctx.central.clock.now();

  app.addContentTypeParser(
    ['text/csv', 'text/plain'],
    { parseAs: 'string', bodyLimit: 16 * 1024 * 1024 },
    (_req, body, done) => done(null, body),
  );

  app.get<{ Querystring: { status?: IdTagStatus; search?: string; limit?: number; offset?: number } }>(
    '/api/id-tags',
    {
      schema: {
        tags: TAG,
        summary: 'List id tags',
        querystring: query({
          status: ID_TAG_STATUS,
          search: { type: 'string', description: 'substring, any case' },
          ...PAGE_QUERY,
        }),
        response: { 200: page(ID_TAG), ...errors() },
      },
    },
    async (req) => {
      const p = await store.listIdTags(defined({ ...req.query }));
      return pageOf({ ...p, items: p.items.map(view) }, req.query);
    },
  );

  app.post<{ Body: IdTagInput }>(
    '/api/id-tags',
    {
      schema: {
        tags: TAG,
        summary: 'Create an id tag (`*` = accept any tag not listed)',
        body: ID_TAG_CREATE,
        response: { 201: ID_TAG, ...errors(409) },
      },
    },
    async (req, reply) => {
      if (await store.getIdTag(req.body.idTag)) {
        throw new AmpereError('AMPERE_ERR_CONFLICT', `Id tag "${req.body.idTag}" already exists`, {
          idTag: req.body.idTag,
        });
      }
      reply.code(201);
      return view(await store.upsertIdTag(req.body, now()));
    },
  );

  app.post<{ Body: string }>(
    '/api/id-tags/import',
    {
      schema: {
        tags: TAG,
        summary: 'Bulk import (create or update) from CSV with a header row: idTag,status,expiryDate,parentIdTag,note',
        consumes: ['text/csv'],
        body: { type: 'string', description: 'CSV text' },
        response: {
          200: {
            type: 'object',
            properties: { imported: { type: 'integer' } },
            required: ['imported'],
            additionalProperties: false,
          },
          ...errors(),
        },
      },
    },
    async (req) => {
      const tags = parseIdTagCsv(req.body);
      const imported = tags.length > 0 ? await store.upsertIdTags(tags, now()) : 0;
      return { imported };
    },
  );

  app.get<{ Params: { idTag: string } }>(
    '/api/id-tags/:idTag',
    {
      schema: {
        tags: TAG,
        summary: 'One id tag (case-insensitive)',
        params: ID_TAG_PARAMS,
        response: { 200: ID_TAG, ...errors(404) },
      },
    },
    async (req) => view(await tagOr404(ctx, req.params.idTag)),
  );

  app.patch<{ Params: { idTag: string }; Body: Omit<IdTagInput, 'idTag'> }>(
    '/api/id-tags/:idTag',
    {
      schema: {
        tags: TAG,
        summary: 'Change status, expiry, parent tag or note',
        params: ID_TAG_PARAMS,
        body: ID_TAG_PATCH,
        response: { 200: ID_TAG, ...errors(404) },
      },
    },
    async (req) => {
      const existing = await tagOr404(ctx, req.params.idTag);
      return view(await store.upsertIdTag({ ...req.body, idTag: existing.idTag }, now()));
    },
  );

  app.delete<{ Params: { idTag: string } }>(
    '/api/id-tags/:idTag',
    {
      schema: {
        tags: TAG,
        summary: 'Delete an id tag',
        params: ID_TAG_PARAMS,
        response: { 204: { type: 'null', description: 'Deleted' }, ...errors(404) },
      },
    },
    async (req, reply) => {
      if (!(await store.deleteIdTag(req.params.idTag))) {
        throw new AmpereError('AMPERE_ERR_NOT_FOUND', `No id tag "${req.params.idTag}"`, { idTag: req.params.idTag });
      }
      reply.code(204);
    },
  );
}
