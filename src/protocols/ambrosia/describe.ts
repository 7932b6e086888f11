/**
 * Ambrosia's names for its messages, for the trace viewer, its legend, search and the Mermaid
 * export: the stanza kind (`message`, `iq set`, `presence`), stream management (`ack`, `ack
 * request`, `sm enable`), the service channel's chunks (`chunks 1–4 of 4`), the stream's opening
 * and closing, and SASL steps. Reads the XML text the trace records, or the bytes when the trace
 * recorded no text (a chunked write); a light scan of the top-level elements, which never throws.
 */
import type { MessageName } from '../protocol.js';

const elementPattern = /<(\/?)([\w:.-]+)((?:\s+[\w:.-]+\s*=\s*(?:'[^']*'|"[^"]*"))*)\s*(\/?)>/g;
const attributePattern = /([\w:.-]+)\s*=\s*(?:'([^']*)'|"([^"]*)")/g;

interface Top {
  readonly name: string;
  readonly attributes: ReadonlyMap<string, string>;
  readonly closing: boolean;
  /** Text up to the element's end (for a body or a child's name). */
  readonly inner: string;
}

function topElements(xml: string): Top[] {
  const tops: Top[] = [];
  let depth = 0;
  let current: { name: string; attributes: Map<string, string>; start: number } | undefined;
  elementPattern.lastIndex = 0;
  for (let match = elementPattern.exec(xml); match !== null; match = elementPattern.exec(xml)) {
    const [whole, slash, name = '', attributeText = '', selfClosing] = match;
    if (name === 'stream:stream' && slash === '') {
      // The stream's opening tag stays open for the whole connection: it is a message of its own.
      tops.push({ name, attributes: attributes(attributeText), closing: false, inner: '' });
      continue;
    }
    if (slash === '/') {
      if (depth === 0) tops.push({ name, attributes: new Map(), closing: true, inner: '' });
      else {
        depth -= 1;
        if (depth === 0 && current !== undefined) {
          tops.push({
            name: current.name,
            attributes: current.attributes,
            closing: false,
            inner: xml.slice(current.start, match.index),
          });
          current = undefined;
        }
      }
      continue;
    }
    if (depth === 0) {
      if (selfClosing === '/') tops.push({ name, attributes: attributes(attributeText), closing: false, inner: '' });
      else {
        current = { name, attributes: attributes(attributeText), start: match.index + whole.length };
        depth = 1;
      }
    } else if (selfClosing !== '/') depth += 1;
    if (tops.length > 64) break;
  }
  if (current !== undefined)
    tops.push({ name: current.name, attributes: current.attributes, closing: false, inner: xml.slice(current.start) });
  return tops;
}

function attributes(text: string): Map<string, string> {
  const found = new Map<string, string>();
  attributePattern.lastIndex = 0;
  for (let match = attributePattern.exec(text); match !== null; match = attributePattern.exec(text))
    found.set(match[1] ?? '', match[2] ?? match[3] ?? '');
  return found;
}

function unescape(text: string): string {
  return text.replace(
    /&(lt|gt|amp|quot|apos);/g,
    (_, entity: string) => ({ lt: '<', gt: '>', amp: '&', quot: '"', apos: "'" })[entity] ?? '',
  );
}

function nameOf(top: Top): MessageName {
  const attribute = (key: string): string => top.attributes.get(key) ?? '';
  const route = (): string => {
    const from = attribute('from');
    const to = attribute('to');
    return from === '' && to === '' ? '' : `${from || '?'} → ${to || '?'}`;
  };
  if (top.closing) return { name: top.name === 'stream:stream' ? 'stream close' : `</${top.name}>`, summary: '' };
  const local = top.name.includes(':') ? top.name : top.name;
  switch (local) {
    case 'stream:stream':
      return { name: 'stream open', summary: route() };
    case 'message': {
      const body = /<body>([\s\S]*?)<\/body>/.exec(top.inner)?.[1];
      return {
        name: 'message',
        summary: [route(), body === undefined ? '' : `"${unescape(body)}"`].filter((part) => part !== '').join(': '),
      };
    }
    case 'iq': {
      const child = /<([\w:.-]+)/.exec(top.inner)?.[1];
      return {
        name: `iq ${attribute('type') || '?'}`,
        summary: [`id ${attribute('id')}`, child ?? '', route()].filter((part) => part !== '').join(', '),
      };
    }
    case 'presence':
      return { name: 'presence', summary: [attribute('type'), route()].filter((part) => part !== '').join(' ') };
    case 'a':
      return { name: 'ack', summary: `h=${attribute('h')}` };
    case 'r':
      return { name: 'ack request', summary: '' };
    case 'enable':
    case 'enabled':
    case 'resume':
    case 'resumed':
      return {
        name: `sm ${local}`,
        summary: [attribute('id'), attribute('previd'), attribute('h') === '' ? '' : `h=${attribute('h')}`]
          .filter((part) => part !== '')
          .join(' '),
      };
    case 'auth':
      return { name: 'auth', summary: attribute('mechanism') };
    case 'success':
    case 'failure':
      return { name: `auth ${local}`, summary: '' };
    case 'stream:error':
      return { name: 'stream error', summary: /<([\w-]+)/.exec(top.inner)?.[1] ?? '' };
    case 'chunk':
      return { name: 'chunk', summary: `seq ${attribute('seq')} index ${attribute('index')}` };
    default:
      return { name: local, summary: [...top.attributes].map(([key, value]) => `${key}=${value}`).join(' ') };
  }
}

/** `chunks 1–4 of 4` for the chunk elements of one stanza written together (`of ?` when its last is elsewhere). */
function chunksName(chunks: readonly Top[]): MessageName {
  const indexes = chunks.map((chunk) => Number(chunk.attributes.get('index') ?? 'NaN'));
  const first = Math.min(...indexes) + 1;
  const last = Math.max(...indexes) + 1;
  const final = chunks.find((chunk) => chunk.attributes.get('last') === 'true');
  const total = final === undefined ? '?' : String(Number(final.attributes.get('index')) + 1);
  const seqs = [...new Set(chunks.map((chunk) => chunk.attributes.get('seq') ?? '?'))].join(', ');
  const stanza = /^&lt;([\w:.-]+)/.exec(chunks[0]?.inner ?? '')?.[1];
  return {
    name: first === last ? `chunk ${first} of ${total}` : `chunks ${first}–${last} of ${total}`,
    summary: `seq ${seqs}${stanza === undefined ? '' : `, a ${stanza} stanza`}`,
  };
}

export function nameMessage(decoded: unknown, bytes: Uint8Array): MessageName | undefined {
  let xml = typeof decoded === 'string' ? decoded : undefined;
  if (xml === undefined) {
    try {
      xml = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    } catch {
      return undefined;
    }
  }
  const tops = topElements(xml.replace(/^<\?xml[^>]*\?>/, ''));
  if (tops.length === 0) return undefined;
  const chunks = tops.filter((top) => top.name === 'chunk' && !top.closing);
  const others = tops.filter((top) => top.name !== 'chunk' || top.closing).map(nameOf);
  const named = chunks.length > 0 ? [chunksName(chunks), ...others] : others;
  // Repeats of one kind in one write read as `register ×2`.
  const groups: { name: string; count: number; summaries: string[] }[] = [];
  for (const name of named) {
    const last = groups.at(-1);
    if (last !== undefined && last.name === name.name) {
      last.count += 1;
      last.summaries.push(name.summary);
    } else groups.push({ name: name.name, count: 1, summaries: [name.summary] });
  }
  return {
    name: groups.map((group) => (group.count > 1 ? `${group.name} ×${group.count}` : group.name)).join(' + '),
    summary: groups
      .flatMap((group) => group.summaries)
      .filter((summary) => summary !== '')
      .join('; '),
  };
}
