/**
 * Everything that moves bytes between nodes: listeners, stream connections (TCP-like, or local
 * sockets between nodes on one host), and datagrams. It carries out the node outputs `listen`,
 * `unlisten`, `connect`, `write`, `close` and `datagram.send`, and gives nodes the inputs
 * `conn.accepted`, `conn.opened`, `conn.failed`, `conn.data`, `conn.closed` and `datagram`.
 *
 * - A stream connection is ordered and reliable: a segment never overtakes an earlier one on the
 *   same connection and direction. A partition holds segments (TCP retransmits); if it outlasts
 *   `resetTimeoutMs`, the connection is reset at both ends. A clog holds segments until unclogged,
 *   with no reset.
 * - A connect across a partition or clog fails with `timeout` after `connectTimeoutMs`; to a host
 *   whose node is down or not listening, it is `refused` after one round trip.
 * - Datagrams may be lost, duplicated and reordered (each copy draws its own latency). A partition
 *   drops them; a clog holds them.
 * - Local sockets cross no link: no latency, no network faults.
 *
 * How long a crossing takes and whether a cut holds or drops it is the link's (links.ts); what a
 * byte fault does to it is `Faults.tamper` (faults.ts); names resolve through dns.ts.
 */
import { assert } from '../core/assert.js';
import type { ConnId } from '../core/ids.js';
import { limits } from '../core/limits.js';
import type { Ms } from '../core/time.js';
import type { CloseReason, ConnectFailure, Endpoint, Protocol } from '../protocols/protocol.js';
import { endpointText } from '../trace/record-output.js';
import { payloadOf } from '../trace/recorder.js';
import { endpointKey, type NodeRuntime, type SimContext } from './context.js';
import type { Dns } from './dns.js';
import type { Faults } from './faults.js';
import type { Link, Links } from './links.js';
import { rank, type Simulator } from './simulator.js';

interface Segment {
  readonly msg: number;
  readonly bytes: Uint8Array;
  readonly decoded: unknown;
  readonly sentLamport: number;
  /** A FIN: the sender closed its end; no bytes. */
  readonly fin: boolean;
}

/** One end of a stream connection, as one node's incarnation holds it. */
export interface ConnEnd {
  readonly runtime: NodeRuntime;
  readonly incarnation: number;
  readonly conn: ConnId;
  peer: ConnEnd | undefined;
  state: 'connecting' | 'open' | 'closed';
  /** Segments written before the connection opened. */
  readonly early: Segment[];
  /** Segments held by a partition or clog, in order. */
  readonly held: Segment[];
  /** Arrival time of the latest segment sent toward the peer (keeps the stream ordered). */
  lastArrivalMs: Ms;
  resetTimer: ReturnType<Simulator['at']> | undefined;
}

function newEnd(runtime: NodeRuntime, conn: ConnId, peer: ConnEnd | undefined, state: ConnEnd['state']): ConnEnd {
  return {
    runtime,
    incarnation: runtime.incarnation,
    conn,
    peer,
    state,
    early: [],
    held: [],
    lastArrivalMs: 0,
    resetTimer: undefined,
  };
}

export class Connections {
  /**
   * Connection ends with segments held by a partition or clog, in the order they began holding.
   * Kept apart from the nodes' connection tables because an end its node has closed can still
   * hold data and the FIN that must follow it.
   */
  private readonly holding = new Set<ConnEnd>();

  constructor(
    private readonly ctx: SimContext,
    private readonly links: Links,
    private readonly dns: Dns,
    private readonly faults: Faults,
  ) {}

  listen(runtime: NodeRuntime, endpoint: Endpoint): void {
    runtime.listening.add(endpointKey(endpoint));
    this.ctx.record(runtime.spec.id, { kind: 'listen', endpoint: endpointText(endpoint) });
  }

