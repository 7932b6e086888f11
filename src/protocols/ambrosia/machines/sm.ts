/**
 * The gateway's side of XEP-0198 stream management on one c2s session (spec.md §3 "c2s stream
 * management"). A session outlives its connection: when the stream breaks it is *detached*, keeps
 * the stanzas the client has not acked, keeps what is routed to it meanwhile, and a client that
 * comes back with `<resume previd h/>` within `resumeMs` gets them all (RFC 6120 §3.3 reconnection,
 * XEP-0198 §5 resumption). Counters are XEP-0198's: `h` of stanzas handled, modulo 2^32.
 *
 * After every write of stanzas the gateway asks for an ack (`<r/>`, its own write): a client whose
 * parser a damaged segment left inside an element cannot answer, so when `ackTimeoutMs` passes
 * without progress the session reports `timeout` (the node closes the stream with
 * `<connection-timeout/>`, which detaches it). Unacked stanzas are bounded by `queueCountMax`.
 *
 * States, reported to the host like a statechart's (`ambrosia.sm <full JID>`): `idle`,
 * `awaitingAck`, `detached`, `ended`. Timers run on the host clock. No I/O: writes go out through
 * `host.emit`, everything else through the handlers.
 */
import type { NodeHost } from '../../protocol.js';
import { queueCountMax } from '../config.js';
import {
  counterAtOrBefore,
  el,
  handledCountBeyond,
  nextCounter,
  ns,
  toBytes,
  writeElement,
  type XmlElement,
} from '../wire.js';

export interface SmInput {
  /** The id given in `<enabled/>`, drawn by the node from the host's seeded stream. */
  readonly id: string;
  /** The full JID the session is bound to. */
  readonly jid: string;
  readonly conn: string;
  readonly ackTimeoutMs: number;
  readonly resumeMs: number;
}

export interface SmHandlers {
  /** No ack came in time on `conn`: close it (the session is detached then, or right after). */
  readonly timeout: (conn: string) => void;
  /** A stanza the session could not keep (`queueCountMax` unacked). */
  readonly overflow: (stanza: XmlElement) => void;
  /** The session is over; these stanzas were never acked. */
  readonly ended: (stanzas: readonly XmlElement[], reason: string) => void;
  /**
   * XEP-0198 §4: an `<a/>` on `conn` whose `h` counts more stanzas than were sent (`sendCount`):
   * the node ends the stream with `<undefined-condition/>` and `<handled-count-too-high/>`, which
   * detaches the session. Nothing is dropped as acked.
   */
  readonly tooHigh: (conn: string, h: number, sendCount: number) => void;
}

export type SmState = 'idle' | 'awaitingAck' | 'detached' | 'ended';

interface Unacked {
  readonly seq: number;
  readonly stanza: XmlElement;
}

const smRequest = el('r', { xmlns: ns.sm });

export class SmSession {
  readonly id: string;
  readonly jid: string;
  private state: SmState = 'idle';
  /** The attached connection; '' while detached. */
  private conn: string;
  /** Stanzas sent to the client since `<enabled/>` (the client's `h` counts the same ones). */
  private outSeq = 0;
  private unacked: Unacked[] = [];
  /** XEP-0198 `h`: stanzas received from the client and handled. */
  private inH = 0;
  private timer: unknown;

  constructor(
    private readonly host: NodeHost,
    private readonly input: SmInput,
    private readonly handlers: SmHandlers,
  ) {
    this.id = input.id;
    this.jid = input.jid;
    this.conn = input.conn;
    this.host.stateChanged(this.name, this.state);
  }

  get name(): string {
    return `ambrosia.sm ${this.jid}`;
  }

  get current(): SmState {
    return this.state;
  }

  /** Stanzas sent since `<enabled/>`, modulo 2^32 (XEP-0198's `send-count`). */
  get sendCount(): number {
    return this.outSeq;
  }

  get active(): boolean {
    return this.state !== 'ended';
  }

