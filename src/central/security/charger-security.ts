// Security profiles at the HTTP upgrade, the AuthorizationKey and its rotation, raising a
// charger's profile, security events, and the CSR signing of the 1.6 security extension.
// OCPP 1.6 security whitepaper (edition 3): §2 security profiles, §3 certificate management,
// §4 security events.
import type { IncomingMessage } from 'node:http';
import { TLSSocket } from 'node:tls';
import type { Logger } from 'pino';
import { AmpereError } from '../../errors.ts';
import type { ChargerRecord, SecurityProfile } from '../../store/types.ts';
import type { CentralServices } from '../ports.ts';
import {
  hashAuthorizationKey,
  isValidAuthorizationKey,
  parseBasicAuth,
  VerifiedKeyCache,
  verifyAuthorizationKey,
} from './auth-key.ts';
import { Backoff, type BackoffOptions, DEFAULT_ADDRESS_BACKOFF, DEFAULT_ID_BACKOFF } from './backoff.ts';
import { type KeyPairPem, signCsr } from './ca.ts';
import { CertificateManagement } from './certificates.ts';

export interface SecuritySettings {
  /** The CPO name: O of charger certificates and CSRs (whitepaper A00.FR.403, CpoName key). */
  cpoName: string | undefined;
  /** Profile 3: the client certificate's CN must be the charge point id or its serial number. */
  cnCheck: 'id' | 'serial';
  /** The main listener speaks TLS. */
  tls: boolean;
  /** Client certificates are requested and checked against a CA (--tls-ca). */
  clientCa: boolean;
  /** The built-in CA that signs chargers' CSRs; without it SignCertificate is Rejected. */
  ca: KeyPairPem | undefined;
  /** Validity of certificates signed for chargers (days). */
  certificateDays: number;
  /** The root chargers should trust, installed with InstallCertificate: --tls-ca (else the built-in CA). */
  rootPem: string | undefined;
  /** Days before a charger certificate expires from which a new one is asked for. */
  certificateRenewDays: number;
  idBackoff: BackoffOptions;
  addressBackoff: BackoffOptions;
}

export const DEFAULT_SECURITY_SETTINGS: SecuritySettings = {
  cpoName: undefined,
  cnCheck: 'id',
  tls: false,
  clientCa: false,
  ca: undefined,
  certificateDays: 365,
  rootPem: undefined,
  certificateRenewDays: 30,
  idBackoff: DEFAULT_ID_BACKOFF,
  addressBackoff: DEFAULT_ADDRESS_BACKOFF,
};

export type UpgradeRefusal = { status: number; message: string };

/** The keys whose values are secrets: never logged, never in events, never in the configuration copy. */
export const SECRET_CONFIGURATION_KEYS: ReadonlySet<string> = new Set(['AuthorizationKey']);
export const REDACTED = '[redacted]';

/** A copy of a CALL payload fit for events and logs (a ChangeConfiguration of a secret key loses its value). */
export function redactPayload(action: string, payload: unknown): Record<string, unknown> {
  const p = payload as Record<string, unknown>;
  if (action === 'ChangeConfiguration' && typeof p.key === 'string' && SECRET_CONFIGURATION_KEYS.has(p.key)) {
    return { ...p, value: REDACTED };
  }
  return p;
}

const pendingKey = (id: string) => `security.pendingProfile.${id}`;

function field(v: string | string[] | undefined): string | undefined {
  return Array.isArray(v) ? v[0] : v;
}

export class ChargerSecurity {
  readonly settings: SecuritySettings;
  /** Installed roots, deletion from the charger's list, expiry tracking and renewal. */
  readonly certificates: CertificateManagement;
  private readonly byId: Backoff;
  private readonly byAddress: Backoff;
  private readonly verified = new VerifiedKeyCache();
  /** Hashes computed before a ChangeConfiguration of AuthorizationKey, used once it is Accepted. */
  private readonly prehashed = new Map<string, { key: string; hash: Promise<string> }>();

  constructor(
    private readonly central: CentralServices,
    settings: Partial<SecuritySettings> = {},
  ) {
    this.settings = { ...DEFAULT_SECURITY_SETTINGS, ...settings };
    this.byId = new Backoff(this.settings.idBackoff, central.clock);
    this.byAddress = new Backoff(this.settings.addressBackoff, central.clock);
    this.certificates = new CertificateManagement(
      central,
      {
        rootPem: this.settings.rootPem ?? this.settings.ca?.certPem,
        renewDays: this.settings.certificateRenewDays,
      },
      (chargerId, type, data) => this.recordEvent(chargerId, type, data),
    );
  }

