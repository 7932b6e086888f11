/**
 * Bester conformance cases on the original's four bugs (spec.md §7): what the fixed profile does
 * instead, and that the `besterd-2020` fixture keeps them.
 */
import { encodeFrame, forwardedMessage, handlerReply } from '../wire.js';
import type { Peer } from '../../../conformance/peer.js';
import { fail, type Case } from '../../../conformance/types.js';
import { handlerTimeoutMs, paths, peerPort, peerServer, quietMs } from './fixture.js';
import {
  acceptHandler,
  connect,
  expectMessage,
  expectNothing,
  expectReply,
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

export const profileCases: Case<Peer>[] = [
  {
    id: 'bester/7/bug1-receiver-drops',
    title: 'A scope "server" message without id is closed and never reaches a handler',
    section: '3, 7',
    quote:
      'id is required, as for client messages. … forwarded message has no id; the receiving server (either profile) closes it.',
    requirements: ['BESTER-7-bug1-forward-id', 'BESTER-3-refuse-silently'],
    level: 'MUST',
    async run(peer) {
      await withLocal(peer, async (local) => {
        const relay = await local.listen(paths.relay);
        const link = await connect(peer);
        await link.send(encodeFrame(forwardedMessage('relay', 'no id', undefined)));
        await expectSilentClose(link, peer.answerMs, 'a scope-server message without id was not refused');
        const reached = await relay.accept({ timeoutMs: quietMs });
        if (reached) fail('a message without id reached the handler', 'no handler connection', 'one');
      });
    },
  },
  {
    id: 'bester/7/bug1-besterd-2020',
    title: 'besterd-2020 forwards sendServers without the id, yet tells the sender good (faithful bug 1)',
    section: '7',
    quote:
      'sendServers forwards without id, but every receiver requires id: forwarded message has no id; … Part 2 federation never delivers, yet the originator hears good.',
    requirements: ['BESTER-7-bug1-forward-id'],
    level: 'MUST',
    variant: 'besterd-2020',
    async run(peer) {
      await withLocal(peer, async (local) => {
        const relay = await local.listen(paths.relay);
        const listener = await peer.listen(peerPort);
        const alice = await login(peer, 'alice');
        await alice.send(message('relay', 'm-6', 'lost'));
        const reply = handlerReply('0', 'sendServers', [`${peerServer}:${peerPort}`], 'lost');
        await serveHandler(peer, relay, 'relay', 'lost', reply);
        const link = await listener.accept({ timeoutMs: peer.answerMs });
        if (!link) fail('the target did not connect to the listed server', `a connection to ${peerServer}`, 'none');
        const got = await link.expect(readFrame, { timeoutMs: peer.answerMs });
        const expected = forwardedMessage('relay', 'lost', undefined);
        if (!got.ok) fail('nothing was forwarded', show(expected), `${got.reason}: ${got.message}`);
        if (!same(got.value, expected))
          fail('the forwarded message is not the faithful one', show(expected), show(got.value));
        await expectStatus(peer, alice, 'good', 'm-6', 'the sender did not hear good');
      });
      return { verdict: 'OK', message: 'forwarded without id, as besterd-2020 does (use profile: fixed)' };
    },
  },
  {
    id: 'bester/7/bug2-fixed',
    title: 'An unknown handler command (the old spec’s sendClient) gets bad and delivers nothing',
    section: '7',
    quote: 'an unknown handler command leaves the D enum at its default: … fixed (default, ours): status report bad.',
    requirements: ['BESTER-7-bug2-unknown-command', 'BESTER-4-no-hang'],
    level: 'MUST',
    async run(peer) {
      await withLocal(peer, async (local) => {
        const relay = await local.listen(paths.relay);
        const alice = await login(peer, 'alice');
        const bob = await login(peer, 'bob');
        await alice.send(message('relay', 'm-7', 'old spec'));
        await serveHandler(peer, relay, 'relay', 'old spec', handlerReply('0', 'sendClient', ['bob'], 'old spec'));
        await expectStatus(peer, alice, 'bad', 'm-7', 'an unknown handler command was not answered bad');
        await expectNothing(bob, quietMs, 'an unknown handler command delivered the message');
      });
    },
  },
  {
    id: 'bester/7/bug2-besterd-2020',
    title: 'besterd-2020 runs an unknown handler command as sendClients (faithful bug 2)',
    section: '7',
    quote:
      'an unknown handler command leaves the D enum at its default: treated as sendClients (e.g. the old spec’s sendClient).',
    requirements: ['BESTER-7-bug2-unknown-command'],
    level: 'MUST',
    variant: 'besterd-2020',
    async run(peer) {
      await withLocal(peer, async (local) => {
        const relay = await local.listen(paths.relay);
        const alice = await login(peer, 'alice');
        const bob = await login(peer, 'bob');
        await alice.send(message('relay', 'm-8', 'old spec'));
        await serveHandler(peer, relay, 'relay', 'old spec', handlerReply('0', 'sendClient', ['bob'], 'old spec'));
        await expectStatus(peer, alice, 'good', 'm-8', 'the sender did not hear good');
        await expectMessage(bob, peer.answerMs, 'the message', isReceived('relay', 'old spec'), 'bob did not get it');
      });
      return { verdict: 'OK', message: 'run as sendClients, as besterd-2020 does (use profile: fixed)' };
    },
  },
  {
    id: 'bester/7/bug3-besterd-2020',
    title: 'besterd-2020 isClient answers the wrong way round (faithful bug 3)',
    section: '7',
    quote: 'isClient compares with cmp(...) the wrong way round: true when some other client is connected.',
    requirements: ['BESTER-7-bug3-isclient', 'BESTER-6-informer'],
    level: 'MUST',
    variant: 'besterd-2020',
    async run(peer) {
      await withLocal(peer, async (local) => {
        await login(peer, 'alice');
        const informer = await local.connect(paths.informer, { timeoutMs: peer.answerMs });
        if (!informer) fail('the informer refused', `a connection to ${paths.informer}`, 'refused');
        await expectReply(peer, informer, 'isClient', 'alice', { status: '0', data: false });
        await expectReply(peer, informer, 'isClient', 'zed', { status: '0', data: true });
      });
      return { verdict: 'OK', message: 'the wrong way round, as besterd-2020 does (use profile: fixed)' };
    },
  },
  {
    id: 'bester/7/bug4-besterd-2020',
    title: 'besterd-2020 waits on a silent handler past handlerTimeoutMs, and runs its late answer (faithful bug 4)',
    section: '7',
    quote:
      'no timeout on a handler (issue #10: an unreachable handler socket makes the server hang): a dispatch waits on a silent handler for ever.',
    requirements: ['BESTER-7-bug4-handler-hang'],
    level: 'MUST',
    variant: 'besterd-2020',
    async run(peer) {
      await withLocal(peer, async (local) => {
        const relay = await local.listen(paths.relay);
        const alice = await login(peer, 'alice');
        await alice.send(message('relay', 'h-9', 'are you there'));
        const silent = await acceptHandler(peer, relay, 'relay');
        // Twice the fixed profile's timeout, and nothing: no status report, the handler still connected.
        await expectNothing(alice, 2 * handlerTimeoutMs, 'the server gave up on the silent handler');
        await silent.conn.send(encodeFrame(handlerReply('0', 'sendClients', [], null)));
        await expectStatus(peer, alice, 'good', 'h-9', 'the late answer was not run');
      });
      return {
        verdict: 'OK',
        message: 'waits on the handler with no timeout, as besterd-2020 does (use profile: fixed)',
      };
    },
  },
];
