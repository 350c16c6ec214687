// The frame fuzzer: 100 000+ mutated frames from a corpus of valid ones, over real sockets, from
// several connections at once, against an in-process server in strict validation. Asserts that
// the server stays up, every CALL with a readable uniqueId gets exactly one answer carrying the
// CALLERROR code its mutation calls for (OCPP-J 1.6 §4.2.3), unreadable ones one answer as "-1",
// responses get none, nothing of a rejected frame is stored, and a well-behaved charger alongside
// is served as usual. Seeded (SEED below): a failure replays exactly.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import fc from 'fast-check';
import type WebSocket from 'ws';
import { attempt, callOver, start } from '../security/helpers.ts';

const SEED = 20240501;
const CONNECTIONS = 8;
const FRAMES = 100_000;
const WINDOW = 400;

type Code =
  | 'RESULT'
  | 'FormationViolation'
  | 'OccurenceConstraintViolation'
  | 'TypeConstraintViolation'
  | 'PropertyConstraintViolation'
  | 'NotImplemented'
  | 'NotSupported';

/** What the server must do with one frame. */
type Expect = { answer: 'id'; code: Code } | { answer: 'anonymous' } | { answer: 'none' };

interface Case {
  text: string;
  expect: Expect;
  /** The marker this frame carries and the store kind it would land in if accepted. */
  marker?: { value: string; where: 'status' | 'security' | 'datatransfer' };
}

const TS = '2024-05-01T12:00:00.000Z';

type FieldKind = 'string' | 'integer' | 'array' | 'object';
interface Base {
  action: string;
  make: (m: string) => Record<string, unknown>;
  fields: Record<string, FieldKind>;
  required: string[];
  /** A value that keeps the JSON type but breaks enum/length/format: PropertyConstraintViolation. */
  bad: Array<[string, unknown]>;
  where?: 'status' | 'security' | 'datatransfer';
}

const CORPUS: Base[] = [
  { action: 'Heartbeat', make: () => ({}), fields: {}, required: [], bad: [] },
  {
    action: 'StatusNotification',
    make: (m) => ({ connectorId: 1, errorCode: 'NoError', status: 'Available', info: m }),
    fields: { connectorId: 'integer', errorCode: 'string', status: 'string', info: 'string' },
    required: ['connectorId', 'errorCode', 'status'],
    bad: [
      ['status', 'Bogus'],
      ['errorCode', 'noerror!'],
      ['info', 'i'.repeat(51)],
      ['timestamp', 'yesterday'],
    ],
    where: 'status',
  },
  {
    action: 'SecurityEventNotification',
    make: (m) => ({ type: m, timestamp: TS }),
    fields: { type: 'string', timestamp: 'string' },
    required: ['type', 'timestamp'],
    bad: [
      ['timestamp', 'not-a-date'],
      ['techInfo', 't'.repeat(256)],
    ],
    where: 'security',
  },
  {
    action: 'DataTransfer',
    make: (m) => ({ vendorId: 'fuzz', messageId: m, data: 'x' }),
    fields: { vendorId: 'string', messageId: 'string', data: 'string' },
    required: ['vendorId'],
    bad: [
      ['vendorId', 'v'.repeat(256)],
      ['messageId', 'm'.repeat(51)],
    ],
    where: 'datatransfer',
  },
  {
    action: 'Authorize',
    make: () => ({ idTag: 'FUZZTAG' }),
    fields: { idTag: 'string' },
    required: ['idTag'],
    bad: [['idTag', 't'.repeat(21)]],
  },
  {
    action: 'MeterValues',
    make: () => ({
      connectorId: 1,
      meterValue: [{ timestamp: TS, sampledValue: [{ value: '1', measurand: 'Energy.Active.Import.Register' }] }],
    }),
    fields: { connectorId: 'integer', meterValue: 'array', transactionId: 'integer' },
    required: ['connectorId', 'meterValue'],
    bad: [
      ['meterValue', [{ timestamp: 'soon', sampledValue: [{ value: '1' }] }]],
      ['meterValue', [{ timestamp: TS, sampledValue: [{ value: '1', unit: 'Parsec' }] }]],
    ],
  },
];

const wrongTypeFor: Record<FieldKind, unknown[]> = {
  string: [42, true, null, [], {}],
  integer: ['1', 1.5, false, null, [], {}],
  array: [{}, 'x', 3, null],
  object: [[], 'x', 3, null],
};

