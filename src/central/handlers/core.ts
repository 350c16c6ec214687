// Core profile, charger → central (OCPP 1.6 §4). Each handler commits what the charger sent
// before it returns: the session sends the CALLRESULT only after the handler resolved.
import { AmpereError } from '../../errors.ts';
import { type ActionMap, formatTimestamp, OcppError } from '../../ocpp/index.ts';
import { pendingBootInterval } from '../approvals.ts';
import { authorizeIdTag } from '../authorization.ts';
import { authorizeAtCharger } from '../charger-tags.ts';
import { consumeReservation } from '../reservations.ts';
import type { HandlerContext } from './context.ts';
import { closeAfterReboot, closeOnAvailable, closeSuperseded } from './stale-transactions.ts';

type Req<A extends keyof ActionMap> = ActionMap[A]['request'];
type Res<A extends keyof ActionMap> = ActionMap[A]['response'];

/** A charger that is not Accepted may only boot, heartbeat and report status (OCPP 1.6 §4.2.1). */
function requireAccepted(ctx: HandlerContext): void {
  const reg = ctx.central.cachedRecord(ctx.chargerId)?.registration;
  if (reg !== 'accepted') {
    throw new OcppError(
      'SecurityError',
      `Charger ${ctx.chargerId} is not accepted by the central system (${reg ?? 'unknown'})`,
    );
  }
}

export async function bootNotification(
  ctx: HandlerContext,
  req: Req<'BootNotification'>,
): Promise<Res<'BootNotification'>> {
  const { central, chargerId, now } = ctx;
  // Registration policy for an id never seen: open accepts it, pending holds it for approval.
  // (known refuses unknown ids at the handshake, so none reach here.) One write stores the
  // identity and the connection, and creates the row of a charger seen for the first time.
  const { record, created } = await central.store.bootCharger(chargerId, req, now, {
    registrationIfNew: central.settings.registration === 'open' ? 'accepted' : 'pending',
    remoteAddress: ctx.link.remoteAddress,
  });
  // A charger seen for the first time has no transaction to close.
  if (!created) await closeAfterReboot(ctx);
  central.rememberRecord(record);
  const status =
    record.registration === 'accepted' ? 'Accepted' : record.registration === 'pending' ? 'Pending' : 'Rejected';
  central.setBootAnswer(ctx.link, status);
  central.events.emit('charger.boot', chargerId, { ...req, status });
  const interval =
    status === 'Accepted'
      ? (record.heartbeatInterval ?? central.settings.heartbeatInterval)
      : status === 'Pending'
        ? pendingBootInterval(central, record)
        : central.settings.bootRetryInterval;
  return { status, currentTime: formatTimestamp(now), interval };
}

export async function heartbeat(ctx: HandlerContext): Promise<Res<'Heartbeat'>> {
  return { currentTime: formatTimestamp(ctx.now) };
}

export async function statusNotification(
  ctx: HandlerContext,
  req: Req<'StatusNotification'>,
): Promise<Res<'StatusNotification'>> {
  await ctx.central.store.recordStatus({
    chargerId: ctx.chargerId,
    connectorId: req.connectorId,
    status: req.status,
    errorCode: req.errorCode,
    info: req.info ?? null,
    vendorId: req.vendorId ?? null,
    vendorErrorCode: req.vendorErrorCode ?? null,
    timestamp: req.timestamp ?? null,
    at: ctx.now,
  });
  if (req.status === 'Available') {
    const at = req.timestamp ? Date.parse(req.timestamp) : ctx.now;
    await closeOnAvailable(ctx, req.connectorId, Number.isNaN(at) ? ctx.now : at);
  }
  ctx.central.events.emit('connector.status', ctx.chargerId, { ...req });
  return {};
}

export async function authorize(ctx: HandlerContext, req: Req<'Authorize'>): Promise<Res<'Authorize'>> {
  requireAccepted(ctx);
  // OCPP 1.6 §7.2: ConcurrentTx "is only relevant for a StartTransaction.req"; a tag running a
  // transaction elsewhere is Accepted here (unless blocked, expired or invalid).
  const { idTagInfo } = await authorizeAtCharger(ctx.central.store, ctx.chargerId, req.idTag, { now: ctx.now });
  return { idTagInfo };
}

export async function startTransaction(
  ctx: HandlerContext,
  req: Req<'StartTransaction'>,
): Promise<Res<'StartTransaction'>> {
  requireAccepted(ctx);
  const { central, chargerId, now } = ctx;
  // Stored first, whatever the tag's status: the charger has started metering and will send a
  // StopTransaction for this id (OCPP 1.6 §5.11: the central system always assigns an id).
  const started = await central.store.startTransaction({
    chargerId,
    connectorId: req.connectorId,
    idTag: req.idTag,
    timestamp: req.timestamp,
    meterStart: req.meterStart,
    reservationId: req.reservationId ?? null,
  });
  if (!started.duplicate) {
    await closeSuperseded(ctx, req.connectorId, started.transactionId, Date.parse(req.timestamp));
  }
  const { idTagInfo, freeCharging } = await authorizeAtCharger(central.store, chargerId, req.idTag, {
    now,
    concurrent: { excludeTransactionId: started.transactionId },
  });
  if (!started.duplicate) {
    await consumeReservation(
      central.store,
      { ...req, chargerId, reservationId: req.reservationId ?? null, transactionId: started.transactionId },
      now,
    );
    central.events.emit('transaction.started', chargerId, {
      transactionId: started.transactionId,
      connectorId: req.connectorId,
      idTag: req.idTag,
      meterStart: req.meterStart,
      timestamp: req.timestamp,
      status: idTagInfo.status,
      ...(freeCharging ? { freeCharging } : {}),
    });
  }
  return { transactionId: started.transactionId, idTagInfo };
}

