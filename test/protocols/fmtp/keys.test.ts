// Goal: FMTP's greeting hashes are made and checked through `node:crypto` where that is sooner,
// and must stay exactly noble's: the same signature bytes, and the same verdict for any signature,
// key and text, including the ones OpenSSL and noble judge differently (a torsion component in R,
// a non-canonical key encoding, S not below the group order), where noble's verdict must win.
// Method: fast-check (fixed seed) over secret keys, texts and one-byte changes to a signature or a
// key, against noble's sign and verify; hand-made signatures for the cases where the two differ.
import { createHash } from 'node:crypto';
import { ed25519 } from '@noble/curves/ed25519.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { streamFor } from '../../../src/core/prng.js';
import { secretKeyFor, sign, toBase64, toHex, verifyByAny } from '../../../src/protocols/fmtp/keys.js';

const groupOrder = 2n ** 252n + 27742317777372353535851937790883648493n;
const fieldPrime = 2n ** 255n - 19n;

function littleEndian(value: bigint): Uint8Array {
  const bytes = new Uint8Array(32);
  for (let i = 0; i < 32; i++) bytes[i] = Number((value >> BigInt(8 * i)) & 0xffn);
  return bytes;
}

function scalarOf(bytes: Uint8Array): bigint {
  return BigInt(`0x${Buffer.from(bytes).reverse().toString('hex')}`) % groupOrder;
}

/** k = SHA-512(R || A || M) mod L, from the bytes as given. */
function challenge(r: Uint8Array, publicKey: Uint8Array, message: Uint8Array): bigint {
  return scalarOf(createHash('sha512').update(r).update(publicKey).update(message).digest());
}

/** A signature of `message` under the secret scalar `a` (public key bytes `publicKey`) with R = [r]B + T. */
function signWith(a: bigint, publicKey: Uint8Array, message: Uint8Array, r: bigint, torsion = ed25519.Point.ZERO) {
  const rBytes = ed25519.Point.BASE.multiply(r).add(torsion).toBytes();
  const s = (r + challenge(rBytes, publicKey, message) * a) % groupOrder;
  return { r: rBytes, s };
}

function signature(r: Uint8Array, s: bigint): string {
  const bytes = new Uint8Array(64);
  bytes.set(r, 0);
  bytes.set(littleEndian(s), 32);
  return toBase64(bytes);
}

function nobleVerdict(text: string, hash: string, publicKey: Uint8Array): boolean {
  try {
    return ed25519.verify(Buffer.from(hash, 'base64'), new TextEncoder().encode(text), publicKey);
  } catch {
    return false;
  }
}

const secret = fc.uint8Array({ minLength: 32, maxLength: 32 });

describe('FMTP greeting hashes', () => {
  it('signs exactly as noble does', () => {
    fc.assert(
      fc.property(secret, fc.string({ maxLength: 80 }), (secretKey, text) => {
        expect(sign(text, secretKey)).toBe(toBase64(ed25519.sign(new TextEncoder().encode(text), secretKey)));
      }),
      { seed: 20261123, numRuns: 60 },
    );
  });

  it('verifies exactly as noble does, for good signatures and one-byte changes to them or the key', () => {
    fc.assert(
      fc.property(
        secret,
        fc.string({ maxLength: 40 }),
        fc.integer({ min: 0, max: 95 }),
        fc.integer({ min: 1, max: 255 }),
        (secretKey, text, at, flip) => {
          const publicKey = ed25519.getPublicKey(secretKey);
          const hash = sign(text, secretKey);
          expect(verifyByAny(text, hash, [toBase64(publicKey)])).toBe(true);
          const changed = new Uint8Array([...Buffer.from(hash, 'base64'), ...publicKey]);
          changed[at] = (changed[at] as number) ^ flip;
          const badHash = toBase64(changed.subarray(0, 64));
          const badKey = changed.slice(64);
          expect(verifyByAny(text, badHash, [toBase64(badKey)])).toBe(nobleVerdict(text, badHash, badKey));
        },
      ),
      { seed: 20261123, numRuns: 60 },
    );
  });

  it("keeps noble's verdict where OpenSSL's differs", () => {
    const message = new TextEncoder().encode('FMTP-HELLO\na.test\nb.test\n00');
    const a = 0x1234567890abcdefn;
    const publicKey = ed25519.Point.BASE.multiply(a).toBytes();
    const key = toBase64(publicKey);
    const r = 0xfedcba987654321n;

    // R with a component of order 8: noble's cofactored check accepts it, OpenSSL's does not.
    const torsion = ed25519.Point.fromHex('c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a');
    expect(torsion.isSmallOrder() && !torsion.is0()).toBe(true);
    const twisted = signWith(a, publicKey, message, r, torsion);
    const twistedHash = signature(twisted.r, twisted.s);
    expect(nobleVerdict('FMTP-HELLO\na.test\nb.test\n00', twistedHash, publicKey)).toBe(true);
    expect(verifyByAny('FMTP-HELLO\na.test\nb.test\n00', twistedHash, [key])).toBe(true);

    // The identity as a key, its y written as p + 1 (non-canonical; ZIP-215 reads it): S = r signs.
    const identityKey = littleEndian(fieldPrime + 1n);
    const plain = signWith(0n, identityKey, message, r);
    const plainHash = signature(plain.r, plain.s);
    expect(nobleVerdict('FMTP-HELLO\na.test\nb.test\n00', plainHash, identityKey)).toBe(true);
    expect(verifyByAny('FMTP-HELLO\na.test\nb.test\n00', plainHash, [toBase64(identityKey)])).toBe(true);

    // S + L instead of S: the same point, but both refuse an S that is not below L.
    const good = signWith(a, publicKey, message, r);
    const wideHash = signature(good.r, good.s + groupOrder);
    expect(verifyByAny('FMTP-HELLO\na.test\nb.test\n00', signature(good.r, good.s), [key])).toBe(true);
    expect(nobleVerdict('FMTP-HELLO\na.test\nb.test\n00', wideHash, publicKey)).toBe(false);
    expect(verifyByAny('FMTP-HELLO\na.test\nb.test\n00', wideHash, [key])).toBe(false);
  });
});

describe('fmtp: key material', () => {
  it("a node's secret key is its stream's first 32 bytes, the same when asked again, each caller with its own copy", () => {
    for (const [seed, node] of [
      [1, 'a.test'],
      [2, 'a.test'],
      [1, 'b.test'],
    ] as const) {
      const expected = toHex(streamFor(seed, `fmtp-key:${node}`).bytes(32));
      const first = secretKeyFor(seed, node);
      expect(toHex(first)).toBe(expected);
      first.fill(0);
      expect(toHex(secretKeyFor(seed, node))).toBe(expected);
    }
  });

  it('writes hex as two lowercase digits a byte, from a view into a larger buffer too', () => {
    const bytes = new Uint8Array([0, 1, 15, 16, 171, 255, 9]);
    expect(toHex(bytes)).toBe('00010f10abff09');
    expect(toHex(bytes.subarray(2, 5))).toBe('0f10ab');
  });
});
