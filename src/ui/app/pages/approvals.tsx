// Chargers waiting for approval: ids refused at the handshake and chargers held as Pending.
// Approve or reject in one click; the page then says what the charger will do next, from what
// the server observes (the boot trigger answered, or not supported).
import { useRef, useState } from 'preact/hooks';
import { api } from '../api.ts';
import { Action, Loading, Online, useDebounced, useLive, useLoad, when } from '../ui.tsx';

interface Approval {
  id: string;
  source: 'attempt' | 'pending';
  connected: boolean;
  attempts: number;
  firstAt: string | null;
  lastAt: string | null;
  remoteAddress: string | null;
  vendor: string | null;
  model: string | null;
}

/** What happens after an approval, per charger id, updated from the event stream. */
type Outcome = { id: string; text: string; ok: boolean };

export function ApprovalsPage() {
  const list = useLoad(() => api<{ items: Approval[]; total: number }>('GET', '/api/approvals?limit=500'), []);
  const [outcomes, setOutcomes] = useState<Outcome[]>([]);
  const reload = useDebounced(list.reload, 300);
  const say = (id: string, text: string, ok = true) =>
    setOutcomes((o) => [{ id, text, ok }, ...o.filter((x) => x.id !== id)].slice(0, 20));
  // Chargers decided on this page: their events are followed from the moment of the click, since
  // the charger may answer (and boot) before the approval's own answer arrives.
  const watching = useRef(new Set<string>());
  const heard = useRef(new Set<string>());
  const hear = (id: string, text: string) => {
    heard.current.add(id);
    say(id, text);
  };

  useLive((e) => {
    if (['charger.connected', 'charger.boot', 'charger.registration', 'charger.disconnected'].includes(e.type))
      reload();
    const id = e.chargerId;
    if (!id || !watching.current.has(id)) return;
    if (e.type === 'command.answered' && e.data.action === 'TriggerMessage') {
      const status = (e.data.response as { status?: string } | undefined)?.status;
      if (e.data.ok && status === 'Accepted') hear(id, `${id} accepted the request and is booting again now.`);
      else
        hear(
          id,
          `${id} does not support TriggerMessage for a boot (${status ?? String(e.data.error ?? 'it refused')}): it will boot again by itself within its retry interval (60 s unless configured otherwise).`,
        );
    }
    if (e.type === 'callerror') {
      hear(
        id,
        `${id} answered with an error: it will boot again by itself within its retry interval (60 s unless configured otherwise).`,
      );
    }
    if (e.type === 'charger.boot') hear(id, `${id} booted and is accepted: it now appears in the fleet.`);
  });

  const approve = async (a: Approval) => {
    watching.current.add(a.id);
    heard.current.delete(a.id);
    await api('POST', `/api/chargers/${encodeURIComponent(a.id)}/approve`);
    if (heard.current.has(a.id)) {
      // The charger's own answer already said what happens next.
    } else if (a.source === 'attempt') {
      say(
        a.id,
        `${a.id} is approved. It was refused at the connection, so it connects again on its own retry schedule; it then boots as accepted.`,
      );
    } else if (a.connected) {
      say(a.id, `${a.id} is approved. Ampere asked it to boot again now (TriggerMessage)…`);
    } else {
      say(a.id, `${a.id} is approved; it is offline now and will be accepted when it next boots.`);
    }
    list.reload();
  };
  const reject = async (a: Approval) => {
    await api('POST', `/api/chargers/${encodeURIComponent(a.id)}/reject`);
    say(a.id, `${a.id} is rejected: its next BootNotification is answered Rejected.`, false);
    list.reload();
  };

  return (
    <>
      <h1>Waiting for approval</h1>
      <div aria-live="polite" class="outcomes">
        {outcomes.map((o) => (
          <p key={o.id} class={o.ok ? 'note ok' : 'note'} data-testid={`outcome-${o.id}`}>
            {o.text}
          </p>
        ))}
      </div>
      {!list.data ? (
        <Loading error={list.error} />
      ) : list.data.items.length === 0 ? (
        <p class="muted">
          No charger is waiting. A charger Ampere does not know appears here when it connects (with --registration
          pending or known).
        </p>
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Chargers waiting for approval</caption>
            <thead>
              <tr>
                <th scope="col">Charger id</th>
                <th scope="col">Address</th>
                <th scope="col">Last try</th>
                <th scope="col">Vendor</th>
                <th scope="col">State</th>
                <th scope="col">Decide</th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((a) => (
                <tr key={a.id} data-testid={`approval-${a.id}`}>
                  <th scope="row">{a.id}</th>
                  <td>{a.remoteAddress ?? '–'}</td>
                  <td>{when(a.lastAt)}</td>
                  <td>{[a.vendor, a.model].filter(Boolean).join(' ') || '–'}</td>
                  <td>{a.source === 'pending' ? <Online connected={a.connected} /> : `refused ${a.attempts}×`}</td>
                  <td class="actions">
                    <Action label="Approve" kind="primary" run={() => approve(a)} />
                    <Action label="Reject" kind="danger" run={() => reject(a)} />
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}
