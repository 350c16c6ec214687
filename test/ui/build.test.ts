// The console's build: esbuild bundles it into a page, one script and one style sheet with content
// hashes; the whole stays within the 150 KB gzipped budget; a bundle older than its sources (or
// missing) is rebuilt at start, a current one is left alone.
import assert from 'node:assert/strict';
import { existsSync, readFileSync, utimesSync } from 'node:fs';
import { join } from 'node:path';
import { describe, test } from 'node:test';
import { buildUi, ensureUi, uiNeedsBuild } from '../../src/ui/index.ts';
import { tempDir } from '../helpers/process.ts';

describe('web console build', () => {
  const out = join(tempDir('ampere-ui-'), 'ui');

  test('builds a page with hashed assets, within the size budget', async () => {
    const b = await buildUi(out);
    const html = readFileSync(join(out, 'index.html'), 'utf8');
    const script = /src="\/(assets\/app-[A-Z0-9]+\.js)"/.exec(html)?.[1];
    const style = /href="\/(assets\/app-[A-Z0-9]+\.css)"/.exec(html)?.[1];
    assert.ok(script && existsSync(join(out, script)), html);
    assert.ok(style && existsSync(join(out, style)), html);
    assert.doesNotMatch(html, /%SCRIPT%|%STYLE%/);
    assert.ok(b.gzipBytes < 150 * 1024, `${b.gzipBytes} B gzipped`);
    assert.ok(b.gzipBytes > 10 * 1024, 'Preact, uPlot and the pages are in it');
  });

  test('a current bundle is kept; a missing or stale one is rebuilt', async () => {
    assert.equal(uiNeedsBuild(out), false);
    assert.deepEqual(await ensureUi(out), { dir: out, built: false });
    utimesSync(join(out, 'index.html'), new Date(0), new Date(0));
    assert.equal(uiNeedsBuild(out), true);
    assert.deepEqual(await ensureUi(out), { dir: out, built: true });
    assert.equal(uiNeedsBuild(join(out, 'nothing-here')), true);
  });
});

describe('web console event types', () => {
  // EventSource hands a named event only to a listener for that name: a type the console does
  // not list would never reach its pages.
  test('the console listens for every event type the central system emits', () => {
    const union = readFileSync('src/central/events.ts', 'utf8').match(/export type CentralEventType =([^;]+);/)![1]!;
    const server = [...union.matchAll(/'([a-z.]+)'/g)].map((m) => m[1]).sort();
    const list = readFileSync('src/ui/app/api.ts', 'utf8').match(/export const EVENT_TYPES = \[([^\]]+)\]/)![1]!;
    const ui = [...list.matchAll(/'([a-z.]+)'/g)].map((m) => m[1]).sort();
    assert.ok(server.length >= 18);
    assert.deepEqual(ui, server);
  });
});