  private get log(): Logger {
    return this.central.log;
  }

  // ---------------------------------------------------------------- security events

  /** Stores and announces a security event (whitepaper §4); `source` tells ours from the charger's. */
  async recordEvent(
    chargerId: string | null,
    type: string,
    data: Record<string, unknown>,
    source: 'central' | 'charger' = 'central',
  ): Promise<void> {
    const payload = { type, source, ...data } as Record<string, unknown>;
    this.central.events.emit('security.event', chargerId, payload);
    try {
      await this.central.store.recordEvent({
        chargerId,
        kind: 'SecurityEvent',
        payload: payload as never,
        at: this.central.clock.now(),
      });
    } catch (e) {
      this.log.error({ err: e, chargerId, type }, 'could not store security event');
    }
  }

  // ---------------------------------------------------------------- the upgrade

  /**
   * Decides whether a charger may open its WebSocket (the gateway's authorizeUpgrade hook).
   * Whitepaper §2: profile 1 Basic auth, 2 TLS + Basic, 3 TLS + client certificate; a connection
   * below the charger's profile is refused (A00.FR.2xx/3xx/4xx, A05.FR.09 once raised).
   */
  authorizeUpgrade = async (req: IncomingMessage, chargerId: string): Promise<UpgradeRefusal | null> => {
    const address = req.socket.remoteAddress ?? '?';
    const tls = req.socket instanceof TLSSocket ? req.socket : undefined;
    const wait = Math.max(this.byId.lockedFor(chargerId), this.byAddress.lockedFor(address));
    if (wait > 0) {
      return { status: 429, message: `Too many failed attempts; retry in ${Math.ceil(wait / 1000)} s` };
    }
    const record = await this.central.store.getCharger(chargerId);
    if (!record) return null; // unknown ids follow the registration policy (gateway)
    const required = record.securityProfile;
    const pendingRaw = required < 3 ? await this.central.store.getSetting(pendingKey(chargerId)) : null;
    const pending = pendingRaw ? (Number(pendingRaw) as SecurityProfile) : undefined;

    // Transport first: a profile-2/3 charger on plain ws is refused before any password is checked.
    if (required >= 2 && !tls) {
      await this.recordEvent(chargerId, 'SecurityProfileDowngradeRefused', {
        remoteAddress: address,
        required,
        offered: 'ws',
      });
      return { status: 403, message: `Charger ${chargerId} must connect with TLS (security profile ${required})` };
    }

    let basicOk = false;
    const basic = parseBasicAuth(req.headers.authorization);
    if (basic && record.authKeyHash) {
      // A00.FR.203: the user name is the charge point id.
      const ok =
        basic.user === chargerId &&
        (this.verified.has(chargerId, record.authKeyHash, basic.password) ||
          (await verifyAuthorizationKey(basic.password, record.authKeyHash)));
      if (!ok) return this.authFailed(chargerId, address, 'wrong user or password');
      this.verified.add(chargerId, record.authKeyHash, basic.password);
      basicOk = true;
    } else if (!basic && required >= 1 && required <= 2) {
      return this.authFailed(chargerId, address, 'no credentials');
    } else if (required >= 1 && required <= 2 && !record.authKeyHash) {
      this.log.warn({ chargerId }, 'charger has a security profile but no AuthorizationKey set: refused');
      return { status: 401, message: 'Unauthorized' };
    }

    let certOk = false;
    if (tls && (required === 3 || pending === 3)) {
      const problem = this.checkClientCertificate(tls, record);
      if (problem === null) certOk = true;
      else if (required === 3) {
        // A00.FR.404-407: the connection is closed on any certificate failure.
        await this.recordEvent(chargerId, 'InvalidChargePointCertificate', { remoteAddress: address, problem });
        this.byAddress.fail(address);
        return { status: 403, message: `Client certificate refused: ${problem}` };
      }
    }

    const effective: SecurityProfile = certOk ? 3 : basicOk ? (tls ? 2 : 1) : 0;
    if (effective < required) {
      return { status: 403, message: `Charger ${chargerId} needs security profile ${required}` };
    }
    if (basicOk) this.byId.succeed(chargerId);
    if (pending !== undefined && effective >= pending) await this.commitRaise(record, pending);
    return null;
  };

