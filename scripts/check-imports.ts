// Enforces the room directions of docs/architecture.md: which folder under src/ may import which.
// Run by `npm test`; a violation names the file, the import and the rule.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';

// src/errors.ts is a leaf (imports nothing) shared by every room: the one AMPERE_ERR_* registry.
const SHARED = new Set(['errors.ts']);
const ALLOWED: Record<string, string[]> = {
  ocpp: [],
  smart: [],
  store: [],
  config: [],
  central: ['ocpp', 'smart', 'store'],
  api: ['central', 'ocpp', 'smart', 'store'],
  bridge: ['central', 'ocpp'],
  ui: [],
  chargepoint: ['ocpp'],
  app: ['ocpp', 'central', 'smart', 'store', 'api', 'bridge', 'config', 'chargepoint', 'ui'],
  cli: ['app', 'chargepoint', 'config', 'ocpp'],
};

function files(dir: string, out: string[] = []): string[] {
  for (const name of readdirSync(dir)) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) {
      if (name !== 'node_modules' && name !== 'dist') files(p, out);
    } else if (/\.(ts|tsx|mts)$/.test(name)) out.push(p);
  }
  return out;
}

const root = resolve('src');
const problems: string[] = [];
for (const file of files(root)) {
  const room = relative(root, file).split('/')[0]!;
  const text = readFileSync(file, 'utf8');
  for (const m of text.matchAll(
    /(?:import|export)\s[^'"]*?from\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/g,
  )) {
    const spec = m[1] ?? m[2]!;
    if (!spec.startsWith('.')) continue;
    const target = relative(root, resolve(dirname(file), spec));
    if (target.startsWith('..')) {
      problems.push(`${relative('.', file)}: imports ${spec}, outside src/`);
      continue;
    }
    const parts = target.split('/');
    const targetRoom = parts.length === 1 ? '' : parts[0]!;
    if (targetRoom === '' && SHARED.has(parts[0]!)) continue;
    if (targetRoom === room) continue;
    const allowed = ALLOWED[room];
    if (!allowed) {
      problems.push(`${relative('.', file)}: room "${room}" is not in the layout of docs/architecture.md`);
    } else if (!allowed.includes(targetRoom)) {
      problems.push(`${relative('.', file)}: imports ${spec}; ${room}/ may import only [${allowed.join(', ')}]`);
    }
  }
}
if (problems.length > 0) {
  console.error(`Import directions violated (docs/architecture.md):\n${problems.join('\n')}`);
  process.exit(1);
}
