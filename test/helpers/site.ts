// Helpers for end-to-end smart-charging tests: an API client for a spawned server, a wait loop,
// and a sampler of what the simulated chargers really meter, the figure a site's owner would see
// on the main meter.
import assert from 'node:assert/strict';
import type { SimStation } from '../../src/chargepoint/index.ts';
import type { ServerProcess } from './process.ts';

export async function until(what: string, cond: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const end = Date.now() + timeoutMs;
  while (Date.now() < end) {
    if (await cond()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  assert.fail(`timed out waiting for ${what}`);
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export type Api = (method: string, path: string, body?: unknown) => Promise<{ status: number; body: any }>;

export function apiOf(server: ServerProcess, token: string): Api {
  return async (method, path, body) => {
    const res = await fetch(`${server.url}${path}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
      },
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
    const text = await res.text();
    return { status: res.status, body: text ? (JSON.parse(text) as any) : null };
  };
}

/** The requests a simulated charger received for one action. */
export function received(sim: SimStation, action: string): any[] {
  return sim.station.history.filter((h) => h.dir === 'in' && h.action === action).map((h) => h.payload as any);
}

/** The current a simulated charger meters on connector 1, per phase (A). */
export function metered(sim: SimStation): number[] {
  return sim.station.connector(1).meter.currentA;
}

/**
 * Samples the sum of what the simulators meter, per phase, every `everyMs`: the peak, and every
 * sample above the limit with the draw of each charger at that moment.
 */
export class MeterSampler {
  readonly peak = [0, 0, 0];
  readonly over: Array<{ at: number; phaseA: number[]; by: Record<string, number[]> }> = [];
  samples = 0;
  private timer: NodeJS.Timeout | undefined;

  constructor(
    private readonly sims: Record<string, SimStation>,
    private limitA: number,
    private readonly everyMs = 20,
  ) {}

  /** The site sum now, per phase (A). */
  now(): number[] {
    return [0, 1, 2].map((i) => Object.values(this.sims).reduce((s, sim) => s + (metered(sim)[i] ?? 0), 0));
  }

  setLimit(limitA: number): void {
    this.limitA = limitA;
  }

  start(): this {
    this.timer = setInterval(() => {
      const sum = this.now();
      this.samples++;
      sum.forEach((a, i) => {
        this.peak[i] = Math.max(this.peak[i]!, a);
      });
      if (sum.some((a) => a > this.limitA + 1e-9))
        this.over.push({
          at: Date.now(),
          phaseA: sum,
          by: Object.fromEntries(Object.entries(this.sims).map(([id, s]) => [id, [...metered(s)]])),
        });
    }, this.everyMs);
    return this;
  }

  stop(): void {
    clearInterval(this.timer);
  }

  /** The largest per-phase overshoot seen (A), 0 when the limit always held. */
  maxOvershoot(): number {
    return Math.max(0, ...this.over.map((o) => Math.max(...o.phaseA) - this.limitA));
  }

  assertHeld(context: string): void {
    assert.equal(
      this.over.length,
      0,
      `${context}: the metered site current went over ${this.limitA} A: ${JSON.stringify(this.over.slice(0, 3))}`,
    );
  }
}
