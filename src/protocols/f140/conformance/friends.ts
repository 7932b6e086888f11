/**
 * F140 conformance cases on friendship (spec.md §4): challenge and response checked both ways, strangers
 * and unknown users refused alike, and the PING that makes the target push what it queued.
 */
import { encodeBasicMessage } from '../wire.js';
import type { Peer } from '../../../conformance/peer.js';
import { fail, type Case } from '../../../conformance/types.js';
import { bob, pat, stranger, patToBob, peerPort, retryMsBase, retryMsMax } from './fixture.js';
import {
  type Fields,
  request,
  call,
  expectAnswer,
  triple,
  deliveredBodies,
  control,
  nextCall,
  answer,
  serveUntilMsg,
} from './helpers.js';

export const friendCases: Case<Peer>[] = [
  {
    id: 'f140/4.1/wrong-challenge',
    title: 'A friend with the wrong challenge is refused with 403 and nothing is delivered',
    section: '4.1',
    quote:
      'The triple of from_user:challenge:to_user should be validated to ensure that the sender is a friend of the receiver.',
    requirements: ['F140-4.1-triple'],
    level: 'MUST',
    async run(peer) {
      const fields: Fields = [
        ['command', 'MSG'],
        ...triple(pat, 'not-the-challenge', bob),
        ['message', encodeBasicMessage('forged')],
      ];
      const got = await call(peer, request('POST', fields), '403');
      expectAnswer(got, 403, 'error', 'refused', 'a wrong challenge was not refused');
      if (deliveredBodies(peer).includes('forged'))
        fail('a message with a wrong challenge was delivered', 'no delivery', 'delivered');
    },
  },
  {
    id: 'f140/4.1/stranger-and-unknown-user',
    title: 'A stranger and an unknown to_user are refused alike with 403',
    section: '4.1',
    quote:
      'The triple of from_user:challenge:to_user should be validated to ensure that the sender is a friend of the receiver.',
    requirements: ['F140-4.1-triple'],
    level: 'MUST',
    async run(peer) {
      const strangerPing = await call(
        peer,
        request('GET', [['command', 'PING'], ...triple(stranger, patToBob.challenge, bob)]),
        '403',
      );
      expectAnswer(strangerPing, 403, 'error', 'refused', 'a stranger was not refused');
      const nobody = await call(
        peer,
        request('GET', [['command', 'PING'], ...triple(pat, patToBob.challenge, 'nobody@b.test')]),
        '403',
      );
      expectAnswer(nobody, 403, 'error', 'refused', 'an unknown to_user was not refused');
    },
  },
  {
    id: 'f140/4.2/ping-push',
    title: 'A PING from the friend makes the target push what it queued at once',
    section: '4.2',
    quote:
      'PING: inform a remote F140 node that you are present on the network and ready and able to receive any queued messages that might be for you.',
    requirements: ['F140-4.2-ping-push', 'F140-5-queue'],
    level: 'MUST',
    needsControl: true,
    async run(peer) {
      control(peer).command({ type: 'send', from: bob, to: pat, text: 'waiting for you' });
      await peer.sleep(100); // The first attempt fails (the peer is not listening); a backoff of 1 s starts.
      const listener = await peer.listen(peerPort);
      const pingAtMs = peer.nowMs();
      const got = await call(
        peer,
        request('GET', [['command', 'PING'], ...triple(pat, patToBob.challenge, bob), ['reply_to', listener.address]]),
        '200',
      );
      expectAnswer(got, 200, 'response', patToBob.response, 'the PING was not accepted');
      // Well before the backoff (1 s) would end: the push must come from the PING.
      const pushed = await serveUntilMsg(peer, listener, retryMsBase / 2);
      if (!pushed.message.includes('waiting for you'))
        fail('the pushed MSG is not the queued one', 'waiting for you', pushed.message);
      peer.note(`pushed ${pushed.atMs - pingAtMs} ms after the PING`);
    },
  },
  {
    id: 'f140/4.2/preflight',
    title: 'The target PINGs before a series of MSG calls',
    section: '4.2',
    quote: 'PING may also be used to "preflight" a subsequent series of MSG calls.',
    requirements: ['F140-4.2-preflight'],
    level: 'SHOULD',
    needsControl: true,
    async run(peer) {
      const listener = await peer.listen(peerPort);
      control(peer).command({ type: 'send', from: bob, to: pat, text: 'one' });
      const pushed = await serveUntilMsg(peer, listener, peer.answerMs);
      if (pushed.calls[0] !== 'PING') fail('no PING before the MSG', 'PING, then MSG', pushed.calls.join(', '));
    },
  },
  {
    id: 'f140/4.4/response-check',
    title: 'A wrong response value, confirmed once, is a refusal: the target drops the message (f140.refused)',
    section: '4.4',
    quote:
      'If the response matches the expected response, then the MSG was accepted. Any other non-matching response indicates that the recipient has refused.',
    requirements: ['F140-4.4-response-check'],
    level: 'MUST',
    needsControl: true,
    async run(peer) {
      const listener = await peer.listen(peerPort);
      const ctl = control(peer);
      ctl.command({ type: 'send', from: bob, to: pat, text: 'to an impostor' });
      const expected = 'reject f140.refused, and no f140.msg.accepted';
      // A refusal drops the message once confirmed (spec.md §5): the first wrong answer is noted and
      // retried after the backoff; the second, with nothing accepted between, drops it.
      const first = await nextCall(listener, peer.answerMs, 'a PING or MSG');
      await answer(first.conn, 200, [['response', 'impostor']]);
      const second = await nextCall(listener, retryMsMax + peer.answerMs, 'the confirming call after the backoff');
      await answer(second.conn, 200, [['response', 'impostor']]);
      const refused = await peer.waitUntil(
        () => ctl.outputs().some((o) => o.kind === 'reject' && o.name === 'f140.refused'),
        { timeoutMs: peer.answerMs },
      );
      const accepted = ctl.outputs().some((o) => o.name === 'f140.msg.accepted');
      if (!refused || accepted)
        fail(
          'a non-matching response was not taken as a refusal',
          expected,
          ctl
            .outputs()
            .map((o) => o.name)
            .join(', '),
        );
    },
  },
];
