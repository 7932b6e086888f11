/**
 * Aimed corruption: a `corrupt` or `truncate` fault that says which segment it damages and how,
 * instead of leaving the byte to the seed. A scenario whose point is "this field arrives damaged"
 * then makes that point on every seed.
 *
 * The fault stays armed on its link until a segment (or datagram) passes that it applies to:
 * - `match`: a pattern over the segment's payload as the trace shows it (`size`, `decoded`),
 *   matched as event patterns are (fields equal, nested objects as subsets);
 * - `contains`: text that must occur in the segment's bytes (UTF-8);
 * - and the damage must be possible: `find` occurs, `offset` is inside, the segment is longer
 *   than `keepBytes`.
 * Segments it does not apply to pass unharmed. The damage is one of:
 * - corrupt `find` -> `replace`: the first occurrence of one text replaced by another (a named
 *   field or value of a text protocol; the lengths may differ);
 * - corrupt `offset` (+ `xor`, default 0xff): one byte flipped, counted from the segment's start,
 *   or with `find` from where that text starts (a byte inside a named field);
 * - truncate `keepBytes`: only the first N bytes are sent;
 * - corrupt `field` (+ `op`, default `inc`): one named field of the segment, as its protocol's
 *   wire format lays it out (`Protocol.wireFields`), edited (src/core/wire-fields.ts): a length, type, id
 *   or counter made wrong while the rest still frames; it applies only to a segment that has it.
 *
 * Pure: no randomness at all, so an aimed fault damages the same bytes on every seed.
 */
import { subsetMatches } from '../core/subset.js';
import { editField, type FieldOp, type WireField } from '../core/wire-fields.js';

export interface AimedFault {
  readonly mode: 'corrupt' | 'truncate';
  readonly match?: Readonly<Record<string, unknown>>;
  readonly contains?: string;
  readonly find?: string;
  readonly replace?: string;
  readonly offset?: number;
  readonly xor?: number;
  readonly keepBytes?: number;
  readonly field?: string;
  readonly op?: FieldOp;
}

/** The first field of `fields` named `name`. */
function fieldNamed(fields: readonly WireField[], name: string): WireField | undefined {
  return fields.find((field) => field.name === name);
}

function indexOf(haystack: Uint8Array, text: string): number {
  return Buffer.from(haystack.buffer, haystack.byteOffset, haystack.byteLength).indexOf(text, 0, 'utf8');
}

/** The byte an `offset` fault flips: from the segment's start, or from `find`'s. */
function flipAt(fault: AimedFault, bytes: Uint8Array): number {
  return (fault.find === undefined ? 0 : indexOf(bytes, fault.find)) + (fault.offset ?? 0);
}

/** The fault's aim, for the trace's `fault begin` event. */
export function aimDetail(fault: AimedFault): Record<string, unknown> {
  const { mode: _mode, ...aim } = fault;
  return aim;
}

/** True when `fault` applies to a segment of `bytes` (whose decoding `describe` works out on demand). */
export function aimedApplies(
  fault: AimedFault,
  bytes: Uint8Array,
  describe: () => unknown,
  fields: () => readonly WireField[] = () => [],
): boolean {
  if (bytes.length === 0) return false;
  if (fault.field !== undefined && fieldNamed(fields(), fault.field) === undefined) return false;
  if (fault.contains !== undefined && indexOf(bytes, fault.contains) < 0) return false;
  if (fault.find !== undefined && indexOf(bytes, fault.find) < 0) return false;
  if (fault.offset !== undefined && flipAt(fault, bytes) >= bytes.length) return false;
  if (fault.keepBytes !== undefined && fault.keepBytes >= bytes.length) return false;
  if (fault.match !== undefined) {
    const decoded = 'decoded' in fault.match ? describe() : undefined;
    if (!subsetMatches({ size: bytes.length, decoded }, fault.match)) return false;
  }
  return true;
}

/** Damages `bytes` as `fault` says (call only when `aimedApplies`); returns the bytes sent and the trace detail. */
export function applyAimed(
  fault: AimedFault,
  bytes: Uint8Array,
  fields: () => readonly WireField[] = () => [],
): { readonly bytes: Uint8Array; readonly detail: Record<string, unknown> } {
  const named = fault.field === undefined ? undefined : fieldNamed(fields(), fault.field);
  if (named !== undefined) {
    const op = fault.op ?? 'inc';
    return { bytes: editField(bytes, named, op), detail: { field: named.name, op, offset: named.offset } };
  }
  if (fault.mode === 'truncate') {
    const keptBytes = fault.keepBytes ?? bytes.length >> 1;
    return { bytes: bytes.slice(0, keptBytes), detail: { keptBytes, ofBytes: bytes.length } };
  }
  if (fault.find !== undefined && fault.offset === undefined) {
    const find = Buffer.from(fault.find, 'utf8');
    const replace = Buffer.from(fault.replace ?? '', 'utf8');
    const at = indexOf(bytes, fault.find);
    const out = new Uint8Array(bytes.length - find.length + replace.length);
    out.set(bytes.subarray(0, at), 0);
    out.set(replace, at);
    out.set(bytes.subarray(at + find.length), at + replace.length);
    return { bytes: out, detail: { offset: at, find: fault.find, replace: fault.replace ?? '' } };
  }
  const offset = flipAt(fault, bytes);
  const xor = fault.xor ?? 0xff;
  const out = bytes.slice();
  out[offset] = (out[offset] ?? 0) ^ xor;
  return { bytes: out, detail: { offset, xor, ...(fault.find === undefined ? {} : { find: fault.find }) } };
}
