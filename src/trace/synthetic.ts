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

/** Generates a trace's header and events. */
export function syntheticTrace(options: SyntheticOptions): { header: TraceHeader; events: TraceEvent[] } {
  const { seed, nodes: nodeCount } = options;
  const eventsMax = options.events;
  assert(nodeCount >= 2, 'a synthetic trace needs at least two nodes');
  assert(Number.isSafeInteger(eventsMax) && eventsMax >= 0, 'events must be a non-negative integer');
  const ratio = options.violationAtRatio === undefined ? 0.7 : options.violationAtRatio;
  const violationAt = ratio === null ? -1 : Math.min(eventsMax - 1, Math.max(1, Math.floor(eventsMax * ratio)));
  const prng = new Prng(seed, 'trace:synthetic');
  const ids = syntheticNodeIds(nodeCount);
  const header: TraceHeader = {
    format: traceFormat,
    version: traceFormatVersion,
    scenario: `synthetic/${nodeCount}-nodes-${eventsMax}-events`,
    seed,
    protocols: protocols.slice(0, Math.min(nodeCount, protocols.length)),
    nodes: ids.map((id, index) => ({ id, host: id, protocol: protocols[index % protocols.length] as string })),
  };
  const events: TraceEvent[] = [];
  const lamport = new Map<string, number>(ids.map((id) => [id, 0]));
  const crashed = new Set<string>();
  const inFlight: InFlight[] = []; // Sorted by atMs, then by insertion; small (bounded by the send rate x latency).
  const faults: OpenFault[] = [];
  let nowMs = 0;
  let msgNext = 1;
  let connNext = 1;
  let spanNext = 1;

  const push = (node: string, body: TraceEventBody, receivedLamport?: number): void => {
    if (events.length >= eventsMax) return;
    let clock = 0;
    if (node !== 'sim') {
      clock = Math.max(lamport.get(node) ?? 0, receivedLamport ?? 0) + 1;
      lamport.set(node, clock);
    }
    events.push({ seq: events.length + 1, atMs: nowMs, node, lamport: clock, ...body } as TraceEvent);
    if (events.length === violationAt) {
      events.push({
        seq: events.length + 1,
        atMs: nowMs,
        node: 'sim',
        lamport: 0,
        kind: 'check',
        requirement: 'SYN-1-exactly-once',
        verdict: 'violation',
        message: 'a message was delivered twice (synthetic violation)',
      });
    }
  };
  const blocked = (a: string, b: string): boolean =>
    faults.some(
      (fault) =>
        (fault.fault !== 'crash' && fault.nodes.includes(a) && fault.nodes.includes(b)) ||
        (fault.fault === 'crash' && (fault.nodes[0] === a || fault.nodes[0] === b)),
    );
  const enqueue = (flight: InFlight): void => {
    let index = inFlight.length;
    while (index > 0 && (inFlight[index - 1] as InFlight).atMs > flight.atMs) index -= 1;
    inFlight.splice(index, 0, flight);
  };
  const otherThan = (node: string): string => {
    const index = ids.indexOf(node);
    return ids[(index + prng.int(1, nodeCount - 1)) % nodeCount] as string;
  };

  while (events.length < eventsMax) {
    nowMs += prng.int(0, 3);
    while (inFlight.length > 0 && (inFlight[0] as InFlight).atMs <= nowMs && events.length < eventsMax) {
      const flight = inFlight.shift() as InFlight;
      if (crashed.has(flight.to)) {
        push('sim', { kind: 'drop', msg: flight.msg, to: flight.to, reason: 'receiver crashed' });
        continue;
      }
      if (flight.duplicate) push('sim', { kind: 'duplicate', msg: flight.msg, to: flight.to });
      push(
        flight.to,
        {
          kind: 'receive',
          msg: flight.msg,
          transport: 'datagram',
          from: flight.from,
          sentLamport: flight.sentLamport,
          payload: flight.payload,
        },
        flight.sentLamport,
      );
      if (prng.chance(0.05)) {
        const body = (flight.payload.decoded as { body?: string } | undefined)?.body ?? '';
        push(flight.to, { kind: 'deliver', user: `user@${flight.to}`, from: `user@${flight.from}`, body });
      }
    }
    for (let index = faults.length - 1; index >= 0; index -= 1) {
      const fault = faults[index] as OpenFault;
      if (fault.untilMs > nowMs) continue;
      faults.splice(index, 1);
      if (fault.fault === 'crash') {
        const node = fault.nodes[0] as string;
        crashed.delete(node);
        push(node, { kind: 'node.start', incarnation: 2 });
      }
      push('sim', {
        kind: 'fault',
        fault: fault.fault,
        phase: 'end',
        span: fault.span,
        detail: { nodes: fault.nodes },
      });
    }
    const live = ids.filter((id) => !crashed.has(id));
    if (live.length === 0) continue;
    const node = prng.pick(live);
    const roll = prng.float();
    if (roll < 0.6) {
      const to = otherThan(node);
      const msg = msgNext++;
      const decoded = { type: prng.pick(verbs), n: msg, body: `m${msg}` };
      const payload = payloadOf(decoded);
      push(node, { kind: 'send', msg, transport: 'datagram', to, payload });
      const sentLamport = lamport.get(node) ?? 0;
      if (blocked(node, to)) {
        push('sim', { kind: 'drop', msg, to, reason: 'partition' });
      } else if (prng.chance(0.02)) {
        push('sim', { kind: 'drop', msg, to, reason: 'lost' });
      } else {
        const atMs = nowMs + prng.int(1, 40);
        enqueue({ atMs, msg, from: node, to, sentLamport, payload, duplicate: false });
        if (prng.chance(0.01))
          enqueue({ atMs: atMs + prng.int(1, 20), msg, from: node, to, sentLamport, payload, duplicate: true });
      }
    } else if (roll < 0.72) {
      push(node, {
        kind: 'state',
        machine: `${header.nodes[ids.indexOf(node)]?.protocol}.node`,
        value: prng.pick(states),
      });
    } else if (roll < 0.78) {
      const query = `q${connNext++}`;
      const name = `fmtpkey.${otherThan(node)}`;
      push(node, { kind: 'dns.query', query, name, type: 'TXT' });
      push(node, { kind: 'dns.answer', query, name, type: 'TXT', status: 'ok', records: ['key=synthetic'] });
    } else if (roll < 0.86) {
      const target = otherThan(node);
      const conn = `c${connNext++}`;
      push(node, { kind: 'conn.connect', conn, target: `${target}:7000` });
      if (blocked(node, target) || prng.chance(0.2)) {
        push(node, { kind: 'conn.refuse', conn, target: `${target}:7000`, reason: 'connection refused' });
      } else {
        push(node, { kind: 'conn.open', conn, peer: target, peerConn: `a${conn}` });
      }
    } else if (roll < 0.94) {
      push(node, { kind: 'timer', name: 'retry' });
    } else if (roll < 0.97) {
      push(node, { kind: 'note', what: `note ${events.length}` });
    } else if (roll < 0.975 && faults.length < 2) {
      const span = `f${spanNext++}`;
      const fault = prng.pick(['partition', 'clog', 'crash'] as const);
      const nodesOf = fault === 'crash' ? [node] : [node, otherThan(node)];
      faults.push({ span, fault, nodes: nodesOf, untilMs: nowMs + prng.int(50, 400) });
      push('sim', { kind: 'fault', fault, phase: 'begin', span, detail: { nodes: nodesOf } });
      if (fault === 'crash') {
        crashed.add(node);
        push(node, { kind: 'node.crash', incarnation: 1 });
      }
    } else if (roll < 0.98) {
      push('sim', { kind: 'check', requirement: 'SYN-2-liveness', verdict: 'ok', message: 'progress made' });
    } else {
      push(node, { kind: 'command', command: { type: 'send', to: `user@${otherThan(node)}` } });
    }
  }
  return { header, events: events.slice(0, eventsMax) };
}

/** The synthetic trace as NDJSON text with a valid end line. */
export function syntheticTraceText(options: SyntheticOptions): string {
  const { header, events } = syntheticTrace(options);
  return formatTrace(header, events);
}
