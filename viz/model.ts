/**
 * The viewer's model of a trace: lanes, links (message arrows, connection attempts, DNS
 * queries), fault spans, state changes per node and machine, and the colour of each message
 * kind. Built once per trace, in one pass plus a sort; everything the renderer needs per frame
 * is an index into these arrays.
 *
 * It must not touch the DOM: it is plain data, so the same model drives the canvas, the SVG
 * export and the test hook.
 */
import * as d3 from 'd3';
import type { TraceEvent, TraceHeader } from '../src/trace/events.js';

export const dnsLaneId = 'DNS';

export interface Lane {
  readonly id: string;
  readonly protocol: string;
  /** The DNS lane is not a node of the trace; it shows where queries go. */
  readonly pseudo: boolean;
}

export type LinkStyle = 'message' | 'connect' | 'refuse' | 'dns.query' | 'dns.answer';
export type LinkEnding = 'arrow' | 'cross' | 'open';

export interface Link {
  readonly style: LinkStyle;
  /** Event index where the link starts, and where it ends (the same for an instant link). */
  readonly from: number;
  readonly to: number;
  readonly fromLane: number;
  readonly toLane: number;
  readonly ending: LinkEnding;
  readonly label: string;
  readonly color: string;
  /** Message kind (`protocol/label`) for messages; the style otherwise. */
  readonly kindKey: string;
  /** For messages: the `msg` id, and whether this copy is a network duplicate. */
  readonly msg: number;
  readonly duplicate: boolean;
}

export interface FaultSpan {
  readonly fault: string;
  readonly from: number;
  /** Event index of the end, or -1 when the fault never ends in the trace. */
  readonly to: number;
  /** Lanes involved; empty means all. */
  readonly lanes: readonly number[];
  readonly label: string;
}

export interface StateChange {
  readonly index: number;
  readonly machine: string;
  readonly value: string;
}

export interface MessageKind {
  readonly key: string;
  readonly protocol: string;
  readonly label: string;
  readonly color: string;
  count: number;
}

/**
 * The events of a trace, read by index. Loaded by the worker (load-worker.ts), they stay JSON
 * text until something needs one (a row on screen, the details panel): the model's columns hold
 * what every frame and every layout reads, so a 100,000-event trace is parsed once, off the page's
 * thread, and only the few events drawn are parsed again here.
 */
export class TraceEvents {
  private readonly parsed: (TraceEvent | undefined)[];
  private readonly decoder = new TextDecoder();

  private constructor(
    readonly length: number,
    parsed: (TraceEvent | undefined)[],
    private readonly text: string | Uint8Array,
    private readonly starts: Float64Array,
    private readonly ends: Float64Array,
  ) {
    this.parsed = parsed;
  }

  /** Events already parsed (the page's own parse, tests). */
  static of(events: readonly TraceEvent[]): TraceEvents {
    return new TraceEvents(events.length, events as TraceEvent[], '', new Float64Array(0), new Float64Array(0));
  }

  /**
   * Event `i` is the JSON from `starts[i]` to `ends[i]` of `text`: characters of a string, or
   * bytes of UTF-8 (lines the worker has checked).
   */
  static lines(text: string | Uint8Array, starts: Float64Array, ends: Float64Array): TraceEvents {
    return new TraceEvents(starts.length, new Array<TraceEvent | undefined>(starts.length), text, starts, ends);
  }

  at(index: number): TraceEvent {
    let event = this.parsed[index];
    if (event === undefined) {
      const line = this.line(index);
      try {
        event = JSON.parse(line) as TraceEvent;
      } catch {
        // A line the worker read by its head only, damaged further on: shown as a note.
        const head = /"seq":(\d+),"atMs":([\d.]+),"node":"([^"]*)"/.exec(line);
        event = {
          seq: Number(head?.[1] ?? index + 1),
          atMs: Number(head?.[2] ?? 0),
          node: head?.[3] ?? 'sim',
          lamport: 0,
          kind: 'note',
          what: `unreadable line: ${line.slice(0, 80)}`,
        } as TraceEvent;
      }
      this.parsed[index] = event;
    }
    return event;
  }

  /** The event's JSON text (its trace line when loaded from text). */
  line(index: number): string {
    if (this.starts.length === 0) return JSON.stringify(this.parsed[index]);
    const { text } = this;
    return typeof text === 'string'
      ? text.slice(this.starts[index], this.ends[index])
      : this.decoder.decode(text.subarray(this.starts[index], this.ends[index]));
  }
}

