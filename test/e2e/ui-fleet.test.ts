// The fleet page under a real fleet: `ampere simulate --count` connects 1 000 chargers, then
// 1 000 more, to a real `ampere serve`; Chromium opens the fleet page. Reported as figures (not
// timed assertions beyond generous bounds): the first paint of rows with 1 000 chargers, and with
// 2 000 the time to scroll to the end and to search, the longest main-thread task meanwhile,
// and how few rows exist in the page (the list is virtualised and paged on the server).
import assert from 'node:assert/strict';
import { type ChildProcess, spawn } from 'node:child_process';
import { after, before, describe, test } from 'node:test';
import { type ServerProcess, spawnServer } from '../helpers/process.ts';
import { type Browser, openBrowser, until } from '../ui/browser.ts';

const TOKEN = 'ui-fleet-token-0123456789abcdef';

describe('fleet page with 2 000 simulated chargers', () => {
  let server: ServerProcess;
  let b: Browser;
  const loads: ChildProcess[] = [];
  const figures: Record<string, number> = {};

  const connected = async () => {
    const r = await fetch(`${server.url}/api/fleet?connected=true&limit=1`, {
      headers: { authorization: `Bearer ${TOKEN}` },
    });
    return ((await r.json()) as { total: number }).total;
  };
  const simulate = (prefix: string, count: number) => {
    const p = spawn(
      process.execPath,
      [
        'bin/ampere.js',
        'simulate',
        '--url',
        `${server.wsUrl}/ocpp`,
        '--profile',
        'generic',
        '--count',
        String(count),
        '--ramp',
        '500',
        '--id',
        prefix,
        '--quiet',
      ],
      { stdio: ['ignore', 'ignore', 'ignore'] },
    );
    loads.push(p);
  };
  const signIn = async () => {
    await b.page.goto(server.url);
    await b.page.getByLabel('Operator token').fill(TOKEN);
    await b.page.getByRole('button', { name: 'Sign in' }).click();
    await b.page.getByRole('navigation', { name: 'Pages' }).waitFor({ timeout: 30_000 });
  };

  before(async () => {
    server = await spawnServer(['--registration', 'open'], { env: { AMPERE_API_TOKEN: TOKEN } });
    b = await openBrowser();
  });
  after(async () => {
    for (const p of loads) {
      p.kill('SIGTERM');
      await new Promise((r) => (p.exitCode !== null ? r(null) : p.once('exit', r)));
    }
    await b?.close();
    await server?.stop();
    console.log(`fleet page figures: ${JSON.stringify(figures)}`);
  });

  test('first paint of the fleet with 1 000 chargers', async () => {
    simulate('FA', 1000);
    await until('1 000 chargers connected', async () => (await connected()) >= 1000, 120_000);
    await signIn();
    // A fresh load of the page straight onto the fleet: navigation start to rows on screen.
    // A full load with the HTTP cache off: the script and style sheet come over the wire too.
    await b.page.goto(`${server.url}/#/fleet`);
    const cdp = await b.context.newCDPSession(b.page);
    await cdp.send('Network.setCacheDisabled', { cacheDisabled: true });
    await b.page.reload();
    await b.page.getByTestId('fleet-total').filter({ hasText: '1000 chargers' }).waitFor({ timeout: 30_000 });
    await b.page.waitForFunction(
      () => (globalThis as any).performance.getEntriesByName('ampere:fleet-rows').length > 0,
    );
    const t = await b.page.evaluate(() => {
      const rows = performance.getEntriesByName('ampere:fleet-rows')[0]?.startTime ?? null;
      const fcp = performance.getEntriesByName('first-contentful-paint')[0]?.startTime ?? null;
      return { rows, fcp };
    });
    assert.ok(t.rows !== null, 'the fleet marked its first rows');
    // No layout shift when the data arrives: the cumulative layout shift of this load.
    const cls = await b.page.evaluate(
      () =>
        new Promise<number>((resolve) => {
          const w = globalThis as any;
          new w.PerformanceObserver((l: any, obs: any) => {
            obs.disconnect();
            resolve(l.getEntries().reduce((s: number, e: any) => s + (e.hadRecentInput ? 0 : e.value), 0));
          }).observe({ type: 'layout-shift', buffered: true });
          w.setTimeout(() => resolve(0), 500);
        }),
    );
    figures.cumulativeLayoutShift = Math.round(cls * 1000) / 1000;
    assert.ok(cls < 0.1, `layout shift ${cls}`);
    figures.paint1000RowsMs = Math.round(t.rows);
    if (t.fcp !== null) figures.firstContentfulPaintMs = Math.round(t.fcp);
    assert.ok(t.rows < 5_000, `rows painted after ${t.rows} ms`);
  });

  test('with 2 000: scrolling to the end and searching stay quick; few rows exist in the page', async () => {
    simulate('FB', 1000);
    await until('2 000 chargers connected', async () => (await connected()) >= 2000, 120_000);
    const { page } = b;
    await page.getByTestId('fleet-total').filter({ hasText: '2000 chargers' }).waitFor({ timeout: 30_000 });
    // The longest main-thread task from here on (run in the page: browser globals, untyped here).
    await page.evaluate(() => {
      const w = globalThis as any;
      w.__longest = 0;
      new w.PerformanceObserver((l: any) => {
        for (const e of l.getEntries()) w.__longest = Math.max(w.__longest, e.duration);
      }).observe({ type: 'longtask', buffered: false });
    });
    const t0 = Date.now();
    await page.getByTestId('fleet-scroller').evaluate((el) => {
      el.scrollTop = el.scrollHeight;
    });
    await page.getByRole('link', { name: 'FB1000' }).waitFor({ timeout: 30_000 });
    figures.scrollToEndMs = Date.now() - t0;
    const rowsInPage = await page.locator('.fleet-row').count();
    figures.rowsInPage = rowsInPage;
    assert.ok(rowsInPage < 120, `${rowsInPage} rows in the page for 2 000 chargers`);

    const t1 = Date.now();
    await page.getByRole('searchbox').fill('FA0042');
    await page
      .getByTestId('fleet-total')
      .filter({ hasText: /^1 charger$/ })
      .waitFor({ timeout: 30_000 });
    await page.getByRole('link', { name: 'FA0042' }).waitFor();
    figures.searchMs = Date.now() - t1;
    figures.longestTaskMs = Math.round(await page.evaluate(() => (globalThis as any).__longest as number));
    assert.ok(figures.scrollToEndMs! < 10_000 && figures.searchMs! < 10_000);
  });
});
