/**
 * FMTP's names for its messages, for the trace viewer, its legend, search and the Mermaid export:
 * the command (HELLO, REQUEST, MESSAGE…) and a one-line summary of who and what. Reads the decoded
 * payload the trace records (wire.ts `describe`); never throws, whatever the trace holds.
 */
import type { MessageName } from '../protocol.js';

const text = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;

function one(value: unknown): MessageName | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  const type = text(record['type']);
  if (type === undefined) {
    const error = text(record['error']);
    return error === undefined ? undefined : { name: 'undecodable', summary: error };
  }
  const parts: string[] = [];
  // The text first: it is what a reader looks for, and what survives when the label is cut short.
  const body = text(record['body']);
  if (body !== undefined) parts.push(`"${body}"`);
  if (type === 'REQUEST') parts.push(`${text(record['from']) ?? '?'} asks for ${text(record['object']) ?? '?'}`);
  const from = type === 'REQUEST' ? undefined : text(record['from']);
  const to = text(record['to']);
  if (from !== undefined || to !== undefined) parts.push(`${from ?? '?'} → ${to ?? '?'}`);
  const object = text(record['object']);
  if (object !== undefined && type !== 'REQUEST') parts.push(object);
  const route = record['route'] ?? (record['properties'] as Record<string, unknown> | undefined)?.['route'];
  if (typeof route === 'object' && route !== null) {
    const { host, port } = route as Record<string, unknown>;
    if (text(host) !== undefined) parts.push(`at ${text(host)}:${text(port) ?? '?'}`);
  }
  const status = text(record['status']) ?? text(record['reason']);
  if (status !== undefined) parts.push(status);
  return { name: type, summary: parts.join(', ') };
}

export function nameMessage(decoded: unknown): MessageName | undefined {
  if (!Array.isArray(decoded)) return one(decoded);
  const named = decoded.map(one).filter((name): name is MessageName => name !== undefined);
  if (named.length === 0) return undefined;
  return { name: named.map((name) => name.name).join(' + '), summary: named.map((name) => name.summary).join('; ') };
}
