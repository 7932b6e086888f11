/**
 * FMTP keys and hashes (ours: the seed says only "here's my hash" and "fmtpkey.<domain>").
 * Each node has an Ed25519 key pair whose secret comes from the run's seeded stream
 * `fmtp-key:<node id>`, so the protocol descriptor can publish the same public key in DNS before
 * the run. The "hash" of a greeting is an Ed25519 signature over a fixed text (spec.md §4).
 *
 * Pure and deterministic (Ed25519 signing is deterministic); never throws on peer input: a
 * malformed key or signature simply does not verify.
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import {
  createPrivateKey,
  createPublicKey,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
} from 'node:crypto';
import { streamFor } from '../../core/prng.js';

/** The label of a node's key stream: `fmtp-key:<node id>`. */
export function keyLabel(nodeId: string): string {
  return `fmtp-key:${nodeId}`;
}

export function secretKeyFor(seed: number, nodeId: string): Uint8Array {
  return streamFor(seed, keyLabel(nodeId)).bytes(32);
}

export function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  return ed25519.getPublicKey(secretKey);
}

export function toBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('base64');
}

function fromBase64(text: string): Uint8Array | undefined {
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(text) || text.length % 4 !== 0) return undefined;
  return new Uint8Array(Buffer.from(text, 'base64'));
}

/** The DNS name that holds a domain's key: `fmtpkey.lenore.org`. */
export function keyRecordName(domain: string): string {
  return `fmtpkey.${domain}`;
}

/** The TXT text of a published key (DKIM-like, ours): `v=FMTP1; k=ed25519; p=<base64>`. */
export function formatKeyRecord(publicKey: Uint8Array): string {
  return `v=FMTP1; k=ed25519; p=${toBase64(publicKey)}`;
}

/** The base64 public key in a TXT text, or undefined when the text is not an FMTP key record. */
export function parseKeyRecord(text: string): string | undefined {
  const match = /^v=FMTP1; k=ed25519; p=([A-Za-z0-9+/]{43}=)$/.exec(text.trim());
  return match?.[1];
}

/** What a HELLO's hash signs: the sender, the domain it means to reach, and its fresh nonce. */
export function helloText(from: string, to: string, nonce: string): string {
  return `FMTP-HELLO\n${from}\n${to}\n${nonce}`;
}

/** What a WELCOME's hash signs: as HELLO, plus the HELLO's nonce, so a WELCOME cannot be replayed. */
export function welcomeText(from: string, to: string, nonce: string, helloNonce: string): string {
  return `FMTP-WELCOME\n${from}\n${to}\n${nonce}\n${helloNonce}`;
}

/** The DER (PKCS #8) head that wraps a raw 32-byte Ed25519 secret key (RFC 8410). */
const pkcs8Head = Buffer.from('302e020100300506032b657004220420', 'hex');

/** Each secret key signed with, as Node's key object, with the bytes it was made from. */
const privateKeys = new WeakMap<Uint8Array, { readonly bytes: Buffer; readonly key: KeyObject }>();

/**
 * `secretKey` as a Node key object, made once per key array (making one derives the public key,
 * about as costly as a signature). Undefined for a key that is not 32 bytes: noble reports those.
 */
function privateKeyObject(secretKey: Uint8Array): KeyObject | undefined {
  if (secretKey.length !== 32) return undefined;
  const known = privateKeys.get(secretKey);
  // The array is the caller's: its bytes are compared, in case they were changed since.
  if (known !== undefined && known.bytes.equals(secretKey)) return known.key;
  const bytes = Buffer.from(secretKey);
  let key: KeyObject;
  try {
    key = createPrivateKey({ key: Buffer.concat([pkcs8Head, bytes]), format: 'der', type: 'pkcs8' });
  } catch {
    return undefined;
  }
  privateKeys.set(secretKey, { bytes, key });
  return key;
}

/**
 * Ed25519 signing is deterministic (RFC 8032 §5.1.6), so OpenSSL's signature through `node:crypto`
 * is noble's, byte for byte, about twenty times sooner (test/protocols/fmtp/keys.test.ts compares
 * them). A connection's greetings sign twice and verify twice, which took noble about as long as
 * seventy messages' other work here.
 */
export function sign(text: string, secretKey: Uint8Array): string {
  const message = new TextEncoder().encode(text);
  const key = privateKeyObject(secretKey);
  return toBase64(key === undefined ? ed25519.sign(message, secretKey) : cryptoSign(null, message, key));
}

/** The group order L = 2^252 + 27742317777372353535851937790883648493. */
const groupOrder = 2n ** 252n + 27742317777372353535851937790883648493n;

/** Whether the S half of a 64-byte signature (little-endian) is below L, as noble requires. */
function scalarCanonical(signature: Uint8Array): boolean {
  return BigInt(`0x${Buffer.from(signature.subarray(32, 64)).reverse().toString('hex')}`) < groupOrder;
}

/**
 * Whether OpenSSL accepts the signature: it checks S < L, decodes A, and compares the canonical
 * encoding of [S]B - [k]A with R, k hashed from the same bytes as noble hashes. When that holds, R
 * is that point, so noble's check ([8]([S]B - R - [k]A) = 0, with its more permissive ZIP-215
 * decoding of A and R) holds as well. A failure here says nothing: noble may still accept (a
 * torsion component in R, a non-canonical encoding), so `verifies` asks noble then.
 */
function opensslAccepts(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (!scalarCanonical(signature)) return false;
  try {
    const x = Buffer.from(publicKey).toString('base64url');
    const key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
    return cryptoVerify(null, message, key, signature);
  } catch {
    return false;
  }
}

/** Exactly noble's `ed25519.verify` (ZIP-215), answered by OpenSSL when it accepts (see above). */
function verifies(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (opensslAccepts(signature, message, publicKey)) return true;
  try {
    return ed25519.verify(signature, message, publicKey);
  } catch {
    // noble throws on a point that is not on the curve: for us that is just a failed check.
    return false;
  }
}

/** True when `hash` is a valid signature of `text` by any of `publicKeys` (base64). */
export function verifyByAny(text: string, hash: string, publicKeys: readonly string[]): boolean {
  const signature = fromBase64(hash);
  if (!signature || signature.length !== 64) return false;
  const message = new TextEncoder().encode(text);
  return publicKeys.some((key) => {
    const publicKey = fromBase64(key);
    if (!publicKey || publicKey.length !== 32) return false;
    return verifies(signature, message, publicKey);
  });
}

/** Lowercase hex, for nonces drawn from the host's stream. */
export function toHex(bytes: Uint8Array): string {
  return [...bytes].map((b) => b.toString(16).padStart(2, '0')).join('');
}
