// Goal: the Bester server does what spec.md says for every message kind, under both profiles, and
// each of the original's three bugs shows under `besterd-2020` and is gone under `fixed`.
// Method: drive one server node by hand with ManualHost, playing the clients, handlers and peer
// servers with raw frames, and read the decoded JSON of every write.
import { describe, expect, it } from 'vitest';
import type { NodeOutput } from '../../../src/protocols/protocol.js';
import { ManualHost } from '../../support/manual-host.js';
import { bester, configSchema } from '../../../src/protocols/bester/index.js';
import { encodeFrame } from '../../../src/protocols/bester/wire.js';
import type { Profile } from '../../../src/protocols/bester/config.js';

const profiles: Profile[] = ['fixed', 'besterd-2020'];
const tcp = { host: 'j.test', port: 2223 };

function serverConfig(profile: Profile, extra: Record<string, unknown> = {}) {
  return configSchema.parse({
    role: 'server',
    profile,
    handlers: { afrikaans: { path: '/run/afrikaans.sock' }, english: { path: '/run/english.sock' } },
    handlerTimeoutMs: 1_000,
    ...extra,
  });
}

/** A server with one authenticated client per username, each on connection `in:<username>`. */
function setup(profile: Profile, usernames: string[] = ['t', 'g'], extra: Record<string, unknown> = {}) {
  const host = new ManualHost('j.test');
  const node = bester.createNode(host, serverConfig(profile, extra));
  node.start();
  const feed = (conn: string, value: unknown) => node.handle({ kind: 'conn.data', conn, bytes: encodeFrame(value) });
  for (const username of usernames) {
    node.handle({ kind: 'conn.accepted', conn: `in:${username}`, local: tcp, remote: `${username}.test` });
    feed(`in:${username}`, {
      header: { scope: 'client', authentication: { username, password: 'pw' } },
      payload: { type: 'dummy', id: 'x', data: null },
    });
  }
  host.take();
  const send = (username: string, type: string, id: string, data: unknown) =>
    feed(`in:${username}`, { header: {}, payload: { type, id, data } });
  return { host, node, feed, send };
}

/** Writes as (conn, decoded JSON) pairs, and the other outputs as they are. */
function summary(outputs: NodeOutput[]) {
  return outputs.map((o) => (o.kind === 'write' ? { write: o.conn, json: o.decoded } : o));
}

const good = (id: string) => ({ header: { status: 'good', messageType: 'statusReport' }, payload: { id } });
const bad = (id: string) => ({ header: { status: 'bad', messageType: 'statusReport' }, payload: { id } });
const reply = (type: string, commandData: unknown, data: unknown, status = '0') => ({
  header: { status, command: { type, data: commandData } },
  data,
});

