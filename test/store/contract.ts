// The Store contract: every implementation (SQLite now, PostgreSQL later) runs this same suite
// (docs/architecture.md, "Narrow ports, one contract suite"). Each test opens a fresh, empty store.
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { CommitObserver, MeterValueInput, MeterValueRecord, Store } from '../../src/store/types.ts';

const T0 = Date.parse('2024-05-01T10:00:00.000Z');
const iso = (ms: number) => new Date(ms).toISOString();

export function meterRow(p: Partial<MeterValueInput> = {}): MeterValueInput {
  return {
    chargerId: 'CP1',
    connectorId: 1,
    transactionId: null,
    timestamp: T0,
    value: '0',
    context: 'Sample.Periodic',
    format: null,
    measurand: 'Energy.Active.Import.Register',
    phase: null,
    location: null,
    unit: 'Wh',
    wh: 0,
    w: null,
    source: 'MeterValues',
    ...p,
  };
}

export function runStoreContract(name: string, open: (opts?: { onCommit?: CommitObserver }) => Promise<Store>): void {
  describe(`Store contract: ${name}`, () => {
    let store: Store;
    beforeEach(async () => {
      store = await open();
    });
    afterEach(async () => {
      await store.close();
    });

    describe('chargers', () => {
      it('creates pending by default, patches only given fields, null clears', async () => {
        assert.equal(await store.getCharger('CP1'), null);
        const c = await store.upsertCharger('CP1', { notes: 'garage' }, T0);
        assert.equal(c.id, 'CP1');
        assert.equal(c.registration, 'pending');
        assert.equal(c.securityProfile, 0);
        assert.equal(c.connected, false);
        assert.equal(c.heartbeatInterval, null);
        assert.equal(c.validationMode, null);
        assert.equal(c.createdAt, iso(T0));
        const d = await store.upsertCharger('CP1', { registration: 'accepted', heartbeatInterval: 60 }, T0 + 1000);
        assert.equal(d.registration, 'accepted');
        assert.equal(d.heartbeatInterval, 60);
        assert.equal(d.notes, 'garage');
        assert.equal(d.createdAt, iso(T0));
        assert.equal(d.updatedAt, iso(T0 + 1000));
        const e = await store.upsertCharger('CP1', {
          notes: null,
          validationMode: 'strict',
          securityProfile: 2,
          authKeyHash: 'h',
        });
        assert.equal(e.notes, null);
        assert.equal(e.validationMode, 'strict');
        assert.equal(e.securityProfile, 2);
        assert.equal(e.authKeyHash, 'h');
        assert.equal(e.heartbeatInterval, 60);
        assert.deepEqual(await store.getCharger('CP1'), e);
      });

      it('rejects invalid patches', async () => {
        await assert.rejects(store.upsertCharger('CP1', { registration: 'maybe' as never }), {
          code: 'AMPERE_ERR_STORE_INVALID',
        });
        await assert.rejects(store.upsertCharger('CP1', { securityProfile: 4 as never }), /securityProfile/);
        await assert.rejects(store.upsertCharger('', {}), /id/);
        assert.equal(await store.getCharger('CP1'), null);
      });

      it('recordBoot stores identity, creates unknown chargers as pending, keeps settings', async () => {
        const b = await store.recordBoot(
          'EATON-1',
          {
            chargePointVendor: 'Eaton',
            chargePointModel: 'Green Motion',
            chargePointSerialNumber: 'SN1',
            firmwareVersion: '1.0',
            iccid: null,
          },
          '2024-05-01T10:00:00Z',
        );
        assert.equal(b.registration, 'pending');
        assert.equal(b.vendor, 'Eaton');
        assert.equal(b.model, 'Green Motion');
        assert.equal(b.chargePointSerialNumber, 'SN1');
        assert.equal(b.chargeBoxSerialNumber, null);
        assert.equal(b.lastBootAt, iso(T0));
        assert.equal(b.lastSeenAt, iso(T0));
        await store.upsertCharger('EATON-1', { registration: 'accepted', heartbeatInterval: 120 });
        const again = await store.recordBoot(
          'EATON-1',
          { chargePointVendor: 'Eaton', chargePointModel: 'Green Motion', firmwareVersion: '1.1' },
          T0 + 60_000,
        );
        assert.equal(again.registration, 'accepted');
        assert.equal(again.heartbeatInterval, 120);
        assert.equal(again.firmwareVersion, '1.1');
        assert.equal(again.chargePointSerialNumber, null, 'a boot replaces the whole identity');
        assert.equal(again.lastBootAt, iso(T0 + 60_000));
      });

      it('bootCharger creates a new charger with its registration and connection in one write, and keeps an existing one', async () => {
        const first = await store.bootCharger(
          'GOE-1',
          {
            chargePointVendor: 'go-e',
            chargePointModel: 'Gemini',
            chargePointSerialNumber: 'S1',
            firmwareVersion: '56.1',
          },
          T0,
          { registrationIfNew: 'accepted', remoteAddress: '10.0.0.7:5000' },
        );
        assert.equal(first.created, true);
        assert.equal(first.record.registration, 'accepted');
        assert.equal(first.record.connected, true);
        assert.equal(first.record.remoteAddress, '10.0.0.7:5000');
        assert.equal(first.record.vendor, 'go-e');
        assert.equal(first.record.lastBootAt, iso(T0));
        assert.equal(first.record.securityProfile, 0);
        assert.deepEqual(await store.getCharger('GOE-1'), first.record);

        // An operator holds it; it goes offline; it boots again from elsewhere.
        await store.upsertCharger('GOE-1', { registration: 'rejected', heartbeatInterval: 60 }, T0 + 1000);
        await store.setConnection('GOE-1', false, null, T0 + 2000);
        const again = await store.bootCharger(
          'GOE-1',
          { chargePointVendor: 'go-e', chargePointModel: 'Gemini', firmwareVersion: '56.2' },
          T0 + 60_000,
          { registrationIfNew: 'accepted', remoteAddress: null },
        );
        assert.equal(again.created, false);
        assert.equal(again.record.registration, 'rejected', 'an existing charger keeps its registration');
        assert.equal(again.record.heartbeatInterval, 60);
        assert.equal(again.record.connected, true);
        assert.equal(again.record.remoteAddress, '10.0.0.7:5000', 'no address: the last one stays');
        assert.equal(again.record.firmwareVersion, '56.2');
        assert.equal(again.record.chargePointSerialNumber, null, 'a boot replaces the whole identity');
        assert.equal(again.record.lastBootAt, iso(T0 + 60_000));
        await assert.rejects(
          store.bootCharger('GOE-2', { chargePointVendor: 'go-e', chargePointModel: 'Gemini' }, T0, {
            registrationIfNew: 'maybe' as never,
            remoteAddress: null,
          }),
          /registrationIfNew/,
        );
        assert.equal(await store.getCharger('GOE-2'), null);
      });

      it('touchCharger and setConnection track presence; lastSeenAt never goes back', async () => {
        await store.upsertCharger('CP1', {}, T0);
        await store.setConnection('CP1', true, '10.0.0.5:4242', T0);
        let c = (await store.getCharger('CP1'))!;
        assert.equal(c.connected, true);
        assert.equal(c.remoteAddress, '10.0.0.5:4242');
        assert.equal(c.lastSeenAt, iso(T0));
        await Promise.all([
          store.touchCharger('CP1', T0 + 5000),
          store.touchCharger('CP1', T0 + 9000),
          store.touchCharger('CP1', T0 + 7000),
        ]);
        c = (await store.getCharger('CP1'))!;
        assert.equal(c.lastSeenAt, iso(T0 + 9000));
        await store.touchCharger('CP1', T0 + 1000);
        assert.equal((await store.getCharger('CP1'))!.lastSeenAt, iso(T0 + 9000));
        await store.touchCharger('UNKNOWN', T0);
        assert.equal(await store.getCharger('UNKNOWN'), null, 'touch never creates a charger');
        await store.setConnection('CP1', false, null, T0 + 10_000);
        c = (await store.getCharger('CP1'))!;
        assert.equal(c.connected, false);
        assert.equal(c.remoteAddress, '10.0.0.5:4242', 'last address kept after disconnect');
        assert.equal(c.lastSeenAt, iso(T0 + 10_000));
      });

      it('markAllDisconnected clears stale flags', async () => {
        await store.upsertCharger('A');
        await store.upsertCharger('B');
        await store.setConnection('A', true, null, T0);
        await store.setConnection('B', true, null, T0);
        assert.equal(await store.markAllDisconnected(T0), 2);
        assert.equal((await store.listChargers({ connected: true })).total, 0);
      });

      it('lists with filters and pagination', async () => {
        for (let i = 0; i < 12; i++) {
          const id = `CP${String(i).padStart(2, '0')}`;
          await store.recordBoot(id, { chargePointVendor: i % 2 ? 'go-e' : 'Eaton', chargePointModel: 'M' }, T0);
          if (i < 4) await store.upsertCharger(id, { registration: 'accepted' });
          if (i < 3) await store.setConnection(id, true, null, T0);
        }
        const all = await store.listChargers({ limit: 5 });
        assert.equal(all.total, 12);
        assert.deepEqual(
          all.items.map((c) => c.id),
          ['CP00', 'CP01', 'CP02', 'CP03', 'CP04'],
        );
        const page3 = await store.listChargers({ limit: 5, offset: 10 });
        assert.deepEqual(
          page3.items.map((c) => c.id),
          ['CP10', 'CP11'],
        );
        assert.equal((await store.listChargers({ vendor: 'GO-E' })).total, 6, 'vendor compares case-insensitively');
        assert.equal((await store.listChargers({ registration: 'accepted' })).total, 4);
        assert.equal((await store.listChargers({ connected: true, vendor: 'Eaton' })).total, 2);
        assert.equal((await store.listChargers({ connected: false })).total, 9);
        assert.equal((await store.listChargers({ model: 'nope' })).total, 0);
        await assert.rejects(store.listChargers({ limit: -1 }), /limit/);
      });

      it('deleteCharger removes the charger and its live state, keeps history', async () => {
        await store.upsertCharger('CP1');
        await store.recordStatus({
          chargerId: 'CP1',
          connectorId: 1,
          status: 'Available',
          errorCode: 'NoError',
          at: T0,
        });
        await store.saveConfiguration('CP1', [{ key: 'HeartbeatInterval', value: '60', readonly: false }], T0);
        const { transactionId } = await store.startTransaction({
          chargerId: 'CP1',
          connectorId: 1,
          idTag: 'T',
          timestamp: T0,
          meterStart: 0,
        });
        assert.equal(await store.deleteCharger('CP1'), true);
        assert.equal(await store.deleteCharger('CP1'), false);
        assert.equal(await store.getCharger('CP1'), null);
        assert.deepEqual(await store.listConnectors('CP1'), []);
        assert.deepEqual(await store.getConfiguration('CP1'), []);
        assert.notEqual(await store.getTransaction(transactionId), null);
        assert.equal((await store.listStatusHistory('CP1')).total, 1);
      });

      it('connection attempts count per id with first/last time and latest address', async () => {
        await store.recordConnectionAttempt('NEW1', '1.2.3.4', T0);
        await store.recordConnectionAttempt('NEW1', '1.2.3.5', T0 + 1000);
        await store.recordConnectionAttempt('NEW2', null, T0 + 500);
        const page = await store.listConnectionAttempts();
        assert.equal(page.total, 2);
        assert.deepEqual(page.items[0], {
          id: 'NEW1',
          count: 2,
          firstAt: iso(T0),
          lastAt: iso(T0 + 1000),
          remoteAddress: '1.2.3.5',
        });
        assert.equal(page.items[1]!.id, 'NEW2');
        assert.equal(await store.deleteConnectionAttempt('NEW1'), true);
        assert.equal((await store.listConnectionAttempts()).total, 1);
      });
    });

    describe('connectors and status history', () => {
      it('recordStatus keeps the last status per connector and appends history', async () => {
        await store.recordStatus({
          chargerId: 'CP1',
          connectorId: 0,
          status: 'Available',
          errorCode: 'NoError',
          at: T0,
        });
        await store.recordStatus({
          chargerId: 'CP1',
          connectorId: 1,
          status: 'Preparing',
          errorCode: 'NoError',
          timestamp: '2024-05-01T09:59:59Z',
          at: T0,
        });
        await store.recordStatus({
          chargerId: 'CP1',
          connectorId: 1,
          status: 'Faulted',
          errorCode: 'OtherError',
          info: 'Error',
          vendorId: 'Eaton',
          vendorErrorCode: 'E42',
          at: T0 + 1000,
        });
        const cs = await store.listConnectors('CP1');
        assert.equal(cs.length, 2);
        assert.equal(cs[0]!.connectorId, 0);
        assert.deepEqual(cs[1], {
          chargerId: 'CP1',
          connectorId: 1,
          status: 'Faulted',
          errorCode: 'OtherError',
          info: 'Error',
          vendorId: 'Eaton',
          vendorErrorCode: 'E42',
          timestamp: null,
          updatedAt: iso(T0 + 1000),
        });
        const h = await store.listStatusHistory('CP1', { connectorId: 1 });
        assert.equal(h.total, 2);
        assert.deepEqual(
          h.items.map((x) => x.status),
          ['Faulted', 'Preparing'],
          'newest first',
        );
        assert.equal(h.items[1]!.timestamp, iso(T0 - 1000));
        assert.equal((await store.listStatusHistory('CP1')).total, 3);
        assert.equal((await store.listStatusHistory('CP1', { from: T0 + 1, to: T0 + 2000 })).total, 1);
        assert.equal((await store.listStatusHistory('CP1', { limit: 1, offset: 2 })).items[0]!.connectorId, 0);
      });

      it('rejects a status without a connector number', async () => {
        await assert.rejects(
          store.recordStatus({
            chargerId: 'CP1',
            connectorId: '1' as never,
            status: 'A',
            errorCode: 'NoError',
            at: T0,
          }),
          /connectorId/,
        );
      });
    });

    describe('id tags', () => {
      it('looks up case-insensitively and keeps the written spelling', async () => {
        await store.upsertIdTag({ idTag: 'AbCd1234', parentIdTag: 'FLEET', expiryDate: '2030-01-01T00:00:00Z' }, T0);
        const t = (await store.getIdTag('abcd1234'))!;
        assert.equal(t.idTag, 'AbCd1234');
        assert.equal(t.status, 'Accepted');
        assert.equal(t.parentIdTag, 'FLEET');
        assert.equal(t.expiryDate, '2030-01-01T00:00:00.000Z');
        assert.equal(t.smartPlan, null);
        assert.deepEqual(await store.getIdTag('ABCD1234'), t);
        // Same tag, other case: one row, not two.
        const u = await store.upsertIdTag({ idTag: 'ABCD1234', status: 'Blocked' });
        assert.equal(u.idTag, 'ABCD1234');
        assert.equal(u.status, 'Blocked');
        assert.equal(u.parentIdTag, 'FLEET', 'omitted fields unchanged');
        assert.equal((await store.listIdTags()).total, 1);
        assert.equal(await store.deleteIdTag('abcd1234'), true);
        assert.equal(await store.getIdTag('AbCd1234'), null);
        assert.equal(await store.deleteIdTag('abcd1234'), false);
      });

      it('stores smartPlan json and the * wildcard', async () => {
        await store.upsertIdTag({ idTag: '*', note: 'accept any' });
        const plan = { targetWh: 20000, departure: '07:00', cheap: [1, 2] };
        await store.upsertIdTag({ idTag: 'car', smartPlan: plan });
        assert.deepEqual((await store.getIdTag('CAR'))!.smartPlan, plan);
        assert.equal((await store.getIdTag('*'))!.note, 'accept any');
      });

      it('bulk upsert is one write; a bad entry rejects the whole import', async () => {
        const n = await store.upsertIdTags([
          { idTag: 'a1' },
          { idTag: 'A2', status: 'Expired' },
          { idTag: 'a3', status: 'Invalid' },
          { idTag: 'A1', note: 'again' },
        ]);
        assert.equal(n, 4);
        assert.equal((await store.listIdTags()).total, 3);
        assert.equal((await store.getIdTag('a1'))!.note, 'again');
        await assert.rejects(
          store.upsertIdTags([{ idTag: 'b1' }, { idTag: 'b2', status: 'Nope' as never }]),
          /tags\[1\]/,
        );
        assert.equal(await store.getIdTag('b1'), null);
      });

      it('lists with status filter, search and pagination', async () => {
        await store.upsertIdTags(
          Array.from({ length: 30 }, (_, i) => ({
            idTag: `TAG${String(i).padStart(2, '0')}`,
            status: i % 3 === 0 ? ('Blocked' as const) : ('Accepted' as const),
          })),
        );
        const p = await store.listIdTags({ limit: 10, offset: 10 });
        assert.equal(p.total, 30);
        assert.equal(p.items[0]!.idTag, 'TAG10');
        assert.equal((await store.listIdTags({ status: 'Blocked' })).total, 10);
        assert.equal((await store.listIdTags({ search: 'tag2' })).total, 10);
        assert.equal((await store.listIdTags({ search: 'g2', status: 'Blocked' })).total, 3);
      });
    });

    describe('transactions', () => {
      const start = { chargerId: 'CP1', connectorId: 1, idTag: 'Tag1', timestamp: T0, meterStart: 1000 };

      it('start is idempotent under retries, case-insensitive on idTag', async () => {
        const a = await store.startTransaction(start);
        assert.equal(a.duplicate, false);
        assert.ok(Number.isInteger(a.transactionId) && a.transactionId > 0);
        const b = await store.startTransaction({ ...start, idTag: 'TAG1', timestamp: iso(T0) });
        assert.deepEqual(b, { transactionId: a.transactionId, duplicate: true });
        const c = await store.startTransaction({ ...start, meterStart: 1001 });
        assert.equal(c.duplicate, false);
        assert.notEqual(c.transactionId, a.transactionId);
        assert.equal((await store.listTransactions()).total, 2);
      });

      it('a retry in the same batch gets the same id', async () => {
        const [a, b] = await Promise.all([store.startTransaction(start), store.startTransaction(start)]);
        assert.equal(a.transactionId, b.transactionId);
        assert.deepEqual([a.duplicate, b.duplicate], [false, true]);
      });

      it('stop, then a second stop is stored but does not overwrite', async () => {
        const { transactionId } = await store.startTransaction({ ...start, reservationId: 7 });
        const s1 = await store.stopTransaction({
          transactionId,
          chargerId: 'CP1',
          idTag: 'Tag1',
          timestamp: T0 + 3_600_000,
          meterStop: 8000,
          reason: 'EVDisconnected',
          transactionData: [{ timestamp: iso(T0), sampledValue: [{ value: '1000' }] }],
        });
        assert.equal(s1.known, true);
        assert.equal(s1.alreadyStopped, false);
        assert.equal(s1.transaction!.energyWh, 7000);
        assert.equal(s1.transaction!.stopReason, 'EVDisconnected');
        const s2 = await store.stopTransaction({
          transactionId,
          chargerId: 'CP1',
          timestamp: T0 + 7_200_000,
          meterStop: 9999,
          reason: 'Other',
        });
        assert.deepEqual([s2.known, s2.alreadyStopped, s2.reconciled], [true, true, false]);
        const tx = (await store.getTransaction(transactionId))!;
        assert.equal(tx.meterStop, 8000);
        assert.equal(tx.stoppedAt, iso(T0 + 3_600_000));
        assert.equal(tx.reservationId, 7);
        assert.equal(tx.stopIdTag, 'Tag1');
        const stops = await store.listStops({ transactionId });
        assert.equal(stops.total, 2);
        assert.deepEqual(
          stops.items.map((s) => [s.meterStop, s.known, s.duplicate]),
          [
            [9999, true, true],
            [8000, true, false],
          ],
        );
        assert.deepEqual(stops.items[1]!.transactionData, [{ timestamp: iso(T0), sampledValue: [{ value: '1000' }] }]);
      });

      it('closeTransaction closes an open transaction once, without storing a stop', async () => {
        const { transactionId } = await store.startTransaction(start);
        const closed = await store.closeTransaction({
          transactionId,
          chargerId: 'CP1',
          timestamp: T0 + 60_000,
          meterStop: 1500,
          reason: 'superseded by transaction 9',
        });
        assert.equal(closed!.stoppedAt, iso(T0 + 60_000));
        assert.equal(closed!.meterStop, 1500);
        assert.equal(closed!.stopReason, 'superseded by transaction 9');
        assert.equal(closed!.energyWh, 500);
        assert.equal((await store.listStops({ transactionId })).total, 0);
        const again = await store.closeTransaction({
          transactionId,
          chargerId: 'CP1',
          timestamp: T0 + 120_000,
          meterStop: 1600,
          reason: 'charger rebooted',
        });
        assert.equal(again, null, 'a closed transaction is not closed again');
        const other = await store.startTransaction({ ...start, connectorId: 2 });
        const wrong = await store.closeTransaction({
          transactionId: other.transactionId,
          chargerId: 'CP2',
          timestamp: T0,
          meterStop: 0,
          reason: 'x',
        });
        assert.equal(wrong, null, "another charger's transaction is not closed");
        await assert.rejects(
          store.closeTransaction({ transactionId, chargerId: 'CP1', timestamp: 'never', meterStop: 1, reason: 'x' }),
          (e: unknown) => (e as { code?: string }).code === 'AMPERE_ERR_STORE_INVALID',
        );
      });

      it('a StopTransaction after a close by the central system reconciles the stop; a second one does not', async () => {
        const { transactionId } = await store.startTransaction(start);
        await store.closeTransaction({
          transactionId,
          chargerId: 'CP1',
          timestamp: T0 + 60_000,
          meterStop: 1500,
          reason: 'charger rebooted',
        });
        const late = await store.stopTransaction({
          transactionId,
          chargerId: 'CP1',
          idTag: 'Tag1',
          timestamp: T0 + 90_000,
          meterStop: 1700,
        });
        assert.deepEqual([late.known, late.alreadyStopped, late.reconciled], [true, false, true]);
        const tx = (await store.getTransaction(transactionId))!;
        assert.deepEqual(
          [tx.stoppedAt, tx.meterStop, tx.stopReason, tx.stopIdTag],
          [iso(T0 + 90_000), 1700, null, 'Tag1'],
        );
        const second = await store.stopTransaction({
          transactionId,
          chargerId: 'CP1',
          timestamp: T0 + 95_000,
          meterStop: 1800,
          reason: 'Local',
        });
        assert.deepEqual([second.alreadyStopped, second.reconciled], [true, false]);
        assert.equal((await store.getTransaction(transactionId))!.meterStop, 1700);
      });

      it('an unknown transaction id is stored as an orphan stop and answered', async () => {
        const r = await store.stopTransaction({ transactionId: -1, chargerId: 'CP1', timestamp: T0, meterStop: 5 });
        assert.deepEqual(r, { known: false, alreadyStopped: false, reconciled: false, transaction: null });
        const r2 = await store.stopTransaction({
          transactionId: 424242,
          chargerId: 'CP1',
          timestamp: T0,
          meterStop: 5,
        });
        assert.equal(r2.known, false);
        const stops = await store.listStops({ chargerId: 'CP1' });
        assert.equal(stops.total, 2);
        assert.ok(stops.items.every((s) => !s.known));
      });

      it("a stop from another charger does not close this charger's transaction", async () => {
        const { transactionId } = await store.startTransaction(start);
        const r = await store.stopTransaction({ transactionId, chargerId: 'CP2', timestamp: T0, meterStop: 5 });
        assert.equal(r.known, false);
        assert.equal((await store.getTransaction(transactionId))!.stoppedAt, null);
      });

      it('active lookups per connector and per id tag', async () => {
        const a = await store.startTransaction(start);
        const b = await store.startTransaction({ ...start, connectorId: 2, idTag: 'other', timestamp: T0 + 1 });
        const c = await store.startTransaction({ ...start, chargerId: 'CP2', idTag: 'TAG1', timestamp: T0 + 2 });
        assert.equal((await store.activeTransactionFor('CP1', 1))!.id, a.transactionId);
        assert.equal((await store.activeTransactionFor('CP1', 2))!.id, b.transactionId);
        assert.equal(await store.activeTransactionFor('CP1', 3), null);
        assert.deepEqual(
          (await store.activeTransactionsByIdTag('tag1')).map((t) => t.id),
          [a.transactionId, c.transactionId],
        );
        await store.stopTransaction({
          transactionId: a.transactionId,
          chargerId: 'CP1',
          timestamp: T0 + 5,
          meterStop: 1,
        });
        assert.equal(await store.activeTransactionFor('CP1', 1), null);
        assert.deepEqual(
          (await store.activeTransactionsByIdTag('Tag1')).map((t) => t.id),
          [c.transactionId],
        );
      });

      it('lists with filters, time overlap and pagination, newest first', async () => {
        const H = 3_600_000;
        const ids: number[] = [];
        for (let i = 0; i < 6; i++) {
          const r = await store.startTransaction({
            chargerId: i < 4 ? 'CP1' : 'CP2',
            connectorId: (i % 2) + 1,
            idTag: i === 5 ? 'x' : 'y',
            timestamp: T0 + i * H,
            meterStart: 0,
          });
          ids.push(r.transactionId);
        }
        // tx0 runs 0..1.5h, tx1 runs 1h..1.1h, others stay active.
        await store.stopTransaction({
          transactionId: ids[0]!,
          chargerId: 'CP1',
          timestamp: T0 + 1.5 * H,
          meterStop: 1,
        });
        await store.stopTransaction({
          transactionId: ids[1]!,
          chargerId: 'CP1',
          timestamp: T0 + 1.1 * H,
          meterStop: 1,
        });
        const all = await store.listTransactions({ limit: 2 });
        assert.equal(all.total, 6);
        assert.deepEqual(
          all.items.map((t) => t.id),
          [ids[5], ids[4]],
        );
        assert.equal((await store.listTransactions({ chargerId: 'CP1' })).total, 4);
        assert.equal((await store.listTransactions({ chargerId: 'CP1', connectorId: 2 })).total, 2);
        assert.equal((await store.listTransactions({ idTag: 'X' })).total, 1);
        assert.equal((await store.listTransactions({ active: true })).total, 4);
        assert.equal((await store.listTransactions({ active: false })).total, 2);
        const window = await store.listTransactions({ from: T0 + 1.2 * H, to: T0 + 3 * H });
        assert.deepEqual(
          window.items.map((t) => t.id).sort((a, b) => a - b),
          [ids[0], ids[2]],
        );
      });

      it('rejects a start without an integer meterStart', async () => {
        await assert.rejects(store.startTransaction({ ...start, meterStart: 'x' as never }), /meterStart/);
        await assert.rejects(store.startTransaction({ ...start, timestamp: 'not a time' }), /timestamp/);
      });

      it('meter summary: samples, last energy, peak and average power', async () => {
        const { transactionId } = await store.startTransaction(start);
        const rows: MeterValueInput[] = [];
        for (let i = 0; i < 4; i++) {
          const ts = T0 + i * 60_000;
          rows.push(meterRow({ transactionId, timestamp: ts, value: String(1000 + i * 100), wh: 1000 + i * 100 }));
          for (const phase of ['L1', 'L2', 'L3'])
            rows.push(
              meterRow({
                transactionId,
                timestamp: ts,
                measurand: 'Power.Active.Import',
                phase,
                unit: 'W',
                value: String(1000 * (i + 1)),
                wh: null,
                w: 1000 * (i + 1),
              }),
            );
        }
        await store.insertMeterValues(rows);
        const s = await store.transactionMeterSummary(transactionId);
        assert.equal(s.samples, 16);
        assert.equal(s.lastWh, 1300);
        assert.equal(s.peakW, 12000);
        assert.equal(s.avgW, 7500);
        assert.equal(s.firstAt, iso(T0));
        assert.equal(s.lastAt, iso(T0 + 180_000));
        const empty = await store.transactionMeterSummary(999);
        assert.deepEqual(empty, {
          transactionId: 999,
          samples: 0,
          lastWh: null,
          peakW: null,
          avgW: null,
          firstAt: null,
          lastAt: null,
        });
      });
    });

    describe('meter values', () => {
      it('stores every field as sent and filters', async () => {
        await store.insertMeterValues([
          meterRow({ value: '12.5', unit: 'kWh', wh: 12500, context: 'Transaction.Begin', source: 'StartTransaction' }),
          meterRow({ measurand: null, value: '12600', wh: 12600, timestamp: T0 + 10_000 }),
          meterRow({
            measurand: 'Current.Import',
            phase: 'L1',
            unit: 'A',
            value: '16.0',
            wh: null,
            location: 'Outlet',
            format: 'Raw',
            transactionId: 5,
          }),
          meterRow({ chargerId: 'CP2', value: '1' }),
        ]);
        const cp1 = await store.queryMeterValues({ chargerId: 'CP1' });
        assert.equal(cp1.length, 3);
        const first = cp1[0]!;
        assert.ok(Number.isInteger(first.id));
        assert.deepEqual(
          { ...first, id: 0 },
          {
            id: 0,
            index: 0,
            chargerId: 'CP1',
            connectorId: 1,
            transactionId: null,
            timestamp: iso(T0),
            value: '12.5',
            context: 'Transaction.Begin',
            format: null,
            measurand: 'Energy.Active.Import.Register',
            phase: null,
            location: null,
            unit: 'kWh',
            wh: 12500,
            w: null,
            source: 'StartTransaction',
          },
        );
        assert.equal(cp1[2]!.measurand, null, 'measurand kept as sent (absent)');
        // A missing measurand is the default energy register (OCPP 1.6 §7.31).
        const energy = await store.queryMeterValues({ chargerId: 'CP1', measurand: 'Energy.Active.Import.Register' });
        assert.equal(energy.length, 2);
        assert.equal((await store.queryMeterValues({ transactionId: 5 })).length, 1);
        assert.equal((await store.queryMeterValues({ phase: 'L1' }))[0]!.location, 'Outlet');
        assert.equal((await store.queryMeterValues({ from: T0 + 1, to: T0 + 20_000 })).length, 1);
        assert.equal((await store.queryMeterValues({ limit: 2, offset: 3 })).length, 1);
        assert.equal((await store.queryMeterValues({ connectorId: 2 })).length, 0);
      });

      it('keeps the sampled values of one meterValue together, in the order sent', async () => {
        await store.insertMeterValues([
          meterRow({ value: '1', measurand: 'Voltage', phase: 'L1-N' }),
          meterRow({ value: '2', measurand: 'Voltage', phase: 'L2-N' }),
          meterRow({ value: '3', measurand: 'Voltage', phase: 'L3-N' }),
          meterRow({ value: '4', timestamp: T0 + 1000 }),
        ]);
        const rows = await store.queryMeterValues({ chargerId: 'CP1' });
        assert.deepEqual(
          rows.map((r) => [r.value, r.index, r.timestamp]),
          [
            ['1', 0, iso(T0)],
            ['2', 1, iso(T0)],
            ['3', 2, iso(T0)],
            ['4', 0, iso(T0 + 1000)],
          ],
        );
        assert.equal(rows[0]!.id, rows[2]!.id);
        assert.notEqual(rows[0]!.id, rows[3]!.id);
        const l2 = await store.queryMeterValues({ phase: 'L2-N' });
        assert.deepEqual(
          l2.map((r) => [r.value, r.index]),
          [['2', 1]],
        );
      });

      it('insertMeterReadings stores a message as insertMeterValues stores its rows', async () => {
        const sent = [
          {
            timestamp: iso(T0),
            sampledValue: [
              { value: '12.5', context: 'Transaction.Begin', unit: 'kWh' },
              { value: '7.2', measurand: 'Power.Active.Import', unit: 'kW' },
              { value: 'AB01', format: 'SignedData', measurand: 'Energy.Active.Import.Register' },
              { value: '16.0', measurand: 'Current.Import', phase: 'L1', location: 'Outlet', unit: 'A' },
            ],
          },
          { timestamp: iso(T0 + 1000), sampledValue: [] },
          { timestamp: iso(T0 + 1000), sampledValue: [{ value: '12600' }] },
          // The same time as the one before: one meterValue with it, as consecutive rows are.
          { timestamp: iso(T0 + 1000), sampledValue: [{ value: '230.1', measurand: 'Voltage', unit: 'V' }] },
        ];
        await store.insertMeterReadings({
          chargerId: 'READ',
          connectorId: 2,
          transactionId: 9,
          source: 'StopTransaction',
          meterValue: sent,
        });
        const rows: MeterValueInput[] = [];
        for (const mv of sent)
          for (const sv of mv.sampledValue) {
            const f = sv as Record<string, string | undefined>;
            rows.push({
              chargerId: 'ROWS',
              connectorId: 2,
              transactionId: 9,
              timestamp: mv.timestamp,
              value: sv.value,
              context: f.context ?? null,
              format: f.format ?? null,
              measurand: f.measurand ?? null,
              phase: f.phase ?? null,
              location: f.location ?? null,
              unit: f.unit ?? null,
              wh: null,
              w: null,
              source: 'StopTransaction',
            });
          }
        rows[0]!.wh = 12500;
        rows[1]!.w = 7200;
        rows[4]!.wh = 12600;
        await store.insertMeterValues(rows);
        const read = await store.queryMeterValues({ chargerId: 'READ' });
        const expected = await store.queryMeterValues({ chargerId: 'ROWS' });
        assert.equal(read.length, 6);
        const strip = (r: MeterValueRecord) => ({ ...r, id: 0, chargerId: '' });
        assert.deepEqual(read.map(strip), expected.map(strip));
        assert.deepEqual(
          read.map((r) => [r.value, r.index, r.wh, r.w]),
          [
            ['12.5', 0, 12500, null],
            ['7.2', 1, null, 7200],
            ['AB01', 2, null, null],
            ['16.0', 3, null, null],
            ['12600', 0, 12600, null],
            ['230.1', 1, null, null],
          ],
        );
        assert.equal(read[4]!.id, read[5]!.id, 'one meterValue for the same time');
        // A shorter message right after a longer one stores only its own values.
        await store.insertMeterReadings({
          chargerId: 'SHORT',
          connectorId: 1,
          transactionId: null,
          source: 'MeterValues',
          meterValue: [{ timestamp: T0, sampledValue: [{ value: '5' }] }],
        });
        assert.deepEqual(
          (await store.queryMeterValues({ chargerId: 'SHORT' })).map((r) => [r.value, r.wh]),
          [['5', 5]],
        );
      });

      it('insertMeterReadings rejects a message with a bad time or value, storing none of it', async () => {
        const message = (timestamp: string, value: unknown) => ({
          chargerId: 'BAD',
          connectorId: 1,
          transactionId: null,
          source: 'MeterValues' as const,
          meterValue: [
            { timestamp: iso(T0), sampledValue: [{ value: '1' }] },
            { timestamp, sampledValue: [{ value: value as string }] },
          ],
        });
        await assert.rejects(store.insertMeterReadings(message('yesterday', '2')), /timestamp/);
        await assert.rejects(store.insertMeterReadings(message(iso(T0 + 1000), 2)), /value: a string is required/);
        assert.equal((await store.queryMeterValues({ chargerId: 'BAD' })).length, 0);
      });

      it('a row with an unparseable timestamp rejects the whole message', async () => {
        await assert.rejects(store.insertMeterValues([meterRow(), meterRow({ timestamp: 'yesterday' })]), /timestamp/);
        assert.equal((await store.queryMeterValues({})).length, 0);
      });

      it('downsamples: average per bucket for power, last value for registers', async () => {
        const rows: MeterValueInput[] = [];
        // 10 minutes of 10 s samples: energy grows 10 Wh per sample, power alternates 1000/3000 W.
        for (let i = 0; i < 60; i++) {
          const ts = T0 + i * 10_000;
          rows.push(meterRow({ timestamp: ts, value: String(i * 10), wh: i * 10 }));
          rows.push(
            meterRow({
              timestamp: ts,
              measurand: 'Power.Active.Import',
              unit: 'W',
              value: String(i % 2 ? 3000 : 1000),
              wh: null,
              w: i % 2 ? 3000 : 1000,
            }),
          );
        }
        rows.push(meterRow({ timestamp: T0, measurand: 'Power.Active.Import', unit: 'W', value: 'n/a', wh: null }));
        await store.insertMeterValues(rows);
        const b = await store.queryMeterBuckets({ chargerId: 'CP1', stepSeconds: 300 });
        assert.equal(b.length, 4, '2 buckets × 2 series');
        const energy = b.filter((x) => x.measurand === 'Energy.Active.Import.Register');
        const power = b.filter((x) => x.measurand === 'Power.Active.Import');
        assert.deepEqual(
          energy.map((x) => [x.timestamp, x.value, x.wh, x.samples]),
          [
            [iso(T0), 290, 290, 30],
            [iso(T0 + 300_000), 590, 590, 30],
          ],
        );
        assert.deepEqual(
          power.map((x) => [x.timestamp, x.value, x.w, x.samples]),
          [
            [iso(T0), 2000, 2000, 31],
            [iso(T0 + 300_000), 2000, 2000, 30],
          ],
        );
        assert.equal(power[0]!.unit, 'W');
        assert.equal(power[0]!.connectorId, 1);
        const onlyPower = await store.queryMeterBuckets({ measurand: 'Power.Active.Import', stepSeconds: 60 });
        assert.equal(onlyPower.length, 10);
        const limited = await store.queryMeterBuckets({ stepSeconds: 60, limit: 3, from: T0 + 60_000 });
        assert.equal(limited.length, 3);
        assert.equal(limited[0]!.timestamp, iso(T0 + 60_000));
        await assert.rejects(store.queryMeterBuckets({ stepSeconds: 0 }), /stepSeconds/);
      });
    });

    describe('events, findings, configuration, profiles, settings', () => {
      it('records and lists events newest first with filters', async () => {
        const id1 = await store.recordEvent({
          chargerId: 'CP1',
          kind: 'DataTransfer',
          payload: { vendorId: 'Eaton', messageId: 'GreenMotion', data: '{"x":1}' },
          at: T0,
        });
        const id2 = await store.recordEvent({
          chargerId: 'CP1',
          kind: 'FirmwareStatusNotification',
          payload: { status: 'Installed' },
          at: T0 + 1,
        });
        await store.recordEvent({ chargerId: null, kind: 'server', payload: null, at: T0 + 2 });
        assert.ok(id2 > id1);
        const cp1 = await store.listEvents({ chargerId: 'CP1' });
        assert.equal(cp1.total, 2);
        assert.equal(cp1.items[0]!.kind, 'FirmwareStatusNotification');
        assert.deepEqual(cp1.items[1]!.payload, { vendorId: 'Eaton', messageId: 'GreenMotion', data: '{"x":1}' });
        assert.equal(cp1.items[1]!.at, iso(T0));
        assert.equal((await store.listEvents({ kind: 'DataTransfer' })).total, 1);
        assert.equal((await store.listEvents()).total, 3);
        assert.equal((await store.listEvents({ from: T0 + 1 })).total, 2);
        assert.equal((await store.listEvents({ limit: 1, offset: 2 })).items[0]!.id, id1);
      });

      it('records conformance findings with original and repaired values', async () => {
        await store.recordFindings(
          'CP1',
          'MeterValues',
          [
            { path: '/meterValue/0/sampledValue/0/unit', rule: 'unit-unknown', original: 'Hz', repaired: null },
            { path: '/meterValue/0/sampledValue/0/value', rule: 'value-number', original: 230.1, repaired: '230.1' },
          ],
          T0,
        );
        await store.recordFindings(
          'CP1',
          'BootNotification',
          [{ path: '/chargePointSerialNumber', rule: 'maxLength', original: 'x'.repeat(30), repaired: 'x'.repeat(25) }],
          T0 + 1,
        );
        const all = await store.listFindings('CP1');
        assert.equal(all.total, 3);
        assert.equal(all.items[0]!.action, 'BootNotification');
        const mv = await store.listFindings('CP1', { action: 'MeterValues' });
        assert.equal(mv.total, 2);
        const num = mv.items.find((f) => f.rule === 'value-number')!;
        assert.equal(num.original, 230.1);
        assert.equal(num.repaired, '230.1');
        assert.equal(num.at, iso(T0));
        assert.equal((await store.listFindings('CP1', { rule: 'maxLength' })).total, 1);
        assert.equal((await store.listFindings('CP2')).total, 0);
      });

      it('configuration copy merges pages and can replace', async () => {
        await store.saveConfiguration(
          'CP1',
          [
            { key: 'HeartbeatInterval', value: '300', readonly: false },
            { key: 'NumberOfConnectors', value: '2', readonly: true },
          ],
          T0,
        );
        await store.saveConfiguration('CP1', [{ key: 'HeartbeatInterval', value: '60', readonly: false }], T0 + 1);
        await store.saveConfiguration('CP1', [{ key: 'UnknownValue', value: null, readonly: false }], T0 + 2);
        let cfg = await store.getConfiguration('CP1');
        assert.deepEqual(cfg, [
          { key: 'HeartbeatInterval', value: '60', readonly: false, updatedAt: iso(T0 + 1) },
          { key: 'NumberOfConnectors', value: '2', readonly: true, updatedAt: iso(T0) },
          { key: 'UnknownValue', value: null, readonly: false, updatedAt: iso(T0 + 2) },
        ]);
        await store.saveConfiguration('CP1', [{ key: 'A', value: '1', readonly: true }], T0 + 3, { replace: true });
        cfg = await store.getConfiguration('CP1');
        assert.deepEqual(
          cfg.map((c) => c.key),
          ['A'],
        );
        assert.deepEqual(await store.getConfiguration('CP2'), []);
      });

      it('charging profiles: replace by id and by stack level + purpose, clear by filter', async () => {
        const base = { chargerId: 'CP1', connectorId: 1, stackLevel: 0, purpose: 'TxDefaultProfile', at: T0 };
        await store.saveChargingProfile({ ...base, chargingProfileId: 1, profile: { v: 1 } });
        await store.saveChargingProfile({ ...base, chargingProfileId: 1, profile: { v: 2 } });
        await store.saveChargingProfile({ ...base, chargingProfileId: 2, stackLevel: 1, profile: { v: 3 } });
        await store.saveChargingProfile({
          ...base,
          chargingProfileId: 3,
          connectorId: 0,
          purpose: 'ChargePointMaxProfile',
          profile: { v: 4 },
        });
        let ps = await store.listChargingProfiles('CP1');
        assert.deepEqual(
          ps.map((p) => [p.chargingProfileId, p.profile]),
          [
            [3, { v: 4 }],
            [1, { v: 2 }],
            [2, { v: 3 }],
          ],
        );
        // Same stackLevel and purpose on the same connector replaces profile 2.
        await store.saveChargingProfile({ ...base, chargingProfileId: 9, stackLevel: 1, profile: { v: 5 } });
        ps = await store.listChargingProfiles('CP1');
        assert.deepEqual(ps.map((p) => p.chargingProfileId).sort(), [1, 3, 9]);
        assert.equal(ps.find((p) => p.chargingProfileId === 9)!.updatedAt, iso(T0));
        assert.equal(await store.clearChargingProfiles('CP1', { purpose: 'TxDefaultProfile', stackLevel: 0 }), 1);
        assert.equal(await store.clearChargingProfiles('CP1', { chargingProfileId: 42 }), 0);
        assert.equal(await store.clearChargingProfiles('CP1'), 2);
        assert.deepEqual(await store.listChargingProfiles('CP1'), []);
      });

      it('settings get, set, overwrite and delete', async () => {
        assert.equal(await store.getSetting('api.tokenHash'), null);
        await store.setSetting('api.tokenHash', 'abc');
        await store.setSetting('api.tokenHash', 'def');
        assert.equal(await store.getSetting('api.tokenHash'), 'def');
        await store.setSetting('api.tokenHash', null);
        assert.equal(await store.getSetting('api.tokenHash'), null);
      });
    });

    describe('configuration policies', () => {
      it('puts, replaces, lists fleet → model → charger, deletes; outcomes replace per key', async () => {
        await store.putConfigPolicy({ scope: 'charger', chargerId: 'CP1', key: 'HeartbeatInterval', value: '60' }, T0);
        await store.putConfigPolicy({ scope: 'fleet', key: 'MeterValueSampleInterval', value: '60' }, T0);
        const m = await store.putConfigPolicy(
          { scope: 'model', vendor: 'go-e', model: 'Gemini', key: 'MeterValueSampleInterval', value: '30' },
          T0,
        );
        assert.deepEqual(m, {
          scope: 'model',
          vendor: 'go-e',
          model: 'Gemini',
          chargerId: null,
          key: 'MeterValueSampleInterval',
          value: '30',
          updatedAt: iso(T0),
        });
        await store.putConfigPolicy({ scope: 'fleet', key: 'MeterValueSampleInterval', value: '120' }, T0 + 1000);
        const all = await store.listConfigPolicies();
        assert.deepEqual(
          all.map((p) => [p.scope, p.vendor, p.chargerId, p.key, p.value]),
          [
            ['fleet', null, null, 'MeterValueSampleInterval', '120'],
            ['model', 'go-e', null, 'MeterValueSampleInterval', '30'],
            ['charger', null, 'CP1', 'HeartbeatInterval', '60'],
          ],
        );
        assert.equal(all[0]!.updatedAt, iso(T0 + 1000));
        assert.equal(await store.deleteConfigPolicy({ scope: 'fleet', key: 'MeterValueSampleInterval' }), true);
        assert.equal(await store.deleteConfigPolicy({ scope: 'fleet', key: 'MeterValueSampleInterval' }), false);
        assert.equal((await store.listConfigPolicies()).length, 2);

        await store.recordConfigOutcomes('CP1', [{ key: 'A', value: '1', status: 'Rejected', note: 'read-only' }], T0);
        await store.recordConfigOutcomes(
          'CP1',
          [
            { key: 'A', value: '2', status: 'Accepted' },
            { key: 'B', value: 'x', status: 'NotSupported' },
          ],
          T0 + 5,
        );
        await store.recordConfigOutcomes('CP2', [{ key: 'A', value: '1', status: 'Accepted' }], T0);
        assert.deepEqual(await store.listConfigOutcomes('CP1'), [
          { chargerId: 'CP1', key: 'A', value: '2', status: 'Accepted', note: null, at: iso(T0 + 5) },
          { chargerId: 'CP1', key: 'B', value: 'x', status: 'NotSupported', note: null, at: iso(T0 + 5) },
        ]);
      });

      it('per-charger id tags: all by default, replaced as a whole, lower case, free-charging tag apart', async () => {
        assert.deepEqual(await store.getChargerTags('CP1'), {
          chargerId: 'CP1',
          allowed: ['*'],
          freeChargingTag: null,
        });
        const set = await store.setChargerTags('CP1', {
          allowed: ['Card-B', 'card-a', 'CARD-B'],
          freeChargingTag: 'FREECHARGING',
        });
        assert.deepEqual(set, { chargerId: 'CP1', allowed: ['card-a', 'card-b'], freeChargingTag: 'freecharging' });
        assert.deepEqual(await store.getChargerTags('CP1'), set);
        assert.deepEqual((await store.getChargerTags('CP2')).allowed, ['*']);
        await store.setChargerTags('CP1', { allowed: [], freeChargingTag: null });
        assert.deepEqual(await store.getChargerTags('CP1'), {
          chargerId: 'CP1',
          allowed: ['*'],
          freeChargingTag: null,
        });
        await assert.rejects(store.setChargerTags('CP1', { allowed: ['x'.repeat(21)], freeChargingTag: null }), {
          code: 'AMPERE_ERR_STORE_INVALID',
        });
      });

      it('reservations: ids in order, status and transaction updates, filters, newest first', async () => {
        const a = await store.createReservation(
          { chargerId: 'CP1', connectorId: 1, idTag: 'CARD', expiryDate: T0 + 3600_000 },
          T0,
        );
        const b = await store.createReservation(
          { chargerId: 'CP2', connectorId: 0, idTag: 'OTHER', parentIdTag: 'FLEET', expiryDate: T0 + 60_000 },
          T0,
        );
        assert.ok(b.id > a.id);
        assert.deepEqual(a, {
          id: a.id,
          chargerId: 'CP1',
          connectorId: 1,
          idTag: 'CARD',
          parentIdTag: null,
          expiryDate: iso(T0 + 3600_000),
          status: 'requested',
          transactionId: null,
          createdAt: iso(T0),
          updatedAt: iso(T0),
        });
        const accepted = await store.updateReservation(a.id, { status: 'Accepted' }, T0 + 1);
        assert.equal(accepted?.status, 'Accepted');
        assert.equal(accepted?.transactionId, null);
        const consumed = await store.updateReservation(a.id, { status: 'consumed', transactionId: 7 }, T0 + 2);
        assert.equal(consumed?.transactionId, 7);
        assert.equal(consumed?.updatedAt, iso(T0 + 2));
        assert.equal(await store.updateReservation(999_999, { status: 'x' }, T0), null);
        assert.deepEqual(
          (await store.listReservations()).items.map((r) => r.id),
          [b.id, a.id],
        );
        assert.deepEqual(
          (await store.listReservations({ chargerId: 'CP1', status: 'consumed' })).items.map((r) => r.id),
          [a.id],
        );
        assert.equal((await store.getReservation(b.id))?.parentIdTag, 'FLEET');
        await assert.rejects(
          store.createReservation({ chargerId: 'CP1', connectorId: -1, idTag: 'C', expiryDate: T0 }, T0),
          { code: 'AMPERE_ERR_STORE_INVALID' },
        );
      });

      it('diagnostics requests: created with a hashed credential, patched field by field, newest first', async () => {
        const a = await store.createDiagnosticsRequest(
          { chargerId: 'CP1', transport: 'ftp', secretHash: 'ab'.repeat(32), expiresAt: T0 + 3600_000 },
          T0,
        );
        const b = await store.createDiagnosticsRequest(
          {
            chargerId: 'CP2',
            transport: 'http',
            logType: 'SecurityLog',
            secretHash: 'cd'.repeat(32),
            expiresAt: T0 + 60_000,
            startTime: T0 - 86_400_000,
            retries: 2,
            retryInterval: 30,
          },
          T0,
        );
        assert.ok(b.id > a.id);
        assert.deepEqual(a, {
          id: a.id,
          chargerId: 'CP1',
          transport: 'ftp',
          logType: null,
          secretHash: 'ab'.repeat(32),
          expiresAt: iso(T0 + 3600_000),
          startTime: null,
          stopTime: null,
          retries: null,
          retryInterval: null,
          status: 'requested',
          fileName: null,
          file: null,
          fileSize: null,
          receivedAt: null,
          error: null,
          history: [{ status: 'requested', at: iso(T0) }],
          createdAt: iso(T0),
          updatedAt: iso(T0),
        });
        const sent = await store.updateDiagnosticsRequest(a.id, { status: 'sent', fileName: 'log.zip' }, T0 + 1);
        assert.equal(sent?.status, 'sent');
        assert.equal(sent?.fileName, 'log.zip');
        const got = await store.updateDiagnosticsRequest(
          a.id,
          { file: '1-log.zip', fileSize: 123, receivedAt: T0 + 2, history: [{ status: 'received', at: iso(T0 + 2) }] },
          T0 + 2,
        );
        assert.deepEqual(
          [got?.status, got?.fileName, got?.file, got?.fileSize, got?.receivedAt, got?.updatedAt, got?.history.length],
          ['sent', 'log.zip', '1-log.zip', 123, iso(T0 + 2), iso(T0 + 2), 1],
        );
        assert.equal(await store.updateDiagnosticsRequest(999_999, { status: 'x' }, T0), null);
        assert.deepEqual(
          (await store.listDiagnosticsRequests()).map((r) => r.id),
          [b.id, a.id],
        );
        assert.deepEqual(
          (await store.listDiagnosticsRequests({ chargerId: 'CP2' })).map((r) => [
            r.id,
            r.retries,
            r.startTime,
            r.logType,
          ]),
          [[b.id, 2, iso(T0 - 86_400_000), 'SecurityLog']],
        );
        await assert.rejects(
          store.createDiagnosticsRequest(
            { chargerId: 'CP1', transport: 'sftp' as never, secretHash: 'x', expiresAt: T0 },
            T0,
          ),
          { code: 'AMPERE_ERR_STORE_INVALID' },
        );
        await assert.rejects(store.updateDiagnosticsRequest(a.id, { secretHash: 'x' } as never, T0), {
          code: 'AMPERE_ERR_STORE_INVALID',
        });
      });

      it('refuses a policy whose scope and target do not match', async () => {
        const bad = [
          { scope: 'fleet', chargerId: 'CP1', key: 'K', value: '1' },
          { scope: 'model', vendor: 'go-e', key: 'K', value: '1' },
          { scope: 'charger', key: 'K', value: '1' },
          { scope: 'site', key: 'K', value: '1' },
          { scope: 'fleet', key: 'K'.repeat(51), value: '1' },
          { scope: 'fleet', key: 'K', value: 'v'.repeat(501) },
        ];
        for (const p of bad) {
          await assert.rejects(store.putConfigPolicy(p as never, T0), { code: 'AMPERE_ERR_STORE_INVALID' });
        }
        assert.deepEqual(await store.listConfigPolicies(), []);
      });
    });

    describe('operations', () => {
      it('ping answers while open and rejects once closed (readiness)', async () => {
        await store.ping();
        const other = await open();
        await other.close();
        await assert.rejects(other.ping(), { code: 'AMPERE_ERR_STORE_CLOSED' });
      });

      it('tells the commit observer the duration of each group commit', async () => {
        const seconds: number[] = [];
        const observed = await open({ onCommit: (s) => seconds.push(s) });
        try {
          await Promise.all([observed.setSetting('a', '1'), observed.setSetting('b', '2')]);
          await observed.setSetting('c', '3');
          assert.ok(seconds.length >= 2 && seconds.length <= 3, `one duration per batch, got ${seconds.length}`);
          for (const s of seconds) assert.ok(s >= 0 && s < 60, `a plausible duration: ${s}`);
        } finally {
          await observed.close();
        }
      });
    });

    describe('meter-value retention', () => {
      const DAY = 86_400_000;
      const D1 = Date.parse('2024-05-01T00:00:00.000Z');
      // One meterValue: the total register, a phase's power (not the total: left out of maxPowerW),
      // the total power, and an interval energy reading (not the register: left out of energyWh).
      const reading = (connectorId: number, ts: number, wh: number, w: number) => [
        meterRow({ connectorId, timestamp: ts, value: String(wh), wh }),
        meterRow({
          connectorId,
          timestamp: ts,
          measurand: 'Power.Active.Import',
          phase: 'L1',
          unit: 'W',
          wh: null,
          w: w * 10,
        }),
        meterRow({ connectorId, timestamp: ts, measurand: 'Power.Active.Import', unit: 'W', wh: null, w }),
        meterRow({ connectorId, timestamp: ts, measurand: 'Energy.Active.Import.Interval', wh: 99_999 }),
      ];

      it('folds old meter values into per-day totals per connector, in batches, and deletes them', async () => {
        await store.insertMeterValues(reading(1, D1 + 1000, 1000, 3000));
        await store.insertMeterValues(reading(1, D1 + 2000, 1500, 7000));
        await store.insertMeterValues(reading(1, D1 + 3000, 2500, 5000));
        await store.insertMeterValues(reading(2, D1 + 3000, 40, 1000));
        await store.insertMeterValues(reading(1, D1 + DAY + 5000, 2600, 4000));
        // Newer than the cut: kept as it is.
        await store.insertMeterValues(reading(1, D1 + 3 * DAY, 3000, 2000));

        const cut = D1 + 2 * DAY;
        const batches: number[] = [];
        for (let n = 2; n === 2; ) {
          n = await store.pruneMeterValues(cut, 2);
          batches.push(n);
        }
        assert.deepEqual(batches, [2, 2, 1], 'five old meterValues, two at a time');
        assert.equal(await store.pruneMeterValues(cut, 2), 0);

        const left = await store.queryMeterValues({ chargerId: 'CP1', limit: 100 });
        assert.deepEqual([...new Set(left.map((r) => r.timestamp))], [iso(D1 + 3 * DAY)]);
        assert.deepEqual(await store.listMeterDaily({ chargerId: 'CP1' }), [
          {
            chargerId: 'CP1',
            connectorId: 1,
            day: '2024-05-01',
            energyWh: 1500,
            firstWh: 1000,
            lastWh: 2500,
            maxPowerW: 7000,
            readings: 3,
          },
          {
            chargerId: 'CP1',
            connectorId: 2,
            day: '2024-05-01',
            energyWh: 0,
            firstWh: 40,
            lastWh: 40,
            maxPowerW: 1000,
            readings: 1,
          },
          {
            chargerId: 'CP1',
            connectorId: 1,
            day: '2024-05-02',
            energyWh: 0,
            firstWh: 2600,
            lastWh: 2600,
            maxPowerW: 4000,
            readings: 1,
          },
        ]);
        const one = await store.listMeterDaily({
          chargerId: 'CP1',
          connectorId: 1,
          from: '2024-05-02',
          to: '2024-05-02',
        });
        assert.deepEqual(
          one.map((d) => d.day),
          ['2024-05-02'],
        );
        assert.deepEqual(await store.listMeterDaily({ chargerId: 'CP2' }), []);
      });

      it('merges a day folded in two runs', async () => {
        await store.insertMeterValues(reading(1, D1 + 1000, 1000, 3000));
        assert.equal(await store.pruneMeterValues(D1 + 1500, 100), 1);
        await store.insertMeterValues(reading(1, D1 + 2000, 1800, 9000));
        assert.equal(await store.pruneMeterValues(D1 + DAY, 100), 1);
        const [day] = await store.listMeterDaily({ chargerId: 'CP1' });
        assert.deepEqual(day, {
          chargerId: 'CP1',
          connectorId: 1,
          day: '2024-05-01',
          energyWh: 800,
          firstWh: 1000,
          lastWh: 1800,
          maxPowerW: 9000,
          readings: 2,
        });
      });

      it('refuses a bad batch size or day', async () => {
        await assert.rejects(store.pruneMeterValues(D1, 0), { code: 'AMPERE_ERR_STORE_INVALID' });
        await assert.rejects(store.pruneMeterValues('not a time', 10), { code: 'AMPERE_ERR_STORE_INVALID' });
        await assert.rejects(store.listMeterDaily({ chargerId: 'CP1', from: 'yesterday' }), {
          code: 'AMPERE_ERR_STORE_INVALID',
        });
      });
    });

    describe('group commit', () => {
      it('1000 concurrent writes all resolve and are visible', async () => {
        const writes: Promise<unknown>[] = [];
        for (let i = 0; i < 1000; i++) {
          writes.push(
            store.insertMeterValues([
              meterRow({ chargerId: `CP${i % 50}`, timestamp: T0 + i, value: String(i), wh: i }),
              meterRow({ chargerId: `CP${i % 50}`, timestamp: T0 + i, measurand: 'Power.Active.Import', w: 1 }),
            ]),
          );
          if (i % 10 === 0) writes.push(store.touchCharger(`CP${i % 50}`, T0 + i));
          if (i % 100 === 0) writes.push(store.recordEvent({ chargerId: 'CP1', kind: 'k', payload: i, at: T0 }));
        }
        await Promise.all(writes);
        assert.equal((await store.queryMeterValues({ limit: 100_000 })).length, 2000);
        assert.equal((await store.listEvents()).total, 10);
      });

      it('a failing write rejects alone; the rest of its batch commits', async () => {
        await store.upsertIdTag({ idTag: 'keep' });
        const results = await Promise.allSettled([
          store.insertMeterValues([meterRow({ value: 'a' })]),
          // Passes input validation but violates a NOT NULL column at write time.
          store.insertMeterValues([meterRow({ value: 'b' }), meterRow({ chargerId: null as never })]),
          store.startTransaction({ chargerId: 'CP1', connectorId: 1, idTag: 'keep', timestamp: T0, meterStart: 0 }),
          store.insertMeterValues([meterRow({ value: 'c' })]),
        ]);
        assert.deepEqual(
          results.map((r) => r.status),
          ['fulfilled', 'rejected', 'fulfilled', 'fulfilled'],
        );
        const values = (await store.queryMeterValues({})).map((r) => r.value);
        assert.deepEqual(values, ['a', 'c'], 'the failing message is all-or-nothing');
        assert.equal((await store.listTransactions()).total, 1);
      });

      it('a write resolves only once visible to reads', async () => {
        // (Whether a read issued before the commit sees the row depends on the machine's timing;
        // what holds everywhere is that the write's promise resolves only after the commit.)
        const p = store.recordEvent({ chargerId: 'CP1', kind: 'k', payload: 1, at: T0 });
        await p;
        assert.equal((await store.listEvents()).total, 1);
      });

      it('writes apply in call order', async () => {
        void store.upsertCharger('CP1', { notes: 'one' });
        void store.upsertCharger('CP1', { notes: 'two' });
        void store.deleteCharger('CP1');
        const last = store.upsertCharger('CP1', { notes: 'three' });
        assert.equal((await last).notes, 'three');
        await store.setSetting('k', '1');
        const [, , v] = await Promise.all([store.setSetting('k', '2'), store.setSetting('k', '3'), store.flush()]);
        assert.equal(v, undefined);
        assert.equal(await store.getSetting('k'), '3');
      });

      it('close flushes pending writes, then refuses', async () => {
        const p = store.setSetting('k', 'v');
        await store.close();
        await p;
        await assert.rejects(store.setSetting('k', 'w'), { code: 'AMPERE_ERR_STORE_CLOSED' });
        await assert.rejects(store.getSetting('k'), { code: 'AMPERE_ERR_STORE_CLOSED' });
        store = await open(); // afterEach closes this one
      });
    });
  });
}
