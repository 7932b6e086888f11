/**
 * The sans-IO node contract. A protocol node never touches a socket, a timer, a clock or a random
 * source: it takes inputs as values (`NodeInput`) and gives outputs as values (`NodeOutput`), through
 * the `NodeHost` that created it. Two hosts drive the same node code: the simulator (virtual time,
 * seeded network) and the real host (node:net / node:http, wall clock).
 *
 * Rule 1: nothing under src/protocols/ imports from src/sim/, src/real/ or node:* I/O modules.
 * Rule 2: everything a node needs from the world arrives through `NodeHost`: the injected clock for
 * xstate's `after` timers, the statechart engine its actors run on, its seeded random stream, its
 * durable store, `emit` for outputs, and the flow-control reading `bufferedBytes` (with its
 * `conn.drain` input).
 */
import type { z } from 'zod';
import type { ConnId, NodeId } from '../core/ids.js';
import type { Prng } from '../core/prng.js';
import type { HostClock, Ms } from '../core/time.js';
import { jsonClone } from '../core/json-clone.js';
import type { Engine } from '../engine/engine.js';
import type { WireField } from '../core/wire-fields.js';

export type { HostClock };

/** Where a stream connection goes: a host name or address and a TCP port, or a local socket path on the same host. */
export type Endpoint = { readonly host: string; readonly port: number } | { readonly path: string };

/** The record types of the simulated DNS (and of a RealHost's static zone). */
export const dnsRecordTypes = ['A', 'MX', 'SRV', 'TXT'] as const;

export type DnsRecordType = (typeof dnsRecordTypes)[number];

/**
 * An MX answer is `"<preference> <host>"`, an SRV answer `"<priority> <weight> <port> <target>"` (RFC 2782's
 * presentation order), an A answer an address, a TXT answer the text.
 */
export type DnsStatus = 'ok' | 'nxdomain' | 'servfail';

/** Why a connection attempt failed. */
export type ConnectFailure = 'refused' | 'timeout' | 'unresolved';

/** Why an open connection ended: the peer closed it, or the host reset it (crash or partition outlasted a timeout). */
export type CloseReason = 'closed' | 'reset';

/** Which end of a TLS handshake a node plays on a connection (the acceptor is usually the server). */
export type TlsRole = 'server' | 'client';

/** Everything a node can be told. Hosts build these; nodes never do. */
export type NodeInput =
  /** An outbound connection this node asked for is established. */
  | { readonly kind: 'conn.opened'; readonly conn: ConnId }
  /** An outbound connection attempt failed. */
  | { readonly kind: 'conn.failed'; readonly conn: ConnId; readonly reason: ConnectFailure }
  /** A peer connected to one of this node's listeners. `remote` names the peer host (or `local`). */
  | {
      readonly kind: 'conn.accepted';
      readonly conn: ConnId;
      readonly local: Endpoint;
      readonly remote: string;
    }
  /** Bytes arrived on a connection, in order. */
  | { readonly kind: 'conn.data'; readonly conn: ConnId; readonly bytes: Uint8Array }
  /** The connection is gone; no more data will arrive on it and writes to it are dropped. */
  | { readonly kind: 'conn.closed'; readonly conn: ConnId; readonly reason: CloseReason }
  /**
   * Flow control: a write left `NodeHost.bufferedBytes(conn)` at or above `writeHighWaterBytes`, and
   * the host has since sent every byte it held for the connection (Node's `'drain'`). Comes once per
   * crossing of the mark, never on a connection that closed first.
   */
  | { readonly kind: 'conn.drain'; readonly conn: ConnId }
  /**
   * The TLS handshake this node started with `tls.start` is over. `ok`: the connection is now
   * encrypted, and every byte after this is carried inside TLS (still `conn.data` and `write`).
   * Not ok: `reason` says why, and a `conn.closed` follows (the host tears the connection down).
   */
  | { readonly kind: 'conn.tls'; readonly conn: ConnId; readonly ok: boolean; readonly reason?: string }
  /** A datagram arrived (transports that allow loss, duplication and reordering). */
  | {
      readonly kind: 'datagram';
      readonly source: { readonly host: string; readonly port: number };
      readonly port: number;
      readonly bytes: Uint8Array;
    }
  /** The answer to a DNS query this node made. */
  | {
      readonly kind: 'dns.answer';
      readonly query: string;
      readonly name: string;
      readonly type: DnsRecordType;
      readonly status: DnsStatus;
      readonly records: readonly string[];
    }
  /** A user (or the scenario acting for one) asks the node to do something. Protocol-specific payload. */
  | { readonly kind: 'command'; readonly command: unknown };

