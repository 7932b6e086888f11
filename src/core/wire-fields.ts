/**
 * Structure-aware corruption: a segment's named fields, as its protocol's wire format lays them
 * out (`Protocol.wireFields`, from each protocol's wire.ts), and the edits an aimed `corrupt`
 * makes to one of them (`field`, `op`). The segment stays well framed apart from that field, so
 * a wrong length, type, id or counter reaches the code that reads it, where a random byte flip
 * mostly breaks the framing first.
 *
 * Pure: an edit is decided by the field and the operation alone.
 */

/** One field of a segment: its bytes, and how they read (a big- or little-endian number, or text). */
export interface WireField {
  readonly name: string;
  readonly offset: number;
  readonly size: number;
  readonly kind: 'uintBE' | 'uintLE' | 'digits' | 'text';
}

/**
 * What an edit does: a number one more or one less, zero or its largest value; text with its
 * last character replaced by a punctuation mark (`+`, `-`, `!`, `~`), the same length.
 */
export type FieldOp = 'inc' | 'dec' | 'zero' | 'max';
export const fieldOps: readonly FieldOp[] = ['inc', 'dec', 'zero', 'max'];

function readUint(bytes: Uint8Array, field: WireField): bigint {
  let value = 0n;
  for (let i = 0; i < field.size; i += 1) {
    const at = field.kind === 'uintLE' ? field.offset + field.size - 1 - i : field.offset + i;
    value = (value << 8n) | BigInt(bytes[at] ?? 0);
  }
  return value;
}

function writeUint(bytes: Uint8Array, field: WireField, value: bigint): void {
  let rest = value;
  for (let i = field.size - 1; i >= 0; i -= 1) {
    const at = field.kind === 'uintLE' ? field.offset + field.size - 1 - i : field.offset + i;
    bytes[at] = Number(rest & 0xffn);
    rest >>= 8n;
  }
}

/** `bytes` with `field` edited by `op` (a new array; the lengths differ only for `digits`). */
export function editField(bytes: Uint8Array, field: WireField, op: FieldOp): Uint8Array {
  const end = field.offset + field.size;
  if (field.kind === 'uintBE' || field.kind === 'uintLE') {
    const out = bytes.slice();
    const max = (1n << BigInt(8 * field.size)) - 1n;
    const value = readUint(bytes, field);
    const next = op === 'inc' ? (value + 1n) & max : op === 'dec' ? (value - 1n) & max : op === 'zero' ? 0n : max;
    writeUint(out, field, next);
    return out;
  }
  if (field.kind === 'digits') {
    const text = new TextDecoder().decode(bytes.subarray(field.offset, end));
    const value = BigInt(/^[0-9]+$/.test(text) ? text : '0');
    const next =
      op === 'inc' ? value + 1n : op === 'dec' ? (value > 0n ? value - 1n : 1n) : op === 'zero' ? 0n : 4294967295n;
    const digits = new TextEncoder().encode(next.toString());
    const out = new Uint8Array(bytes.length - field.size + digits.length);
    out.set(bytes.subarray(0, field.offset), 0);
    out.set(digits, field.offset);
    out.set(bytes.subarray(end), field.offset + digits.length);
    return out;
  }
  // Text: its last byte replaced by a punctuation mark (one per operation; any other one if it
  // already was that), so it stays the same length and valid in the text protocols' syntax (XML,
  // JSON, forms, FMTP lines) but names something no honest peer generated (an id made of letters
  // and digits never collides with it).
  const out = bytes.slice();
  if (field.size === 0) return out;
  const at = end - 1;
  const marks = { inc: 0x2b, dec: 0x2d, zero: 0x21, max: 0x7e } as const;
  const mark = marks[op];
  out[at] = out[at] === mark ? 0x2e : mark;
  return out;
}

/** A field a text protocol's bytes show by a pattern: its first capture group is the field. */
export interface TextFieldPattern {
  readonly name: string;
  /** Global, with one capture group (the field's bytes). */
  readonly pattern: RegExp;
  readonly kind: 'digits' | 'text';
}

/**
 * The fields `patterns` find in `bytes[from..to)` read as Latin-1 (one character per byte, so an
 * index is a byte offset), in order of offset.
 */
export function textFields(
  bytes: Uint8Array,
  patterns: readonly TextFieldPattern[],
  from = 0,
  to = bytes.length,
): WireField[] {
  const text = Buffer.from(bytes.buffer, bytes.byteOffset + from, Math.max(0, to - from)).toString('latin1');
  const fields: WireField[] = [];
  for (const { name, pattern, kind } of patterns) {
    for (const match of text.matchAll(pattern)) {
      const value = match[1];
      if (value === undefined || match.index === undefined) continue;
      const offset = from + match.index + match[0].indexOf(value);
      fields.push({ name, offset, size: value.length, kind });
    }
  }
  return fields.sort((a, b) => a.offset - b.offset);
}
