// The live event stream, newest first, filterable by charger and type; security events (from
// chargers and Ampere's own) listed beside it.
import { useEffect, useRef, useState } from 'preact/hooks';
import { api, EVENT_TYPES, type LiveEvent } from '../api.ts';
import { Card, Choice, Loading, useDebounced, useLive, useLoad, when } from '../ui.tsx';

const KEEP = 300;

export function EventsPage() {
  const [events, setEvents] = useState<LiveEvent[]>([]);
  const [charger, setCharger] = useState('');
  const [type, setType] = useState('');
  const [paused, setPaused] = useState(false);
  // A busy fleet sends thousands of events a second: they are added once per frame, not one by one.
  const pending = useRef<LiveEvent[]>([]);
  const frame = useRef(0);
  useEffect(() => () => cancelAnimationFrame(frame.current), []);
  useLive((e) => {
    if (paused) return;
    pending.current.push(e);
    if (frame.current !== 0) return;
    frame.current = requestAnimationFrame(() => {
      frame.current = 0;
      const fresh = pending.current.reverse();
      pending.current = [];
      setEvents((old) => [...fresh, ...old].slice(0, KEEP));
    });
  });
  const security = useLoad(
    () =>
      api<{ items: { id: number; chargerId: string | null; type: string; at: string; source: string }[] }>(
        'GET',
        '/api/security/events?limit=50',
      ),
    [],
  );
  const reloadSecurity = useDebounced(security.reload, 300);
  useLive((e) => {
    if (e.type === 'security.event') reloadSecurity();
  });
  const shown = events.filter((e) => (!charger || (e.chargerId ?? '').includes(charger)) && (!type || e.type === type));
  return (
    <>
      <h1>Events</h1>
      <form class="filters" aria-label="Filter the events" onSubmit={(e) => e.preventDefault()}>
        <label>
          Charger
          <input type="search" value={charger} onInput={(e) => setCharger((e.target as HTMLInputElement).value)} />
        </label>
        <Choice
          label="Type"
          value={type}
          set={setType}
          options={[['', 'all'], ...EVENT_TYPES.map((t): [string, string] => [t, t])]}
        />
        <button type="button" class="btn plain" onClick={() => setPaused((p) => !p)} aria-pressed={paused}>
          {paused ? 'Resume' : 'Pause'}
        </button>
      </form>
      <div class="grid wide">
        <Card title="Live">
          {shown.length === 0 ? (
            <p class="muted">Waiting for events… (they appear as chargers talk; the newest {KEEP} are kept)</p>
          ) : (
            <ol class="events" data-testid="event-list">
              {shown.map((e) => (
                <li key={e.id}>
                  <span class="muted">{new Date(e.at).toLocaleTimeString()}</span> <strong>{e.type}</strong>{' '}
                  {e.chargerId ?? ''} <code>{summary(e)}</code>
                </li>
              ))}
            </ol>
          )}
        </Card>
        <Card title="Security events">
          {!security.data ? (
            <Loading error={security.error} />
          ) : security.data.items.length === 0 ? (
            <p class="muted">None.</p>
          ) : (
            <ul class="plain" data-testid="security-events">
              {security.data.items.map((s) => (
                <li key={s.id}>
                  <strong>{s.type}</strong> {s.chargerId ?? '(server)'}{' '}
                  <span class="muted">
                    {when(s.at)} · {s.source}
                  </span>
                </li>
              ))}
            </ul>
          )}
        </Card>
      </div>
    </>
  );
}

function summary(e: LiveEvent): string {
  const d = e.data;
  switch (e.type) {
    case 'connector.status':
      return `#${d.connectorId} ${d.status}${d.errorCode && d.errorCode !== 'NoError' ? ` ${d.errorCode}` : ''}`;
    case 'command.sent':
    case 'command.answered':
      return `${d.action}${d.response?.status ? ` → ${d.response.status}` : ''}`;
    case 'security.event':
      return String(d.type ?? '');
    default: {
      const s = JSON.stringify(d);
      return s.length > 120 ? `${s.slice(0, 117)}…` : s;
    }
  }
}
