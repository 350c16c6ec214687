// The OCPP 1.6 security extension, charger → central (security whitepaper §4-§6), and the
// recording of what chargers answer to the extension's commands.
import type { ActionMap, CentralAction } from '../../ocpp/index.ts';
import type { HandlerContext, HandlerHost } from './context.ts';

type Req<A extends keyof ActionMap> = ActionMap[A]['request'];
type Res<A extends keyof ActionMap> = ActionMap[A]['response'];

/** Whitepaper §4 (A04): stored, and shown as events. */
export async function securityEventNotification(
  ctx: HandlerContext,
  req: Req<'SecurityEventNotification'>,
): Promise<Res<'SecurityEventNotification'>> {
  await ctx.central.security.recordEvent(
    ctx.chargerId,
    req.type,
    { timestamp: req.timestamp, ...(req.techInfo !== undefined ? { techInfo: req.techInfo } : {}) },
    'charger',
  );
  return {};
}

/** Whitepaper A02: the CSR is checked and signed by the built-in CA; CertificateSigned follows. */
export async function signCertificate(
  ctx: HandlerContext,
  req: Req<'SignCertificate'>,
): Promise<Res<'SignCertificate'>> {
  return { status: await ctx.central.security.signCertificate(ctx.chargerId, req.csr) };
}

export async function logStatusNotification(
  ctx: HandlerContext,
  req: Req<'LogStatusNotification'>,
): Promise<Res<'LogStatusNotification'>> {
  await ctx.central.store.recordEvent({
    chargerId: ctx.chargerId,
    kind: 'LogStatus',
    payload: { ...req },
    at: ctx.now,
  });
  ctx.central.events.emit('diagnostics.status', ctx.chargerId, { ...req, log: true });
  return {};
}

export async function signedFirmwareStatusNotification(
  ctx: HandlerContext,
  req: Req<'SignedFirmwareStatusNotification'>,
): Promise<Res<'SignedFirmwareStatusNotification'>> {
  await ctx.central.store.recordEvent({
    chargerId: ctx.chargerId,
    kind: 'SignedFirmwareStatus',
    payload: { ...req },
    at: ctx.now,
  });
  ctx.central.events.emit('firmware.status', ctx.chargerId, { ...req, signed: true });
  return {};
}

/** Extension commands whose answers are kept as events (kind = the action). */
const RECORDED: ReadonlySet<string> = new Set([
  'InstallCertificate',
  'DeleteCertificate',
  'GetInstalledCertificateIds',
  'ExtendedTriggerMessage',
  'GetLog',
  'SignedUpdateFirmware',
  'CertificateSigned',
]);

/** Called by afterCommand for every answered command. */
export async function afterSecurityCommand<A extends CentralAction>(
  central: HandlerHost,
  chargerId: string,
  action: A,
  request: ActionMap[A]['request'],
  response: ActionMap[A]['response'],
): Promise<void> {
  if (action === 'ChangeConfiguration') {
    const req = request as Req<'ChangeConfiguration'>;
    const res = response as Res<'ChangeConfiguration'>;
    if (res.status === 'Accepted' || res.status === 'RebootRequired') {
      await central.security.configurationAccepted(chargerId, req.key, req.value);
    }
    return;
  }
  if (!RECORDED.has(action)) return;
  await central.store.recordEvent({
    chargerId,
    kind: action,
    payload: { request: { ...request }, response: { ...response } } as never,
    at: central.clock.now(),
  });
}
