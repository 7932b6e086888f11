/**
 * The details panel: for a clicked or stepped-to event, what happened (seq, virtual time,
 * Lamport clock, node), and for a message its decoded payload, its wire bytes as text when
 * printable, and the sender's and receiver's state at that moment.
 *
 * It builds DOM nodes with textContent only (never innerHTML from trace data: a trace is a file
 * from somewhere, and its strings must not become markup).
 */
import type { TraceEvent } from '../src/trace/events.js';
import { statesAt } from './model.js';
import type { Link, Model } from './model.js';

function element<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  className: string,
  text?: string,
): HTMLElementTagNameMap[K] {
  const node = document.createElement(tag);
  if (className !== '') node.className = className;
  if (text !== undefined) node.textContent = text;
  return node;
}

function wireText(base64: string): string | undefined {
  try {
    const binary = atob(base64);
    const bytes = Uint8Array.from(binary, (char) => char.charCodeAt(0));
    const text = new TextDecoder('utf-8', { fatal: true }).decode(bytes);
    return /^[\t\n\r\x20-\x7e\u00a0-\uffff]*$/.test(text) ? text : undefined;
  } catch {
    return undefined;
  }
}

function stateBlock(model: Model, title: string, node: string, index: number): HTMLElement {
  const block = element('div', 'states');
  block.append(element('h4', '', title));
  const lane = model.lanes.findIndex((candidate) => candidate.id === node);
  const states = lane >= 0 ? statesAt(model, lane, index) : [];
  if (states.length === 0) block.append(element('div', 'muted', 'no state recorded yet'));
  for (const { machine, value } of states) {
    const row = element('div', 'state-row');
    row.append(element('span', 'machine', machine), element('span', 'value', value));
    block.append(row);
  }
  return block;
}

/** A value as people read it: strings as they are (no JSON quotes or escapes), the rest as indented JSON. */
export function readable(value: unknown): string {
  return typeof value === 'string' ? value : (JSON.stringify(value ?? null, null, 2) ?? '');
}

/** The fields of an event, one per line, unescaped. */
function fieldList(fields: Readonly<Record<string, unknown>>): HTMLElement {
  const list = element('dl', 'fields');
  list.dataset['testid'] = 'fields';
  for (const [key, value] of Object.entries(fields)) {
    list.append(element('dt', '', key));
    list.append(element('dd', typeof value === 'string' ? '' : 'json', readable(value)));
  }
  return list;
}

function eventLine(event: TraceEvent): string {
  return `#${event.seq} · ${event.atMs} ms · lamport ${event.lamport} · ${event.node}`;
}

/** Fills `container` with the details of event `index` (and of `linkIndex` when a link was picked). */
export function showDetails(container: HTMLElement, model: Model, index: number, linkIndex: number): void {
  container.replaceChildren();
  if (index < 0 || index >= model.events.length) return;
  const event = model.events.at(index);
  const link: Link | undefined = linkIndex >= 0 ? model.links[linkIndex] : undefined;
  if (link !== undefined && link.style === 'message') {
    const send = model.events.at(link.from) as TraceEvent & { kind: 'send' };
    const end = model.events.at(link.to);
    const fate =
      link.ending === 'cross'
        ? 'dropped'
        : link.ending === 'open'
          ? 'in flight'
          : link.duplicate
            ? 'duplicate copy'
            : 'delivered';
    container.append(element('h3', '', `message #${link.msg}: ${link.label}`));
    const name = model.names.get(link.msg);
    if (name !== undefined && name.summary !== '') container.append(element('div', 'summary', name.summary));
    container.append(element('div', 'route', `${send.node} → ${send.to} (${fate})`));
    container.append(element('div', 'muted', `sent ${eventLine(send)}`));
    if (link.ending !== 'open') container.append(element('div', 'muted', `${end.kind} ${eventLine(end)}`));
    if (end.kind === 'drop') container.append(element('div', 'bad', `dropped: ${end.reason}`));
    container.append(element('h4', '', `payload (${send.payload.size} bytes)`));
    const decoded = element('pre', 'payload', readable(send.payload.decoded));
    decoded.dataset['testid'] = 'payload';
    container.append(decoded);
    const wire = wireText(send.payload.base64);
    if (wire !== undefined) {
      container.append(element('h4', '', 'on the wire'));
      container.append(element('pre', 'wire', wire));
    }
    container.append(stateBlock(model, `sender ${send.node} at #${send.seq}`, send.node, link.from));
    const receiver = end.kind === 'receive' ? end.node : send.to;
    container.append(stateBlock(model, `receiver ${receiver} at #${end.seq}`, receiver, link.to));
    return;
  }
  container.append(element('h3', '', `${event.kind}`));
  container.append(element('div', 'muted', eventLine(event)));
  const { seq: _seq, atMs: _atMs, node: _node, lamport: _lamport, kind: _kind, ...rest } = event;
  container.append(fieldList(rest));
  if (event.node !== 'sim') container.append(stateBlock(model, `state of ${event.node}`, event.node, index));
}
