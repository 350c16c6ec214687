#!/usr/bin/env node
// Entry point. Runs the compiled build (dist/, made by `npm ci` / `npm run build`) when it is at
// least as new as the sources, so `npm start` and `ampere …` load plain JavaScript. From a
// checkout whose src/ was edited after the last build, it runs the sources through tsx (a
// development dependency) instead, so a developer never runs stale code; without tsx it runs the
// older build and says so. AMPERE_FROM=dist or AMPERE_FROM=src forces one of the two.
import { existsSync, readdirSync, statSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const root = new URL('../', import.meta.url);
const stamp = new URL('dist/build-stamp', root);
const from = process.env.AMPERE_FROM;

/** Newest modification time under src/, skipping the browser code (the server rebuilds that itself). */
function newestSource(dir) {
  let t = 0;
  for (const f of readdirSync(dir, { recursive: true })) {
    if (!f.startsWith('ui/app')) t = Math.max(t, statSync(`${dir}${f}`).mtimeMs);
  }
  return t;
}

function hasTsx() {
  try {
    import.meta.resolve('tsx/esm/api');
    return true;
  } catch {
    return false;
  }
}

async function runSource() {
  const { register } = await import('tsx/esm/api');
  register();
  await import('../src/cli/main.ts');
}

if (from !== undefined && from !== 'dist' && from !== 'src') {
  process.stderr.write(`ampere: AMPERE_FROM must be dist or src, got "${from}"\n`);
  process.exit(2);
}
const built = existsSync(stamp);
const sources = fileURLToPath(new URL('src/', root));
const stale = built && from !== 'dist' && existsSync(sources) && statSync(stamp).mtimeMs < newestSource(sources);

if (from === 'src' || (from === undefined && (!built || stale) && hasTsx())) {
  await runSource();
} else if (built) {
  if (stale) process.stderr.write('ampere: dist/ is older than src/; running it anyway (`npm run build` updates it)\n');
  await import('../dist/cli/main.js');
} else {
  process.stderr.write(
    'ampere: no build in dist/ and no tsx to run the sources: run `npm ci` (or `npm run build`) in the package folder\n',
  );
  process.exit(1);
}
