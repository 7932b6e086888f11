// Goal: core/ed25519.ts answers exactly as noble's ed25519 does (public keys, signatures, verdicts),
// though it asks OpenSSL where that is sooner, and whether or not its key cache already holds a key.
// Method: fast-check (fixed seed) over secret keys, messages and one-byte changes to a signature or
// key, against noble; the RFC 8032 test vector; keys of the wrong length. The torsion and
// non-canonical cases where OpenSSL and noble differ are in test/protocols/fmtp/keys.test.ts.
import { ed25519 } from '@noble/curves/ed25519.js';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ed25519PublicKey, ed25519Sign, ed25519Verify } from '../../src/core/ed25519.js';

const secret = fc.uint8Array({ minLength: 32, maxLength: 32 });
const hex = (bytes: Uint8Array) => Buffer.from(bytes).toString('hex');

function nobleVerdict(signature: Uint8Array, message: Uint8Array, publicKey: Uint8Array): boolean {
  try {
    return ed25519.verify(signature, message, publicKey);
  } catch {
    return false;
  }
}

describe('Ed25519 through OpenSSL, as noble computes it', () => {
  it('derives the RFC 8032 test vector and noble public keys, first time and cached', () => {
    const vector = Buffer.from('9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60', 'hex');
    expect(hex(ed25519PublicKey(vector))).toBe('d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a');
    fc.assert(
      fc.property(secret, (secretKey) => {
        const expected = hex(ed25519.getPublicKey(secretKey));
        expect(hex(ed25519PublicKey(secretKey))).toBe(expected);
        expect(hex(ed25519PublicKey(secretKey.slice()))).toBe(expected);
      }),
      { seed: 20261206, numRuns: 80 },
    );
  });

  it('signs as noble does, and verifies as noble does for good signatures and one-byte changes', () => {
    fc.assert(
      fc.property(
        secret,
        fc.uint8Array({ maxLength: 60 }),
        fc.integer({ min: 0, max: 95 }),
        fc.integer({ min: 1, max: 255 }),
        (secretKey, message, at, flip) => {
          const signature = ed25519Sign(message, secretKey);
          expect(hex(signature)).toBe(hex(ed25519.sign(message, secretKey)));
          const publicKey = ed25519.getPublicKey(secretKey);
          expect(ed25519Verify(signature, message, publicKey)).toBe(true);
          const changed = new Uint8Array([...signature, ...publicKey]);
          changed[at] = (changed[at] as number) ^ flip;
          const [badSignature, badKey] = [changed.subarray(0, 64), changed.slice(64)];
          expect(ed25519Verify(badSignature, message, badKey)).toBe(nobleVerdict(badSignature, message, badKey));
        },
      ),
      { seed: 20261206, numRuns: 80 },
    );
  });

  it('answers from its caches as noble does: a signature made here, under other keys and messages, asked twice', () => {
    fc.assert(
      fc.property(
        secret,
        secret,
        fc.uint8Array({ maxLength: 40 }),
        fc.uint8Array({ maxLength: 40 }),
        (a, b, m1, m2) => {
          const signature = ed25519Sign(m1, a);
          const [publicA, publicB] = [ed25519PublicKey(a), ed25519PublicKey(b)];
          for (let round = 0; round < 2; round++) {
            expect(ed25519Verify(signature, m1, publicA)).toBe(true);
            expect(ed25519Verify(signature, m1, publicB)).toBe(nobleVerdict(signature, m1, publicB));
            expect(ed25519Verify(signature, m2, publicA)).toBe(nobleVerdict(signature, m2, publicA));
            // The message's bytes run on into the key's place in no cache key: a shorter key, a longer message.
            const shifted = new Uint8Array([...m1.subarray(1), 0]);
            expect(ed25519Verify(signature, shifted, publicA)).toBe(nobleVerdict(signature, shifted, publicA));
          }
        },
      ),
      { seed: 20261207, numRuns: 40 },
    );
  });

  it('gives out copies: changing returned bytes changes no later answer', () => {
    const secretKey = new Uint8Array(32).fill(9);
    const message = new Uint8Array([1, 2, 3]);
    const signature = ed25519Sign(message, secretKey);
    const publicKey = ed25519PublicKey(secretKey);
    const [signatureHex, publicHex] = [hex(signature), hex(publicKey)];
    signature[0] = (signature[0] as number) ^ 1;
    publicKey[0] = (publicKey[0] as number) ^ 1;
    expect(hex(ed25519Sign(message, secretKey))).toBe(signatureHex);
    expect(hex(ed25519PublicKey(secretKey))).toBe(publicHex);
    expect(ed25519Verify(signature, message, ed25519PublicKey(secretKey))).toBe(false);
    expect(ed25519Verify(ed25519Sign(message, secretKey), message, ed25519PublicKey(secretKey))).toBe(true);
  });

  it('refuses keys and signatures of the wrong length as noble does, without throwing on verify', () => {
    expect(() => ed25519PublicKey(new Uint8Array(31))).toThrow();
    expect(() => ed25519Sign(new Uint8Array(3), new Uint8Array(33))).toThrow();
    const secretKey = new Uint8Array(32).fill(7);
    const signature = ed25519Sign(new Uint8Array(3), secretKey);
    expect(ed25519Verify(signature.subarray(0, 63), new Uint8Array(3), ed25519PublicKey(secretKey))).toBe(false);
    expect(ed25519Verify(signature, new Uint8Array(3), new Uint8Array(31))).toBe(false);
  });
});
