/**
 * The Ambrosia service channel's stanza layer (ours, spec.md §4.4–4.5): every stanza travels as one
 * or more `<chunk seq index last>` elements (their codec is in ../wire.ts), and every stanza is acked
 * with XEP-0198 counters (`<a h/>`, `<r/>`). One `channelMachine` runs at each end of an
 * authenticated service connection. The sender keeps the unacked stanzas and retransmits them all
 * (go-back-N) when no ack arrives in `ackTimeoutMs` after its last write; the receiver reassembles
 * chunks (of several stanzas at once when the sender interleaves them), drops duplicates by `seq`,
 * and acks the seq up to which every stanza is whole. `StallWatch` is the receiving end's check for
 * a damaged segment (§4.8).
 *
 * `ChunkWriter` writes what the machine sends under the host's flow control (§4.4): chunk by chunk,
 * round robin between the stanzas waiting, while the connection is below its high-water mark, and
 * the rest after `conn.drain`. So a large stanza no longer holds the channel: the chunks of later
 * stanzas go out between its own.
 *
 * No I/O in the machine: it emits `channel.transmit` and `channel.retransmit` (for its writer),
 * `output` writes of acks, `channel.stanza` for each whole stanza received, and `channel.failed`
 * when retransmissions run out. Must not throw on peer input: a bad chunk is reported as a
 * `channel.malformed` emission and the node closes with a stream error.
 */
import { emit, enqueueActions, setup } from 'xstate';
import { output } from '../../../engine/actor.js';
import type { NodeHost, NodeOutput } from '../../protocol.js';
import {
  chunkElements,
  counterAtOrBefore,
  el,
  nextCounter,
  ns,
  parseStanzaText,
  toBytes,
  writeElement,
  type Chunk,
  type XmlElement,
} from '../wire.js';

/** Largest stanza the channel reassembles, in characters: the same bound as a stanza on any stream. */
export const reassemblyCharsMax = 256 * 1024;

/**
 * Watches a service channel for an element that never completes (spec.md §4.8, ours): both ends write
 * whole elements, so an element still incomplete when later bytes arrive, `stallMs` after it began,
 * was cut or damaged on the way, and the parser is stuck inside it (the peer's retransmissions only
 * nest in it). Returns true when the stream is to be given up.
 */
export class StallWatch {
  private sinceMs: number | undefined;

  constructor(private readonly stallMs: number) {}

  /** After each segment: whether it completed an element, whether one is incomplete now, and the time. */
  stalled(completed: boolean, pending: boolean, nowMs: number): boolean {
    if (!pending) {
      this.sinceMs = undefined;
      return false;
    }
    if (completed || this.sinceMs === undefined) {
      this.sinceMs = nowMs;
      return false;
    }
    return nowMs - this.sinceMs >= this.stallMs;
  }
}

/** Unacked stanzas a sender keeps per channel; past this the channel is failed (a peer that never acks). */
export const unackedCountMax = 1024;

/**
 * Stanzas a receiver reassembles at once (spec.md §4.4): the one the ack counter waits for and the
 * ones interleaved after it, partial or whole. Beyond it a chunk is treated as following a gap.
 */
export const interleavedCountMax = 64;

export interface ChannelInput {
  readonly conn: string;
  readonly chunkCharsMax: number;
  readonly ackTimeoutMs: number;
  readonly retransmitsMax: number;
  /**
   * Whether the node is still writing what it sent (its `ChunkWriter` holds chunks, or the host has
   * not sent them on yet): the ack timeout then starts again instead of retransmitting, since no
   * ack can be due for a stanza that has not left. Absent: never.
   */
  readonly writing?: () => boolean;
}

interface Unacked {
  readonly seq: number;
  readonly stanza: XmlElement;
}

/** A stanza the receiver is reassembling, or has handled ahead of the ack counter (`done`). */
interface Inbound {
  readonly seq: number;
  readonly texts: readonly string[];
  readonly chars: number;
  readonly done: boolean;
}

export interface ChannelContext extends ChannelInput {
  /** The seq of the last stanza sent (0 before the first). */
  readonly outSeq: number;
  readonly unacked: readonly Unacked[];
  readonly attempt: number;
  /** XEP-0198 `h`: the seq up to which every stanza was received whole and handled. */
  readonly inH: number;
  /**
   * Stanzas after `inH`, by seq: partial ones (chunks so far), and whole ones handled ahead of
   * `inH + 1` (interleaved by the sender); empty when nothing is interleaved.
   */
  readonly inbound: readonly Inbound[];
  readonly sentCount: number;
  readonly receivedCount: number;
}