describe.each(profiles)('bester: server (%s)', (profile) => {
  it('listens on its TCP port and its informer socket', () => {
    const host = new ManualHost('j.test');
    bester.createNode(host, serverConfig(profile)).start();
    expect(host.take()).toEqual([
      { kind: 'listen', endpoint: tcp },
      { kind: 'listen', endpoint: { path: 'bInformer' } },
    ]);
  });

  it('answers a client first message with status good id auth_special and does not dispatch its payload', () => {
    const { host, node, feed } = setup(profile, []);
    node.handle({ kind: 'conn.accepted', conn: 'in:1', local: tcp, remote: 't.test' });
    feed('in:1', {
      header: { scope: 'client', authentication: { username: ' t ', password: 'pw' } },
      payload: { type: 'afrikaans', id: 'first', data: 'hallo' },
    });
    expect(summary(host.take())).toEqual([{ write: 'in:1', json: good('auth_special') }]);
    expect(node.view()).toMatchObject({ clients: [{ conn: 'in:1', username: 't' }] });
  });

  it.each([
    ['an empty username', { scope: 'client', authentication: { username: '  ', password: 'pw' } }],
    ['an empty password', { scope: 'client', authentication: { username: 't', password: '' } }],
    ['no authentication', { scope: 'client' }],
    ['an unknown scope', { scope: 'admin' }],
  ])('closes silently on a first message with %s', (_what, header) => {
    const { host, node, feed } = setup(profile, []);
    node.handle({ kind: 'conn.accepted', conn: 'in:1', local: tcp, remote: 't.test' });
    feed('in:1', { header, payload: { type: 'dummy', id: 'x', data: null } });
    expect(host.outputsOf('write')).toEqual([]);
    expect(host.outputsOf('close')).toEqual([{ kind: 'close', conn: 'in:1' }]);
    expect(host.stateOf('bester.connection in:1')).toBe('closed');
  });

  it('answers dummy with the dummy reply carrying the id', () => {
    const { host, send } = setup(profile);
    send('t', 'dummy', 'd1', { anything: 1 });
    expect(summary(host.take())).toEqual([
      { write: 'in:t', json: { header: { status: '0' }, payload: { data: null, type: 'dummy', id: 'd1' } } },
    ]);
  });

  it('closes the connection on builtin close and ignores other builtin commands', () => {
    const { host, send } = setup(profile);
    send('t', 'builtin', 'b1', { command: { type: 'login' } });
    expect(host.outputsOf('write')).toEqual([]);
    expect(host.outputsOf('note')).toEqual([expect.objectContaining({ what: 'bester.builtin.ignored' })]);
    send('t', 'builtin', 'b2', { command: { type: 'close' } });
    expect(host.outputsOf('close')).toEqual([{ kind: 'close', conn: 'in:t' }]);
  });

  it('gives an unknown message type a bad status report', () => {
    const { host, send } = setup(profile);
    send('t', 'klingon', 'k1', 'nuqneH');
    expect(summary(host.take())).toEqual([{ write: 'in:t', json: bad('k1') }]);
  });

  it.each([
    ['no id', { header: {}, payload: { type: 'dummy', data: null } }],
    ['no data', { header: {}, payload: { type: 'dummy', id: 'x' } }],
    ['no type', { header: {}, payload: { id: 'x', data: null } }],
    ['no header', { payload: { type: 'dummy', id: 'x', data: null } }],
    ['a non-object', [1, 2, 3]],
  ])('closes the connection on a later message with %s, without any error frame', (_what, message) => {
    const { host, feed } = setup(profile);
    feed('in:t', message);
    expect(host.outputsOf('write')).toEqual([]);
    expect(host.outputsOf('close')).toEqual([{ kind: 'close', conn: 'in:t' }]);
    expect(refusedConnectionClosed(host)).toBe(true);
  });

  it('closes the connection on malformed JSON', () => {
    const { host, node } = setup(profile);
    const body = new TextEncoder().encode('{"header":');
    const bytes = new Uint8Array(4 + body.length);
    new DataView(bytes.buffer).setInt32(0, body.length, true);
    bytes.set(body, 4);
    node.handle({ kind: 'conn.data', conn: 'in:t', bytes });
    expect(host.take()).toEqual([
      expect.objectContaining({ kind: 'note', what: 'bester.message.refused' }),
      { kind: 'close', conn: 'in:t' },
    ]);
    expect(node.view()).toMatchObject({ clients: [{ username: 'g' }] });
  });

  it('runs the handler round trip: one local connection per message carrying only payload.data, then sendClients', () => {
    const { host, node, send } = setup(profile);
    send('t', 'afrikaans', 'm1', { to: 'g', text: 'hallo' });
    expect(host.take()).toEqual([{ kind: 'connect', conn: 'out:d:1/h1', target: { path: '/run/afrikaans.sock' } }]);
    node.handle({ kind: 'conn.opened', conn: 'out:d:1/h1' });
    expect(summary(host.take())).toEqual([{ write: 'out:d:1/h1', json: { to: 'g', text: 'hallo' } }]);
    node.handle({ kind: 'conn.data', conn: 'out:d:1/h1', bytes: encodeFrame(reply('sendClients', ['g'], 'HALLO')) });
    expect(summary(host.take())).toEqual([
      { kind: 'close', conn: 'out:d:1/h1' },
      {
        write: 'in:g',
        json: { header: { messageType: 'receivedMessage' }, payload: { data: 'HALLO', type: 'afrikaans' } },
      },
      { write: 'in:t', json: good('m1') },
    ]);
  });

  it('reports good for sendClients naming nobody connected', () => {
    const { host, node, send } = setup(profile);
    send('t', 'afrikaans', 'm1', 'x');
    node.handle({ kind: 'conn.opened', conn: 'out:d:1/h1' });
    node.handle({ kind: 'conn.data', conn: 'out:d:1/h1', bytes: encodeFrame(reply('sendClients', ['nobody'], 'x')) });
    expect(summary(host.outputsOf('write')).at(-1)).toEqual({ write: 'in:t', json: good('m1') });
  });

  it('gives a bad status report when the handler is down (conn.failed), and stays responsive', () => {
    const { host, node, send } = setup(profile);
    send('t', 'afrikaans', 'm1', 'x');
    node.handle({ kind: 'conn.failed', conn: 'out:d:1/h1', reason: 'refused' });
    expect(summary(host.outputsOf('write'))).toEqual([{ write: 'in:t', json: bad('m1') }]);
    send('t', 'dummy', 'd2', null);
    expect(host.outputsOf('write')).toHaveLength(2);
  });

  it('gives a bad status report when the handler is slow (handlerTimeoutMs = 1000), not before (besterd-2020: waits for ever, bug 4)', () => {
    const { host, node, send } = setup(profile);
    send('t', 'afrikaans', 'm1', 'x');
    node.handle({ kind: 'conn.opened', conn: 'out:d:1/h1' });
    host.take();
    host.advanceMs(999);
    expect(host.take()).toEqual([]);
    if (profile === 'besterd-2020') {
      // Issue #10: no timer at all; the dispatch still waits a day later, and a late reply is run.
      host.advanceMs(86_400_000);
      expect(host.take()).toEqual([]);
      expect(host.pendingTimers()).toBe(0);
      node.handle({ kind: 'conn.data', conn: 'out:d:1/h1', bytes: encodeFrame(reply('sendClients', ['g'], 'late')) });
      expect(summary(host.outputsOf('write')).at(-1)).toEqual({ write: 'in:t', json: good('m1') });
      return;
    }
    host.advanceMs(1);
    expect(summary(host.take())).toEqual([
      expect.objectContaining({ kind: 'note', what: 'bester.dispatch.failed' }),
      { kind: 'close', conn: 'out:d:1/h1' },
      { write: 'in:t', json: bad('m1') },
    ]);
    // A late reply from the slow handler changes nothing.
    node.handle({ kind: 'conn.data', conn: 'out:d:1/h1', bytes: encodeFrame(reply('sendClients', ['g'], 'late')) });
    expect(host.take()).toEqual([]);
  });

  it.each([
    ['a non-zero status', encodeFrame(reply('sendClients', ['g'], 'x', '1'))],
    ['a reply without header', encodeFrame({ data: 'x' })],
    ['a reply that is not JSON', new Uint8Array([3, 0, 0, 0, 0x7b, 0x7b, 0x7b])],
    ['sendClients with a non-list', encodeFrame(reply('sendClients', 'g', 'x'))],
    ['sendHandler to an unknown handler', encodeFrame(reply('sendHandler', 'klingon', 'x'))],
    // Names every object inherits are not handlers either.
    ['sendHandler to "constructor"', encodeFrame(reply('sendHandler', 'constructor', 'x'))],
    ['sendHandler to "toString"', encodeFrame(reply('sendHandler', 'toString', 'x'))],
    ['sendHandler to "__proto__"', encodeFrame(reply('sendHandler', '__proto__', 'x'))],
  ])('gives a bad status report for %s from the handler', (_what, bytes) => {
    const { host, node, send } = setup(profile);
    send('t', 'afrikaans', 'm1', 'x');
    node.handle({ kind: 'conn.opened', conn: 'out:d:1/h1' });
    node.handle({ kind: 'conn.data', conn: 'out:d:1/h1', bytes });
    const writes = summary(host.outputsOf('write'));
    expect(writes.at(-1)).toEqual({ write: 'in:t', json: bad('m1') });
    expect(writes.filter((w) => 'write' in w && w.write === 'in:g')).toEqual([]);
  });

  it('gives a bad status report when the handler closes without replying', () => {
    const { host, node, send } = setup(profile);
    send('t', 'afrikaans', 'm1', 'x');
    node.handle({ kind: 'conn.opened', conn: 'out:d:1/h1' });
    node.handle({ kind: 'conn.closed', conn: 'out:d:1/h1', reason: 'closed' });
    expect(summary(host.outputsOf('write')).at(-1)).toEqual({ write: 'in:t', json: bad('m1') });
  });

  it('chains sendHandler to the next handler with the reply data and reports under the same id', () => {
    const { host, node, send } = setup(profile);
    send('t', 'afrikaans', 'm7', 'hallo');
    node.handle({ kind: 'conn.opened', conn: 'out:d:1/h1' });
    node.handle({
      kind: 'conn.data',
      conn: 'out:d:1/h1',
      bytes: encodeFrame(reply('sendHandler', 'english', 'hello')),
    });
    expect(summary(host.take()).slice(-2)).toEqual([
      { kind: 'close', conn: 'out:d:1/h1' },
      { kind: 'connect', conn: 'out:d:1/h2', target: { path: '/run/english.sock' } },
    ]);
    node.handle({ kind: 'conn.opened', conn: 'out:d:1/h2' });
    expect(summary(host.take())).toEqual([{ write: 'out:d:1/h2', json: 'hello' }]);
    node.handle({ kind: 'conn.data', conn: 'out:d:1/h2', bytes: encodeFrame(reply('sendClients', ['g'], 'HELLO')) });
    expect(summary(host.take()).slice(1)).toEqual([
      {
        write: 'in:g',
        json: { header: { messageType: 'receivedMessage' }, payload: { data: 'HELLO', type: 'english' } },
      },
      { write: 'in:t', json: good('m7') },
    ]);
  });

  it('ends a sendHandler cycle with a bad status report after hopsMax handlers', () => {
    const { host, node, send } = setup(profile);
    send('t', 'afrikaans', 'm1', 'x');
    for (let hop = 1; hop <= 8; hop++) {
      node.handle({ kind: 'conn.opened', conn: `out:d:1/h${hop}` });
      node.handle({
        kind: 'conn.data',
        conn: `out:d:1/h${hop}`,
        bytes: encodeFrame(reply('sendHandler', 'afrikaans', 'x')),
      });
    }
    expect(host.outputsOf('connect')).toHaveLength(8);
    expect(summary(host.outputsOf('write')).at(-1)).toEqual({ write: 'in:t', json: bad('m1') });
  });

  it('forwards sendServers as one scope-server connection per server and reports good', () => {
    const { host, node, send } = setup(profile);
    send('t', 'afrikaans', 'm1', 'x');
    node.handle({ kind: 'conn.opened', conn: 'out:d:1/h1' });
    node.handle({
      kind: 'conn.data',
      conn: 'out:d:1/h1',
      bytes: encodeFrame(reply('sendServers', ['s2.test:2223', 's3.test:4000'], { to: 'u2' })),
    });
    expect(host.outputsOf('connect').slice(1)).toEqual([
      { kind: 'connect', conn: 'out:d:1/s0', target: { host: 's2.test', port: 2223 } },
      { kind: 'connect', conn: 'out:d:1/s1', target: { host: 's3.test', port: 4000 } },
    ]);
    host.take();
    node.handle({ kind: 'conn.opened', conn: 'out:d:1/s0' });
    node.handle({ kind: 'conn.opened', conn: 'out:d:1/s1' });
    // Bug 1: besterd-2020 forwards without the id its receiver requires.
    const payload =
      profile === 'fixed'
        ? { data: { to: 'u2' }, type: 'afrikaans', id: 'm1' }
        : { data: { to: 'u2' }, type: 'afrikaans' };
    expect(summary(host.take())).toEqual([
      { write: 'out:d:1/s0', json: { header: { scope: 'server' }, payload } },
      { kind: 'close', conn: 'out:d:1/s0' },
      { write: 'out:d:1/s1', json: { header: { scope: 'server' }, payload } },
      { kind: 'close', conn: 'out:d:1/s1' },
      { write: 'in:t', json: good('m1') },
    ]);
  });

  it('reports bad when a sendServers target refuses or is not host:port', () => {
    const { host, node, send } = setup(profile);
    send('t', 'afrikaans', 'm1', 'x');
    node.handle({ kind: 'conn.opened', conn: 'out:d:1/h1' });
    node.handle({
      kind: 'conn.data',
      conn: 'out:d:1/h1',
      bytes: encodeFrame(reply('sendServers', ['s2.test:2223', 'nonsense'], 'x')),
    });
    node.handle({ kind: 'conn.failed', conn: 'out:d:1/s0', reason: 'refused' });
    expect(summary(host.outputsOf('write')).at(-1)).toEqual({ write: 'in:t', json: bad('m1') });
  });

  it('queues a message that arrives during a dispatch and dispatches it after, in order', () => {
    const { host, node, send } = setup(profile);
    send('t', 'afrikaans', 'm1', 'one');
    send('t', 'dummy', 'm2', null);
    send('t', 'english', 'm3', 'three');
    expect(host.outputsOf('connect')).toHaveLength(1);
    node.handle({ kind: 'conn.failed', conn: 'out:d:1/h1', reason: 'refused' });
    expect(summary(host.outputsOf('write')).map((w) => ('json' in w ? w.json : w))).toEqual([
      bad('m1'),
      { header: { status: '0' }, payload: { data: null, type: 'dummy', id: 'm2' } },
    ]);
    expect(host.outputsOf('connect').at(-1)).toEqual({
      kind: 'connect',
      conn: 'out:d:2/h1',
      target: { path: '/run/english.sock' },
    });
  });

  it('dispatches a scope-server message with an id to the handler of its type, then closes', () => {
    const { host, node, feed } = setup(profile, ['u2']);
    node.handle({ kind: 'conn.accepted', conn: 'in:peer', local: tcp, remote: 's1.test' });
    feed('in:peer', { header: { scope: 'server' }, payload: { type: 'english', id: 'm1', data: 'hi' } });
    expect(host.take()).toEqual([{ kind: 'connect', conn: 'out:d:1/h1', target: { path: '/run/english.sock' } }]);
    node.handle({ kind: 'conn.opened', conn: 'out:d:1/h1' });
    node.handle({ kind: 'conn.data', conn: 'out:d:1/h1', bytes: encodeFrame(reply('sendClients', ['u2'], 'hi')) });
    expect(summary(host.take()).slice(2)).toEqual([
      {
        write: 'in:u2',
        json: { header: { messageType: 'receivedMessage' }, payload: { data: 'hi', type: 'english' } },
      },
      { kind: 'close', conn: 'in:peer' },
    ]);
  });

  it('drops a scope-server message without an id (what besterd-2020 sends): closes, no dispatch', () => {
    const { host, node, feed } = setup(profile, ['u2']);
    node.handle({ kind: 'conn.accepted', conn: 'in:peer', local: tcp, remote: 's1.test' });
    feed('in:peer', { header: { scope: 'server' }, payload: { type: 'english', data: 'hi' } });
    expect(host.outputsOf('connect')).toEqual([]);
    expect(host.outputsOf('close')).toEqual([{ kind: 'close', conn: 'in:peer' }]);
  });

  it('answers the informer: listClients, serverInfo, quit', () => {
    const { host, node, feed } = setup(profile, ['t', 'g']);
    // A second connection for t: listed once, counted twice.
    node.handle({ kind: 'conn.accepted', conn: 'in:t2', local: tcp, remote: 't.test' });
    feed('in:t2', { header: { scope: 'client', authentication: { username: 't', password: 'pw' } }, payload: {} });
    host.take();
    node.handle({ kind: 'conn.accepted', conn: 'in:inf', local: { path: 'bInformer' }, remote: 'local' });
    feed('in:inf', { command: { type: 'listClients', data: null } });
    feed('in:inf', { command: { type: 'serverInfo', data: null } });
    feed('in:inf', { command: { type: 'dance', data: null } });
    expect(summary(host.take())).toEqual([
      { write: 'in:inf', json: { status: '0', data: ['t', 'g'] } },
      {
        write: 'in:inf',
        json: {
          status: '0',
          data: { clientCount: '3', adminInfo: {}, listeners: { listener0: { address: 'tcp4://j.test:2223' } } },
        },
      },
      { write: 'in:inf', json: { status: '1', data: null } },
    ]);
    feed('in:inf', { command: { type: 'quit' } });
    expect(host.take()).toEqual([{ kind: 'close', conn: 'in:inf' }]);
  });
});

