/**
 * The Ambrosia service channel's stanza layer (ours, spec.md §4.4–4.5): every stanza travels as one
 * or more `<chunk seq index last>` elements (their codec is in ../wire.ts), and every stanza is acked
 * with XEP-0198 counters (`<a h/>`, `<r/>`). One `channelMachine` runs at each end of an
 * authenticated service connection. The sender keeps the unacked stanzas and retransmits them all
 * (go-back-N) when no ack arrives in `ackTimeoutMs`; the receiver reassembles chunks in order, drops
 * duplicates by `seq`, and acks. `StallWatch` is the receiving end's check for a damaged segment (§4.8).
 *
 * No I/O: it emits `output` writes, `channel.stanza` for each whole stanza received, and
 * `channel.failed` when retransmissions run out. Must not throw on peer input: a bad chunk is
 * reported as a `channel.malformed` emission and the node closes with a stream error.
 */
import { emit, enqueueActions, setup } from 'xstate';
import { output } from '../../../engine/actor.js';
import type { NodeOutput } from '../../protocol.js';
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

export interface ChannelInput {
  readonly conn: string;
  readonly chunkCharsMax: number;
  readonly ackTimeoutMs: number;
  readonly retransmitsMax: number;
}

interface Unacked {
  readonly seq: number;
  readonly stanza: XmlElement;
}

export interface ChannelContext extends ChannelInput {
  /** The seq of the last stanza sent (0 before the first). */
  readonly outSeq: number;
  readonly unacked: readonly Unacked[];
  readonly attempt: number;
  /** XEP-0198 `h`: stanzas received and handled. */
  readonly inH: number;
  /** Chunks of the stanza `inH + 1` received so far. */
  readonly partial: readonly string[];
  readonly partialChars: number;
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
  | { type: 'channel.stanza'; stanza: XmlElement; seq: number }
  | { type: 'channel.acked'; stanzas: readonly XmlElement[] }
  | { type: 'channel.malformed'; reason: string }
  | { type: 'channel.failed'; reason: string };

function writeOut(conn: string, elements: readonly XmlElement[]): NodeOutput {
  const texts = elements.map(writeElement);
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
    isUnackedFull: ({ context }) => context.unacked.length >= unackedCountMax,
  },
  actions: {
    sendStanza: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'channel.send') return;
      const seq = nextCounter(context.outSeq);
      enqueue.emit(output(writeOut(context.conn, chunkElements(seq, event.stanza, context.chunkCharsMax))));
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
      const elements = context.unacked.flatMap((u) => chunkElements(u.seq, u.stanza, context.chunkCharsMax));
      enqueue.emit(output(writeOut(context.conn, [...elements, requestElement()])));
      enqueue.assign({ attempt: context.attempt + 1 });
    }),
    answerRequest: emit(({ context }) => output(writeOut(context.conn, [ackElement(context.inH)]))),
    takeChunk: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'wire.chunk') return;
      const { chunk } = event;
      // Anything but the next chunk of the next stanza is a duplicate or follows a gap: the sender's
      // go-back-N retransmission fills it, so we only re-ack our counter.
      if (chunk.seq !== nextCounter(context.inH) || chunk.index !== context.partial.length) {
        if (chunk.seq !== nextCounter(context.inH) || chunk.index > context.partial.length) {
          enqueue.emit(output(writeOut(context.conn, [ackElement(context.inH)])));
        }
        return;
      }
      const partialChars = context.partialChars + chunk.text.length;
      if (partialChars > reassemblyCharsMax) {
        enqueue.emit({ type: 'channel.malformed', reason: `stanza over ${reassemblyCharsMax} characters` });
        return;
      }
      if (!chunk.last) {
        enqueue.assign({ partial: [...context.partial, chunk.text], partialChars });
        return;
      }
      const stanza = parseStanzaText([...context.partial, chunk.text].join(''));
      if (!stanza) {
        enqueue.emit({
          type: 'channel.malformed',
          reason: `chunk seq ${chunk.seq} does not hold one well-formed stanza`,
        });
        return;
      }
      enqueue.assign({ inH: chunk.seq, partial: [], partialChars: 0, receivedCount: context.receivedCount + 1 });
      enqueue.emit({ type: 'channel.stanza', stanza, seq: chunk.seq });
      enqueue.emit(output(writeOut(context.conn, [ackElement(chunk.seq)])));
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
  context: ({ input }) => ({
    ...input,
    outSeq: 0,
    unacked: [],
    attempt: 0,
    inH: 0,
    partial: [],
    partialChars: 0,
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
          { guard: 'hasRetransmitsLeft', target: 'awaitingAck', reenter: true, actions: 'retransmitUnacked' },
          { target: 'closed', actions: 'reportFailed' },
        ],
      },
    },
    closed: { type: 'final' },
  },
});