export type ChannelEvent =
  | { type: 'channel.send'; stanza: XmlElement }
  | { type: 'wire.chunk'; chunk: Chunk }
  | { type: 'wire.ack'; h: number }
  | { type: 'wire.request' }
  | { type: 'channel.close' };

export type ChannelEmitted =
  | { type: 'output'; output: NodeOutput }
  /** A new stanza for the writer (`ChunkWriter.stanza`). */
  | { type: 'channel.transmit'; seq: number; stanza: XmlElement }
  /** Go-back-N: the writer drops what it still held and writes these again, in order, then `<r/>`. */
  | { type: 'channel.retransmit'; stanzas: readonly Unacked[] }
  | { type: 'channel.stanza'; stanza: XmlElement; seq: number }
  | { type: 'channel.acked'; stanzas: readonly XmlElement[] }
  | { type: 'channel.malformed'; reason: string }
  | { type: 'channel.failed'; reason: string };

function writeOut(conn: string, elements: readonly XmlElement[]): NodeOutput {
  return writeTexts(conn, elements.map(writeElement));
}

/** A write of elements already serialised, one text each (the trace shows them one by one). */
function writeTexts(conn: string, texts: readonly string[]): NodeOutput {
  return { kind: 'write', conn, bytes: toBytes(texts.join('')), decoded: texts };
}

const ackElement = (h: number) => el('a', { xmlns: ns.sm, h: String(h) });
const requestElement = () => el('r', { xmlns: ns.sm });

