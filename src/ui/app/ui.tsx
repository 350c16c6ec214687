// Small pieces every page uses: live subscriptions, loading data, buttons that report their own
// errors beside them, connector status badges, number formats.
import type { ComponentChildren } from 'preact';
import { useEffect, useRef, useState } from 'preact/hooks';
import { ApiError, type LiveEvent, subscribe } from './api.ts';

/** Calls `f` for every live event while the component is shown (latest `f`, one subscription). */
export function useLive(f: (e: LiveEvent) => void): void {
  const ref = useRef(f);
  ref.current = f;
  useEffect(() => subscribe((e) => ref.current(e)), []);
}

export interface Loaded<T> {
  data: T | null;
  error: string | null;
  reload: () => void;
  set: (f: (d: T) => T) => void;
}

/** Loads once per key; `reload` loads again (after an event said something changed). */
export function useLoad<T>(load: () => Promise<T>, key: unknown[]): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [n, setN] = useState(0);
  const seq = useRef(0);
  useEffect(() => {
    const mine = ++seq.current;
    load().then(
      (d) => {
        if (mine === seq.current) {
          setData(d);
          setError(null);
        }
      },
      (e: unknown) => {
        if (mine === seq.current) setError(messageOf(e));
      },
    );
  }, [...key, n]);
  return {
    data,
    error,
    reload: () => setN((x) => x + 1),
    set: (f) => setData((d) => (d === null ? d : f(d))),
  };
}

/** Collapses a burst of calls into one after `ms` (e.g. one reload for a burst of meter values). */
export function useDebounced(f: () => void, ms = 300): () => void {
  const timer = useRef<number | undefined>(undefined);
  const ref = useRef(f);
  ref.current = f;
  useEffect(() => () => clearTimeout(timer.current), []);
  return () => {
    if (timer.current !== undefined) return;
    timer.current = window.setTimeout(() => {
      timer.current = undefined;
      ref.current();
    }, ms);
  };
}

export function messageOf(e: unknown): string {
  if (e instanceof ApiError) return e.message;
  return e instanceof Error ? e.message : String(e);
}

/**
 * A button whose action runs against the API; while it runs the button is busy, and what went
 * wrong (or a short result) is said right beside it, in words.
 */
export function Action(props: {
  label: string;
  run: () => Promise<unknown>;
  done?: (result: any) => string | null;
  kind?: 'primary' | 'danger' | 'plain';
  disabled?: boolean;
  title?: string;
  testId?: string;
}) {
  const [busy, setBusy] = useState(false);
  const [note, setNote] = useState<{ ok: boolean; text: string } | null>(null);
  const click = async () => {
    setBusy(true);
    setNote(null);
    try {
      const r = await props.run();
      const text = props.done?.(r) ?? null;
      if (text) setNote({ ok: true, text });
    } catch (e) {
      setNote({ ok: false, text: messageOf(e) });
    } finally {
      setBusy(false);
    }
  };
  return (
    <span class="action">
      <button
        type="button"
        class={`btn ${props.kind ?? 'plain'}`}
        onClick={click}
        disabled={busy || props.disabled}
        aria-busy={busy}
        title={props.title}
        data-testid={props.testId}
      >
        {props.label}
      </button>
      {note && (
        <span class={note.ok ? 'note ok' : 'note err'} role={note.ok ? 'status' : 'alert'}>
          {note.text}
        </span>
      )}
    </span>
  );
}

/** xxter's status enum (0 Available … 8 Faulted): one colour per value, the number shown too. */
export const STATUS_ENUM = [
  'Available',
  'Preparing',
  'Charging',
  'SuspendedEV',
  'SuspendedEVSE',
  'Finishing',
  'Reserved',
  'Unavailable',
  'Faulted',
];

export function StatusBadge({ status, errorCode }: { status: string; errorCode?: string | undefined }) {
  const n = STATUS_ENUM.indexOf(status);
  const err = errorCode && errorCode !== 'NoError' ? errorCode : null;
  return (
    <span class={`badge st-${n < 0 ? 'x' : n}`} title={n < 0 ? status : `${status} (xxter status ${n})`}>
      {status}
      {err && <span class="badge-err"> · {err}</span>}
    </span>
  );
}

export function Online({ connected }: { connected: boolean }) {
  return <span class={connected ? 'dot on' : 'dot off'}>{connected ? 'online' : 'offline'}</span>;
}

export function Loading({ error }: { error?: string | null }) {
  if (error)
    return (
      <p class="note err" role="alert">
        {error}
      </p>
    );
  return <p class="muted">Loading…</p>;
}

export function Card(props: { title?: ComponentChildren; children: ComponentChildren; class?: string }) {
  return (
    <section class={`card ${props.class ?? ''}`}>
      {props.title && <h2>{props.title}</h2>}
      {props.children}
    </section>
  );
}

export const kWh = (wh: number | null | undefined) => (wh == null ? '–' : `${(wh / 1000).toFixed(2)} kWh`);
export const kW = (w: number | null | undefined) => (w == null ? '–' : `${(w / 1000).toFixed(1)} kW`);
export const when = (iso: string | null | undefined) =>
  !iso ? '–' : Number.isNaN(Date.parse(iso)) ? iso : new Date(iso).toLocaleString();
export const money = (c: { amount?: number; currency?: string } | null | undefined) =>
  c?.amount == null ? '–' : `${c.amount.toFixed(2)} ${c.currency ?? ''}`.trim();

export function duration(seconds: number | null | undefined): string {
  if (seconds == null) return '–';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h} h ${m} min` : m > 0 ? `${m} min ${s % 60} s` : `${s} s`;
}

/** A labelled number field (kWh, minutes); the value stays the text typed until it is used. */
export function NumberField(props: {
  id: string;
  label: ComponentChildren;
  value: string;
  set: (v: string) => void;
  min?: number;
  max?: number;
  hideLabel?: boolean;
}) {
  return (
    <>
      <label for={props.id} class={props.hideLabel ? 'sr-only' : undefined}>
        {props.label}
      </label>
      <input
        id={props.id}
        type="number"
        min={props.min ?? 1}
        max={props.max}
        size={4}
        value={props.value}
        onInput={(e) => props.set((e.target as HTMLInputElement).value)}
      />
    </>
  );
}

/** A labelled choice among fixed options, as [value, text] pairs. */
export function Choice(props: { label: string; value: string; set: (v: string) => void; options: [string, string][] }) {
  return (
    <label>
      {props.label}
      <select value={props.value} onChange={(e) => props.set((e.target as HTMLSelectElement).value)}>
        {props.options.map(([v, text]) => (
          <option key={v} value={v}>
            {text}
          </option>
        ))}
      </select>
    </label>
  );
}
