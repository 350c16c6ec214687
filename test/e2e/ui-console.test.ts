// The web console end to end, as a user meets it: a real `ampere serve` (registration pending),
// real simulated chargers over WebSockets, and Debian's Chromium. Sign in; see a new charger wait
// for approval and approve it; watch it boot, start a session and show rising energy without a
// reload; stop it from the page and see it end on the charger; change a configuration key; see a
// security event. Every page passes axe-core with no serious violation and no CSP violation, and
// is photographed at desktop and phone width (test-artifacts/ui, not compared).
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { createStation, type SimStation } from '../../src/chargepoint/index.ts';
import { type ServerProcess, spawnServer } from '../helpers/process.ts';
import { axe, type Browser, openBrowser, screenshots, until } from '../ui/browser.ts';

const TOKEN = 'ui-console-token-0123456789abcdef';
const T = 20_000;

describe('web console in a real browser', () => {
  let server: ServerProcess;
  let b: Browser;
  const sims: SimStation[] = [];
  const axeReport: Record<string, string[]> = {};

  const api = async (method: string, path: string, body?: unknown) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${TOKEN}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      ...(body ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as any) : null };
  };
  const go = async (hash: string) => {
    // Code run in the page: its globals are the browser's (the tests' types are Node's).
    await b.page.evaluate((h) => {
      (globalThis as any).location.hash = h;
    }, hash);
  };
  /** axe on the page as it is now: no serious or critical violation; all findings reported. */
  const checkPage = async (name: string) => {
    const violations = await axe(b.page);
    axeReport[name] = violations.map((v) => `${v.id} (${v.impact}, ${v.nodes})`);
    const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
    assert.deepEqual(serious, [], `${name}: ${JSON.stringify(serious)}`);
    await screenshots(b.page, name);
  };

  before(async () => {
    server = await spawnServer(['--registration', 'pending', '--boot-retry-interval', '5'], {
      env: { AMPERE_API_TOKEN: TOKEN },
    });
    b = await openBrowser();
  });
  after(async () => {
    for (const s of sims) await s.stop();
    await b?.close();
    await server?.stop();
    console.log(`axe violations per page (none serious): ${JSON.stringify(axeReport)}`);
  });

  test('sign in with the operator token; the page never holds the token', async () => {
    const { page } = b;
    await page.goto(server.url);
    await checkPage('signin');
    await page.getByLabel('Operator token').fill('wrong-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'not the operator token' }).waitFor({ timeout: T });
    // By keyboard: type the token and press Enter.
    await page.getByLabel('Operator token').fill(TOKEN);
    await page.keyboard.press('Enter');
    await page.getByRole('navigation', { name: 'Pages' }).waitFor({ timeout: T });
    const cookies = await b.context.cookies();
    const session = cookies.find((c) => c.name === 'ampere_session');
    assert.ok(session, 'a session cookie is set');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    assert.equal(await page.evaluate(() => (globalThis as any).document.cookie), '', 'scripts cannot read the cookie');
    const stored = await page.evaluate(
      () =>
        JSON.stringify({ ...(globalThis as any).localStorage }) +
        JSON.stringify({ ...(globalThis as any).sessionStorage }),
    );
    assert.doesNotMatch(stored, new RegExp(TOKEN));
    // The live stream is open with the cookie alone.
    await page.getByRole('status').filter({ hasText: 'live' }).first().waitFor({ timeout: T });
  });

  test('a new charger appears in "waiting for approval", is approved in one click and boots', async () => {
    const { page } = b;
    await go('#/approvals');
    await page.getByRole('heading', { name: 'Waiting for approval' }).waitFor();
    const sim = createStation({
      id: 'UI-CP1',
      profile: 'generic',
      url: `${server.wsUrl}/ocpp`,
      config: { MeterValueSampleInterval: '1' },
    });
    sims.push(sim);
    await sim.start();
    const row = page.getByTestId('approval-UI-CP1');
    await row.waitFor({ timeout: T });
    assert.match(await row.innerText(), /Generic|generic|online/i);
    await checkPage('approvals');
    await row.getByRole('button', { name: 'Approve' }).click();
    await page.getByTestId('outcome-UI-CP1').waitFor({ timeout: T });
    await until('the charger is accepted', () => sim.station.registration === 'Accepted');
    // What happened next is said in words, from what the server saw.
    await page
      .getByTestId('outcome-UI-CP1')
      .filter({ hasText: /booting again now|booted and is accepted|boot again by itself/ })
      .waitFor({ timeout: T });
    await row.waitFor({ state: 'detached', timeout: T });
  });

  test('start a session from the charger page, watch its energy rise live, stop it', async () => {
    const { page } = b;
    const sim = sims[0]!;
    // An id tag added on the tags page.
    await go('#/tags');
    await page.getByLabel('New tag').fill('UI-TAG-1');
    await page.getByRole('button', { name: 'Add' }).click();
    await page.getByRole('rowheader', { name: 'UI-TAG-1' }).waitFor({ timeout: T });
    await checkPage('tags');

    await go('#/chargers/UI-CP1');
    await page.getByRole('heading', { name: /Charger UI-CP1/ }).waitFor({ timeout: T });
    sim.station.plug(1, { maxPowerW: 11_000, soc: 0.2 });
    await page.getByText('Preparing').first().waitFor({ timeout: T });
    await page.getByLabel('Id tag').fill('UI-TAG-1');
    await page.getByRole('button', { name: 'Start' }).click();
    await until('the charger started a transaction', () => sim.station.connector(1).tx !== undefined);
    const energy = page.getByTestId('energy-1');
    await energy.waitFor({ timeout: T });
    const read = async () => Number((await energy.innerText()).replace(/[^\d.]/g, ''));
    const first = await read();
    await until('the energy shown rises without a reload', async () => (await read()) > first, 30_000);
    await checkPage('charger');

    await page.getByRole('button', { name: 'Stop' }).click();
    await until('the session ended on the charger', () => sim.station.connector(1).tx === undefined);
    await page.getByText('No session.').waitFor({ timeout: T });
    const txs = await api('GET', '/api/transactions?chargerId=UI-CP1');
    assert.equal(txs.body.items[0].active, false);
    assert.equal(txs.body.items[0].stopReason, 'Remote');

    await go(`#/sessions/${txs.body.items[0].id}`);
    await page.getByTestId('session-state').filter({ hasText: 'stopped (Remote)' }).waitFor({ timeout: T });
    await page.locator('.chart canvas').first().waitFor({ timeout: T });
    await checkPage('session');
    await go('#/sessions');
    await page.getByRole('table').waitFor({ timeout: T });
    await checkPage('sessions');
  });

  test('change a configuration key from the charger page', async () => {
    const { page } = b;
    const sim = sims[0]!;
    await go('#/chargers/UI-CP1');
    await page.getByRole('button', { name: 'Read from the charger' }).click();
    const row = page.getByTestId('config-HeartbeatInterval');
    await row.waitFor({ timeout: T });
    await row.getByRole('textbox').fill('123');
    await row.getByRole('button', { name: 'Save' }).click();
    await row.getByText(/Saved/).waitFor({ timeout: T });
    assert.equal(sim.station.config.get('HeartbeatInterval'), '123');
    // A read-only key is shown as such, not as a field.
    const readonly = page.locator('tr', { hasText: 'read-only' }).first();
    assert.equal(await readonly.getByRole('textbox').count(), 0);
  });

  test('a security event shows on the events page as it happens', async () => {
    const { page } = b;
    await go('#/events');
    await page.getByRole('heading', { name: 'Events', exact: true }).waitFor();
    // A wrong bearer token is a security event of the server's own.
    const wrong = await fetch(`${server.url}/api/chargers`, { headers: { authorization: 'Bearer wrong' } });
    assert.equal(wrong.status, 401);
    await page
      .getByTestId('security-events')
      .getByText('OperatorApiAuthenticationFailed')
      .first()
      .waitFor({ timeout: T });
    await page.getByTestId('event-list').getByText('security.event').first().waitFor({ timeout: T });
    await checkPage('events');
  });

  test("the household card's fast/smart toggle changes the charger's limit", async () => {
    const { page } = b;
    const sim = sims[0]!;
    // A home site with a price series: expensive for two hours, then cheap (set up as an operator would).
    const site = await api('PUT', '/api/sites/home', {
      gridLimitA: 32,
      chargers: [{ chargerId: 'UI-CP1', phases: 3, maxCurrentA: 16 }],
    });
    assert.equal(site.status, 200, JSON.stringify(site.body));
    const hour = Math.floor(Date.now() / 3_600_000) * 3_600_000;
    const prices = await api('PUT', '/api/sites/home/prices', {
      start: new Date(hour).toISOString(),
      slotMinutes: 60,
      price: [0.4, 0.4, 0.1, 0.1, 0.3, 0.3, 0.3, 0.3],
    });
    assert.equal(prices.status, 200, JSON.stringify(prices.body));
    sim.station.unplug(1);
    sim.station.plug(1, { maxPowerW: 11_000, soc: 0.2 });
    await sim.station.swipe('UI-TAG-1', 1);
    await until('a session runs', () => sim.station.connector(1).tx !== undefined);
    await until('the site lets it charge at full current', () => sim.station.connector(1).offeredA >= 16);

    await go('#/home');
    await page.getByTestId('home-smart-UI-CP1').waitFor({ timeout: T });
    await page.getByTestId('home-power-UI-CP1').filter({ hasText: 'kW' }).waitFor({ timeout: T });
    // Ready in five hours, in the site's time zone (UTC, the default), with 8 kWh: the cheap hours are enough.
    const readyBy = new Date(hour + 5 * 3_600_000).toISOString().slice(11, 16);
    await page.getByTestId('home-mode-UI-CP1').filter({ hasText: 'Now: fast' }).waitFor({ timeout: T });
    await page.getByLabel('ready by').fill(readyBy);
    await page.getByLabel('kWh').fill('8');
    await page.getByTestId('home-smart-UI-CP1').click();
    await page.getByText(/Charging at the cheapest times/).waitFor({ timeout: T });
    await page.getByTestId('home-mode-UI-CP1').filter({ hasText: 'Now: smart, ready by' }).waitFor({ timeout: T });
    await until(
      'smart: the charger is held at 0 A through the expensive hours',
      () => sim.station.connector(1).offeredA === 0,
    );
    await checkPage('home-smart');
    await page.getByTestId('home-fast-UI-CP1').click();
    await page.getByText('Charging at full power now').waitFor({ timeout: T });
    await page.getByTestId('home-mode-UI-CP1').filter({ hasText: 'Now: fast' }).waitFor({ timeout: T });
    await until('fast: the charger may draw its 16 A again', () => sim.station.connector(1).offeredA >= 16);
    // The site page lists the session with its own fast-charge button, and the allocation.
    await go('#/site');
    await page.getByRole('heading', { name: 'home', exact: true }).waitFor({ timeout: T });
    await page.getByRole('button', { name: 'Fast charge' }).click();
    await page.getByText('Charging now at full power').waitFor({ timeout: T });
    await page
      .getByText(/UI-CP1\S*: \d+\.\d A ×/)
      .first()
      .waitFor({ timeout: T });
    await checkPage('site-session');
    await sim.station.swipe('UI-TAG-1', 1);
    await until('the session ended', () => sim.station.connector(1).tx === undefined);
  });

  test('fleet, home and site pages render; no page broke the CSP', async () => {
    const { page } = b;
    await go('#/fleet');
    await page.getByRole('link', { name: 'UI-CP1' }).waitFor({ timeout: T });
    await checkPage('fleet');
    await go('#/home');
    await page.getByRole('heading', { name: 'Home' }).waitFor();
    await page.getByTestId('home-energy-UI-CP1').waitFor({ timeout: T });
    await checkPage('home');
    await go('#/site');
    await page.getByRole('heading', { name: 'Site', exact: true }).waitFor();
    await checkPage('site');
    // Dark mode follows the system setting, and keeps its contrast.
    await page.emulateMedia({ colorScheme: 'dark' });
    await go('#/fleet');
    await page.getByRole('link', { name: 'UI-CP1' }).waitFor({ timeout: T });
    const background = await page.evaluate(
      () => (globalThis as any).getComputedStyle((globalThis as any).document.body).backgroundColor,
    );
    assert.equal(background, 'rgb(16, 19, 24)');
    await checkPage('fleet-dark');
    await page.emulateMedia({ colorScheme: 'light' });
    assert.deepEqual(b.problems, []);
  });

  test('an API error is said in words next to the button that caused it', async () => {
    const { page } = b;
    await sims[0]!.stop();
    await go('#/chargers/UI-CP1');
    await page.getByText('offline').first().waitFor({ timeout: T });
    await page.getByRole('button', { name: 'Soft reset' }).click();
    const note = page.locator('.action', { has: page.getByRole('button', { name: 'Soft reset' }) }).getByRole('alert');
    await note.filter({ hasText: /UI-CP1 is not connected/ }).waitFor({ timeout: T });
  });
});
