/**
 * Named bounds of the real host (src/core/limits.ts style): what one peer may hold of a served node's
 * memory, descriptors and time. Each has a default with the reason for its number, and a key of the
 * same name under `limits:` in a `fedsim serve` config (docs/serve.md).
 *
 * "Pending input" is what the host can see without knowing the protocol: bytes that arrived on a
 * connection since the node last did anything (wrote, closed, delivered, rejected, noted) while
 * handling that connection's input. A complete frame makes the node act; a frame that never completes
 * (a stalled partial frame, a slowloris drip) does not. Input that is only ASCII whitespace (XMPP's
 * keepalive, RFC 6120 §4.6.1) starts no partial-frame clock.
 */
import { z } from 'zod';

export interface RealLimits {
  /** After the node closes a connection, how long the peer has to close its side before it is destroyed. */
  readonly lingerMs: number;
  /** A connection with no bytes either way for this long is closed (a half-open or vanished peer). */
  readonly idleMs: number;
  /** A connection whose pending input has stayed unanswered this long is closed (a stalled frame, a slowloris). */
  readonly partialFrameMs: number;
  /** Pending input one connection may hold; past it the connection is closed. */
  readonly inputPendingMax: number;
  /** Pending input all connections together may hold; past it the connection holding most is closed. */
  readonly inputPendingTotalMax: number;
  /**
   * Pending input all connections together may hold before the host stops reading from a connection
   * that adds to it (back-pressure: the kernel keeps the bytes, the peer's sends stall); reading
   * resumes, oldest pause first, as the total falls back under it.
   */
  readonly inputPendingReadMax: number;
  /** Open connections accepted on one listener; a connection past it is refused (closed at once). */
  readonly connectionsPerListenerMax: number;
  /** Open connections accepted from one peer address (over all listeners); past it, refused. */
  readonly connectionsPerAddressMax: number;
  /** Bytes written to a connection that the peer has not read yet; past it the connection is closed. */
  readonly outputPendingMax: number;
  /** Connections the kernel may hold waiting for accept on one listener (listen(2) backlog). */
  readonly listenBacklog: number;
}

export const realLimitDefaults: RealLimits = {
  /** Long enough for a peer to read a last answer and close; a peer that never closes frees its descriptor. */
  lingerMs: 2_000,
  /** Five minutes: longer than any protocol's keepalive (XMPP clients ping every minute or so). */
  idleMs: 300_000,
  /** Thirty seconds to finish a frame: a 1 MiB frame at 35 KB/s; a drip feeder is closed well before it costs much. */
  partialFrameMs: 30_000,
  /** 2 MiB: twice the largest frame of the five protocols (Bester's frameBytesMax = 1 MiB). */
  inputPendingMax: 2 * 1024 * 1024,
  /** 64 MiB: sixty-four such frames in flight at once; past it a flood of partial frames sheds the largest. */
  inputPendingTotalMax: 64 * 1024 * 1024,
  /**
   * 16 MiB: sixteen of the largest frames arriving at full speed at once. A flood of partial frames
   * then costs the process what it read before the pause (this, plus one socket read per connection),
   * not what the flood sends: memory a process has taken, glibc's allocator does not all hand back.
   */
  inputPendingReadMax: 16 * 1024 * 1024,
  /** 4,096: well under the descriptor limit of a default system (the host needs some for itself). */
  connectionsPerListenerMax: 4_096,
  /**
   * 2,048: half the listener's cap, so one address cannot take all of it. High because a loopback test
   * bed, and clients behind one NAT, arrive from a single address (the soak runs 1,000 clients at once).
   */
  connectionsPerAddressMax: 2_048,
  /** 8 MiB: eight of the largest frames queued for a slow reader; a peer that stops reading is cut off there. */
  outputPendingMax: 8 * 1024 * 1024,
  /**
   * 4,096 (Linux caps it at net.core.somaxconn, 4,096 by default): Node's 511 overflowed under 1,000
   * clients connecting at once, and an overflowed SYN is retried after 1, 3, 7, 15 s.
   */
  listenBacklog: 4_096,
};

const positive = z.number().int().min(1);

/** The `limits:` block of a serve config: any subset of the named limits. */
export const realLimitsSchema = z.strictObject({
  lingerMs: positive.optional(),
  idleMs: positive.optional(),
  partialFrameMs: positive.optional(),
  inputPendingMax: positive.optional(),
  inputPendingTotalMax: positive.optional(),
  inputPendingReadMax: positive.optional(),
  connectionsPerListenerMax: positive.optional(),
  connectionsPerAddressMax: positive.optional(),
  outputPendingMax: positive.optional(),
  listenBacklog: positive.optional(),
});

/** One line per limit for `serve --help` and the docs: `name (default): what it bounds`. */
export const realLimitDescriptions: Readonly<Record<keyof RealLimits, string>> = {
  lingerMs: 'ms a peer has to close after the node closed; then the socket is destroyed',
  idleMs: 'ms without bytes either way before a connection is closed',
  partialFrameMs: 'ms input may stay unanswered (a partial frame) before the connection is closed',
  inputPendingMax: 'unanswered input bytes one connection may hold',
  inputPendingTotalMax: 'unanswered input bytes all connections may hold; past it the largest is closed',
  inputPendingReadMax: 'unanswered input bytes of all connections past which reading from those adding to it pauses',
  connectionsPerListenerMax: 'open connections per listener; more are refused',
  connectionsPerAddressMax: 'open connections per peer address; more are refused',
  outputPendingMax: 'bytes written but not yet read by the peer; past it the connection is closed',
  listenBacklog: 'connections waiting for accept per listener (the listen(2) backlog)',
};
