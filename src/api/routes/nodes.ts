// The nodes of a deployment: on PostgreSQL every `ampere serve` registers with a heartbeat
// (src/central/cluster); on SQLite the one process is the only node.
import type { FastifyInstance } from 'fastify';
import type { NodeRecord } from '../../store/cluster.ts';
import { errors } from '../schemas.ts';

/** Lists the nodes, from the database on PostgreSQL. */
export type NodesPort = () => Promise<NodeRecord[]>;

const time = { type: 'string', format: 'date-time' } as const;
const NODE = {
  type: 'object',
  properties: {
    id: { type: 'string' },
    address: { type: ['string', 'null'], description: 'host:port the node listens on' },
    startedAt: time,
    heartbeatAt: { ...time, description: 'last heartbeat written' },
    alive: { type: 'boolean', description: 'false once declared dead (no heartbeat for the dead timeout) or stopped' },
    stoppedAt: { type: ['string', 'null'], format: 'date-time' },
    chargers: { type: 'integer', description: 'chargers whose connection the node holds' },
  },
  required: ['id', 'address', 'startedAt', 'heartbeatAt', 'alive', 'stoppedAt', 'chargers'],
} as const;

export function nodeRoutes(app: FastifyInstance, nodes: NodesPort): void {
  app.get(
    '/api/nodes',
    {
      schema: {
        tags: ['nodes'],
        summary: 'The nodes sharing the database: heartbeat, alive or dead, chargers held',
        response: {
          200: { type: 'object', properties: { items: { type: 'array', items: NODE } }, required: ['items'] },
          ...errors(),
        },
      },
    },
    async () => ({ items: await nodes() }),
  );
}
