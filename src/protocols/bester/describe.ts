/**
 * Bester's names for its messages, for the trace viewer, its legend, search and the Mermaid
 * export: the client's or server's message type (`client auth`, `afrikaans`), a handler reply by
 * its command (`sendClients`), a status report by its status (`status good`), a delivery as
 * `received afrikaans`, and what a handler is handed as `to handler`. Reads the decoded payload
 * the trace records; never throws.
 */
import type { MessageName } from '../protocol.js';

const text = (value: unknown): string | undefined =>
  typeof value === 'string' ? value : typeof value === 'number' ? String(value) : undefined;
const objectOr = (value: unknown): Record<string, unknown> =>
  typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : {};

function dataSummary(data: unknown): string {
  const record = objectOr(data);
  const to = text(record['to']);
  const body = text(record['text']) ?? text(record['body']);
  if (to !== undefined || body !== undefined)
    return [to === undefined ? '' : `to ${to}`, body === undefined ? '' : `"${body}"`]
      .filter((part) => part !== '')
      .join(': ');
  return data === undefined || data === null ? '' : JSON.stringify(data).slice(0, 80);
}

export function nameMessage(decoded: unknown): MessageName | undefined {
  if (typeof decoded !== 'object' || decoded === null || Array.isArray(decoded)) return undefined;
  const record = decoded as Record<string, unknown>;
  if (!('header' in record)) {
    const command = objectOr(record['command']);
    if (text(command['type']) !== undefined)
      return { name: `inform ${text(command['type'])}`, summary: dataSummary(command['data']) };
    // A message's data as the server hands it to a handler.
    return Object.keys(record).length > 0 ? { name: 'to handler', summary: dataSummary(record) } : undefined;
  }
  const header = objectOr(record['header']);
  const payload = objectOr(record['payload']);
  const command = objectOr(header['command']);
  const commandType = text(command['type']);
  if (commandType !== undefined || text(header['status']) !== undefined) {
    const messageType = text(header['messageType']);
    if (messageType === 'statusReport')
      return {
        name: `status ${text(header['status'])}`,
        summary: text(payload['id']) === undefined ? '' : `id ${text(payload['id'])}`,
      };
    const targets = Array.isArray(command['data'])
      ? ` ${command['data'].map((value) => text(value) ?? '?').join(', ')}`
      : '';
    return {
      name: commandType ?? `reply ${text(header['status'])}`,
      summary: [
        `status ${text(header['status'])}${targets === '' ? '' : `, for${targets}`}`,
        text(objectOr(record['data'])['text']) === undefined ? '' : `"${text(objectOr(record['data'])['text'])}"`,
      ]
        .filter((part) => part !== '')
        .join(': '),
    };
  }
  if (text(header['messageType']) === 'receivedMessage')
    return { name: `received ${text(payload['type']) ?? '?'}`, summary: dataSummary(payload['data']) };
  const scope = text(header['scope']);
  const type = text(payload['type']) ?? '?';
  if (scope === 'client' && header['authentication'] !== undefined)
    return { name: 'client auth', summary: `user ${text(objectOr(header['authentication'])['username']) ?? '?'}` };
  return {
    name: scope === 'server' ? `server ${type}` : type,
    summary: [text(payload['id']) === undefined ? '' : `id ${text(payload['id'])}`, dataSummary(payload['data'])]
      .filter((part) => part !== '')
      .join(', '),
  };
}
