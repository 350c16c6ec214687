// Id tags over the API, and what chargers get answered once they are set.
import assert from 'node:assert/strict';
import { after, before, describe, test } from 'node:test';
import type { TestCharger } from '../helpers/charger.ts';
import { startTestServer, type TestServer } from './helpers.ts';

describe('id tags API', () => {
  let s: TestServer;
  let c: TestCharger;
  before(async () => {
    s = await startTestServer();
    c = await s.charger('TAGS-1');
  });
  after(async () => {
    await c.close();
    await s.close();
  });
  const authorize = async (idTag: string) => ((await c.call('Authorize', { idTag })) as any).idTagInfo;

  test('create, get (any case), update, delete', async () => {
    const created = await s.api('POST', '/api/id-tags', { idTag: 'Card-01', note: 'Alice' });
    assert.equal(created.status, 201);
    assert.equal(created.body.status, 'Accepted');
    assert.equal(created.body.note, 'Alice');
    assert.equal((await s.api('POST', '/api/id-tags', { idTag: 'CARD-01' })).status, 409);
    const got = await s.api('GET', '/api/id-tags/card-01');
    assert.equal(got.status, 200);
    assert.equal(got.body.idTag, 'Card-01');
    assert.equal((await authorize('CARD-01')).status, 'Accepted');
    const blocked = await s.api('PATCH', '/api/id-tags/Card-01', { status: 'Blocked' });
    assert.equal(blocked.body.status, 'Blocked');
    assert.equal((await authorize('Card-01')).status, 'Blocked');
    assert.equal((await s.api('DELETE', '/api/id-tags/Card-01')).status, 204);
    assert.equal((await s.api('GET', '/api/id-tags/Card-01')).status, 404);
    assert.equal((await s.api('DELETE', '/api/id-tags/Card-01')).status, 404);
    assert.equal((await s.api('PATCH', '/api/id-tags/Card-01', { note: 'x' })).status, 404);
  });

  test('expiry and parent tag reach the charger', async () => {
    await s.api('POST', '/api/id-tags', { idTag: 'FLEET' });
    const r = await s.api('POST', '/api/id-tags', {
      idTag: 'DRIVER-7',
      parentIdTag: 'FLEET',
      expiryDate: '2099-01-01T00:00:00Z',
    });
    assert.equal(r.body.parentIdTag, 'FLEET');
    assert.equal(r.body.expiryDate, '2099-01-01T00:00:00.000Z');
    assert.deepEqual(await authorize('DRIVER-7'), {
      status: 'Accepted',
      expiryDate: '2099-01-01T00:00:00Z',
      parentIdTag: 'FLEET',
    });
    await s.api('PATCH', '/api/id-tags/DRIVER-7', { expiryDate: '2001-01-01T00:00:00Z' });
    assert.equal((await authorize('DRIVER-7')).status, 'Expired');
    await s.api('PATCH', '/api/id-tags/DRIVER-7', { expiryDate: null });
    await s.api('PATCH', '/api/id-tags/FLEET', { status: 'Blocked' });
    assert.equal((await authorize('DRIVER-7')).status, 'Blocked');
  });

  test('the * wildcard accepts unknown tags', async () => {
    assert.equal((await authorize('NOBODY')).status, 'Invalid');
    const w = await s.api('POST', '/api/id-tags', { idTag: '*', note: 'any card' });
    assert.equal(w.status, 201);
    assert.equal((await s.api('GET', '/api/id-tags/*')).body.idTag, '*');
    assert.equal((await authorize('NOBODY')).status, 'Accepted');
    assert.equal((await s.api('DELETE', '/api/id-tags/*')).status, 204);
    assert.equal((await authorize('NOBODY')).status, 'Invalid');
  });

  test('400 names the field', async () => {
    const cases: [unknown, string][] = [
      [{ idTag: 'X'.repeat(21) }, 'body.idTag'],
      [{ idTag: 'A', status: 'Maybe' }, 'body.status'],
      [{ idTag: 'A', expiryDate: 'soon' }, 'body.expiryDate'],
      [{ status: 'Accepted' }, 'body.idTag'],
    ];
    for (const [body, field] of cases) {
      const r = await s.api('POST', '/api/id-tags', body);
      assert.equal(r.status, 400);
      assert.equal(r.body.error.details.field, field);
    }
    const q = await s.api('GET', '/api/id-tags?status=Nope');
    assert.equal(q.body.error.details.field, 'query.status');
  });

  test('CSV import: all rows or none, line and column named on error', async () => {
    const csv =
      'idTag,status,expiryDate,parentIdTag,note\nCSV-1,,,,first\nCSV-2,Blocked,2099-12-31T00:00:00Z,,\nCSV-3,Accepted,,CSV-1,"with, comma"\n';
    const r = await s.api('POST', '/api/id-tags/import', csv);
    assert.equal(r.status, 200);
    assert.deepEqual(r.body, { imported: 3 });
    assert.equal((await s.api('GET', '/api/id-tags/CSV-2')).body.status, 'Blocked');
    assert.equal((await s.api('GET', '/api/id-tags/CSV-3')).body.note, 'with, comma');
    const again = await s.api('POST', '/api/id-tags/import', 'idTag,status\nCSV-1,Blocked\n');
    assert.equal(again.body.imported, 1);
    assert.equal((await s.api('GET', '/api/id-tags/CSV-1')).body.status, 'Blocked');
    const bad = await s.api('POST', '/api/id-tags/import', 'idTag,status\nCSV-9,Accepted\nCSV-10,Sometimes\n');
    assert.equal(bad.status, 400);
    assert.equal(bad.body.error.details.field, 'body.status');
    assert.equal(bad.body.error.details.line, 3);
    assert.equal((await s.api('GET', '/api/id-tags/CSV-9')).status, 404);
    const badColumn = await s.api('POST', '/api/id-tags/import', 'tag,status\nX,Accepted\n');
    assert.equal(badColumn.body.error.details.field, 'body.tag');
  });

  test('list: search, status filter, pagination', async () => {
    const all = await s.api('GET', '/api/id-tags?search=csv&limit=2');
    assert.equal(all.body.items.length, 2);
    assert.equal(all.body.total, 3);
    const blocked = await s.api('GET', '/api/id-tags?status=Blocked&search=csv');
    assert.deepEqual(blocked.body.items.map((t: any) => t.idTag).sort(), ['CSV-1', 'CSV-2']);
  });
});
