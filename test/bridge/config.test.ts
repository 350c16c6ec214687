// The bridge's flags and its settings document: clear errors naming the field, and no password in them.
import assert from 'node:assert/strict';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  checkBridgeSettings,
  loadBridgeSettings,
  saveBridgeSettings,
  startEmbeddedBroker,
} from '../../src/bridge/index.ts';
import { loadServeConfig } from '../../src/config/index.ts';

const fails = (input: unknown, pattern: RegExp) =>
  assert.throws(
    () => checkBridgeSettings(input),
    (e: Error & { code?: string }) => {
      assert.equal(e.code, 'AMPERE_ERR_BAD_REQUEST');
      assert.match(e.message, pattern);
      return true;
    },
  );

describe('bridge flags', () => {
  it('takes broker URLs, embedded, and a KNX gateway', () => {
    assert.equal(loadServeConfig(['--mqtt', 'mqtts://u:p@broker:8883'], {}).mqtt, 'mqtts://u:p@broker:8883');
    assert.equal(loadServeConfig([], { AMPERE_MQTT: 'embedded' }).mqtt, 'embedded');
    assert.equal(loadServeConfig(['--knx', '192.168.1.20'], {}).knx, '192.168.1.20');
    assert.equal(loadServeConfig(['--knx=knxd.lan:3672'], {}).knx, 'knxd.lan:3672');
  });

  it('refuses other URLs without showing the password', () => {
    assert.throws(
      () => loadServeConfig(['--mqtt', 'http://user:hunter22@broker'], {}),
      (e: Error) => /mqtt must be mqtt:\/\//.test(e.message) && !e.message.includes('hunter22'),
    );
    assert.throws(() => loadServeConfig(['--knx', 'gw:99999'], {}), /knx must be host or host:port/);
  });
});

describe('embedded broker', () => {
  it('says clearly when its port is taken', async () => {
    const first = await startEmbeddedBroker({ host: '127.0.0.1', port: 0 });
    try {
      await assert.rejects(
        startEmbeddedBroker({ host: '127.0.0.1', port: first.port }),
        (e: Error & { code?: string }) => {
          assert.equal(e.code, 'AMPERE_ERR_CONFIG');
          assert.match(e.message, /cannot listen on 127\.0\.0\.1:\d+ \(EADDRINUSE\): another broker runs there/);
          return true;
        },
      );
    } finally {
      await first.close();
    }
  });
});

describe('bridge settings', () => {
  it('names the field that is wrong', () => {
    fails({ qos: 3 }, /qos must be 0, 1 or 2/);
    fails({ topicPrefix: 'home/#' }, /topicPrefix/);
    fails({ chargers: { CP1: { idTag: 'x'.repeat(21) } } }, /chargers\.CP1\.idTag/);
    fails({ webhooks: [{ url: 'ftp://x', secret: 'a'.repeat(16) }] }, /webhooks\[0\]\.url/);
    fails({ knx: { chargers: { CP1: { addresses: { status: '32/0/1' } } } } }, /knx\.chargers\.CP1\.addresses\.status/);
    fails({ knx: { chargers: { CP1: { addresses: { lights: '1/0/1' } } } } }, /is not a KNX object/);
    fails(
      { knx: { chargers: { CP1: { addresses: { status: '1/0/1' } }, CP2: { addresses: { error: '1/0/1' } } } } },
      /uses 1\/0\/1, already given to CP1\.status/,
    );
    fails({ knx: { currentDpt: '9.001' } }, /knx\.currentDpt/);
  });

  it('merges a change over the current settings and survives a file round trip', () => {
    const dir = mkdtempSync(join(tmpdir(), 'ampere-bridge-'));
    const file = join(dir, 'bridge.json');
    assert.equal(loadBridgeSettings(file).topicPrefix, 'ampere', 'no file: the defaults');
    const a = checkBridgeSettings({
      topicPrefix: 'home/ev',
      webhooks: [{ url: 'http://h/x', secret: 's'.repeat(16) }],
    });
    const b = checkBridgeSettings({ qos: 0, webhooks: [{ url: 'http://h/x' }] }, a);
    assert.equal(b.topicPrefix, 'home/ev');
    assert.equal(b.qos, 0);
    assert.equal(b.webhooks[0]!.secret, 's'.repeat(16), 'a webhook sent back without its secret keeps it');
    saveBridgeSettings(file, b);
    assert.deepEqual(loadBridgeSettings(file), b);
    writeFileSync(file, '{"qos":');
    assert.throws(
      () => loadBridgeSettings(file),
      (e: Error & { code?: string }) => e.code === 'AMPERE_ERR_CONFIG',
    );
  });
});
