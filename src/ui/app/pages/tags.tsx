// Id tags: the list, adding one, blocking or unblocking, expiry, and each tag's smart-energy
// plan (ready-by time and energy) used when a session of that tag starts on a smart site.
import { useState } from 'preact/hooks';
import { api } from '../api.ts';
import { Action, Loading, NumberField, useLoad, when } from '../ui.tsx';

interface Tag {
  idTag: string;
  status: string;
  expiryDate: string | null;
  parentIdTag: string | null;
  smartPlan?: { departureTime?: string; energyKWh?: number } | null;
}

export function TagsPage() {
  const [search, setSearch] = useState('');
  const list = useLoad(
    () =>
      api<{ items: Tag[]; total: number }>(
        'GET',
        `/api/id-tags?limit=200${search ? `&search=${encodeURIComponent(search)}` : ''}`,
      ),
    [search],
  );
  const [idTag, setIdTag] = useState('');
  const [expiry, setExpiry] = useState('');
  return (
    <>
      <h1>Id tags</h1>
      <form class="filters" onSubmit={(e) => e.preventDefault()}>
        <label>
          New tag
          <input value={idTag} maxLength={20} onInput={(e) => setIdTag((e.target as HTMLInputElement).value)} />
        </label>
        <label>
          Expires (optional)
          <input type="date" value={expiry} onInput={(e) => setExpiry((e.target as HTMLInputElement).value)} />
        </label>
        <Action
          label="Add"
          kind="primary"
          disabled={idTag.trim() === ''}
          run={async () => {
            await api('POST', '/api/id-tags', {
              idTag: idTag.trim(),
              status: 'Accepted',
              ...(expiry ? { expiryDate: new Date(`${expiry}T23:59:59`).toISOString() } : {}),
            });
            setIdTag('');
            list.reload();
          }}
          done={() => 'Added'}
        />
        <label>
          Search
          <input type="search" value={search} onInput={(e) => setSearch((e.target as HTMLInputElement).value)} />
        </label>
      </form>
      {!list.data ? (
        <Loading error={list.error} />
      ) : (
        <div class="table-wrap">
          <table>
            <caption class="sr-only">Id tags</caption>
            <thead>
              <tr>
                <th scope="col">Tag</th>
                <th scope="col">Status</th>
                <th scope="col">Expires</th>
                <th scope="col">Smart plan</th>
                <th scope="col">Change</th>
              </tr>
            </thead>
            <tbody>
              {list.data.items.map((t) => (
                <TagRow key={t.idTag} tag={t} reload={list.reload} />
              ))}
            </tbody>
          </table>
        </div>
      )}
    </>
  );
}

function TagRow({ tag, reload }: { tag: Tag; reload: () => void }) {
  const enc = encodeURIComponent(tag.idTag);
  const [ready, setReady] = useState(tag.smartPlan?.departureTime ?? '');
  const [kwh, setKwh] = useState(String(tag.smartPlan?.energyKWh ?? ''));
  const blocked = tag.status === 'Blocked';
  return (
    <tr>
      <th scope="row">{tag.idTag}</th>
      <td>{tag.status}</td>
      <td>{when(tag.expiryDate)}</td>
      <td>
        <span class="inline-form">
          <label for={`ready-${enc}`} class="sr-only">
            Ready by for {tag.idTag}
          </label>
          <input
            id={`ready-${enc}`}
            type="time"
            value={ready}
            onInput={(e) => setReady((e.target as HTMLInputElement).value)}
          />
          <NumberField id={`kwh-${enc}`} label={`Energy in kWh for ${tag.idTag}`} value={kwh} set={setKwh} hideLabel />
          <Action
            label="Save plan"
            run={() =>
              api(
                'PUT',
                `/api/id-tags/${enc}/smart-plan`,
                ready ? { departureTime: ready, ...(kwh ? { energyKWh: Number(kwh) } : {}) } : null,
              )
            }
            done={() => (ready ? `Plan saved: ready by ${ready}` : 'Plan removed')}
          />
        </span>
      </td>
      <td>
        <Action
          label={blocked ? 'Unblock' : 'Block'}
          kind={blocked ? 'plain' : 'danger'}
          run={async () => {
            await api('PATCH', `/api/id-tags/${enc}`, { status: blocked ? 'Accepted' : 'Blocked' });
            reload();
          }}
        />
      </td>
    </tr>
  );
}
