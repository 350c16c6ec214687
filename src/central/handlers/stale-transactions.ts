// Transactions whose StopTransaction was lost. Chargers lose them (power cuts, full offline
// queues, a reset), and an open transaction left behind answers every later start with that card
// ConcurrentTx. The central system closes it when the charger shows it is over: a new
// StartTransaction on the same connector, a BootNotification (OCPP 1.6 §4.2: a reboot ends every
// transaction), a connector reporting Available (§7.7: Available = not in a transaction).
// A StopTransaction that arrives later still wins (store.stopTransaction reconciles).
import type { TransactionRecord } from '../../store/types.ts';
import type { HandlerContext } from './context.ts';

export type StaleRule = 'stale-transaction-superseded' | 'stale-transaction-reboot' | 'stale-transaction-available';

/**
 * Closes `tx` with the last metered energy as meterStop and a recorded reason, records a finding
 * for the charger and emits transaction.stopped (stale: true). `at` bounds the stop time: the
 * last meter sample before it, else `at` itself.
 */
export async function closeStaleTransaction(
  ctx: HandlerContext,
  tx: TransactionRecord,
  rule: StaleRule,
  reason: string,
  at: number,
): Promise<void> {
  const { central, chargerId, now } = ctx;
  const meter = await central.store.transactionMeterSummary(tx.id);
  const lastWh = meter.lastWh === null ? null : Math.round(meter.lastWh);
  const meterStop = lastWh !== null && lastWh >= tx.meterStart ? lastWh : tx.meterStart;
  const lastAt = meter.lastAt === null ? null : Date.parse(meter.lastAt);
  const stoppedAt = lastAt !== null && lastAt <= at && lastAt >= Date.parse(tx.startedAt) ? lastAt : at;
  const closed = await central.store.closeTransaction({
    transactionId: tx.id,
    chargerId,
    timestamp: stoppedAt,
    meterStop,
    reason,
  });
  if (!closed) return;
  await central.store.recordFindings(
    chargerId,
    ctx.call.action,
    [{ path: '/transactionId', rule, original: tx.id, repaired: reason }],
    now,
  );
  central.log.warn({ chargerId, transactionId: tx.id, reason }, 'stale transaction closed');
  central.events.emit('conformance.finding', chargerId, {
    action: ctx.call.action,
    findings: [{ path: '/transactionId', rule, original: tx.id, repaired: reason }],
  });
  central.events.emit('transaction.stopped', chargerId, {
    transactionId: tx.id,
    meterStop,
    reason,
    timestamp: closed.stoppedAt,
    known: true,
    alreadyStopped: false,
    stale: true,
    energyWh: closed.energyWh,
    connectorId: tx.connectorId,
  });
}

/** Every open transaction of this charger, on one connector or (connectorId undefined) on all. */
export async function openTransactions(ctx: HandlerContext, connectorId?: number): Promise<TransactionRecord[]> {
  const page = await ctx.central.store.listTransactions({
    chargerId: ctx.chargerId,
    active: true,
    ...(connectorId !== undefined ? { connectorId } : {}),
    limit: 1000,
  });
  return page.items;
}

/** A new StartTransaction on a connector supersedes the transactions still open there. */
export async function closeSuperseded(ctx: HandlerContext, connectorId: number, newTxId: number, at: number) {
  for (const tx of await openTransactions(ctx, connectorId)) {
    if (tx.id === newTxId || Date.parse(tx.startedAt) > at) continue;
    await closeStaleTransaction(ctx, tx, 'stale-transaction-superseded', `superseded by transaction ${newTxId}`, at);
  }
}

/** A BootNotification: the charger rebooted, so none of its transactions runs any more. */
export async function closeAfterReboot(ctx: HandlerContext): Promise<void> {
  for (const tx of await openTransactions(ctx)) {
    await closeStaleTransaction(ctx, tx, 'stale-transaction-reboot', 'charger rebooted', ctx.now);
  }
}

/** A connector reported Available: it runs no transaction. */
export async function closeOnAvailable(ctx: HandlerContext, connectorId: number, at: number): Promise<void> {
  if (connectorId <= 0) return;
  for (const tx of await openTransactions(ctx, connectorId)) {
    if (Date.parse(tx.startedAt) > at) continue;
    await closeStaleTransaction(ctx, tx, 'stale-transaction-available', 'connector reported Available', at);
  }
}
