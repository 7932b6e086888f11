/**
 * Ed25519 (RFC 8032) as noble's `ed25519` computes it, answered by OpenSSL through `node:crypto`
 * wherever that gives the same bytes and the same verdicts, which is about ten times sooner. FMTP's
 * greeting hashes and SOLEC's ServerAuth signatures use it: a fuzz case derives every node's key
 * pair from its seed and signs and checks each connection's greetings, and noble's pure JavaScript
 * arithmetic was a third of an FMTP case.
 *
 * - A public key: Node imports a private JWK from `d` alone (it checks only that `x` is a string,
 *   `getKeyObjectHandleFromJwk` in Node 20 and 22) and OpenSSL derives the public half, which
 *   the key object exports. Importing the same key as PKCS #8 DER goes through OpenSSL 3's decoder
 *   and costs about as much as noble's scalar multiplication. Checked once against RFC 8032's first
 *   test vector: if a Node version ever reads `x`, noble answers instead.
 * - A signature: Ed25519 signing is deterministic (RFC 8032 §5.1.6), so OpenSSL's bytes are noble's.
 * - A verdict: OpenSSL's when it accepts (then noble accepts as well); noble's otherwise, as noble
 *   accepts some signatures OpenSSL refuses (ZIP-215 decoding, a torsion component in R).
 *
 * Key objects are remembered by their bytes, a bounded number of them: a run signs many times with
 * few keys. So are answers, since each is a pure function of its arguments:
 * - a secret key's public key (a fuzz case asks for every node's more than once: its DNS record,
 *   its own use);
 * - a signature, by secret key and message (a fuzz run judged twice signs the same greetings again);
 * - a verdict, by signature, message and public key. A signature made here is entered as accepted
 *   under its signer's public key when it is made: a valid Ed25519 signature verifies (RFC 8032
 *   §5.1.7, and noble's ZIP-215 rules accept every signature RFC 8032's signing makes), so the
 *   peer that checks a greeting this process signed gets its answer without a scalar
 *   multiplication. Any other signature, message or key (a damaged greeting) is checked in full.
 *
 * Pure and deterministic; never throws on malformed keys or signatures (peer input).
 */
import { ed25519 } from '@noble/curves/ed25519.js';
import {
  createPrivateKey,
  createPublicKey,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
} from 'node:crypto';

/** Key objects kept per kind before the cache starts again (a few federations' worth of keys). */
const keysKept = 4096;

/** Answers kept per kind (signatures, verdicts) before the cache starts again: about 1 MB. */
const answersKept = 4096;

const privateKeys = new Map<string, KeyObject | undefined>();
const publicKeys = new Map<string, KeyObject | undefined>();
/** Public keys by secret key (latin1 of the 32 bytes). */
const derivedPublic = new Map<string, Uint8Array>();
/** Signatures by secret key and message (latin1 of the bytes, secret first). */
const signatures = new Map<string, Uint8Array>();
/** Verdicts by signature (64 bytes), public key (32) and message, in latin1 and in that order. */
const verdicts = new Map<string, boolean>();

/** The bytes as a string of one char per byte: a cache key made without an encoding pass. */
function latin1(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('latin1');
}

function remember<T>(cache: Map<string, T>, key: string, value: T, kept = keysKept): T {
  if (cache.size >= kept) cache.clear();
  cache.set(key, value);
  return value;
}

/** The `x` a private JWK must carry as a string; Node derives the real one from `d`. */
const placeholderX = Buffer.alloc(32).toString('base64url');

function importPrivate(secretKey: Uint8Array): KeyObject | undefined {
  const d = Buffer.from(secretKey.buffer, secretKey.byteOffset, secretKey.byteLength).toString('base64url');
  try {
    return createPrivateKey({ key: { kty: 'OKP', crv: 'Ed25519', d, x: placeholderX }, format: 'jwk' });
  } catch {
    return undefined;
  }
}

/** RFC 8032 §7.1, test 1: the secret key and its public key. */
const vectorSecret = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex');
const vectorPublic = 'd75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a';

/** Whether this Node derives the public key from `d` (see above); decided once, when first needed. */
let jwkDerives: boolean | undefined;

