// Certificate management as a feature (OCPP 1.6 security whitepaper edition 3, §3): install the
// central system's root on a charger (M05 InstallCertificate), keep what it reports as installed
// (M03 GetInstalledCertificateIds) and delete by choosing from that list (M04 DeleteCertificate),
// and track the expiry of the charger's own certificate, asking for a new one before it expires
// (A02 via ExtendedTriggerMessage SignChargePointCertificate, F06).
import { X509Certificate } from 'node:crypto';
import { AmpereError } from '../../errors.ts';
import { type CertificateHashData, certificateHashData, normalSerial, sameCertificate } from '../../ocpp/index.ts';
import { afterBootQueue } from '../after-boot.ts';
import type { CentralServices } from '../ports.ts';

export const CERTIFICATE_TYPES = ['CentralSystemRootCertificate', 'ManufacturerRootCertificate'] as const;
export type CertificateType = (typeof CERTIFICATE_TYPES)[number];

export interface InstalledCertificate extends CertificateHashData {
  /** 1-based position in the stored list: what an operator names to delete it. */
  index: number;
  certificateType: CertificateType;
  /** It is this central system's root (the built-in CA or --tls-ca). */
  ours: boolean;
}

/** The charger's own certificate, as issued here (SignCertificate or the API). */
export interface TrackedCertificate {
  serialNumber: string;
  notAfter: string;
  issuedAt: string;
  /** From then on a new certificate is asked for (notAfter minus the renewal window). */
  renewFrom: string;
  renewRequestedAt: string | null;
}

export interface CertificatesView {
  chargerId: string;
  /** As the charger reported them at `listedAt` (null: never asked). */
  installed: InstalledCertificate[];
  listedAt: string | null;
  root: { available: boolean; serialNumber: string | null; notAfter: string | null };
  chargerCertificate: TrackedCertificate | null;
}

const DAY_MS = 86_400_000;
/** Renewal is asked for at most once a day while the charger has not sent a new CSR. */
const RENEW_RETRY_MS = DAY_MS;
const CHECK_EVERY_MS = 60 * 60_000;
const installedKey = (id: string) => `certificates.installed.${id}`;
const trackedKey = (id: string) => `certificates.charger.${id}`;

interface StoredList {
  listedAt: string;
  items: { certificateType: CertificateType; hash: CertificateHashData }[];
}

export interface CertificateSettings {
  /** PEM of the root chargers should trust: the built-in CA, else --tls-ca. */
  rootPem: string | undefined;
  /** Days before expiry from which a new charger certificate is asked for. */
  renewDays: number;
}

export class CertificateManagement {
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;
  private readonly rootHash: CertificateHashData | undefined;

  constructor(
    private readonly central: CentralServices,
    private readonly settings: CertificateSettings,
    /** Stores and announces a security event (ChargerSecurity.recordEvent). */
    private readonly recordEvent: (chargerId: string, type: string, data: Record<string, unknown>) => Promise<void>,
  ) {
    this.rootHash = settings.rootPem ? certificateHashData(settings.rootPem) : undefined;
  }

  /** Renewal checks: after every Accepted boot, and hourly for connected chargers. */
  start(): void {
    const queue = afterBootQueue(this.central);
    this.unsubscribe ??= this.central.events.subscribe((e) => {
      if (e.type === 'charger.boot' && e.chargerId && e.data.status === 'Accepted') {
        const id = e.chargerId;
        queue.push(() => this.checkRenewal(id));
      }
    });
    this.timer ??= setInterval(() => {
      for (const id of this.central.directory.connectedIds()) void this.checkRenewal(id);
    }, CHECK_EVERY_MS);
    this.timer.unref();
  }