  private async authFailed(chargerId: string, address: string, reason: string): Promise<UpgradeRefusal> {
    const lockId = this.byId.fail(chargerId);
    const lockAddress = this.byAddress.fail(address);
    this.log.warn({ chargerId, remoteAddress: address, reason }, 'Basic auth failed');
    await this.recordEvent(chargerId, 'FailedToAuthenticate', {
      remoteAddress: address,
      reason,
      ...(lockId || lockAddress ? { lockedMs: Math.max(lockId, lockAddress) } : {}),
    });
    return { status: 401, message: 'Unauthorized' };
  }

  /** null when the TLS client certificate identifies this charger; otherwise what is wrong. */
  private checkClientCertificate(tls: TLSSocket, record: ChargerRecord): string | null {
    if (!this.settings.clientCa) return 'the server has no client CA configured (--tls-ca)';
    const cert = tls.getPeerCertificate();
    if (!cert || Object.keys(cert).length === 0) return 'no client certificate';
    // A00.FR.404: the chain up to the configured CA, and the validity period (checked by OpenSSL).
    if (!tls.authorized) return String(tls.authorizationError ?? 'not trusted');
    const o = field(cert.subject?.O);
    if (this.settings.cpoName && o !== this.settings.cpoName) return `O (${o ?? 'none'}) is not the CPO name`;
    const cn = field(cert.subject?.CN);
    const names = this.expectedCommonNames(record);
    if (!cn || !names.includes(cn)) return `CN (${cn ?? 'none'}) does not match the charger`;
    return null;
  }

  private expectedCommonNames(record: ChargerRecord): string[] {
    if (this.settings.cnCheck === 'id') return [record.id];
    return [record.chargePointSerialNumber, record.chargeBoxSerialNumber].filter((s): s is string => !!s);
  }

  // ---------------------------------------------------------------- AuthorizationKey

  /**
   * Sets a charger's AuthorizationKey. Connected: sent with ChangeConfiguration; on Accepted the
   * new key replaces the old at once, on Rejected/NotSupported the old one stays valid
   * (OCPP-J 1.6 §6.2.2). Not connected (or `push: false`): the key is stored as the one the
   * charger was configured with locally.
   */
  async setAuthorizationKey(
    chargerId: string,
    key: string,
    opts: { push?: boolean } = {},
  ): Promise<{ status: 'Stored' | 'Accepted' | 'Rejected' | 'NotSupported' | 'RebootRequired' }> {
    if (!isValidAuthorizationKey(key)) {
      throw new AmpereError(
        'AMPERE_ERR_BAD_REQUEST',
        'An AuthorizationKey has 16 to 20 printable characters, or 32 to 40 hex digits (whitepaper A00.FR.205)',
      );
    }
    const push = opts.push ?? this.central.directory.isConnected(chargerId);
    if (!push) {
      await this.storeKey(chargerId, await hashAuthorizationKey(key), 'set by operator');
      return { status: 'Stored' };
    }
    this.prehashed.set(chargerId, { key, hash: hashAuthorizationKey(key) });
    try {
      const res = await this.central.commands.call(chargerId, 'ChangeConfiguration', {
        key: 'AuthorizationKey',
        value: key,
      });
      return { status: res.status };
    } finally {
      this.prehashed.delete(chargerId);
    }
  }

  /** After a charger Accepted a ChangeConfiguration (whichever way it was sent). */
  async configurationAccepted(chargerId: string, key: string, value: string): Promise<void> {
    if (key === 'AuthorizationKey') {
      if (!isValidAuthorizationKey(value)) {
        this.log.warn({ chargerId }, 'charger accepted an AuthorizationKey of the wrong format; not stored');
        return;
      }
      const pre = this.prehashed.get(chargerId);
      const hash = pre && pre.key === value ? await pre.hash : await hashAuthorizationKey(value);
      await this.storeKey(chargerId, hash, 'changed on the charger');
    } else if (key === 'SecurityProfile') {
      const target = Number(value);
      const record = await this.central.store.getCharger(chargerId);
      if (record && [1, 2, 3].includes(target) && target > record.securityProfile) {
        // A05: the charger reconnects with the new profile; until it has, the old one still works
        // (the charger falls back when the new one fails, A05.FR.07).
        await this.central.store.setSetting(pendingKey(chargerId), String(target));
        await this.recordEvent(chargerId, 'SecurityProfileRaiseStarted', { from: record.securityProfile, to: target });
      }
    }
  }

