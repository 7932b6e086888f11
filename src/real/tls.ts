/**
 * TLS material for the real host's STARTTLS (the `tls.start` output, src/protocols/protocol.ts): a
 * certificate and key read from PEM files, or a self-signed pair generated at start. The
 * simulator models the handshake (src/sim/connections.ts) and needs none of this.
 *
 * Must not: keep a file name out of an error about that file (serve prints it and exits 2).
 */
import { createPrivateKey, X509Certificate } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createSecureContext } from 'node:tls';
import { UsageError } from '../core/errors.js';

/** A certificate and its private key, PEM-encoded, and the certificate's SHA-256 fingerprint. */
export interface TlsMaterial {
  readonly cert: string;
  readonly key: string;
  /** Colon-separated upper-case hex, as `openssl x509 -fingerprint -sha256` prints it. */
  readonly fingerprint256: string;
}

/** Reads a PEM certificate and key; a missing, unreadable or malformed file is a usage error naming it. */
export function readTlsFiles(certFile: string, keyFile: string): TlsMaterial {
  const read = (file: string, what: string): string => {
    try {
      return readFileSync(file, 'utf8');
    } catch (error) {
      const code = (error as NodeJS.ErrnoException).code;
      throw new UsageError(`cannot read the TLS ${what} file ${file}${code === undefined ? '' : ` (${code})`}`);
    }
  };
  const cert = read(certFile, 'certificate');
  const key = read(keyFile, 'key');
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(cert);
  } catch {
    throw new UsageError(`${certFile}: not a PEM certificate`);
  }
  try {
    createPrivateKey(key);
  } catch {
    throw new UsageError(`${keyFile}: not a PEM private key`);
  }
  try {
    createSecureContext({ cert, key });
  } catch {
    throw new UsageError(`${keyFile}: the key does not match the certificate in ${certFile}`);
  }
  return { cert, key, fingerprint256: x509.fingerprint256 };
}

/** Reads a PEM file of CA certificates (`tls.ca`); a missing or malformed file is a usage error naming it. */
export function readCaFile(file: string): string {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    throw new UsageError(`cannot read the TLS CA file ${file}${code === undefined ? '' : ` (${code})`}`);
  }
  try {
    new X509Certificate(text);
  } catch {
    throw new UsageError(`${file}: not a PEM certificate`);
  }
  return text;
}

/**
 * A self-signed certificate for `names` (its subject and DNS names), valid for a year: an ECDSA
 * P-256 key, made with the `selfsigned` package (X.509 encoding is not ours to write). The
 * package is loaded here, when first asked: with its X.509 and ASN.1 dependencies it took about a
 * quarter of every fedsim command's start-up, and only `serve` and socket conformance use it.
 */
export async function selfSignedTls(names: readonly string[]): Promise<TlsMaterial> {
  const [first = 'localhost'] = names;
  const notBeforeDate = new Date(Date.now() - 60_000);
  const notAfterDate = new Date(notBeforeDate.getTime() + 365 * 24 * 3600_000);
  const { generate } = await import('selfsigned');
  const pems = await generate([{ name: 'commonName', value: first }], {
    keyType: 'ec',
    curve: 'P-256',
    notBeforeDate,
    notAfterDate,
    extensions: [
      { name: 'basicConstraints', cA: false },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true },
      { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
      { name: 'subjectAltName', altNames: [...new Set(names)].map((value) => ({ type: 2 as const, value })) },
    ],
  });
  return { cert: pems.cert, key: pems.private, fingerprint256: new X509Certificate(pems.cert).fingerprint256 };
}
