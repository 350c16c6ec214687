// Webhooks: the central system's events POSTed as JSON to configured URLs, signed with
// HMAC-SHA256 over the timestamp and the body, retried with exponential backoff, and kept in a
// dead-letter list after the last try, from where the API can redeliver them.
import { createHmac, randomUUID } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import type { CentralEvent } from '../central/index.ts';
import { AmpereError } from '../errors.ts';
import { type WebhookSettings, writeJson } from './config.ts';

/** The event types sent to webhooks (`charger.error` is a status report carrying an error code). */
export const WEBHOOK_EVENTS = [
  'charger.connected',
  'charger.disconnected',
  'connector.status',
  'charger.error',
  'transaction.started',
  'transaction.stopped',
  'security.event',
] as const;

export interface WebhookTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export interface WebhookOptions {
  now(): number;
  timers: WebhookTimers;
  fetch: typeof fetch;
  /** Tries per delivery before it becomes a dead letter (default 6). */
  maxAttempts?: number;
  /** Wait before the 2nd try (ms); doubled for each further one (default 2000). */
  backoffMs?: number;
  /** Longest wait between tries (default 5 min). */
  maxBackoffMs?: number;
  /** Per-request timeout (default 10 s). */
  requestTimeoutMs?: number;
  /** Dead letters kept (oldest dropped first; default 1000). */
  deadLetterLimit?: number;
  /** Dead letters kept from the last run. */
  deadLetters?: DeadLetter[];
  /** Called with the whole list after every change, to keep it across restarts. */
  persist?(dead: readonly DeadLetter[]): void;
  onError?(message: string): void;
}

export interface WebhookBody {
  id: number;
  type: string;
  chargerId: string | null;
  at: string;
  data: Record<string, unknown>;
}

export interface DeadLetter {
  id: string;
  url: string;
  event: WebhookBody;
  attempts: number;
  lastError: string;
  failedAt: string;
}

interface Delivery {
  id: string;
  hook: WebhookSettings;
  event: WebhookBody;
  attempts: number;
}

export interface WebhookStats {
  hooks: number;
  delivered: number;
  failedAttempts: number;
  pending: number;
  deadLetters: number;
  lastError: string | null;
}

/** `sha256=` + hex HMAC-SHA256 of `${timestamp}.${body}` with the webhook's secret. */
export function signWebhook(secret: string, timestamp: number, body: string): string {
  return `sha256=${createHmac('sha256', secret).update(`${timestamp}.${body}`).digest('hex')}`;
}

export class WebhookSender {
  private hooks: WebhookSettings[] = [];
  private readonly dead: DeadLetter[] = [];
  /** Deliveries waiting for their next try: the timer and what to send. */
  private readonly waiting = new Map<string, { handle: unknown; delivery: Delivery; error: string }>();
  private delivered = 0;
  private failedAttempts = 0;
  private inFlight = 0;
  private lastError: string | null = null;
  private stopped = false;
  private maxAttempts: number;
  private backoffMs: number;
  private readonly maxBackoffMs: number;
  private readonly requestTimeoutMs: number;
  private readonly deadLetterLimit: number;

  constructor(private readonly opts: WebhookOptions) {
    this.maxAttempts = opts.maxAttempts ?? 6;
    this.backoffMs = opts.backoffMs ?? 2000;
    this.maxBackoffMs = opts.maxBackoffMs ?? 300_000;
    this.requestTimeoutMs = opts.requestTimeoutMs ?? 10_000;
    this.deadLetterLimit = opts.deadLetterLimit ?? 1000;
    this.dead.push(...(opts.deadLetters ?? []));
  }

  configure(hooks: WebhookSettings[], retry: { attempts?: number; backoffMs?: number } = {}): void {
    this.hooks = hooks;
    if (retry.attempts !== undefined) this.maxAttempts = retry.attempts;
    if (retry.backoffMs !== undefined) this.backoffMs = retry.backoffMs;
  }

  /** Sends one central event to every webhook that wants its type. */
  handle(e: CentralEvent): void {
    if (this.hooks.length === 0) return;
    const types: string[] = [];
    if ((WEBHOOK_EVENTS as readonly string[]).includes(e.type)) types.push(e.type);
    if (e.type === 'connector.status' && e.data.errorCode !== undefined && e.data.errorCode !== 'NoError')
      types.push('charger.error');
    for (const type of types) {
      const body: WebhookBody = { id: e.id, type, chargerId: e.chargerId, at: e.at, data: e.data };
      for (const hook of this.hooks) {
        if (hook.events && !hook.events.includes(type)) continue;
        void this.attempt({ id: randomUUID(), hook, event: body, attempts: 0 });
      }
    }
  }

