// Sessions (OCPP transactions): the list, and one session with its power and energy over time,
// energy, duration, cost, time to target and stop reason. An active one follows its meter values.
import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { TimeChart } from '../chart.tsx';
import { Card, duration, kW, kWh, Loading, money, useDebounced, useLive, useLoad, when } from '../ui.tsx';
import type { Tx } from './charger.tsx';

const PAGE = 50;

export function SessionsPage() {
  const [offset, setOffset] = useState(0);
  const list = useLoad(
    () => api<{ items: Tx[]; total: number }>('GET', `/api/transactions?limit=${PAGE}&offset=${offset}`),
    [offset],
  );
  const reload = useDebounced(list.reload, 500);
  useLive((e) => {
    if (e.type === 'transaction.started' || e.type === 'transaction.stopped') reload();
  });
  return (
    <>
      <h1>Sessions</h1>
      {!list.data ? (
        <Loading error={list.error} />
      ) : list.data.items.length === 0 ? (
        <p class="muted">No session yet.</p>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Sessions, newest first</caption>
            <thead>
              <tr>
                <th scope="col">Session</th>
                <th scope="col">Charger</th>
                <th scope="col">Id tag</th>
                <th scope="col">Started</th>
                <th scope="col">Duration</th>
                <th scope="col">Energy</th>
                <th scope="col">Cost</th>
                <th scope="col">Stop reason</th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((t) => (
                <tr key={t.id}>
                  <th scope="row">
                    <a href={`#/sessions/${t.id}`}>{t.id}</a>
                  </th>
                  <td>
                    <a href={`#/chargers/${encodeURIComponent(t.chargerId)}`}>{t.chargerId}</a> #{t.connectorId}
                  </td>
                  <td>{t.idTag}</td>
                  <td>{when(t.startedAt)}</td>
                  <td>{duration(t.durationSeconds)}</td>
                  <td>{kWh(t.energyWh)}</td>
                  <td>{money(t.cost)}</td>
                  <td>{t.active ? 'active' : (t.stopReason ?? 'Local')}</td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
      {list.data && list.data.total > PAGE && (
        <nav class="buttons" aria-label="Pages of sessions">
          <button
            type="button"
            class="btn plain"
            disabled={offset === 0}
            onClick={() => setOffset(Math.max(0, offset - PAGE))}
          >
            Newer
          </button>
          <span class="muted">
            {offset + 1}–{Math.min(offset + PAGE, list.data.total)} of {list.data.total}
          </span>
          <button
            type="button"
            class="btn plain"
            disabled={offset + PAGE >= list.data.total}
            onClick={() => setOffset(offset + PAGE)}
          >
            Older
          </button>
        </nav>
      )}
    </>
  );
}

interface Point {
  timestamp: string;
  wh: number | null;
  w: number | null;
  value: number | string | null;
}

export function SessionPage({ id }: { id: number }) {
  const tx = useLoad(() => api<Tx>('GET', `/api/transactions/${id}`), [id]);
  const series = useLoad(async () => {
    const [energy, power] = await Promise.all([
      api<{ items: Point[] }>(
        'GET',
        `/api/transactions/${id}/meter-values?measurand=Energy.Active.Import.Register&limit=5000`,
      ),
      api<{ items: Point[] }>('GET', `/api/transactions/${id}/meter-values?measurand=Power.Active.Import&limit=5000`),
    ]);
    return { energy: energy.items, power: power.items };
  }, [id]);
  const reload = useDebounced(() => {
    tx.reload();
    series.reload();
  }, 400);
  useLive((e) => {
    const t = tx.data;
    if (!t || e.chargerId !== t.chargerId) return;
    if (e.type === 'meter.values' || e.type.startsWith('transaction.')) reload();
  });
  if (!tx.data) return <Loading error={tx.error} />;
  const t = tx.data;
  return (
    <>
      <h1>Session {t.id}</h1>
      <div class="grid">
        <Card title="Summary">
          <dl class="kv">
            <dt>Charger</dt>
            <dd>
              <a href={`#/chargers/${encodeURIComponent(t.chargerId)}`}>{t.chargerId}</a>, connector {t.connectorId}
            </dd>
            <dt>Id tag</dt>
            <dd>{t.idTag}</dd>
            <dt>Started</dt>
            <dd>{when(t.startedAt)}</dd>
            <dt>{t.active ? 'Running for' : 'Duration'}</dt>
            <dd>{duration(t.durationSeconds)}</dd>
            <dt>Energy</dt>
            <dd data-testid="session-energy">{kWh(t.live?.energyWh ?? t.energyWh)}</dd>
            <dt>Power now</dt>
            <dd>{t.active ? kW(t.live?.powerW) : '–'}</dd>
            <dt>Cost</dt>
            <dd>{money(t.cost)}</dd>
            <dt>Time to target</dt>
            <dd>{t.live?.secondsToTarget != null ? duration(t.live.secondsToTarget) : '–'}</dd>
            <dt>State</dt>
            <dd data-testid="session-state">
              {t.active ? (t.live?.state ?? 'active') : `stopped (${t.stopReason ?? 'Local'}) at ${when(t.stoppedAt)}`}
            </dd>
          </dl>
        </Card>
        <Card title="Power and energy">
          {!series.data ? (
            <Loading error={series.error} />
          ) : (
            <SessionChart energy={series.data.energy} power={series.data.power} start={t} />
          )}
        </Card>
      </div>
    </>
  );
}

function SessionChart({ energy, power, start }: { energy: Point[]; power: Point[]; start: Tx }) {
  if (energy.length === 0 && power.length === 0) return <p class="muted">No meter values yet.</p>;
  // One x axis for both: every timestamp, each series null where it has no sample.
  const at = new Map<number, { wh: number | null; w: number | null }>();
  for (const p of energy) {
    if (p.wh === null) continue;
    const x = Date.parse(p.timestamp) / 1000;
    at.set(x, { wh: p.wh, w: at.get(x)?.w ?? null });
  }
  for (const p of power) {
    const w = p.w ?? (typeof p.value === 'number' ? p.value : null);
    if (w === null) continue;
    const x = Date.parse(p.timestamp) / 1000;
    at.set(x, { wh: at.get(x)?.wh ?? null, w });
  }
  const xs = [...at.keys()].sort((a, b) => a - b);
  // Energy of this session: the register minus its value at the start.
  const base = start.meterStart ?? energy.find((p) => p.wh !== null)?.wh ?? 0;
  return (
    <TimeChart
      label="Power in kW and energy in kWh over the session"
      x={xs}
      lines={[
        {
          label: 'Power (kW)',
          scale: 'kW',
          color: '#2a7de1',
          values: xs.map((x) => {
            const w = at.get(x)!.w;
            return w == null ? null : w / 1000;
          }),
        },
        {
          label: 'Energy (kWh)',
          scale: 'kWh',
          color: '#1f9d55',
          values: xs.map((x) => {
            const wh = at.get(x)!.wh;
            return wh == null ? null : (wh - base) / 1000;
          }),
        },
      ]}
    />
  );
}
