// CertificateHashDataType of the OCPP 1.6 security extension (whitepaper edition 3, §4.1 and
// use cases M03/M04): how both sides name an installed certificate. A pure function of the PEM
// text: SHA-256 of the issuer's DER name, SHA-256 of the issuer's public key bits, the serial.
import { createHash, X509Certificate } from 'node:crypto';
import type { ActionMap } from './types.generated.ts';

export type CertificateHashData = ActionMap['DeleteCertificate']['request']['certificateHashData'];

/** The TLV at `at`: where its content starts and ends. */
function tlv(der: Uint8Array, at: number): { start: number; end: number } {
  const first = der[at + 1]!;
  let len = first;
  let start = at + 2;
  if (first >= 0x80) {
    len = 0;
    for (let k = 0; k < (first & 0x7f); k++) len = len * 256 + der[start + k]!;
    start += first & 0x7f;
  }
  return { start, end: start + len };
}

const sha256 = (data: Uint8Array) => createHash('sha256').update(data).digest('hex');

/** Serial numbers compare without leading zeros, in lower case. */
export function normalSerial(serial: string): string {
  return serial.replace(/^0+(?=.)/, '').toLowerCase();
}

/**
 * The hash data of a certificate whose issuer is itself (a root, as installed with
 * InstallCertificate): issuer name and issuer key are its own.
 */
export function certificateHashData(pem: string): CertificateHashData {
  const cert = new X509Certificate(pem);
  const der = new Uint8Array(cert.raw);
  // Certificate ::= SEQUENCE { tbsCertificate SEQUENCE { [0] version?, serialNumber, signature, issuer, … } }
  let at = tlv(der, tlv(der, 0).start).start;
  if (der[at] === 0xa0) at = tlv(der, at).end; // [0] EXPLICIT version
  at = tlv(der, at).end; // serialNumber
  at = tlv(der, at).end; // signature AlgorithmIdentifier
  const issuer = der.subarray(at, tlv(der, at).end);
  // SubjectPublicKeyInfo ::= SEQUENCE { algorithm, subjectPublicKey BIT STRING }: the key bits.
  const spki = new Uint8Array(cert.publicKey.export({ type: 'spki', format: 'der' }));
  const alg = tlv(spki, tlv(spki, 0).start);
  const bits = tlv(spki, alg.end);
  return {
    hashAlgorithm: 'SHA256',
    issuerNameHash: sha256(issuer),
    issuerKeyHash: sha256(spki.subarray(bits.start + 1, bits.end)),
    serialNumber: normalSerial(cert.serialNumber),
  };
}

/** Whether two hash data name the same certificate (hex in any case, serials without leading zeros). */
export function sameCertificate(a: CertificateHashData, b: CertificateHashData): boolean {
  return (
    a.hashAlgorithm === b.hashAlgorithm &&
    a.issuerNameHash.toLowerCase() === b.issuerNameHash.toLowerCase() &&
    a.issuerKeyHash.toLowerCase() === b.issuerKeyHash.toLowerCase() &&
    normalSerial(a.serialNumber) === normalSerial(b.serialNumber)
  );
}
