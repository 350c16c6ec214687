// Per-charger message-rate limit: a token bucket. Messages within the rate pass at once; above it
// they wait in a short queue (throttled, in order); a charger that keeps flooding until the queue
// is full is disconnected. Other chargers are unaffected: each connection has its own bucket.

export interface RateLimitOptions {
  /** Sustained messages per second; 0 disables the limit. */
  perSecond: number;
  /** Messages that may arrive at once before throttling starts. */
  burst: number;
  /** Throttled messages kept waiting before the charger is disconnected. */
  maxQueued: number;
}

export interface ThrottleTimers {
  now(): number;
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

export class MessageThrottle {
  private tokens: number;
  private last: number;
  private readonly queue: string[] = [];
  private timer: unknown;
  private stopped = false;

  constructor(
    private readonly opts: RateLimitOptions,
    private readonly timers: ThrottleTimers,
    private readonly deliver: (text: string) => void,
    private readonly overflow: () => void,
  ) {
    this.tokens = opts.burst;
    this.last = timers.now();
  }

  private refill(): void {
    const now = this.timers.now();
    this.tokens = Math.min(this.opts.burst, this.tokens + ((now - this.last) / 1000) * this.opts.perSecond);
    this.last = now;
  }

  /** Whether messages are being held back right now. */
  get throttling(): boolean {
    return this.queue.length > 0;
  }

  push(text: string): void {
    if (this.stopped) return;
    this.refill();
    if (this.queue.length === 0 && this.tokens >= 1) {
      this.tokens -= 1;
      this.deliver(text);
      return;
    }
    if (this.queue.length >= this.opts.maxQueued) {
      this.stop();
      this.overflow();
      return;
    }
    this.queue.push(text);
    this.schedule();
  }

  private schedule(): void {
    if (this.timer !== undefined || this.stopped) return;
    const wait = Math.max(1, Math.ceil(((1 - this.tokens) / this.opts.perSecond) * 1000));
    this.timer = this.timers.setTimeout(() => {
      this.timer = undefined;
      this.drain();
    }, wait);
  }

  private drain(): void {
    if (this.stopped) return;
    this.refill();
    while (this.queue.length > 0 && this.tokens >= 1) {
      this.tokens -= 1;
      this.deliver(this.queue.shift()!);
    }
    if (this.queue.length > 0) this.schedule();
  }

  stop(): void {
    this.stopped = true;
    this.queue.length = 0;
    if (this.timer !== undefined) this.timers.clearTimeout(this.timer);
    this.timer = undefined;
  }
}
