// The fleet: every charger in one scrolling list. Only the rows in view exist in the page
// (virtualised), and only the pages of 50 around them are fetched (server-side paging and
// filtering through /api/fleet), so 10 000 chargers cost what 50 do. Events patch rows in place.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, type LiveEvent } from '../api.ts';
import { Choice, kW, kWh, Online, StatusBadge, useDebounced, useLive } from '../ui.tsx';

export interface FleetConnector {
  connectorId: number;
  status: string;
  errorCode: string;
}
export interface FleetSession {
  id: number;
  connectorId: number;
  idTag: string;
  startedAt: string;
  energyWh: number | null;
  powerW: number | null;
}
export interface FleetCharger {
  id: string;
  connected: boolean;
  registration: string;
  vendor: string | null;
  model: string | null;
  firmwareVersion: string | null;
  securityProfile: number;
  connectors: FleetConnector[];
  sessions: FleetSession[];
}

const PAGE = 50;
const ROW = 64;
const AHEAD = 10;

/** Applies a live event to a charger row (a new object when it changed, else the same one). */
export function patchCharger(c: FleetCharger, e: LiveEvent): FleetCharger {
  switch (e.type) {
    case 'charger.connected':
      return { ...c, connected: true };
    case 'charger.disconnected':
      return { ...c, connected: false };
    case 'charger.registration':
      return typeof e.data.registration === 'string' ? { ...c, registration: e.data.registration } : c;
    case 'connector.status': {
      const id = Number(e.data.connectorId);
      const next = { connectorId: id, status: String(e.data.status), errorCode: String(e.data.errorCode ?? 'NoError') };
      const rest = c.connectors.filter((x) => x.connectorId !== id);
      return { ...c, connectors: [...rest, next].sort((a, b) => a.connectorId - b.connectorId) };
    }
    case 'meter.values': {
      const power = powerOf(e.data.meterValue);
      if (power === null) return c;
      const sessions = c.sessions.map((s) =>
        s.connectorId === Number(e.data.connectorId) ? { ...s, powerW: power } : s,
      );
      return { ...c, sessions };
    }
    default:
      return c;
  }
}

type Sampled = { measurand?: string; value: string; unit?: string; phase?: string };
function values(meterValue: unknown): Sampled[] {
  return Array.isArray(meterValue)
    ? meterValue.flatMap((m: { sampledValue?: Sampled[] }) => (Array.isArray(m.sampledValue) ? m.sampledValue : []))
    : [];
}

/** Active import power in W from a MeterValues payload (sum of phases when given per phase). */
export function powerOf(meterValue: unknown): number | null {
  const ps = values(meterValue).filter((v) => v.measurand === 'Power.Active.Import');
  if (ps.length === 0) return null;
  const total = ps.filter((v) => !v.phase);
  const use = total.length > 0 ? total : ps;
  return use.reduce((s, v) => s + Number(v.value) * (v.unit === 'kW' ? 1000 : 1), 0);
}

/** The energy register in Wh, if the payload carries it. */
export function energyOf(meterValue: unknown): number | null {
  const e = values(meterValue).find(
    (v) => (v.measurand ?? 'Energy.Active.Import.Register') === 'Energy.Active.Import.Register' && !v.phase,
  );
  return e ? Number(e.value) * (e.unit === 'kWh' ? 1000 : 1) : null;
}

