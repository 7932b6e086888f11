// Goal: the echo node honours the sans-IO contract: outputs as values, timers on the injected clock,
// state changes reported under the machine's name, bad peer input rejected without a throw.
// Method: drive one node by hand with ManualHost, playing the peer.
import { describe, expect, it } from 'vitest';
import { ManualHost } from '../../support/manual-host.js';
import { echo } from '../../../src/protocols/echo/index.js';

const config = { port: 7, idleMs: 5_000, retryMs: 500, attemptsMax: 3 };
const bytes = (text: string) => new TextEncoder().encode(text);

describe('echo: node (ManualHost)', () => {
  it('connects, flushes queued bodies once open, and closes after idleMs', () => {
    const host = new ManualHost('a.test');
    const node = echo.createNode(host, config);
    node.start();
    expect(host.take()).toEqual([{ kind: 'listen', endpoint: { host: 'a.test', port: 7 } }]);
    node.handle({ kind: 'command', command: { type: 'send', to: 'b.test', body: 'hi' } });
    expect(host.take()).toEqual([{ kind: 'connect', conn: 'out:1#1', target: { host: 'b.test', port: 7 } }]);
    expect(host.stateOf('echo.link out:1')).toBe('connecting');
    node.handle({ kind: 'conn.opened', conn: 'out:1#1' });
    const [write] = host.take();
    expect(write).toMatchObject({ kind: 'write', conn: 'out:1#1' });
    expect(new TextDecoder().decode((write as { bytes: Uint8Array }).bytes)).toBe('ECHO hi\n');
    node.handle({ kind: 'conn.data', conn: 'out:1#1', bytes: bytes('REPLY hi\n') });
    expect(host.take()).toEqual([{ kind: 'deliver', user: 'user@a.test', from: 'b.test', body: 'hi' }]);
    host.advanceMs(4_999);
    expect(host.take()).toEqual([]);
    host.advanceMs(1);
    expect(host.take()).toEqual([{ kind: 'close', conn: 'out:1#1' }]);
    expect(host.stateOf('echo.link out:1')).toBe('closed');
  });

  it('retries a refused connect with doubling backoff, then gives up with a reject', () => {
    const host = new ManualHost('a.test');
    const node = echo.createNode(host, config);
    node.start();
    host.take();
    node.handle({ kind: 'command', command: { type: 'send', to: 'b.test', body: 'x' } });
    node.handle({ kind: 'conn.failed', conn: 'out:1#1', reason: 'refused' });
    host.take();
    host.advanceMs(499);
    expect(host.take()).toEqual([]);
    host.advanceMs(1);
    expect(host.take()).toEqual([{ kind: 'connect', conn: 'out:1#2', target: { host: 'b.test', port: 7 } }]);
    node.handle({ kind: 'conn.failed', conn: 'out:1#2', reason: 'timeout' });
    host.advanceMs(1_000);
    expect(host.take()).toEqual([{ kind: 'connect', conn: 'out:1#3', target: { host: 'b.test', port: 7 } }]);
    node.handle({ kind: 'conn.failed', conn: 'out:1#3', reason: 'timeout' });
    expect(host.take()).toEqual([
      expect.objectContaining({ kind: 'reject', code: 'echo.unreachable', detail: { undelivered: ['x'] } }),
    ]);
  });

  it('answers ECHO with REPLY on an accepted connection and rejects garbage without throwing', () => {
    const host = new ManualHost('b.test');
    const node = echo.createNode(host, config);
    node.start();
    host.take();
    node.handle({ kind: 'conn.accepted', conn: 'in:1', local: { host: 'b.test', port: 7 }, remote: 'a.test' });
    node.handle({ kind: 'conn.data', conn: 'in:1', bytes: bytes('ECHO he') });
    expect(host.take()).toEqual([]);
    node.handle({ kind: 'conn.data', conn: 'in:1', bytes: bytes('llo\n') });
    const outputs = host.take();
    expect(outputs.map((o) => o.kind)).toEqual(['deliver', 'write']);
    node.handle({ kind: 'conn.data', conn: 'in:1', bytes: new Uint8Array([0xff, 0xfe, 0x0a]) });
    expect(host.take().map((o) => o.kind)).toEqual(['reject', 'close']);
  });
});
