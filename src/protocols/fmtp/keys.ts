/**
 * FMTP keys and hashes (ours: the seed says only "here's my hash" and "fmtpkey.<domain>").
 * Each node has an Ed25519 key pair whose secret comes from the run's seeded stream
 * `fmtp-key:<node id>`, so the protocol descriptor can publish the same public key in DNS before
 * the run. The "hash" of a greeting is an Ed25519 signature over a fixed text (spec.md §4).
 *
 * Pure and deterministic (Ed25519 signing is deterministic); never throws on peer input: a
 * malformed key or signature simply does not verify.
 */
import { ed25519PublicKey, ed25519Sign, ed25519Verify } from '../../core/ed25519.js';
import { streamFor } from '../../core/prng.js';

/** The label of a node's key stream: `fmtp-key:<node id>`. */
export function keyLabel(nodeId: string): string {
  return `fmtp-key:${nodeId}`;
}

const secretKeys = new Map<string, Uint8Array>();

/**
 * A node's secret key in the run with `seed`. Remembered (a pure function of both): the DNS records
 * and the node itself each ask for it, and seeding its stream is most of the cost. Each caller
 * gets its own copy.
 */
export function secretKeyFor(seed: number, nodeId: string): Uint8Array {
  const id = `${seed}/${nodeId}`;
  let secret = secretKeys.get(id);
  if (secret === undefined) {
    secret = streamFor(seed, keyLabel(nodeId)).bytes(32);
    if (secretKeys.size >= 4096) secretKeys.clear();
    secretKeys.set(id, secret);
  }
  return secret.slice();
}

export function publicKeyOf(secretKey: Uint8Array): Uint8Array {
  return ed25519PublicKey(secretKey);
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

/**
 * Ed25519 signing is deterministic (RFC 8032 §5.1.6): the bytes are noble's, made through OpenSSL
 * (core/ed25519.ts; test/protocols/fmtp/keys.test.ts compares them).
 */
export function sign(text: string, secretKey: Uint8Array): string {
  return toBase64(ed25519Sign(new TextEncoder().encode(text), secretKey));
}

/** True when `hash` is a valid signature of `text` by any of `publicKeys` (base64). */
export function verifyByAny(text: string, hash: string, publicKeys: readonly string[]): boolean {
  const signature = fromBase64(hash);
  if (!signature || signature.length !== 64) return false;
  const message = new TextEncoder().encode(text);
  return publicKeys.some((key) => {
    const publicKey = fromBase64(key);
    if (!publicKey || publicKey.length !== 32) return false;
    return ed25519Verify(signature, message, publicKey);
  });
}

/** Lowercase hex, for nonces drawn from the host's stream. */
export function toHex(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
}
