// The built-in certificate authority for small sites (`ampere certs init`): a CA, the server
// certificate, charger certificates for security profile 3, and the signing of the CSRs chargers
// send with SignCertificate (security whitepaper §3.2, A02). node:crypto cannot build X.509
// certificates, so this uses @peculiar/x509 (on node's WebCrypto), which does RSA and ECDSA:
// the whitepaper allows both for charge point certificates (RSA ≥ 2048 bits, ECC ≥ 224 bits),
// and the CA itself may be either.
import { createPrivateKey, createPublicKey, randomBytes, webcrypto, X509Certificate } from 'node:crypto';
import type * as X509 from '@peculiar/x509';

type CryptoKey = webcrypto.CryptoKey;
type CryptoKeyPair = webcrypto.CryptoKeyPair;
type SigningAlgorithm = webcrypto.Algorithm | webcrypto.EcdsaParams;

const crypto = webcrypto;

// @peculiar/x509 and its ASN.1 packages are some 200 modules: loaded by the first certificate
// operation, not by every server start (issue 14). Each exported function that builds or reads a
// certificate awaits loadX509() first; the helpers below it then use `x509`.
let x509: typeof X509;
let loading: Promise<void> | undefined;
function loadX509(): Promise<void> {
  loading ??= (async () => {
    await import('reflect-metadata'); // @peculiar/x509 resolves its ASN.1 providers through tsyringe, which needs it.
    const lib = await import('@peculiar/x509');
    lib.cryptoProvider.set(crypto as never);
    x509 = lib;
  })();
  return loading;
}

/** Key types the CA makes: RSA 2048 or ECDSA P-256 (whitepaper §3.1: RSA/DSA ≥ 2048, ECC ≥ 224). */
export type KeyType = 'rsa' | 'ec';
export const KEY_TYPES: readonly KeyType[] = ['rsa', 'ec'];

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

/** Security whitepaper §3.1 (key sizes): the least a charger's key may have. */
const MIN_RSA_BITS = 2048;
const MIN_EC_BITS = 224;
const EC_CURVES: Record<string, { webName: string; bits: number; hash: string }> = {
  prime256v1: { webName: 'P-256', bits: 256, hash: 'SHA-256' },
  secp384r1: { webName: 'P-384', bits: 384, hash: 'SHA-384' },
  secp521r1: { webName: 'P-521', bits: 521, hash: 'SHA-512' },
};

const RSA_GEN = {
  name: 'RSASSA-PKCS1-v1_5',
  hash: 'SHA-256',
  publicExponent: new Uint8Array([1, 0, 1]),
  modulusLength: 2048,
};
const EC_GEN = { name: 'ECDSA', namedCurve: 'P-256', hash: 'SHA-256' };

function serial(): string {
  // Positive 128-bit serial (RFC 5280 §4.1.2.2: at most 20 octets, positive).
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) | 0x01;
  return b.toString('hex');
}

function validity(v: Validity, defaultDays: number): { notBefore: Date; notAfter: Date } {
  const notBefore = v.notBefore ?? new Date(Date.now() - 60_000);
  return { notBefore, notAfter: v.notAfter ?? new Date(notBefore.getTime() + (v.days ?? defaultDays) * 86_400_000) };
}

/** A distinguished name; values are escaped for the RFC 4514 string form. */
function dn(commonName: string, organization?: string): X509.Name {
  const attrs: X509.JsonName = [{ CN: [commonName] }];
  if (organization) attrs.push({ O: [organization] });
  return new x509.Name(attrs);
}

async function generate(type: KeyType): Promise<CryptoKeyPair> {
  return (await crypto.subtle.generateKey(type === 'ec' ? EC_GEN : RSA_GEN, true, ['sign', 'verify'])) as CryptoKeyPair;
}

async function keyPem(key: CryptoKey): Promise<string> {
  const der = Buffer.from(await crypto.subtle.exportKey('pkcs8', key));
  return `-----BEGIN PRIVATE KEY-----\n${der.toString('base64').replace(/.{64}/g, '$&\n').replace(/\n?$/, '\n')}-----END PRIVATE KEY-----\n`;
}

