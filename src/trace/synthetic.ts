/**
 * A deterministic generator of valid traces: N events across K nodes, with sends, receives,
 * drops, duplicates, connections, DNS queries, timers, state changes, faults and checks, and
 * correct Lamport clocks. Tests and benchmarks use it (the viewer's 100,000-event trace).
 *
 * It draws only from a seeded Prng stream (src/core/prng.ts), so the same options give the
 * same bytes. It must not read clocks or Math.random, and it is not a simulator: the protocol
 * content is made up, only the trace format and the causal structure are real.
 */
import { assert } from '../core/assert.js';
import { Prng } from '../core/prng.js';
import { traceFormat, traceFormatVersion } from './events.js';
import type { Payload, TraceEvent, TraceEventBody, TraceHeader } from './events.js';
import { formatTrace } from './reader.js';

export interface SyntheticOptions {
  readonly seed: number;
  /** Exactly this many events. */
  readonly events: number;
  /** Node count, at least 2. */
  readonly nodes: number;
  /**
   * Puts one checker violation at this fraction of the trace (the viewer opens there).
   * @defaultValue 0.7; `null` means no violation.
   */
  readonly violationAtRatio?: number | null;
}

const protocols = ['fmtp', 'f140', 'solec'] as const;
const verbs = ['HELLO', 'REQUEST', 'REDIRECT', 'RELAY', 'ACK', 'PING'] as const;
const states = ['idle', 'connecting', 'greeting', 'established', 'relaying', 'draining'] as const;

interface InFlight {
  readonly atMs: number;
  readonly msg: number;
  readonly from: string;
  readonly to: string;
  readonly sentLamport: number;
  readonly payload: Payload;
  readonly duplicate: boolean;
}

interface OpenFault {
  readonly span: string;
  readonly fault: 'partition' | 'clog' | 'crash';
  readonly nodes: readonly string[];
  readonly untilMs: number;
}

function payloadOf(decoded: Readonly<Record<string, unknown>>): Payload {
  const text = JSON.stringify(decoded);
  return { size: Buffer.byteLength(text), base64: Buffer.from(text).toString('base64'), decoded };
}

/** The nodes' ids of a synthetic run: `node-00.test`, `node-01.test`, ... */
export function syntheticNodeIds(count: number): string[] {
  return Array.from({ length: count }, (_, index) => `node-${String(index).padStart(2, '0')}.test`);
}

/**
 * One run of the generator: the clock, the nodes' Lamport clocks, the messages in flight and the
 * open faults. Each tick advances the clock, delivers what is due, ends the faults whose time
 * is up, and has one live node do one thing. The steps draw from the Prng in a fixed order:
 * the trace's bytes depend on it.
 */
class SyntheticRun {
  readonly events: TraceEvent[] = [];
  private readonly prng: Prng;
  private readonly lamport: Map<string, number>;
  private readonly crashed = new Set<string>();
  /** Sorted by atMs, then by insertion; small (bounded by the send rate x latency). */
  private readonly inFlight: InFlight[] = [];
  private readonly faults: OpenFault[] = [];
  private nowMs = 0;
  private msgNext = 1;
  private connNext = 1;
  private spanNext = 1;

  constructor(
    seed: number,
    private readonly header: TraceHeader,
    private readonly ids: readonly string[],
    private readonly eventsMax: number,
    /** The event count after which the violation goes in, or -1. */
    private readonly violationAt: number,
  ) {
    this.prng = new Prng(seed, 'trace:synthetic');
    this.lamport = new Map<string, number>(ids.map((id) => [id, 0]));
  }

  run(): TraceEvent[] {
    while (this.events.length < this.eventsMax) {
      this.nowMs += this.prng.int(0, 3);
      this.deliverDue();
      this.endFaults();
      const live = this.ids.filter((id) => !this.crashed.has(id));
      if (live.length === 0) continue;
      this.act(this.prng.pick(live));
    }
    return this.events.slice(0, this.eventsMax);
  }

