import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  FrameError,
  fewBrackets,
  MAX_JSON_DEPTH,
  parseFrame,
  serializeCall,
  serializeCallError,
  serializeCallResult,
} from '../../src/ocpp/frame.ts';
import { formatTimestamp } from '../../src/ocpp/time.ts';

function frameError(text: string): FrameError {
  try {
    parseFrame(text);
  } catch (e) {
    assert.ok(e instanceof FrameError);
    return e;
  }
  assert.fail(`parsed: ${text}`);
}

describe('parseFrame', () => {
  it('reads the three message types byte for byte', () => {
    assert.deepEqual(parseFrame('[2,"a1","Heartbeat",{}]'), [2, 'a1', 'Heartbeat', {}]);
    assert.deepEqual(parseFrame('[3,"a1",{"currentTime":"2026-01-01T00:00:00Z"}]'), [
      3,
      'a1',
      { currentTime: '2026-01-01T00:00:00Z' },
    ]);
    assert.deepEqual(parseFrame('[4,"a1","NotSupported","no",{}]'), [4, 'a1', 'NotSupported', 'no', {}]);
  });

  const cases: Array<[string, string, string | undefined]> = [
    ['not json', 'nope', '-1'],
    ['json object', '{"a":1}', '-1'],
    ['empty array', '[]', '-1'],
    ['unknown type with id', '[7,"x1","Heartbeat",{}]', 'x1'],
    ['numeric id', '[2,17,"Heartbeat",{}]', '-1'],
    ['id too long', `[2,"${'a'.repeat(37)}","Heartbeat",{}]`, 'a'.repeat(37)],
    ['empty id', '[2,"","Heartbeat",{}]', ''],
    ['call with 3 elements', '[2,"x2","Heartbeat"]', 'x2'],
    ['payload array', '[2,"x3","Heartbeat",[]]', 'x3'],
    ['payload null', '[2,"x4","Heartbeat",null]', 'x4'],
    ['action number', '[2,"x5",5,{}]', 'x5'],
  ];
  for (const [name, text, id] of cases) {
    it(`FormationViolation: ${name}`, () => {
      const e = frameError(text);
      assert.equal(e.code, 'FormationViolation');
      assert.equal(e.uniqueId, id);
    });
  }

  it('accepts a uniqueId of exactly 36 characters', () => {
    const id = 'b'.repeat(36);
    assert.equal(parseFrame(`[2,"${id}","Heartbeat",{}]`)[1], id);
  });

  it('maps an unknown CALLERROR code from a peer to GenericError', () => {
    assert.deepEqual(parseFrame('[4,"e","Oops","bad",{}]'), [4, 'e', 'GenericError', 'bad', {}]);
  });

  it('the bracket count that spares the depth walk still refuses a frame one level too deep', () => {
    // The frame's own array is level 1, the payload 2: 30 nested arrays in `data` reach 32, 31 reach 33.
    const nested = (n: number) => `[2,"d1","DataTransfer",{"vendorId":"v","data":${'['.repeat(n)}${']'.repeat(n)}}]`;
    assert.equal(fewBrackets(nested(30), MAX_JSON_DEPTH), true, '32 brackets: no walk needed');
    assert.deepEqual(parseFrame(nested(30))[1], 'd1');
    assert.equal(fewBrackets(nested(31), MAX_JSON_DEPTH), false, '33 brackets: the walk decides');
    assert.equal(frameError(nested(31)).code, 'FormationViolation');
    // Brackets inside strings count too (the count may only overestimate the depth).
    assert.equal(fewBrackets(`["${'['.repeat(40)}"]`, MAX_JSON_DEPTH), false);
    assert.deepEqual(parseFrame(`[2,"s1","DataTransfer",{"vendorId":"v","data":"${'{['.repeat(40)}"}]`)[1], 's1');
    assert.equal(
      fewBrackets('[2,"m1","MeterValues",{"connectorId":1,"meterValue":[{"sampledValue":[{}]}]}]', 32),
      true,
    );
  });

  it('marks the message type of a broken response so it is not answered', () => {
    assert.equal(frameError('[3,"r1"]').messageType, 3);
  });
});

describe('serialize', () => {
  it('never sends null members', () => {
    assert.equal(serializeCall('1', 'Reset', { type: 'Soft', x: null } as object), '[2,"1","Reset",{"type":"Soft"}]');
    assert.equal(serializeCallResult('2', { a: { b: null, c: 1 } }), '[3,"2",{"a":{"c":1}}]');
    assert.equal(serializeCallError('3', 'InternalError', 'x'), '[4,"3","InternalError","x",{}]');
  });
  it('formats timestamps without milliseconds', () => {
    assert.equal(formatTimestamp(Date.UTC(2026, 10, 23, 9, 5, 7, 123)), '2026-11-23T09:05:07Z');
  });
});
