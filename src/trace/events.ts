/**
 * The trace format: NDJSON, one JSON object per line. This file is the schema shared by the
 * simulator (which writes traces), the checkers, the exporters and the viewer (which reads them).
 * It imports nothing, so that the viewer can import it alone.
 *
 * A trace is a header line, then one event per line, then an end line with the sha256 (hex) of
 * every byte before it. No wall-clock time and no xstate session ids ever appear in a trace: the
 * same scenario and seed give a byte-identical file.
 */

export const traceFormat = 'fedsim-trace';
export const traceFormatVersion = 1;

export interface TraceHeader {
  readonly format: typeof traceFormat;
  readonly version: typeof traceFormatVersion;
  readonly scenario: string;
  readonly seed: number;
  /** Protocols that appear in the run. */
  readonly protocols: readonly string[];
  /** Every node of the run, in declaration order (the viewer's lanes). */
  readonly nodes: readonly { readonly id: string; readonly host: string; readonly protocol: string }[];
  /**
   * Plugin protocols' modules, by protocol name: a path relative to the working directory of the
   * run, or a package name (`fedsim view` loads them for message names). Absent when every
   * protocol is built in.
   */
  readonly plugins?: Readonly<Record<string, string>>;
}

/** Fields every event has. */
export interface TraceEventBase {
  /** Position in the trace, from 1, without gaps. */
  readonly seq: number;
  /** Virtual time in integer milliseconds. */
  readonly atMs: number;
  /** The node the event happened at, or `sim` for events of the world itself (faults, scenario steps, checks). */
  readonly node: string;
  /** Lamport clock of `node` after the event (0 for `sim` events). */
  readonly lamport: number;
}

/** A byte payload: base64 for replay, and decoded for people when the protocol could decode it. */
export interface Payload {
  readonly size: number;
  readonly base64: string;
  readonly decoded?: unknown;
}

export type TraceEventBody =
  | { readonly kind: 'node.start'; readonly incarnation: number }
  | { readonly kind: 'node.crash'; readonly incarnation: number }
  /** A graceful stop (a scenario's `stop` step): the node finished, its connections closed. */
  | { readonly kind: 'node.stop'; readonly incarnation: number }
  | { readonly kind: 'listen'; readonly endpoint: string }
  | { readonly kind: 'unlisten'; readonly endpoint: string }
  /** `conn` is the id at `node`; `peer` the node id at the other end once known. */
  | { readonly kind: 'conn.connect'; readonly conn: string; readonly target: string }
  | { readonly kind: 'conn.accept'; readonly conn: string; readonly peer: string; readonly peerConn: string }
  | { readonly kind: 'conn.open'; readonly conn: string; readonly peer: string; readonly peerConn: string }
  | { readonly kind: 'conn.refuse'; readonly conn: string; readonly target: string; readonly reason: string }
  | { readonly kind: 'conn.close'; readonly conn: string; readonly reason: string }
  /** Flow control: everything written on `conn` has left, after a write had reached the high-water mark; the node is told (`conn.drain`). */
  | { readonly kind: 'conn.drain'; readonly conn: string }
  /** `node` began a TLS handshake on `conn` (STARTTLS) as `role`; bytes it writes from here on are inside TLS. */
  | { readonly kind: 'tls.start'; readonly conn: string; readonly role: string }
  /** The TLS handshake on `conn` ended: `ok`, or failed for `reason` (the connection is then torn down). */
  | { readonly kind: 'tls.done'; readonly conn: string; readonly ok: boolean; readonly reason?: string }
  /** A message left `node`. `msg` identifies it; the matching `receive` (or `drop`) names the same `msg`. */
  | {
      readonly kind: 'send';
      readonly msg: number;
      readonly transport: 'stream' | 'datagram';
      readonly conn?: string;
      readonly to: string;
      readonly payload: Payload;
    }
  | {
      readonly kind: 'receive';
      readonly msg: number;
      readonly transport: 'stream' | 'datagram';
      readonly conn?: string;
      readonly from: string;
      /** Lamport clock of the sender at `send`. */
      readonly sentLamport: number;
      readonly payload: Payload;
    }
  /** A message that will never arrive: lost, sent into a reset connection, or to a crashed node. */
  | { readonly kind: 'drop'; readonly msg: number; readonly to: string; readonly reason: string }
  /** The network delivered a second copy of `msg`; a `receive` with the same `msg` follows. */
  | { readonly kind: 'duplicate'; readonly msg: number; readonly to: string }
  | { readonly kind: 'dns.query'; readonly query: string; readonly name: string; readonly type: string }
  | {
      readonly kind: 'dns.answer';
      readonly query: string;
      readonly name: string;
      readonly type: string;
      readonly status: string;
      readonly records: readonly string[];
    }
  | { readonly kind: 'timer'; readonly name: string }
  /** A statechart changed state. `machine` is the machine id, `value` its state value as the statechart names it. */
  | { readonly kind: 'state'; readonly machine: string; readonly value: string }
  | { readonly kind: 'command'; readonly command: unknown }
  | {
      readonly kind: 'deliver';
      readonly user: string;
      readonly from: string;
      readonly body: string;
      readonly id?: string;
      readonly detail?: unknown;
    }
  | { readonly kind: 'reject'; readonly code: string; readonly reason: string; readonly detail?: unknown }
  | { readonly kind: 'note'; readonly what: string; readonly detail?: unknown }
  /** A fault began or ended. `span` pairs a begin with its end (partition/heal, clog/unclog, crash/restart). */
  | {
      readonly kind: 'fault';
      readonly fault: string;
      readonly phase: 'begin' | 'end' | 'instant';
      readonly span?: string;
      readonly detail: Readonly<Record<string, unknown>>;
    }
  /** A checker verdict: a violated safety property, or a liveness expectation met or missed. */
  | {
      readonly kind: 'check';
      readonly requirement: string;
      readonly verdict: 'ok' | 'violation';
      readonly message: string;
    };

export type TraceEvent = TraceEventBase & TraceEventBody;
export type TraceEventKind = TraceEventBody['kind'];

export interface TraceEnd {
  readonly end: true;
  readonly events: number;
  /** The final virtual time of the run. */
  readonly atMs: number;
  /** sha256 (hex) of every byte before this line. */
  readonly sha256: string;
}
