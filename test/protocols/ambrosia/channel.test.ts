// Goal: the service channel's chunks interleave under flow control (spec.md §4.4): the writer sends
// chunks only while the connection is below its high-water mark, round robin between waiting
// stanzas, keeps one sender's stanzas to one recipient in order, begins stanzas in seq order, and
// writes exactly what a channel without flow control wrote when the host never holds bytes; the
// receiver reassembles interleaved stanzas, handles each once whole, acks only the seq up to which
// all are whole, and treats a stanza ahead of nothing in progress as a gap.
// Method: a ManualHost plays the host (its `buffered` map is the connection's unsent bytes); the
// channel machine runs on it as the gateway and service run it.
import { describe, expect, it } from 'vitest';
import { Prng } from '../../../src/core/prng.js';
import { startActor } from '../../../src/engine/actor.js';
import { ChunkWriter, channelMachine } from '../../../src/protocols/ambrosia/machines/channel.js';
import {
  el,
  readChunk,
  parseStanzaText,
  XmlStreamParser,
  type XmlElement,
} from '../../../src/protocols/ambrosia/wire.js';
import type { NodeOutput } from '../../../src/protocols/protocol.js';
import { ManualHost } from '../../support/manual-host.js';

const message = (from: string, to: string, id: string, body: string): XmlElement =>
  el('message', { to, from, type: 'chat', id }, [el('body', {}, [body])]);

/** The chunk elements of each write, as `seq:index` (last marked with `!`). */
function writes(outputs: readonly NodeOutput[]): string[][] {
  return outputs
    .filter((o): o is Extract<NodeOutput, { kind: 'write' }> => o.kind === 'write')
    .map((o) =>
      (o.decoded as string[]).map((text) => {
        const seq = /seq='(\d+)'/.exec(text)?.[1];
        const index = /index='(\d+)'/.exec(text)?.[1];
        return seq === undefined ? text : `${seq}:${index}${text.includes("last='true'") ? '!' : ''}`;
      }),
    );
}

describe('ambrosia: ChunkWriter (flow control, spec.md §4.4)', () => {
  it('with nothing buffered it writes a stanza whole in one write, as before flow control', () => {
    const host = new ManualHost('gw.test');
    const writer = new ChunkWriter(host, 'c', 16);
    writer.stanza(1, message('a@x/r', 'b@x', 'm1', 'a body of some length'));
    const all = writes(host.take());
    expect(all).toHaveLength(1);
    const count = chunksOf(1, message('a@x/r', 'b@x', 'm1', 'a body of some length')).length;
    expect(count).toBeGreaterThan(3);
    expect(all[0]).toEqual(Array.from({ length: count }, (_, i) => `1:${i}${i === count - 1 ? '!' : ''}`));
    expect(writer.writing).toBe(false);
  });

  it('writes only while below the mark, round robin between stanzas, the rest on pump (drain)', () => {
    const host = new BufferingHost('gw.test');
    host.writeHighWaterBytes = 100;
    const writer = new ChunkWriter(host, 'c', 16);
    // The host holds 60 bytes: room for one chunk element (about 60 bytes) in the first write.
    host.buffered.set('c', 60);
    writer.stanza(1, message('a@x/r', 'b@x', 'big', 'x'.repeat(60)));
    expect(writes(host.take())).toEqual([['1:0']]);
    writer.stanza(2, message('c@x/r', 'd@x', 's1', 'hi'));
    writer.stanza(3, message('c@x/r', 'e@x', 's2', 'yo'));
    expect(host.take()).toEqual([]);
    expect(writer.writing).toBe(true);
    // Each drain leaves room for about two elements; the turns go big, s1, s2, big, s1, ...
    const order: string[] = [];
    for (let i = 0; i < 40 && writer.waiting > 0; i++) {
      host.buffered.set('c', 0);
      writer.pump();
      const batch = writes(host.take());
      expect(batch).toHaveLength(1);
      expect(host.buffered.get('c')).toBeGreaterThanOrEqual(100);
      order.push(...batch.flat());
    }
    expect(order.slice(0, 6)).toEqual(['1:1', '2:0', '3:0', '1:2', '2:1', '3:1']);
    // Every chunk of each stanza, in index order per stanza, once.
    for (const seq of ['1', '2', '3']) {
      const mine = order.filter((c) => c.startsWith(`${seq}:`)).map((c) => Number(c.split(':')[1]?.replace('!', '')));
      expect(mine).toEqual(mine.map((_, i) => i + (seq === '1' ? 1 : 0)));
    }
    expect(order.filter((c) => c.endsWith('!'))).toHaveLength(3);
    // s1 and s2 end before the big one does.
    const end = (seq: string) => order.findIndex((c) => c.startsWith(`${seq}:`) && c.endsWith('!'));
    expect(end('2')).toBeLessThan(end('1'));
    expect(end('3')).toBeLessThan(end('1'));
  });

  it("keeps one sender's stanzas to one recipient in order, and begins stanzas in seq order", () => {
    const host = new BufferingHost('gw.test');
    host.writeHighWaterBytes = 100;
    const writer = new ChunkWriter(host, 'c', 16);
    host.buffered.set('c', 100);
    writer.stanza(1, message('a@x/r', 'b@x', 'big', 'x'.repeat(40)));
    writer.stanza(2, message('a@x/r', 'b@x', 'after', 'y'));
    writer.stanza(3, message('c@x/r', 'd@x', 'other', 'z'));
    const order: string[] = [];
    for (let i = 0; i < 60 && writer.waiting > 0; i++) {
      host.buffered.set('c', 0);
      writer.pump();
      order.push(...writes(host.take()).flat());
    }
    const first = (seq: string) => order.findIndex((c) => c.startsWith(`${seq}:`));
    const last = (seq: string) => order.findIndex((c) => c.startsWith(`${seq}:`) && c.endsWith('!'));
    expect(first('2')).toBeGreaterThan(last('1'));
    expect(first('3')).toBeGreaterThan(first('1'));
    expect(last('3')).toBeLessThan(last('1'));
  });

  it('a retransmission drops what still waited and writes every unacked stanza again, in order, then <r/>', () => {
    const host = new ManualHost('gw.test');
    const writer = new ChunkWriter(host, 'c', 16);
    writer.retransmit([
      { seq: 4, stanza: message('a@x/r', 'b@x', 'm4', 'one') },
      { seq: 5, stanza: message('a@x/r', 'b@x', 'm5', 'two') },
    ]);
    const all = writes(host.take());
    expect(all).toHaveLength(1);
    const only = all[0] ?? [];
    const four = chunksOf(4, message('a@x/r', 'b@x', 'm4', 'one')).length;
    const five = chunksOf(5, message('a@x/r', 'b@x', 'm5', 'two')).length;
    expect(only).toEqual([
      ...Array.from({ length: four }, (_, i) => `4:${i}${i === four - 1 ? '!' : ''}`),
      ...Array.from({ length: five }, (_, i) => `5:${i}${i === five - 1 ? '!' : ''}`),
      "<r xmlns='urn:xmpp:sm:3'/>",
    ]);
  });
});

