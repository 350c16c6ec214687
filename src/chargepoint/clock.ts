// Time as the station sees it. Every timer a station uses goes through a Clock, so tests drive
// heartbeats, backoff and schedules with a FakeClock (no sleeps), and load mode can coalesce the
// timers of thousands of stations into a few Node timers.

export type TimerHandle = { readonly id: number };

export interface Clock {
  now(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle | undefined): void;
}

let nextId = 1;

/** The wall clock, one Node timer per station timer (fine for a handful of stations). */
export function realClock(): Clock {
  const live = new Map<number, NodeJS.Timeout>();
  return {
    now: () => Date.now(),
    setTimeout(fn, ms) {
      const id = nextId++;
      const t = setTimeout(
        () => {
          live.delete(id);
          fn();
        },
        Math.max(0, ms),
      );
      t.unref?.();
      live.set(id, t);
      return { id };
    },
    clearTimeout(h) {
      if (!h) return;
      const t = live.get(h.id);
      if (t) clearTimeout(t);
      live.delete(h.id);
    },
  };
}

/**
 * Wall clock whose timers are rounded up to `resolutionMs` buckets, each bucket one Node timer.
 * With 10 000 stations each holding a heartbeat and a meter timer, this keeps the timer lists short
 * and fires stations that are due at the same moment in one turn of the event loop.
 */
export function coalescedClock(resolutionMs = 250): Clock {
  const buckets = new Map<number, Map<number, () => void>>();
  const where = new Map<number, number>();
  const fire = (at: number) => {
    const b = buckets.get(at);
    buckets.delete(at);
    if (!b) return;
    for (const [id, fn] of b) {
      where.delete(id);
      try {
        fn();
      } catch {
        // one station's failure must not stop the others in its bucket
      }
    }
  };
  return {
    now: () => Date.now(),
    setTimeout(fn, ms) {
      const id = nextId++;
      const at = Math.ceil((Date.now() + Math.max(0, ms)) / resolutionMs) * resolutionMs;
      let b = buckets.get(at);
      if (!b) {
        b = new Map();
        buckets.set(at, b);
        setTimeout(() => fire(at), Math.max(0, at - Date.now())).unref?.();
      }
      b.set(id, fn);
      where.set(id, at);
      return { id };
    },
    clearTimeout(h) {
      if (!h) return;
      const at = where.get(h.id);
      if (at === undefined) return;
      buckets.get(at)?.delete(h.id);
      where.delete(h.id);
    },
  };
}

/** A clock tests move by hand. `advance` runs due timers in deadline order, awaiting microtasks between them. */
export class FakeClock implements Clock {
  private t: number;
  private timers = new Map<number, { at: number; fn: () => void; seq: number }>();
  private seq = 0;

  constructor(start: number | string = Date.UTC(2025, 0, 1, 8, 0, 0)) {
    this.t = typeof start === 'string' ? Date.parse(start) : start;
  }

  now(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const id = nextId++;
    this.timers.set(id, { at: this.t + Math.max(0, ms), fn, seq: this.seq++ });
    return { id };
  }

  clearTimeout(h: TimerHandle | undefined): void {
    if (h) this.timers.delete(h.id);
  }

  /** Number of pending timers (tests use it to check nothing leaks). */
  get pending(): number {
    return this.timers.size;
  }

  /** Moves time forward by `ms`, firing every timer that falls due, in order. */
  async advance(ms: number): Promise<void> {
    const end = this.t + ms;
    for (;;) {
      await flush();
      let nextIdFound: number | undefined;
      let next: { at: number; fn: () => void; seq: number } | undefined;
      for (const [id, timer] of this.timers) {
        if (timer.at > end) continue;
        if (!next || timer.at < next.at || (timer.at === next.at && timer.seq < next.seq)) {
          next = timer;
          nextIdFound = id;
        }
      }
      if (!next || nextIdFound === undefined) break;
      this.timers.delete(nextIdFound);
      this.t = Math.max(this.t, next.at);
      next.fn();
    }
    this.t = end;
    await flush();
  }
}

/** Lets pending promise chains (several hops deep, plus one macrotask for I/O) settle. */
export async function flush(): Promise<void> {
  for (let i = 0; i < 20; i++) await Promise.resolve();
  await new Promise<void>((r) => setImmediate(r));
  for (let i = 0; i < 20; i++) await Promise.resolve();
}
