// The command sender over every node (ports.ts CommandSender): a charger connected here is called
// directly; a charger held by another node is called there, through a routed message with a
// request id (LISTEN/NOTIFY, large payloads through a table), and its answer comes back the same
// way. The errors are those of one node: 409 when no node holds the charger, 504 on timeout.
import { randomUUID } from 'node:crypto';
import type { Logger } from 'pino';
import { AMPERE_ERRORS, AmpereError, type AmpereErrorCode } from '../../errors.ts';
import type { ActionMap, CentralAction } from '../../ocpp/index.ts';
import type { ClusterBackplane } from '../../store/cluster.ts';
import type { ChargerDirectory, CommandSender, Timers } from '../ports.ts';
import type { ClusterDirectory } from './directory.ts';

export interface RoutedCommandSenderOptions {
  backplane: ClusterBackplane;
  directory: ClusterDirectory;
  /** This node's own sender and directory (the CentralSystem). */
  local: CommandSender & ChargerDirectory;
  timers: Timers;
  /** The charger's own answer timeout; the routed call waits this plus `routeMarginMs`. */
  callTimeoutMs: number;
  routeMarginMs?: number;
  log: Logger;
}

type Routed =
  | { t: 'call'; r: string; from: string; c: string; a: CentralAction; p: unknown }
  | { t: 'answer'; r: string; ok: true; res: unknown }
  | { t: 'answer'; r: string; ok: false; code?: string; message: string; details?: Record<string, unknown> };

interface Pending {
  resolve: (v: unknown) => void;
  reject: (e: Error) => void;
  timer: unknown;
}

export class RoutedCommandSender implements CommandSender {
  private readonly o: RoutedCommandSenderOptions;
  private readonly pending = new Map<string, Pending>();

  constructor(o: RoutedCommandSenderOptions) {
    this.o = o;
    o.backplane.onMessage((text) => this.received(text));
  }

  async call<A extends CentralAction>(
    chargerId: string,
    action: A,
    payload: ActionMap[A]['request'],
  ): Promise<ActionMap[A]['response']> {
    const { local, directory, backplane, timers } = this.o;
    if (local.isConnected(chargerId)) return local.call(chargerId, action, payload);
    const node = directory.nodeOf(chargerId);
    if (node === undefined || node === backplane.nodeId) {
      throw new AmpereError('AMPERE_ERR_CHARGER_OFFLINE', `Charger ${chargerId} is not connected`, { chargerId });
    }
    const r = randomUUID();
    const waitMs = this.o.callTimeoutMs + (this.o.routeMarginMs ?? 2000);
    const answer = new Promise<unknown>((resolve, reject) => {
      const timer = timers.setTimeout(() => {
        this.pending.delete(r);
        reject(
          new AmpereError(
            'AMPERE_ERR_CALL_TIMEOUT',
            `No answer to ${action} within ${waitMs} ms (routed to node ${node})`,
            {
              action,
              timeoutMs: waitMs,
              node,
            },
          ),
        );
      }, waitMs);
      this.pending.set(r, { resolve, reject, timer });
    });
    const message: Routed = { t: 'call', r, from: backplane.nodeId, c: chargerId, a: action, p: payload };
    try {
      await backplane.send(node, JSON.stringify(message));
    } catch (e) {
      const p = this.pending.get(r);
      this.pending.delete(r);
      if (p) timers.clearTimeout(p.timer);
      throw e;
    }
    return answer as Promise<ActionMap[A]['response']>;
  }

  private received(text: string): void {
    let m: Routed;
    try {
      m = JSON.parse(text) as Routed;
    } catch {
      this.o.log.warn('cluster: unreadable routed message');
      return;
    }
    if (m.t === 'call') this.serve(m);
    else if (m.t === 'answer') this.answered(m);
  }

  /** A call routed here from another node: run it on the local connection, send the answer back. */
  private serve(m: Extract<Routed, { t: 'call' }>): void {
    const { local, backplane, log } = this.o;
    const reply = (a: Routed) =>
      backplane
        .send(m.from, JSON.stringify(a))
        .catch((e) => log.warn({ err: e }, 'cluster: could not route an answer'));
    local.call(m.c, m.a, m.p as never).then(
      (res) => reply({ t: 'answer', r: m.r, ok: true, res }),
      (e: Error & { code?: string; details?: Record<string, unknown> }) =>
        reply({
          t: 'answer',
          r: m.r,
          ok: false,
          message: e.message,
          ...(e.code !== undefined ? { code: e.code } : {}),
          ...(e.details !== undefined ? { details: e.details } : {}),
        }),
    );
  }

  private answered(m: Extract<Routed, { t: 'answer' }>): void {
    const p = this.pending.get(m.r);
    if (!p) return; // timed out already
    this.pending.delete(m.r);
    this.o.timers.clearTimeout(p.timer);
    if (m.ok) p.resolve(m.res);
    else if (m.code !== undefined && m.code in AMPERE_ERRORS)
      p.reject(new AmpereError(m.code as AmpereErrorCode, m.message, m.details));
    else p.reject(new Error(m.message));
  }

  /** Fails the calls still waiting (shutdown). */
  close(): void {
    for (const [r, p] of this.pending) {
      this.o.timers.clearTimeout(p.timer);
      p.reject(new AmpereError('AMPERE_ERR_SESSION_CLOSED', 'The node is shutting down'));
      this.pending.delete(r);
    }
  }
}
