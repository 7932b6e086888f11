/** Byte helpers shared by the protocols' codecs, the conformance peers and the nodes. Pure. */

/** No bytes: what a codec's buffer holds with nothing pending. Shared, and never written to: it has no room. */
export const noBytes: Uint8Array = new Uint8Array(0);

/** A new array holding `parts` back to back (a fresh copy even of a single part). */
export function concatBytes(...parts: readonly Uint8Array[]): Uint8Array {
  let length = 0;
  for (const part of parts) length += part.length;
  const joined = new Uint8Array(length);
  let at = 0;
  for (const part of parts) {
    joined.set(part, at);
    at += part.length;
  }
  return joined;
}

/**
 * The UTF-8 bytes of `text`, exactly as `TextEncoder.encode` gives them (a lone surrogate becomes
 * U+FFFD), about 2.5 times faster for short text on Node 20: `Buffer.from` carves small results
 * out of a shared pool, where every `new Uint8Array` over 64 bytes allocates its own backing store
 * (about 0.7 µs each here). The result is a plain `Uint8Array` view (its `slice` copies), but it may
 * share its `ArrayBuffer` with other bytes: read `.buffer` only with `byteOffset` and `byteLength`.
 */
export function utf8Bytes(text: string): Uint8Array {
  const pooled = Buffer.from(text, 'utf8');
  return new Uint8Array(pooled.buffer, pooled.byteOffset, pooled.byteLength);
}