/** The CA's signing key and the algorithm it signs with; PKCS#1, SEC1 and PKCS#8 PEM all load. */
async function signer(pem: string): Promise<{ key: CryptoKey; algorithm: SigningAlgorithm }> {
  const k = createPrivateKey(pem);
  const der = k.export({ type: 'pkcs8', format: 'der' });
  if (k.asymmetricKeyType === 'ec') {
    const curve = EC_CURVES[k.asymmetricKeyDetails?.namedCurve ?? ''];
    if (!curve) throw new Error(`The CA key's curve ${k.asymmetricKeyDetails?.namedCurve} is not supported`);
    const algorithm = { name: 'ECDSA', namedCurve: curve.webName, hash: curve.hash };
    return { key: await crypto.subtle.importKey('pkcs8', der, algorithm, false, ['sign']), algorithm };
  }
  if (k.asymmetricKeyType === 'rsa') {
    const algorithm = { name: 'RSASSA-PKCS1-v1_5', hash: 'SHA-256' };
    return { key: await crypto.subtle.importKey('pkcs8', der, algorithm, false, ['sign']), algorithm };
  }
  throw new Error(`The CA key type ${k.asymmetricKeyType} is not supported (RSA or EC)`);
}

/** The CA's key type, read from its certificate. */
export function caKeyType(certPem: string): KeyType {
  return new X509Certificate(certPem).publicKey.asymmetricKeyType === 'ec' ? 'ec' : 'rsa';
}

export async function createCa(
  opts: { organization: string; commonName?: string; keyType?: KeyType } & Validity,
): Promise<KeyPairPem> {
  await loadX509();
  const keys = await generate(opts.keyType ?? 'rsa');
  const name = dn(opts.commonName ?? `${opts.organization} Ampere CA`, opts.organization);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject: name,
    issuer: name,
    ...validity(opts, 3650),
    publicKey: keys.publicKey,
    signingKey: keys.privateKey,
    signingAlgorithm: opts.keyType === 'ec' ? EC_GEN : RSA_GEN,
    extensions: [
      new x509.BasicConstraintsExtension(true, undefined, true),
      new x509.KeyUsagesExtension(x509.KeyUsageFlags.keyCertSign | x509.KeyUsageFlags.cRLSign, true),
      await x509.SubjectKeyIdentifierExtension.create(keys.publicKey),
    ],
  });
  return { certPem: cert.toString('pem'), keyPem: await keyPem(keys.privateKey) };
}

async function issue(
  ca: KeyPairPem,
  publicKey: X509.PublicKeyType,
  subject: X509.Name,
  extensions: X509.Extension[],
  v: Validity,
): Promise<string> {
  await loadX509();
  const caCert = new x509.X509Certificate(ca.certPem);
  const { key, algorithm } = await signer(ca.keyPem);
  const cert = await x509.X509CertificateGenerator.create({
    serialNumber: serial(),
    subject,
    issuer: caCert.subjectName,
    ...validity(v, 365),
    publicKey,
    signingKey: key,
    signingAlgorithm: algorithm,
    extensions: [
      new x509.BasicConstraintsExtension(false),
      await x509.AuthorityKeyIdentifierExtension.create(caCert),
      ...extensions,
    ],
  });
  return cert.toString('pem');
}

/** Key usage of a leaf: RSA keys also encipher (RSA key exchange); EC keys only sign. */
function leafUsage(ec: boolean): X509.KeyUsagesExtension {
  const flags = ec
    ? x509.KeyUsageFlags.digitalSignature
    : x509.KeyUsageFlags.digitalSignature | x509.KeyUsageFlags.keyEncipherment;
  return new x509.KeyUsagesExtension(flags, true);
}

/** The server certificate: CN = the first host, every host a subjectAltName (DNS or IP). */
export async function issueServerCertificate(
  ca: KeyPairPem,
  opts: { hosts: string[]; organization?: string; keyType?: KeyType } & Validity,
): Promise<KeyPairPem> {
  await loadX509();
  const type = opts.keyType ?? caKeyType(ca.certPem);
  const keys = await generate(type);
  const altNames = opts.hosts.map((h) =>
    /^[\d.]+$|:/.test(h) ? { type: 'ip' as const, value: h } : { type: 'dns' as const, value: h },
  );
  const certPem = await issue(
    ca,
    keys.publicKey,
    dn(opts.hosts[0] ?? 'localhost', opts.organization),
    [
      leafUsage(type === 'ec'),
      new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.serverAuth]),
      new x509.SubjectAlternativeNameExtension(altNames),
    ],
    { days: 825, ...opts },
  );
  return { certPem, keyPem: await keyPem(keys.privateKey) };
}

function clientExtensions(ec: boolean): X509.Extension[] {
  return [leafUsage(ec), new x509.ExtendedKeyUsageExtension([x509.ExtendedKeyUsage.clientAuth])];
}

