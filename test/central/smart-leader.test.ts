// The smart controller without a server: ports with a fake clock and timers, fake chargers that
// apply what they are told, a real SQLite store. What a change of leader (another node taking over a
// site) must keep: the site limit, metered at the chargers, and the ledger the old leader kept.
import assert from 'node:assert/strict';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import pino from 'pino';
import { type CommandSender, EventBus, type Leases, SmartController } from '../../src/central/index.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/types.ts';
import { tempDir } from '../helpers/process.ts';

const T0 = Date.parse('2026-03-02T10:00:00Z');
const SITE_LIMIT_A = 20;
const CAR_MAX_A = 16;

/** Manual time: timers fire only when the test moves the clock. */
class FakeTime {
  now = T0;
  private timers: Array<{ at: number; fn: () => void; id: number }> = [];
  private seq = 0;
  readonly clock = { now: () => this.now };
  readonly timersPort = {
    setTimeout: (fn: () => void, ms: number) => {
      const id = ++this.seq;
      this.timers.push({ at: this.now + ms, fn, id });
      return id;
    },
    clearTimeout: (h: unknown) => {
      this.timers = this.timers.filter((t) => t.id !== h);
    },
  };
  advance(ms: number): void {
    this.now += ms;
    const due = this.timers.filter((t) => t.at <= this.now);
    this.timers = this.timers.filter((t) => t.at > this.now);
    for (const t of due) t.fn();
  }
}

/**
 * Chargers as a user meters them: each connector draws what its car takes, capped by the limit the
 * charger last applied (a TxProfile over a TxDefaultProfile), and its maximum when never told.
 */
class FakeSite {
  readonly applied = new Map<string, { tx?: number; standing?: number }>();
  readonly cars = new Set<string>();
  peakA = 0;
  drawA(): number {
    let sum = 0;
    for (const key of this.cars) {
      const l = this.applied.get(key);
      sum += Math.min(CAR_MAX_A, l?.tx ?? l?.standing ?? CAR_MAX_A);
    }
    return sum;
  }
  meter(): void {
    if (process.env.DEBUG_LEADER)
      console.error('meter', this.drawA(), [...this.cars], JSON.stringify([...this.applied]));
    this.peakA = Math.max(this.peakA, this.drawA());
  }
  /** A TxProfile ends with its transaction (OCPP 1.6 §3.13.2). */
  endTransaction(key: string): void {
    const l = this.applied.get(key);
    if (l) l.tx = undefined;
  }
  apply(chargerId: string, payload: Record<string, any>): void {
    const p = payload.csChargingProfiles;
    const key = `${chargerId}/${payload.connectorId}`;
    const limit = p.chargingSchedule.chargingSchedulePeriod[0].limit as number;
    const l = this.applied.get(key) ?? {};
    if (p.chargingProfilePurpose === 'TxProfile') l.tx = limit;
    else l.standing = limit;
    this.applied.set(key, l);
    this.meter();
  }
}

/** One node's command sender: applies at the charger, then answers; `dead` nodes never answer. */
function sender(site: FakeSite, log: string[], state: { dead: boolean }): CommandSender {
  return {
    call: (async (chargerId: string, action: string, payload: Record<string, any>) => {
      if (action === 'GetConfiguration') return { configurationKey: [] };
      if (action === 'SetChargingProfile') site.apply(chargerId, payload);
      log.push(
        `${chargerId} ${action} ${payload.csChargingProfiles?.chargingSchedule?.chargingSchedulePeriod?.[0]?.limit ?? ''}`,
      );
      // The charger applied it; a node that died meanwhile never hears the answer.
      if (state.dead) return new Promise(() => undefined);
      return { status: 'Accepted' };
    }) as CommandSender['call'],
  };
}

/** Leases in one place, as a PostgreSQL advisory lock would be: one holder, released when it dies. */
class OneHolder {
  holder: string | null = null;
  private readonly listeners: Array<(name: string) => void> = [];
  for(node: string): Leases {
    return {
      shared: true,
      nudge: (name) => {
        for (const fn of this.listeners) fn(name);
      },
      onNudge: (fn) => {
        this.listeners.push(fn);
      },
      acquire: async () => {
        this.holder ??= node;
        return this.holder === node;
      },
      release: async () => {
        if (this.holder === node) this.holder = null;
      },
    };
  }
}

