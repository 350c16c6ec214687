// The build `npm ci` runs (the `prepare` script) and `npm run build`: TypeScript compiled to plain
// JavaScript in dist/ (tsconfig.build.json), then the web console bundled into dist/console.
// Plain JavaScript itself, so it needs neither tsx nor a build to run.
// `--ui-only` (npm run build:ui, under tsx) bundles only the web console, from the sources.
// `--if-stale` builds only when dist/ is missing or older than some file under src/ (the bench and
// the test of the build use it, so they measure and test the current sources).
// The console's size is printed per file and the build fails when it exceeds its 150 KB budget.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const DIST = join(ROOT, 'dist');
/** Written last: bin/ampere.js runs dist/ only when this is newer than every source file. */
const STAMP = join(DIST, 'build-stamp');
/** Not tsc's: the console bundle, which its own step replaces. */
const KEEP = new Set(['console']);
const UI_BUDGET = 150 * 1024;

function fail(message) {
  console.error(`build: ${message}`);
  process.exit(1);
}

function compile() {
  let tsc;
  try {
    tsc = createRequire(import.meta.url).resolve('typescript/bin/tsc');
  } catch {
    const why = 'typescript (a development dependency) is not installed, so src/ cannot be compiled';
    // An install without development dependencies over an existing build keeps that build.
    if (existsSync(STAMP)) {
      console.log(`build: ${why}; keeping the build already in dist/`);
      return false;
    }
    fail(`${why}. Install with them (\`npm ci\`), then drop them with \`npm prune --omit=dev\` (see the README).`);
  }
  // Compiled beside dist/ and moved in folder by folder, so files of deleted sources do not linger.
  const tmp = join(ROOT, `dist.tmp-${process.pid}`);
  const r = spawnSync(process.execPath, [tsc, '-p', join(ROOT, 'tsconfig.build.json'), '--outDir', tmp], {
    stdio: 'inherit',
  });
  if (r.status !== 0) {
    rmSync(tmp, { recursive: true, force: true });
    fail('tsc failed');
  }
  rmSync(STAMP, { force: true });
  const fresh = new Set(readdirSync(tmp));
  mkdirSync(DIST, { recursive: true });
  for (const name of readdirSync(DIST))
    if (!KEEP.has(name) && !fresh.has(name)) rmSync(join(DIST, name), { recursive: true, force: true });
  for (const name of fresh) {
    rmSync(join(DIST, name), { recursive: true, force: true });
    renameSync(join(tmp, name), join(DIST, name));
  }
  rmSync(tmp, { recursive: true, force: true });
  console.log(`compiled src/ to dist/ (${fresh.size} entries)`);
  return true;
}

async function bundleUi(fromSource) {
  const { buildUi } = await import(fromSource ? '../src/ui/index.ts' : '../dist/ui/index.js');
  const b = await buildUi();
  for (const f of b.files)
    console.log(`${f.name.padEnd(40)} ${String(f.bytes).padStart(8)} B  ${String(f.gzipBytes).padStart(7)} B gzipped`);
  console.log(`web console: ${(b.gzipBytes / 1024).toFixed(1)} KB gzipped (budget ${UI_BUDGET / 1024} KB) in ${b.dir}`);
  if (b.gzipBytes > UI_BUDGET) fail('the web console is over its size budget');
}

function current() {
  if (!existsSync(STAMP)) return false;
  const src = join(ROOT, 'src');
  const newest = Math.max(...readdirSync(src, { recursive: true }).map((f) => statSync(join(src, f)).mtimeMs));
  return statSync(STAMP).mtimeMs >= newest;
}

/**
 * One build at a time per checkout (two test files may ask for one at once): a lock folder, made
 * atomically. Whoever waited re-checks whether the build it wanted is there now. A lock older than
 * ten minutes is from a build that died and is taken over.
 */
function lock() {
  const dir = join(ROOT, 'dist.lock');
  for (;;) {
    try {
      mkdirSync(dir);
      process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
      return;
    } catch (e) {
      if (e.code !== 'EEXIST') throw e;
      if (Date.now() - statSync(dir, { throwIfNoEntry: false })?.mtimeMs > 600_000)
        rmSync(dir, { force: true, recursive: true });
      else Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, 200);
    }
  }
}

const ifStale = process.argv.includes('--if-stale');
if (ifStale && current()) process.exit(0);
lock();
if (ifStale && current()) process.exit(0);
const uiOnly = process.argv.includes('--ui-only');
const compiled = !uiOnly && compile();
await bundleUi(uiOnly);
if (compiled) writeFileSync(STAMP, `${new Date().toISOString()}\n`);