  unlisten(runtime: NodeRuntime, endpoint: Endpoint): void {
    runtime.listening.delete(endpointKey(endpoint));
    this.ctx.record(runtime.spec.id, { kind: 'unlisten', endpoint: endpointText(endpoint) });
  }

  // ---------------------------------------------------------------------------------------------
  // Stream connections.

  connect(runtime: NodeRuntime, conn: ConnId, target: Endpoint): void {
    const ctx = this.ctx;
    const id = runtime.spec.id;
    assert(!runtime.conns.has(conn), `${id} reused connection id ${conn}`);
    assert(runtime.conns.size < limits.connectionsPerNodeMax, `${id} holds too many connections`);
    const incarnation = runtime.incarnation;
    const end = newEnd(runtime, conn, undefined, 'connecting');
    runtime.conns.set(conn, end);
    ctx.record(id, { kind: 'conn.connect', conn, target: endpointText(target) });

    const fail = (reason: ConnectFailure, delayMs: Ms) => {
      ctx.sim.after(delayMs, rank.network, () => {
        if (end.state !== 'connecting') return;
        end.state = 'closed';
        runtime.conns.delete(conn);
        if (!runtime.alive || runtime.incarnation !== incarnation) return;
        ctx.record(id, { kind: 'conn.refuse', conn, target: endpointText(target), reason });
        for (const segment of end.early.splice(0)) ctx.drop(segment.msg, endpointText(target), reason);
        ctx.input(runtime, incarnation, { kind: 'conn.failed', conn, reason });
      });
    };

    const targetHost = 'path' in target ? runtime.hostName : this.dns.resolveHost(target.host);
    if (targetHost === undefined) return fail('unresolved', 0);
    const local = targetHost === runtime.hostName;
    const forward = local ? undefined : this.links.link(runtime.hostName, targetHost);
    const backward = local ? undefined : this.links.link(targetHost, runtime.hostName);
    if (forward && backward && (forward.blocked || forward.clogged || backward.blocked || backward.clogged)) {
      return fail('timeout', ctx.network.connectTimeoutMs);
    }
    const key = endpointKey(target);
    const there = forward ? this.links.delayOf(forward) : 0;
    ctx.sim.after(there, rank.network, () => {
      // The caller crashed or gave up before its SYN arrived: nothing is left to accept (a real
      // stack would answer the SYN-ACK with a reset), so the listener never sees a half-open connection.
      if (end.state !== 'connecting') return;
      const listener = ctx.listenerOn(targetHost, key);
      const back = backward ? this.links.delayOf(backward) : 0;
      if (!listener) return fail('refused', back);
      this.accept(end, listener, target, back, local);
    });
  }

  /** The SYN of `end` reached `listener`: both ends open (the caller's one latency `back` later). */
  private accept(end: ConnEnd, listener: NodeRuntime, target: Endpoint, back: Ms, local: boolean): void {
    const ctx = this.ctx;
    const { runtime, incarnation, conn } = end;
    const id = runtime.spec.id;
    const accepted = listener.inboundIds.next();
    const peer = newEnd(listener, accepted, end, 'open');
    listener.conns.set(accepted, peer);
    end.peer = peer;
    end.lastArrivalMs = ctx.sim.nowMs;
    // Data from the acceptor must not reach the opener before it learns the connection is open:
    // the open event is scheduled first, and the acceptor's segments arrive no earlier.
    peer.lastArrivalMs = ctx.sim.nowMs + back;
    ctx.sim.after(back, rank.network, () => {
      if (end.state !== 'connecting') return;
      if (!runtime.alive || runtime.incarnation !== incarnation) return;
      end.state = 'open';
      ctx.record(id, { kind: 'conn.open', conn, peer: listener.spec.id, peerConn: accepted });
      ctx.input(runtime, incarnation, { kind: 'conn.opened', conn });
      for (const segment of end.early.splice(0)) this.transmit(end, segment);
    });
    ctx.record(listener.spec.id, { kind: 'conn.accept', conn: accepted, peer: id, peerConn: conn });
    ctx.input(listener, listener.incarnation, {
      kind: 'conn.accepted',
      conn: accepted,
      local: target,
      remote: local ? 'local' : runtime.hostName,
    });
  }

