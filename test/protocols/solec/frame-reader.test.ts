// Goal: a SOLEC reader gives up on a frame it cannot trust without waiting for bytes that will not
// come (spec.md §2.3, ours): a header no payload could make valid is refused at once, and a frame
// left unfinished with no byte arriving for frameTimeoutMs is refused as `frame.stalled`; a frame
// that arrives in pieces, or a connection that is closed, is never refused this way.
// Method: a FrameReader on a ManualHost's clock, fed hand-made byte runs; time moved by hand.
import { describe, expect, it } from 'vitest';
import type { WireError } from '../../../src/core/errors.js';
import { ManualHost } from '../../support/manual-host.js';
import { FrameReader, frameTimeoutMsDefault } from '../../../src/protocols/solec/frame-reader.js';
import { encodeFrame, type Payload, type Sender } from '../../../src/protocols/solec/wire.js';

const message: Payload = { type: 'message', id: 'm1', from: 'a@b.test', to: 'c@b.test', timeMs: 1, body: 'hello' };

function reader(frameTimeoutMs = 500) {
  const host = new ManualHost('b.test');
  const subject = new FrameReader('in:1', host.clock, 4096, frameTimeoutMs);
  const stalls: WireError[] = [];
  /** Pushes `bytes`, then settles as a reader of `sender`'s frames; returns what the header refused. */
  const feed = (bytes: Uint8Array, sender: Sender = 'client') => {
    const frames = subject.push(bytes);
    if (!frames.ok) throw new Error(frames.error.message);
    return { frames: frames.value, refused: subject.settle(sender, (error) => stalls.push(error)) };
  };
  return { host, subject, stalls, feed };
}

describe('solec: frame reader: refusing frames it cannot trust (spec.md §2.3, ours)', () => {
  it('defaults to 500 ms, far below the 10 s response timeout', () => {
    expect(frameTimeoutMsDefault).toBe(500);
  });

  it('refuses a frame left unfinished for frameTimeoutMs as frame.stalled, and not a millisecond before', () => {
    const { host, stalls, feed } = reader();
    const bytes = encodeFrame(message);
    expect(feed(bytes.subarray(0, 10))).toEqual({ frames: [], refused: undefined });
    host.advanceMs(499);
    expect(stalls).toEqual([]);
    host.advanceMs(1);
    expect(stalls.map((error) => error.code)).toEqual(['frame.stalled']);
    expect(stalls[0]?.message).toBe(`no byte for 500 ms with 10 of ${bytes.length} bytes of a frame in`);
    expect(host.pendingTimers()).toBe(0);
  });

  it('also gives up on a header that never completes', () => {
    const { host, stalls, feed } = reader();
    feed(Uint8Array.of(0x05));
    host.advanceMs(500);
    expect(stalls[0]?.message).toBe('no byte for 500 ms with 1 of a 3-byte header of a frame in');
  });

  it('restarts the wait with every byte that arrives, and stops it once the frame is whole', () => {
    const { host, stalls, feed } = reader();
    const bytes = encodeFrame(message);
    feed(bytes.subarray(0, 5));
    host.advanceMs(400);
    feed(bytes.subarray(5, 12));
    host.advanceMs(400);
    expect(feed(bytes.subarray(12)).frames).toHaveLength(1);
    host.advanceMs(10_000);
    expect(stalls).toEqual([]);
    expect(host.pendingTimers()).toBe(0);
  });

  it('arms nothing while frames arrive whole', () => {
    const { host, feed } = reader();
    feed(encodeFrame(message));
    expect(host.pendingTimers()).toBe(0);
  });

  it('refuses from the header alone a payload no bytes could make valid, without waiting', () => {
    const cases: [string, Uint8Array, Sender, string][] = [
      [
        'a Success announcing 215 bytes (it is always empty)',
        Uint8Array.of(0x01, 0x00, 0xd7),
        'server',
        'payload.not-empty',
      ],
      ['an Error announcing 2 bytes (it has one)', Uint8Array.of(0x02, 0x00, 0x02, 0x01), 'server', 'payload.trailing'],
      ['an Error from a client', Uint8Array.of(0x02, 0x00, 0x01), 'client', 'direction.wrong'],
      ['a Handshake announcing 4 bytes (it has three)', Uint8Array.of(0x03, 0x00, 0x04), 'client', 'payload.trailing'],
      ['an unknown type', Uint8Array.of(0x42, 0x00, 0x10), 'client', 'type.unknown'],
      ['a reserved type', Uint8Array.of(0xff, 0x00, 0x10), 'server', 'type.reserved'],
    ];
    for (const [what, bytes, sender, code] of cases) {
      const { host, feed } = reader();
      expect(feed(bytes, sender).refused?.code, what).toBe(code);
      expect(host.pendingTimers(), what).toBe(0);
    }
  });

  it('does not refuse a variable-size frame still arriving', () => {
    const { feed } = reader();
    expect(feed(encodeFrame(message).subarray(0, 3)).refused).toBeUndefined();
  });

  it('reports nothing once the connection is closed', () => {
    const { host, subject, stalls, feed } = reader();
    feed(encodeFrame(message).subarray(0, 10));
    subject.close();
    expect(subject.isClosed).toBe(true);
    host.advanceMs(1_000);
    expect(stalls).toEqual([]);
    expect(host.pendingTimers()).toBe(0);
  });
});
