// Smart-charging sites: the grid limit against the per-phase load (sampled live while the page is
// open), each charger's allocation, the plan against the price and CO2 curve, and the building
// load. It reads the smart-charging routes as they are and shows the fields it knows; extra
// fields are ignored.
import { useEffect, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { TimeChart } from '../chart.tsx';
import { Action, Card, kW, kWh, Loading, useDebounced, useLive, useLoad } from '../ui.tsx';
import type { Tx } from './charger.tsx';

interface Site {
  id: string;
  name?: string;
  gridLimitA?: number;
  gridLimitKw?: number;
  chargers: { chargerId: string; phases?: number; maxCurrentA?: number; priority?: number }[];
}
interface Allocation {
  chargerId: string;
  currentA: number;
  phases: number;
  state: string;
  reason?: string;
}
interface SiteStatus {
  at: string | null;
  allocations: Allocation[];
  phaseLoadA: unknown;
  availableA: unknown;
  powerKw: unknown;
  plan: { siteLoadKw: number[]; cost: number; co2g: number; shortfallKWh: number } | null;
  buildingLoadA?: unknown;
}

/** Amperes as the smart-charging routes give them: one number, or one per phase. */
function amps(v: unknown): string {
  if (typeof v === 'number') return `${v.toFixed(1)} A`;
  if (Array.isArray(v) && v.every((x) => typeof x === 'number'))
    return `${v.map((a: number) => a.toFixed(1)).join(' / ')} A`;
  return '–';
}
interface Prices {
  start: string;
  slotMinutes: number;
  price: number[];
  co2?: number[];
}

export function SitePage() {
  const sites = useLoad(() => api<Site[] | { items: Site[] }>('GET', '/api/sites'), []);
  if (!sites.data) return <Loading error={sites.error} />;
  const list = Array.isArray(sites.data) ? sites.data : sites.data.items;
  return (
    <>
      <h1>Site</h1>
      {list.length === 0 && (
        <p class="muted">
          No smart-charging site is set up. Create one with PUT /api/sites/ID (see docs/smart-charging.md).
        </p>
      )}
      {list.map((s) => (
        <SiteView key={s.id} site={s} />
      ))}
    </>
  );
}

function SiteView({ site }: { site: Site }) {
  const enc = encodeURIComponent(site.id);
  const status = useLoad(() => api<SiteStatus>('GET', `/api/sites/${enc}/status`), [site.id]);
  const prices = useLoad(() => api<Prices>('GET', `/api/sites/${enc}/prices`).catch(() => null), [site.id]);
  const [samples, setSamples] = useState<{ x: number[]; l: number[][] }>({ x: [], l: [[], [], []] });
  const active = useLoad(() => api<{ items: Tx[] }>('GET', '/api/sessions/active'), [site.id]);
  const reload = useDebounced(() => {
    status.reload();
    active.reload();
  }, 500);
  const inSite = new Set(site.chargers.map((c) => c.chargerId));
  useLive((e) => {
    const mine = e.chargerId !== null && inSite.has(e.chargerId);
    if (e.type === 'smart.actuation' || (mine && (e.type === 'meter.values' || e.type.startsWith('transaction.'))))
      reload();
  });
  const s = status.data;
  useEffect(() => {
    if (!s?.at) return;
    // One point per balancing result, kept while the page is open (the last 500).
    const x = Date.parse(s.at) / 1000;
    setSamples((old) =>
      old.x[old.x.length - 1] === x
        ? old
        : {
            x: [...old.x, x].slice(-500),
            l: [0, 1, 2].map((i) =>
              [...(old.l[i] ?? []), (Array.isArray(s.phaseLoadA) ? Number(s.phaseLoadA[i]) : 0) || 0].slice(-500),
            ),
          },
    );
  }, [s]);
  const limit = site.gridLimitA ?? null;
  return (
    <section aria-labelledby={`site-${enc}`}>
      <h2 id={`site-${enc}`}>{site.name ?? site.id}</h2>
      <div class="grid">
        <Card title="Grid">
          {!s ? (
            <Loading error={status.error} />
          ) : (
            <dl class="kv">
              <dt>Limit</dt>
              <dd>
                {limit !== null
                  ? `${limit} A per phase`
                  : site.gridLimitKw !== undefined
                    ? `${site.gridLimitKw} kW`
                    : '–'}
              </dd>
              <dt>Load now (L1/L2/L3)</dt>
              <dd>{amps(s.phaseLoadA)}</dd>
              <dt>Building load</dt>
              <dd>{amps(s.buildingLoadA)}</dd>
              <dt>Available</dt>
              <dd>{amps(s.availableA)}</dd>
              <dt>Charging power</dt>
              <dd>{typeof s.powerKw === 'number' ? `${s.powerKw.toFixed(1)} kW` : '–'}</dd>
            </dl>
          )}
        </Card>
        <Card title="Allocation per charger">
          {!s ? (
            <Loading />
          ) : s.allocations.length === 0 ? (
            <p class="muted">No car is charging on this site.</p>
          ) : (
            <ul class="plain">
              {s.allocations.map((a) => (
                <li key={a.chargerId}>
                  <a href={`#/chargers/${encodeURIComponent(a.chargerId.replace(/\/\d+$/, ''))}`}>{a.chargerId}</a>:{' '}
                  {Number(a.currentA).toFixed(1)} A × {a.phases} ({a.state}
                  {a.reason ? `, ${a.reason}` : ''})
                </li>
              ))}
            </ul>
          )}
        </Card>
      </div>
      <Card title="Sessions on this site">
        {!active.data ? (
          <Loading error={active.error} />
        ) : (
          <SiteSessions sessions={active.data.items.filter((t) => inSite.has(t.chargerId))} />
        )}
      </Card>
      <Card title="Load per phase against the limit (since this page opened)">
        {samples.x.length < 2 ? (
          <p class="muted">Collecting: a point is added at each balancing.</p>
        ) : (
          <TimeChart
            label="Per-phase load in A over time against the grid limit"
            x={samples.x}
            lines={[
              ...[0, 1, 2].map((i) => ({
                label: `L${i + 1} (A)`,
                scale: 'A',
                color: ['#2a7de1', '#1f9d55', '#d97706'][i]!,
                values: samples.l[i]!,
              })),
              ...(limit !== null
                ? [
                    {
                      label: 'limit (A)',
                      scale: 'A',
                      color: '#dc2626',
                      values: samples.x.map(() => limit),
                      stepped: true,
                    },
                  ]
                : []),
            ]}
          />
        )}
      </Card>
      <Card title="Plan against price and CO2">
        {!prices.data ? (
          <p class="muted">No price series for this site.</p>
        ) : (
          <PlanChart prices={prices.data} plan={s?.plan ?? null} />
        )}
      </Card>
    </section>
  );
}

function PlanChart({ prices, plan }: { prices: Prices; plan: SiteStatus['plan'] }) {
  const start = Date.parse(prices.start) / 1000;
  const x = prices.price.map((_, i) => start + i * prices.slotMinutes * 60);
  // The plan starts at the current slot: align it to the end of the price series.
  const offset = plan ? x.length - plan.siteLoadKw.length : 0;
  return (
    <TimeChart
      label="Price per kWh, CO2 per kWh and planned site load in kW per slot"
      x={x}
      lines={[
        { label: 'price', scale: 'price', color: '#7c3aed', values: prices.price, stepped: true },
        ...(prices.co2
          ? [{ label: 'CO2 g/kWh', scale: 'g', color: '#64748b', values: prices.co2, stepped: true }]
          : []),
        ...(plan
          ? [
              {
                label: 'plan (kW)',
                scale: 'kW',
                color: '#1f9d55',
                values: x.map((_, i) => (i >= offset ? (plan.siteLoadKw[i - offset] ?? null) : null)),
                stepped: true,
              },
            ]
          : []),
      ]}
    />
  );
}

function SiteSessions({ sessions }: { sessions: Tx[] }) {
  if (sessions.length === 0) return <p class="muted">No session is running.</p>;
  return (
    <ul class="plain">
      {sessions.map((t) => (
        <li key={t.id}>
          <a href={`#/sessions/${t.id}`}>Session {t.id}</a> on {t.chargerId}: {kWh(t.live?.energyWh ?? t.energyWh)} at{' '}
          {kW(t.live?.powerW)}{' '}
          <Action
            label="Fast charge"
            title="Charge this session at full power now, ignoring its plan"
            run={() => api('POST', `/api/transactions/${t.id}/fast-charge`)}
            done={() => 'Charging now at full power'}
          />
        </li>
      ))}
    </ul>
  );
}