export const channelMachine = setup({
  types: {
    context: {} as ChannelContext,
    input: {} as ChannelInput,
    events: {} as ChannelEvent,
    emitted: {} as ChannelEmitted,
  },
  guards: {
    isAckForAll: ({ context, event }) =>
      event.type === 'wire.ack' && context.unacked.every((u) => counterAtOrBefore(u.seq, event.h)),
    isAckWithProgress: ({ context, event }) =>
      event.type === 'wire.ack' && context.unacked.some((u) => counterAtOrBefore(u.seq, event.h)),
    hasRetransmitsLeft: ({ context }) => context.attempt < context.retransmitsMax,
    isWriting: ({ context }) => context.writing?.() ?? false,
    isUnackedFull: ({ context }) => context.unacked.length >= unackedCountMax,
  },
  actions: {
    sendStanza: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'channel.send') return;
      const seq = nextCounter(context.outSeq);
      enqueue.emit({ type: 'channel.transmit', seq, stanza: event.stanza });
      enqueue.assign({
        outSeq: seq,
        unacked: [...context.unacked, { seq, stanza: event.stanza }],
        sentCount: context.sentCount + 1,
      });
    }),
    dropAcked: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'wire.ack') return;
      const acked = context.unacked.filter((u) => counterAtOrBefore(u.seq, event.h));
      if (acked.length === 0) return;
      enqueue.emit({ type: 'channel.acked', stanzas: acked.map((u) => u.stanza) });
      enqueue.assign({ unacked: context.unacked.filter((u) => !counterAtOrBefore(u.seq, event.h)), attempt: 0 });
    }),
    retransmitUnacked: enqueueActions(({ context, enqueue }) => {
      enqueue.emit({ type: 'channel.retransmit', stanzas: context.unacked });
      enqueue.assign({ attempt: context.attempt + 1 });
    }),
    answerRequest: emit(({ context }) => output(writeOut(context.conn, [ackElement(context.inH)]))),
    takeChunk: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'wire.chunk') return;
      const { chunk } = event;
      const ack = () => enqueue.emit(output(writeOut(context.conn, [ackElement(context.inH)])));
      const next = nextCounter(context.inH);
      const at = context.inbound.findIndex((entry) => entry.seq === chunk.seq);
      const entry: Inbound = context.inbound[at] ?? { seq: chunk.seq, texts: [], chars: 0, done: false };
      // A stanza handled already (up to `inH`, or ahead of it) is a duplicate: the sender's go-back-N
      // retransmission, answered by our counter. A stanza after `inH + 1` may start only while an
      // earlier one is being reassembled (the sender starts stanzas in seq order and interleaves only
      // behind one it has begun), within `interleavedCountMax` stanzas: anything else follows a gap
      // (or a damaged seq), which the sender's retransmission fills, so it too only gets our counter.
      const ahead = chunk.seq !== next && at < 0;
      if (
        counterAtOrBefore(chunk.seq, context.inH) ||
        entry.done ||
        (ahead &&
          (context.inbound.length >= interleavedCountMax ||
            !context.inbound.some((e) => !e.done && counterAtOrBefore(e.seq, chunk.seq))))
      ) {
        ack();
        return;
      }
      if (chunk.index !== entry.texts.length) {
        if (chunk.index > entry.texts.length) ack();
        return;
      }
      const chars = entry.chars + chunk.text.length;
      const pendingChars = context.inbound.reduce((sum, e) => sum + e.chars, 0) + chunk.text.length;
      if (chars > reassemblyCharsMax || pendingChars > 2 * reassemblyCharsMax) {
        enqueue.emit({ type: 'channel.malformed', reason: `stanza over ${reassemblyCharsMax} characters` });
        return;
      }
      const texts = [...entry.texts, chunk.text];
      const others = context.inbound.filter((e) => e.seq !== chunk.seq);
      if (!chunk.last) {
        enqueue.assign({ inbound: sortedInbound([...others, { seq: chunk.seq, texts, chars, done: false }]) });
        return;
      }
      const stanza = parseStanzaText(texts.join(''));
      if (!stanza) {
        enqueue.emit({
          type: 'channel.malformed',
          reason: `chunk seq ${chunk.seq} does not hold one well-formed stanza`,
        });
        return;
      }
      // The counter moves past this stanza and every whole one handled ahead of it.
      let inH = context.inH;
      let inbound = sortedInbound([...others, { seq: chunk.seq, texts: [], chars: 0, done: true }]);
      while (inbound[0]?.seq === nextCounter(inH) && inbound[0].done) {
        inH = inbound[0].seq;
        inbound = inbound.slice(1);
      }
      enqueue.assign({ inH, inbound, receivedCount: context.receivedCount + 1 });
      enqueue.emit({ type: 'channel.stanza', stanza, seq: chunk.seq });
      if (inH !== context.inH) enqueue.emit(output(writeOut(context.conn, [ackElement(inH)])));
    }),
    reportFailed: emit(({ context }) => ({
      type: 'channel.failed' as const,
      reason: `no ack after ${context.attempt} retransmissions`,
    })),
    reportFull: emit({ type: 'channel.failed' as const, reason: `over ${unackedCountMax} unacked stanzas` }),
  },
  delays: {
    ackDelay: ({ context }) => context.ackTimeoutMs,
  },
}).createMachine({
  id: 'ambrosia.channel',
  initial: 'idle',
  // Object.assign, not a spread then fields: a tenth of the cost per actor (docs/performance.md, finding 10).
  context: ({ input }) =>
    Object.assign({}, input, {
      outSeq: 0,
      unacked: [],
      attempt: 0,
      inH: 0,
      inbound: [],
      sentCount: 0,
      receivedCount: 0,
    }),
  on: {
    'wire.chunk': { actions: 'takeChunk' },
    'wire.request': { actions: 'answerRequest' },
    'channel.close': { target: '.closed' },
  },
  states: {
    idle: {
      on: {
        'channel.send': { target: 'awaitingAck', actions: 'sendStanza' },
        'wire.ack': { actions: 'dropAcked' },
      },
    },
    awaitingAck: {
      on: {
        'channel.send': [
          { guard: 'isUnackedFull', target: 'closed', actions: 'reportFull' },
          { actions: 'sendStanza' },
        ],
        'wire.ack': [
          { guard: 'isAckForAll', target: 'idle', actions: 'dropAcked' },
          { guard: 'isAckWithProgress', target: 'awaitingAck', reenter: true, actions: 'dropAcked' },
        ],
      },
      after: {
        ackDelay: [
          { guard: 'isWriting', target: 'awaitingAck', reenter: true },
          { guard: 'hasRetransmitsLeft', target: 'awaitingAck', reenter: true, actions: 'retransmitUnacked' },
          { target: 'closed', actions: 'reportFailed' },
        ],
      },
    },
    closed: { type: 'final' },
  },
});

