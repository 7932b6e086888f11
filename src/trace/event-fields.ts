/**
 * The fields of each trace event kind (src/trace/events.ts) at run time, so that a scenario's
 * event patterns can be checked against them: a misspelt kind or field would otherwise match
 * nothing, and a `never` over it would always hold. The types below fail to compile when this
 * table and the event union drift apart.
 */
import type { TraceEventBase, TraceEventBody, TraceEventKind } from './events.js';

type FieldsOf<K extends TraceEventKind> = Exclude<keyof Extract<TraceEventBody, { kind: K }>, 'kind'>;
type FieldTable = { readonly [K in TraceEventKind]: readonly FieldsOf<K>[] };

const table = {
  'node.start': ['incarnation'],
  'node.crash': ['incarnation'],
  'node.stop': ['incarnation'],
  listen: ['endpoint'],
  unlisten: ['endpoint'],
  'conn.connect': ['conn', 'target'],
  'conn.accept': ['conn', 'peer', 'peerConn'],
  'conn.open': ['conn', 'peer', 'peerConn'],
  'conn.refuse': ['conn', 'target', 'reason'],
  'conn.close': ['conn', 'reason'],
  'conn.drain': ['conn'],
  'tls.start': ['conn', 'role'],
  'tls.done': ['conn', 'ok', 'reason'],
  send: ['msg', 'transport', 'conn', 'to', 'payload'],
  receive: ['msg', 'transport', 'conn', 'from', 'sentLamport', 'payload'],
  drop: ['msg', 'to', 'reason'],
  duplicate: ['msg', 'to'],
  'dns.query': ['query', 'name', 'type'],
  'dns.answer': ['query', 'name', 'type', 'status', 'records'],
  timer: ['name'],
  state: ['machine', 'value'],
  command: ['command'],
  deliver: ['user', 'from', 'body', 'id', 'detail'],
  reject: ['code', 'reason', 'detail'],
  note: ['what', 'detail'],
  fault: ['fault', 'phase', 'span', 'detail'],
  check: ['requirement', 'verdict', 'message'],
} as const satisfies FieldTable;

/** Every field of a kind is listed (a compile error names a missing one). */
type Missing = { [K in TraceEventKind]: Exclude<FieldsOf<K>, (typeof table)[K][number]> }[TraceEventKind];
const complete: [Missing] extends [never] ? true : Missing = true;
void complete;

export const eventKinds: readonly TraceEventKind[] = Object.keys(table) as TraceEventKind[];

const baseFields: readonly (keyof TraceEventBase)[] = ['seq', 'atMs', 'node', 'lamport'];

/** The fields a pattern of `kind` may name (the common ones and the kind's own), or undefined for an unknown kind. */
export function eventFields(kind: string): readonly string[] | undefined {
  if (!Object.hasOwn(table, kind)) return undefined;
  return ['kind', ...baseFields, ...table[kind as TraceEventKind]];
}

/** The fields of a payload (`send`, `receive`); `decoded` is whatever the protocol decodes. */
export const payloadFields: readonly string[] = ['size', 'base64', 'decoded'];
