// Work a feature does after a charger's BootNotification was answered Accepted (configuration
// policies, local lists): run once the answer has gone out, its failure logged, never thrown.
// And the triggers on connect: StatusNotification after a boot or a reconnect, BootNotification
// from a charger that connected without booting and was never Accepted here.
import { supportsTriggerMessage } from './approvals.ts';
import type { BootAnswer, ChargerLink } from './link.ts';
import type { CentralHost } from './ports.ts';

/** The triggers need the live connection (its boot answer): they run on the node that holds it. */
export interface LocalCentral extends CentralHost {
  link(chargerId: string): ChargerLink | undefined;
}

/** Calls `fn` after each Accepted boot; returns the unsubscribe. */
export function onAcceptedBoot(
  central: CentralHost,
  what: string,
  fn: (chargerId: string) => Promise<unknown>,
): () => void {
  return central.events.subscribe((e) => {
    if (e.type !== 'charger.boot' || e.data.status !== 'Accepted' || !e.chargerId) return;
    const chargerId = e.chargerId;
    // The event comes from inside the boot handler: wait until its BootNotification.conf is out,
    // since a charger acts on calls only once it knows it is Accepted.
    setImmediate(() => {
      fn(chargerId).catch((err) => central.log.warn({ chargerId, err: (err as Error).message }, `${what} failed`));
    });
  });
}

// ---------------------------------------------------------------- triggers on connect

/** What to ask a charger for when it connects or boots (OCPP 1.6 §5.17 TriggerMessage), or nothing. */
export type ConnectTrigger = 'StatusNotification' | 'BootNotification' | null;

/**
 * The decision, as a pure function. A model without TriggerMessage (vendor table: Weidmüller) is
 * never asked. After an Accepted boot, and on a reconnect of a charger Accepted before, Ampere asks
 * for StatusNotification so its connector states are fresh. A BootNotification is asked for only
 * from a charger that was never Accepted on this server and has not booted on this connection:
 * triggering a boot after one was Accepted is refused (central-system.ts).
 */
export function connectTrigger(s: {
  enabled: boolean;
  supportsTrigger: boolean;
  /** `boot`: its BootNotification was just answered Accepted; `quiet`: connected and said no boot. */
  moment: 'boot' | 'quiet';
  /** The answer to its last BootNotification on this server, if Ampere remembers one. */
  bootAnswer: BootAnswer | undefined;
  /** The store shows an Accepted charger that has booted here before (kept across restarts). */
  acceptedBefore: boolean;
}): ConnectTrigger {
  if (!s.enabled || !s.supportsTrigger) return null;
  if (s.moment === 'boot') return 'StatusNotification';
  if (s.bootAnswer === 'Accepted' || s.acceptedBefore) return 'StatusNotification';
  // Pending or Rejected: the approval flow asks it to boot again when the operator approves.
  if (s.bootAnswer === undefined) return 'BootNotification';
  return null;
}

const CONNECT_TRIGGERS_SETTING = 'connect-triggers';

export interface ConnectTriggersOptions {
  /** The default (--connect-triggers) until an operator changes it through the API. */
  enabledByDefault: boolean;
  /** How long a new connection may stay quiet before Ampere asks (a charger that boots says so first). */
  quietMs: number;
  /** Runs `fn` after `ms` (the composition root's timers; tests may drive their own). */
  schedule(fn: () => void, ms: number): void;
}

/** The setting, readable and changeable through the API (GET/PUT /api/connect-triggers). */
export class ConnectTriggers {
  private readonly booted = new WeakSet<ChargerLink>();
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly central: LocalCentral,
    private readonly opts: ConnectTriggersOptions,
  ) {}

  async enabled(): Promise<boolean> {
    const raw = await this.central.store.getSetting(CONNECT_TRIGGERS_SETTING);
    return raw === null ? this.opts.enabledByDefault : raw === 'on';
  }

  async setEnabled(enabled: boolean): Promise<boolean> {
    await this.central.store.setSetting(CONNECT_TRIGGERS_SETTING, enabled ? 'on' : 'off');
    return enabled;
  }

  start(): void {
    this.unsubscribe = this.central.events.subscribe((e) => {
      if (!e.chargerId) return;
      const link = this.central.link(e.chargerId);
      if (!link) return;
      if (e.type === 'charger.boot') {
        this.booted.add(link);
        // After the BootNotification.conf is out, as onAcceptedBoot does.
        if (e.data.status === 'Accepted') setImmediate(() => void this.run(link, 'boot'));
      } else if (e.type === 'charger.connected') {
        this.opts.schedule(() => void this.run(link, 'quiet'), this.opts.quietMs);
      }
    });
  }

  stop(): void {
    this.unsubscribe?.();
  }

  private async run(link: ChargerLink, moment: 'boot' | 'quiet'): Promise<void> {
    const id = link.chargerId;
    if (link.closed || this.central.link(id) !== link || (moment === 'quiet' && this.booted.has(link))) return;
    try {
      const record = await this.central.store.getCharger(id);
      const trigger = connectTrigger({
        enabled: await this.enabled(),
        supportsTrigger: record ? supportsTriggerMessage(record) : true,
        moment,
        bootAnswer: link.bootAnswer,
        acceptedBefore: record?.registration === 'accepted' && record.lastBootAt !== null,
      });
      if (trigger === null || link.closed) return;
      const { status } = await this.central.call(id, 'TriggerMessage', { requestedMessage: trigger });
      this.central.log.info({ chargerId: id, trigger, status }, 'trigger on connect');
    } catch (err) {
      this.central.log.info({ chargerId: id, err: (err as Error).message }, 'trigger on connect not sent');
    }
  }
}