/** A mutation chosen by fast-check; the frame is built from it with a fresh uniqueId and marker. */
type Spec =
  | { k: 'valid'; base: number }
  | { k: 'drop'; base: number; pick: number }
  | { k: 'wrongType'; base: number; pick: number; alt: number }
  | { k: 'badValue'; base: number; pick: number }
  | { k: 'extra'; base: number; key: string }
  | { k: 'unknownAction'; name: string }
  | { k: 'centralAction'; pick: number }
  | { k: 'arity'; base: number; n: number }
  | { k: 'payloadNotObject'; alt: number }
  | { k: 'longId'; extra: number }
  | { k: 'idNotString'; alt: number }
  | { k: 'garbage'; text: string }
  | { k: 'notArray'; alt: number }
  | { k: 'badType'; alt: number }
  | { k: 'response'; error: boolean }
  | { k: 'deep'; depth: number }
  | { k: 'emptyAction' };

const CENTRAL_ONLY = ['Reset', 'RemoteStartTransaction', 'ChangeConfiguration', 'GetLog', 'CertificateSigned'];
const KNOWN = new Set([
  ...CORPUS.map((c) => c.action),
  ...CENTRAL_ONLY,
  'BootNotification',
  'StartTransaction',
  'StopTransaction',
  'DiagnosticsStatusNotification',
  'FirmwareStatusNotification',
  'LogStatusNotification',
  'SignCertificate',
  'SignedFirmwareStatusNotification',
]);

const base = fc.nat(CORPUS.length - 1);
const specArb: fc.Arbitrary<Spec> = fc.oneof(
  { weight: 6, arbitrary: fc.record({ k: fc.constant('valid' as const), base }) },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('drop' as const), base, pick: fc.nat(99) }) },
  {
    weight: 3,
    arbitrary: fc.record({ k: fc.constant('wrongType' as const), base, pick: fc.nat(99), alt: fc.nat(99) }),
  },
  { weight: 3, arbitrary: fc.record({ k: fc.constant('badValue' as const), base, pick: fc.nat(99) }) },
  {
    weight: 3,
    arbitrary: fc.record({
      k: fc.constant('extra' as const),
      base,
      key: fc.oneof(
        fc.constantFrom('__proto__', 'constructor', 'prototype', 'toString'),
        fc.string({ minLength: 1, maxLength: 12 }),
      ),
    }),
  },
  {
    weight: 2,
    arbitrary: fc.record({
      k: fc.constant('unknownAction' as const),
      name: fc.string({ minLength: 1, maxLength: 30 }).filter((s) => !KNOWN.has(s)),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ k: fc.constant('centralAction' as const), pick: fc.nat(CENTRAL_ONLY.length - 1) }),
  },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('arity' as const), base, n: fc.constantFrom(3, 5, 6) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('payloadNotObject' as const), alt: fc.nat(4) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('longId' as const), extra: fc.integer({ min: 1, max: 40 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('idNotString' as const), alt: fc.nat(4) }) },
  { weight: 2, arbitrary: fc.record({ k: fc.constant('garbage' as const), text: fc.string({ maxLength: 40 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('notArray' as const), alt: fc.nat(4) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('badType' as const), alt: fc.nat(4) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('response' as const), error: fc.boolean() }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('deep' as const), depth: fc.integer({ min: 40, max: 2000 }) }) },
  { weight: 1, arbitrary: fc.record({ k: fc.constant('emptyAction' as const) }) },
);

function isJsonFrameWithStringId(text: string): boolean {
  try {
    const v = JSON.parse(text);
    return Array.isArray(v) && [2, 3, 4].includes(v[0]) && typeof v[1] === 'string';
  } catch {
    return false;
  }
}

