// One charger: identity, connectors with their session and buttons, commands, configuration
// (writable keys editable, read-only keys marked), security, conformance findings, status
// history and sessions. Its events reload what they change.
import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import {
  Action,
  Card,
  duration,
  kW,
  kWh,
  Loading,
  NumberField,
  Online,
  StatusBadge,
  useDebounced,
  useLive,
  useLoad,
  when,
} from '../ui.tsx';

interface Connector {
  connectorId: number;
  status: string;
  errorCode: string;
  info: string | null;
  updatedAt: string;
}
interface Charger {
  id: string;
  connected: boolean;
  registration: string;
  vendor: string | null;
  model: string | null;
  chargePointSerialNumber: string | null;
  firmwareVersion: string | null;
  lastBootAt: string | null;
  lastSeenAt: string | null;
  remoteAddress: string | null;
  securityProfile: number;
  connectors: Connector[];
}
export interface Tx {
  id: number;
  chargerId: string;
  connectorId: number;
  idTag: string;
  active: boolean;
  startedAt: string;
  stoppedAt: string | null;
  meterStart?: number;
  energyWh: number | null;
  durationSeconds: number;
  stopReason: string | null;
  cost: { amount: number; currency: string } | null;
  live?: { powerW: number | null; energyWh: number; state: string; secondsToTarget: number | null } | null;
}
interface ConfigKey {
  key: string;
  value: string | null;
  readonly: boolean;
}

const command = (id: string, action: string, body: Record<string, unknown> = {}) =>
  api<{ status?: string }>('POST', `/api/chargers/${encodeURIComponent(id)}/commands/${action}`, body);
const answered = (r: { status?: string } | null) => (r?.status ? `Charger answered ${r.status}` : 'Done');

export function ChargerPage({ id }: { id: string }) {
  const path = `/api/chargers/${encodeURIComponent(id)}`;
  const charger = useLoad(() => api<Charger>('GET', path), [id]);
  const sessions = useLoad(
    () => api<{ items: Tx[] }>('GET', `/api/transactions?chargerId=${encodeURIComponent(id)}&limit=20`),
    [id],
  );
  const active = useLoad(
    () => api<{ items: Tx[] }>('GET', `/api/sessions/active?chargerId=${encodeURIComponent(id)}`),
    [id],
  );
  const history = useLoad(() => api<{ items: Connector[] }>('GET', `${path}/status-history?limit=15`), [id]);
  const reloadCharger = useDebounced(charger.reload, 200);
  const reloadSessions = useDebounced(() => {
    sessions.reload();
    active.reload();
  }, 300);
  const reloadHistory = useDebounced(history.reload, 500);

  useLive((e) => {
    if (e.chargerId !== id) return;
    if (e.type.startsWith('charger.') || e.type === 'connector.status') reloadCharger();
    if (e.type === 'connector.status') reloadHistory();
    if (e.type.startsWith('transaction.') || e.type === 'meter.values') reloadSessions();
  });

  if (!charger.data) return <Loading error={charger.error} />;
  const c = charger.data;
  const activeOn = (n: number) => active.data?.items.find((t) => t.connectorId === n);
  return (
    <>
      <h1>
        Charger {c.id} <Online connected={c.connected} />
      </h1>
      <div class="grid">
        <Card title="Identity">
          <dl class="kv">
            <dt>Vendor / model</dt>
            <dd>{[c.vendor, c.model].filter(Boolean).join(' ') || '–'}</dd>
            <dt>Serial</dt>
            <dd>{c.chargePointSerialNumber ?? '–'}</dd>
            <dt>Firmware</dt>
            <dd>{c.firmwareVersion ?? '–'}</dd>
            <dt>Registration</dt>
            <dd>{c.registration}</dd>
            <dt>Security profile</dt>
            <dd data-testid="security-profile">{c.securityProfile}</dd>
            <dt>Address</dt>
            <dd>{c.remoteAddress ?? '–'}</dd>
            <dt>Last boot</dt>
            <dd>{when(c.lastBootAt)}</dd>
            <dt>Last seen</dt>
            <dd>{when(c.lastSeenAt)}</dd>
          </dl>
        </Card>
        <Card title="Commands">
          <div class="buttons">
            <Action label="Soft reset" run={() => command(id, 'Reset', { type: 'Soft' })} done={answered} />
            <Action
              label="Hard reset"
              kind="danger"
              run={() => command(id, 'Reset', { type: 'Hard' })}
              done={answered}
            />
            <Action label="Clear cache" run={() => command(id, 'ClearCache')} done={answered} />
          </div>
          <Trigger id={id} />
          <Reserve id={id} connectors={c.connectors.filter((x) => x.connectorId > 0).map((x) => x.connectorId)} />
        </Card>
      </div>
      <h2>Connectors</h2>
      <div class="grid">
        {c.connectors.filter((x) => x.connectorId > 0).length === 0 && (
          <p class="muted">No connector has reported a status yet.</p>
        )}
        {c.connectors
          .filter((x) => x.connectorId > 0)
          .map((x) => (
            <ConnectorCard key={x.connectorId} id={id} connector={x} tx={activeOn(x.connectorId)} />
          ))}
      </div>
      <Configuration id={id} />
      <div class="grid">
        <Card title="Status history">
          {!history.data ? (
            <Loading error={history.error} />
          ) : (
            <ul class="plain" data-testid="status-history">
              {history.data.items.map((h, i) => (
                <li key={i}>
                  <span class="muted">{when(h.updatedAt)}</span> #{h.connectorId}{' '}
                  <StatusBadge status={h.status} errorCode={h.errorCode} />
                </li>
              ))}
            </ul>
          )}
        </Card>
        <Card title="Sessions">
          {!sessions.data ? (
            <Loading error={sessions.error} />
          ) : sessions.data.items.length === 0 ? (
            <p class="muted">No session yet.</p>
          ) : (
            <ul class="plain">
              {sessions.data.items.map((t) => (
                <li key={t.id}>
                  <a href={`#/sessions/${t.id}`}>Session {t.id}</a> · {when(t.startedAt)} · {kWh(t.energyWh)}
                  {t.active ? ' · active' : ` · ${t.stopReason ?? 'stopped'}`}
                </li>
              ))}
            </ul>
          )}
        </Card>
        <Findings id={id} />
        <SecurityEvents id={id} />
      </div>
    </>
  );
}

