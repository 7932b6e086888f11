/**
 * SOLEC's names for its messages, for the trace viewer, its legend, search and the Mermaid export:
 * the frame type names of one segment (`handshake + userAuth`, `success`, `message`) and a
 * one-line summary. Reads the decoded payload the trace records; never throws.
 */
import type { MessageName } from '../protocol.js';

const text = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;

function one(value: unknown): MessageName | undefined {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) return undefined;
  const record = value as Record<string, unknown>;
  const type = text(record['type']);
  if (type === undefined) return undefined;
  const parts: string[] = [];
  const from = text(record['from']);
  const to = text(record['to']);
  if (from !== undefined || to !== undefined) parts.push(`${from ?? '?'} → ${to ?? '?'}`);
  const username = text(record['username']);
  if (username !== undefined) parts.push(`user ${username}`);
  if (record['verMajor'] !== undefined)
    parts.push(`version ${text(record['verMajor'])}.${text(record['verMinor']) ?? '?'}`);
  const reason = text(record['reason']) ?? text(record['error']) ?? text(record['code']);
  if (reason !== undefined) parts.push(reason);
  const body = text(record['body']);
  if (body !== undefined) parts.push(`"${body}"`);
  return { name: type, summary: parts.join(', ') };
}

export function nameMessage(decoded: unknown): MessageName | undefined {
  if (!Array.isArray(decoded)) return one(decoded);
  const named = decoded.map(one).filter((name): name is MessageName => name !== undefined);
  if (named.length === 0) return undefined;
  return {
    name: named.map((name) => name.name).join(' + '),
    summary: named
      .map((name) => name.summary)
      .filter((summary) => summary !== '')
      .join('; '),
  };
}
