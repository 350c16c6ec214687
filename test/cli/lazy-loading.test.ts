// Issue 14: the CLI loads only what a command needs. `ampere help` and the API-client commands
// must not load the server (fastify, the stores, the central system), and `ampere serve` must not
// load what only some configurations use (pg, the MQTT and KNX libraries, the X.509 toolkit).
// Each command runs from the compiled build with a module hook that reports every module
// imported; the start times themselves are measured by `npm run bench -- --only start`.
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { before, describe, it } from 'node:test';
import { tempDir } from '../helpers/process.ts';

// Registered with --import: prints each module the process resolves as "LOADED url" to stderr.
const REPORT_HOOK = `import { writeSync } from 'node:fs';
export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  writeSync(2, 'LOADED ' + r.url + '\\n');
  return r;
}`;
const REPORT = `data:text/javascript,${encodeURIComponent(
  `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(REPORT_HOOK)}`)});`,
)}`;

const SERVER_PACKAGES = ['fastify', 'better-sqlite3', 'pg', 'ws', 'pino'];
const OPTIONAL_PACKAGES = ['pg', 'mqtt', 'aedes', 'knxultimate', '@peculiar/x509', 'reflect-metadata'];

/** The npm packages and our own rooms (dist/ROOM/) a run of `ampere ARGS` loaded. */
function loaded(stderr: string): { packages: Set<string>; rooms: Set<string> } {
  const packages = new Set<string>();
  const rooms = new Set<string>();
  for (const line of stderr.split('\n')) {
    if (!line.startsWith('LOADED ')) continue;
    const pkg = /node_modules\/((?:@[^/]+\/)?[^/]+)\//.exec(line);
    if (pkg) packages.add(pkg[1]!);
    const room = /\/dist\/([^/]+)\//.exec(line);
    if (room) rooms.add(room[1]!);
  }
  return { packages, rooms };
}

const env = { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', AMPERE_FROM: 'dist' };

function run(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', REPORT, 'bin/ampere.js', ...args], { encoding: 'utf8', env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('the CLI loads only what a command needs', () => {
  before(() => {
    const r = spawnSync(process.execPath, ['scripts/build.mjs', '--if-stale'], { encoding: 'utf8' });
    assert.equal(r.status, 0, `the build failed:\n${r.stdout}\n${r.stderr}`);
  });

  it('the hook sees what a command loads (so the checks below mean something)', () => {
    const { rooms } = loaded(run(['help']).stderr);
    assert.ok(rooms.has('cli'), 'the CLI itself');
    assert.ok(rooms.has('config'), 'the serve flags for the usage text');
  });

  for (const args of [['help'], ['--version'], ['chargers', '--help'], ['tx', '--help']]) {
    it(`ampere ${args.join(' ')} loads no server part`, () => {
      const r = run(args);
      assert.equal(r.code, 0, r.stderr.replace(/^LOADED .*\n/gm, ''));
      const { packages, rooms } = loaded(r.stderr);
      for (const p of SERVER_PACKAGES) assert.ok(!packages.has(p), `${p} was loaded`);
      for (const room of ['app', 'api', 'central', 'store', 'bridge', 'smart', 'ocpp'])
        assert.ok(!rooms.has(room), `src/${room} was loaded`);
    });
  }

  it('ampere serve on SQLite without a bridge loads none of pg, mqtt, aedes, knxultimate, @peculiar/x509', async () => {
    const p = spawn(
      process.execPath,
      ['--import', REPORT, 'bin/ampere.js', 'serve', '--host', '127.0.0.1', '--port', '0', '--data', tempDir()],
      {
        env: { ...env, AMPERE_API_TOKEN: 'lazy-loading-token-0123456789abcdef012345' },
        stdio: ['ignore', 'pipe', 'pipe'],
      },
    );
    let stderr = '';
    p.stderr.on('data', (d) => {
      stderr += d;
    });
    await new Promise<void>((resolve, reject) => {
      let out = '';
      p.stdout.on('data', (d) => {
        out += d;
        if (out.includes('\n')) resolve();
      });
      p.once('exit', (code) => reject(new Error(`serve exited (${code}): ${stderr}`)));
    });
    p.kill('SIGTERM');
    await new Promise((resolve) => p.once('exit', resolve));
    const { packages, rooms } = loaded(stderr);
    assert.ok(packages.has('fastify') && rooms.has('central'), 'the server itself was loaded');
    for (const name of OPTIONAL_PACKAGES) assert.ok(!packages.has(name), `${name} was loaded`);
  });
});