/** Everything a node can ask of the world. */
export type NodeOutput =
  | { readonly kind: 'listen'; readonly endpoint: Endpoint }
  | { readonly kind: 'unlisten'; readonly endpoint: Endpoint }
  | { readonly kind: 'connect'; readonly conn: ConnId; readonly target: Endpoint }
  /** Write bytes. `decoded` is what the node meant to say, recorded in the trace for people. */
  | { readonly kind: 'write'; readonly conn: ConnId; readonly bytes: Uint8Array; readonly decoded?: unknown }
  | { readonly kind: 'close'; readonly conn: ConnId }
  /**
   * Upgrade an open stream connection to TLS, as STARTTLS does (RFC 6120 §5): the node has written
   * its last plaintext byte. Writes made before `conn.tls` wait for the handshake; `conn.tls` follows.
   */
  | { readonly kind: 'tls.start'; readonly conn: ConnId; readonly role: TlsRole }
  | {
      readonly kind: 'datagram.send';
      readonly port: number;
      readonly target: { readonly host: string; readonly port: number };
      readonly bytes: Uint8Array;
      readonly decoded?: unknown;
    }
  | { readonly kind: 'dns.query'; readonly query: string; readonly name: string; readonly type: DnsRecordType }
  /** A message reached a user of this node. `body` is what the checkers compare. */
  | {
      readonly kind: 'deliver';
      readonly user: string;
      readonly from: string;
      readonly body: string;
      readonly id?: string;
      readonly detail?: unknown;
    }
  /** The node refused something: a peer's request, or a local command it cannot carry out. */
  | { readonly kind: 'reject'; readonly code: string; readonly reason: string; readonly detail?: unknown }
  /** A protocol-level fact worth a line in the trace (a verified key, a cache hit, an outcome). */
  | { readonly kind: 'note'; readonly what: string; readonly detail?: unknown };

/**
 * A node's durable store: it survives crash and restart (the volatile state does not). The sim
 * keeps it in memory across incarnations; the real host may back it with a file. Values are JSON.
 */
export interface DurableStore {
  get(key: string): unknown;
  put(key: string, value: unknown): void;
  delete(key: string): void;
  keys(prefix?: string): string[];
}

/**
 * A value that stands for the JSON its `toJSON()` gives, which must be the same plain data every
 * time it is asked, for as long as the value lives (a snapshot of something that only grows past
 * it, such as `DurableWindow`'s). A store may then keep the value itself instead of a copy; a store
 * that writes JSON text writes what `toJSON()` gives, as `JSON.stringify` does for any value.
 */
export abstract class FrozenJson {
  abstract toJSON(): unknown;
}

/**
 * A store held in memory; the sim's default. `keys(prefix)` lists keys in ascending code-unit
 * order (the order `Array.prototype.sort` gives) by a binary search and a scan of the matches. The
 * sorted list is made when `keys` is asked for after a key came or went, not on each `put` and
 * `delete`: F140's outbox adds and removes one key per message and lists its keys only when it
 * loads (after a start or a crash), and an insertion into a sorted list of the backlog's keys per
 * message was a twentieth of an F140 run.
 */
export class MemoryStore implements DurableStore {
  /**
   * Each value as a JSON round trip gives it back, owned by the store alone; or a `FrozenJson`,
   * kept as it was given (it cannot change) and copied only when read.
   */
  private readonly entries = new Map<string, unknown>();
  /** Every key, in ascending code-unit order; undefined when a key came or went since it was made. */
  private sorted: string[] | undefined = [];
  get(key: string): unknown {
    const value = this.entries.get(key);
    // `toJSON()` is what a JSON round trip of the value would write, and the copy reads it as such.
    return jsonClone(value instanceof FrozenJson ? value.toJSON() : value);
  }
  put(key: string, value: unknown): void {
    // Copied in and out, as JSON would, so that a node cannot keep a live reference across a crash.
    if (this.sorted !== undefined && !this.entries.has(key)) this.sorted = undefined;
    this.entries.set(key, value instanceof FrozenJson ? value : jsonClone(value));
  }
  delete(key: string): void {
    if (this.entries.delete(key)) this.sorted = undefined;
  }
  keys(prefix = ''): string[] {
    const sorted = (this.sorted ??= [...this.entries.keys()].sort());
    const found: string[] = [];
    for (let i = lowerBound(sorted, prefix); i < sorted.length; i++) {
      const key = sorted[i] as string;
      if (!key.startsWith(prefix)) break;
      found.push(key);
    }
    return found;
  }
}