  /** Appends an event (none past `eventsMax`), ticking the node's Lamport clock; the violation follows its event. */
  private push(node: string, body: TraceEventBody, receivedLamport?: number): void {
    const { events, lamport } = this;
    if (events.length >= this.eventsMax) return;
    let clock = 0;
    if (node !== 'sim') {
      clock = Math.max(lamport.get(node) ?? 0, receivedLamport ?? 0) + 1;
      lamport.set(node, clock);
    }
    events.push({ seq: events.length + 1, atMs: this.nowMs, node, lamport: clock, ...body } as TraceEvent);
    if (events.length === this.violationAt) {
      events.push({
        seq: events.length + 1,
        atMs: this.nowMs,
        node: 'sim',
        lamport: 0,
        kind: 'check',
        requirement: 'SYN-1-exactly-once',
        verdict: 'violation',
        message: 'a message was delivered twice (synthetic violation)',
      });
    }
  }

  private blocked(a: string, b: string): boolean {
    return this.faults.some(
      (fault) =>
        (fault.fault !== 'crash' && fault.nodes.includes(a) && fault.nodes.includes(b)) ||
        (fault.fault === 'crash' && (fault.nodes[0] === a || fault.nodes[0] === b)),
    );
  }

  private enqueue(flight: InFlight): void {
    const { inFlight } = this;
    let index = inFlight.length;
    while (index > 0 && (inFlight[index - 1] as InFlight).atMs > flight.atMs) index -= 1;
    inFlight.splice(index, 0, flight);
  }

  private otherThan(node: string): string {
    const count = this.ids.length;
    const index = this.ids.indexOf(node);
    return this.ids[(index + this.prng.int(1, count - 1)) % count] as string;
  }

  /** Receives (or drops, at a crashed node) every message due by now; a few are delivered to a user. */
  private deliverDue(): void {
    const { inFlight } = this;
    while (inFlight.length > 0 && (inFlight[0] as InFlight).atMs <= this.nowMs && this.events.length < this.eventsMax) {
      const flight = inFlight.shift() as InFlight;
      if (this.crashed.has(flight.to)) {
        this.push('sim', { kind: 'drop', msg: flight.msg, to: flight.to, reason: 'receiver crashed' });
        continue;
      }
      if (flight.duplicate) this.push('sim', { kind: 'duplicate', msg: flight.msg, to: flight.to });
      const { msg, from, sentLamport, payload } = flight;
      this.push(flight.to, { kind: 'receive', msg, transport: 'datagram', from, sentLamport, payload }, sentLamport);
      if (this.prng.chance(0.05)) {
        const body = (flight.payload.decoded as { body?: string } | undefined)?.body ?? '';
        this.push(flight.to, { kind: 'deliver', user: `user@${flight.to}`, from: `user@${flight.from}`, body });
      }
    }
  }

  /** Ends the faults whose time is up (latest first); a crashed node starts again. */
  private endFaults(): void {
    const { faults } = this;
    for (let index = faults.length - 1; index >= 0; index -= 1) {
      const fault = faults[index] as OpenFault;
      if (fault.untilMs > this.nowMs) continue;
      faults.splice(index, 1);
      if (fault.fault === 'crash') {
        const node = fault.nodes[0] as string;
        this.crashed.delete(node);
        this.push(node, { kind: 'node.start', incarnation: 2 });
      }
      const detail = { nodes: fault.nodes };
      this.push('sim', { kind: 'fault', fault: fault.fault, phase: 'end', span: fault.span, detail });
    }
  }

  /** One thing `node` does, by a roll: mostly sends, then states, DNS, connections, timers, notes, faults, checks, commands. */
  private act(node: string): void {
    const roll = this.prng.float();
    if (roll < 0.6) this.send(node);
    else if (roll < 0.72) {
      const machine = `${this.header.nodes[this.ids.indexOf(node)]?.protocol}.node`;
      this.push(node, { kind: 'state', machine, value: this.prng.pick(states) });
    } else if (roll < 0.78) this.lookUp(node);
    else if (roll < 0.86) this.connect(node);
    else if (roll < 0.94) this.push(node, { kind: 'timer', name: 'retry' });
    else if (roll < 0.97) this.push(node, { kind: 'note', what: `note ${this.events.length}` });
    else if (roll < 0.975 && this.faults.length < 2) this.beginFault(node);
    else if (roll < 0.98)
      this.push('sim', { kind: 'check', requirement: 'SYN-2-liveness', verdict: 'ok', message: 'progress made' });
    else this.push(node, { kind: 'command', command: { type: 'send', to: `user@${this.otherThan(node)}` } });
  }

