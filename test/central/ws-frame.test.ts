// The gateway writes its text frames itself (src/central/ws-frame.ts): byte for byte what `ws`
// would have sent, and read back exactly by a real `ws` client over a real socket, at every
// length encoding and with multi-byte UTF-8.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import * as wsModule from 'ws';
import { type RunningServer, startServer } from '../../src/app/server.ts';
import { textFrame } from '../../src/central/ws-frame.ts';
import { loadServeConfig } from '../../src/config/index.ts';
import { TestCharger } from '../helpers/charger.ts';
import { tempDir } from '../helpers/process.ts';

// ws exports its Sender at run time; @types/ws does not declare it.
const { Sender } = wsModule as unknown as { Sender: { frame(data: Buffer, options: object): Buffer[] } };

/** The same frame as `ws` builds it for a server (unmasked text, FIN set). */
function wsFrame(text: string): Buffer {
  const parts = Sender.frame(Buffer.from(text, 'utf8'), {
    fin: true,
    opcode: 1,
    mask: false,
    readOnly: false,
    rsv1: false,
  });
  return Buffer.concat(parts);
}

// Byte lengths at and around the three length encodings of RFC 6455 §5.2 (7, 16 and 64 bits).
const LENGTHS = [0, 1, 125, 126, 127, 65_535, 65_536, 200_000];

describe('text frames written by the gateway', () => {
  it('match the frames ws builds, at every length encoding', () => {
    for (const n of LENGTHS) {
      const text = 'x'.repeat(n);
      assert.deepEqual(textFrame(text), wsFrame(text), `${n} bytes`);
    }
  });

  it('count UTF-8 bytes, not characters, for the length', () => {
    // 42 characters of 3 bytes: 126 bytes, the first length that needs 16 bits.
    const euro = '€'.repeat(42);
    assert.equal(euro.length, 42);
    const frame = textFrame(euro);
    assert.equal(frame[1], 126);
    assert.equal(frame.readUInt16BE(2), 126);
    assert.deepEqual(frame, wsFrame(euro));
    for (const text of ['é', 'ü'.repeat(63), '😀'.repeat(16_384), `a€b😀c${'ß'.repeat(40_000)}`]) {
      assert.deepEqual(textFrame(text), wsFrame(text));
    }
  });

  describe('over a real socket', () => {
    let server: RunningServer;
    before(async () => {
      server = await startServer(
        loadServeConfig(['--port', '0', '--data', tempDir(), '--registration', 'open', '--log-level', 'silent'], {}),
      );
    });
    after(async () => {
      await server?.close();
    });

    it('a charger receives each CALL exactly, and its own frames still go through in between', async () => {
      const cp = await TestCharger.connect(server.url.replace('http', 'ws'), 'FRAMES');
      assert.equal((await cp.boot()).status, 'Accepted');
      const got: string[] = [];
      cp.onCall = (action, payload) => {
        if (action === 'DataTransfer') got.push(payload.data as string);
        return { status: 'Accepted', data: `echo ${(payload.data as string).length}` };
      };
      const texts = [
        '',
        'a',
        'é'.repeat(62), // 124 bytes: with the rest of the CALL, the 16-bit length
        `Grüße ${'€'.repeat(30_000)}`, // ~90 KB: the 64-bit length
        '😀'.repeat(20),
      ];
      for (const data of texts) {
        const answer = await server.central.call('FRAMES', 'DataTransfer', { vendorId: 'frames', data });
        assert.deepEqual(answer, { status: 'Accepted', data: `echo ${data.length}` });
        // The answer to the charger's own CALL is a frame of ours too.
        const beat = await cp.call('Heartbeat', {});
        assert.match(String(beat.currentTime), /^\d{4}-\d\d-\d\dT/);
      }
      assert.deepEqual(got, texts);
      await cp.close();
    });
  });
});
