// `ampere nodes`: the nodes of a deployment on PostgreSQL (GET /api/nodes), with their heartbeats
// and the chargers each holds. On SQLite the one server is the only node.
import type { NodeRecord } from '../app/server.ts';
import { type OperatorCommand, operatorUsage, runCommands, table } from './operator.ts';

/** One node as GET /api/nodes answers (src/api/routes/nodes.ts). */
export type NodeView = NodeRecord;

const stamp = (iso: string | null) => (iso === null ? null : iso.replace('T', ' ').replace(/\.\d{3}Z$/, 'Z'));

export const NODE_COMMANDS: readonly OperatorCommand[] = [
  {
    name: 'nodes',
    summary: 'the nodes sharing the database: address, started, last heartbeat, alive or dead, chargers held',
    async run(c) {
      const { items } = await c.call('GET /api/nodes', {});
      if (c.config.json) {
        c.out(JSON.stringify(items, null, 2));
        return;
      }
      c.out(
        table(
          ['NODE', 'ADDRESS', 'STARTED', 'HEARTBEAT', 'STATE', 'CHARGERS'],
          items.map((n) => [
            n.id,
            n.address,
            stamp(n.startedAt),
            stamp(n.heartbeatAt),
            n.alive ? 'alive' : n.stoppedAt ? 'stopped' : 'dead',
            n.chargers,
          ]),
          c.config.columns,
        ),
      );
    },
  },
];

export const NODES_USAGE = operatorUsage(NODE_COMMANDS).split('\n')[1]!;

export function runNodesCommand(
  argv: readonly string[],
  env: Readonly<Record<string, string | undefined>>,
  columns?: number,
): Promise<number> {
  return runCommands(NODE_COMMANDS, 'nodes', argv, env, columns);
}