  write(runtime: NodeRuntime, conn: ConnId, bytes: Uint8Array, decoded: unknown): void {
    const ctx = this.ctx;
    const trace = ctx.trace;
    assert(bytes.length <= limits.writeBytesMax, `${runtime.spec.id} wrote ${bytes.length} bytes at once`);
    const end = runtime.conns.get(conn);
    const to = end?.peer?.runtime.spec.id ?? '?';
    const msg = ctx.nextMsg();
    // Payloads (base64, and the protocol's decoding) are built only when the trace reads them. The
    // decoding is worked out once, so that the send and its receive show the same thing.
    let described = decoded;
    if (trace.wants('send')) {
      described = decoded ?? runtime.spec.protocol.describe?.(bytes);
      ctx.record(runtime.spec.id, {
        kind: 'send',
        msg,
        transport: 'stream',
        conn,
        to,
        payload: payloadOf(bytes, described),
      });
    } else trace.skip(runtime.spec.id);
    const segment: Segment = {
      msg,
      bytes,
      decoded: described,
      sentLamport: trace.lamportOf(runtime.spec.id),
      fin: false,
    };
    if (!end || end.state === 'closed') return ctx.drop(msg, to, 'not-open');
    if (end.state === 'connecting') {
      end.early.push(segment);
      return;
    }
    this.transmit(end, segment);
  }

  close(runtime: NodeRuntime, conn: ConnId): void {
    const end = runtime.conns.get(conn);
    if (!end || end.state === 'closed') return;
    const wasConnecting = end.state === 'connecting';
    end.state = 'closed';
    runtime.conns.delete(conn);
    this.ctx.record(runtime.spec.id, { kind: 'conn.close', conn, reason: 'closed' });
    if (wasConnecting) return;
    this.transmit(end, { msg: 0, bytes: new Uint8Array(0), decoded: undefined, sentLamport: 0, fin: true });
  }

  /** Sends a segment (or FIN) from `end` toward its peer, holding it if the link is cut or clogged. */
  private transmit(end: ConnEnd, segment: Segment): void {
    const ctx = this.ctx;
    const peer = end.peer;
    assert(peer !== undefined, 'transmit on a connection without a peer');
    const link = this.links.between(end.runtime, peer.runtime);
    if (link && (link.blocked || link.clogged || end.held.length > 0)) return this.hold(end, link, segment);
    let bytes = segment.bytes;
    let corrupted = false;
    if (link && !segment.fin && bytes.length > 0) {
      const describe = () => segment.decoded ?? end.runtime.spec.protocol.describe?.(segment.bytes);
      const fields = () => end.runtime.spec.protocol.wireFields?.(segment.bytes) ?? [];
      const tampered = this.faults.tamper(link, bytes, describe, fields);
      if (tampered !== undefined) {
        bytes = tampered;
        corrupted = true;
      }
    }
    const arrivalMs = Math.max(ctx.sim.nowMs + (link ? this.links.delayOf(link) : 0), end.lastArrivalMs);
    end.lastArrivalMs = arrivalMs;
    const from = end.runtime.spec.id;
    ctx.sim.at(arrivalMs, rank.network, () => {
      const target = peer.runtime;
      if (peer.state === 'closed' || !target.alive || target.incarnation !== peer.incarnation) {
        if (!segment.fin) ctx.drop(segment.msg, target.spec.id, target.alive ? 'reset' : 'crashed');
        return;
      }
      if (segment.fin) {
        peer.state = 'closed';
        target.conns.delete(peer.conn);
        this.cancelResetTimer(peer);
        ctx.record(target.spec.id, { kind: 'conn.close', conn: peer.conn, reason: 'closed' });
        ctx.input(target, peer.incarnation, { kind: 'conn.closed', conn: peer.conn, reason: 'closed' });
        return;
      }
      if (ctx.trace.wants('receive')) {
        ctx.record(target.spec.id, {
          kind: 'receive',
          msg: segment.msg,
          transport: 'stream',
          conn: peer.conn,
          from,
          sentLamport: segment.sentLamport,
          payload: payloadOf(bytes, corrupted ? target.spec.protocol.describe?.(bytes) : segment.decoded),
        });
      } else ctx.trace.skip(target.spec.id, segment.sentLamport);
      ctx.input(target, peer.incarnation, { kind: 'conn.data', conn: peer.conn, bytes });
    });
  }