  /** A send: dropped at once when blocked or lost, else in flight (rarely with a duplicate). */
  private send(node: string): void {
    const { prng } = this;
    const to = this.otherThan(node);
    const msg = this.msgNext++;
    const payload = payloadOf({ type: prng.pick(verbs), n: msg, body: `m${msg}` });
    this.push(node, { kind: 'send', msg, transport: 'datagram', to, payload });
    const sentLamport = this.lamport.get(node) ?? 0;
    if (this.blocked(node, to)) {
      this.push('sim', { kind: 'drop', msg, to, reason: 'partition' });
    } else if (prng.chance(0.02)) {
      this.push('sim', { kind: 'drop', msg, to, reason: 'lost' });
    } else {
      const atMs = this.nowMs + prng.int(1, 40);
      this.enqueue({ atMs, msg, from: node, to, sentLamport, payload, duplicate: false });
      if (prng.chance(0.01))
        this.enqueue({ atMs: atMs + prng.int(1, 20), msg, from: node, to, sentLamport, payload, duplicate: true });
    }
  }

  private lookUp(node: string): void {
    const query = `q${this.connNext++}`;
    const name = `fmtpkey.${this.otherThan(node)}`;
    this.push(node, { kind: 'dns.query', query, name, type: 'TXT' });
    this.push(node, { kind: 'dns.answer', query, name, type: 'TXT', status: 'ok', records: ['key=synthetic'] });
  }

  private connect(node: string): void {
    const target = this.otherThan(node);
    const conn = `c${this.connNext++}`;
    this.push(node, { kind: 'conn.connect', conn, target: `${target}:7000` });
    if (this.blocked(node, target) || this.prng.chance(0.2)) {
      this.push(node, { kind: 'conn.refuse', conn, target: `${target}:7000`, reason: 'connection refused' });
    } else {
      this.push(node, { kind: 'conn.open', conn, peer: target, peerConn: `a${conn}` });
    }
  }

  private beginFault(node: string): void {
    const span = `f${this.spanNext++}`;
    const fault = this.prng.pick(['partition', 'clog', 'crash'] as const);
    const nodesOf = fault === 'crash' ? [node] : [node, this.otherThan(node)];
    this.faults.push({ span, fault, nodes: nodesOf, untilMs: this.nowMs + this.prng.int(50, 400) });
    this.push('sim', { kind: 'fault', fault, phase: 'begin', span, detail: { nodes: nodesOf } });
    if (fault === 'crash') {
      this.crashed.add(node);
      this.push(node, { kind: 'node.crash', incarnation: 1 });
    }
  }
}

/** Generates a trace's header and events. */
export function syntheticTrace(options: SyntheticOptions): { header: TraceHeader; events: TraceEvent[] } {
  const { seed, nodes: nodeCount } = options;
  const eventsMax = options.events;
  assert(nodeCount >= 2, 'a synthetic trace needs at least two nodes');
  assert(Number.isSafeInteger(eventsMax) && eventsMax >= 0, 'events must be a non-negative integer');
  const ratio = options.violationAtRatio === undefined ? 0.7 : options.violationAtRatio;
  const violationAt = ratio === null ? -1 : Math.min(eventsMax - 1, Math.max(1, Math.floor(eventsMax * ratio)));
  const ids = syntheticNodeIds(nodeCount);
  const header: TraceHeader = {
    format: traceFormat,
    version: traceFormatVersion,
    scenario: `synthetic/${nodeCount}-nodes-${eventsMax}-events`,
    seed,
    protocols: protocols.slice(0, Math.min(nodeCount, protocols.length)),
    nodes: ids.map((id, index) => ({ id, host: id, protocol: protocols[index % protocols.length] as string })),
  };
  return { header, events: new SyntheticRun(seed, header, ids, eventsMax, violationAt).run() };
}

/** The synthetic trace as NDJSON text with a valid end line. */
export function syntheticTraceText(options: SyntheticOptions): string {
  const { header, events } = syntheticTrace(options);
  return formatTrace(header, events);
}