export interface Model {
  readonly header: TraceHeader;
  readonly events: TraceEvents;
  /** Per event: virtual time, category (index into `categories`), and 1 for a detail (`isDetail`). */
  readonly atMs: Float64Array;
  readonly category: Uint8Array;
  readonly detail: Uint8Array;
  readonly lanes: readonly Lane[];
  /** Lane index of each event, -1 for world (`sim`) events. */
  readonly laneOf: Int32Array;
  /** Links sorted by `from`. */
  readonly links: readonly Link[];
  /** For each event index, a link that starts or ends there (a message arrow first), or -1. */
  readonly linkAt: Int32Array;
  readonly faults: readonly FaultSpan[];
  /** State changes per lane, in trace order. */
  readonly states: readonly (readonly StateChange[])[];
  readonly kinds: ReadonlyMap<string, MessageKind>;
  /** Indexes of checker violations. */
  readonly violations: readonly number[];
  /** Message kind key of each message event (send, receive, drop, duplicate), '' for others. */
  readonly kindKeyOf: readonly string[];
  /** The protocols' names for messages, by msg id (empty when the trace was opened from a file). */
  readonly names: MessageNames;
}

/** Event categories for the kind filter. */
export type Category = 'message' | 'connection' | 'dns' | 'state' | 'fault' | 'check' | 'other';
export const categories: readonly Category[] = ['message', 'connection', 'dns', 'state', 'fault', 'check', 'other'];

export function categoryOf(event: TraceEvent): Category {
  switch (event.kind) {
    case 'send':
    case 'receive':
    case 'drop':
    case 'duplicate':
      return 'message';
    case 'conn.connect':
    case 'conn.accept':
    case 'conn.open':
    case 'conn.refuse':
    case 'conn.close':
    case 'conn.drain':
    case 'tls.start':
    case 'tls.done':
    case 'listen':
    case 'unlisten':
      return 'connection';
    case 'dns.query':
    case 'dns.answer':
      return 'dns';
    case 'state':
      return 'state';
    case 'fault':
    case 'node.crash':
    case 'node.start':
      return 'fault';
    case 'check':
      return 'check';
    default:
      return 'other';
  }
}

/**
 * Events the story view folds away until their lane is unfolded: state changes, DNS, connection
 * housekeeping, notes, timers and the first start of each node. A refused connection, a crash
 * and a restart stay in front: they are part of what happened.
 */