function ConnectorCard({ id, connector, tx }: { id: string; connector: Connector; tx: Tx | undefined }) {
  const [idTag, setIdTag] = useState('');
  const n = connector.connectorId;
  const inputId = `idtag-${n}`;
  return (
    <Card title={`Connector ${n}`}>
      <p>
        <StatusBadge status={connector.status} errorCode={connector.errorCode} />
      </p>
      {tx ? (
        <p data-testid={`session-${n}`}>
          Session <a href={`#/sessions/${tx.id}`}>{tx.id}</a> for {tx.idTag}:{' '}
          <strong data-testid={`energy-${n}`}>{kWh(tx.live?.energyWh ?? tx.energyWh)}</strong> at {kW(tx.live?.powerW)},{' '}
          {duration(tx.durationSeconds)}
        </p>
      ) : (
        <p class="muted">No session.</p>
      )}
      <div class="buttons">
        {tx ? (
          <Action
            label="Stop"
            kind="danger"
            run={() => command(id, 'RemoteStopTransaction', { transactionId: tx.id })}
            done={answered}
          />
        ) : (
          <span class="inline-form">
            <label for={inputId}>Id tag</label>
            <input
              id={inputId}
              value={idTag}
              size={10}
              onInput={(e) => setIdTag((e.target as HTMLInputElement).value)}
            />
            <Action
              label="Start"
              kind="primary"
              disabled={idTag.trim() === ''}
              run={() => command(id, 'RemoteStartTransaction', { connectorId: n, idTag: idTag.trim() })}
              done={answered}
            />
          </span>
        )}
        <Action label="Unlock" run={() => command(id, 'UnlockConnector', { connectorId: n })} done={answered} />
        {connector.status === 'Unavailable' ? (
          <Action
            label="Make available"
            run={() => command(id, 'ChangeAvailability', { connectorId: n, type: 'Operative' })}
            done={answered}
          />
        ) : (
          <Action
            label="Make unavailable"
            run={() => command(id, 'ChangeAvailability', { connectorId: n, type: 'Inoperative' })}
            done={answered}
          />
        )}
      </div>
    </Card>
  );
}

const TRIGGERS = [
  'StatusNotification',
  'MeterValues',
  'Heartbeat',
  'BootNotification',
  'DiagnosticsStatusNotification',
  'FirmwareStatusNotification',
];

function Trigger({ id }: { id: string }) {
  const [message, setMessage] = useState('StatusNotification');
  return (
    <p class="inline-form">
      <label for="trigger">Trigger</label>
      <select id="trigger" value={message} onChange={(e) => setMessage((e.target as HTMLSelectElement).value)}>
        {TRIGGERS.map((t) => (
          <option key={t}>{t}</option>
        ))}
      </select>
      <Action label="Send" run={() => command(id, 'TriggerMessage', { requestedMessage: message })} done={answered} />
    </p>
  );
}

function Reserve({ id, connectors }: { id: string; connectors: number[] }) {
  const [idTag, setIdTag] = useState('');
  const [minutes, setMinutes] = useState('30');
  return (
    <p class="inline-form">
      <label for="reserve-tag">Reserve for tag</label>
      <input id="reserve-tag" size={10} value={idTag} onInput={(e) => setIdTag((e.target as HTMLInputElement).value)} />
      <NumberField id="reserve-min" label="minutes" value={minutes} set={setMinutes} max={1440} />
      <Action
        label="Reserve"
        disabled={idTag.trim() === '' || connectors.length === 0}
        run={() =>
          command(id, 'ReserveNow', {
            connectorId: connectors[0] ?? 1,
            idTag: idTag.trim(),
            expiryDate: new Date(Date.now() + Number(minutes) * 60_000).toISOString(),
            reservationId: Math.floor(Date.now() / 1000) % 2_000_000_000,
          })
        }
        done={answered}
      />
    </p>
  );
}

