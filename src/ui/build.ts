// Builds the web console into static files: one script and one style sheet with content hashes
// in their names, and the page that loads them. esbuild does the bundling (Preact, uPlot, our
// TSX); `npm ci` runs this through the `prepare` script and `ampere serve` runs it when the
// bundle is missing or older than its sources, so there is nothing to build by hand.
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

// The package root is two levels up both from src/ui/ and from the compiled dist/ui/.
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
/** The console's sources (browser code). */
export const UI_SOURCE = join(root, 'src', 'ui', 'app');
/** Where the built console goes: dist/console at the package root (git-ignored); dist/ui holds
 * this module compiled. */
export const UI_DIST = join(root, 'dist', 'console');

export interface UiBuild {
  dir: string;
  files: { name: string; bytes: number; gzipBytes: number }[];
  /** Everything the browser loads, gzipped. */
  gzipBytes: number;
}

function newest(dir: string): number {
  let t = 0;
  for (const e of readdirSync(dir, { withFileTypes: true })) {
    const p = join(dir, e.name);
    t = Math.max(t, e.isDirectory() ? newest(p) : statSync(p).mtimeMs);
  }
  return t;
}

/** True when dist/ui has no page or a source is newer than it. */
export function uiNeedsBuild(outDir = UI_DIST, srcDir = UI_SOURCE): boolean {
  try {
    return statSync(join(outDir, 'index.html')).mtimeMs < newest(srcDir);
  } catch {
    return true;
  }
}

export async function buildUi(outDir = UI_DIST, srcDir = UI_SOURCE): Promise<UiBuild> {
  const { build } = await import('esbuild');
  // Built beside the target and renamed into place: a server starting meanwhile sees the old
  // bundle or the new one, never half of one (two builds at once each rename a whole folder).
  const tmp = `${outDir}.tmp-${process.pid}-${Date.now()}`;
  mkdirSync(join(tmp, 'assets'), { recursive: true });
  try {
    const result = await build({
      entryPoints: { app: join(srcDir, 'main.tsx') },
      bundle: true,
      format: 'esm',
      target: ['es2020', 'chrome100', 'firefox100', 'safari15'],
      minify: true,
      jsx: 'automatic',
      jsxImportSource: 'preact',
      outdir: join(tmp, 'assets'),
      entryNames: '[name]-[hash]',
      assetNames: '[name]-[hash]',
      metafile: true,
      legalComments: 'none',
      logLevel: 'silent',
      write: true,
    });
    const outputs = Object.keys(result.metafile.outputs).map((p) => relative(tmp, p));
    const script = outputs.find((p) => p.endsWith('.js'));
    const style = outputs.find((p) => p.endsWith('.css'));
    if (!script || !style) throw new Error(`esbuild produced ${outputs.join(', ')}`);
    const page = readFileSync(join(srcDir, 'index.html'), 'utf8')
      .replace('%SCRIPT%', `/${script}`)
      .replace('%STYLE%', `/${style}`);
    writeFileSync(join(tmp, 'index.html'), page);
    rmSync(outDir, { recursive: true, force: true });
    mkdirSync(dirname(outDir), { recursive: true });
    renameSync(tmp, outDir);
  } catch (e) {
    rmSync(tmp, { recursive: true, force: true });
    throw e;
  }
  return describeUi(outDir);
}

/** Sizes of the built files, raw and gzipped (the budget is 150 KB gzipped for the whole UI). */
export function describeUi(outDir = UI_DIST): UiBuild {
  const files: UiBuild['files'] = [];
  const walk = (sub: string) => {
    for (const e of readdirSync(join(outDir, sub), { withFileTypes: true })) {
      const rel = sub === '' ? e.name : `${sub}/${e.name}`;
      if (e.isDirectory()) walk(rel);
      else {
        const body = readFileSync(join(outDir, rel));
        files.push({ name: rel, bytes: body.length, gzipBytes: gzipSync(body, { level: 9 }).length });
      }
    }
  };
  walk('');
  return { dir: outDir, files, gzipBytes: files.reduce((s, f) => s + f.gzipBytes, 0) };
}

/** The console folder to serve, built first when missing or stale; null and why when that failed. */
export async function ensureUi(outDir = UI_DIST): Promise<{ dir: string | null; problem?: string; built: boolean }> {
  if (!uiNeedsBuild(outDir)) return { dir: outDir, built: false };
  try {
    await buildUi(outDir);
    return { dir: outDir, built: true };
  } catch (e) {
    try {
      statSync(join(outDir, 'index.html'));
      return { dir: outDir, built: false, problem: `rebuild failed: ${(e as Error).message}` };
    } catch {
      return { dir: null, built: false, problem: `building it failed: ${(e as Error).message}` };
    }
  }
}
