// Approving a Pending charger (issue 12 item 7). Ampere asks a connected charger to boot again
// with TriggerMessage; a model without TriggerMessage (Weidmüller, per the vendor table) cannot be
// asked, so its Pending boots are answered with a short retry interval and the operator is told
// that the approval takes effect at its next BootNotification.

import { findVendorEntry } from '../smart/index.ts';
import type { ChargerRecord } from '../store/types.ts';
import type { HandlerHost } from './handlers/context.ts';

/** Retry interval (s) for the Pending boots of a charger that cannot be triggered. */
export const UNTRIGGERABLE_BOOT_RETRY_S = 10;

export function supportsTriggerMessage(record: Pick<ChargerRecord, 'vendor' | 'model'>): boolean {
  const entry = findVendorEntry(record.vendor ?? undefined, record.model ?? undefined);
  return !entry?.unusableActions.includes('TriggerMessage');
}

/** The interval answered with a Pending BootNotification (OCPP 1.6 §4.2.1). */
export function pendingBootInterval(central: HandlerHost, record: Pick<ChargerRecord, 'vendor' | 'model'>): number {
  const configured = central.settings.bootRetryInterval;
  return supportsTriggerMessage(record) ? configured : Math.min(configured, UNTRIGGERABLE_BOOT_RETRY_S);
}

export interface ApprovalOutcome {
  /** How the charger learns of it: asked now (TriggerMessage), at its next boot, or when it connects. */
  takesEffect: 'now' | 'next-boot' | 'next-connection';
  message: string;
}

/** What happens after an approval, for the operator (decided before the registration changes). */
export function approvalOutcome(central: HandlerHost, record: ChargerRecord): ApprovalOutcome {
  if (!central.isConnected(record.id)) {
    return { takesEffect: 'next-connection', message: 'not connected: accepted when it next connects and boots' };
  }
  if (supportsTriggerMessage(record)) {
    return { takesEffect: 'now', message: 'asked to boot again now (TriggerMessage BootNotification)' };
  }
  const s = pendingBootInterval(central, record);
  return {
    takesEffect: 'next-boot',
    message:
      `${record.vendor} ${record.model ?? ''}`.trim() +
      ` does not support TriggerMessage: it is accepted at its next BootNotification, within about ${s} s (its Pending boots are answered with a ${s} s retry interval)`,
  };
}