function Configuration({ id }: { id: string }) {
  const path = `/api/chargers/${encodeURIComponent(id)}/configuration`;
  const stored = useLoad(() => api<{ items: ConfigKey[] }>('GET', `${path}/stored`), [id]);
  const [fresh, setFresh] = useState<ConfigKey[] | null>(null);
  const keys = fresh ?? stored.data?.items ?? null;
  return (
    <Card title="Configuration">
      <p>
        <Action
          label="Read from the charger"
          run={async () => {
            const r = await api<{ configurationKey: ConfigKey[] }>('GET', path);
            setFresh(r.configurationKey);
            return r;
          }}
          done={(r) => `${r.configurationKey.length} keys read`}
        />
      </p>
      {!keys ? (
        <Loading error={stored.error} />
      ) : keys.length === 0 ? (
        <p class="muted">No configuration known yet: read it from the charger.</p>
      ) : (
        <div class="table-wrap">
          <table class="config">
            <caption class="sr-only">Configuration keys</caption>
            <thead>
              <tr>
                <th scope="col">Key</th>
                <th scope="col">Value</th>
              </tr>
            </thead>
            <tbody>
              {[...keys]
                .sort((a, b) => a.key.localeCompare(b.key))
                .map((k) => (
                  <ConfigRow key={k.key} id={id} k={k} />
                ))}
            </tbody>
          </table>
        </div>
      )}
    </Card>
  );
}

function ConfigRow({ id, k }: { id: string; k: ConfigKey }) {
  const [value, setValue] = useState(k.value ?? '');
  const inputId = `cfg-${k.key}`;
  return (
    <tr data-testid={`config-${k.key}`}>
      <th scope="row">
        <label for={inputId}>{k.key}</label>
      </th>
      <td>
        {k.readonly ? (
          <span id={inputId}>
            {k.value ?? '–'} <span class="tag">read-only</span>
          </span>
        ) : (
          <span class="inline-form">
            <input id={inputId} value={value} onInput={(e) => setValue((e.target as HTMLInputElement).value)} />
            <Action
              label="Save"
              disabled={value === (k.value ?? '')}
              run={() =>
                api<{ status: string }>(
                  'PUT',
                  `/api/chargers/${encodeURIComponent(id)}/configuration/${encodeURIComponent(k.key)}`,
                  {
                    value,
                  },
                )
              }
              done={(r: { status: string }) =>
                r.status === 'Accepted'
                  ? 'Saved: the charger accepted it'
                  : r.status === 'RebootRequired'
                    ? 'Saved; RebootRequired: it takes effect after a reset'
                    : `The charger answered ${r.status}: not changed`
              }
            />
          </span>
        )}
      </td>
    </tr>
  );
}

interface Finding {
  id: number;
  action: string;
  at: string;
  path: string;
  rule: string;
}

function Findings({ id }: { id: string }) {
  const f = useLoad(
    () => api<{ items: Finding[]; total: number }>('GET', `/api/chargers/${encodeURIComponent(id)}/findings?limit=10`),
    [id],
  );
  useLive((e) => {
    if (e.chargerId === id && e.type === 'conformance.finding') f.reload();
  });
  return (
    <Card title="Conformance findings">
      {!f.data ? (
        <Loading error={f.error} />
      ) : f.data.total === 0 ? (
        <p class="muted">None: every message so far matched the OCPP 1.6 schemas.</p>
      ) : (
        <ul class="plain">
          {f.data.items.map((x) => (
            <li key={x.id}>
              {x.action} {x.path}: {x.rule} <span class="muted">{when(x.at)}</span>
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}

interface SecurityEvent {
  id: number;
  type: string;
  at: string;
  techInfo?: string | null;
}

function SecurityEvents({ id }: { id: string }) {
  const s = useLoad(
    () => api<{ items: SecurityEvent[] }>('GET', `/api/chargers/${encodeURIComponent(id)}/security/events?limit=10`),
    [id],
  );
  useLive((e) => {
    if (e.chargerId === id && e.type === 'security.event') s.reload();
  });
  return (
    <Card title="Security events">
      {!s.data ? (
        <Loading error={s.error} />
      ) : s.data.items.length === 0 ? (
        <p class="muted">None.</p>
      ) : (
        <ul class="plain">
          {s.data.items.map((x) => (
            <li key={x.id}>
              {x.type} <span class="muted">{when(x.at)}</span>
            </li>
          ))}
        </ul>
      )}
    </Card>
  );
}
