// Per-charger id tags end to end (issue 12 item 5): a card Ampere accepts is refused at a charger
// whose list does not name it, and a charger's free-charging tag (Eaton's FREECHARGING when
// CsMode = 1) is accepted there and marked as free charging instead of refused as an unknown card.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli, type ServerProcess, spawnServer } from '../helpers/process.ts';
import { SimFleet } from '../helpers/sim.ts';
import { sleep, until } from '../helpers/wait.ts';

const TOKEN = 'charger-tags-token-0123456789abcdef012345';
describe('per-charger id tags against the Eaton simulator', () => {
  let server: ServerProcess;
  const fleet = new SimFleet();
  const env = () => ({ AMPERE_URL: server.url, AMPERE_API_TOKEN: TOKEN });
  const station = (id: string, config: Record<string, string>) =>
    fleet.start(server.wsUrl, id, 'eaton-green-motion', '/ocppj/v1.6', config);

  before(async () => {
    server = await spawnServer(['--registration', 'open'], { env: { AMPERE_API_TOKEN: TOKEN } });
  });
  after(async () => {
    await fleet.stop();
    await server.stop();
  });

  it('a tag refused at the wrong charger, accepted at its own', async () => {
    assert.equal((await runCli(['tags', 'add', 'CARD-HOME'], env())).code, 0);
    assert.equal((await runCli(['tags', 'add', 'CARD-WORK'], env())).code, 0);
    // Card mode (CsMode 0): charging needs a card.
    const home = await station('HOME-1', { CsMode: '0' });
    const work = await station('WORK-1', { CsMode: '0' });
    const set = await runCli(['charger-tags', 'HOME-1', '--allow', 'CARD-HOME'], env());
    assert.equal(set.code, 0, set.stderr);
    assert.match(set.stdout, /allowed\s+card-home/);

    home.plug(1);
    assert.equal(await home.swipe('CARD-WORK'), 'Invalid');
    assert.equal(await home.swipe('CARD-HOME'), 'Accepted');
    // The default `*`: every tag Ampere knows.
    work.plug(1);
    assert.equal(await work.swipe('CARD-WORK'), 'Accepted');
    const shown = await runCli(['charger-tags', 'WORK-1', '--json'], env());
    assert.deepEqual(JSON.parse(shown.stdout).allowed, ['*']);
  });

  it("the charger's free-charging tag is accepted and marked, not refused as an unknown card", async () => {
    const before = await station('FREE-0', {});
    before.plug(1);
    // Without a free-charging tag, FREECHARGING is an unknown card.
    await until(() =>
      before.history.some((h) => h.action === 'Authorize' || h.action === 'StartTransaction') ? true : undefined,
    );
    await sleep(500);
    assert.equal(before.connector(1).status === 'Charging', false);

    const free = await station('FREE-1', {});
    assert.equal((await runCli(['charger-tags', 'FREE-1', '--free', 'FREECHARGING'], env())).code, 0);
    const events: string[] = [];
    const ac = new AbortController();
    const stream = fetch(`${server.url}/api/events?chargerId=FREE-1&type=transaction.started`, {
      headers: { authorization: `Bearer ${TOKEN}` },
      signal: ac.signal,
    }).then(async (res) => {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>)
        events.push(Buffer.from(chunk).toString());
    });
    await sleep(300);
    free.plug(1);
    await until(() => (free.connector(1).status === 'Charging' ? true : undefined));
    const started = await until(() => {
      const line = events
        .join('')
        .split('\n')
        .find((l) => l.startsWith('data: ') && l.includes('transaction.started'));
      return line ? JSON.parse(line.slice(6)) : undefined;
    });
    ac.abort();
    await stream.catch(() => undefined);
    assert.equal(started.data.idTag, 'FREECHARGING');
    assert.equal(started.data.status, 'Accepted');
    assert.equal(started.data.freeCharging, true);
  });
});