export function FleetPage() {
  const [q, setQ] = useState('');
  const [connected, setConnected] = useState('');
  const [registration, setRegistration] = useState('');
  const [total, setTotal] = useState<number | null>(null);
  const [rows, setRows] = useState<Map<number, FleetCharger>>(new Map());
  const [range, setRange] = useState<[number, number]>([0, 20]);
  const [error, setError] = useState<string | null>(null);
  const scroller = useRef<HTMLElement>(null);
  const loaded = useRef(new Set<number>());
  const generation = useRef(0);
  const painted = useRef(false);

  const filterQuery = () => {
    const p = new URLSearchParams();
    if (q.trim()) p.set('q', q.trim());
    if (connected) p.set('connected', connected);
    if (registration) p.set('registration', registration);
    return p;
  };

  const loadPage = async (n: number, gen: number) => {
    const p = filterQuery();
    p.set('limit', String(PAGE));
    p.set('offset', String(n * PAGE));
    try {
      const page = await api<{ items: FleetCharger[]; total: number }>('GET', `/api/fleet?${p}`);
      if (gen !== generation.current) return;
      setTotal(page.total);
      setError(null);
      setRows((old) => {
        const next = new Map(old);
        for (const [i, c] of page.items.entries()) next.set(n * PAGE + i, c);
        return next;
      });
    } catch (e) {
      loaded.current.delete(n);
      setError((e as Error).message);
    }
  };

  const visiblePages = () => {
    const first = Math.max(0, Math.floor(range[0] / PAGE));
    const last = Math.floor(range[1] / PAGE);
    const out: number[] = [];
    for (let n = first; n <= last; n++) out.push(n);
    return out;
  };

  // New filters: start again from the top.
  useEffect(() => {
    const gen = ++generation.current;
    loaded.current = new Set([0]);
    setRows(new Map());
    if (scroller.current) scroller.current.scrollTop = 0;
    const t = setTimeout(() => loadPage(0, gen), q ? 200 : 0);
    return () => clearTimeout(t);
  }, [q, connected, registration]);

  // Scrolled: fetch the pages now in view that are not there yet.
  useEffect(() => {
    for (const n of visiblePages()) {
      if (!loaded.current.has(n)) {
        loaded.current.add(n);
        void loadPage(n, generation.current);
      }
    }
  }, [range[0], range[1]]);

  useEffect(() => {
    if (!painted.current && rows.size > 0) {
      painted.current = true;
      requestAnimationFrame(() => performance.mark('ampere:fleet-rows'));
    }
  }, [rows]);

  // Something the rows cannot patch themselves (a session began or ended, a new charger): refetch
  // the pages in view once the burst is over.
  const refresh = useDebounced(() => {
    for (const n of visiblePages()) void loadPage(n, generation.current);
  }, 500);

  useLive((e) => {
    if (e.chargerId === null) return;
    let known = false;
    setRows((old) => {
      let next: Map<number, FleetCharger> | null = null;
      for (const [i, c] of old) {
        if (c.id !== e.chargerId) continue;
        known = true;
        const p = patchCharger(c, e);
        if (p !== c) {
          next ??= new Map(old);
          next.set(i, p);
        }
      }
      return next ?? old;
    });
    if (
      e.type === 'transaction.started' ||
      e.type === 'transaction.stopped' ||
      e.type === 'charger.boot' ||
      (!known && (e.type === 'charger.connected' || e.type === 'charger.registration'))
    ) {
      refresh();
    }
  });

  const onScroll = () => {
    const el = scroller.current;
    if (!el) return;
    const first = Math.floor(el.scrollTop / ROW);
    const count = Math.ceil(el.clientHeight / ROW);
    const next: [number, number] = [Math.max(0, first - AHEAD), first + count + AHEAD];
    if (next[0] !== range[0] || next[1] !== range[1]) setRange(next);
  };

  const shown: preact.JSX.Element[] = [];
  const n = total ?? 0;
  for (let i = range[0]; i < Math.min(range[1], n); i++) {
    const c = rows.get(i);
    shown.push(
      <li class="fleet-row" key={i} style={{ top: `${i * ROW}px` }}>
        {c ? <FleetRow c={c} /> : <span class="muted">…</span>}
      </li>,
    );
  }
  return (
    <>
      <h1>Fleet</h1>
      <form class="filters" aria-label="Filter the fleet" onSubmit={(e) => e.preventDefault()}>
        <label>
          Search
          <input
            type="search"
            value={q}
            placeholder="id, vendor, model, firmware"
            onInput={(e) => setQ((e.target as HTMLInputElement).value)}
          />
        </label>
        <Choice
          label="Online"
          value={connected}
          set={setConnected}
          options={[
            ['', 'all'],
            ['true', 'online'],
            ['false', 'offline'],
          ]}
        />
        <Choice
          label="Registration"
          value={registration}
          set={setRegistration}
          options={[
            ['', 'all'],
            ...(['accepted', 'pending', 'rejected'] as const).map((r): [string, string] => [r, r]),
          ]}
        />
        <output class="count" data-testid="fleet-total">
          {total === null ? '' : `${total} charger${total === 1 ? '' : 's'}`}
        </output>
      </form>
      {error && (
        <p class="note err" role="alert">
          {error}
        </p>
      )}
      {/* A scroll container: Chromium and Firefox let the keyboard focus and scroll it. */}
      <section class="fleet" ref={scroller} onScroll={onScroll} aria-label="Chargers" data-testid="fleet-scroller">
        <ul class="fleet-inner" style={{ height: `${n * ROW}px` }}>
          {shown}
        </ul>
      </section>
      {total === 0 && <p class="muted">No charger matches.</p>}
    </>
  );
}

function FleetRow({ c }: { c: FleetCharger }) {
  // Connector 0 stands for the whole charger: shown only when no connector has reported.
  const outlets = c.connectors.some((x) => x.connectorId > 0)
    ? c.connectors.filter((x) => x.connectorId > 0)
    : c.connectors;
  const power = c.sessions.reduce<number | null>((s, x) => (x.powerW == null ? s : (s ?? 0) + x.powerW), null);
  const energy = c.sessions.reduce<number | null>((s, x) => (x.energyWh == null ? s : (s ?? 0) + x.energyWh), null);
  return (
    <>
      <span class="f-id">
        <a href={`#/chargers/${encodeURIComponent(c.id)}`}>{c.id}</a>
        <Online connected={c.connected} />
      </span>
      <span class="f-ident muted">
        {[c.vendor, c.model].filter(Boolean).join(' ') || 'not booted yet'}
        {c.firmwareVersion ? ` · fw ${c.firmwareVersion}` : ''}
        {c.registration !== 'accepted' ? ` · ${c.registration}` : ''}
      </span>
      <span class="f-conn">
        {outlets.length === 0 ? (
          <span class="muted">no status</span>
        ) : (
          outlets.map((x) => <StatusBadge key={x.connectorId} status={x.status} errorCode={x.errorCode} />)
        )}
      </span>
      <span class="f-power">
        {c.sessions.length > 0 ? (
          <>
            {kW(power)} · {kWh(energy)}
            <span class="muted"> · {c.sessions.map((s) => s.idTag).join(', ')}</span>
          </>
        ) : (
          <span class="muted">no session</span>
        )}
      </span>
    </>
  );
}