describe('ambrosia: channel receiver with interleaved stanzas', () => {
  function receiver() {
    const host = new ManualHost('svc.test');
    const stanzas: string[] = [];
    const actor = startActor(channelMachine, host, {
      input: { conn: 'c', chunkCharsMax: 16, ackTimeoutMs: 1000, retransmitsMax: 3 },
      on: { 'channel.stanza': (e) => stanzas.push((e as unknown as { stanza: XmlElement }).stanza.attrs.id ?? '') },
    });
    const feed = (seq: number, stanza: XmlElement, indexes?: number[]) => {
      const all = chunksOf(seq, stanza);
      for (const index of indexes ?? all.map((_, i) => i)) {
        const chunk = all[index];
        if (chunk) actor.send({ type: 'wire.chunk', chunk });
      }
    };
    const acks = () =>
      host
        .take()
        .filter((o): o is Extract<NodeOutput, { kind: 'write' }> => o.kind === 'write')
        .map((o) => (o.decoded as string[]).join(''));
    return { actor, stanzas, feed, acks };
  }

  it('handles a small stanza interleaved in a large one at once, and acks both when the large one is whole', () => {
    const { stanzas, feed, acks } = receiver();
    const big = message('a@x/r', 'b@x', 'big', 'x'.repeat(50));
    const count = chunksOf(1, big).length;
    feed(1, big, [0, 1]);
    feed(2, message('c@x/r', 'd@x', 'small', 'hi'));
    expect(stanzas).toEqual(['small']);
    expect(acks()).toEqual([]);
    feed(
      1,
      big,
      Array.from({ length: count - 2 }, (_, i) => i + 2),
    );
    expect(stanzas).toEqual(['small', 'big']);
    expect(acks()).toEqual(["<a xmlns='urn:xmpp:sm:3' h='2'/>"]);
    // Retransmitted duplicates of either are re-acked (each chunk), not handled again.
    feed(2, message('c@x/r', 'd@x', 'small', 'hi'));
    expect(stanzas).toEqual(['small', 'big']);
    const again = acks();
    expect(again.length).toBe(chunksOf(2, message('c@x/r', 'd@x', 'small', 'hi')).length);
    expect(new Set(again)).toEqual(new Set(["<a xmlns='urn:xmpp:sm:3' h='2'/>"]));
  });

  it('a stanza ahead of the counter with nothing in progress is a gap: re-acked and dropped', () => {
    const { stanzas, feed, acks } = receiver();
    feed(2, message('c@x/r', 'd@x', 'early', 'hi'), [0]);
    expect(stanzas).toEqual([]);
    expect(acks()).toEqual(["<a xmlns='urn:xmpp:sm:3' h='0'/>"]);
    // A single-chunk stanza 2 is no different: handled only once stanza 1 is there.
    feed(2, message('c@x/r', 'd@x', 'x', ''), [0]);
    expect(stanzas).toEqual([]);
  });
});

