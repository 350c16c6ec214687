// Several `ampere serve` nodes on one fresh PostgreSQL database behind HAProxy in TCP mode, for the
// cluster's end-to-end tests (and anyone's failover test): real processes, real sockets, port 0.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import pg from 'pg';
import { freePort, type ServerProcess, spawnServer, tempDir } from './process.ts';
import { until } from './wait.ts';

export const HAPROXY = '/usr/sbin/haproxy';

/** AMPERE_TEST_PG_URL, or undefined (the tests then fail in CI and skip elsewhere). */
export function pgBaseUrl(): string | undefined {
  const url = process.env.AMPERE_TEST_PG_URL;
  return url === undefined || url === '' ? undefined : url;
}

/** Without a database: fails in CI (.ci/run provides one), skips on a developer's machine. */
export function needsPostgres(suite: string): void {
  describe(suite, () => {
    it('needs AMPERE_TEST_PG_URL', (t) => {
      if (process.env.CI) assert.fail('AMPERE_TEST_PG_URL is not set: .ci/run provides it');
      t.skip('AMPERE_TEST_PG_URL is not set');
    });
  });
}

export interface FreshDatabase {
  url: string;
  name: string;
  /** Runs one query on the database (a short-lived connection). */
  query<T = any>(sql: string, params?: unknown[]): Promise<T[]>;
  drop(): Promise<void>;
}

let databases = 0;

/** A new, empty database next to the one in `baseUrl` (the role needs CREATEDB). */
export async function freshDatabase(baseUrl: string): Promise<FreshDatabase> {
  const name = `ampere_c${process.pid}_${Date.now().toString(36)}_${databases++}`;
  const admin = new pg.Client({ connectionString: baseUrl });
  await admin.connect();
  try {
    await admin.query(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const u = new URL(baseUrl);
  u.pathname = `/${name}`;
  const url = u.toString();
  return {
    url,
    name,
    async query(sql, params = []) {
      const c = new pg.Client({ connectionString: url });
      await c.connect();
      try {
        return (await c.query(sql, params)).rows;
      } finally {
        await c.end();
      }
    },
    async drop() {
      const c = new pg.Client({ connectionString: baseUrl });
      await c.connect();
      try {
        await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await c.end();
      }
    },
  };
}

export interface Haproxy {
  port: number;
  /** ws://127.0.0.1:PORT */
  wsUrl: string;
  config: string;
  stop(): Promise<void>;
}

/**
 * HAProxy in TCP mode in front of `backends`, configured as the README's example (the one users
 * copy): the same settings, with this test's port and backends in place of the example's.
 */
export async function startHaproxy(backends: readonly number[], opts: { maxconn?: number } = {}): Promise<Haproxy> {
  const port = await freePort();
  const config = haproxyConfig(port, backends, opts.maxconn ?? 2000);
  const dir = tempDir('ampere-haproxy-');
  const file = join(dir, 'haproxy.cfg');
  writeFileSync(file, config);
  const proc = spawn(HAPROXY, ['-db', '-f', file], { stdio: ['ignore', 'ignore', 'pipe'] });
  let err = '';
  proc.stderr!.on('data', (d) => {
    err += d;
  });
  const exited = new Promise<void>((resolve) => proc.once('exit', () => resolve()));
  await until(async () => {
    if (proc.exitCode !== null) throw new Error(`haproxy exited: ${err}`);
    return (await canConnect(port)) ? true : undefined;
  }, 10_000);
  return {
    port,
    wsUrl: `ws://127.0.0.1:${port}`,
    config,
    async stop() {
      if (proc.exitCode === null) proc.kill('SIGKILL');
      await exited;
    },
  };
}

export function haproxyConfig(port: number, backends: readonly number[], maxconn: number): string {
  const example = readmeHaproxyExample();
  const servers = example.match(/^\s+server \S+ \S+(.*)$/gm) ?? [];
  const options = /^\s+server \S+ \S+(.*)$/.exec(servers[0] ?? '')?.[1] ?? ' check';
  const lines = example
    .split('\n')
    .filter((l) => !/^\s+server /.test(l))
    .map((l) =>
      l.replace(/^(\s+)maxconn \d+$/, `$1maxconn ${maxconn}`).replace(/^(\s+)bind \S+$/, `$1bind 127.0.0.1:${port}`),
    );
  return `${lines.join('\n').trimEnd()}\n${backends.map((p, i) => `  server node${i} 127.0.0.1:${p}${options}`).join('\n')}\n`;
}

/** The HAProxy configuration block of README.md ("Several nodes on PostgreSQL"). */
export function readmeHaproxyExample(): string {
  const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
  const block = /```haproxy\n([\s\S]*?)```/.exec(readme);
  if (!block) throw new Error('README.md has no ```haproxy block');
  return block[1]!;
}

function canConnect(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    import('node:net').then(({ connect }) => {
      const s = connect(port, '127.0.0.1');
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
  });
}

export interface ClusterNodeProcess extends ServerProcess {
  nodeId: string;
  port: number;
  /** GET/POST on this node's API with the operator token; the parsed JSON and the status. */
  api<T = any>(path: string, init?: RequestInit): Promise<{ status: number; body: T }>;
}

export interface StartNodesOptions {
  token: string;
  /** Extra `ampere serve` flags for every node. */
  args?: string[];
}

/** `count` nodes (node-a, node-b, …) on one database, each with its own --data directory. */
export async function startNodes(dbUrl: string, count: number, o: StartNodesOptions): Promise<ClusterNodeProcess[]> {
  const names = Array.from({ length: count }, (_, i) => `node-${String.fromCharCode(97 + i)}`);
  return Promise.all(names.map((nodeId) => startNode(dbUrl, nodeId, o)));
}

export async function startNode(dbUrl: string, nodeId: string, o: StartNodesOptions): Promise<ClusterNodeProcess> {
  const server = await spawnServer(
    ['--db', dbUrl, '--node-id', nodeId, '--registration', 'open', '--host', '127.0.0.1', ...(o.args ?? [])],
    { env: { AMPERE_API_TOKEN: o.token } },
  );
  const port = Number(new URL(server.url).port);
  return {
    ...server,
    nodeId,
    port,
    async api(path, init = {}) {
      const res = await fetch(`${server.url}${path}`, {
        ...init,
        headers: { authorization: `Bearer ${o.token}`, 'content-type': 'application/json', ...init.headers },
      });
      const text = await res.text();
      return { status: res.status, body: text === '' ? undefined : JSON.parse(text) };
    },
  };
}

/** Stops what is still running (for `after` hooks): nodes by SIGKILL, HAProxy, then the database. */
export async function tearDown(parts: {
  nodes?: readonly ServerProcess[];
  haproxy?: Haproxy | undefined;
  db?: FreshDatabase | undefined;
  procs?: readonly ChildProcess[];
}): Promise<void> {
  for (const p of parts.procs ?? []) if (p.exitCode === null) p.kill('SIGKILL');
  await Promise.all((parts.nodes ?? []).map((n) => (n.proc.exitCode === null ? n.kill() : undefined)));
  await parts.haproxy?.stop();
  await parts.db?.drop().catch(() => {});
}
