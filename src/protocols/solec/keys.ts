/**
 * Server keys for SOLEC's signed ServerAuth profile (ours, spec.md §5.2): Ed25519 keys derived
 * from the run seed and the server's name, and the challenge text a server signs.
 *
 * Must not draw randomness from anywhere but `streamFor(seed, 'solec-key:<name>')`, so that the
 * protocol descriptor's `dnsRecords` hook and every node derive the same public keys before the run.
 */
import { concatBytes } from '../../core/bytes.js';
import { ed25519PublicKey, ed25519Sign, ed25519Verify } from '../../core/ed25519.js';
import { streamFor, type Prng } from '../../core/prng.js';
import { toHex } from './wire.js';

export interface ServerKeys {
  readonly secretKey: Uint8Array;
  readonly publicKey: Uint8Array;
}

/** The stream label of a server's key material. */
export function keyLabel(name: string): string {
  return `solec-key:${name}`;
}

/**
 * A server's key pair: the secret key drawn from its stream when first read, the public key
 * derived when first read. Deriving one (a scalar multiplication) is the costliest thing a
 * federation's setup does, and most runs never read most public keys: under the seed profile no
 * signature is checked, and the `dnsRecords` hook's TXT record is read only by a node that asks
 * for it (fuzz cases have a new seed, so new keys, every case). The secret's stream is seeded only
 * then too (0.8% of a SOLEC fuzz case drew secrets that most cases never read). What is read is
 * the same bytes, whenever it is read: the stream is the pair's own.
 */
class DerivedKeys implements ServerKeys {
  private secret: Uint8Array | undefined;
  private derived: Uint8Array | undefined;
  constructor(private readonly stream: Prng) {}
  get secretKey(): Uint8Array {
    this.secret ??= this.stream.bytes(32);
    return this.secret;
  }
  get publicKey(): Uint8Array {
    this.derived ??= ed25519PublicKey(this.secretKey);
    return this.derived;
  }
}

/**
 * Key pairs already drawn: every server draws the keys of every server it knows, and so does the
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
  const pair = new DerivedKeys(streamFor(seed, keyLabel(name)));
  if (derived.size >= derivedKeysMax) derived.clear();
  derived.set(key, pair);
  return pair;
}

/**
 * A server's known public keys list (spec.md §5.2): the servers it accepts in ServerAuth and relays
 * to, each with the key it checks a Proof against, in hex: the configured one, else the one the
 * `dnsRecords` hook publishes, derived only when a Proof is checked (see `DerivedKeys`).
 */
export class KnownKeys {
  /** Server name -> configured key (lowercase hex), or undefined for the published one. */
  private readonly keys = new Map<string, string | undefined>();

  constructor(
    private readonly seed: number,
    servers: readonly { readonly name: string; readonly publicKey?: string | undefined }[],
  ) {
    // The list was a plain object filled by assignment, where `__proto__` named no entry (the
    // assignment set the prototype, and a string is ignored there): it still names none.
    for (const known of servers)
      if (known.name !== '__proto__') this.keys.set(known.name, known.publicKey?.toLowerCase());
  }

  has(name: string): boolean {
    return this.keys.has(name);
  }

  /** The hex public key of a known server; undefined for one not on the list. */
  hexOf(name: string): string | undefined {
    if (!this.keys.has(name)) return undefined;
    return this.keys.get(name) ?? toHex(serverKeys(this.seed, name).publicKey);
  }
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
