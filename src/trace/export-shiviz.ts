/**
 * Exports a trace in ShiViz's log format (https://bestchai.bitbucket.io/shiviz/): a file whose
 * first line is the parser regular expression, second line the (empty) multiple-executions
 * delimiter, then one line per node event: `host {vector clock JSON} description`.
 *
 * Vector clocks are computed here from send/receive pairs (matched by `msg`): each node event
 * ticks its own component by one, as ShiViz requires, and a receive first merges the sender's
 * clock at the matching send. World (`sim`) events have no host in ShiViz and are left out.
 * A pure function: no I/O, no clock.
 */
import type { TraceEvent, TraceHeader } from './events.js';

/** The parser expression on the file's first line; it matches `shivizLine` below. */
export const shivizRegex = String.raw`(?<host>\S+) (?<clock>\{.*?\}) (?<event>.*)`;

type VectorClock = Map<string, number>;

/** A one-line description of an event for people. */
export function describeEvent(event: TraceEvent): string {
  switch (event.kind) {
    case 'send':
      return `send #${event.msg} to ${event.to}: ${payloadLabel(event.payload.decoded, event.payload.size)}`;
    case 'receive':
      return `receive #${event.msg} from ${event.from}: ${payloadLabel(event.payload.decoded, event.payload.size)}`;
    case 'drop':
      return `drop #${event.msg} to ${event.to} (${event.reason})`;
    case 'duplicate':
      return `duplicate #${event.msg} to ${event.to}`;
    case 'conn.connect':
      return `connect ${event.conn} to ${event.target}`;
    case 'conn.accept':
      return `accept ${event.conn} from ${event.peer}`;
    case 'conn.open':
      return `open ${event.conn} to ${event.peer}`;
    case 'conn.refuse':
      return `refused ${event.conn} to ${event.target} (${event.reason})`;
    case 'conn.close':
      return `close ${event.conn} (${event.reason})`;
    case 'conn.drain':
      return `drained ${event.conn}`;
    case 'tls.start':
      return `TLS start ${event.conn} (${event.role})`;
    case 'tls.done':
      return `TLS ${event.ok ? 'up' : `failed (${event.reason ?? '?'})`} ${event.conn}`;
    case 'dns.query':
      return `DNS ${event.type} ${event.name}?`;
    case 'dns.answer':
      return `DNS ${event.type} ${event.name}: ${event.status} ${event.records.join(', ')}`;
    case 'state':
      return `${event.machine} -> ${event.value}`;
    case 'deliver':
      return `deliver to ${event.user} from ${event.from}: ${event.body}`;
    case 'reject':
      return `reject ${event.code}: ${event.reason}`;
    case 'note':
      return event.what;
    case 'fault':
      return `fault ${event.fault} ${event.phase}${event.span === undefined ? '' : ` (${event.span})`}`;
    case 'check':
      return `check ${event.requirement}: ${event.verdict} ${event.message}`;
    case 'timer':
      return `timer ${event.name}`;
    case 'listen':
    case 'unlisten':
      return `${event.kind} ${event.endpoint}`;
    case 'node.start':
    case 'node.crash':
    case 'node.stop':
      return `${event.kind} (incarnation ${event.incarnation})`;
    case 'command':
      return `command ${JSON.stringify(event.command)}`;
  }
}

/** A short label for a payload: its `type`/`verb`/`kind` field when decoded, else its size. */
export function payloadLabel(decoded: unknown, size: number): string {
  if (typeof decoded === 'object' && decoded !== null) {
    const record = decoded as Record<string, unknown>;
    for (const key of ['type', 'verb', 'kind', 'command']) {
      const value = record[key];
      if (typeof value === 'string') return value;
    }
  }
  if (typeof decoded === 'string') return decoded.length > 40 ? `${decoded.slice(0, 39)}…` : decoded;
  return `${size} bytes`;
}

function clockJson(clock: VectorClock): string {
  return JSON.stringify(Object.fromEntries(clock));
}

/** The ShiViz log of a trace. */
export function exportShiviz(trace: { header: TraceHeader; events: readonly TraceEvent[] }): string {
  const clocks = new Map<string, VectorClock>(trace.header.nodes.map((node) => [node.id, new Map()]));
  const sentClocks = new Map<number, VectorClock>();
  const lines = [shivizRegex, ''];
  for (const event of trace.events) {
    if (event.node === 'sim') continue;
    const clock = clocks.get(event.node) as VectorClock;
    if (event.kind === 'receive') {
      const sent = sentClocks.get(event.msg);
      if (sent !== undefined) for (const [node, tick] of sent) clock.set(node, Math.max(clock.get(node) ?? 0, tick));
    }
    clock.set(event.node, (clock.get(event.node) ?? 0) + 1);
    if (event.kind === 'send') sentClocks.set(event.msg, new Map(clock));
    const description = describeEvent(event).replace(/[\r\n]+/g, ' ');
    lines.push(`${event.node} ${clockJson(clock)} ${description}`);
  }
  return lines.join('\n') + '\n';
}