  /** A stanza for the client: written with `<r/>` after it while attached, kept either way until acked. */
  send(stanza: XmlElement): void {
    if (!this.active) return;
    if (this.unacked.length >= queueCountMax) return this.handlers.overflow(stanza);
    this.outSeq = nextCounter(this.outSeq);
    this.unacked.push({ seq: this.outSeq, stanza });
    if (this.state === 'detached') return;
    this.write([stanza]);
    this.write([smRequest]);
    if (this.state === 'idle') this.enter('awaitingAck');
  }

  /** A stanza came from the client (XEP-0198: counted once handled). */
  received(): void {
    if (this.active) this.inH = nextCounter(this.inH);
  }

  /** `<r/>` from the client. */
  request(): void {
    if (this.state === 'idle' || this.state === 'awaitingAck') this.write([smAck(this.inH)]);
  }

  /**
   * `<a h/>` from the client: what it handled is dropped; progress restarts the ack timer. An `h`
   * past the stanzas sent (`handledCountBeyond`) is no ack at all: a damaged or confused count
   * that would drop stanzas the client never had (`handlers.tooHigh`, XEP-0198 §4).
   */
  ack(h: number): void {
    if (this.state !== 'idle' && this.state !== 'awaitingAck') return;
    if (this.handledTooHigh(h)) return this.handlers.tooHigh(this.conn, h, this.outSeq);
    const before = this.unacked.length;
    this.unacked = this.unacked.filter((u) => !counterAtOrBefore(u.seq, h));
    if (this.state !== 'awaitingAck' || this.unacked.length === before) return;
    this.enter(this.unacked.length === 0 ? 'idle' : 'awaitingAck');
  }

  /** Whether `h` counts more stanzas than the session sent (XEP-0198 §4, §5: `<handled-count-too-high/>`). */
  handledTooHigh(h: number): boolean {
    return handledCountBeyond(h, this.outSeq, this.unacked.length);
  }

  /** The stream broke: keep everything for a resumption. */
  detach(): void {
    if (this.state === 'idle' || this.state === 'awaitingAck') this.enter('detached');
  }

  /** XEP-0198 §5: `<resumed previd h/>`, every stanza the client has not acked again, then `<r/>`. */
  resume(conn: string, h: number): void {
    if (this.state !== 'detached') return;
    this.unacked = this.unacked.filter((u) => !counterAtOrBefore(u.seq, h));
    this.conn = conn;
    const resumed = el('resumed', { xmlns: ns.sm, previd: this.id, h: String(this.inH) });
    this.write([resumed, ...this.unacked.map((u) => u.stanza)]);
    if (this.unacked.length > 0) this.write([smRequest]);
    this.enter(this.unacked.length > 0 ? 'awaitingAck' : 'idle');
  }

  /** The session is over (closed by its client, replaced, or the node stops). */
  end(reason = 'the session ended'): void {
    if (!this.active) return;
    this.enter('ended');
    const stanzas = this.unacked.map((u) => u.stanza);
    this.unacked = [];
    this.handlers.ended(stanzas, reason);
  }

  /** Stops the timers without reporting anything (the node is stopping). */
  stop(): void {
    this.clearTimer();
  }

  private enter(state: SmState): void {
    this.clearTimer();
    if (state === 'detached') this.conn = '';
    if (state !== this.state) {
      this.state = state;
      this.host.stateChanged(this.name, state);
    }
    if (state === 'awaitingAck') {
      this.timer = this.host.clock.setTimeout(() => this.ackTimedOut(), this.input.ackTimeoutMs);
    } else if (state === 'detached') {
      this.timer = this.host.clock.setTimeout(
        () => this.end(`not resumed within ${this.input.resumeMs} ms`),
        this.input.resumeMs,
      );
    }
  }

  private ackTimedOut(): void {
    this.timer = undefined;
    // The node closes the stream, which detaches the session; detach here if it did not.
    this.handlers.timeout(this.conn);
    if (this.state === 'awaitingAck') this.enter('detached');
  }

  private clearTimer(): void {
    if (this.timer !== undefined) this.host.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private write(elements: readonly XmlElement[]): void {
    const text = elements.map(writeElement).join('');
    this.host.emit({ kind: 'write', conn: this.conn, bytes: toBytes(text), decoded: text });
  }
}

export function smAck(h: number): XmlElement {
  return el('a', { xmlns: ns.sm, h: String(h) });
}
