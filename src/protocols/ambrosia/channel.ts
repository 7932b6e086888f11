/**
 * The Ambrosia service channel's stanza layer (ours, spec.md §4.4–4.5): every stanza travels as one
 * or more `<chunk seq index last>` elements, and every stanza is acked with XEP-0198 counters
 * (`<a h/>`, `<r/>`). One `channelMachine` runs at each end of an authenticated service connection.
 * The sender keeps the unacked stanzas and retransmits them all (go-back-N) when no ack arrives in
 * `ackTimeoutMs`; the receiver reassembles chunks in order, drops duplicates by `seq`, and acks.
 *
 * No I/O: it emits `output` writes, `channel.stanza` for each whole stanza received, and
 * `channel.failed` when retransmissions run out. Must not throw on peer input: a bad chunk is
 * reported as a `channel.malformed` emission and the node closes with a stream error.
 */
import { emit, enqueueActions, setup } from 'xstate';
import { output } from '../../engine/actor.js';
import type { NodeOutput } from '../protocol.js';
import {
  XmlStreamParser,
  el,
  ns,
  streamHeaderAttrs,
  toBytes,
  writeElement,
  writeStreamHeader,
  type XmlElement,
} from './wire.js';

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

/** Counters are modulo 2^32 as in XEP-0198 §4. */
const counterModulo = 0x1_0000_0000;

export function nextCounter(value: number): number {
  return (value + 1) % counterModulo;
}

/** True when counter `a` is at or before `b` in serial-number arithmetic (RFC 1982 style, window 2^31). */
export function counterAtOrBefore(a: number, b: number): boolean {
  return (b - a + counterModulo) % counterModulo < counterModulo / 2;
}

export interface Chunk {
  readonly seq: number;
  readonly index: number;
  readonly last: boolean;
  readonly text: string;
}

/** Splits a serialised stanza into chunk texts of at most `chunkCharsMax`, never inside a surrogate pair. */
export function splitChunks(text: string, chunkCharsMax: number): string[] {
  const parts: string[] = [];
  let at = 0;
  while (at < text.length) {
    let end = Math.min(text.length, at + Math.max(2, chunkCharsMax));
    const code = text.charCodeAt(end - 1);
    if (end < text.length && code >= 0xd800 && code <= 0xdbff) end -= 1;
    parts.push(text.slice(at, end));
    at = end;
  }
  return parts.length === 0 ? [''] : parts;
}

export function chunkElements(seq: number, stanza: XmlElement, chunkCharsMax: number): XmlElement[] {
  const parts = splitChunks(writeElement(stanza), chunkCharsMax);
  return parts.map((text, index) =>
    el(
      'chunk',
      { seq: String(seq), index: String(index), last: index === parts.length - 1 ? 'true' : 'false' },
      text === '' ? [] : [text],
    ),
  );
}

export function readChunk(element: XmlElement): Chunk | undefined {
  const seq = Number(element.attrs.seq);
  const index = Number(element.attrs.index);
  const last = element.attrs.last;
  if (!Number.isSafeInteger(seq) || seq < 0 || seq >= counterModulo) return undefined;
  if (!Number.isSafeInteger(index) || index < 0) return undefined;
  if (last !== 'true' && last !== 'false') return undefined;
  const text = element.children.map((c) => (typeof c === 'string' ? c : '')).join('');
  return { seq, index, last: last === 'true', text };
}

/** What a reassembled stanza text is parsed after: a stream header in the default namespace `jabber:client`. */
const stanzaStreamHeader = writeStreamHeader(streamHeaderAttrs(ns.client, {}));

/**
 * A parser that has read `stanzaStreamHeader` and then only texts that each ended exactly with the
 * end of their one stanza, so it stands where it stood right after the header: saxes is in text
 * state at depth 1 with nothing pending, and the stream parser's stack holds the header alone. Such
 * a parser gives the next text the same result as a new one would (test/protocols/ambrosia/wire.test.ts
 * compares the two on arbitrary and damaged texts, and checks saxes' fields), without building a saxes parser and reading the
 * header per stanza. Taken while in use, so a text that leaves it anywhere else just drops it.
 */
let parkedStanzaParser: XmlStreamParser | undefined;

const surrogate = /[\uD800-\uDFFF]/;

/**
 * Parses a reassembled stanza text (one element, default namespace `jabber:client`), as a stream
 * holding the header and then the text would read it.
 */
export function parseStanzaText(text: string): XmlElement | undefined {
  // A stream carries the text as UTF-8, where a lone surrogate becomes U+FFFD (the decoder reads it back so).
  const decoded = surrogate.test(text) ? new TextDecoder().decode(toBytes(text)) : text;
  let parser = parkedStanzaParser;
  parkedStanzaParser = undefined;
  if (!parser) {
    parser = new XmlStreamParser();
    if (!parser.pushText(stanzaStreamHeader).ok) return undefined;
  }
  const result = parser.pushText(decoded, stanzaStreamHeader.length);
  if (!result.ok) return undefined;
  let only: XmlElement | undefined;
  for (const event of result.value) {
    if (event.type === 'close' || (event.type === 'element' && only)) return undefined;
    if (event.type === 'element') only = event.element;
  }
  if (only && parser.atElementEnd) parkedStanzaParser = parser;
  return only;
}

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
