// A bare test charger: a real `ws` client speaking raw OCPP-J frames, so tests can send exactly
// the bytes they mean, including malformed ones.
import WebSocket from 'ws';

export type AnyFrame = unknown[];

export class TestCharger {
  readonly ws: WebSocket;
  private n = 0;
  private readonly waiting = new Map<string, (f: AnyFrame) => void>();
  readonly received: AnyFrame[] = [];
  /** Answers CALLs from the central system; default: an empty CALLRESULT. */
  onCall: (action: string, payload: Record<string, unknown>) => AnyFrame | object | undefined = () => ({});
  readonly opened: Promise<void>;
  readonly closed: Promise<{ code: number; reason: string }>;

  constructor(url: string, opts: { protocols?: string[]; headers?: Record<string, string>; autoPong?: boolean } = {}) {
    this.ws = new WebSocket(url, opts.protocols ?? ['ocpp1.6'], {
      headers: opts.headers ?? {},
      ...(opts.autoPong === false ? { autoPong: false } : {}),
    });
    this.opened = new Promise((resolve, reject) => {
      this.ws.once('open', () => resolve());
      this.ws.once('unexpected-response', (_req, res) => reject(new Error(`HTTP ${res.statusCode}`)));
      this.ws.once('error', reject);
    });
    this.closed = new Promise((resolve) =>
      this.ws.once('close', (code, reason) => resolve({ code, reason: reason.toString() })),
    );
    this.ws.on('message', (data) => {
      let frame: AnyFrame;
      try {
        frame = JSON.parse(data.toString());
      } catch {
        return;
      }
      this.received.push(frame);
      if (frame[0] === 2) {
        const answer = this.onCall(frame[2] as string, frame[3] as Record<string, unknown>);
        if (answer === undefined) return;
        this.ws.send(JSON.stringify(Array.isArray(answer) ? answer : [3, frame[1], answer]));
        return;
      }
      const w = this.waiting.get(frame[1] as string);
      if (w) {
        this.waiting.delete(frame[1] as string);
        w(frame);
      }
    });
  }

  static async connect(
    base: string,
    id: string,
    opts: { protocols?: string[]; headers?: Record<string, string> } = {},
  ) {
    const c = new TestCharger(`${base}/ocpp/${encodeURIComponent(id)}`, opts);
    await c.opened;
    return c;
  }

  /** Sends raw text and resolves with the answer frame carrying `expectId`. */
  sendRaw(text: string, expectId: string, timeoutMs = 5000): Promise<AnyFrame> {
    return new Promise((resolve, reject) => {
      const t = setTimeout(() => {
        this.waiting.delete(expectId);
        reject(new Error(`no answer for ${expectId} to ${text.slice(0, 80)}`));
      }, timeoutMs);
      this.waiting.set(expectId, (f) => {
        clearTimeout(t);
        resolve(f);
      });
      this.ws.send(text);
    });
  }

  /** Sends a CALL and resolves with the whole answer frame (CALLRESULT or CALLERROR). */
  callFrame(action: string, payload: unknown): Promise<AnyFrame> {
    const id = `t${++this.n}`;
    return this.sendRaw(JSON.stringify([2, id, action, payload]), id);
  }

  /** Sends a CALL and resolves with the CALLRESULT payload; throws on a CALLERROR. */
  async call<T = Record<string, unknown>>(action: string, payload: unknown): Promise<T> {
    const f = await this.callFrame(action, payload);
    if (f[0] !== 3) throw new Error(`${action} answered ${JSON.stringify(f)}`);
    return f[2] as T;
  }

  async boot(vendor = 'TestVendor', model = 'TestModel'): Promise<Record<string, unknown>> {
    return this.call('BootNotification', { chargePointVendor: vendor, chargePointModel: model });
  }

  close(): Promise<{ code: number; reason: string }> {
    this.ws.close();
    return this.closed;
  }
}

export const now = () => new Date().toISOString();

/**
 * Sends numbered MeterValues (1, 2, …) as fast as they are answered until `running()` is false or
 * the connection goes; resolves with the numbers the server acknowledged (CALLRESULT).
 */
export async function sendMeterValuesUntil(c: TestCharger, running: () => boolean): Promise<number[]> {
  const acked: number[] = [];
  for (let n = 1; running(); n++) {
    try {
      const f = await c.callFrame('MeterValues', {
        connectorId: 1,
        meterValue: [{ timestamp: now(), sampledValue: [{ value: String(n) }] }],
      });
      if (f[0] === 3) acked.push(n);
    } catch {
      break; // the server is gone
    }
  }
  return acked;
}