  /** Holds `segment` behind a cut, a clog, or earlier held segments; a partition arms the reset. */
  private hold(end: ConnEnd, link: Link, segment: Segment): void {
    end.held.push(segment);
    this.holding.add(end);
    assert(end.held.length <= limits.heldSegmentsPerLinkMax, 'too many held segments on one connection');
    if (link.blocked && end.resetTimer === undefined) {
      end.resetTimer = this.ctx.sim.after(this.ctx.network.resetTimeoutMs, rank.network, () => {
        end.resetTimer = undefined;
        if (end.held.length > 0) this.resetConnection(end);
      });
    }
  }

  /** Sends what partitions and clogs held, in order, on every link that is passable again. */
  releaseHeld(): void {
    for (const end of [...this.holding]) {
      if (!end.peer) continue;
      const link = this.links.between(end.runtime, end.peer.runtime);
      if (link && (link.blocked || link.clogged)) continue;
      this.cancelResetTimer(end);
      this.holding.delete(end);
      const held = end.held.splice(0);
      for (const segment of held) this.transmit(end, segment);
    }
  }

  /**
   * `runtime`'s node crashed: every end it held (and every end it closed that still holds data)
   * is closed with its held data dropped, and each open peer is reset `resetTimeoutMs` later.
   */
  crashed(runtime: NodeRuntime): void {
    const closing = [...this.holding].filter((end) => end.runtime === runtime && !runtime.conns.has(end.conn));
    for (const end of [...runtime.conns.values(), ...closing]) {
      end.state = 'closed';
      this.cancelResetTimer(end);
      this.dropHeld(end, 'crashed');
      const peer = end.peer;
      if (peer && peer.state !== 'closed') {
        this.ctx.sim.after(this.ctx.network.resetTimeoutMs, rank.network, () => {
          if (peer.state !== 'closed') this.resetEnd(peer);
        });
      }
    }
    runtime.conns.clear();
  }

  /** A partition outlasted the reset timeout on `end`'s held data: both ends are reset. */
  private resetConnection(end: ConnEnd): void {
    this.dropHeld(end, 'reset');
    this.resetEnd(end);
    if (end.peer && end.peer.state !== 'closed') this.resetEnd(end.peer);
  }

  private dropHeld(end: ConnEnd, reason: string): void {
    this.holding.delete(end);
    for (const segment of end.held.splice(0)) this.ctx.drop(segment.msg, end.peer?.runtime.spec.id ?? '?', reason);
  }

  private resetEnd(end: ConnEnd): void {
    if (end.state === 'closed') return;
    end.state = 'closed';
    this.cancelResetTimer(end);
    const runtime = end.runtime;
    runtime.conns.delete(end.conn);
    this.dropHeld(end, 'reset');
    if (!runtime.alive || runtime.incarnation !== end.incarnation) return;
    const reason: CloseReason = 'reset';
    this.ctx.record(runtime.spec.id, { kind: 'conn.close', conn: end.conn, reason });
    this.ctx.input(runtime, end.incarnation, { kind: 'conn.closed', conn: end.conn, reason });
  }

  private cancelResetTimer(end: ConnEnd): void {
    if (end.resetTimer) {
      this.ctx.sim.cancel(end.resetTimer);
      end.resetTimer = undefined;
    }
  }

