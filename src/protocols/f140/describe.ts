/**
 * F140's names for its messages, for the trace viewer, its legend, search and the Mermaid export:
 * a request by its command (`PING`, `MSG`), a reply by the command it answers and its HTTP status
 * (`PING 200`, `MSG 403`), with the users and message in the summary. Reads the decoded payload
 * the trace records; never throws.
 */
import type { MessageName } from '../protocol.js';

const text = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;

function who(record: Record<string, unknown>): string {
  const from = text(record['from_user']);
  const to = text(record['to_user']);
  return from === undefined && to === undefined ? '' : `${from ?? '?'} → ${to ?? '?'}`;
}

export function nameMessage(decoded: unknown): MessageName | undefined {
  if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) return undefined;
  const record = decoded as Record<string, unknown>;
  const status = text(record['status']);
  const request = record['request'];
  if (status !== undefined) {
    const asked = typeof request === 'object' && request !== null ? (request as Record<string, unknown>) : {};
    const command = text(asked['command']) ?? text(asked['method']) ?? 'reply';
    const response = record['response'];
    const detail =
      typeof response === 'object' && response !== null
        ? Object.entries(response as Record<string, unknown>)
            .map(([key, value]) => `${key} ${text(value) ?? JSON.stringify(value)}`)
            .join(', ')
        : (text(response) ?? '');
    return { name: `${command} ${status}`, summary: [who(asked), detail].filter((part) => part !== '').join(', ') };
  }
  const command = text(record['command']);
  if (command === undefined) return undefined;
  const message = text(record['message']);
  const body = message === undefined ? undefined : (/<text>([^<]*)<\/text>/.exec(message)?.[1] ?? message);
  return {
    name: command,
    summary: [who(record), body === undefined ? '' : `"${body}"`].filter((part) => part !== '').join(', '),
  };
}
