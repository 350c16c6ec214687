// Work a feature does after a charger's BootNotification was answered Accepted (configuration
// policies, local lists): run once the answer has gone out, its failure logged, never thrown.
import type { CentralHost } from './ports.ts';

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
