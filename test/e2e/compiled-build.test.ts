// The shipped build (issue 14): `npm ci` compiles src/ to dist/ and `npm start` runs that build.
// Here the compiled server and the compiled simulator run as real processes through bin/ampere.js
// with a loader hook that fails any TypeScript file or tsx, so nothing here can fall back to the
// sources: a charger connects, boots and shows up in the operator API, and the web console and
// the API documentation page are served from the build.
import assert from 'node:assert/strict';
import { type ChildProcess, spawn, spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { after, before, describe, it } from 'node:test';
import { tempDir } from '../helpers/process.ts';
import { until } from '../helpers/wait.ts';

const TOKEN = 'compiled-build-token-0123456789abcdef01234';

// Registered with --import in every child: resolving a .ts file or anything of tsx throws.
const NO_TS_HOOK = `export async function resolve(specifier, context, next) {
  const r = await next(specifier, context);
  if (/\\.(ts|tsx|mts)$/.test(r.url) || r.url.includes('/node_modules/tsx/')) throw new Error('not compiled: ' + r.url);
  return r;
}`;
const NO_TS = `data:text/javascript,${encodeURIComponent(
  `import { register } from 'node:module'; register(${JSON.stringify(`data:text/javascript,${encodeURIComponent(NO_TS_HOOK)}`)});`,
)}`;

function ampere(args: string[], env: Record<string, string> = {}): ChildProcess {
  return spawn(process.execPath, ['--import', NO_TS, 'bin/ampere.js', ...args], {
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', AMPERE_FROM: 'dist', ...env },
  });
}

describe('the compiled build (dist/) through bin/ampere.js', () => {
  const children: ChildProcess[] = [];
  before(() => {
    // `npm ci` built it; a checkout whose sources changed since gets the same build first.
    const r = spawnSync(process.execPath, ['scripts/build.mjs', '--if-stale'], { encoding: 'utf8' });
    assert.equal(r.status, 0, `the build failed:\n${r.stdout}\n${r.stderr}`);
  });
  after(() => {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  });

  it('the no-TypeScript hook does stop the sources (so the test below means something)', () => {
    const r = spawnSync(process.execPath, ['--import', NO_TS, 'bin/ampere.js', '--version'], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '', AMPERE_FROM: 'src' },
    });
    assert.notEqual(r.status, 0);
    assert.match(r.stderr, /not compiled: .*(tsx|\.ts)/);
  });

  it("the SQLite store's writer thread starts from the build (it imports its own module)", () => {
    const file = join(tempDir(), 'writer.db');
    const script = `const { openSqliteStore } = await import(${JSON.stringify(new URL('../../dist/store/sqlite.js', import.meta.url).href)});
const s = await openSqliteStore({ file: ${JSON.stringify(file)}, writer: 'worker' });
process.stdout.write(String(s.writerThread));
await s.close();`;
    const r = spawnSync(process.execPath, ['--import', NO_TS, '--input-type=module', '-e', script], {
      encoding: 'utf8',
      env: { PATH: process.env.PATH ?? '' },
    });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, 'true');
  });

  it('serves a simulated charger and the operator API, with no TypeScript loaded', async () => {
    const server = ampere(
      ['serve', '--host', '127.0.0.1', '--port', '0', '--data', tempDir(), '--registration', 'open'],
      { AMPERE_API_TOKEN: TOKEN, AMPERE_LOG_LEVEL: 'warn' },
    );
    children.push(server);
    let serverErr = '';
    server.stderr!.on('data', (d) => {
      serverErr += d;
    });
    const url = await new Promise<string>((resolve, reject) => {
      createInterface({ input: server.stdout! }).once('line', (l) => resolve(l.trim()));
      server.once('exit', (code) => reject(new Error(`server exited (${code}): ${serverErr}`)));
    });
    assert.match(url, /^http:\/\/127\.0\.0\.1:\d+$/);

    const sim = ampere(['simulate', '--url', `${url.replace(/^http/, 'ws')}/ocpp`, '--id', 'DIST-1', '--quiet']);
    children.push(sim);
    let simErr = '';
    sim.stderr!.on('data', (d) => {
      simErr += d;
    });

    const api = async (path: string) => {
      const res = await fetch(`${url}${path}`, { headers: { authorization: `Bearer ${TOKEN}` } });
      return { status: res.status, type: res.headers.get('content-type') ?? '', body: await res.text() };
    };
    const charger = await until(async () => {
      const r = await api('/api/chargers?connected=true');
      const page = JSON.parse(r.body) as { items: { id: string; connected: boolean; vendor: string | null }[] };
      return page.items.find((c) => c.id === 'DIST-1' && c.vendor);
    }, 30_000).catch((e: Error) => {
      throw new Error(`${e.message}\nsimulator: ${simErr}\nserver: ${serverErr}`);
    });
    assert.equal(charger.connected, true);

    const doc = await api('/api/openapi.json');
    assert.equal(doc.status, 200);
    assert.equal((JSON.parse(doc.body) as { openapi: string }).openapi, '3.1.0');
    // The web console (dist/console) and the API documentation page (@fastify/swagger-ui's
    // static files, through @fastify/static) come from the same build.
    const page = await api('/');
    assert.equal(page.status, 200);
    assert.match(page.body, /<script[^>]+src="\/assets\/app-[^"]+\.js"/);
    const docs = await api('/api/docs/static/swagger-ui-bundle.js');
    assert.equal(docs.status, 200);
    assert.match(docs.type, /javascript/);

    sim.kill('SIGINT');
    server.kill('SIGTERM');
    const code = await new Promise<number | null>((resolve) => {
      if (server.exitCode !== null) resolve(server.exitCode);
      else server.once('exit', resolve);
    });
    assert.equal(code, 0, serverErr);
    assert.doesNotMatch(serverErr, /not compiled/);
  });
});
