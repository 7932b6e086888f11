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
 * - Flow control (opt-in per link, `bytesPerMs`): a link with a bandwidth sends one write after
 *   another at that rate, shared by every connection on it; what a connection has written and not
 *   yet sent (queued, or held by a cut) is its `bufferedBytes`. A write that brings it to the
 *   network's `writeHighWaterBytes` is followed by `conn.drain` (traced) once it is back to 0. On a
 *   link without a bandwidth every write leaves at once: nothing is buffered and no drain comes.
 *
 * How long a crossing takes and whether a cut holds or drops it is the link's (links.ts); what a
 * byte fault does to it is `Faults.tamper` (faults.ts); names resolve through dns.ts.
 */
import { assert } from '../core/assert.js';
import type { ConnId } from '../core/ids.js';
import { limits } from '../core/limits.js';
import type { Ms } from '../core/time.js';
import type { CloseReason, ConnectFailure, Endpoint, NodeInput, Protocol, TlsRole } from '../protocols/protocol.js';
import { endpointText } from '../trace/record-output.js';
import { payloadOf } from '../trace/recorder.js';
import {
  addConn,
  clearConns,
  endpointKey,
  removeConn,
  type NodeEvent,
  type NodeRuntime,
  type SimContext,
} from './context.js';
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
  /** The link toward the peer when it has a bandwidth (flow control); undefined: writes leave at once. */
  readonly paced: Link | undefined;
  /** Segments written and waiting to leave on the paced link, in order, each with its departure event. */
  readonly sending: { readonly segment: Segment; readonly event: ReturnType<Simulator['at']> }[];
  /** Bytes of `early`, `sending` and `held` (counted on a paced connection only). */
  bufferedBytes: number;
  /** A write reached the high-water mark: `conn.drain` is owed once `bufferedBytes` is back to 0. */
  needDrain: boolean;
  /** STARTTLS: none yet, a handshake this end began (as `tlsRole`), or done. */
  tls: 'none' | 'handshaking' | 'up';
  tlsRole: TlsRole | undefined;
  /** Segments written during the handshake: they go out inside TLS once it is up. */
  readonly tlsHeld: Segment[];
}

function newEnd(
  runtime: NodeRuntime,
  conn: ConnId,
  peer: ConnEnd | undefined,
  state: ConnEnd['state'],
  link: Link | undefined,
): ConnEnd {
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
    paced: link?.bytesPerMs === undefined ? undefined : link,
    sending: [],
    bufferedBytes: 0,
    needDrain: false,
    tls: 'none',
    tlsRole: undefined,
    tlsHeld: [],
  };
}

export class Connections {
  /**
   * Connection ends with segments held by a partition or clog, in the order they began holding.
   * Kept apart from the nodes' connection tables because an end its node has closed can still
   * hold data and the FIN that must follow it.
   */
  private readonly holding = new Set<ConnEnd>();
  /** Connection ends with segments waiting to leave a paced link (an end its node closed may still send). */
  private readonly sending = new Set<ConnEnd>();
  /**
   * Whether any end has begun a TLS handshake: from then on a node's step may hand its peer an
   * input at once (`finishTls`), so the world's lookahead stops (world.ts `scanAhead`).
   */
  tlsUsed = false;

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
    const targetHost = 'path' in target ? runtime.hostName : this.dns.resolveHost(target.host);
    const local = targetHost === undefined || targetHost === runtime.hostName;
    const forward = local ? undefined : this.links.link(runtime.hostName, targetHost);
    const backward = local ? undefined : this.links.link(targetHost, runtime.hostName);
    const end = newEnd(runtime, conn, undefined, 'connecting', forward);
    addConn(runtime, conn, end);
    ctx.record(id, { kind: 'conn.connect', conn, target: endpointText(target) });