describe('smart charging leader (ports, fake clock, no server)', () => {
  let store: Store;
  let time: FakeTime;
  let site: FakeSite;
  let leases: OneHolder;
  const controllers: SmartController[] = [];

  const node = (name: string, commands: CommandSender, connected = () => true) =>
    new SmartController({
      store,
      commands,
      directory: { isConnected: connected, connectedIds: () => ['CP1', 'CP2', 'CP3'] },
      events: new EventBus({ now: () => time.now }),
      clock: time.clock,
      log: pino({ level: 'silent' }),
      timers: time.timersPort,
      leases: leases.for(name),
    });

  async function plugIn(chargerId: string, idTag: string) {
    await store.recordStatus({ chargerId, connectorId: 1, status: 'Charging', errorCode: 'NoError', at: time.now });
    await store.startTransaction({ chargerId, connectorId: 1, idTag, timestamp: time.now, meterStart: 0 });
    site.cars.add(`${chargerId}/1`);
    site.meter();
  }

  beforeEach(async () => {
    time = new FakeTime();
    site = new FakeSite();
    leases = new OneHolder();
    store = await openSqliteStore({ file: join(tempDir(), 'ampere.db') });
    for (const id of ['CP1', 'CP2', 'CP3']) {
      await store.recordBoot(id, { chargePointVendor: 'Generic', chargePointModel: 'AC' }, time.now);
      await store.setConnection(id, true, '127.0.0.1', time.now);
      await store.recordStatus({
        chargerId: id,
        connectorId: 1,
        status: 'Available',
        errorCode: 'NoError',
        at: time.now,
      });
    }
    // One-phase chargers on L1, a 20 A site: the edge where one car too many trips the fuse.
    await store.setSetting(
      'smart:sites',
      JSON.stringify([
        {
          id: 'home',
          gridLimitA: SITE_LIMIT_A,
          idleCurrentA: 6,
          chargers: ['CP1', 'CP2', 'CP3'].map((chargerId) => ({
            chargerId,
            phases: 1,
            phaseMapping: [1],
            maxCurrentA: CAR_MAX_A,
          })),
        },
      ]),
    );
  });

  afterEach(async () => {
    for (const c of controllers.splice(0)) await c.stop();
    await store.close();
  });

  // Cars are plugged in one at a time, each balanced before the next arrives, as on a real site.

  it('only the leader sends commands; a follower takes over from the kept ledger without re-telling anything', async () => {
    const logA: string[] = [];
    const logB: string[] = [];
    const a = node('A', sender(site, logA, { dead: false }));
    const b = node('B', sender(site, logB, { dead: false }));
    controllers.push(a, b);
    await a.start();
    await b.start();
    await plugIn('CP1', 'TAG1');
    await a.rebalance('home');
    await b.rebalance('home');
    assert.ok(a.leads('home') && !b.leads('home'), 'A holds the lease, B follows');
    assert.ok(logA.length > 0, 'the leader told the chargers their limits');
    assert.deepEqual(logB, [], 'a follower sends nothing');
    const ledgerA = a.status('home').ledger;

    // A stops (its node is drained): its lease goes; B's next poll takes the site over.
    await a.stop();
    time.advance(2_000);
    await b.settle();
    await b.rebalance('home');
    assert.ok(b.leads('home'), 'B leads after A is gone');
    assert.deepEqual(
      b.status('home').ledger.map((e) => [e.chargerId, e.txLimitA, e.standingLimitA]),
      ledgerA.map((e) => [e.chargerId, e.txLimitA, e.standingLimitA]),
      'B counts what A told the chargers',
    );
    assert.deepEqual(logB, [], 'nothing changed, so the new leader re-tells nothing (no command storm at failover)');
    assert.ok(site.peakA <= SITE_LIMIT_A, `metered peak ${site.peakA} A within ${SITE_LIMIT_A} A`);
  });

  it('a follower that sees a charger change nudges the leader, which balances at once', async () => {
    const logA: string[] = [];
    const logB: string[] = [];
    const eventsB = new EventBus({ now: () => time.now });
    const a = node('A', sender(site, logA, { dead: false }));
    const b = new SmartController({
      store,
      commands: sender(site, logB, { dead: false }),
      directory: { isConnected: () => true, connectedIds: () => ['CP1', 'CP2', 'CP3'] },
      events: eventsB,
      clock: time.clock,
      log: pino({ level: 'silent' }),
      timers: time.timersPort,
      leases: leases.for('B'),
    });
    controllers.push(a, b);
    await a.start();
    await b.start();
    await a.rebalance('home');
    await b.rebalance('home');
    assert.ok(a.leads('home') && !b.leads('home'));
    const told = logA.length;
    // CP1 is connected to B's node: its car arrives there, A hears of it only through the nudge.
    await plugIn('CP1', 'TAG1');
    eventsB.emit('connector.status', 'CP1', { connectorId: 1, status: 'Charging' });
    time.advance(0);
    await a.settle();
    for (let i = 0; i < 100 && logA.length === told; i++) await new Promise((r) => setTimeout(r, 5));
    assert.ok(logA.length > told, 'the leader sent limits after the nudge');
    assert.deepEqual(logB, [], 'the follower sent nothing');
    assert.ok(site.applied.get('CP1/1')?.tx !== undefined, 'CP1 was told a limit for its transaction');
    assert.ok(site.peakA <= SITE_LIMIT_A);
  });

  it('a leader that dies with a raise on its way: the next leader keeps the metered current within the limit', async () => {
    const logA: string[] = [];
    const logB: string[] = [];
    const stateA = { dead: false };
    const a = node('A', sender(site, logA, stateA));
    controllers.push(a);
    await a.start();
    await a.rebalance('home');
    await plugIn('CP1', 'TAG1');
    await a.rebalance('home');
    await plugIn('CP2', 'TAG2');
    await a.rebalance('home');
    assert.ok(site.drawA() <= SITE_LIMIT_A);

    // CP2's car leaves: A lowers nothing and raises CP1 into the room. The charger applies the raise,
    // then A's node dies before the answer arrives (kill -9): the run never finishes.
    await store.recordStatus({
      chargerId: 'CP2',
      connectorId: 1,
      status: 'Available',
      errorCode: 'NoError',
      at: time.now,
    });
    const open = await store.activeTransactionFor('CP2', 1);
    await store.stopTransaction({
      chargerId: 'CP2',
      transactionId: open!.id,
      meterStop: 1000,
      timestamp: time.now,
      reason: 'EVDisconnected',
    });
    site.cars.delete('CP2/1');
    site.endTransaction('CP2/1');
    stateA.dead = true;
    const before = site.applied.get('CP1/1')?.tx ?? 0;
    const sent = logA.length;
    void a.rebalance('home');
    for (let i = 0; i < 200 && logA.length === sent; i++) await new Promise((r) => setTimeout(r, 5));
    const raised = site.applied.get('CP1/1')?.tx ?? 0;
    assert.ok(raised > before, `CP1 was raised at the charger from ${before} A to ${raised} A`);
    leases.holder = null; // the dead node's connection to PostgreSQL closed: its advisory lock is gone

    // A car arrives at CP2 and one at CP3 before B has run: CP2 draws its standing limit.
    await plugIn('CP2', 'TAG3');
    const b = node('B', sender(site, logB, { dead: false }));
    controllers.push(b);
    await b.start();
    await b.rebalance('home');
    await plugIn('CP3', 'TAG4');
    await b.rebalance('home');
    assert.ok(b.leads('home'));
    const ledger = b.status('home').ledger;
    const promised = ledger.reduce((s, e) => s + e.countedA, 0);
    assert.ok(promised <= SITE_LIMIT_A + 1e-6, `the ledger promises ${promised} A within ${SITE_LIMIT_A} A`);
    assert.ok(site.drawA() <= SITE_LIMIT_A, `metered ${site.drawA()} A within ${SITE_LIMIT_A} A`);
    assert.ok(site.peakA <= SITE_LIMIT_A + 1e-6, `metered peak ${site.peakA} A within ${SITE_LIMIT_A} A`);
    assert.deepEqual(b.violationsOf('home'), [], 'no breach recorded');
  });
});
