// A charge point's side of certificate management (OCPP 1.6 security whitepaper §3, use cases
// A02-A05 and M03-M05): installed root certificates identified by their hash data, the charger's
// own certificate from a CSR it signs with a new key (ECDSA P-256 by default, RSA 2048 on request).
import 'reflect-metadata'; // @peculiar/x509 resolves its ASN.1 providers through tsyringe, which needs it.
import { webcrypto, X509Certificate } from 'node:crypto';
import * as x509 from '@peculiar/x509';
import { type ActionMap, type CertificateHashData, certificateHashData, sameCertificate } from '../ocpp/index.ts';

x509.cryptoProvider.set(webcrypto as never);

export type CertificateType = ActionMap['InstallCertificate']['request']['certificateType'];

interface Installed {
  type: CertificateType;
  pem: string;
  hash: CertificateHashData;
}

export class ChargerCertificates {
  private readonly installed: Installed[] = [];
  /** The key of the last CSR, until its certificate arrives. */
  private pending: webcrypto.CryptoKeyPair | undefined;
  /** The charger's own certificate (CertificateSigned). */
  own: string | undefined;

  /** InstallCertificate (M05): a readable X.509 certificate is kept. */
  install(type: CertificateType, pem: string): 'Accepted' | 'Rejected' {
    let hash: CertificateHashData;
    try {
      hash = certificateHashData(pem);
    } catch {
      return 'Rejected';
    }
    if (!this.installed.some((c) => c.type === type && sameCertificate(c.hash, hash))) {
      this.installed.push({ type, pem, hash });
    }
    return 'Accepted';
  }

  /** GetInstalledCertificateIds (M03). */
  list(type: CertificateType): ActionMap['GetInstalledCertificateIds']['response'] {
    const hashes = this.installed.filter((c) => c.type === type).map((c) => c.hash);
    return hashes.length > 0 ? { status: 'Accepted', certificateHashData: hashes } : { status: 'NotFound' };
  }

  /** The PEMs installed as `type` (e.g. the ManufacturerRootCertificate a signed firmware is checked against). */
  pems(type: CertificateType): string[] {
    return this.installed.filter((c) => c.type === type).map((c) => c.pem);
  }

  /** DeleteCertificate (M04). */
  delete(hash: CertificateHashData): 'Accepted' | 'NotFound' {
    const i = this.installed.findIndex((c) => sameCertificate(c.hash, hash));
    if (i < 0) return 'NotFound';
    this.installed.splice(i, 1);
    return 'Accepted';
  }

  /** A CSR for SignCertificate (A02) with a new key pair: ECDSA P-256 or RSA 2048. */
  async csr(commonName: string, organization: string, keyType: 'ec' | 'rsa' = 'ec'): Promise<string> {
    const algorithm =
      keyType === 'ec'
        ? { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' }
        : {
            name: 'RSASSA-PKCS1-v1_5',
            hash: 'SHA-256',
            publicExponent: new Uint8Array([1, 0, 1]),
            modulusLength: 2048,
          };
    const keys = (await webcrypto.subtle.generateKey(algorithm, true, ['sign', 'verify'])) as webcrypto.CryptoKeyPair;
    this.pending = keys;
    const name = new x509.Name([{ CN: [commonName] }, { O: [organization] }]);
    const req = await x509.Pkcs10CertificateRequestGenerator.create({ name, keys, signingAlgorithm: algorithm });
    return req.toString('pem');
  }

  /** CertificateSigned (A02): accepted when the certificate carries the key of the last CSR. */
  async signed(chain: string): Promise<'Accepted' | 'Rejected'> {
    if (!this.pending) return 'Rejected';
    let cert: X509Certificate;
    try {
      cert = new X509Certificate(chain);
    } catch {
      return 'Rejected';
    }
    const expected = Buffer.from(await webcrypto.subtle.exportKey('spki', this.pending.publicKey));
    if (!cert.publicKey.export({ type: 'spki', format: 'der' }).equals(expected)) return 'Rejected';
    this.pending = undefined;
    this.own = chain;
    return 'Accepted';
  }

  /** The charger's own certificate's public key type ('ec', 'rsa'), for tests and logs. */
  get ownKeyType(): string | undefined {
    return this.own ? new X509Certificate(this.own).publicKey.asymmetricKeyType : undefined;
  }
}