/** Seq order after the ack counter (serial arithmetic, so a wrap past 2^32 keeps the order). */
function sortedInbound(entries: readonly Inbound[]): Inbound[] {
  return [...entries].sort((a, b) => (a.seq === b.seq ? 0 : counterAtOrBefore(a.seq, b.seq) ? -1 : 1));
}

/**
 * One run of elements a `ChunkWriter` writes in order: a stanza's chunks, or a retransmission, each
 * serialised once, when the run is made (the writer needs its size before it writes it).
 */
interface Run {
  /** Stanzas of one lane keep their order (RFC 6120 §10.1: same sender, same recipient). */
  readonly lane: string;
  readonly texts: readonly string[];
  next: number;
}

/**
 * Writes a channel's chunks under the host's flow control (spec.md §4.4, ours): while the bytes the
 * host holds for the connection are below `writeHighWaterBytes`, one write takes the next chunk of
 * each waiting stanza in turn (round robin) until it fills the room left; the rest waits for
 * `pump()` on `conn.drain`. A stanza waits behind an earlier one with the same `from` and `to`, so
 * interleaving never reorders one sender's stanzas to one recipient. Where the host never holds
 * bytes (a simulated link without a bandwidth), everything is written at once, as one write when it
 * fits under the mark, which is what a channel without flow control wrote.
 */
export class ChunkWriter {
  private runs: Run[] = [];
  private turn = 0;

  constructor(
    private readonly host: NodeHost,
    private readonly conn: string,
    private readonly chunkCharsMax: number,
  ) {}

  /** Chunks still to write, or bytes the host still holds: no ack can be due yet. */
  get writing(): boolean {
    return this.runs.length > 0 || this.host.bufferedBytes(this.conn) > 0;
  }

  /** Stanzas waiting to be written whole. */
  get waiting(): number {
    return this.runs.length;
  }

  stanza(seq: number, stanza: XmlElement): void {
    const lane = `${stanza.attrs.from ?? ''}>${stanza.attrs.to ?? ''}`;
    this.runs.push({ lane, texts: chunkElements(seq, stanza, this.chunkCharsMax).map(writeElement), next: 0 });
    this.pump();
  }

  /** Go-back-N: what was still waiting is among `stanzas`, so it is dropped and all of them go again, in order. */
  retransmit(stanzas: readonly { readonly seq: number; readonly stanza: XmlElement }[]): void {
    const elements = stanzas.flatMap((u) => chunkElements(u.seq, u.stanza, this.chunkCharsMax));
    this.runs = [{ lane: '', texts: [...elements, requestElement()].map(writeElement), next: 0 }];
    this.turn = 0;
    this.pump();
  }

  /** Writes while the connection is below its mark (call it again on `conn.drain`). */
  pump(): void {
    while (this.runs.length > 0) {
      const room = this.host.writeHighWaterBytes - this.host.bufferedBytes(this.conn);
      if (room <= 0) return;
      const texts: string[] = [];
      for (let bytes = 0; bytes < room;) {
        const text = this.take();
        if (text === undefined) break;
        texts.push(text);
        // The length of `toBytes(text)` (a lone surrogate counts as U+FFFD's 3 bytes there too), without making them.
        bytes += Buffer.byteLength(text, 'utf8');
      }
      this.host.emit(writeTexts(this.conn, texts));
    }
  }

  /**
   * The next element in round-robin order among the runs that may go: the first of their lane, and,
   * for one not begun yet, with no run before it that could begin first (stanzas begin in seq order,
   * which the receiver relies on to tell an interleaved stanza from a gap).
   */
  private take(): string | undefined {
    const count = this.runs.length;
    const lanes = new Set<string>();
    const heads = this.runs.map((run) => {
      const head = !lanes.has(run.lane);
      lanes.add(run.lane);
      return head;
    });
    const firstUnbegun = this.runs.findIndex((run, at) => heads[at] && run.next === 0);
    for (let step = 0; step < count; step++) {
      const at = (this.turn + step) % count;
      const run = this.runs[at] as Run;
      if (!heads[at] || (run.next === 0 && at !== firstUnbegun)) continue;
      const text = run.texts[run.next] as string;
      run.next += 1;
      if (run.next === run.texts.length) {
        this.runs.splice(at, 1);
        this.turn = this.runs.length === 0 ? 0 : at % this.runs.length;
      } else this.turn = (at + 1) % count;
      return text;
    }
    return undefined;
  }
}
