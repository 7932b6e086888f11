/**
 * Exports a trace as a Mermaid sequence diagram (https://mermaid.js.org/syntax/sequenceDiagram.html):
 * one participant per node (plus DNS when the trace queries it), an arrow per message drawn where
 * it arrives (`-x` ending in a cross where it was dropped, `-)` when still in flight at the end),
 * notes for state changes, deliveries, faults and checker verdicts.
 *
 * A pure function: no I/O, no clock. Mermaid is meant for small traces; `eventsMax` cuts long ones.
 */
import type { TraceEvent, TraceHeader } from './events.js';
import { payloadLabel } from './export-shiviz.js';

export interface MermaidOptions {
  /**
   * Events read before the diagram stops with a note saying so.
   * @defaultValue 2000, because Mermaid renders slowly past a few thousand lines.
   */
  readonly eventsMax?: number;
}

/** Text Mermaid can carry in a message or note: no `;`, `#` or line breaks (they end or escape a statement). */
function clean(text: string): string {
  return text.replace(/[;#\r\n]+/g, ' ').trim() || ' ';
}

/** The Mermaid sequence diagram of a trace. */
export function exportMermaid(
  trace: { header: TraceHeader; events: readonly TraceEvent[] },
  options: MermaidOptions = {},
): string {
  const eventsMax = options.eventsMax ?? 2000;
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
        const label = clean(payloadLabel(event.payload.decoded, event.payload.size));
        const copy = arrived.has(event.msg) || duplicates.has(event.msg) ? ' (duplicate)' : '';
        arrived.add(event.msg);
        lines.push(`  ${of(event.from)}->>${of(event.node)}: ${label}${copy}`);
        break;
      }
      case 'drop': {
        const send = sends.get(event.msg);
        const label = send === undefined ? `#${event.msg}` : payloadLabel(send.payload.decoded, send.payload.size);
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
      case 'state':
        lines.push(`  Note right of ${of(event.node)}: ${clean(`${event.machine}: ${event.value}`)}`);
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
    lines.push(
      `  ${of(send.node)}-)${of(send.to)}: ${clean(`${payloadLabel(send.payload.decoded, send.payload.size)} (in flight)`)}`,
    );
  }
  if (trace.events.length > events.length)
    lines.push(`  Note over ${overAll}: ${trace.events.length - events.length} more events not shown`);
  return lines.join('\n') + '\n';
}
