// The household view (one or two chargers, xxter's case): a card per charger with its status,
// power, this session's energy, start/stop, the fast/smart toggle, unlock, and today's and this
// month's energy and cost.
import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import {
  Action,
  Card,
  kW,
  kWh,
  Loading,
  money,
  NumberField,
  Online,
  StatusBadge,
  useDebounced,
  useLive,
  useLoad,
  when,
} from '../ui.tsx';
import type { Tx } from './charger.tsx';
import type { FleetCharger } from './fleet.tsx';

export function HomePage() {
  const fleet = useLoad(
    () => api<{ items: FleetCharger[]; total: number }>('GET', '/api/fleet?limit=10&registration=accepted'),
    [],
  );
  const reload = useDebounced(fleet.reload, 300);
  useLive((e) => {
    if (e.type.startsWith('charger.') || e.type === 'connector.status') reload();
  });
  if (!fleet.data) return <Loading error={fleet.error} />;
  return (
    <>
      <h1>Home</h1>
      {fleet.data.items.length === 0 && (
        <p class="muted">
          No charger yet. Point a charger at ws://THIS-HOST:PORT/ocpp/ID; it appears here once approved.
        </p>
      )}
      <div class="grid">
        {fleet.data.items.map((c) => (
          <HomeCard key={c.id} charger={c} />
        ))}
      </div>
      {fleet.data.total > 10 && (
        <p>
          <a href="#/fleet">All {fleet.data.total} chargers</a>
        </p>
      )}
    </>
  );
}

function startOf(unit: 'day' | 'month'): string {
  const d = new Date();
  d.setHours(0, 0, 0, 0);
  if (unit === 'month') d.setDate(1);
  return d.toISOString();
}

function totals(items: Tx[]) {
  const energy = items.reduce((s, t) => s + (t.energyWh ?? 0), 0);
  const withCost = items.filter((t) => t.cost);
  const cost = withCost.length
    ? { amount: withCost.reduce((s, t) => s + t.cost!.amount, 0), currency: withCost[0]!.cost!.currency }
    : null;
  return { energy, cost };
}

/** What smart charging says about a session (GET /api/transactions/{id}/plan); extra fields ignored. */
interface SessionPlanView {
  state?: string;
  currentA?: number | null;
  reason?: string | null;
  plan?: { fast?: boolean; departure?: string | null; energyWantedKWh?: number | null } | null;
}

