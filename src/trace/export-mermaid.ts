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
/** What turning one event into a line needs: participant aliases and the messages seen so far. */
interface MermaidContext {
  readonly of: (node: string) => string;
  readonly overAll: string;
  readonly firstNode: string;
  readonly stateNotes: boolean;
  readonly labelOf: (msg: number, payload: { decoded?: unknown; size: number }) => string;
  readonly sends: Map<number, Extract<TraceEvent, { kind: 'send' }>>;
  readonly arrived: Set<number>;
  readonly duplicates: Set<number>;
}

/** The line a message event (receive, drop) draws, recording what it settles. */
function messageLine(event: TraceEvent, ctx: MermaidContext): string | undefined {
  const { of } = ctx;
  if (event.kind === 'receive') {
    const label = clean(ctx.labelOf(event.msg, event.payload));
    const copy = ctx.arrived.has(event.msg) || ctx.duplicates.has(event.msg) ? ' (duplicate)' : '';
    ctx.arrived.add(event.msg);
    return `  ${of(event.from)}->>${of(event.node)}: ${label}${copy}`;
  }
  if (event.kind === 'drop') {
    const send = ctx.sends.get(event.msg);
    const label = send === undefined ? `#${event.msg}` : ctx.labelOf(event.msg, send.payload);
    ctx.arrived.add(event.msg);
    const source = send === undefined ? event.to : send.node;
    return `  ${of(source)}-x${of(event.to)}: ${clean(`${label} dropped: ${event.reason}`)}`;
  }
  return undefined;
}

/** The line one event draws, if any (sends draw nothing until they arrive, are dropped or end in flight). */
function eventLine(event: TraceEvent, ctx: MermaidContext): string | undefined {
  const { of, overAll } = ctx;
  const note = (node: string, text: string) => `  Note right of ${of(node)}: ${clean(text)}`;
  switch (event.kind) {
    case 'send':
      ctx.sends.set(event.msg, event);
      return undefined;
    case 'duplicate':
      ctx.duplicates.add(event.msg);
      return undefined;
    case 'receive':
    case 'drop':
      return messageLine(event, ctx);
    case 'conn.refuse':
      return note(event.node, `connect to ${event.target} refused (${event.reason})`);
    case 'conn.open':
      return note(event.node, `connection ${event.conn} to ${event.peer} open`);
    case 'conn.close':
      return note(event.node, `connection ${event.conn} closed (${event.reason})`);
    case 'conn.drain':
      return note(event.node, `connection ${event.conn} drained`);
    case 'dns.query':
      return `  ${of(event.node)}->>dns: ${clean(`${event.type} ${event.name}?`)}`;
    case 'dns.answer':
      return `  dns-->>${of(event.node)}: ${clean(`${event.status} ${event.records.join(', ')}`)}`;
    case 'command':
      return note(event.node, `▶ ${commandText(event.command)}`);
    case 'state':
      return ctx.stateNotes ? note(event.node, `${event.machine}: ${event.value}`) : undefined;
    case 'deliver':
      return note(event.node, `delivered to ${event.user}: ${event.body}`);
    case 'note':
      return note(event.node === 'sim' ? ctx.firstNode : event.node, event.what);
    case 'fault':
      return `  Note over ${overAll}: ${clean(`fault ${event.fault} ${event.phase} ${JSON.stringify(event.detail)}`)}`;
    case 'check':
      return event.verdict === 'violation'
        ? `  Note over ${overAll}: ${clean(`VIOLATION ${event.requirement}: ${event.message}`)}`
        : undefined;
    default:
      return undefined;
  }
}

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
  const ctx: MermaidContext = {
    of: (node) => alias.get(node) ?? 'dns',
    overAll: first === last ? first : `${first},${last}`,
    firstNode: trace.header.nodes[0]?.id ?? '',
    stateNotes: options.stateNotes ?? true,
    labelOf: (msg, payload) => options.names?.get(msg)?.name ?? payloadLabel(payload.decoded, payload.size),
    sends: new Map(),
    arrived: new Set(),
    duplicates: new Set(),
  };
  const events = trace.events.slice(0, eventsMax);
  for (const event of events) {
    const line = eventLine(event, ctx);
    if (line !== undefined) lines.push(line);
  }
  for (const [msg, send] of ctx.sends) {
    if (ctx.arrived.has(msg)) continue;
    lines.push(`  ${ctx.of(send.node)}-)${ctx.of(send.to)}: ${clean(`${ctx.labelOf(msg, send.payload)} (in flight)`)}`);
  }
  if (trace.events.length > events.length) {
    lines.push(`  Note over ${ctx.overAll}: ${trace.events.length - events.length} more events not shown`);
    for (const event of trace.events.slice(events.length))
      if (event.kind === 'check' && event.verdict === 'violation')
        lines.push(
          `  Note over ${ctx.overAll}: ${clean(`VIOLATION at #${event.seq}, ${event.atMs} ms, ${event.requirement}: ${event.message}`)}`,
        );
    options.onTruncated?.(events.length, trace.events.length);
  }
  return lines.join('\n') + '\n';
}
