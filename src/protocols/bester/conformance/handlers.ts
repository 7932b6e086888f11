/**
 * Bester conformance cases on handlers (spec.md §4): the case plays the target's handler processes on
 * their local sockets and checks each command a handler can answer (sendClients, sendServers,
 * sendHandler), a handler that is down, slow or answers badly, and a sendHandler cycle.
 */
import { encodeFrame, forwardedMessage, handlerReply } from '../wire.js';
import type { Peer } from '../../../conformance/peer.js';
import { fail, type Case } from '../../../conformance/types.js';
import { hopsMax } from '../server.js';
import { handlerTimeoutMs, paths, peerPort, peerServer, quietMs } from './fixture.js';
import {
  acceptHandler,
  connect,
  expectMessage,
  expectNothing,
  expectSilentClose,
  expectStatus,
  isReceived,
  login,
  message,
  readFrame,
  same,
  serveHandler,
  show,
  withLocal,
} from './helpers.js';

const sendClientsQuote =
  'sendClients, data = list of usernames: every locally connected, authenticated client whose username is listed (each connection once) gets {"header":{"messageType":"receivedMessage"},"payload":{"data":D,"type":<handler name>}}; the originator gets good (also when nobody matched).';

export const handlerCases: Case<Peer>[] = [
  {
    id: 'bester/4/handler-dispatch',
    title: 'Each message opens a new local connection to its handler carrying only payload.data',
    section: '4',
    quote:
      'For each message the server opens a new local connection to the handler’s path, writes one frame holding only payload.data, reads one frame back and closes.',
    requirements: ['BESTER-4-handler-dispatch'],
    level: 'MUST',
    async run(peer) {
      await withLocal(peer, async (local) => {
        const relay = await local.listen(paths.relay);
        const alice = await login(peer, 'alice');
        for (const [id, data] of [
          ['m-1', { text: 'hallo', n: 1, list: [true, null] }],
          ['m-2', 'tweede'],
        ] as const) {
          await alice.send(message('relay', id, data));
          await serveHandler(peer, relay, 'relay', data, handlerReply('0', 'sendClients', [], null));
          await expectStatus(peer, alice, 'good', id, `the handler’s sendClients [] was not answered good`);
        }
      });
    },
  },
  {
    id: 'bester/4/send-clients',
    title: 'sendClients reaches exactly the listed clients, each connection once; the sender hears good',
    section: '4',
    quote: sendClientsQuote,
    requirements: ['BESTER-4-sendClients', 'BESTER-4-delivery'],
    level: 'MUST',
    async run(peer) {
      await withLocal(peer, async (local) => {
        const relay = await local.listen(paths.relay);
        const alice = await login(peer, 'alice');
        const bobs = [await login(peer, 'bob'), await login(peer, 'bob')];
        const carol = await login(peer, 'carol');
        await alice.send(message('relay', 'm-3', 'hi bob'));
        await serveHandler(peer, relay, 'relay', 'hi bob', handlerReply('0', 'sendClients', ['bob'], 'hoi bob'));
        await expectStatus(peer, alice, 'good', 'm-3', 'the sender did not hear good');
        for (const bob of bobs) {
          await expectMessage(
            bob,
            peer.answerMs,
            show({ header: { messageType: 'receivedMessage' }, payload: { data: 'hoi bob', type: 'relay' } }),
            isReceived('relay', 'hoi bob'),
            `bob’s connection ${bob.id} did not get the message`,
          );
          await expectNothing(bob, quietMs, `bob’s connection ${bob.id} got it twice`);
        }
        await expectNothing(carol, 0, 'carol, not listed, got a frame');
        await expectNothing(alice, 0, 'alice, not listed, got a frame');
      });
    },
  },
  {
    id: 'bester/4/send-servers',
    title: 'sendServers opens one scope "server" connection per host:port, sends one message with its id, closes',
    section: '4, 7',
    quote:
      'sendServers, data = list of "host:port": for each, a new TCP connection, one frame {"header":{"scope":"server"},"payload":{"data":D,"type":<handler name>,"id":ID}}, then close without reading. The originator gets good.',
    requirements: ['BESTER-4-sendServers', 'BESTER-7-bug1-forward-id'],
    level: 'MUST',
    async run(peer) {
      await withLocal(peer, async (local) => {
        const relay = await local.listen(paths.relay);
        const listener = await peer.listen(peerPort);
        const alice = await login(peer, 'alice');
        await alice.send(message('relay', 'm-4', 'to the world'));
        await serveHandler(
          peer,
          relay,
          'relay',
          'to the world',
          handlerReply('0', 'sendServers', [`${peerServer}:${peerPort}`], 'naar buite'),
        );
        const link = await listener.accept({ timeoutMs: peer.answerMs });
        if (!link) fail('the target did not connect to the listed server', `a connection to ${peerServer}`, 'none');
        const got = await link.expect(readFrame, { timeoutMs: peer.answerMs });
        const expected = forwardedMessage('relay', 'naar buite', 'm-4');
        if (!got.ok) fail('nothing was forwarded', show(expected), `${got.reason}: ${got.message}`);
        if (!same(got.value, expected)) fail('the forwarded message is wrong', show(expected), show(got.value));
        if (!(await link.expectClosed({ timeoutMs: peer.answerMs })))
          fail('the forwarding connection stayed open', 'closed after one message', 'still open');
        await expectStatus(peer, alice, 'good', 'm-4', 'the sender did not hear good');
      });
    },
  },
  {
    id: 'bester/4/server-scope',
    title: 'A scope "server" message goes to the handler of its type; the connection is closed after it',
    section: '3, 4',
    quote:
      '{"header":{"scope":"server"},"payload":{"type","id","data"}}: no authentication … The payload goes to the local handler of the same type; the connection is closed when that dispatch is done.',
    requirements: ['BESTER-4-sendServers', 'BESTER-4-delivery'],
    level: 'MUST',
    async run(peer) {
      await withLocal(peer, async (local) => {
        const relay = await local.listen(paths.relay);
        const bob = await login(peer, 'bob');
        const carol = await login(peer, 'carol');
        const link = await connect(peer);
        await link.send(encodeFrame(forwardedMessage('relay', 'van ver', 's-1')));
        await serveHandler(peer, relay, 'relay', 'van ver', handlerReply('0', 'sendClients', ['bob'], 'van ver'));
        await expectMessage(bob, peer.answerMs, 'the message', isReceived('relay', 'van ver'), 'bob did not get it');
        await expectSilentClose(link, peer.answerMs, 'the server connection was not closed after its dispatch');
        await expectNothing(carol, 0, 'carol, not listed, got a frame');
      });
    },
  },
  {
    id: 'bester/4/send-handler',
    title: 'sendHandler passes the reply data to the named handler and runs its reply, same message id',
    section: '4',
    quote:
      'sendHandler, data = another handler’s name: the server passes D to that handler and runs its reply the same way, with the same message id (Part 2: "Portuguese gadget" -> "English gadget").',
    requirements: ['BESTER-4-sendHandler', 'BESTER-4-delivery'],
    level: 'MUST',
    async run(peer) {
      await withLocal(peer, async (local) => {
        const relay = await local.listen(paths.relay);
        const echo = await local.listen(paths.echo);
        const alice = await login(peer, 'alice');
        const bob = await login(peer, 'bob');
        await alice.send(message('relay', 'm-5', 'Portuguese gadget'));
        await serveHandler(
          peer,
          relay,
          'relay',
          'Portuguese gadget',
          handlerReply('0', 'sendHandler', 'echo', 'English gadget'),
        );
        await serveHandler(peer, echo, 'echo', 'English gadget', handlerReply('0', 'sendClients', ['bob'], 'done'));
        await expectMessage(
          bob,
          peer.answerMs,
          'the message from handler echo',
          isReceived('echo', 'done'),
          'the chained handler’s sendClients did not reach bob',
        );
        await expectStatus(peer, alice, 'good', 'm-5', 'the sender did not hear good for the same id');
      });
    },
  },
  {
    id: 'bester/4/handler-down',
    title: 'A handler that is down gives a bad status report',
    section: '4',
    quote:
      'Failure cases, each a bad status report and never a hung server: the handler socket refuses (conn.failed: a handler that is down) …',
    requirements: ['BESTER-4-no-hang'],
    level: 'MUST',
    async run(peer) {
      await withLocal(peer, async () => {
        const alice = await login(peer, 'alice');
        await alice.send(message('absent', 'h-1', 'anyone?'));
        await expectStatus(peer, alice, 'bad', 'h-1', 'a message for a handler that is down was not answered bad');
      });
    },
  },
  {
    id: 'bester/4/handler-slow',
    title: 'A handler that never answers gives bad after handlerTimeoutMs, and the next message is served',
    section: '4',
    quote:
      'the handler does not answer within handlerTimeoutMs (default 5000; the original hangs, issue #10) … each a bad status report and never a hung server.',
    requirements: ['BESTER-4-no-hang', 'BESTER-7-bug4-handler-hang'],
    level: 'MUST',
    async run(peer) {
      await withLocal(peer, async (local) => {
        const relay = await local.listen(paths.relay);
        const alice = await login(peer, 'alice');
        await alice.send(message('relay', 'h-2', 'are you there'));
        const silent = await acceptHandler(peer, relay, 'relay');
        await expectStatus(
          peer,
          alice,
          'bad',
          'h-2',
          'a handler that never answers hung the message',
          handlerTimeoutMs,
        );
        if (!(await silent.conn.expectClosed({ timeoutMs: peer.answerMs })))
          fail('the server kept the silent handler’s connection', 'closed at the timeout', 'still open');
        await alice.send(message('relay', 'h-3', 'and now'));
        await serveHandler(peer, relay, 'relay', 'and now', handlerReply('0', 'sendClients', [], null));
        await expectStatus(peer, alice, 'good', 'h-3', 'the next message was not served');
      });
    },
  },
  {
    id: 'bester/4/handler-bad-replies',
    title: 'A handler closing early, or replying garbage, non-zero status, or a bad command, gives bad',
    section: '4',
    quote:
      'the handler closes without a reply, the reply is not JSON or lacks header.status / header.command, the command’s data has the wrong type, sendHandler names an unconfigured handler … each a bad status report and never a hung server.',
    requirements: ['BESTER-4-no-hang'],
    level: 'MUST',
    async run(peer) {
      await withLocal(peer, async (local) => {
        const relay = await local.listen(paths.relay);
        const alice = await login(peer, 'alice');
        const replies: [string, Uint8Array | undefined][] = [
          ['closing without a reply', undefined],
          ['a reply that is not JSON', new Uint8Array([4, 0, 0, 0, 0x6e, 0x6f, 0x70, 0x65])],
          ['status "1"', encodeFrame(handlerReply('1', 'sendClients', ['alice'], 'x'))],
          ['no header.command', encodeFrame({ header: { status: '0' }, data: 'x' })],
          ['no header.status', encodeFrame({ header: { command: { type: 'sendClients', data: [] } }, data: 'x' })],
          ['sendClients data that is not a list', encodeFrame(handlerReply('0', 'sendClients', 'alice', 'x'))],
          ['sendHandler to an unconfigured handler', encodeFrame(handlerReply('0', 'sendHandler', 'nobody', 'x'))],
          ['sendServers to "not-an-address"', encodeFrame(handlerReply('0', 'sendServers', ['not-an-address'], 'x'))],
        ];
        let n = 0;
        for (const [what, reply] of replies) {
          const id = `r-${++n}`;
          await alice.send(message('relay', id, what));
          const handler = await acceptHandler(peer, relay, 'relay');
          if (reply === undefined) await handler.conn.close();
          else await handler.conn.send(reply);
          await expectStatus(peer, alice, 'bad', id, `a handler ${what} was not answered bad`);
        }
        await expectNothing(alice, 0, 'a bad reply still delivered something');
      });
    },
  },
  {
    id: 'bester/4/handler-cycle',
    title: `A sendHandler cycle ends with bad after at most hopsMax (${hopsMax}) handlers`,
    section: '4',
    quote:
      'or the chain visits more than hopsMax = 8 handlers (a cycle recursed without end in the original) … each a bad status report and never a hung server.',
    requirements: ['BESTER-4-no-hang'],
    level: 'MUST',
    async run(peer) {
      return withLocal(peer, async (local) => {
        const relay = await local.listen(paths.relay);
        const alice = await login(peer, 'alice');
        await alice.send(message('relay', 'c-1', 'round'));
        let visits = 0;
        // Far past hopsMax: a server without the bound keeps connecting, and the case stops it here.
        while (visits <= hopsMax * 2) {
          const conn = await relay.accept({ timeoutMs: Math.min(peer.answerMs, handlerTimeoutMs) });
          if (!conn) break;
          visits += 1;
          const got = await conn.expect(readFrame, { timeoutMs: peer.answerMs });
          if (!got.ok) fail('the handler got no frame', 'the data', `${got.reason}: ${got.message}`);
          await conn.send(encodeFrame(handlerReply('0', 'sendHandler', 'relay', 'round')));
        }
        if (visits > hopsMax) fail('the cycle was not cut', `at most ${hopsMax} handler visits`, `${visits} visits`);
        await expectStatus(peer, alice, 'bad', 'c-1', 'a sendHandler cycle did not end with bad', handlerTimeoutMs);
        return { verdict: 'OK' as const, message: `cut after ${visits} handler visits` };
      });
    },
  },
];
