// Firmware Management profile, charger → central (OCPP 1.6 §6.x): status notifications are recorded.
import type { ActionMap } from '../../ocpp/index.ts';
import type { HandlerContext } from './context.ts';

export async function diagnosticsStatusNotification(
  ctx: HandlerContext,
  req: ActionMap['DiagnosticsStatusNotification']['request'],
): Promise<ActionMap['DiagnosticsStatusNotification']['response']> {
  await ctx.central.store.recordEvent({
    chargerId: ctx.chargerId,
    kind: 'DiagnosticsStatus',
    payload: { ...req },
    at: ctx.now,
  });
  ctx.central.events.emit('diagnostics.status', ctx.chargerId, { ...req });
  return {};
}

export async function firmwareStatusNotification(
  ctx: HandlerContext,
  req: ActionMap['FirmwareStatusNotification']['request'],
): Promise<ActionMap['FirmwareStatusNotification']['response']> {
  await ctx.central.store.recordEvent({
    chargerId: ctx.chargerId,
    kind: 'FirmwareStatus',
    payload: { ...req },
    at: ctx.now,
  });
  ctx.central.events.emit('firmware.status', ctx.chargerId, { ...req });
  return {};
}