/** Builds one frame from a spec. `id` is unique per run; `m` the marker a stored frame would carry. */
function build(spec: Spec, id: string, m: string): Case {
  const call = (action: string, payload: unknown) => JSON.stringify([2, id, action, payload]);
  const withMarker = (b: Base, text: string, expect: Expect): Case =>
    b.where ? { text, expect, marker: { value: m, where: b.where } } : { text, expect };
  const err = (code: Code): Expect => ({ answer: 'id', code });
  switch (spec.k) {
    case 'valid': {
      const b = CORPUS[spec.base]!;
      return withMarker(b, call(b.action, b.make(m)), err('RESULT'));
    }
    case 'drop': {
      const b = CORPUS[spec.base]!;
      if (b.required.length === 0) return withMarker(b, call(b.action, b.make(m)), err('RESULT'));
      const p = b.make(m);
      delete p[b.required[spec.pick % b.required.length]!];
      return withMarker(b, call(b.action, p), err('OccurenceConstraintViolation'));
    }
    case 'wrongType': {
      const b = CORPUS[spec.base]!;
      const names = Object.keys(b.fields);
      if (names.length === 0) return withMarker(b, call(b.action, ['not', 'an', 'object']), err('FormationViolation'));
      const f = names[spec.pick % names.length]!;
      const alts = wrongTypeFor[b.fields[f]!];
      const p = b.make(m);
      p[f] = alts[spec.alt % alts.length];
      return withMarker(b, call(b.action, p), err('TypeConstraintViolation'));
    }
    case 'badValue': {
      const b = CORPUS[spec.base]!;
      if (b.bad.length === 0) return withMarker(b, call(b.action, { ...b.make(m), x: 1 }), err('FormationViolation'));
      const [f, v] = b.bad[spec.pick % b.bad.length]!;
      const p = b.make(m);
      p[f] = v;
      return withMarker(b, call(b.action, p), err('PropertyConstraintViolation'));
    }
    case 'extra': {
      const b = CORPUS[spec.base]!;
      const p = b.make(m);
      if (Object.hasOwn(b.fields, spec.key) || spec.key === 'timestamp' || spec.key === 'techInfo') {
        return withMarker(b, call(b.action, { ...p, zz_unknown: 1 }), err('FormationViolation'));
      }
      // Defined as own data, as JSON.parse would: a "__proto__" key stays a key.
      Object.defineProperty(p, spec.key, {
        value: { polluted: true },
        enumerable: true,
        configurable: true,
        writable: true,
      });
      return withMarker(b, call(b.action, p), err('FormationViolation'));
    }
    case 'unknownAction':
      return { text: call(spec.name, {}), expect: err('NotImplemented') };
    case 'centralAction':
      return { text: call(CENTRAL_ONLY[spec.pick]!, {}), expect: err('NotSupported') };
    case 'arity': {
      const b = CORPUS[spec.base]!;
      const parts: unknown[] = [2, id, b.action, b.make(m), {}, {}].slice(0, spec.n);
      return withMarker(b, JSON.stringify(parts), err('FormationViolation'));
    }
    case 'payloadNotObject': {
      const p = [[], 'x', 1, null, true][spec.alt];
      return { text: call('Heartbeat', p), expect: err('FormationViolation') };
    }
    case 'longId': {
      const longId = `${id}-${'L'.repeat(36)}`.slice(0, 36 + spec.extra);
      return {
        text: JSON.stringify([2, longId, 'StatusNotification', CORPUS[1]!.make(m)]),
        expect: { answer: 'id', code: 'FormationViolation' },
        marker: { value: m, where: 'status' },
        // The answer carries the long id: it is readable, so it is answered with it.
        ...({ answerId: longId } as object),
      } as Case;
    }
    case 'idNotString': {
      const bad = [1, null, {}, [], true][spec.alt];
      return { text: JSON.stringify([2, bad, 'Heartbeat', {}]), expect: { answer: 'anonymous' } };
    }
    case 'garbage': {
      const text = `${spec.text}`;
      // A fuzz string that happens to be a valid frame with a string id is not garbage: skip to a certain one.
      if (isJsonFrameWithStringId(text)) return { text: '{{', expect: { answer: 'anonymous' } };
      let parsed: unknown;
      try {
        parsed = JSON.parse(text);
      } catch {
        return { text, expect: { answer: 'anonymous' } };
      }
      // Valid JSON that is not a frame with a string id (numbers, objects, arrays without an id).
      void parsed;
      return { text, expect: { answer: 'anonymous' } };
    }
    case 'notArray': {
      const v = [{ a: 1 }, 7, '"str"', 'null', '[]'][spec.alt];
      return { text: typeof v === 'string' ? v : JSON.stringify(v), expect: { answer: 'anonymous' } };
    }
    case 'badType': {
      const t = [5, 0, '2', -1, 2.5][spec.alt];
      return { text: JSON.stringify([t, id, 'Heartbeat', {}]), expect: err('FormationViolation') };
    }
    case 'response':
      return {
        text: spec.error ? JSON.stringify([4, id, 'GenericError', 'x', {}]) : JSON.stringify([3, id, {}]),
        expect: { answer: 'none' },
      };
    case 'deep': {
      const payload = `{"vendorId":"fuzz","messageId":"${m}","data":${'['.repeat(spec.depth)}${']'.repeat(spec.depth)}}`;
      return {
        text: `[2,"${id}","DataTransfer",${payload}]`,
        expect: err('FormationViolation'),
        marker: { value: m, where: 'datatransfer' },
      };
    }
    case 'emptyAction':
      return { text: call('', {}), expect: err('FormationViolation') };
  }
}