  // ---------------------------------------------------------------------------------------------
  // Datagrams.

  sendDatagram(
    runtime: NodeRuntime,
    port: number,
    target: { host: string; port: number },
    bytes: Uint8Array,
    decoded: unknown,
  ): void {
    const ctx = this.ctx;
    const from = runtime.spec.id;
    const msg = ctx.nextMsg();
    const targetHost = this.dns.resolveHost(target.host);
    const receiver = targetHost === undefined ? undefined : ctx.listenerOn(targetHost, `tcp:${target.port}`);
    const to = receiver?.spec.id ?? `${target.host}:${target.port}`;
    if (ctx.trace.wants('send')) {
      ctx.record(from, {
        kind: 'send',
        msg,
        transport: 'datagram',
        to,
        payload: payloadOf(bytes, decoded ?? runtime.spec.protocol.describe?.(bytes)),
      });
    } else ctx.trace.skip(from);
    if (targetHost === undefined) return ctx.drop(msg, to, 'unresolved');
    const sentLamport = ctx.trace.lamportOf(from);
    const link = targetHost === runtime.hostName ? undefined : this.links.link(runtime.hostName, targetHost);
    if (link?.blocked) return ctx.drop(msg, to, 'partition');
    if (link && link.random.chance(ctx.network.lossRatio)) return ctx.drop(msg, to, 'loss');
    const copies = link && link.random.chance(ctx.network.duplicateRatio) ? 2 : 1;
    const source = { host: runtime.hostName, port };
    const sent: SentDatagram = { msg, from, to, sentLamport, source, decoded, protocol: runtime.spec.protocol };
    const launch = () => {
      for (let copy = 0; copy < copies; copy++) this.launchDatagram(sent, link, targetHost, target.port, bytes, copy);
    };
    if (link?.clogged) {
      link.heldDatagrams.push(launch);
      return;
    }
    launch();
  }

  /** Sends copy number `copy` of a datagram across `link` (undefined on one host). */
  private launchDatagram(
    sent: SentDatagram,
    link: Link | undefined,
    targetHost: string,
    port: number,
    bytes: Uint8Array,
    copy: number,
  ): void {
    const ctx = this.ctx;
    let payload = bytes;
    let corrupted = false;
    if (link && payload.length > 0) {
      const describe = () => sent.decoded ?? sent.protocol.describe?.(bytes);
      const tampered = this.faults.tamper(link, payload, describe);
      if (tampered !== undefined) {
        payload = tampered;
        corrupted = true;
      }
    }
    const delayMs = link ? this.links.delayOf(link) : 0;
    const { msg, from, to, sentLamport, source, decoded } = sent;
    ctx.sim.after(delayMs, rank.network, () => {
      const listener = ctx.listenerOn(targetHost, `tcp:${port}`);
      if (!listener) return ctx.drop(msg, to, 'no-listener');
      if (copy > 0) ctx.record(listener.spec.id, { kind: 'duplicate', msg, to: listener.spec.id });
      if (ctx.trace.wants('receive')) {
        ctx.record(listener.spec.id, {
          kind: 'receive',
          msg,
          transport: 'datagram',
          from,
          sentLamport,
          payload: payloadOf(payload, corrupted ? listener.spec.protocol.describe?.(payload) : decoded),
        });
      } else ctx.trace.skip(listener.spec.id, sentLamport);
      ctx.input(listener, listener.incarnation, { kind: 'datagram', source, port, bytes: payload });
    });
  }
}

/** What every copy of one datagram shares. */
interface SentDatagram {
  readonly msg: number;
  readonly from: string;
  readonly to: string;
  readonly sentLamport: number;
  readonly source: { readonly host: string; readonly port: number };
  readonly decoded: unknown;
  /** The sender's protocol, whose `describe` an aimed fault may ask to decode the bytes. */
  readonly protocol: Protocol;
}