    // The events below concern one node each (`NodeEvent`s for the world's lookahead, not given ahead).
    const own: NodeEvent = { runtime, incarnation };
    const fail = (reason: ConnectFailure, delayMs: Ms) => {
      ctx.sim.after(
        delayMs,
        rank.network,
        () => {
          if (end.state !== 'connecting') return;
          end.state = 'closed';
          removeConn(runtime, conn);
          if (!runtime.alive || runtime.incarnation !== incarnation) return;
          ctx.record(id, { kind: 'conn.refuse', conn, target: endpointText(target), reason });
          for (const segment of end.early.splice(0)) ctx.drop(segment.msg, endpointText(target), reason);
          end.bufferedBytes = 0;
          ctx.input(runtime, incarnation, { kind: 'conn.failed', conn, reason });
        },
        own,
      );
    };

    if (targetHost === undefined) return fail('unresolved', 0);
    if (forward && backward && (forward.blocked || forward.clogged || backward.blocked || backward.clogged)) {
      return fail('timeout', ctx.network.connectTimeoutMs);
    }
    const key = endpointKey(target);
    const there = forward ? this.links.delayOf(forward) : 0;
    // The SYN's arrival hands an input to the listener only, and the caller hears back a latency
    // later: a NodeEvent of the target host's node, when the host has just one. Whether it comes
    // depends on the caller's end too (the caller may give up first): it is given ahead only when
    // the caller has no step before it. Its connection id is the listener's next one (nothing else
    // can take it first: the SYN is then the listener's first event).
    const onTarget = ctx.hosts.get(targetHost);
    const listening = !local && onTarget?.length === 1 ? (onTarget[0] as NodeRuntime) : undefined;
    let prepared: NodeInput | undefined;
    const syn: NodeEvent | undefined =
      listening === undefined
        ? undefined
        : {
            runtime: listening,
            after: runtime,
            get payload(): NodeInput {
              prepared ??= {
                kind: 'conn.accepted',
                conn: listening.inboundIds.peek(),
                local: target,
                remote: runtime.hostName,
              };
              return prepared;
            },
            deliverable: () => end.state === 'connecting' && listening.alive && listening.listening.has(key),
          };
    ctx.sim.after(
      there,
      rank.network,
      () => {
        // The caller crashed or gave up before its SYN arrived: nothing is left to accept (a real
        // stack would answer the SYN-ACK with a reset), so the listener never sees a half-open connection.
        if (end.state !== 'connecting') return;
        const listener = ctx.listenerOn(targetHost, key);
        const back = backward ? this.links.delayOf(backward) : 0;
        if (!listener) return fail('refused', back);
        this.accept(end, listener, target, back, backward, prepared);
      },
      syn,
    );
  }

  /** The SYN of `end` reached `listener`: both ends open (the caller's one latency `back` later). */
  private accept(
    end: ConnEnd,
    listener: NodeRuntime,
    target: Endpoint,
    back: Ms,
    backward: Link | undefined,
    /** The input the lookahead may have given ahead (the same object is handed over). */
    prepared: NodeInput | undefined,
  ): void {
    const ctx = this.ctx;
    const { runtime, incarnation, conn } = end;
    const id = runtime.spec.id;
    const local = backward === undefined;
    const accepted = listener.inboundIds.next();
    const peer = newEnd(listener, accepted, end, 'open', backward);
    addConn(listener, accepted, peer);
    end.peer = peer;
    end.lastArrivalMs = ctx.sim.nowMs;
    // Data from the acceptor must not reach the opener before it learns the connection is open:
    // the open event is scheduled first, and the acceptor's segments arrive no earlier.
    peer.lastArrivalMs = ctx.sim.nowMs + back;
    // The opening concerns the caller only (its early segments reach the listener a latency later),
    // and whether it comes depends on the caller's own end: it may be given ahead.
    const input: NodeInput = { kind: 'conn.opened', conn };
    const opened: NodeEvent | undefined = local
      ? undefined
      : { runtime, incarnation, payload: input, deliverable: () => end.state === 'connecting' };
    ctx.sim.after(
      back,
      rank.network,
      () => {
        if (end.state !== 'connecting') return;
        if (!runtime.alive || runtime.incarnation !== incarnation) return;
        end.state = 'open';
        ctx.record(id, { kind: 'conn.open', conn, peer: listener.spec.id, peerConn: accepted });
        ctx.input(runtime, incarnation, input);
        const early = end.early.splice(0);
        end.bufferedBytes = 0;
        for (const segment of early) this.send(end, segment);
      },
      opened,
    );
    ctx.record(listener.spec.id, { kind: 'conn.accept', conn: accepted, peer: id, peerConn: conn });
    ctx.input(
      listener,
      listener.incarnation,
      prepared?.kind === 'conn.accepted' && prepared.conn === accepted
        ? prepared
        : { kind: 'conn.accepted', conn: accepted, local: target, remote: local ? 'local' : runtime.hostName },
    );
  }

  write(runtime: NodeRuntime, conn: ConnId, bytes: Uint8Array, decoded: unknown): void {
    const ctx = this.ctx;
    const trace = ctx.trace;
    assert(bytes.length <= limits.writeBytesMax, `${runtime.spec.id} wrote ${bytes.length} bytes at once`);
    const end = runtime.conns.get(conn);
    const to = end?.peer?.runtime.spec.id ?? '?';
    const msg = ctx.nextMsg();
    // Payloads (base64, and the protocol's decoding) are built only when the trace reads them. The
    // decoding is worked out once, so that the send and its receive show the same thing (also when
    // only receives are read).
    const described =
      decoded === undefined && (trace.wants('send') || trace.wants('receive'))
        ? runtime.spec.protocol.describe?.(bytes)
        : decoded;
    if (trace.wants('send')) {
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
      if (end.paced) end.bufferedBytes += bytes.length;
    } else if (end.tls === 'handshaking') {
      // Held until the handshake is up, then sent (paced, if the link has a bandwidth).
      end.tlsHeld.push(segment);
    } else this.send(end, segment);
    if (end.paced && end.bufferedBytes >= ctx.network.writeHighWaterBytes) end.needDrain = true;
  }

  /** Flow control: bytes `runtime` wrote on `conn` that have not left yet (0 unless its link has a bandwidth). */
  bufferedBytes(runtime: NodeRuntime, conn: ConnId): number {
    return runtime.conns.get(conn)?.bufferedBytes ?? 0;
  }

  /**
   * STARTTLS: `runtime`'s end of `conn` begins a TLS handshake as `role`. Once both ends have
   * begun, the handshake takes a round trip on the link; then both ends hear `conn.tls` at the same
   * instant: ok, or failed (a `tlsFail` fault between the hosts, or both ends in the same role),
   * and then the connection is reset at both ends. Writes made during the handshake wait and go
   * out once it is up; plaintext that reaches an end after it began the handshake fails it, as
   * bytes that are no TLS record would. Bytes after the handshake cross the fault layer as any do.
   */
  startTls(runtime: NodeRuntime, conn: ConnId, role: TlsRole): void {
    this.tlsUsed = true;
    const end = runtime.conns.get(conn);
    this.ctx.record(runtime.spec.id, { kind: 'tls.start', conn, role });
    if (!end || end.state !== 'open' || end.tls !== 'none') {
      if (end && end.state === 'open') this.finishTls(end, 'already-started');
      return;
    }
    end.tls = 'handshaking';
    end.tlsRole = role;
    const peer = end.peer;
    if (!peer || peer.tls !== 'handshaking') return;
    const link = this.links.between(end.runtime, peer.runtime);
    const roundTrip = link
      ? this.links.delayOf(link) + this.links.delayOf(this.links.link(link.target, link.source))
      : 0;
    const failure =
      peer.tlsRole === role ? 'role-mismatch' : this.faults.tlsFaultOf(end.runtime.hostName, peer.runtime.hostName);
    this.ctx.sim.after(roundTrip, rank.network, () => {
      if (end.tls !== 'handshaking' || peer.tls !== 'handshaking') return;
      this.finishTls(end, failure);
    });
  }

  /**
   * Ends the handshake of `end` and its peer: both up, or (with a `failure`) both reset. Only an
   * end that began the handshake hears how it ended.
   */
  private finishTls(end: ConnEnd, failure: string | undefined): void {
    const ends = end.peer ? [end, end.peer] : [end];
    const ok = failure === undefined;
    const detail = ok ? {} : { reason: failure };
    const began = ends.filter((each) => each.tls === 'handshaking' || each === end);
    for (const each of ends) each.tls = ok ? 'up' : 'none';
    // What was written during the handshake goes first (or is lost with the connection).
    for (const each of ends) {
      const held = each.tlsHeld.splice(0);
      if (ok) for (const segment of held) if (each.state === 'open') this.send(each, segment);
      if (!ok) for (const segment of held) this.ctx.drop(segment.msg, each.peer?.runtime.spec.id ?? '?', 'tls-failed');
    }
    for (const each of began) {
      const runtime = each.runtime;
      if (each.state === 'closed' || !runtime.alive || runtime.incarnation !== each.incarnation) continue;
      this.ctx.record(runtime.spec.id, { kind: 'tls.done', conn: each.conn, ok, ...detail });
      this.ctx.input(runtime, each.incarnation, { kind: 'conn.tls', conn: each.conn, ok, ...detail });
    }
    if (!ok) for (const each of ends) this.resetEnd(each);
  }

  close(runtime: NodeRuntime, conn: ConnId): void {
    const end = runtime.conns.get(conn);
    if (!end || end.state === 'closed') return;
    const wasConnecting = end.state === 'connecting';
    end.state = 'closed';
    removeConn(runtime, conn);
    this.ctx.record(runtime.spec.id, { kind: 'conn.close', conn, reason: 'closed' });
    if (wasConnecting) return;
    this.send(end, { msg: 0, bytes: new Uint8Array(0), decoded: undefined, sentLamport: 0, fin: true });
  }

  /**
   * Sends a segment (or FIN) from an open `end`: at once, or on a paced link once the link has sent
   * everything written on it before (its departure), counting it in `bufferedBytes` until then.
   */
  private send(end: ConnEnd, segment: Segment): void {
    const link = end.paced;
    if (!link) return this.transmit(end, segment);
    const size = segment.bytes.length;
    end.bufferedBytes += size;
    const entry = {
      segment,
      event: this.ctx.sim.at(this.links.departureOf(link, size), rank.network, () => this.depart(end)),
    };
    end.sending.push(entry);
    this.sending.add(end);
  }

  /** The oldest segment waiting on `end`'s paced link leaves now. */
  private depart(end: ConnEnd): void {
    const entry = end.sending.shift();
    assert(entry !== undefined, 'a departure without a waiting segment');
    if (end.sending.length === 0) this.sending.delete(end);
    end.bufferedBytes -= entry.segment.bytes.length;
    this.transmit(end, entry.segment);
    this.drained(end);
  }

  /** Gives the node `conn.drain` if a write reached the mark and nothing is buffered any more. */
  private drained(end: ConnEnd): void {
    if (!end.needDrain || end.bufferedBytes > 0) return;
    end.needDrain = false;
    const runtime = end.runtime;
    if (end.state !== 'open' || !runtime.alive || runtime.incarnation !== end.incarnation) return;
    this.ctx.record(runtime.spec.id, { kind: 'conn.drain', conn: end.conn });
    this.ctx.input(runtime, end.incarnation, { kind: 'conn.drain', conn: end.conn });
  }

  /** Drops what waits to leave `end`'s paced link (its node crashed or the connection was reset). */
  private dropSending(end: ConnEnd, reason: string): void {
    this.sending.delete(end);
    for (const { segment, event } of end.sending.splice(0)) {
      this.ctx.sim.cancel(event);
      this.ctx.drop(segment.msg, end.peer?.runtime.spec.id ?? '?', reason);
    }
    end.bufferedBytes = 0;
    end.needDrain = false;
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
    if (link && !segment.fin && bytes.length > 0 && this.faults.isArmed(link)) {
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
    // The input is made now, so that the lookahead (world.ts) can hand the very same object to an
    // external node ahead of its turn; nothing the arrival decides changes it.
    const input: NodeInput = segment.fin
      ? { kind: 'conn.closed', conn: peer.conn, reason: 'closed' }
      : { kind: 'conn.data', conn: peer.conn, bytes };
    const tag: NodeEvent = {
      runtime: peer.runtime,
      incarnation: peer.incarnation,
      payload: input,
      deliverable: () => peer.state !== 'closed' && peer.tls !== 'handshaking',
    };
    ctx.sim.at(
      arrivalMs,
      rank.network,
      () => {
        const target = peer.runtime;
        if (peer.state === 'closed' || !target.alive || target.incarnation !== peer.incarnation) {
          if (!segment.fin) ctx.drop(segment.msg, target.spec.id, target.alive ? 'reset' : 'crashed');
          return;
        }
        if (!segment.fin && peer.tls === 'handshaking') {
          // Plaintext where TLS records are due: the handshake fails.
          ctx.drop(segment.msg, target.spec.id, 'tls-handshake');
          return this.finishTls(peer, 'unexpected-data');
        }
        if (segment.fin) {
          peer.state = 'closed';
          removeConn(target, peer.conn);
          this.cancelResetTimer(peer);
          ctx.record(target.spec.id, { kind: 'conn.close', conn: peer.conn, reason: 'closed' });
          ctx.input(target, peer.incarnation, input);
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
        ctx.input(target, peer.incarnation, input);
      },
      tag,
    );
  }

  /** Holds `segment` behind a cut, a clog, or earlier held segments; a partition arms the reset. */
  private hold(end: ConnEnd, link: Link, segment: Segment): void {
    end.held.push(segment);
    if (end.paced) end.bufferedBytes += segment.bytes.length;
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
      if (end.paced) end.bufferedBytes -= held.reduce((sum, segment) => sum + segment.bytes.length, 0);
      for (const segment of held) this.transmit(end, segment);
      this.drained(end);
    }
  }

  /**
   * `runtime`'s node crashed: every end it held (and every end it closed that still holds data)
   * is closed with its held data dropped, and each open peer is reset `resetTimeoutMs` later.
   */
  crashed(runtime: NodeRuntime): void {
    const closing = [...new Set([...this.holding, ...this.sending])].filter(
      (end) => end.runtime === runtime && !runtime.conns.has(end.conn),
    );
    for (const end of [...runtime.conns.values(), ...closing]) {
      end.state = 'closed';
      this.cancelResetTimer(end);
      this.dropSending(end, 'crashed');
      this.dropHeld(end, 'crashed');
      const peer = end.peer;
      if (peer && peer.state !== 'closed') {
        this.ctx.sim.after(this.ctx.network.resetTimeoutMs, rank.network, () => {
          if (peer.state !== 'closed') this.resetEnd(peer);
        });
      }
    }
    clearConns(runtime);
  }

  /** A partition outlasted the reset timeout on `end`'s held data: both ends are reset. */
  private resetConnection(end: ConnEnd): void {
    this.dropSending(end, 'reset');
    this.dropHeld(end, 'reset');
    this.resetEnd(end);
    if (end.peer && end.peer.state !== 'closed') this.resetEnd(end.peer);
  }

  private dropHeld(end: ConnEnd, reason: string): void {
    this.holding.delete(end);
    const held = end.held.splice(0);
    if (end.paced) end.bufferedBytes -= held.reduce((sum, segment) => sum + segment.bytes.length, 0);
    for (const segment of held) this.ctx.drop(segment.msg, end.peer?.runtime.spec.id ?? '?', reason);
  }

  private resetEnd(end: ConnEnd): void {
    if (end.state === 'closed') return;
    end.state = 'closed';
    this.cancelResetTimer(end);
    const runtime = end.runtime;
    removeConn(runtime, end.conn);
    this.dropSending(end, 'reset');
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