interface Tally {
  sent: number;
  byCode: Map<string, number>;
  anonymousExpected: number;
  anonymousGot: number;
  wrong: string[];
  duplicates: string[];
  accepted: Map<'status' | 'security' | 'datatransfer', Set<string>>;
  rejected: Map<'status' | 'security' | 'datatransfer', Set<string>>;
}

async function fuzzConnection(base: string, chargerId: string, specs: Spec[], tally: Tally): Promise<void> {
  const a = await attempt(base, chargerId);
  assert.equal(a.kind, 'open');
  const ws = (a as { ws: WebSocket }).ws;
  assert.equal(
    (await callOver(ws, 'boot', 'BootNotification', { chargePointVendor: 'Fuzz', chargePointModel: 'F' }))[0],
    3,
  );
  const expected = new Map<string, { code: Code; answered: number; marker?: Case['marker'] }>();
  let outstanding = 0;
  let wake: (() => void) | undefined;
  ws.on('message', (d) => {
    const f = JSON.parse(d.toString()) as unknown[];
    const id = f[1] as string;
    if (id === '-1') {
      tally.anonymousGot++;
      outstanding--;
    } else {
      const e = expected.get(id);
      if (!e) {
        tally.wrong.push(`unexpected answer ${JSON.stringify(f).slice(0, 120)}`);
        return;
      }
      e.answered++;
      if (e.answered > 1) {
        tally.duplicates.push(id);
        return;
      }
      outstanding--;
      const got = f[0] === 3 ? 'RESULT' : (f[2] as string);
      tally.byCode.set(got, (tally.byCode.get(got) ?? 0) + 1);
      if (got !== e.code) tally.wrong.push(`${id}: expected ${e.code}, got ${JSON.stringify(f).slice(0, 200)}`);
      if (e.marker) (got === 'RESULT' ? tally.accepted : tally.rejected).get(e.marker.where)!.add(e.marker.value);
    }
    if (outstanding < WINDOW / 2 && wake) {
      const w = wake;
      wake = undefined;
      w();
    }
  });
  for (let i = 0; i < specs.length; i++) {
    const id = `${chargerId}-${i}`;
    const c = build(specs[i]!, id, `m-${id}`);
    const answerId = (c as { answerId?: string }).answerId ?? id;
    if (c.expect.answer === 'id') {
      expected.set(answerId, { code: c.expect.code, answered: 0, ...(c.marker ? { marker: c.marker } : {}) });
      outstanding++;
    } else if (c.expect.answer === 'anonymous') {
      tally.anonymousExpected++;
      outstanding++;
    } else {
      expected.set(answerId, { code: 'RESULT', answered: 0 });
      // No answer may come: a late one shows up as answered > 0.
    }
    if (c.expect.answer !== 'id' && c.marker) tally.rejected.get(c.marker.where)!.add(c.marker.value);
    ws.send(c.text);
    tally.sent++;
    if (outstanding >= WINDOW) await new Promise<void>((r) => (wake = r));
  }
  const deadline = Date.now() + 20_000;
  while (outstanding > 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  await new Promise((r) => setTimeout(r, 200)); // room for any extra answer to show up
  for (const [id, e] of expected) {
    const responseOnly = isResponseOnly(id, specs, chargerId);
    if (e.answered === 0 && !responseOnly) tally.wrong.push(`${id}: no answer`);
    if (e.answered > 0 && responseOnly) tally.wrong.push(`${id}: a response was answered`);
  }
  ws.close();
}

function isResponseOnly(id: string, specs: Spec[], chargerId: string): boolean {
  const i = Number(id.slice(chargerId.length + 1).split('-')[0]);
  return specs[i]?.k === 'response';
}

describe('frame fuzzer', () => {
  let s: Awaited<ReturnType<typeof start>>;
  before(async () => {
    // No TriggerMessage after connecting: the fuzzer's raw sockets expect only answers to their own CALLs.
    s = await start({ validation: 'strict', rateLimit: 0, connectTriggers: false });
  });
  after(() => s.close());

  it(`answers ${FRAMES} hostile frames correctly, stores none of the rejected, and serves a neighbour`, async () => {
    const t0 = Date.now();
    const specs = fc.sample(specArb, { numRuns: FRAMES, seed: SEED });
    const tGen = Date.now() - t0;
    const tally: Tally = {
      sent: 0,
      byCode: new Map(),
      anonymousExpected: 0,
      anonymousGot: 0,
      wrong: [],
      duplicates: [],
      accepted: new Map([
        ['status', new Set()],
        ['security', new Set()],
        ['datatransfer', new Set()],
      ]),
      rejected: new Map([
        ['status', new Set()],
        ['security', new Set()],
        ['datatransfer', new Set()],
      ]),
    };
    // The neighbour: heartbeats and status notifications every 20 ms while the fuzzer runs.
    const good = await attempt(s.wsUrl, 'NEIGHBOUR');
    const gws = (good as { ws: WebSocket }).ws;
    await callOver(gws, 'nb', 'BootNotification', { chargePointVendor: 'Good', chargePointModel: 'G' });
    let running = true;
    let neighbourCalls = 0;
    let neighbourWorst = 0;
    const neighbour = (async () => {
      while (running) {
        const t = Date.now();
        const f = await callOver(gws, `n${neighbourCalls}`, 'StatusNotification', {
          connectorId: 1,
          errorCode: 'NoError',
          status: neighbourCalls % 2 ? 'Available' : 'Preparing',
          info: `n${neighbourCalls}`,
        });
        assert.equal(f[0], 3);
        neighbourCalls++;
        neighbourWorst = Math.max(neighbourWorst, Date.now() - t);
        await new Promise((r) => setTimeout(r, 20));
      }
    })();
    const per = Math.ceil(FRAMES / CONNECTIONS);
    const t1 = Date.now();
    await Promise.all(
      Array.from({ length: CONNECTIONS }, (_, c) =>
        fuzzConnection(s.wsUrl, `FZ${c}`, specs.slice(c * per, (c + 1) * per), tally),
      ),
    );
    const tRun = Date.now() - t1;
    running = false;
    await neighbour;

    // Nothing of a rejected frame is stored; everything accepted is.
    await s.store.flush();
    const stored = { status: new Set<string>(), security: new Set<string>(), datatransfer: new Set<string>() };
    for (let c = 0; c < CONNECTIONS; c++) {
      const id = `FZ${c}`;
      for (const h of (await s.store.listStatusHistory(id, { limit: 10_000 })).items)
        if (h.info) stored.status.add(h.info);
      for (const e of (await s.store.listEvents({ chargerId: id, limit: 10_000 })).items) {
        const p = e.payload as { type?: string; messageId?: string };
        if (e.kind === 'SecurityEvent' && p.type) stored.security.add(p.type);
        if (e.kind === 'DataTransfer' && p.messageId) stored.datatransfer.add(p.messageId);
      }
      assert.equal((await s.store.listFindings(id)).total, 0, 'strict mode stores no repaired frame');
    }
    for (const where of ['status', 'security', 'datatransfer'] as const) {
      const leaked = [...tally.rejected.get(where)!].filter((m) => stored[where].has(m));
      assert.deepEqual(leaked.slice(0, 5), [], `rejected ${where} frames were stored`);
      const lost = [...tally.accepted.get(where)!].filter((m) => !stored[where].has(m));
      assert.deepEqual(lost.slice(0, 5), [], `accepted ${where} frames were not stored`);
    }
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'no prototype pollution');

    // The server is still up and the neighbour was served throughout.
    const after = await attempt(s.wsUrl, 'AFTER');
    assert.equal(after.kind, 'open');
    (after as { ws: WebSocket }).ws.close();
    const history = await s.store.listStatusHistory('NEIGHBOUR', { limit: 10_000 });
    assert.equal(history.total, neighbourCalls);
    gws.close();

    const summary = {
      seed: SEED,
      frames: tally.sent,
      connections: CONNECTIONS,
      generateMs: tGen,
      runMs: tRun,
      framesPerSecond: Math.round(tally.sent / (tRun / 1000)),
      answers: Object.fromEntries([...tally.byCode].sort()),
      anonymous: tally.anonymousGot,
      storedAccepted: Object.fromEntries(Object.entries(stored).map(([k, v]) => [k, v.size])),
      rejectedWithMarker: Object.fromEntries([...tally.rejected].map(([k, v]) => [k, v.size])),
      neighbour: { calls: neighbourCalls, worstMs: neighbourWorst },
    };
    console.log(`fuzz summary ${JSON.stringify(summary)}`);
    assert.deepEqual(tally.wrong.slice(0, 10), []);
    assert.deepEqual(tally.duplicates.slice(0, 10), []);
    assert.equal(tally.anonymousGot, tally.anonymousExpected);
    assert.ok(tally.sent >= FRAMES);
    assert.ok(neighbourWorst < 2000, `neighbour latency ${neighbourWorst} ms`);
  });
});
