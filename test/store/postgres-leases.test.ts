// Leases across nodes on a real PostgreSQL (advisory locks): one holder at a time, released when the
// holder closes, lost when its connection dies (as with kill -9 of its node), then taken by another.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import pg from 'pg';
import { openPostgresLeases, type PostgresLeases } from '../../src/store/postgres-leases.ts';

const url = process.env.AMPERE_TEST_PG_URL;

if (url === undefined || url === '') {
  describe('postgres leases', () => {
    if (process.env.CI) {
      it('needs AMPERE_TEST_PG_URL in CI', () => assert.fail('AMPERE_TEST_PG_URL is not set (see .ci/run)'));
    } else {
      it('is skipped: set AMPERE_TEST_PG_URL to run it', (t) => t.skip('AMPERE_TEST_PG_URL is not set'));
    }
  });
} else {
  describe('postgres leases', () => {
    const opened: PostgresLeases[] = [];
    const open = (onLost?: (e: Error) => void) => {
      const l = openPostgresLeases({ url, ...(onLost ? { onLost } : {}) });
      opened.push(l);
      return l;
    };
    // Names unique to this run: two CI jobs may share the database.
    const name = (s: string) => `test:${process.pid}:${Date.now().toString(36)}:${s}`;
    after(async () => {
      for (const l of opened) await l.close();
    });

    it('one node holds a lease; the other gets it once released', async () => {
      const a = open();
      const b = open();
      const site = name('home');
      assert.equal(await a.acquire(site), true);
      assert.equal(await a.acquire(site), true, 'holding it again is still true');
      assert.equal(await b.acquire(site), false, 'the other node does not get it');
      assert.equal(await b.acquire(name('other')), true, 'another site is free');
      await a.release(site);
      assert.equal(await b.acquire(site), true, 'released: the other node takes it');
      assert.equal(await a.acquire(site), false);
    });

    it('a nudge from one node reaches the others', async () => {
      const a = open();
      const b = open();
      const heard: string[] = [];
      a.onNudge((n) => heard.push(n));
      const site = name('nudged');
      assert.equal(await a.acquire(site), true);
      b.nudge(site);
      for (let i = 0; i < 100 && !heard.includes(site); i++) await new Promise((r) => setTimeout(r, 20));
      assert.ok(heard.includes(site), 'the leader heard the follower');
    });

    it('a node whose connection dies loses its leases at once, and another takes them', async () => {
      const lost: Error[] = [];
      const a = open((e) => lost.push(e));
      const b = open();
      const site = name('depot');
      assert.equal(await a.acquire(site), true);
      assert.equal(await b.acquire(site), false);
      // What kill -9 of A's node does to its session: the server side of the connection goes away.
      const admin = new pg.Client({ connectionString: url });
      await admin.connect();
      try {
        await admin.query(
          "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE application_name = 'ampere-leases' AND pid IN (SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted AND objid = (hashtextextended($1, 0) & 4294967295)::oid)",
          [site],
        );
      } finally {
        await admin.end();
      }
      for (let i = 0; i < 100 && lost.length === 0; i++) await new Promise((r) => setTimeout(r, 20));
      assert.equal(lost.length, 1, 'A was told its leases are gone');
      assert.deepEqual(a.held(), [], 'A holds nothing any more');
      assert.equal(await b.acquire(site), true, 'B takes the lease at once');
      assert.equal(await a.acquire(site), false, 'A, reconnected, does not get it back');
    });
  });
}
