// Reservations end to end (issue 12 item 6) with the Eaton and go-e simulators: ReserveNow and
// CancelReservation from the CLI, a StartTransaction with the reservationId consumes it, and what
// a charger cannot do is refused before anything is sent.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli, type ServerProcess, spawnServer } from '../helpers/process.ts';
import { SimFleet } from '../helpers/sim.ts';
import { until } from '../helpers/wait.ts';

const TOKEN = 'reservations-token-0123456789abcdef0123456';

describe('reservations against the seed simulators', () => {
  let server: ServerProcess;
  const fleet = new SimFleet();
  const env = () => ({ AMPERE_URL: server.url, AMPERE_API_TOKEN: TOKEN });
  const station = (id: string, profile: string, path: string, config: Record<string, string> = {}) =>
    fleet.start(server.wsUrl, id, profile, path, config);

  before(async () => {
    server = await spawnServer(['--registration', 'open'], { env: { AMPERE_API_TOKEN: TOKEN } });
  });
  after(async () => {
    await fleet.stop();
    await server.stop();
  });

  it('reserves, cancels, and a start with the reservationId consumes it (Eaton)', async () => {
    assert.equal((await runCli(['tags', 'add', 'CARD-R'], env())).code, 0);
    const eaton = await station('RES-1', 'eaton-green-motion', '/ocppj/v1.6', { CsMode: '0' });

    const first = await runCli(['reservations', 'add', 'RES-1', 'CARD-R', '--minutes', '10'], env());
    assert.equal(first.code, 0, first.stderr);
    const firstId = Number(/reservation (\d+)/.exec(first.stdout)?.[1]);
    assert.match(first.stdout, /^ReserveNow: Accepted; reservation \d+ until /);
    await until(() => (eaton.connector(1).status === 'Reserved' ? true : undefined));
    const cancelled = await runCli(['reservations', 'cancel', 'RES-1', String(firstId)], env());
    assert.equal(cancelled.stdout.trim(), `CancelReservation: Accepted; reservation ${firstId} cancelled`);
    await until(() => (eaton.connector(1).status === 'Available' ? true : undefined));

    const zero = await runCli(['reservations', 'add', 'RES-1', 'CARD-R', '--connector', '0'], env());
    assert.equal(zero.code, 1);
    assert.match(zero.stderr, /does not reserve connector 0 \(ReserveConnectorZeroSupported is false\)/);

    const second = JSON.parse((await runCli(['reservations', 'add', 'RES-1', 'CARD-R', '--json'], env())).stdout);
    assert.equal(second.status, 'Accepted');
    eaton.plug(1);
    assert.equal(await eaton.swipe('CARD-R'), 'Accepted');
    await until(() => (eaton.connector(1).tx?.id !== undefined ? true : undefined));
    const sent = eaton.history.find((h) => h.dir === 'out' && h.action === 'StartTransaction');
    assert.equal((sent?.payload as { reservationId?: number } | undefined)?.reservationId, second.reservation.id);
    const list = JSON.parse((await runCli(['reservations', '--charger', 'RES-1', '--json'], env())).stdout);
    const byId = new Map(list.items.map((r: { id: number }) => [r.id, r]));
    assert.equal((byId.get(firstId) as { status: string }).status, 'cancelled');
    const consumed = byId.get(second.reservation.id) as { status: string; transactionId: number };
    assert.equal(consumed.status, 'consumed');
    assert.equal(consumed.transactionId, eaton.connector(1).tx?.id);
  });

  it('a charger without the Reservation profile (go-e) is refused before anything is sent', async () => {
    const goe = await station('GOE-RES', 'go-e', '/chargers');
    const r = await runCli(['reservations', 'add', 'GOE-RES', 'CARD-R'], env());
    assert.equal(r.code, 1);
    assert.match(r.stderr, /GOE-RES does not take reservations: .* no Reservation profile \(AMPERE_ERR_CALL_REFUSED\)/);
    assert.equal(
      goe.history.some((h) => h.action === 'ReserveNow'),
      false,
    );
  });
});