/** A charger certificate for profile 3: CN = charge point id (or serial), O = the CPO name (A00.FR.403). */
export async function issueClientCertificate(
  ca: KeyPairPem,
  opts: { commonName: string; organization: string; keyType?: KeyType } & Validity,
): Promise<KeyPairPem> {
  await loadX509();
  const type = opts.keyType ?? caKeyType(ca.certPem);
  const keys = await generate(type);
  const certPem = await issue(
    ca,
    keys.publicKey,
    dn(opts.commonName, opts.organization),
    clientExtensions(type === 'ec'),
    opts,
  );
  return { certPem, keyPem: await keyPem(keys.privateKey) };
}

/** A CSR as a charger would make it for SignCertificate (tests, the simulator, the certs command). */
export async function createCsr(opts: {
  commonName: string;
  organization: string;
  keyType?: KeyType;
}): Promise<{ csrPem: string; keyPem: string }> {
  await loadX509();
  const type = opts.keyType ?? 'rsa';
  const keys = await generate(type);
  const csr = await x509.Pkcs10CertificateRequestGenerator.create({
    name: dn(opts.commonName, opts.organization),
    keys,
    signingAlgorithm: type === 'ec' ? EC_GEN : RSA_GEN,
  });
  return { csrPem: csr.toString('pem'), keyPem: await keyPem(keys.privateKey) };
}

export type CsrResult = { ok: true; certPem: string } | { ok: false; reason: string };

/** Whitepaper §3.1 key sizes: RSA at least 2048 bits, ECC at least 224 bits. */
function keyStrength(spki: ArrayBuffer): { ok: true; ec: boolean } | { ok: false; reason: string } {
  const k = createPublicKey({ key: Buffer.from(spki), format: 'der', type: 'spki' });
  if (k.asymmetricKeyType === 'rsa') {
    const bits = k.asymmetricKeyDetails?.modulusLength ?? 0;
    if (bits < MIN_RSA_BITS)
      return { ok: false, reason: `The CSR's RSA key has ${bits} bits (at least ${MIN_RSA_BITS})` };
    return { ok: true, ec: false };
  }
  if (k.asymmetricKeyType === 'ec') {
    const curve = k.asymmetricKeyDetails?.namedCurve ?? 'unknown';
    const bits = EC_CURVES[curve]?.bits ?? 0;
    if (bits < MIN_EC_BITS)
      return { ok: false, reason: `The CSR's EC curve ${curve} is not supported (P-256 or larger)` };
    return { ok: true, ec: true };
  }
  return { ok: false, reason: `The CSR's key type ${k.asymmetricKeyType} is not RSA or EC` };
}

/**
 * Signs a charger's CSR (SignCertificate.req). Security whitepaper A02.FR.06/07: the CSMS checks the
 * request before signing: a valid self-signature, O = the CPO name, CN = the charger, a strong
 * enough RSA or EC key. Anything else is refused rather than repaired.
 */
export async function signCsr(
  ca: KeyPairPem,
  csrPem: string,
  expect: { organization?: string; commonNames: string[] } & Validity,
): Promise<CsrResult> {
  await loadX509();
  let csr: X509.Pkcs10CertificateRequest;
  try {
    csr = new x509.Pkcs10CertificateRequest(csrPem);
  } catch (e) {
    return { ok: false, reason: `The CSR cannot be read: ${(e as Error).message}` };
  }
  try {
    if (!(await csr.verify())) return { ok: false, reason: 'The CSR signature does not verify' };
  } catch {
    return { ok: false, reason: 'The CSR signature does not verify' };
  }
  const cn = csr.subjectName.getField('CN')[0];
  const o = csr.subjectName.getField('O')[0];
  if (!cn || !expect.commonNames.includes(cn)) {
    return { ok: false, reason: `The CSR's CN (${cn ?? 'none'}) does not name this charger` };
  }
  if (expect.organization && o !== expect.organization) {
    return { ok: false, reason: `The CSR's O (${o ?? 'none'}) is not the CPO name` };
  }
  const strength = keyStrength(csr.publicKey.rawData);
  if (!strength.ok) return strength;
  const certPem = await issue(ca, csr.publicKey, dn(cn, o), clientExtensions(strength.ec), { days: 365, ...expect });
  return { ok: true, certPem };
}

/** Subject and expiry of a PEM certificate (for `certs init` output and checks). */
export function certificateSubject(pem: string): { commonName?: string; organization?: string; notAfter: Date } {
  const cert = new X509Certificate(pem);
  const field = (name: string) =>
    cert.subject
      .split('\n')
      .find((l) => l.startsWith(`${name}=`))
      ?.slice(name.length + 1);
  const cn = field('CN');
  const o = field('O');
  return { ...(cn ? { commonName: cn } : {}), ...(o ? { organization: o } : {}), notAfter: new Date(cert.validTo) };
}