function HomeCard({ charger }: { charger: FleetCharger }) {
  const id = charger.id;
  const enc = encodeURIComponent(id);
  const active = useLoad(() => api<{ items: Tx[] }>('GET', `/api/sessions/active?chargerId=${enc}`), [id]);
  const stats = useLoad(async () => {
    const [day, month] = await Promise.all([
      api<{ items: Tx[] }>(
        'GET',
        `/api/transactions?chargerId=${enc}&from=${encodeURIComponent(startOf('day'))}&limit=1000`,
      ),
      api<{ items: Tx[] }>(
        'GET',
        `/api/transactions?chargerId=${enc}&from=${encodeURIComponent(startOf('month'))}&limit=1000`,
      ),
    ]);
    return { day: totals(day.items), month: totals(month.items) };
  }, [id]);
  const [readyBy, setReadyBy] = useState('07:00');
  const [energyKWh, setEnergyKWh] = useState('20');
  const [idTag, setIdTag] = useState('');
  const reloadActive = useDebounced(active.reload, 300);
  const reloadStats = useDebounced(stats.reload, 1000);
  useLive((e) => {
    if (e.chargerId !== id) return;
    if (e.type === 'meter.values' || e.type.startsWith('transaction.')) reloadActive();
    if (e.type.startsWith('transaction.') || e.type === 'meter.values') reloadStats();
  });
  const connector = charger.connectors.find((c) => c.connectorId === 1) ?? charger.connectors[0];
  const tx = active.data?.items[0];
  const txId = tx?.id ?? null;
  // The session as smart charging sees it: its mode, and in words why it charges as it does.
  const plan = useLoad(
    () =>
      txId === null
        ? Promise.resolve(null)
        : api<SessionPlanView>('GET', `/api/transactions/${txId}/plan`).catch(() => null),
    [txId],
  );
  const reloadPlan = useDebounced(plan.reload, 1000);
  useLive((e) => {
    if (e.chargerId === id && (e.type === 'smart.actuation' || e.type.startsWith('transaction.'))) reloadPlan();
  });
  const managed = plan.data != null && plan.data.state !== 'unmanaged';
  const mode = plan.data?.plan && !plan.data.plan.fast && plan.data.plan.departure ? 'smart' : 'fast';
  const command = (action: string, body: Record<string, unknown>) =>
    api<{ status?: string }>('POST', `/api/chargers/${enc}/commands/${action}`, body);
  const answered = (r: { status?: string }) => (r.status ? `Charger answered ${r.status}` : 'Done');
  const choose = async (next: 'fast' | 'smart') => {
    if (!tx) throw new Error('No session is running: plug in and start first.');
    if (next === 'fast') await api('POST', `/api/transactions/${tx.id}/fast-charge`);
    // HH:MM: the next such time in the site's time zone (the household's own).
    else
      await api('PUT', `/api/transactions/${tx.id}/plan`, {
        departure: readyBy,
        energyKWh: Number(energyKWh),
        fast: false,
      });
    plan.reload();
    return next;
  };
  return (
    <Card
      class="home-card"
      title={
        <>
          {id} <Online connected={charger.connected} />
        </>
      }
    >
      <p class="big">
        {connector ? (
          <StatusBadge status={connector.status} errorCode={connector.errorCode} />
        ) : (
          <span class="muted">no status yet</span>
        )}
      </p>
      <dl class="kv">
        <dt>Power</dt>
        <dd data-testid={`home-power-${id}`}>{tx ? kW(tx.live?.powerW) : '–'}</dd>
        <dt>This session</dt>
        <dd data-testid={`home-energy-${id}`}>{tx ? kWh(tx.live?.energyWh ?? tx.energyWh) : 'no session'}</dd>
        <dt>Today</dt>
        <dd>{stats.data ? `${kWh(stats.data.day.energy)} · ${money(stats.data.day.cost)}` : '…'}</dd>
        <dt>This month</dt>
        <dd>{stats.data ? `${kWh(stats.data.month.energy)} · ${money(stats.data.month.cost)}` : '…'}</dd>
      </dl>
      <div class="buttons">
        {tx ? (
          <Action
            label="Stop"
            kind="danger"
            run={() => command('RemoteStopTransaction', { transactionId: tx.id })}
            done={answered}
          />
        ) : (
          <span class="inline-form">
            <label for={`home-tag-${id}`}>Id tag</label>
            <input
              id={`home-tag-${id}`}
              size={8}
              value={idTag}
              onInput={(e) => setIdTag((e.target as HTMLInputElement).value)}
            />
            <Action
              label="Start"
              kind="primary"
              disabled={idTag.trim() === ''}
              run={() =>
                command('RemoteStartTransaction', { connectorId: connector?.connectorId ?? 1, idTag: idTag.trim() })
              }
              done={answered}
            />
          </span>
        )}
        <Action
          label="Unlock"
          run={() => command('UnlockConnector', { connectorId: connector?.connectorId ?? 1 })}
          done={answered}
        />
      </div>
      <fieldset class="toggle" disabled={!tx || !managed}>
        <legend>Charging mode{tx ? '' : ' (during a session)'}</legend>
        <span class="inline-form">
          <Action
            label="Fast: charge now"
            kind={mode === 'fast' ? 'primary' : 'plain'}
            run={() => choose('fast')}
            done={() => 'Charging at full power now'}
            testId={`home-fast-${id}`}
          />
          <Action
            label="Smart"
            kind={mode === 'smart' ? 'primary' : 'plain'}
            run={() => choose('smart')}
            done={() => `Charging at the cheapest times, ready by ${readyBy}`}
            testId={`home-smart-${id}`}
          />
        </span>
        <span class="inline-form">
          <label for={`ready-${id}`}>ready by</label>
          <input
            id={`ready-${id}`}
            type="time"
            value={readyBy}
            onInput={(e) => setReadyBy((e.target as HTMLInputElement).value)}
          />
          <NumberField id={`kwh-${id}`} label="kWh" value={energyKWh} set={setEnergyKWh} max={200} />
        </span>
        <p class="muted" aria-live="polite" data-testid={`home-mode-${id}`}>
          {!tx
            ? 'Smart charging applies to a running session.'
            : !plan.data
              ? 'Smart charging is not available for this session.'
              : !managed
                ? (plan.data.reason ?? 'This charger is in no smart-charging site: it charges at full power.')
                : `Now: ${mode === 'fast' ? 'fast, full power' : `smart, ready by ${when(plan.data.plan?.departure)}`}` +
                  (plan.data.currentA != null ? ` · ${plan.data.currentA} A` : '') +
                  (plan.data.reason ? ` · ${plan.data.reason}` : '')}
        </p>
      </fieldset>
      <p>
        <a href={`#/chargers/${enc}`}>Details, history and sessions</a>
      </p>
    </Card>
  );
}
