// Ports: the narrow interfaces through which the parts of the central system meet.
//
// A part (the smart controller, charger security, fleet operations, the API, the bridge) receives
// the ports it uses, never the whole CentralSystem. `src/app/` builds the concrete objects and hands
// them out. On one node the CentralSystem itself is the charger directory and the command sender;
// on several nodes (PostgreSQL) a routed implementation of the same ports reaches chargers that are
// connected to another node. Nothing in this file imports a concrete part.
import type { Logger } from 'pino';
import type { ActionMap, CentralAction } from '../ocpp/index.ts';
import type { ChargerPatch, ChargerRecord, Store } from '../store/types.ts';
import type { CentralEvent, CentralEventType } from './events.ts';

/** Wall-clock time in ms; injected so tests can run without sleeping. */
export interface Clock {
  now(): number;
}

/** Timers that go with a Clock (fake ones in unit tests). */
export interface Timers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Real timers that never keep the process alive on their own. */
export const unrefTimers: Timers = {
  setTimeout: (fn, ms) => {
    const t = setTimeout(fn, ms);
    t.unref();
    return t;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/** Who is connected. In a cluster the answer covers every node, not only this one. */
export interface ChargerDirectory {
  isConnected(chargerId: string): boolean;
  connectedIds(): string[];
}

/**
 * Sends one CALL to a charger and resolves with its validated answer. Rejects with an AmpereError:
 * AMPERE_ERR_CHARGER_OFFLINE when no connection holds the charger, AMPERE_ERR_CHARGER_CALLERROR when it
 * answered with a CALLERROR, a timeout error when it did not answer in time.
 */
export interface CommandSender {
  call<A extends CentralAction>(
    chargerId: string,
    action: A,
    payload: ActionMap[A]['request'],
  ): Promise<ActionMap[A]['response']>;
}

/** Where parts announce what happened (the API's event stream, the bridge and the smart loop follow). */
export interface EventSink {
  emit(type: CentralEventType, chargerId: string | null, data?: Record<string, unknown>): unknown;
}

/** Where parts follow what happened; returns the unsubscribe function. */
export interface EventSource {
  subscribe(fn: (e: CentralEvent) => void): () => void;
}

/** Operator changes to a charger's record, with their side effects (events, boot triggers). */
export interface ChargerAdmin {
  updateCharger(id: string, patch: ChargerPatch): Promise<ChargerRecord>;
}

/** The ports most parts need together. */
export interface CentralPorts {
  directory: ChargerDirectory;
  commands: CommandSender;
  events: EventSink & EventSource;
  clock: Clock;
  log: Logger;
}

/** CentralPorts with the store and charger administration: what charger security uses. */
export interface CentralServices extends CentralPorts {
  store: Store;
  admin: ChargerAdmin;
}

/**
 * The central system as its fleet operations (policies, local lists, reservations, approvals) see it:
 * the ports flattened, plus the store. On one node the CentralSystem is one; on several nodes the
 * composition root hands out one whose `call` is routed and whose directory covers every node.
 */
export interface CentralHost extends ChargerDirectory, CommandSender, ChargerAdmin {
  readonly store: Store;
  readonly events: EventSink & EventSource;
  readonly clock: Clock;
  readonly log: Logger;
}

/**
 * Leadership of a named duty (the smart charging of one site) across nodes: at most one node holds a
 * lease at a time, and a node that dies loses it. On one node the only node always holds it.
 */
export interface Leases {
  /** Other nodes may hold leases (false on one node: nobody to take over from, nothing to poll). */
  readonly shared: boolean;
  /** Holds `name` for this node if nobody else does; true when this node holds it (now or already). */
  acquire(name: string): Promise<boolean>;
  release(name: string): Promise<void>;
  /** Tells whichever node holds `name` that its duty has work (a charger of the site changed here). */
  nudge?(name: string): void;
  /** Called with the name of every nudge (from any node, this one included). */
  onNudge?(fn: (name: string) => void): void;
}

/** The leases of a node that runs alone. */
export const soleLeases: Leases = {
  shared: false,
  acquire: async () => true,
  release: async () => undefined,
};