export function isDetail(event: TraceEvent): boolean {
  switch (event.kind) {
    case 'state':
    case 'dns.query':
    case 'dns.answer':
    case 'conn.connect':
    case 'conn.accept':
    case 'conn.open':
    case 'conn.close':
    case 'conn.drain':
    case 'tls.start':
    case 'listen':
    case 'unlisten':
    case 'note':
    case 'timer':
      return true;
    case 'tls.done':
      return event.ok;
    case 'node.start':
      return event.incarnation <= 1;
    default:
      return false;
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
  if (typeof decoded === 'string') {
    // XML without a protocol name: the first element's name says more than its first characters.
    const element = /^(?:<\?[^>]*\?>)?\s*<([\w:.-]+)/.exec(decoded);
    if (element !== null) return `<${element[1]}>`;
    return decoded.length > 24 ? `${decoded.slice(0, 23)}…` : decoded;
  }
  return `${size} B`;
}

/** Protocol families: one hue each; red is kept for drops, refusals and violations. */
const familyColors = ['#4e79a7', '#f28e2c', '#59a14f', '#af7aa1', '#9c755f', '#76b7b2', '#edc949', '#ff9da7'];

export function kindColor(protocolIndex: number, kindIndex: number): string {
  const base = d3.hsl(familyColors[protocolIndex % familyColors.length] as string);
  const hueShift = ((kindIndex * 47) % 100) - 50;
  const lightness = [0.42, 0.3, 0.52, 0.36, 0.47][kindIndex % 5] as number;
  return d3.hsl((base.h + hueShift + 360) % 360, Math.min(0.75, base.s + 0.1), lightness).formatHex();
}

/** Each protocol's index (its colour family): the header's protocols, then the nodes'. */
export function protocolIndexes(header: TraceHeader): Map<string, number> {
  const protocolIndex = new Map<string, number>();
  for (const protocol of [...header.protocols, ...header.nodes.map((node) => node.protocol)])
    if (!protocolIndex.has(protocol)) protocolIndex.set(protocol, protocolIndex.size);
  return protocolIndex;
}

/** `host:port` or `host` to the lane of the node on that host, or -1. */
export function laneOfTarget(target: string, laneByHost: ReadonlyMap<string, number>): number {
  const colon = target.lastIndexOf(':');
  const host = colon > 0 ? target.slice(0, colon) : target;
  return laneByHost.get(host) ?? laneByHost.get(target) ?? -1;
}

/** A protocol's own name for a message and a one-line summary (see `fedsim view`'s names.json). */
export interface MessageName {
  readonly name: string;
  readonly summary: string;
}

/** The protocols' names by msg id: a Map, or the worker's table (`NamesTable`). */
export interface MessageNames {
  get(msg: number): MessageName | undefined;
  readonly size: number;
}

/** Names as the worker posts them: columns, strings once each. */
export interface PackedNames {
  readonly msgs: Float64Array;
  /** Into `strings`. */
  readonly name: Int32Array;
  readonly summary: Int32Array;
  readonly strings: readonly string[];
}

export function packNames(names: ReadonlyMap<number, MessageName>): { packed: PackedNames; transfer: ArrayBuffer[] } {
  const strings: string[] = [];
  const ids = new Map<string, number>();
  const id = (text: string): number => {
    let found = ids.get(text);
    if (found === undefined) {
      found = strings.length;
      strings.push(text);
      ids.set(text, found);
    }
    return found;
  };
  const msgs = new Float64Array(names.size);
  const name = new Int32Array(names.size);
  const summary = new Int32Array(names.size);
  let at = 0;
  for (const [msg, entry] of names) {
    msgs[at] = msg;
    name[at] = id(entry.name);
    summary[at] = id(entry.summary);
    at += 1;
  }
  return { packed: { msgs, name, summary, strings }, transfer: [msgs.buffer, name.buffer, summary.buffer] };
}

/**
 * The worker's names on the page: looked up through an index built on the first `get` (a typed
 * array for msg ids up to a few times the count, a Map for others), each name made when asked.
 */
export class NamesTable implements MessageNames {
  private dense: Int32Array | undefined;
  private readonly sparse = new Map<number, number>();
  private readonly made = new Map<number, MessageName>();

  constructor(private readonly packed: PackedNames) {}

  get size(): number {
    return this.packed.msgs.length;
  }

  get(msg: number): MessageName | undefined {
    const { msgs, name, summary, strings } = this.packed;
    if (this.dense === undefined) {
      this.dense = new Int32Array(4 * msgs.length + 16).fill(-1);
      for (let at = 0; at < msgs.length; at++) {
        const id = msgs[at] as number;
        if (id >= 0 && id < this.dense.length && Number.isInteger(id)) this.dense[id] = at;
        else this.sparse.set(id, at);
      }
    }
    const at =
      msg >= 0 && msg < this.dense.length && Number.isInteger(msg)
        ? (this.dense[msg] as number)
        : (this.sparse.get(msg) ?? -1);
    if (at < 0) return undefined;
    let found = this.made.get(at);
    if (found === undefined) {
      found = { name: strings[name[at] as number] as string, summary: strings[summary[at] as number] as string };
      this.made.set(at, found);
    }
    return found;
  }
}

/** Parses names.json (`{ "names": { "<msg>": [name, summary] } }`); anything else gives no names. */
export function parseNames(value: unknown): Map<number, MessageName> {
  const names = new Map<number, MessageName>();
  if (typeof value !== 'object' || value === null) return names;
  const table = (value as { names?: unknown }).names;
  if (typeof table !== 'object' || table === null) return names;
  for (const [msg, entry] of Object.entries(table as Record<string, unknown>)) {
    if (!Array.isArray(entry) || typeof entry[0] !== 'string') continue;
    names.set(Number(msg), { name: entry[0], summary: typeof entry[1] === 'string' ? entry[1] : '' });
  }
  return names;
}

/**
 * A number per msg id (-1 when unset): a typed array for ids up to a few times the trace's length
 * (msg ids count up from 1), a Map for any others.
 */
export class MsgTable {
  private readonly dense: Int32Array;
  private readonly sparse = new Map<number, number>();

  constructor(events: number) {
    this.dense = new Int32Array(4 * events + 16).fill(-1);
  }

  get(msg: number): number {
    if (msg >= 0 && msg < this.dense.length && Number.isInteger(msg)) return this.dense[msg] as number;
    return this.sparse.get(msg) ?? -1;
  }

  set(msg: number, value: number): void {
    if (msg >= 0 && msg < this.dense.length && Number.isInteger(msg)) this.dense[msg] = value;
    else this.sparse.set(msg, value);
  }
}

export function buildModel(header: TraceHeader, events: readonly TraceEvent[], names: MessageNames = new Map()): Model {
  const labelOf = (send: TraceEvent & { kind: 'send' }): string =>
    names.get(send.msg)?.name ?? payloadLabel(send.payload.decoded, send.payload.size);
  const lanes: Lane[] = header.nodes.map((node) => ({ id: node.id, protocol: node.protocol, pseudo: false }));
  const laneById = new Map<string, number>(lanes.map((lane, index) => [lane.id, index]));
  const laneByHost = new Map<string, number>();
  header.nodes.forEach((node, index) => {
    laneByHost.set(node.host, index);
    laneByHost.set(node.id, index);
  });
  const usesDns = events.some((event) => event.kind === 'dns.query');
  const dnsLane = usesDns ? lanes.length : -1;
  if (usesDns) lanes.push({ id: dnsLaneId, protocol: 'dns', pseudo: true });
  const protocolIndex = protocolIndexes(header);

  const laneOf = new Int32Array(events.length);
  const atMs = new Float64Array(events.length);
  const category = new Uint8Array(events.length);
  const detail = new Uint8Array(events.length);
  const links: Link[] = [];
  const faults: FaultSpan[] = [];
  const states: StateChange[][] = lanes.map(() => []);
  const kinds = new Map<string, MessageKind>();
  const kindsPerProtocol = new Map<string, number>();
  const violations: number[] = [];
  const kindKeyOf: string[] = new Array<string>(events.length).fill('');
  const sends = new MsgTable(events.length); // msg -> event index of its (last) send
  const sendOrder: number[] = []; // event indexes of the sends
  const ended = new MsgTable(events.length); // 1: msgs that reached a receive or a drop
  const duplicated = new MsgTable(events.length); // 1: a duplicate is on its way
  const connects = new Map<string, number>(); // `${node} ${conn}` -> event index of conn.connect
  const dnsQueries = new Map<string, number>(); // `${node} ${query}` -> event index of dns.query
  const openFaults = new Map<string, number>(); // span -> index in faults

  const kindFor = (protocol: string, label: string): MessageKind => {
    const key = `${protocol}/${label}`;
    let kind = kinds.get(key);
    if (kind === undefined) {
      const index = kindsPerProtocol.get(protocol) ?? 0;
      kindsPerProtocol.set(protocol, index + 1);
      kind = { key, protocol, label, color: kindColor(protocolIndex.get(protocol) ?? 0, index), count: 0 };
      kinds.set(key, kind);
    }
    return kind;
  };
  const lanesOfDetail = (detail: Readonly<Record<string, unknown>>): number[] => {
    const found: number[] = [];
    for (const value of Object.values(detail)) {
      const candidates = Array.isArray(value) ? value : [value];
      for (const candidate of candidates) {
        if (typeof candidate !== 'string') continue;
        const lane = laneById.get(candidate) ?? laneOfTarget(candidate, laneByHost);
        if (lane >= 0 && !found.includes(lane)) found.push(lane);
      }
    }
    return found;
  };

  for (let index = 0; index < events.length; index++) {
    const event = events[index] as TraceEvent;
    const lane = event.node === 'sim' ? -1 : (laneById.get(event.node) ?? -1);
    laneOf[index] = lane;
    atMs[index] = event.atMs;
    category[index] = categories.indexOf(categoryOf(event));
    detail[index] = isDetail(event) ? 1 : 0;
    switch (event.kind) {
      case 'send': {
        sends.set(event.msg, index);
        sendOrder.push(index);
        const protocol = header.nodes[lane]?.protocol ?? 'unknown';
        const kind = kindFor(protocol, labelOf(event));
        kind.count += 1;
        kindKeyOf[index] = kind.key;
        break;
      }
      case 'receive':
      case 'drop':
      case 'duplicate': {
        const sent = sends.get(event.msg);
        const sendIndex = sent < 0 ? undefined : sent;
        const send = sendIndex === undefined ? undefined : (events[sendIndex] as TraceEvent & { kind: 'send' });
        const key = sendIndex === undefined ? 'unknown/?' : (kindKeyOf[sendIndex] as string);
        kindKeyOf[index] = key;
        if (event.kind === 'duplicate') {
          duplicated.set(event.msg, 1);
          break;
        }
        const kind = kinds.get(key);
        const fromLane = sendIndex === undefined ? -1 : (laneOf[sendIndex] as number);
        const toLane = event.kind === 'receive' ? lane : (laneById.get(event.to) ?? -1);
        if (fromLane < 0 || toLane < 0) break;
        const duplicate = event.kind === 'receive' && (ended.get(event.msg) === 1 || duplicated.get(event.msg) === 1);
        if (event.kind === 'receive' && duplicated.get(event.msg) === 1) duplicated.set(event.msg, 0);
        ended.set(event.msg, 1);
        const label = send === undefined ? `#${event.msg}` : (kind?.label ?? labelOf(send));
        links.push({
          style: 'message',
          from: sendIndex as number,
          to: index,
          fromLane,
          toLane,
          ending: event.kind === 'drop' ? 'cross' : 'arrow',
          label: event.kind === 'drop' ? `${label} ✕ ${event.reason}` : duplicate ? `${label} (dup)` : label,
          color: kind?.color ?? '#888888',
          kindKey: key,
          msg: event.msg,
          duplicate,
        });
        break;
      }
      case 'conn.connect':
        connects.set(`${event.node} ${event.conn}`, index);
        break;
      case 'conn.accept': {
        const connectIndex = connects.get(`${event.peer} ${event.peerConn}`);
        if (connectIndex === undefined) break;
        links.push({
          style: 'connect',
          from: connectIndex,
          to: index,
          fromLane: laneOf[connectIndex] as number,
          toLane: lane,
          ending: 'arrow',
          label: 'connect',
          color: '#8a8a8a',
          kindKey: 'connect',
          msg: 0,
          duplicate: false,
        });
        break;
      }
      case 'conn.refuse': {
        // Drawn at the refusal itself (not from the attempt), so that it shows in the story view,
        // which folds the attempt away with the other connection events.
        const targetLane = laneOfTarget(event.target, laneByHost);
        if (targetLane < 0 || targetLane === lane) break;
        links.push({
          style: 'refuse',
          from: index,
          to: index,
          fromLane: lane,
          toLane: targetLane,
          ending: 'cross',
          label: `connect ${event.target}: ${event.reason}`,
          color: '#d62728',
          kindKey: 'refuse',
          msg: 0,
          duplicate: false,
        });
        break;
      }
      case 'dns.query':
        dnsQueries.set(`${event.node} ${event.query}`, index);
        if (dnsLane >= 0 && lane >= 0)
          links.push({
            style: 'dns.query',
            from: index,
            to: index,
            fromLane: lane,
            toLane: dnsLane,
            ending: 'arrow',
            label: `${event.type} ${event.name}?`,
            color: '#7f7f7f',
            kindKey: 'dns',
            msg: 0,
            duplicate: false,
          });
        break;
      case 'dns.answer': {
        const queryIndex = dnsQueries.get(`${event.node} ${event.query}`) ?? index;
        if (dnsLane >= 0 && lane >= 0)
          links.push({
            style: 'dns.answer',
            from: queryIndex,
            to: index,
            fromLane: dnsLane,
            toLane: lane,
            ending: 'arrow',
            label: event.status === 'ok' ? event.records.join(', ') || 'ok' : event.status,
            color: '#7f7f7f',
            kindKey: 'dns',
            msg: 0,
            duplicate: false,
          });
        break;
      }
      case 'state':
        if (lane >= 0) states[lane]?.push({ index, machine: event.machine, value: event.value });
        break;
      case 'fault': {
        const involved = lanesOfDetail(event.detail);
        const label = `${event.fault}${involved.length > 0 ? ` ${involved.map((l) => lanes[l]?.id).join(' | ')}` : ''}`;
        if (event.phase === 'begin') {
          if (event.span !== undefined) openFaults.set(event.span, faults.length);
          faults.push({ fault: event.fault, from: index, to: -1, lanes: involved, label });
        } else if (event.phase === 'end') {
          const open = event.span === undefined ? undefined : openFaults.get(event.span);
          if (open !== undefined) {
            faults[open] = { ...(faults[open] as FaultSpan), to: index };
            openFaults.delete(event.span as string);
          }
        } else {
          faults.push({ fault: event.fault, from: index, to: index, lanes: involved, label });
        }
        break;
      }
      case 'check':
        if (event.verdict === 'violation') violations.push(index);
        break;
      default:
        break;
    }
  }
  for (const sendIndex of sendOrder) {
    const send = events[sendIndex] as TraceEvent & { kind: 'send' };
    const msg = send.msg;
    if (sends.get(msg) !== sendIndex || ended.get(msg) === 1) continue;
    const toLane = laneById.get(send.to) ?? -1;
    if (toLane < 0) continue;
    const key = kindKeyOf[sendIndex] as string;
    links.push({
      style: 'message',
      from: sendIndex,
      to: sendIndex,
      fromLane: laneOf[sendIndex] as number,
      toLane,
      ending: 'open',
      label: `${labelOf(send)} (in flight)`,
      color: kinds.get(key)?.color ?? '#888888',
      kindKey: key,
      msg,
      duplicate: false,
    });
  }
  links.sort((a, b) => a.from - b.from || a.to - b.to);
  const linkAt = new Int32Array(events.length).fill(-1);
  links.forEach((link, linkIndex) => {
    for (const at of [link.from, link.to]) {
      const current = linkAt[at] as number;
      if (current < 0 || (link.style === 'message' && links[current]?.style !== 'message')) linkAt[at] = linkIndex;
    }
  });
  return {
    header,
    events: TraceEvents.of(events),
    atMs,
    category,
    detail,
    lanes,
    laneOf,
    links,
    linkAt,
    faults,
    states,
    kinds,
    violations,
    kindKeyOf,
    names,
  };
}

export const linkStyles: readonly LinkStyle[] = ['message', 'connect', 'refuse', 'dns.query', 'dns.answer'];
export const linkEndings: readonly LinkEnding[] = ['arrow', 'cross', 'open'];

/**
 * A model as the worker posts it to the page: typed arrays (transferred, not copied) for
 * everything per event and per link, plain values for the few faults, states and kinds. The
 * events themselves travel as the trace text (see `TraceEvents.lines`).
 */
export interface PackedModel {
  readonly header: TraceHeader;
  readonly lanes: readonly Lane[];
  readonly faults: readonly FaultSpan[];
  readonly states: readonly (readonly StateChange[])[];
  readonly kinds: readonly MessageKind[];
  readonly violations: readonly number[];
  readonly laneOf: Int32Array;
  readonly linkAt: Int32Array;
  readonly atMs: Float64Array;
  readonly category: Uint8Array;
  readonly detail: Uint8Array;
  /** Index into `keys` of each event's kind key, -1 for ''. */
  readonly kindKey: Int32Array;
  readonly keys: readonly string[];
  readonly colors: readonly string[];
  /** The links' distinct labels (most links share their kind's). */
  readonly labels: readonly string[];
  readonly link: {
    readonly from: Int32Array;
    readonly to: Int32Array;
    readonly fromLane: Int32Array;
    readonly toLane: Int32Array;
    readonly style: Uint8Array;
    readonly ending: Uint8Array;
    readonly duplicate: Uint8Array;
    readonly msg: Float64Array;
    /** Into `keys`. */
    readonly key: Int32Array;
    /** Into `colors`. */
    readonly color: Int32Array;
    /** Into `labels`. */
    readonly label: Int32Array;
  };
}

/** The model as columns, and the buffers to transfer with it. */
export function packModel(model: Model): { packed: PackedModel; transfer: ArrayBuffer[] } {
  const keys: string[] = [];
  const keyIndex = new Map<string, number>();
  const keyOf = (key: string): number => {
    let index = keyIndex.get(key);
    if (index === undefined) {
      index = keys.length;
      keys.push(key);
      keyIndex.set(key, index);
    }
    return index;
  };
  const colors: string[] = [];
  const colorIndex = new Map<string, number>();
  const count = model.laneOf.length;
  const kindKey = new Int32Array(count);
  for (let index = 0; index < count; index++) {
    const key = model.kindKeyOf[index] as string;
    kindKey[index] = key === '' ? -1 : keyOf(key);
  }
  const links = model.links;
  const link = {
    from: new Int32Array(links.length),
    to: new Int32Array(links.length),
    fromLane: new Int32Array(links.length),
    toLane: new Int32Array(links.length),
    style: new Uint8Array(links.length),
    ending: new Uint8Array(links.length),
    duplicate: new Uint8Array(links.length),
    msg: new Float64Array(links.length),
    key: new Int32Array(links.length),
    color: new Int32Array(links.length),
    label: new Int32Array(links.length),
  };
  const labels: string[] = [];
  const labelIndex = new Map<string, number>();
  links.forEach((one, index) => {
    link.from[index] = one.from;
    link.to[index] = one.to;
    link.fromLane[index] = one.fromLane;
    link.toLane[index] = one.toLane;
    link.style[index] = linkStyles.indexOf(one.style);
    link.ending[index] = linkEndings.indexOf(one.ending);
    link.duplicate[index] = one.duplicate ? 1 : 0;
    link.msg[index] = one.msg;
    link.key[index] = keyOf(one.kindKey);
    let color = colorIndex.get(one.color);
    if (color === undefined) {
      color = colors.length;
      colors.push(one.color);
      colorIndex.set(one.color, color);
    }
    link.color[index] = color;
    let label = labelIndex.get(one.label);
    if (label === undefined) {
      label = labels.length;
      labels.push(one.label);
      labelIndex.set(one.label, label);
    }
    link.label[index] = label;
  });
  const packed: PackedModel = {
    header: model.header,
    lanes: model.lanes,
    faults: model.faults,
    states: model.states,
    kinds: [...model.kinds.values()],
    violations: model.violations,
    laneOf: model.laneOf,
    linkAt: model.linkAt,
    atMs: model.atMs,
    category: model.category,
    detail: model.detail,
    kindKey,
    keys,
    colors,
    labels,
    link,
  };
  const transfer = [
    model.laneOf,
    model.linkAt,
    model.atMs,
    model.category,
    model.detail,
    kindKey,
    link.from,
    link.to,
    link.fromLane,
    link.toLane,
    link.style,
    link.ending,
    link.duplicate,
    link.msg,
    link.key,
    link.color,
    link.label,
  ].map((array) => array.buffer as ArrayBuffer);
  return { packed, transfer };
}

/** The model again from its columns (on the page, from the worker's message). */
export function unpackModel(packed: PackedModel, events: TraceEvents, names: MessageNames): Model {
  const { keys, colors, labels, link } = packed;
  const count = packed.laneOf.length;
  const kindKeyOf = new Array<string>(count);
  for (let index = 0; index < count; index++) {
    const key = packed.kindKey[index] as number;
    kindKeyOf[index] = key < 0 ? '' : (keys[key] as string);
  }
  const links = new Array<Link>(link.from.length);
  for (let index = 0; index < links.length; index++)
    links[index] = {
      style: linkStyles[link.style[index] as number] as LinkStyle,
      from: link.from[index] as number,
      to: link.to[index] as number,
      fromLane: link.fromLane[index] as number,
      toLane: link.toLane[index] as number,
      ending: linkEndings[link.ending[index] as number] as LinkEnding,
      label: labels[link.label[index] as number] as string,
      color: colors[link.color[index] as number] as string,
      kindKey: keys[link.key[index] as number] as string,
      msg: link.msg[index] as number,
      duplicate: link.duplicate[index] === 1,
    };
  return {
    header: packed.header,
    events,
    atMs: packed.atMs,
    category: packed.category,
    detail: packed.detail,
    lanes: packed.lanes,
    laneOf: packed.laneOf,
    links,
    linkAt: packed.linkAt,
    faults: packed.faults,
    states: packed.states,
    kinds: new Map(packed.kinds.map((kind) => [kind.key, kind])),
    violations: packed.violations,
    kindKeyOf,
    names,
  };
}

/** The latest value of each machine of `lane` at event `index` (inclusive), in machine order of first appearance. */
export function statesAt(model: Model, lane: number, index: number): { machine: string; value: string }[] {
  const changes = model.states[lane] ?? [];
  let low = 0;
  let high = changes.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((changes[middle] as StateChange).index <= index) low = middle + 1;
    else high = middle;
  }
  const latest = new Map<string, string>();
  for (let i = 0; i < low; i++) {
    const change = changes[i] as StateChange;
    latest.set(change.machine, change.value);
  }
  return [...latest].map(([machine, value]) => ({ machine, value }));
}