/** The first index of `sorted` whose key is not below `key`. */
function lowerBound(sorted: readonly string[], key: string): number {
  let low = 0;
  let high = sorted.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if ((sorted[mid] as string) < key) low = mid + 1;
    else high = mid;
  }
  return low;
}

/** What a host gives a node: its only window on the world. */
export interface NodeHost {
  readonly id: NodeId;
  /** The host name this node runs on (several nodes may share one, such as Bester's server and handlers). */
  readonly hostName: string;
  /** The node's own clock reading: virtual time plus its skew in the sim, wall time in the real host. */
  now(): Ms;
  /** xstate's clock: pass it to `createActor(machine, { clock })`; `after` timers schedule on the host. */
  readonly clock: HostClock;
  /**
   * The statechart engine the node's actors run on (`startActor` reads it): chosen by whoever
   * built the world, the same for every node of it.
   */
  readonly engine: Engine;
  /** This node's own seeded stream (same seed and label: same draws). */
  readonly random: Prng;
  readonly store: DurableStore;
  emit(output: NodeOutput): void;
  /**
   * Flow control: bytes written on `conn` that the host holds and has not yet sent on (0 for a
   * connection it does not know). A node that has much to write writes while this is below
   * `writeHighWaterBytes`, then waits for `conn.drain`; writing more is never refused, only queued
   * (Node's `socket.writableLength`). The simulator holds bytes only on links given a bandwidth
   * (`bytesPerMs`); everywhere else writes leave at once and this is always 0.
   */
  bufferedBytes(conn: ConnId): number;
  /** The mark `bufferedBytes` is compared with: a write that reaches it is followed by `conn.drain` (Node's `writableHighWaterMark`). */
  readonly writeHighWaterBytes: number;
  /** Report a statechart state change (machine name and state value as the statechart names it). */
  stateChanged(machine: string, value: string): void;
}

export interface ProtocolNode {
  /** Called once, right after creation (also after a restart): listen, connect, arm timers. */
  start(): void;
  handle(input: NodeInput): void;
  /** The node is crashing or shutting down: stop every actor. It must emit nothing after this. */
  stop(): void;
  /**
   * A graceful stop, before `stop()`: the run is over (or a scenario's `stop` step), so the node
   * may save what it keeps in its durable store; nothing it emits now reaches the network or the
   * trace. Optional.
   */
  finish?(): void;
  /** A JSON snapshot for checkers, the viewer and `fedsim` reports. */
  view(): unknown;
}

/** A DNS record a protocol publishes for one of its nodes (such as FMTP's key at `fmtpkey.<domain>`). */
export interface DnsRecord {
  readonly name: string;
  readonly type: DnsRecordType;
  /** A: an address; MX: `"<preference> <host>"`; SRV: `"<priority> <weight> <port> <target>"`; TXT: the text. */
  readonly value: string;
}

/** What a protocol knows about one node before the run starts. */
export interface NodeDeclaration<Config> {
  readonly id: NodeId;
  readonly hostName: string;
  readonly config: Config;
  /** The run's seed: key material must come from `streamFor(seed, label)`, never from elsewhere. */
  readonly seed: number;
}

/** How a protocol plugs into the hosts, the scenario loader and the checkers. */
export interface Protocol<Config = unknown, Command = unknown> {
  readonly name: string;
  /** Validates a node's `config` block in a scenario file (strict: unknown keys are errors). */
  readonly configSchema: z.ZodType<Config>;
  /** Validates the `command` of a scenario `command` step. */
  readonly commandSchema: z.ZodType<Command>;
  createNode(host: NodeHost, config: Config): ProtocolNode;
  /**
   * Records the world's DNS zone should hold for this node before the run starts (keys, MX),
   * added to those the scenario lists. Derived from the seed, so the node can derive the same keys.
   */
  dnsRecords?(node: NodeDeclaration<Config>): DnsRecord[];
  /** Best-effort decoding of bytes seen on the wire, for traces and the viewer. */
  describe?(bytes: Uint8Array): unknown;
  /**
   * The named fields (lengths, types, ids, counters) of a segment this protocol's nodes write,
   * from its wire format, for structure-aware corruption (an aimed `corrupt` with `field`,
   * src/core/wire-fields.ts). Best effort; never throws.
   */
  wireFields?(bytes: Uint8Array): readonly WireField[];
  /** A message's short name and one-line summary for people (viewer, legend, search, Mermaid): see each protocol's describe.ts. */
  nameMessage?(decoded: unknown, bytes: Uint8Array): MessageName | undefined;
}

export interface MessageName {
  readonly name: string;
  readonly summary: string;
}
