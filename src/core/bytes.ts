/** Byte helpers shared by the protocols' codecs, the conformance peers and the nodes. Pure. */

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
