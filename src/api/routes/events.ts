// The live event stream: Server-Sent Events from the central system's event bus, filterable by
// charger and type, resumable with Last-Event-ID from the bus's bounded buffer.
import type { FastifyInstance } from 'fastify';
import type { CentralEvent } from '../../central/index.ts';
import type { ApiContext } from '../context.ts';
import { EVENT, errors, query } from '../schemas.ts';

export interface EventStreams {
  /** Ends every open stream (server shutdown). */
  closeAll(): void;
}

const KEEPALIVE_MS = 15_000;

function frame(e: CentralEvent): string {
  return `id: ${e.id}\nevent: ${e.type}\ndata: ${JSON.stringify(e)}\n\n`;
}

export function eventRoutes(app: FastifyInstance, { eventLog }: ApiContext): EventStreams {
  const open = new Set<() => void>();

  app.get<{ Querystring: { chargerId?: string[]; type?: string[]; lastEventId?: number } }>(
    '/api/events',
    {
      schema: {
        tags: ['events'],
        summary:
          'Server-Sent Events: connections, boots, status, transactions, meter values, commands, CALLERRORs. ' +
          'Each message has `id`, `event` (the type) and `data` (the event as JSON). Resume with the Last-Event-ID header; ' +
          'an `event: gap` message says some events were no longer buffered.',
        querystring: query({
          chargerId: {
            type: 'array',
            items: { type: 'string' },
            description: 'only these chargers (repeat or comma-separate)',
          },
          type: {
            type: 'array',
            items: { type: 'string' },
            description: 'only these event types, e.g. transaction.started',
          },
          lastEventId: {
            type: 'integer',
            minimum: 0,
            description: 'resume after this id (same as the Last-Event-ID header)',
          },
        }),
        headers: {
          type: 'object',
          properties: { 'last-event-id': { type: 'integer', minimum: 0 } },
        },
        response: {
          200: {
            description: 'text/event-stream; every `data:` line is one event',
            content: { 'text/event-stream': { schema: EVENT } },
          },
          ...errors(),
        },
      },
    },
    async (req, reply) => {
      const split = (v?: string[]) => (v ?? []).flatMap((s) => s.split(',')).filter((s) => s !== '');
      const chargers = new Set(split(req.query.chargerId));
      const types = new Set(split(req.query.type));
      const wanted = (e: CentralEvent) =>
        (chargers.size === 0 || (e.chargerId !== null && chargers.has(e.chargerId))) &&
        (types.size === 0 || types.has(e.type));
      const header = req.headers['last-event-id'] as unknown as number | undefined;
      const resumeFrom = header ?? req.query.lastEventId;

      reply.hijack();
      const res = reply.raw;
      res.writeHead(200, {
        'content-type': 'text/event-stream; charset=utf-8',
        'cache-control': 'no-cache, no-transform',
        connection: 'keep-alive',
        'x-accel-buffering': 'no',
      });
      res.write(': ampere events\nretry: 2000\n\n');
      // Subscribe before replaying, and drop duplicates, so no event falls between the two. The
      // history may come from the database (several nodes): live events wait until it is sent.
      let lastSent = resumeFrom ?? eventLog.lastId;
      let held: CentralEvent[] | undefined = resumeFrom !== undefined ? [] : undefined;
      const send = (e: CentralEvent) => {
        if (held) {
          held.push(e);
          return;
        }
        if (e.id <= lastSent) return;
        lastSent = e.id;
        if (wanted(e)) res.write(frame(e));
      };
      const unwatch = eventLog.watch?.();
      const unsubscribe = eventLog.subscribe(send);
      if (resumeFrom !== undefined) {
        const { events, complete } = await eventLog.since(resumeFrom);
        if (!complete) {
          const oldest = events[0]?.id ?? eventLog.lastId + 1;
          res.write(`event: gap\ndata: ${JSON.stringify({ from: resumeFrom + 1, to: oldest - 1 })}\n\n`);
        }
        lastSent = resumeFrom;
        const live = held ?? [];
        held = undefined;
        for (const e of events) send(e);
        for (const e of live) send(e);
      }
      const keepalive = setInterval(() => res.write(': keepalive\n\n'), KEEPALIVE_MS);
      keepalive.unref();
      const end = () => {
        clearInterval(keepalive);
        unsubscribe();
        unwatch?.();
        open.delete(end);
        if (!res.writableEnded) res.end();
      };
      open.add(end);
      req.raw.on('close', end);
    },
  );

  return {
    closeAll() {
      for (const end of [...open]) end();
    },
  };
}