export async function stopTransaction(
  ctx: HandlerContext,
  req: Req<'StopTransaction'>,
): Promise<Res<'StopTransaction'>> {
  // Always a CALLRESULT, whatever the registration or transaction id: a CALLERROR makes the
  // charger retry the stop forever (OCPP 1.6 §4.10, errata on transaction message retries).
  const { central, chargerId, now } = ctx;
  const writes: Promise<unknown>[] = [
    central.store.stopTransaction({
      transactionId: req.transactionId,
      chargerId,
      idTag: req.idTag ?? null,
      timestamp: req.timestamp,
      meterStop: req.meterStop,
      reason: req.reason ?? null,
      transactionData: (req.transactionData ?? null) as never,
    }),
  ];
  if (req.transactionData && req.transactionData.length > 0) {
    const active = await central.store.getTransaction(req.transactionId);
    const connectorId = active && active.chargerId === chargerId ? active.connectorId : 0;
    writes.push(
      central.store.insertMeterReadings({
        chargerId,
        connectorId,
        transactionId: req.transactionId,
        source: 'StopTransaction',
        meterValue: req.transactionData,
      }),
    );
  }
  const [stopped] = (await Promise.all(writes)) as [Awaited<ReturnType<typeof central.store.stopTransaction>>];
  if (stopped.alreadyStopped) await recordRepeatedStop(ctx, req);
  central.events.emit('transaction.stopped', chargerId, {
    transactionId: req.transactionId,
    meterStop: req.meterStop,
    reason: req.reason ?? 'Local',
    timestamp: req.timestamp,
    known: stopped.known,
    alreadyStopped: stopped.alreadyStopped,
    reconciled: stopped.reconciled,
    energyWh: stopped.transaction?.energyWh ?? null,
    connectorId: stopped.transaction?.connectorId ?? null,
  });
  if (!req.idTag) return {};
  const idTagInfo = await authorizeIdTag(central.store, req.idTag, { now });
  return { idTagInfo };
}

/**
 * A second StopTransaction for a transaction already stopped by the charger (the SAP e-mobility
 * simulator sends one without a reason, then one with reason=Local) is answered, stored in the
 * stop log, and changes nothing; the charger gets a finding.
 */
async function recordRepeatedStop(ctx: HandlerContext, req: Req<'StopTransaction'>): Promise<void> {
  const finding = {
    path: '/transactionId',
    rule: 'repeated-stop',
    original: { meterStop: req.meterStop, timestamp: req.timestamp, reason: req.reason ?? null },
    repaired: null,
  };
  await ctx.central.store.recordFindings(ctx.chargerId, 'StopTransaction', [finding], ctx.now);
  ctx.central.events.emit('conformance.finding', ctx.chargerId, { action: 'StopTransaction', findings: [finding] });
}

/** MeterValues.conf has no fields: one frozen answer serves every message. */
const METER_VALUES_ANSWER: Res<'MeterValues'> = Object.freeze({});

// The busiest message: one promise (the store's) and one `then`, no async function around them.
export function meterValues(ctx: HandlerContext, req: Req<'MeterValues'>): Promise<Res<'MeterValues'>> {
  try {
    requireAccepted(ctx);
  } catch (e) {
    // Rejected, never thrown, as from the other (async) handlers.
    return Promise.reject(e);
  }
  // Committed before it is answered (design.md, persistence rules): the event and the answer follow the write.
  return ctx.central.store
    .insertMeterReadings({
      chargerId: ctx.chargerId,
      connectorId: req.connectorId,
      transactionId: req.transactionId ?? null,
      source: 'MeterValues',
      meterValue: req.meterValue,
    })
    .then(() => meterValuesStored(ctx, req));
}

function meterValuesStored(ctx: HandlerContext, req: Req<'MeterValues'>): Res<'MeterValues'> {
  ctx.central.events.emit('meter.values', ctx.chargerId, {
    connectorId: req.connectorId,
    transactionId: req.transactionId ?? null,
    meterValue: req.meterValue,
  });
  return METER_VALUES_ANSWER;
}

export type DataTransferHandler = (
  ctx: HandlerContext,
  req: Req<'DataTransfer'>,
) => Promise<Res<'DataTransfer'>> | Res<'DataTransfer'>;

/** Vendor DataTransfer handlers by vendorId. Eaton's GreenMotion messages are recorded and accepted. */
export const DATA_TRANSFER_VENDORS = new Map<string, DataTransferHandler>([
  // chargers.md: EnabledDataTransfer selects which GreenMotion message ids the charger sends.
  ['GreenMotion', () => ({ status: 'Accepted' })],
]);

export async function dataTransfer(ctx: HandlerContext, req: Req<'DataTransfer'>): Promise<Res<'DataTransfer'>> {
  requireAccepted(ctx);
  const vendor = DATA_TRANSFER_VENDORS.get(req.vendorId);
  const answer: Res<'DataTransfer'> = vendor ? await vendor(ctx, req) : { status: 'UnknownVendorId' };
  await ctx.central.store.recordEvent({
    chargerId: ctx.chargerId,
    kind: 'DataTransfer',
    payload: { ...req, answer: answer.status } as never,
    at: ctx.now,
  });
  ctx.central.events.emit('datatransfer', ctx.chargerId, { ...req, status: answer.status });
  return answer;
}

export function assertNever(x: never): never {
  throw new AmpereError('AMPERE_ERR_INTERNAL', `unexpected ${String(x)}`);
}
