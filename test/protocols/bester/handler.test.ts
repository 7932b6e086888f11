// Goal: a Bester handler process listens on its local socket, answers one frame per connection by
// its rule (after delayMs when slow), and can be taken down and up; its descriptor's schemas
// accept the scenario vocabulary of spec.md §9 and refuse unknown keys.
// Method: drive one handler node with ManualHost, playing the server; parse configs with zod.
import { describe, expect, it } from 'vitest';
import { ManualHost } from '../../support/manual-host.js';
import { bester, commandSchema, configSchema } from '../../../src/protocols/bester/index.js';
import { encodeFrame } from '../../../src/protocols/bester/wire.js';
import { requirements } from '../../../src/protocols/bester/requirements.js';

function handler(config: Record<string, unknown>) {
  const host = new ManualHost('s', 'j.test');
  const node = bester.createNode(host, configSchema.parse({ role: 'handler', path: '/s.sock', ...config }));
  node.start();
  return { host, node };
}

describe('bester: handler node (ManualHost)', () => {
  it('listens on its path and answers sendClients with recipients from the rule and from data.to (delayMs 0)', () => {
    const { host, node } = handler({ rule: { command: 'sendClients', usernames: ['a'], usernamesField: 'to' } });
    expect(host.take()).toEqual([{ kind: 'listen', endpoint: { path: '/s.sock' } }]);
    node.handle({ kind: 'conn.accepted', conn: 'in:1', local: { path: '/s.sock' }, remote: 'local' });
    node.handle({ kind: 'conn.data', conn: 'in:1', bytes: encodeFrame({ to: 'g', text: 'hallo' }) });
    expect(host.take().map((o) => (o.kind === 'write' ? o.decoded : o))).toEqual([
      { header: { status: '0', command: { type: 'sendClients', data: ['a', 'g'] } }, data: { to: 'g', text: 'hallo' } },
    ]);
    expect(host.stateOf('bester.handler.session in:1')).toBe('replied');
  });

  it('answers only after delayMs when slow (delayMs 300), and not at all if the server gave up first', () => {
    const { host, node } = handler({ rule: { command: 'sendHandler', handler: 'english' }, delayMs: 300 });
    node.handle({ kind: 'conn.accepted', conn: 'in:1', local: { path: '/s.sock' }, remote: 'local' });
    node.handle({ kind: 'conn.accepted', conn: 'in:2', local: { path: '/s.sock' }, remote: 'local' });
    node.handle({ kind: 'conn.data', conn: 'in:1', bytes: encodeFrame('x') });
    node.handle({ kind: 'conn.data', conn: 'in:2', bytes: encodeFrame('y') });
    host.take();
    host.advanceMs(299);
    expect(host.take()).toEqual([]);
    node.handle({ kind: 'conn.closed', conn: 'in:2', reason: 'closed' });
    host.advanceMs(1);
    expect(host.take()).toEqual([
      expect.objectContaining({
        kind: 'write',
        conn: 'in:1',
        decoded: { header: { status: '0', command: { type: 'sendHandler', data: 'english' } }, data: 'x' },
      }),
    ]);
  });

  it('closes a session on bytes that are not a JSON frame', () => {
    const { host, node } = handler({ rule: { command: 'error', status: '3' } });
    node.handle({ kind: 'conn.accepted', conn: 'in:1', local: { path: '/s.sock' }, remote: 'local' });
    node.handle({ kind: 'conn.data', conn: 'in:1', bytes: new Uint8Array([2, 0, 0, 0, 0x7b, 0x7b]) });
    expect(host.take()).toEqual([
      { kind: 'listen', endpoint: { path: '/s.sock' } },
      { kind: 'close', conn: 'in:1' },
    ]);
  });

  it('starts down when configured so, and handler.up / handler.down listen and unlisten', () => {
    const { host, node } = handler({ rule: { command: 'garbage' }, down: true });
    expect(host.take()).toEqual([]);
    node.handle({ kind: 'command', command: { type: 'handler.up' } });
    node.handle({ kind: 'command', command: { type: 'handler.down' } });
    node.handle({ kind: 'command', command: { type: 'send', messageType: 'x', data: 1 } });
    expect(host.take().map((o) => o.kind)).toEqual(['listen', 'unlisten', 'reject']);
  });
});

describe('bester: descriptor', () => {
  it('fills server defaults and refuses unknown keys', () => {
    expect(configSchema.parse({ role: 'server' })).toEqual({
      role: 'server',
      profile: 'fixed',
      port: 2223,
      handlers: {},
      informerPath: 'bInformer',
      handlerTimeoutMs: 5_000,
      adminInfo: {},
    });
    expect(configSchema.safeParse({ role: 'server', colour: 'red' }).success).toBe(false);
    expect(
      configSchema.safeParse({ role: 'handler', path: '/x', rule: { command: 'sendClients', extra: 1 } }).success,
    ).toBe(false);
    expect(commandSchema.safeParse({ type: 'send', messageType: 'afrikaans', data: { to: 'g' } }).success).toBe(true);
    expect(commandSchema.safeParse({ type: 'send', messageType: 'afrikaans' }).success).toBe(false);
  });

  it('lists requirements with unique ids, each covered by at least one test', () => {
    const ids = requirements.map((r) => r.id);
    expect(new Set(ids).size).toBe(ids.length);
    for (const requirement of requirements) expect((requirement.covers ?? []).length).toBeGreaterThan(0);
  });
});
