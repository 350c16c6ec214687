// Load mode: N stations in one process. Kept small per station: one shared validator, one coalesced
// clock for every timer, no message history; counters are plain numbers and one latency histogram.
import { coalescedClock } from './clock.ts';
import { createStation, defaultValidator, type SimStation } from './index.ts';
import type { VendorProfile } from './profile.ts';
import { runScenario, type Scenario } from './scenario.ts';

export interface LoadOptions {
  url: string;
  profile: VendorProfile;
  count: number;
  /** Stations started per second. */
  ramp: number;
  /** Seconds to run after the last station started; 0 = until stop(). */
  durationS: number;
  idPrefix: string;
  password?: string;
  ca?: string | Buffer;
  scenario?: Scenario;
  config?: Record<string, string>;
  /** Progress lines (stderr in the CLI). */
  progress?: (line: string, final: boolean) => void;
  progressEveryMs?: number;
}

/** Latency histogram: 0.1 ms buckets to 100 ms, 1 ms buckets to 10 s. */
class Histogram {
  private fine = new Uint32Array(1000);
  private coarse = new Uint32Array(10_000);
  count = 0;
  max = 0;

  add(ms: number): void {
    this.count++;
    if (ms > this.max) this.max = ms;
    if (ms < 100) this.fine[Math.floor(ms * 10)]!++;
    else if (ms < 10_000) this.coarse[Math.floor(ms)]!++;
    // Above 10 s only `max` remembers it; quantiles past the histogram report max.
  }

  quantile(q: number): number | null {
    if (this.count === 0) return null;
    let need = Math.ceil(q * this.count);
    for (let i = 0; i < this.fine.length; i++) {
      need -= this.fine[i]!;
      if (need <= 0) return (i + 1) / 10;
    }
    for (let i = 100; i < this.coarse.length; i++) {
      need -= this.coarse[i]!;
      if (need <= 0) return i + 1;
    }
    return this.max;
  }

  reset(): void {
    this.fine.fill(0);
    this.coarse.fill(0);
    this.count = 0;
    this.max = 0;
  }
}

export interface LoadReport {
  profile: string;
  url: string;
  count: number;
  started: number;
  connected: number;
  booted: number;
  /** ms from start until every station had its BootNotification accepted (null if not all did). */
  allBootedMs: number | null;
  durationS: number;
  messages: { in: number; out: number; perSecond: number };
  latencyMs: { calls: number; p50: number | null; p90: number | null; p99: number | null; max: number };
  errors: number;
  reconnects: number;
  scenarios?: { ok: number; failed: number };
  memory: { rssMB: number; heapUsedMB: number; perStationKB: number };
}

export interface LoadRun {
  done: Promise<LoadReport>;
  stop(): void;
}

