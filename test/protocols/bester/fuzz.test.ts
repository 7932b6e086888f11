// Goal: a Bester server survives any input on any of its connections (client, informer, handler
// reply): it never throws, and bad input ends the connection as the original does (a close with no
// error frame) or, from a handler, a bad status report; never a hung dispatch.
// Method: fast-check feeds fuzzed bytes and fuzzed JSON (framed and unframed) to a ManualHost
// server under both profiles, then checks the outputs and that every dispatch has finished.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { ManualHost } from '../../support/manual-host.js';
import { bester, configSchema } from '../../../src/protocols/bester/index.js';
import { encodeFrame } from '../../../src/protocols/bester/wire.js';

function server(profile: 'fixed' | 'besterd-2020') {
  const host = new ManualHost('j.test');
  const node = bester.createNode(
    host,
    configSchema.parse({
      role: 'server',
      profile,
      handlers: { afrikaans: { path: '/a.sock' } },
      handlerTimeoutMs: 100,
    }),
  );
  node.start();
  node.handle({ kind: 'conn.accepted', conn: 'in:1', local: { host: 'j.test', port: 2223 }, remote: 't.test' });
  node.handle({
    kind: 'conn.data',
    conn: 'in:1',
    bytes: encodeFrame({ header: { scope: 'client', authentication: { username: 't', password: 'p' } }, payload: {} }),
  });
  node.handle({ kind: 'conn.accepted', conn: 'in:inf', local: { path: 'bInformer' }, remote: 'local' });
  host.take();
  return { host, node };
}

/** JSON that is often nearly right: message-shaped objects with fields dropped, retyped or added. */
const messageish = fc.oneof(
  fc.jsonValue({ maxDepth: 3 }),
  fc.record(
    {
      header: fc.oneof(
        fc.constant({}),
        fc.jsonValue({ maxDepth: 2 }),
        fc.record({ scope: fc.constantFrom('client', 'server', 'x') }),
      ),
      payload: fc.record(
        {
          type: fc.oneof(fc.constantFrom('afrikaans', 'dummy', 'builtin', 'zz'), fc.jsonValue({ maxDepth: 1 })),
          id: fc.oneof(fc.string(), fc.jsonValue({ maxDepth: 1 })),
          data: fc.oneof(fc.jsonValue({ maxDepth: 2 }), fc.constant({ command: { type: 'close' } })),
        },
        { requiredKeys: [] },
      ),
    },
    { requiredKeys: [] },
  ),
  fc.record({
    header: fc.record({
      status: fc.constantFrom('0', '1', 'x'),
      command: fc.record({
        type: fc.constantFrom('sendClients', 'sendServers', 'sendHandler', 'nope'),
        data: fc.jsonValue({ maxDepth: 2 }),
      }),
    }),
    data: fc.jsonValue({ maxDepth: 2 }),
  }),
  fc.record({
    command: fc.record({
      type: fc.constantFrom('listClients', 'isClient', 'serverInfo', 'quit', 'x'),
      data: fc.jsonValue({ maxDepth: 1 }),
    }),
  }),
);

const input = fc.oneof(
  fc.record({ framed: fc.constant(false as const), bytes: fc.uint8Array({ maxLength: 64 }) }),
  fc.record({ framed: fc.constant(true as const), json: messageish }),
);

describe.each(['fixed', 'besterd-2020'] as const)('bester: server fuzz (%s)', (profile) => {
  it('never throws and never leaves a dispatch hanging (besterd-2020: only on a silent handler), whatever arrives on a client, informer or handler connection (property, 150 runs)', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.constantFrom('in:1', 'in:inf', 'handler'), input), { maxLength: 12 }),
        (steps) => {
          const { host, node } = server(profile);
          for (const [target, item] of steps) {
            const bytes = item.framed ? encodeFrame(item.json) : item.bytes;
            // Handler replies go to the latest handler connection the server opened, if any.
            const conn = target === 'handler' ? host.outputsOf('connect').at(-1)?.conn : target;
            if (conn === undefined) continue;
            if (target === 'handler') node.handle({ kind: 'conn.opened', conn });
            node.handle({ kind: 'conn.data', conn, bytes });
          }
          host.advanceMs(10_000);
          const view = node.view() as { dispatches: { state: unknown }[] };
          // besterd-2020 has no handler timeout (spec.md §7 bug 4): a dispatch may still wait on a
          // handler that never answered, and only on one; the fixed profile leaves none.
          if (profile === 'fixed') expect(view.dispatches).toEqual([]);
          else
            for (const dispatch of view.dispatches) expect(['connecting', 'awaitingReply']).toContain(dispatch.state);
          expect(host.pendingTimers()).toBe(0);
          for (const write of host.outputsOf('write')) expect(write.bytes.length).toBeGreaterThan(4);
        },
      ),
      { numRuns: 150 },
    );
  });

  it('closes a client connection without an error frame on any frame that is not valid JSON (property, 200 runs)', () => {
    fc.assert(
      fc.property(fc.uint8Array({ minLength: 1, maxLength: 40 }), (body) => {
        let text: string | undefined;
        try {
          text = new TextDecoder('utf-8', { fatal: true }).decode(body);
          JSON.parse(text);
          return; // Valid JSON: not this property's business.
        } catch {
          // Not JSON: the case under test.
        }
        const { host, node } = server(profile);
        const bytes = new Uint8Array(4 + body.length);
        new DataView(bytes.buffer).setInt32(0, body.length, true);
        bytes.set(body, 4);
        node.handle({ kind: 'conn.data', conn: 'in:1', bytes });
        expect(host.outputsOf('write')).toEqual([]);
        expect(host.outputsOf('close')).toEqual([{ kind: 'close', conn: 'in:1' }]);
      }),
      { numRuns: 200 },
    );
  });
});