describe('ambrosia: writer to receiver under random drains (property, 200 seeds)', () => {
  it('every stanza arrives once and whole, one lane keeps its order, and the last ack counts them all', () => {
    for (let seed = 1; seed <= 200; seed++) {
      const random = new Prng(seed, 'channel-property');
      const sender = new BufferingHost('gw.test');
      sender.writeHighWaterBytes = random.int(40, 400);
      const writer = new ChunkWriter(sender, 'c', random.int(8, 64));
      const receiverHost = new ManualHost('svc.test');
      const got: string[] = [];
      const receiver = startActor(channelMachine, receiverHost, {
        input: { conn: 'r', chunkCharsMax: 16, ackTimeoutMs: 1000, retransmitsMax: 3 },
        on: {
          'channel.stanza': (e) => got.push((e as unknown as { stanza: XmlElement }).stanza.attrs.id ?? ''),
        },
      });
      const parser = new XmlStreamParser();
      parser.pushText(
        "<stream:stream xmlns='urn:fedsim:ambrosia:service:0' xmlns:stream='http://etherx.jabber.org/streams'>",
      );
      /** The network: what the writer wrote reaches the receiver, and the host's buffer empties. */
      const deliver = () => {
        for (const output of sender.take()) {
          if (output.kind !== 'write') continue;
          const events = parser.push(output.bytes);
          if (!events.ok) throw new Error(`seed ${seed}: unparsable chunks`);
          for (const event of events.value) {
            const chunk = event.type === 'element' ? readChunk(event.element) : undefined;
            if (chunk) receiver.send({ type: 'wire.chunk', chunk });
          }
        }
        sender.buffered.set('c', 0);
        writer.pump();
      };
      const sent: { id: string; lane: string }[] = [];
      const count = random.int(1, 12);
      for (let seq = 1; seq <= count; seq++) {
        const lane = `u${random.int(1, 3)}`;
        const id = `m${seq}`;
        sent.push({ id, lane });
        writer.stanza(seq, message(`${lane}@x/r`, 'b@x', id, 'y'.repeat(random.int(0, 300))));
        if (random.chance(0.5)) deliver();
      }
      for (let i = 0; i < 10_000 && (writer.waiting > 0 || sender.outputs.length > 0); i++) deliver();
      const acks = receiverHost
        .take()
        .filter((o): o is Extract<NodeOutput, { kind: 'write' }> => o.kind === 'write')
        .map((o) => Number(/h='(\d+)'/.exec((o.decoded as string[]).join(''))?.[1]));
      const where = `seed ${seed}`;
      expect([where, [...got].sort()]).toEqual([where, sent.map((s) => s.id).sort()]);
      for (const lane of new Set(sent.map((s) => s.lane))) {
        const order = sent.filter((s) => s.lane === lane).map((s) => s.id);
        expect([where, got.filter((id) => order.includes(id))]).toEqual([where, order]);
      }
      expect([where, acks.at(-1)]).toEqual([where, count]);
      expect([where, acks]).toEqual([where, [...acks].sort((a, b) => a - b)]);
    }
  });
});

/** A ManualHost whose connection holds every byte written until the test drains it. */
class BufferingHost extends ManualHost {
  override emit(output: NodeOutput): void {
    super.emit(output);
    if (output.kind === 'write')
      this.buffered.set(output.conn, (this.buffered.get(output.conn) ?? 0) + output.bytes.length);
  }
}

/** The chunk values a sender writes for `stanza` as `seq`. */
function chunksOf(seq: number, stanza: XmlElement) {
  const host = new ManualHost('peer');
  new ChunkWriter(host, 'p', 16).stanza(seq, stanza);
  const output = host.take()[0] as Extract<NodeOutput, { kind: 'write' }>;
  return (output.decoded as string[]).map((text) => {
    const element = parseStanzaText(text);
    const chunk = element ? readChunk(element) : undefined;
    if (!chunk) throw new Error(`not a chunk: ${text}`);
    return chunk;
  });
}
