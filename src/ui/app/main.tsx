// The web console: sign-in, then pages chosen by the URL's hash, all fed live by one event stream.
import './style.css';
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { ApiError, api, setCsrf, startEvents, stopEvents, subscribeLive, whenSignedOut } from './api.ts';
import { ApprovalsPage } from './pages/approvals.tsx';
import { ChargerPage } from './pages/charger.tsx';
import { EventsPage } from './pages/events.tsx';
import { FleetPage } from './pages/fleet.tsx';
import { HomePage } from './pages/home.tsx';
import { SessionPage, SessionsPage } from './pages/sessions.tsx';
import { SitePage } from './pages/site.tsx';
import { TagsPage } from './pages/tags.tsx';
import { messageOf } from './ui.tsx';

interface SessionInfo {
  signedIn: boolean;
  csrfToken?: string;
  tokenFile: string | null;
}

function useHash(): string {
  const [hash, setHash] = useState(location.hash);
  useEffect(() => {
    const f = () => setHash(location.hash);
    addEventListener('hashchange', f);
    return () => removeEventListener('hashchange', f);
  }, []);
  return hash;
}

const NAV: Array<[string, string]> = [
  ['#/home', 'Home'],
  ['#/fleet', 'Fleet'],
  ['#/approvals', 'Approvals'],
  ['#/sessions', 'Sessions'],
  ['#/site', 'Site'],
  ['#/tags', 'Id tags'],
  ['#/events', 'Events'],
];

function SignIn({ tokenFile, onDone }: { tokenFile: string | null; onDone: (s: SessionInfo) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (ev: Event) => {
    ev.preventDefault();
    setBusy(true);
    setError(null);
    try {
      onDone(await api<SessionInfo>('POST', '/api/session', { token }));
    } catch (e) {
      setError(e instanceof ApiError && e.status === 400 ? 'Enter the operator token.' : messageOf(e));
    } finally {
      setBusy(false);
    }
  };
  return (
    <main class="signin" id="main">
      <h1>Ampere</h1>
      <form onSubmit={submit} class="card">
        <h2>Sign in</h2>
        <label for="token">Operator token</label>
        <input
          id="token"
          name="token"
          type="password"
          autocomplete="current-password"
          value={token}
          onInput={(e) => setToken((e.target as HTMLInputElement).value)}
          required
        />
        <p class="muted">
          It is the value of AMPERE_API_TOKEN, or the token Ampere generated at its first start and printed once
          {tokenFile ? (
            <>
              ; it is kept in <code>{tokenFile}</code>
            </>
          ) : null}
          . You type it once: the browser then keeps a session cookie, never the token.
        </p>
        <button type="submit" class="btn primary" disabled={busy}>
          Sign in
        </button>
        {error && (
          <p class="note err" role="alert">
            {error}
          </p>
        )}
      </form>
    </main>
  );
}

function Shell({ onSignOut }: { onSignOut: () => void }) {
  const hash = useHash();
  const [live, setLive] = useState(false);
  const [defaultPage, setDefaultPage] = useState<string | null>(null);
  useEffect(() => subscribeLive(setLive), []);
  useEffect(() => {
    if (hash !== '' && hash !== '#/') return;
    // A household with one or two chargers starts at the home view, an operator at the fleet.
    api<{ total: number }>('GET', '/api/fleet?limit=1').then(
      (p) => setDefaultPage(p.total <= 2 ? '#/home' : '#/fleet'),
      () => setDefaultPage('#/fleet'),
    );
  }, [hash]);
  const route = hash === '' || hash === '#/' ? (defaultPage ?? '') : hash;
  const parts = route.replace(/^#\/?/, '').split('/').map(decodeURIComponent);
  let page = null;
  switch (parts[0]) {
    case 'home':
      page = <HomePage />;
      break;
    case 'fleet':
      page = <FleetPage />;
      break;
    case 'approvals':
      page = <ApprovalsPage />;
      break;
    case 'chargers':
      page = <ChargerPage id={parts[1] ?? ''} />;
      break;
    case 'sessions':
      page = parts[1] ? <SessionPage id={Number(parts[1])} /> : <SessionsPage />;
      break;
    case 'site':
      page = <SitePage />;
      break;
    case 'tags':
      page = <TagsPage />;
      break;
    case 'events':
      page = <EventsPage />;
      break;
    case '':
      page = <p class="muted">Loading…</p>;
      break;
    default:
      page = <p>No page {route}.</p>;
  }
  const current = `#/${parts[0]}`;
  return (
    <>
      <button type="button" class="skip btn" onClick={() => document.getElementById('main')?.focus()}>
        Skip to content
      </button>
      <header class="top">
        <span class="brand">Ampere</span>
        <nav aria-label="Pages">
          {NAV.map(([href, label]) => (
            <a href={href} aria-current={current === href ? 'page' : undefined} key={href}>
              {label}
            </a>
          ))}
        </nav>
        <span class={live ? 'live on' : 'live off'} role="status">
          {live ? 'live' : 'reconnecting…'}
        </span>
        <button type="button" class="btn plain" onClick={onSignOut}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {page}
      </main>
    </>
  );
}

function App() {
  const [session, setSession] = useState<SessionInfo | null>(null);
  const [error, setError] = useState<string | null>(null);
  useEffect(() => {
    whenSignedOut(() => {
      stopEvents();
      setSession((s) => (s ? { ...s, signedIn: false } : s));
    });
    api<SessionInfo>('GET', '/api/session').then(setSession, (e) => setError(messageOf(e)));
  }, []);
  useEffect(() => {
    if (session?.signedIn) {
      setCsrf(session.csrfToken ?? '');
      startEvents();
    }
  }, [session]);
  if (error)
    return (
      <p class="note err" role="alert">
        {error}
      </p>
    );
  if (!session) return null;
  if (!session.signedIn) return <SignIn tokenFile={session.tokenFile} onDone={setSession} />;
  const signOut = async () => {
    try {
      await api('DELETE', '/api/session');
    } finally {
      stopEvents();
      setCsrf('');
      setSession({ ...session, signedIn: false });
    }
  };
  return <Shell onSignOut={signOut} />;
}

render(<App />, document.getElementById('app')!);
