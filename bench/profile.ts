// Summarise a V8 .cpuprofile (node --cpu-prof): self time by function and by area of the code.
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

interface ProfileNode {
  id: number;
  callFrame: { functionName: string; url: string; lineNumber: number; columnNumber: number };
  hitCount?: number;
}
interface CpuProfile {
  nodes: ProfileNode[];
  startTime: number;
  endTime: number;
  samples?: number[];
  timeDeltas?: number[];
}

export interface ProfileEntry {
  name: string;
  ms: number;
  pct: number;
}
export interface ProfileSummary {
  file: string;
  totalMs: number;
  /** Busy = total minus (idle). */
  busyMs: number;
  functions: ProfileEntry[];
  areas: ProfileEntry[];
}

// tsx runs TypeScript minified onto one line, so profile positions say ":1". Its transform cache
// (a JSON {code, map} per file under $TMPDIR/tsx-UID) holds the source map to get the real line.
type LineMap = { line: number; col: number; srcLine: number }[];
const lineMaps = new Map<string, LineMap | null>();

function tsxCacheMap(file: string): LineMap | null {
  const uid = process.getuid?.() ?? 0;
  const dir = join(tmpdir(), `tsx-${uid}`);
  let best: { mtime: number; map: { mappings: string } } | null = null;
  try {
    for (const name of readdirSync(dir)) {
      const p = join(dir, name);
      const text = readFileSync(p, 'utf8');
      if (!text.includes(JSON.stringify(file))) continue;
      const entry = JSON.parse(text) as { map?: { sources?: string[]; mappings: string } };
      if (!entry.map?.sources?.includes(file)) continue;
      const mtime = statSync(p).mtimeMs;
      if (!best || mtime > best.mtime) best = { mtime, map: entry.map };
    }
  } catch {
    return null;
  }
  return best ? decodeMappings(best.map.mappings) : null;
}

const B64 = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';

function decodeMappings(mappings: string): LineMap {
  const out: LineMap = [];
  let srcLine = 0;

  mappings.split(';').forEach((lineStr, line) => {
    let col = 0;
    for (const seg of lineStr.split(',')) {
      if (!seg) continue;
      const v: number[] = [];
      let value = 0;
      let shift = 0;
      for (const ch of seg) {
        const d = B64.indexOf(ch);
        value += (d & 31) << shift;
        if (d & 32) shift += 5;
        else {
          v.push(value & 1 ? -(value >>> 1) : value >>> 1);
          value = 0;
          shift = 0;
        }
      }
      col += v[0] ?? 0;
      if (v.length >= 4) {
        srcLine += v[2]!;

        out.push({ line, col, srcLine });
      }
    }
  });
  return out;
}

/** The 0-based source line of a generated position, when the file ran through tsx. */
function originalLine(url: string, line: number, col: number): number {
  if (!url.startsWith('file://') || !url.endsWith('.ts')) return line;
  const file = url.slice('file://'.length);
  let map = lineMaps.get(file);
  if (map === undefined) {
    map = tsxCacheMap(file);
    lineMaps.set(file, map);
  }
  if (!map) return line;
  let found = -1;
  for (const m of map) {
    if (m.line > line || (m.line === line && m.col > col)) break;
    found = m.srcLine;
  }
  return found >= 0 ? found : line;
}

/** Which part of the system a frame belongs to. */
export function area(url: string, fn: string): string {
  if (!url) {
    if (fn === '(idle)') return '(idle)';
    if (fn === '(garbage collector)') return 'GC';
    if (fn === '(program)') return 'native/(program)';
    return `native: ${fn || '(anonymous)'}`;
  }
  const nm = /node_modules\/((?:@[^/]+\/)?[^/]+)/.exec(url);
  if (nm) return `npm: ${nm[1]}`;
  const src = /\/((?:src|dist)\/[^/]+)\//.exec(url); // dist/: the compiled build bin/ampere.js runs
  if (src) return src[1]!;
  if (url.startsWith('node:')) {
    const m = /^node:(internal\/)?([^/]+(?:\/[^/]+)?)/.exec(url);
    return `node: ${m ? m[2] : url}`;
  }
  return url.replace(/^file:\/\/.*\/(bin|bench|scripts)\//, '$1/');
}

export function summarizeProfile(file: string, top = 20): ProfileSummary {
  const prof = JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
  const byId = new Map<number, ProfileNode>();
  for (const n of prof.nodes) byId.set(n.id, n);
  // Self time per node: the time delta that follows each sample is charged to that sample's node.
  const self = new Map<number, number>();
  const samples = prof.samples ?? [];
  const deltas = prof.timeDeltas ?? [];
  for (let i = 0; i < samples.length; i++) {
    const d = deltas[i + 1] ?? 0;
    self.set(samples[i]!, (self.get(samples[i]!) ?? 0) + d);
  }
  const fns = new Map<string, number>();
  const areas = new Map<string, number>();
  let total = 0;
  let idle = 0;
  for (const [id, us] of self) {
    const n = byId.get(id);
    if (!n) continue;
    const { functionName, url } = n.callFrame;
    const lineNumber = originalLine(url, n.callFrame.lineNumber, n.callFrame.columnNumber);
    total += us;
    if (functionName === '(idle)') {
      idle += us;
      continue;
    }
    const short = url ? url.replace(/^file:\/\/.*?\/(node_modules|src|bin|bench)\//, '$1/') : '';
    const key = `${functionName || '(anonymous)'} ${short ? `${short}:${lineNumber + 1}` : ''}`.trim();
    fns.set(key, (fns.get(key) ?? 0) + us);
    const a = area(url, functionName);
    areas.set(a, (areas.get(a) ?? 0) + us);
  }
  const busy = total - idle;
  const list = (m: Map<string, number>, k: number) =>
    [...m.entries()]
      .sort((a, b) => b[1] - a[1])
      .slice(0, k)
      .map(([name, us]) => ({ name, ms: Math.round(us / 1_000), pct: round1((us / busy) * 100) }));
  return {
    file,
    totalMs: Math.round(total / 1_000),
    busyMs: Math.round(busy / 1_000),
    functions: list(fns, top),
    areas: list(areas, top),
  };
}

function round1(x: number): number {
  return Math.round(x * 10) / 10;
}

export function formatProfile(p: ProfileSummary): string {
  const lines = [`CPU profile: ${p.busyMs} ms busy of ${p.totalMs} ms sampled (${p.file})`];
  lines.push('  by area (self time, % of busy):');
  for (const a of p.areas.slice(0, 14)) lines.push(`    ${a.pct.toFixed(1).padStart(5)}%  ${a.name}`);
  lines.push('  top functions (self time):');
  for (const f of p.functions.slice(0, 20)) lines.push(`    ${f.pct.toFixed(1).padStart(5)}%  ${f.name}`);
  return lines.join('\n');
}

// `node --import tsx bench/profile.ts FILE.cpuprofile` summarises an existing profile.
if (import.meta.url === `file://${process.argv[1]}`) {
  const f = process.argv[2];
  if (!f) {
    console.error('usage: node --import tsx bench/profile.ts FILE.cpuprofile');
    process.exit(2);
  }
  console.log(formatProfile(summarizeProfile(f, 40)));
}