function refusedConnectionClosed(host: ManualHost): boolean {
  // The refused connection's machine ended in `closed`.
  return host.stateOf('bester.connection in:t') === 'closed';
}

describe('bester: server: the original bugs, profile by profile', () => {
  it('bug 2: an unknown handler command (the old spec\'s "sendClient") is run as sendClients by besterd-2020, refused by fixed', () => {
    const outcome = (profile: Profile) => {
      const { host, node, send } = setup(profile);
      send('t', 'afrikaans', 'm1', 'x');
      node.handle({ kind: 'conn.opened', conn: 'out:d:1/h1' });
      node.handle({ kind: 'conn.data', conn: 'out:d:1/h1', bytes: encodeFrame(reply('sendClient', ['g'], 'HALLO')) });
      return summary(host.outputsOf('write')).slice(1);
    };
    expect(outcome('besterd-2020')).toEqual([
      {
        write: 'in:g',
        json: { header: { messageType: 'receivedMessage' }, payload: { data: 'HALLO', type: 'afrikaans' } },
      },
      { write: 'in:t', json: good('m1') },
    ]);
    expect(outcome('fixed')).toEqual([{ write: 'in:t', json: bad('m1') }]);
  });

  it('bug 3: isClient answers the wrong way round under besterd-2020, right under fixed (clients t and g)', () => {
    const answers = (profile: Profile) => {
      const { host, node, feed } = setup(profile);
      node.handle({ kind: 'conn.accepted', conn: 'in:inf', local: { path: 'bInformer' }, remote: 'local' });
      for (const name of ['t', 'g', 'zz']) feed('in:inf', { command: { type: 'isClient', data: name } });
      return host.outputsOf('write').map((w) => (w.decoded as { data: unknown }).data);
    };
    expect(answers('fixed')).toEqual([true, true, false]);
    expect(answers('besterd-2020')).toEqual([true, true, true]);
    // With one client the inversion is plain: its own name is "not a client", any other name is.
    const single = (profile: Profile) => {
      const { host, node, feed } = setup(profile, ['t']);
      node.handle({ kind: 'conn.accepted', conn: 'in:inf', local: { path: 'bInformer' }, remote: 'local' });
      for (const name of ['t', 'zz']) feed('in:inf', { command: { type: 'isClient', data: name } });
      return host.outputsOf('write').map((w) => (w.decoded as { data: unknown }).data);
    };
    expect(single('fixed')).toEqual([true, false]);
    expect(single('besterd-2020')).toEqual([false, true]);
  });
});
