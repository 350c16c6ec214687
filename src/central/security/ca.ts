// The built-in certificate authority for small sites (`ampere certs init`): a CA, the server
// certificate, charger certificates for security profile 3, and the signing of the CSRs chargers
// send with SignCertificate (security whitepaper §3.2, A02). node:crypto cannot build X.509
// certificates, so this uses node-forge (RSA only: forge has no ECDSA certificates; the default
// ciphers include ECDHE-RSA for that reason).
import { randomBytes } from 'node:crypto';
import forge from 'node-forge';

const { pki } = forge;

export interface KeyPairPem {
  certPem: string;
  keyPem: string;
}

export interface Validity {
  notBefore?: Date;
  notAfter?: Date;
  /** Used when notAfter is not given (default 365). */
  days?: number;
}

type Attr = { shortName: string; value: string };

function serial(): string {
  // Positive 128-bit serial (RFC 5280 §4.1.2.2: at most 20 octets, positive).
  const b = randomBytes(16);
  b[0] = b[0]! & 0x7f;
  return b.toString('hex');
}

function validity(cert: forge.pki.Certificate, v: Validity): void {
  const from = v.notBefore ?? new Date(Date.now() - 60_000);
  cert.validity.notBefore = from;
  cert.validity.notAfter = v.notAfter ?? new Date(from.getTime() + (v.days ?? 365) * 86_400_000);
}

function subject(commonName: string, organization?: string): Attr[] {
  const attrs: Attr[] = [{ shortName: 'CN', value: commonName }];
  if (organization) attrs.push({ shortName: 'O', value: organization });
  return attrs;
}

function keyPair(bits = 2048): forge.pki.rsa.KeyPair {
  // forge uses node's native key generation when it is available.
  return pki.rsa.generateKeyPair({ bits, e: 0x10001 });
}

export function createCa(opts: { organization: string; commonName?: string } & Validity): KeyPairPem {
  const keys = keyPair();
  const cert = pki.createCertificate();
  cert.publicKey = keys.publicKey;
  cert.serialNumber = serial();
  validity(cert, { days: 3650, ...opts });
  const attrs = subject(opts.commonName ?? `${opts.organization} Ampere CA`, opts.organization);
  cert.setSubject(attrs);
  cert.setIssuer(attrs);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(keys.privateKey, forge.md.sha256.create());
  return { certPem: pki.certificateToPem(cert), keyPem: pki.privateKeyToPem(keys.privateKey) };
}

function issue(
  ca: KeyPairPem,
  publicKey: forge.pki.PublicKey,
  attrs: Attr[],
  extensions: object[],
  v: Validity,
): string {
  const caCert = pki.certificateFromPem(ca.certPem);
  const caKey = pki.privateKeyFromPem(ca.keyPem);
  const cert = pki.createCertificate();
  cert.publicKey = publicKey;
  cert.serialNumber = serial();
  validity(cert, v);
  cert.setSubject(attrs);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false },
    { name: 'authorityKeyIdentifier', keyIdentifier: caCert.generateSubjectKeyIdentifier().getBytes() },
    ...extensions,
  ]);
  cert.sign(caKey, forge.md.sha256.create());
  return pki.certificateToPem(cert);
}

/** The server certificate: CN = the first host, every host a subjectAltName (DNS or IP). */
export function issueServerCertificate(
  ca: KeyPairPem,
  opts: { hosts: string[]; organization?: string } & Validity,
): KeyPairPem {
  const keys = keyPair();
  const altNames = opts.hosts.map((h) => (/^[\d.]+$|:/.test(h) ? { type: 7, ip: h } : { type: 2, value: h }));
  const certPem = issue(
    ca,
    keys.publicKey,
    subject(opts.hosts[0] ?? 'localhost', opts.organization),
    [
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames },
    ],
    { days: 825, ...opts },
  );
  return { certPem, keyPem: pki.privateKeyToPem(keys.privateKey) };
}

const CLIENT_EXTENSIONS = [
  { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
  { name: 'extKeyUsage', clientAuth: true },
];

/** A charger certificate for profile 3: CN = charge point id (or serial), O = the CPO name (A00.FR.403). */
export function issueClientCertificate(
  ca: KeyPairPem,
  opts: { commonName: string; organization: string } & Validity,
): KeyPairPem {
  const keys = keyPair();
  const certPem = issue(ca, keys.publicKey, subject(opts.commonName, opts.organization), CLIENT_EXTENSIONS, opts);
  return { certPem, keyPem: pki.privateKeyToPem(keys.privateKey) };
}

/** A CSR as a charger would make it for SignCertificate (used by tests and the certs command). */
export function createCsr(opts: { commonName: string; organization: string }): { csrPem: string; keyPem: string } {
  const keys = keyPair();
  const csr = pki.createCertificationRequest();
  csr.publicKey = keys.publicKey;
  csr.setSubject(subject(opts.commonName, opts.organization));
  csr.sign(keys.privateKey, forge.md.sha256.create());
  return { csrPem: pki.certificationRequestToPem(csr), keyPem: pki.privateKeyToPem(keys.privateKey) };
}

export type CsrResult = { ok: true; certPem: string } | { ok: false; reason: string };

/**
 * Signs a charger's CSR (SignCertificate.req). Security whitepaper A02.FR.06/07: the CSMS checks the
 * request before signing: a valid self-signature, O = the CPO name, CN = the charger. Anything else
 * is refused rather than repaired.
 */
export function signCsr(
  ca: KeyPairPem,
  csrPem: string,
  expect: { organization?: string; commonNames: string[] } & Validity,
): CsrResult {
  let csr: forge.pki.CertificateSigningRequest;
  try {
    csr = pki.certificationRequestFromPem(csrPem);
  } catch (e) {
    return { ok: false, reason: `The CSR cannot be read: ${(e as Error).message}` };
  }
  try {
    if (!csr.verify()) return { ok: false, reason: 'The CSR signature does not verify' };
  } catch {
    return { ok: false, reason: 'The CSR signature does not verify' };
  }
  const cn = csr.subject.getField('CN')?.value as string | undefined;
  const o = csr.subject.getField('O')?.value as string | undefined;
  if (!cn || !expect.commonNames.includes(cn)) {
    return { ok: false, reason: `The CSR's CN (${cn ?? 'none'}) does not name this charger` };
  }
  if (expect.organization && o !== expect.organization) {
    return { ok: false, reason: `The CSR's O (${o ?? 'none'}) is not the CPO name` };
  }
  if (!csr.publicKey) return { ok: false, reason: 'The CSR carries no public key' };
  const certPem = issue(ca, csr.publicKey as forge.pki.PublicKey, subject(cn, o), CLIENT_EXTENSIONS, {
    days: 365,
    ...expect,
  });
  return { ok: true, certPem };
}

/** The subject's O of a PEM certificate (for `certs init` output and checks). */
export function certificateSubject(pem: string): { commonName?: string; organization?: string; notAfter: Date } {
  const cert = pki.certificateFromPem(pem);
  const cn = cert.subject.getField('CN')?.value as string | undefined;
  const o = cert.subject.getField('O')?.value as string | undefined;
  return { ...(cn ? { commonName: cn } : {}), ...(o ? { organization: o } : {}), notAfter: cert.validity.notAfter };
}
