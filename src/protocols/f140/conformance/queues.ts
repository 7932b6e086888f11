/**
 * F140 conformance cases on the target's queues (spec.md §5): queued until the friend is reachable,
 * retried with backoff, timed out, kept across a restart, and expired.
 */
import type { Peer } from '../../../conformance/peer.js';
import { fail, type Case } from '../../../conformance/types.js';
import { bob, pat, bobToPat, peerPort, retryMsBase, retryMsMax, requestTimeoutMs, queueExpiryMs } from './fixture.js';
import { control, nextCall, answer, serveUntilMsg } from './helpers.js';

export const queueCases: Case<Peer>[] = [
  {
    id: 'f140/5/queue-and-retry',
    title: 'A message for an unreachable friend is queued and delivered once the friend is reachable',
    section: '5',
    quote: 'Messages should be queued for offline or unreachable nodes.',
    requirements: ['F140-5-queue', 'F140-5-retry'],
    level: 'MUST',
    needsControl: true,
    async run(peer) {
      control(peer).command({ type: 'send', from: bob, to: pat, text: 'queued' });
      await peer.sleep(200); // The first attempt fails (nobody listens); a retry is pending, 1 s later.
      const listener = await peer.listen(peerPort);
      const pushed = await serveUntilMsg(peer, listener, retryMsMax + peer.answerMs);
      if (!pushed.message.includes('queued')) fail('the retried MSG is not the queued one', 'queued', pushed.message);
    },
  },
  {
    id: 'f140/5/retry-backoff',
    title: 'After a 503 the target retries, no sooner than retryMsBase',
    section: '5',
    quote: 'Transient failures are retried with doubling backoff from retryMsBase up to retryMsMax.',
    requirements: ['F140-5-retry'],
    level: 'MUST',
    needsControl: true,
    async run(peer) {
      const listener = await peer.listen(peerPort);
      control(peer).command({ type: 'send', from: bob, to: pat, text: 'after 503' });
      const first = await nextCall(listener, peer.answerMs, 'a first call');
      await answer(first.conn, 503, [['error', 'busy']]);
      const failedAtMs = peer.nowMs();
      const second = await nextCall(listener, retryMsMax + peer.answerMs, 'a retry after the backoff');
      const gapMs = peer.nowMs() - failedAtMs;
      await answer(second.conn, 200, [['response', bobToPat.response]]);
      // A tenth of the base is left for scheduling on a real machine; the simulator is exact.
      if (gapMs < retryMsBase * 0.9)
        fail('the retry came before the backoff', `a retry after at least ${retryMsBase} ms`, `after ${gapMs} ms`);
    },
  },
  {
    id: 'f140/5/request-timeout',
    title: 'A call left unanswered times out after requestTimeoutMs and is retried',
    section: '5',
    quote: 'A request without an answer times out after requestTimeoutMs.',
    requirements: ['F140-5-retry'],
    level: 'MUST',
    needsControl: true,
    async run(peer) {
      const listener = await peer.listen(peerPort);
      control(peer).command({ type: 'send', from: bob, to: pat, text: 'unanswered' });
      const first = await nextCall(listener, peer.answerMs, 'a first call');
      const closed = await first.conn.expectClosed({ timeoutMs: requestTimeoutMs + peer.answerMs });
      if (!closed)
        fail('the target never gave up on an unanswered call', `close within ${requestTimeoutMs} ms`, 'still open');
      const pushed = await serveUntilMsg(peer, listener, retryMsMax + peer.answerMs);
      if (!pushed.message.includes('unanswered'))
        fail('the retried MSG is not the queued one', 'unanswered', pushed.message);
    },
  },
  {
    id: 'f140/5/durable',
    title: 'A queued message survives a restart of the target and is delivered after it',
    section: '5',
    quote: 'Queued messages survive a crash of the sending node and are delivered after it restarts.',
    requirements: ['F140-5-durable'],
    level: 'MUST',
    needsControl: true,
    async run(peer) {
      const ctl = control(peer);
      ctl.command({ type: 'send', from: bob, to: pat, text: 'kept across a restart' });
      await peer.sleep(100);
      await ctl.restart();
      const listener = await peer.listen(peerPort);
      const pushed = await serveUntilMsg(peer, listener, retryMsMax + peer.answerMs);
      if (!pushed.message.includes('kept across a restart'))
        fail('the MSG after the restart is not the queued one', 'kept across a restart', pushed.message);
    },
  },
  {
    id: 'f140/5/expiry',
    title: 'A message still queued after queueExpiryMs is dropped with f140.expired',
    section: '5',
    quote: 'A message still queued queueExpiryMs after it was queued is dropped with a f140.expired rejection.',
    requirements: ['F140-5-expiry'],
    level: 'MUST',
    needsControl: true,
    async run(peer) {
      const ctl = control(peer);
      ctl.command({ type: 'send', from: bob, to: pat, text: 'too late' });
      const expired = await peer.waitUntil(
        () => ctl.outputs().some((o) => o.kind === 'reject' && o.name === 'f140.expired'),
        { timeoutMs: queueExpiryMs + retryMsMax + peer.answerMs },
      );
      if (!expired)
        fail(
          'the message did not expire',
          `reject f140.expired after ${queueExpiryMs} ms`,
          ctl
            .outputs()
            .map((o) => o.name)
            .join(', '),
        );
    },
  },
];