  stop(): void {
    this.unsubscribe?.();
    this.unsubscribe = undefined;
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  private async read<T>(key: string): Promise<T | null> {
    const raw = await this.central.store.getSetting(key);
    if (raw === null) return null;
    try {
      return JSON.parse(raw) as T;
    } catch {
      return null;
    }
  }

  private write(key: string, value: unknown): Promise<void> {
    return this.central.store.setSetting(key, JSON.stringify(value));
  }

  async view(chargerId: string): Promise<CertificatesView> {
    const list = await this.read<StoredList>(installedKey(chargerId));
    const root = this.settings.rootPem ? new X509Certificate(this.settings.rootPem) : undefined;
    return {
      chargerId,
      installed: (list?.items ?? []).map((c, i) => ({
        index: i + 1,
        certificateType: c.certificateType,
        ...c.hash,
        ours:
          this.rootHash !== undefined &&
          c.certificateType === 'CentralSystemRootCertificate' &&
          sameCertificate(c.hash, this.rootHash),
      })),
      listedAt: list?.listedAt ?? null,
      root: {
        available: root !== undefined,
        serialNumber: root ? normalSerial(root.serialNumber) : null,
        notAfter: root ? new Date(root.validTo).toISOString() : null,
      },
      chargerCertificate: await this.read<TrackedCertificate>(trackedKey(chargerId)),
    };
  }

  /** GetInstalledCertificateIds for both types; the answers replace the stored list. */
  async refresh(chargerId: string): Promise<CertificatesView> {
    const items: StoredList['items'] = [];
    for (const certificateType of CERTIFICATE_TYPES) {
      const res = await this.central.commands.call(chargerId, 'GetInstalledCertificateIds', { certificateType });
      for (const hash of res.certificateHashData ?? []) items.push({ certificateType, hash });
    }
    await this.write(installedKey(chargerId), {
      listedAt: new Date(this.central.clock.now()).toISOString(),
      items,
    } satisfies StoredList);
    return this.view(chargerId);
  }

  /** InstallCertificate with the central system's root, then the list again. */
  async installRoot(chargerId: string): Promise<{ status: string; certificates: CertificatesView }> {
    if (!this.settings.rootPem) {
      throw new AmpereError(
        'AMPERE_ERR_CONFLICT',
        'The server has no root certificate to install (ampere certs init, or --tls-ca)',
      );
    }
    const res = await this.central.commands.call(chargerId, 'InstallCertificate', {
      certificateType: 'CentralSystemRootCertificate',
      certificate: this.settings.rootPem,
    });
    await this.recordEvent(chargerId, 'RootCertificateInstall', { status: res.status });
    return { status: res.status, certificates: await this.refresh(chargerId) };
  }

  /** DeleteCertificate for entry `index` (1-based) of the stored list, then the list again. */
  async remove(chargerId: string, index: number): Promise<{ status: string; certificates: CertificatesView }> {
    const list = await this.read<StoredList>(installedKey(chargerId));
    const entry = list?.items[index - 1];
    if (!entry) {
      throw new AmpereError(
        'AMPERE_ERR_NOT_FOUND',
        list
          ? `No certificate ${index} in the list of ${chargerId} (${list.items.length} listed)`
          : `No list of installed certificates for ${chargerId} yet: refresh it first`,
        { field: 'path.index' },
      );
    }
    const res = await this.central.commands.call(chargerId, 'DeleteCertificate', { certificateHashData: entry.hash });
    await this.recordEvent(chargerId, 'CertificateDelete', {
      status: res.status,
      serialNumber: entry.hash.serialNumber,
    });
    return { status: res.status, certificates: await this.refresh(chargerId) };
  }

  /** Asks the charger for a new CSR (ExtendedTriggerMessage SignChargePointCertificate). */
  async renew(chargerId: string, reason: 'operator' | 'expiry'): Promise<string> {
    // Noted before the call: a charger that refuses is asked again a day later, not every hour.
    const tracked = await this.read<TrackedCertificate>(trackedKey(chargerId));
    if (tracked) {
      tracked.renewRequestedAt = new Date(this.central.clock.now()).toISOString();
      await this.write(trackedKey(chargerId), tracked);
    }
    const res = await this.central.commands.call(chargerId, 'ExtendedTriggerMessage', {
      requestedMessage: 'SignChargePointCertificate',
    });
    await this.recordEvent(chargerId, 'CertificateRenewalRequested', { reason, status: res.status });
    return res.status;
  }

  /** A certificate was issued for the charger: its expiry is tracked from now on. */
  async noteIssued(chargerId: string, certPem: string): Promise<void> {
    const cert = new X509Certificate(certPem);
    const notAfter = Date.parse(cert.validTo);
    const tracked: TrackedCertificate = {
      serialNumber: normalSerial(cert.serialNumber),
      notAfter: new Date(notAfter).toISOString(),
      issuedAt: new Date(this.central.clock.now()).toISOString(),
      renewFrom: new Date(notAfter - this.settings.renewDays * DAY_MS).toISOString(),
      renewRequestedAt: null,
    };
    await this.write(trackedKey(chargerId), tracked);
    if (this.central.directory.isConnected(chargerId)) setImmediate(() => void this.checkRenewal(chargerId));
  }

  /** Asks for a new certificate when the tracked one is in its renewal window. True when asked. */
  async checkRenewal(chargerId: string): Promise<boolean> {
    const tracked = await this.read<TrackedCertificate>(trackedKey(chargerId));
    const now = this.central.clock.now();
    if (!tracked || !this.central.directory.isConnected(chargerId) || Date.parse(tracked.renewFrom) > now) return false;
    if (tracked.renewRequestedAt && Date.parse(tracked.renewRequestedAt) > now - RENEW_RETRY_MS) return false;
    try {
      await this.renew(chargerId, 'expiry');
      return true;
    } catch (e) {
      this.central.log.warn({ chargerId, err: (e as Error).message }, 'certificate renewal request failed');
      return false;
    }
  }
}