  deadLetters(): readonly DeadLetter[] {
    return this.dead;
  }

  /** Takes a dead letter off the list and delivers it again from the first try; false if unknown. */
  redeliver(id: string): boolean {
    const i = this.dead.findIndex((d) => d.id === id);
    if (i < 0) return false;
    // The current settings of that URL sign the redelivery (a rotated secret included).
    const hook = this.hooks.find((h) => h.url === this.dead[i]!.url);
    if (!hook) return false;
    const [d] = this.dead.splice(i, 1);
    this.opts.persist?.(this.dead);
    void this.attempt({ id: d!.id, hook, event: d!.event, attempts: 0 });
    return true;
  }

  stats(): WebhookStats {
    return {
      hooks: this.hooks.length,
      delivered: this.delivered,
      failedAttempts: this.failedAttempts,
      pending: this.waiting.size + this.inFlight,
      deadLetters: this.dead.length,
      lastError: this.lastError,
    };
  }

  /** Stops retrying; deliveries still waiting for a try become dead letters, so none is lost. */
  stop(): void {
    this.stopped = true;
    for (const w of this.waiting.values()) {
      this.opts.timers.clearTimeout(w.handle);
      this.bury(w.delivery, `${w.error}; Ampere stopped before the next try`);
    }
    if (this.waiting.size > 0) this.opts.persist?.(this.dead);
    this.waiting.clear();
  }

  private bury(d: Delivery, error: string): void {
    this.dead.push({
      id: d.id,
      url: d.hook.url,
      event: d.event,
      attempts: d.attempts,
      lastError: error,
      failedAt: new Date(this.opts.now()).toISOString(),
    });
    if (this.dead.length > this.deadLetterLimit) this.dead.shift();
  }

  private async attempt(d: Delivery): Promise<void> {
    if (this.stopped) return;
    d.attempts++;
    const body = JSON.stringify(d.event);
    const timestamp = Math.floor(this.opts.now() / 1000);
    let error: string | undefined;
    this.inFlight++;
    try {
      const res = await this.opts.fetch(d.hook.url, {
        method: 'POST',
        headers: {
          'content-type': 'application/json',
          'user-agent': 'ampere-bridge',
          'x-ampere-event': d.event.type,
          'x-ampere-delivery': d.id,
          'x-ampere-timestamp': String(timestamp),
          'x-ampere-signature': signWebhook(d.hook.secret, timestamp, body),
        },
        body,
        signal: AbortSignal.timeout(this.requestTimeoutMs),
      });
      await res.arrayBuffer().catch(() => undefined);
      if (res.status < 200 || res.status >= 300) error = `HTTP ${res.status}`;
    } catch (e) {
      error = (e as Error).message;
    } finally {
      this.inFlight--;
    }
    if (error === undefined) {
      this.delivered++;
      return;
    }
    this.failedAttempts++;
    this.lastError = `${d.hook.url}: ${error}`;
    if (this.stopped) {
      this.bury(d, `${error}; Ampere stopped before the next try`);
      this.opts.persist?.(this.dead);
      return;
    }
    if (d.attempts >= this.maxAttempts) {
      this.bury(d, error);
      this.opts.persist?.(this.dead);
      this.opts.onError?.(`webhook ${d.hook.url} failed ${d.attempts} times (${error}); kept as dead letter ${d.id}`);
      return;
    }
    const wait = Math.min(this.maxBackoffMs, this.backoffMs * 2 ** (d.attempts - 1));
    const handle = this.opts.timers.setTimeout(() => {
      this.waiting.delete(d.id);
      void this.attempt(d);
    }, wait);
    this.waiting.set(d.id, { handle, delivery: d, error });
  }
}

/** The webhooks' dead letters kept across restarts (a missing file: none). */
export function loadDeadLetters(file: string): DeadLetter[] {
  if (!existsSync(file)) return [];
  try {
    const list = JSON.parse(readFileSync(file, 'utf8')) as unknown;
    if (!Array.isArray(list)) throw new Error('not a list');
    return list as DeadLetter[];
  } catch (e) {
    throw new AmpereError(
      'AMPERE_ERR_CONFIG',
      `webhook dead letters: ${file} is not a JSON list (${(e as Error).message}); move it away to start`,
    );
  }
}

export function saveDeadLetters(file: string, list: readonly DeadLetter[]): void {
  writeJson(file, list);
}
