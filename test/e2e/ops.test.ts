// Operations endpoints on a real `ampere serve` process: /health and /ready without a token, and
// /metrics (Prometheus text) whose counters move after a simulator session, a command and a bad
// message.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { TestCharger } from '../helpers/charger.ts';
import { type ServerProcess, spawnServer } from '../helpers/process.ts';
import { SimFleet } from '../helpers/sim.ts';
import { until } from '../helpers/wait.ts';

const TOKEN = 'ops-operator-token-0123456789abcdef';
const METRICS_TOKEN = 'ops-scrape-token-0123456789abcdef';

/** The value of one series in Prometheus text, e.g. `ampere_chargers_connected` or `x{a="b"}`; undefined when absent. */
function sample(text: string, series: string): number | undefined {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return undefined;
}

describe('operations endpoints', () => {
  let server: ServerProcess;
  const fleet = new SimFleet();
  before(async () => {
    server = await spawnServer(['--registration', 'open'], {
      env: { AMPERE_API_TOKEN: TOKEN, AMPERE_METRICS_TOKEN: METRICS_TOKEN },
    });
  });
  after(async () => {
    await fleet.stop();
    await server?.stop();
  });

  const scrape = async (token = METRICS_TOKEN) => {
    const res = await fetch(`${server.url}/metrics`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    return res.text();
  };

  it('answers /health and /ready without a token', async () => {
    const health = await fetch(`${server.url}/health`);
    assert.equal(health.status, 200);
    assert.deepEqual(await health.json(), { status: 'live' });
    const ready = await fetch(`${server.url}/ready`);
    assert.equal(ready.status, 200);
    assert.deepEqual(await ready.json(), { status: 'ready', checks: { store: 'ok' } });
  });

  it('refuses /metrics without a token or with a wrong one, takes the metrics token and the operator token', async () => {
    const none = await fetch(`${server.url}/metrics`);
    assert.equal(none.status, 401);
    assert.equal(((await none.json()) as { error: { code: string } }).error.code, 'AMPERE_ERR_UNAUTHORIZED');
    const wrong = await fetch(`${server.url}/metrics`, { headers: { authorization: 'Bearer not-the-token' } });
    assert.equal(wrong.status, 401);
    await wrong.body?.cancel();
    assert.match(await scrape(TOKEN), /^# HELP /m);
    // The scrape-only token opens nothing else.
    const api = await fetch(`${server.url}/api/chargers`, { headers: { authorization: `Bearer ${METRICS_TOKEN}` } });
    assert.equal(api.status, 401);
    await api.body?.cancel();
  });

  it('counts messages by action, CALLERRORs by code, command round trips, commits and connected chargers', async () => {
    const before = await scrape();
    assert.equal(sample(before, 'ampere_chargers_connected'), 0);
    assert.ok((sample(before, 'nodejs_eventloop_lag_seconds') ?? -1) >= 0, 'event-loop lag is exported');
    assert.match(before, /^ampere_node_info\{node="[^"]+"\} 1$/m);

    // A simulated go-e boots and reports its status; a raw charger sends an action that does not exist.
    await fleet.start(server.wsUrl, 'OPS-1', 'go-e', '/ocpp');
    const raw = await TestCharger.connect(server.wsUrl, 'OPS-RAW');
    await raw.boot();
    const bogus = await raw.callFrame('MadeUpAction', {});
    assert.equal(bogus[0], 4);
    assert.equal(bogus[2], 'NotImplemented');
    const command = await fetch(`${server.url}/api/chargers/OPS-1/commands/TriggerMessage`, {
      method: 'POST',
      headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' },
      body: JSON.stringify({ requestedMessage: 'Heartbeat' }),
    });
    assert.equal(command.status, 200, await command.text());

    const text = await until(async () => {
      const t = await scrape();
      return (sample(t, 'ampere_ocpp_calls_total{direction="in",action="Heartbeat"}') ?? 0) >= 1 ? t : undefined;
    });
    assert.equal(sample(text, 'ampere_chargers_connected'), 2);
    assert.equal(sample(text, 'ampere_ocpp_calls_total{direction="in",action="BootNotification"}'), 2);
    assert.ok((sample(text, 'ampere_ocpp_calls_total{direction="in",action="StatusNotification"}') ?? 0) >= 1);
    // A made-up action is counted, but under `other`: chargers cannot invent new series.
    assert.equal(sample(text, 'ampere_ocpp_calls_total{direction="in",action="other"}'), 1);
    assert.doesNotMatch(text, /MadeUpAction/);
    assert.equal(sample(text, 'ampere_ocpp_callerrors_total{direction="out",code="NotImplemented"}'), 1);
    assert.equal(sample(text, 'ampere_ocpp_calls_total{direction="out",action="TriggerMessage"}'), 1);
    assert.equal(sample(text, 'ampere_command_duration_seconds_count{action="TriggerMessage",outcome="ok"}'), 1);
    assert.ok((sample(text, 'ampere_store_commit_seconds_count') ?? 0) >= 1, 'commits are timed');
    assert.ok((sample(text, 'ampere_store_commit_seconds_sum') ?? 0) > 0);

    await raw.close();
    await until(async () => (sample(await scrape(), 'ampere_chargers_connected') === 1 ? true : undefined));
  });
});
