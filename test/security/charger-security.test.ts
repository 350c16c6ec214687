// Charger security without a server: ChargerSecurity gets its ports (a real SQLite store, a fake
// clock, a command sender standing in for the charger), so lockouts and key changes are driven
// by moving the clock, not by waiting.
import assert from 'node:assert/strict';
import type { IncomingMessage } from 'node:http';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import pino from 'pino';
import { type CommandSender, EventBus } from '../../src/central/index.ts';
import { ChargerSecurity, hashAuthorizationKey } from '../../src/central/security/index.ts';
import { openSqliteStore } from '../../src/store/sqlite.ts';
import type { Store } from '../../src/store/types.ts';
import { tempDir } from '../helpers/process.ts';

const KEY = 'OldKey-0123456789';
const NEW_KEY = 'NewKey-9876543210';

/** An HTTP upgrade request as the gateway hands it over: Basic credentials, a remote address. */
function upgrade(chargerId: string, password: string | null, address = '192.0.2.7'): IncomingMessage {
  const headers: Record<string, string> = {};
  if (password !== null) headers.authorization = `Basic ${Buffer.from(`${chargerId}:${password}`).toString('base64')}`;
  return { headers, socket: { remoteAddress: address } } as unknown as IncomingMessage;
}

describe('charger security (ports, fake clock)', () => {
  let store: Store;
  let now: number;
  let security: ChargerSecurity;
  let answer: 'Accepted' | 'Rejected';
  const sent: Array<{ chargerId: string; action: string; payload: unknown }> = [];

  beforeEach(async () => {
    now = Date.parse('2026-05-01T08:00:00Z');
    answer = 'Accepted';
    sent.length = 0;
    store = await openSqliteStore({ file: join(tempDir(), 'ampere.db') });
    await store.upsertCharger('CP1', { securityProfile: 1, authKeyHash: await hashAuthorizationKey(KEY) }, now);
    const clock = { now: () => now };
    // The charger's side of ChangeConfiguration; the central system tells security of an Accepted one.
    const commands: CommandSender = {
      call: (async (chargerId: string, action: string, payload: { key: string; value: string }) => {
        sent.push({ chargerId, action, payload });
        if (answer === 'Accepted') await security.configurationAccepted(chargerId, payload.key, payload.value);
        return { status: answer };
      }) as CommandSender['call'],
    };
    security = new ChargerSecurity({
      store,
      events: new EventBus({ now: clock.now }),
      clock,
      log: pino({ level: 'silent' }),
      commands,
      directory: { isConnected: () => true, connectedIds: () => ['CP1'] },
      admin: { updateCharger: (id, patch) => store.upsertCharger(id, patch, now) },
    });
  });

  afterEach(() => store.close());

  it('locks a charger id after repeated wrong passwords, until the fake clock has moved on', async () => {
    assert.equal(await security.authorizeUpgrade(upgrade('CP1', KEY), 'CP1'), null, 'the right key passes');
    for (let i = 0; i < 5; i++) {
      const r = await security.authorizeUpgrade(upgrade('CP1', 'wrong-password-1234'), 'CP1');
      assert.equal(r?.status, 401);
    }
    const locked = await security.authorizeUpgrade(upgrade('CP1', 'wrong-password-1234'), 'CP1');
    assert.equal(locked?.status, 401, 'the sixth failure is checked and starts the lock');
    const refused = await security.authorizeUpgrade(upgrade('CP1', KEY), 'CP1');
    assert.equal(refused?.status, 429, 'while locked even the right key is refused, unchecked');
    assert.match(refused!.message, /retry in \d+ s/);
    now += 60_000;
    assert.equal(await security.authorizeUpgrade(upgrade('CP1', KEY), 'CP1'), null, 'after the lock the key passes');
    const failures = (await store.listEvents({ chargerId: 'CP1' })).items
      .map((e) => e.payload as { type?: string; lockedMs?: number })
      .filter((p) => p.type === 'FailedToAuthenticate');
    assert.equal(failures.length, 6, 'every failure is a stored security event');
    assert.ok((failures.find((p) => p.lockedMs)?.lockedMs ?? 0) > 0, 'the one that locked says for how long');
  });

  it('a new AuthorizationKey replaces the old only when the charger accepts it', async () => {
    answer = 'Rejected';
    assert.deepEqual(await security.setAuthorizationKey('CP1', NEW_KEY), { status: 'Rejected' });
    assert.equal(sent.at(-1)?.action, 'ChangeConfiguration');
    assert.equal(
      await security.authorizeUpgrade(upgrade('CP1', KEY), 'CP1'),
      null,
      'rejected: the old key still works',
    );
    assert.equal((await security.authorizeUpgrade(upgrade('CP1', NEW_KEY), 'CP1'))?.status, 401);

    answer = 'Accepted';
    assert.deepEqual(await security.setAuthorizationKey('CP1', NEW_KEY), { status: 'Accepted' });
    assert.equal(await security.authorizeUpgrade(upgrade('CP1', NEW_KEY), 'CP1'), null, 'accepted: the new key works');
    assert.equal((await security.authorizeUpgrade(upgrade('CP1', KEY), 'CP1'))?.status, 401, 'and the old one no more');
    const record = await store.getCharger('CP1');
    assert.ok(record?.authKeyHash && !record.authKeyHash.includes(NEW_KEY), 'only a hash is stored');
  });

  it('refuses a key of the wrong format before anything is sent', async () => {
    await assert.rejects(security.setAuthorizationKey('CP1', 'short'), /16 to 20 printable characters/);
    assert.equal(sent.length, 0);
  });
});
