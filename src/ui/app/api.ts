// The console's only way to the server: the operator API over fetch (session cookie, CSRF header
// on changes) and one EventSource on /api/events that every page listens to.

export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

let csrf = '';
let onSignedOut: () => void = () => {};

export function setCsrf(token: string): void {
  csrf = token;
}

export function whenSignedOut(f: () => void): void {
  onSignedOut = f;
}

/** One API call; a failure becomes an ApiError whose message is the server's, in words. */
export async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = { accept: 'application/json' };
  if (body !== undefined) headers['content-type'] = 'application/json';
  if (method !== 'GET' && csrf) headers['x-ampere-csrf'] = csrf;
  let res: Response;
  try {
    res = await fetch(path, {
      method,
      headers,
      credentials: 'same-origin',
      ...(body !== undefined ? { body: JSON.stringify(body) } : {}),
    });
  } catch {
    throw new ApiError(0, 'NETWORK', 'The server cannot be reached; check that Ampere is running.');
  }
  const text = await res.text();
  const parsed = text ? safeJson(text) : null;
  if (!res.ok) {
    const err = (parsed as { error?: { code?: string; message?: string } } | null)?.error;
    if (res.status === 401 && path !== '/api/session') onSignedOut();
    throw new ApiError(
      res.status,
      err?.code ?? `HTTP_${res.status}`,
      err?.message ?? `The server answered ${res.status}`,
    );
  }
  return parsed as T;
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export interface LiveEvent {
  id: number;
  type: string;
  chargerId: string | null;
  at: string;
  data: Record<string, any>;
}

/** Every event type the server sends (EventSource delivers only the named types it listens for). */
export const EVENT_TYPES = [
  'charger.connected',
  'charger.disconnected',
  'charger.boot',
  'charger.registration',
  'connector.status',
  'transaction.started',
  'transaction.stopped',
  'meter.values',
  'command.sent',
  'command.answered',
  'callerror',
  'datatransfer',
  'firmware.status',
  'firmware.job',
  'firmware.rollout',
  'diagnostics.status',
  'diagnostics.requested',
  'diagnostics.received',
  'diagnostics.refused',
  'config.reboot',
  'conformance.finding',
  'security.event',
  'smart.actuation',
  'smart.mismatch',
  'smart.violation',
] as const;

type Listener = (e: LiveEvent) => void;
const listeners = new Set<Listener>();
const stateListeners = new Set<(live: boolean) => void>();
let source: EventSource | null = null;
let live = false;

function setLive(v: boolean) {
  live = v;
  for (const l of stateListeners) l(v);
}

/** Opens the event stream (the session cookie goes along); EventSource resumes by itself. */
export function startEvents(): void {
  if (source) return;
  source = new EventSource('/api/events');
  source.onopen = () => setLive(true);
  source.onerror = () => setLive(false);
  const deliver = (m: MessageEvent) => {
    const e = JSON.parse(m.data as string) as LiveEvent;
    for (const l of listeners) l(e);
  };
  for (const t of EVENT_TYPES) source.addEventListener(t, deliver as EventListener);
}

export function stopEvents(): void {
  source?.close();
  source = null;
  setLive(false);
}

export function subscribe(l: Listener): () => void {
  listeners.add(l);
  return () => listeners.delete(l);
}

export function subscribeLive(l: (live: boolean) => void): () => void {
  stateListeners.add(l);
  l(live);
  return () => stateListeners.delete(l);
}
