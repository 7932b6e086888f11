/**
 * Exports a trace as a Mermaid sequence diagram (https://mermaid.js.org/syntax/sequenceDiagram.html):
 * one participant per node (plus DNS when the trace queries it), an arrow per message drawn where
 * it arrives (`-x` ending in a cross where it was dropped, `-)` when still in flight at the end),
 * notes for user commands, state changes (optional), deliveries, faults and checker verdicts.
 * Messages are labelled with their protocol's name for them when the caller passes `names`.
 *
 * A pure function: no I/O, no clock. Mermaid is meant for small traces; `eventsMax` cuts long ones,
 * says so in a note and through `onTruncated`, and still shows every violation after the cut.
 */
import type { TraceEvent, TraceHeader } from './events.js';
import { payloadLabel } from './export-shiviz.js';

export interface MermaidOptions {
  /**
   * Events read before the diagram stops with a note saying so.
   * @defaultValue 2000, because Mermaid renders slowly past a few thousand lines.
   */
  readonly eventsMax?: number;
  /**
   * Notes for state changes.
   * @defaultValue true; false leaves them out (they are most of a long diagram).
   */
  readonly stateNotes?: boolean;
  /** The protocols' names for messages, by msg id (src/view/names.ts); the payload's type field otherwise. */
  readonly names?: ReadonlyMap<number, { readonly name: string }>;
  /** Called once when `eventsMax` cuts the trace short. */
  readonly onTruncated?: (shown: number, total: number) => void;
}

/** Text Mermaid can carry in a message or note: no `;`, `#` or line breaks (they end or escape a statement). */
function clean(text: string): string {
  return text.replace(/[;#\r\n]+/g, ' ').trim() || ' ';
}

/** A user command in one line: its string and number fields (`send poe@poe.net lost@lenore.org Quoth the raven`). */
function commandText(command: unknown): string {
  if (typeof command !== 'object' || command === null) return JSON.stringify(command) ?? '';
  const parts = Object.values(command as Record<string, unknown>).filter(
    (value) => typeof value === 'string' || typeof value === 'number',
  );
  const text = parts.join(' ');
  return text.length > 120 ? `${text.slice(0, 119)}…` : text;
}

/** The Mermaid sequence diagram of a trace. */
export function exportMermaid(
  trace: { header: TraceHeader; events: readonly TraceEvent[] },
  options: MermaidOptions = {},
): string {
  const eventsMax = options.eventsMax ?? 2000;
  const stateNotes = options.stateNotes ?? true;
  const labelOf = (msg: number, payload: { decoded?: unknown; size: number }): string =>
    options.names?.get(msg)?.name ?? payloadLabel(payload.decoded, payload.size);
  const alias = new Map<string, string>(trace.header.nodes.map((node, index) => [node.id, `n${index}`]));
  const lines = ['sequenceDiagram'];
  for (const node of trace.header.nodes) lines.push(`  participant ${alias.get(node.id)} as ${clean(node.id)}`);
  const usesDns = trace.events.some((event) => event.kind === 'dns.query');
  if (usesDns) lines.push('  participant dns as DNS');
  const first = alias.get(trace.header.nodes[0]?.id ?? '') ?? 'dns';
  const last = alias.get(trace.header.nodes.at(-1)?.id ?? '') ?? first;
  const overAll = first === last ? first : `${first},${last}`;
  const sends = new Map<number, Extract<TraceEvent, { kind: 'send' }>>();
  const arrived = new Set<number>();
  const duplicates = new Set<number>();
  const of = (node: string): string => alias.get(node) ?? 'dns';
  const events = trace.events.slice(0, eventsMax);
  for (const event of events) {
    switch (event.kind) {
      case 'send':
        sends.set(event.msg, event);
        break;
      case 'receive': {
        const label = clean(labelOf(event.msg, event.payload));
        const copy = arrived.has(event.msg) || duplicates.has(event.msg) ? ' (duplicate)' : '';
        arrived.add(event.msg);
        lines.push(`  ${of(event.from)}->>${of(event.node)}: ${label}${copy}`);
        break;
      }
      case 'drop': {
        const send = sends.get(event.msg);
        const label = send === undefined ? `#${event.msg}` : labelOf(event.msg, send.payload);
        arrived.add(event.msg);
        const source = send === undefined ? event.to : send.node;
        lines.push(`  ${of(source)}-x${of(event.to)}: ${clean(`${label} dropped: ${event.reason}`)}`);
        break;
      }
      case 'duplicate':
        duplicates.add(event.msg);
        break;
      case 'conn.refuse':
        lines.push(
          `  Note right of ${of(event.node)}: ${clean(`connect to ${event.target} refused (${event.reason})`)}`,
        );
        break;
      case 'conn.open':
        lines.push(`  Note right of ${of(event.node)}: ${clean(`connection ${event.conn} to ${event.peer} open`)}`);
        break;
      case 'conn.close':
        lines.push(`  Note right of ${of(event.node)}: ${clean(`connection ${event.conn} closed (${event.reason})`)}`);
        break;
      case 'dns.query':
        lines.push(`  ${of(event.node)}->>dns: ${clean(`${event.type} ${event.name}?`)}`);
        break;
      case 'dns.answer':
        lines.push(`  dns-->>${of(event.node)}: ${clean(`${event.status} ${event.records.join(', ')}`)}`);
        break;
      case 'command':
        lines.push(`  Note right of ${of(event.node)}: ${clean(`▶ ${commandText(event.command)}`)}`);
        break;
      case 'state':
        if (stateNotes) lines.push(`  Note right of ${of(event.node)}: ${clean(`${event.machine}: ${event.value}`)}`);
        break;
      case 'deliver':
        lines.push(`  Note right of ${of(event.node)}: ${clean(`delivered to ${event.user}: ${event.body}`)}`);
        break;
      case 'note':
        lines.push(
          `  Note right of ${of(event.node === 'sim' ? (trace.header.nodes[0]?.id ?? '') : event.node)}: ${clean(event.what)}`,
        );
        break;
      case 'fault':
        lines.push(
          `  Note over ${overAll}: ${clean(`fault ${event.fault} ${event.phase} ${JSON.stringify(event.detail)}`)}`,
        );
        break;
      case 'check':
        if (event.verdict === 'violation')
          lines.push(`  Note over ${overAll}: ${clean(`VIOLATION ${event.requirement}: ${event.message}`)}`);
        break;
      default:
        break;
    }
  }
  for (const [msg, send] of sends) {
    if (arrived.has(msg)) continue;
    lines.push(`  ${of(send.node)}-)${of(send.to)}: ${clean(`${labelOf(msg, send.payload)} (in flight)`)}`);
  }
  if (trace.events.length > events.length) {
    lines.push(`  Note over ${overAll}: ${trace.events.length - events.length} more events not shown`);
    for (const event of trace.events.slice(events.length))
      if (event.kind === 'check' && event.verdict === 'violation')
        lines.push(
          `  Note over ${overAll}: ${clean(`VIOLATION at #${event.seq}, ${event.atMs} ms, ${event.requirement}: ${event.message}`)}`,
        );
    options.onTruncated?.(events.length, trace.events.length);
  }
  return lines.join('\n') + '\n';
}