function privateKeyObject(secretKey: Uint8Array): KeyObject | undefined {
  if (secretKey.length !== 32) return undefined;
  jwkDerives ??= publicOf(importPrivate(vectorSecret))?.toString('hex') === vectorPublic;
  if (!jwkDerives) return undefined;
  const id = Buffer.from(secretKey.buffer, secretKey.byteOffset, secretKey.byteLength).toString('base64');
  if (privateKeys.has(id)) return privateKeys.get(id);
  return remember(privateKeys, id, importPrivate(secretKey));
}

function publicOf(key: KeyObject | undefined): Buffer | undefined {
  const x = key?.export({ format: 'jwk' }).x;
  return x === undefined ? undefined : Buffer.from(x, 'base64url');
}

function publicKeyObject(publicKey: Uint8Array): KeyObject | undefined {
  const x = Buffer.from(publicKey.buffer, publicKey.byteOffset, publicKey.byteLength).toString('base64url');
  if (publicKeys.has(x)) return publicKeys.get(x);
  let key: KeyObject | undefined;
  try {
    key = createPublicKey({ key: { kty: 'OKP', crv: 'Ed25519', x }, format: 'jwk' });
  } catch {
    key = undefined;
  }
  return remember(publicKeys, x, key);
}

/** The public key of a secret key, remembered: the cached bytes, which must not be given out. */
function publicKeyFor(secretKey: Uint8Array): Uint8Array {
  const id = latin1(secretKey);
  const known = derivedPublic.get(id);
  if (known !== undefined) return known;
  const derived = publicOf(privateKeyObject(secretKey));
  return remember(derivedPublic, id, derived === undefined ? ed25519.getPublicKey(secretKey) : new Uint8Array(derived));
}

/** The public key of a 32-byte secret key (noble's `getPublicKey`). Throws on another length, as noble does. */
export function ed25519PublicKey(secretKey: Uint8Array): Uint8Array {
  return publicKeyFor(secretKey).slice();
}

/** The signature of `message` by `secretKey` (noble's `sign`, byte for byte). */
export function ed25519Sign(message: Uint8Array, secretKey: Uint8Array): Uint8Array {
  // noble throws on a secret key of another length (and its bytes would make the key ambiguous).
  if (secretKey.length !== 32) return ed25519.sign(message, secretKey);
  const messageId = latin1(message);
  const id = `${latin1(secretKey)}${messageId}`;
  const known = signatures.get(id);
  if (known !== undefined) return known.slice();
  const key = privateKeyObject(secretKey);
  const signature =
    key === undefined ? ed25519.sign(message, secretKey) : new Uint8Array(cryptoSign(null, message, key));
  remember(signatures, id, signature.slice(), answersKept);
  // Accepted under its signer's key, as a verify would find (see the header).
  remember(verdicts, `${latin1(signature)}${latin1(publicKeyFor(secretKey))}${messageId}`, true, answersKept);
  return signature;
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
 * torsion component in R, a non-canonical encoding), so `ed25519Verify` asks noble then.
 */
function opensslAccepts(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (signature.length !== 64 || publicKey.length !== 32 || !scalarCanonical(signature)) return false;
  const key = publicKeyObject(publicKey);
  if (key === undefined) return false;
  try {
    return cryptoVerify(null, message, key, signature);
  } catch {
    return false;
  }
}

/** Exactly noble's `ed25519.verify` (ZIP-215), false where noble throws (a point not on the curve). */
export function ed25519Verify(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  // Lengths other than 64 and 32 never verify, and would make the key ambiguous.
  if (signature.length !== 64 || publicKey.length !== 32) return verdictOf(signature, message, publicKey);
  const id = `${latin1(signature)}${latin1(publicKey)}${latin1(message)}`;
  const known = verdicts.get(id);
  if (known !== undefined) return known;
  return remember(verdicts, id, verdictOf(signature, message, publicKey), answersKept);
}

function verdictOf(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  if (opensslAccepts(signature, message, publicKey)) return true;
  try {
    return ed25519.verify(signature, message, publicKey);
  } catch {
    return false;
  }
}
