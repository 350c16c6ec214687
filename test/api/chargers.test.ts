// Chargers, approvals, settings and status history over real HTTP, with real WebSocket chargers.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import { TestCharger } from '../helpers/charger.ts';
import { startTestServer, type TestServer, TOKEN, until } from './helpers.ts';

describe('chargers API', () => {
  let s: TestServer;
  before(async () => {
    // `known`: unknown ids are refused at the handshake and listed for approval.
    s = await startTestServer({ registration: 'known' });
  });
  after(() => s.close());

  test('every route needs the bearer token: 401 with the error shape', async () => {
    for (const headers of [
      { authorization: '' },
      { authorization: 'Bearer wrong' },
      { authorization: `Basic ${TOKEN}` },
    ]) {
      const r = await s.api('GET', '/api/chargers', undefined, headers);
      assert.equal(r.status, 401);
      assert.equal(r.body.error.code, 'AMPERE_ERR_UNAUTHORIZED');
      assert.equal(typeof r.body.error.message, 'string');
      assert.equal(r.body.error.details, null);
      assert.equal(r.headers.get('www-authenticate'), 'Bearer realm="ampere"');
    }
    const lower = await s.api('GET', '/api/chargers', undefined, { authorization: `bearer ${TOKEN}` });
    assert.equal(lower.status, 200);
  });

  test('an unknown route is a 404 in the error shape', async () => {
    const r = await s.api('GET', '/api/nothing-here');
    assert.equal(r.status, 404);
    assert.equal(r.body.error.code, 'AMPERE_ERR_NOT_FOUND');
  });

  test('a refused id is listed for approval, approved, then connects', async () => {
    await assert.rejects(TestCharger.connect(s.ws, 'NEW-1'), /HTTP 404/);
    const list = await s.api('GET', '/api/approvals');
    assert.equal(list.status, 200);
    const entry = list.body.items.find((a: any) => a.id === 'NEW-1');
    assert.equal(entry.source, 'attempt');
    assert.equal(entry.attempts, 1);
    assert.equal(entry.remoteAddress.includes('127.0.0.1'), true);
    assert.equal((await s.api('POST', '/api/chargers/NO-SUCH/approve')).status, 404);
    const ok = await s.api('POST', '/api/chargers/NEW-1/approve');
    assert.equal(ok.status, 200);
    assert.equal(ok.body.registration, 'accepted');
    assert.equal(
      (await s.api('GET', '/api/approvals')).body.items.some((a: any) => a.id === 'NEW-1'),
      false,
    );
    const c = await s.charger('NEW-1');
    const got = await s.api('GET', '/api/chargers/NEW-1');
    assert.equal(got.status, 200);
    assert.equal(got.body.connected, true);
    assert.equal(got.body.vendor, 'TestVendor');
    assert.equal(got.body.model, 'TestModel');
    assert.deepEqual(
      got.body.connectors.map((x: any) => [x.connectorId, x.status, x.errorCode]),
      [
        [0, 'Available', 'NoError'],
        [1, 'Available', 'NoError'],
      ],
    );
    assert.equal('authKeyHash' in got.body, false);
    await c.close();
    await until(async () => (await s.api('GET', '/api/chargers/NEW-1')).body.connected === false);
  });

  test('a Pending charger is listed, and approval makes it boot again', async () => {
    const created = await s.api('POST', '/api/chargers', { id: 'PEND-1', registration: 'pending', notes: 'garage' });
    assert.equal(created.status, 201);
    assert.equal(created.body.registration, 'pending');
    const c = await TestCharger.connect(s.ws, 'PEND-1');
    const boot = await c.boot();
    assert.equal(boot.status, 'Pending');
    const pending = (await s.api('GET', '/api/approvals')).body.items.find((a: any) => a.id === 'PEND-1');
    assert.equal(pending.source, 'pending');
    assert.equal(pending.connected, true);
    const triggered = new Promise<Record<string, unknown>>((resolve) => {
      c.onCall = (action, payload) => {
        if (action === 'TriggerMessage') resolve(payload);
        return { status: 'Accepted' };
      };
    });
    assert.equal((await s.api('POST', '/api/chargers/PEND-1/approve')).body.registration, 'accepted');
    assert.deepEqual(await triggered, { requestedMessage: 'BootNotification' });
    assert.equal((await c.boot()).status, 'Accepted');
    await c.close();
  });

  test('create: 400 names the field, 409 when it exists', async () => {
    const bad = await s.api('POST', '/api/chargers', { id: 'X', heartbeatInterval: 'often' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.code, 'AMPERE_ERR_BAD_REQUEST');
    assert.equal(bad.body.error.details.field, 'body.heartbeatInterval');
    const missing = await s.api('POST', '/api/chargers', { notes: 'no id' });
    assert.equal(missing.body.error.details.field, 'body.id');
    const long = await s.api('POST', '/api/chargers', { id: 'x'.repeat(49) });
    assert.equal(long.body.error.details.field, 'body.id');
    assert.equal((await s.api('POST', '/api/chargers', { id: 'DUP' })).status, 201);
    const dup = await s.api('POST', '/api/chargers', { id: 'DUP' });
    assert.equal(dup.status, 409);
    assert.equal(dup.body.error.code, 'AMPERE_ERR_CONFLICT');
    const notJson = await s.api('POST', '/api/chargers', '{"id":', { 'content-type': 'application/json' });
    assert.equal(notJson.status, 400);
    assert.equal(notJson.body.error.code, 'AMPERE_ERR_BAD_REQUEST');
  });

  test('settings: heartbeat interval answered at boot, notes, validation mode; 404 for unknown', async () => {
    await s.api('POST', '/api/chargers', { id: 'SET-1' });
    const p = await s.api('PATCH', '/api/chargers/SET-1', {
      heartbeatInterval: 42,
      notes: 'pole 3',
      validationMode: 'strict',
    });
    assert.equal(p.status, 200);
    assert.equal(p.body.heartbeatInterval, 42);
    assert.equal(p.body.notes, 'pole 3');
    assert.equal(p.body.validationMode, 'strict');
    const c = await TestCharger.connect(s.ws, 'SET-1');
    assert.equal((await c.boot()).interval, 42);
    await c.close();
    const cleared = await s.api('PATCH', '/api/chargers/SET-1', { notes: null, validationMode: null });
    assert.equal(cleared.body.notes, null);
    assert.equal(cleared.body.validationMode, null);
    const bad = await s.api('PATCH', '/api/chargers/SET-1', { registration: 'maybe' });
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.details.field, 'body.registration');
    assert.equal((await s.api('PATCH', '/api/chargers/NOPE', { notes: 'x' })).status, 404);
    assert.equal((await s.api('GET', '/api/chargers/NOPE')).status, 404);
  });

  test('reject: the next boot is answered Rejected', async () => {
    await s.api('POST', '/api/chargers', { id: 'REJ-1' });
    const r = await s.api('POST', '/api/chargers/REJ-1/reject');
    assert.equal(r.body.registration, 'rejected');
    const c = await TestCharger.connect(s.ws, 'REJ-1');
    assert.equal((await c.boot()).status, 'Rejected');
    await c.close();
  });

  test('list with filters and pagination', async () => {
    for (const id of ['L-1', 'L-2', 'L-3']) await s.api('POST', '/api/chargers', { id });
    const c = await s.charger('L-2');
    const all = await s.api('GET', '/api/chargers?limit=2');
    assert.equal(all.status, 200);
    assert.equal(all.body.items.length, 2);
    assert.equal(all.body.limit, 2);
    assert.equal(all.body.offset, 0);
    assert.ok(all.body.total >= 3);
    const next = await s.api('GET', `/api/chargers?limit=2&offset=2`);
    assert.equal(next.body.offset, 2);
    const connected = await s.api('GET', '/api/chargers?connected=true');
    assert.deepEqual(
      connected.body.items.map((x: any) => x.id),
      ['L-2'],
    );
    const byVendor = await s.api('GET', '/api/chargers?vendor=TestVendor&model=TestModel&registration=accepted');
    assert.ok(byVendor.body.items.some((x: any) => x.id === 'L-2'));
    assert.ok(byVendor.body.items.every((x: any) => x.vendor === 'TestVendor'));
    const badQ = await s.api('GET', '/api/chargers?connected=perhaps');
    assert.equal(badQ.status, 400);
    assert.equal(badQ.body.error.details.field, 'query.connected');
    const unknownQ = await s.api('GET', '/api/chargers?colour=red');
    assert.equal(unknownQ.body.error.details.field, 'query.colour');
    await c.close();
  });

  test('status history, newest first, filtered by connector', async () => {
    const c = await s.charger('HIST-1', { connectors: 2 }).catch(async () => {
      await s.api('POST', '/api/chargers', { id: 'HIST-1' });
      return s.charger('HIST-1', { connectors: 2 });
    });
    await c.call('StatusNotification', { connectorId: 1, status: 'Preparing', errorCode: 'NoError' });
    await c.call('StatusNotification', { connectorId: 1, status: 'Faulted', errorCode: 'GroundFailure', info: 'RCD' });
    const h = await s.api('GET', '/api/chargers/HIST-1/status-history?connectorId=1');
    assert.equal(h.status, 200);
    assert.deepEqual(
      h.body.items.map((x: any) => x.status),
      ['Faulted', 'Preparing', 'Available'],
    );
    assert.equal(h.body.items[0].errorCode, 'GroundFailure');
    assert.equal(h.body.items[0].info, 'RCD');
    assert.equal(h.body.total, 3);
    const got = await s.api('GET', '/api/chargers/HIST-1');
    assert.equal(got.body.connectors.find((x: any) => x.connectorId === 1).status, 'Faulted');
    assert.equal((await s.api('GET', '/api/chargers/NOPE/status-history')).status, 404);
    await c.close();
  });

  test('delete: disconnects, removes, then 404', async () => {
    await s.api('POST', '/api/chargers', { id: 'DEL-1' });
    const c = await s.charger('DEL-1');
    const d = await s.api('DELETE', '/api/chargers/DEL-1');
    assert.equal(d.status, 204);
    await c.closed;
    assert.equal((await s.api('GET', '/api/chargers/DEL-1')).status, 404);
    assert.equal((await s.api('DELETE', '/api/chargers/DEL-1')).status, 404);
  });
});
