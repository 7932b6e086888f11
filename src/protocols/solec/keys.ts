/**
 * Server keys for SOLEC's signed ServerAuth profile (ours, spec.md §5.2): Ed25519 keys derived
 * from the run seed and the server's name, and the challenge text a server signs.
 *
 * Must not draw randomness from anywhere but `streamFor(seed, 'solec-key:<name>')`, so that the
 * protocol descriptor's `dnsRecords` hook and every node derive the same public keys before the run.
 */
import { concatBytes } from '../../core/bytes.js';
import { ed25519PublicKey, ed25519Sign, ed25519Verify } from '../../core/ed25519.js';
import { streamFor } from '../../core/prng.js';

export interface ServerKeys {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** The stream label of a server's key material. */
export function keyLabel(name: string): string {
  return `solec-key:${name}`;
}

/**
 * Key pairs already derived. Deriving one (a scalar multiplication) is the costliest thing a
 * federation's setup does: every server derives the keys of every server it knows, and so does the
 * `dnsRecords` hook. The pair is a pure function of (seed, name), so remembering it changes nothing
 * a run can see. Bounded so that a long process running many seeds does not grow without limit.
 */
const derived = new Map<string, ServerKeys>();
/** One entry per server of the largest federation the benchmarks build, with room to spare. */
const derivedKeysMax = 100_000;

/** The Ed25519 key pair of server `name` in the run with `seed`. Callers must not modify the bytes. */
export function serverKeys(seed: number, name: string): ServerKeys {
  const key = `${seed}/${name}`;
  const known = derived.get(key);
  if (known) return known;
  const secretKey = streamFor(seed, keyLabel(name)).bytes(32);
  const pair = { secretKey, publicKey: ed25519PublicKey(secretKey) };
  if (derived.size >= derivedKeysMax) derived.clear();
  derived.set(key, pair);
  return pair;
}

/** Bytes of the nonce a verifying server sends in a Challenge. */
export const nonceBytes = 32;

const encoder = new TextEncoder();

/**
 * What the connecting server signs: a context string, the nonce, its own claimed name and the
 * verifier's name. The verifier's name keeps a signature made for one server useless at another.
 */
export function challengeText(nonce: Uint8Array, claimedName: string, verifierName: string): Uint8Array {
  return concatBytes(encoder.encode('solec-serverauth-v1\0'), nonce, encoder.encode(`${claimedName}\0${verifierName}`));
}

/** noble's signature, byte for byte, made through OpenSSL (core/ed25519.ts). */
export function signChallenge(secretKey: Uint8Array, text: Uint8Array): Uint8Array {
  return ed25519Sign(text, secretKey);
}

/** True only for a valid signature; malformed signatures or keys (peer input) give false, never a throw. */
export function verifyChallenge(publicKey: Uint8Array, text: Uint8Array, signature: Uint8Array): boolean {
  return signature.length === 64 && ed25519Verify(signature, text, publicKey);
}