  private async storeKey(chargerId: string, hash: string, how: string): Promise<void> {
    await this.central.admin.updateCharger(chargerId, { authKeyHash: hash });
    this.verified.forget(chargerId);
    await this.recordEvent(chargerId, 'ReconfigurationOfSecurityParameters', { what: 'AuthorizationKey', how });
  }

  // ---------------------------------------------------------------- raising the profile

  /**
   * The whitepaper's procedure to raise a profile (§2.4, A05): check the prerequisites, set
   * SecurityProfile on the charger; the charger reconnects with it. Once it has connected with the
   * new profile, lower ones are refused (A05.FR.09); until then the old one keeps working.
   */
  async raiseProfile(chargerId: string, target: SecurityProfile): Promise<{ status: string }> {
    const record = await this.central.store.getCharger(chargerId);
    if (!record) throw new AmpereError('AMPERE_ERR_NOT_FOUND', `No charger ${chargerId}`);
    if (target <= record.securityProfile) {
      throw new AmpereError('AMPERE_ERR_CONFLICT', `Charger ${chargerId} is at profile ${record.securityProfile}`);
    }
    if ((target === 1 || target === 2) && !record.authKeyHash) {
      throw new AmpereError('AMPERE_ERR_CONFLICT', 'Set an AuthorizationKey first (A05.FR.02)');
    }
    if (target >= 2 && !this.settings.tls) {
      throw new AmpereError('AMPERE_ERR_CONFLICT', 'The server does not speak TLS (--tls-cert, --tls-key)');
    }
    if (target === 3 && !this.settings.clientCa) {
      throw new AmpereError('AMPERE_ERR_CONFLICT', 'The server has no client CA (--tls-ca)');
    }
    if (target === 3 && this.settings.cpoName) {
      await this.central.commands
        .call(chargerId, 'ChangeConfiguration', { key: 'CpoName', value: this.settings.cpoName })
        .catch((e) => this.log.info({ chargerId, err: (e as Error).message }, 'CpoName not set'));
    }
    const res = await this.central.commands.call(chargerId, 'ChangeConfiguration', {
      key: 'SecurityProfile',
      value: String(target),
    });
    return { status: res.status };
  }

  /** The raise in progress, if any. */
  async pendingProfile(chargerId: string): Promise<SecurityProfile | null> {
    const v = await this.central.store.getSetting(pendingKey(chargerId));
    return v ? (Number(v) as SecurityProfile) : null;
  }

  private async commitRaise(record: ChargerRecord, target: SecurityProfile): Promise<void> {
    await this.central.admin.updateCharger(record.id, { securityProfile: target });
    await this.central.store.setSetting(pendingKey(record.id), null);
    await this.recordEvent(record.id, 'SecurityProfileRaised', { from: record.securityProfile, to: target });
  }

  // ---------------------------------------------------------------- certificates

  /**
   * SignCertificate.req (A02): Accepted when the CSR is valid and the built-in CA signs it; the
   * signed certificate then goes to the charger with CertificateSigned, after this answer.
   */
  async signCertificate(chargerId: string, csr: string): Promise<'Accepted' | 'Rejected'> {
    const ca = this.settings.ca;
    if (!ca) {
      await this.recordEvent(chargerId, 'CsrRejected', { reason: 'no CA configured' });
      return 'Rejected';
    }
    const record = await this.central.store.getCharger(chargerId);
    const names = record ? this.expectedCommonNames(record) : [chargerId];
    const result = await signCsr(ca, csr, {
      commonNames: names,
      ...(this.settings.cpoName ? { organization: this.settings.cpoName } : {}),
      days: this.settings.certificateDays,
    });
    if (!result.ok) {
      await this.recordEvent(chargerId, 'CsrRejected', { reason: result.reason });
      return 'Rejected';
    }
    // After the CALLRESULT has gone out: the session holds it until the handler has returned.
    setImmediate(() => {
      this.central.commands
        .call(chargerId, 'CertificateSigned', { certificateChain: result.certPem })
        .then(async (res) => {
          await this.recordEvent(chargerId, 'CertificateSigned', { status: res.status });
          if (res.status === 'Accepted') await this.certificates.noteIssued(chargerId, result.certPem);
        })
        .catch((e) => this.log.warn({ chargerId, err: (e as Error).message }, 'CertificateSigned failed'));
    });
    return 'Accepted';
  }
}