export function runLoad(o: LoadOptions): LoadRun {
  const clock = coalescedClock(100);
  const validator = defaultValidator();
  const heapBefore = process.memoryUsage().heapUsed;
  const rssBefore = process.memoryUsage().rss;
  const stations: SimStation[] = [];
  const total = new Histogram();
  const window = new Histogram();
  let connected = 0;
  let booted = 0;
  let msgIn = 0;
  let msgOut = 0;
  let errors = 0;
  let reconnects = 0;
  let scenariosOk = 0;
  let scenariosFailed = 0;
  let allBootedAt: number | null = null;
  const t0 = Date.now();
  const width = String(o.count).length;
  let lastMsgs = 0;
  let lastTick = t0;

  const line = (final: boolean) => {
    const now = Date.now();
    const msgs = msgIn + msgOut;
    const rate = Math.round(((msgs - lastMsgs) * 1000) / Math.max(1, now - lastTick));
    lastMsgs = msgs;
    lastTick = now;
    const barW = 20;
    const filled = Math.round((stations.length / o.count) * barW);
    const bar = `[${'#'.repeat(filled)}${'-'.repeat(barW - filled)}]`;
    const p50 = window.quantile(0.5);
    const p99 = window.quantile(0.99);
    window.reset();
    o.progress?.(
      `${bar} ${stations.length}/${o.count} started  connected ${connected}  booted ${booted}  ` +
        `msg/s ${rate}  p50 ${p50 ?? '-'} ms  p99 ${p99 ?? '-'} ms  errors ${errors}  t+${((now - t0) / 1000).toFixed(0)}s`,
      final,
    );
  };

  let stopResolve: () => void = () => undefined;
  const stopped = new Promise<void>((r) => {
    stopResolve = r;
  });

  const startOne = (i: number) => {
    const id = `${o.idPrefix}${String(i).padStart(width, '0')}`;
    let wasOpen = false;
    let wasBooted = false;
    const s = createStation({
      id,
      profile: o.profile,
      url: o.url,
      clock,
      validator,
      historySize: 0,
      ...(o.password !== undefined ? { password: o.password } : {}),
      ...(o.ca !== undefined ? { ca: o.ca } : {}),
      ...(o.config ? { config: o.config } : {}),
      onState: (st) => {
        if (st === 'open') {
          wasOpen = true;
          connected++;
        } else if (st === 'closed') {
          if (wasOpen) {
            connected--;
            reconnects++;
          } else errors++;
          wasOpen = false;
          if (wasBooted) {
            booted--;
            wasBooted = false;
          }
        }
      },
      onMessage: (dir) => {
        if (dir === 'in') msgIn++;
        else msgOut++;
      },
      hooks: {
        latency: (ms, ok) => {
          total.add(ms);
          window.add(ms);
          if (!ok) errors++;
        },
        event: (e) => {
          if (e.type === 'registration' && e.status === 'Accepted' && !wasBooted) {
            wasBooted = true;
            booted++;
            if (booted === o.count && allBootedAt === null) allBootedAt = Date.now() - t0;
          }
        },
      },
    });
    stations.push(s);
    void s.start();
    if (o.scenario) {
      const sc = o.scenario;
      void (async () => {
        // Scenarios begin once the station is booted, like a driver arriving at a working charger.
        while (s.station.registration !== 'Accepted' && !done) await new Promise((r) => setTimeout(r, 200));
        if (done) return;
        const r = await runScenario(s.station, sc);
        if (r.ok) scenariosOk++;
        else scenariosFailed++;
      })();
    }
  };

  let done = false;
  let next = 1;
  const perTick = Math.max(1, o.ramp / 10);
  let credit = 0;
  const ramp = setInterval(() => {
    credit += perTick;
    while (credit >= 1 && next <= o.count) {
      startOne(next++);
      credit--;
    }
    if (next > o.count) clearInterval(ramp);
  }, 100);
  const progress = setInterval(() => line(false), o.progressEveryMs ?? 1000);

  const finished = (async (): Promise<LoadReport> => {
    // Run until every station has started, then for durationS more (or until stop()).
    while (next <= o.count && !done) await Promise.race([stopped, new Promise((r) => setTimeout(r, 200))]);
    if (o.durationS > 0 && !done) await Promise.race([stopped, new Promise((r) => setTimeout(r, o.durationS * 1000))]);
    else if (!done) await stopped;
    done = true;
    clearInterval(ramp);
    clearInterval(progress);
    line(true);
    const elapsedS = (Date.now() - t0) / 1000;
    // With `node --expose-gc` the figures are live memory, not live memory plus garbage.
    (globalThis as { gc?: () => void }).gc?.();
    const mem = process.memoryUsage();
    const report: LoadReport = {
      profile: o.profile.name,
      url: o.url,
      count: o.count,
      started: stations.length,
      connected,
      booted,
      allBootedMs: allBootedAt,
      durationS: Math.round(elapsedS),
      messages: { in: msgIn, out: msgOut, perSecond: Math.round((msgIn + msgOut) / elapsedS) },
      latencyMs: {
        calls: total.count,
        p50: total.quantile(0.5),
        p90: total.quantile(0.9),
        p99: total.quantile(0.99),
        max: Math.round(total.max),
      },
      errors,
      reconnects,
      memory: {
        rssMB: Math.round(mem.rss / 1e6),
        heapUsedMB: Math.round(mem.heapUsed / 1e6),
        perStationKB:
          Math.round(
            (Math.max(mem.rss - rssBefore, mem.heapUsed - heapBefore) / Math.max(1, stations.length) / 1024) * 10,
          ) / 10,
      },
    };
    if (o.scenario) report.scenarios = { ok: scenariosOk, failed: scenariosFailed };
    for (const s of stations) await s.stop();
    return report;
  })();

  return {
    done: finished,
    stop: () => {
      done = true;
      stopResolve();
    },
  };
}
