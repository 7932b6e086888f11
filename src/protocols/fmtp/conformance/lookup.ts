/**
 * FMTP conformance cases for REQUESTs and the lookups they start (spec.md §3.2, §5, §6): cache,
 * owner, MX, gateway, proxying and HOPS.
 */
import { encodeFrame } from '../wire.js';
import type { Peer } from '../../../conformance/peer.js';
import { fail, type Case } from '../../../conformance/types.js';
import { ports, lookingMs, quietMs } from './fixture.js';
import {
  show,
  expectFrame,
  expectRefused,
  greet,
  transaction,
  request,
  serveRequest,
  refuseDial,
  expectNoDial,
  isObjectFor,
} from './exchange.js';

export const lookupCases: Case<Peer>[] = [
  {
    id: 'fmtp/3.2/request-fields',
    title:
      'A REQUEST of TYPE, FROM, OBJECT, TRANSACTION is answered on its transaction; one without TRANSACTION is refused',
    section: '3.2',
    quote: 'A request looks like this: TYPE (REQUEST), FROM, OBJECT, TRANSACTION.',
    requirements: ['FMTP-request-fields', 'FMTP-wire-strict'],
    level: 'MUST',
    async run(peer) {
      const conn = await greet(peer);
      const asked = request(peer, 'bob@b.test');
      await conn.send(encodeFrame(asked));
      await expectFrame(
        conn,
        peer.answerMs,
        'OBJECT',
        'the owner did not answer with the object',
        (f) => isObjectFor('bob@b.test', asked.transaction)(f) && f.properties.address === 'bob@b.test',
        `OBJECT bob@b.test on ${asked.transaction}`,
      );
      await conn.send('TYPE: REQUEST\nFROM: peer.test\nOBJECT: bob@b.test\n\n');
      await expectRefused(conn, peer, 'field.missing', 'a REQUEST without TRANSACTION was not refused');
    },
  },
  {
    id: 'fmtp/5/cache-first',
    title: 'A cached object is answered at once, without asking anyone',
    section: '5',
    quote: 'When you want an object, you should look for it in this order: 1. Local cache …',
    requirements: ['FMTP-lookup-order'],
    level: 'MUST',
    async run(peer) {
      const other = await peer.listen(ports.other);
      const conn = await greet(peer);
      const asked = request(peer, 'cal@cached.test');
      await conn.send(encodeFrame(asked));
      await expectFrame(
        conn,
        peer.answerMs,
        'OBJECT',
        'a cached object was not answered from the cache',
        isObjectFor('cal@cached.test', asked.transaction),
      );
      await expectNoDial(other, quietMs, 'the target asked a gateway for a cached object');
    },
  },
  {
    id: 'fmtp/5/lookup-order',
    title: 'Owner, then MX, then gateway: each failing step moves on, and the gateway’s OBJECT is forwarded',
    section: '5, 5.2',
    quote:
      'When you want an object, you should look for it in this order: 1. Local cache 2. Object owner 3. MX server for object 4. gateway for object',
    requirements: ['FMTP-lookup-order', 'FMTP-outcome-failure-next-step', 'FMTP-outcome-looking'],
    level: 'MUST',
    async run(peer) {
      const owner = await peer.listen(ports.owner);
      const mx = await peer.listen(ports.mx);
      const gateway = await peer.listen(ports.other);
      const conn = await greet(peer);
      const object = '1812.calin@own.test/photo';
      const asked = request(peer, object);
      await conn.send(encodeFrame(asked));
      await expectFrame(conn, peer.answerMs, 'LOOKING', 'the proxy did not say it will look');
      await refuseDial(peer, owner, 'own.test'); // Step 2: the owner calin@own.test, at its cached route.
      await refuseDial(peer, mx, 'own.test'); // Step 3: the MX of own.test.
      const step4 = await serveRequest(peer, gateway, 'gw2.test', object); // Step 4: the *@* gateway.
      await step4.conn.send(
        encodeFrame({
          type: 'OBJECT',
          object,
          transaction: step4.request.transaction,
          properties: { address: '1812.calin@own.test', status: 'ONLINE' },
        }),
      );
      await expectFrame(
        conn,
        peer.answerMs,
        'OBJECT',
        'the gateway’s OBJECT was not forwarded',
        isObjectFor(object, asked.transaction),
      );
    },
  },
  {
    id: 'fmtp/5.2/found-cache',
    title: 'An OBJECT from the MX is forwarded and cached: the same REQUEST again is answered without a lookup',
    section: '5.2',
    quote: 'I have object: Store object in local cache, and stop looking.',
    requirements: ['FMTP-outcome-found-cache', 'FMTP-outcome-looking', 'FMTP-mutual-hash'],
    level: 'MUST',
    async run(peer) {
      const mx = await peer.listen(ports.mx);
      const gateway = await peer.listen(ports.other);
      const conn = await greet(peer);
      const first = request(peer, 'ann@far.test');
      await conn.send(encodeFrame(first));
      await expectFrame(conn, peer.answerMs, 'LOOKING', 'the proxy did not say it will look');
      const step3 = await serveRequest(peer, mx, 'far.test', 'ann@far.test');
      await step3.conn.send(
        encodeFrame({
          type: 'OBJECT',
          object: 'ann@far.test',
          transaction: step3.request.transaction,
          properties: { address: 'ann@far.test', status: 'AWAY', givenName: 'Ann' },
        }),
      );
      await expectFrame(
        conn,
        peer.answerMs,
        'OBJECT',
        'the MX’s OBJECT was not forwarded',
        isObjectFor('ann@far.test', first.transaction),
      );
      await expectNoDial(gateway, quietMs, 'the target looked further after "I have object"');
      const again = request(peer, 'ann@far.test');
      await conn.send(encodeFrame(again));
      await expectFrame(
        conn,
        peer.answerMs,
        'OBJECT',
        'the found object was not answered from the cache',
        (f) => isObjectFor('ann@far.test', again.transaction)(f) && f.properties.givenName === 'Ann',
      );
      await expectNoDial(mx, quietMs, 'the target asked the MX again for an object it had cached');
    },
  },
  {
    id: 'fmtp/5.2/not-found-authoritative',
    title: 'An unknown object of the target’s own domain gets NOT-FOUND at once',
    section: '5.2',
    quote: 'A node answers a REQUEST … NOT-FOUND if the object is in its own domain or it does not proxy.',
    requirements: ['FMTP-outcome-not-found'],
    level: 'MUST',
    async run(peer) {
      const conn = await greet(peer);
      const asked = request(peer, 'nobody@b.test');
      await conn.send(encodeFrame(asked));
      await expectFrame(
        conn,
        peer.answerMs,
        'NOT-FOUND',
        'an unknown user of b.test was not answered NOT-FOUND',
        (f) => f.transaction === asked.transaction && f.object === 'nobody@b.test',
      );
    },
  },
  {
    id: 'fmtp/5.2/not-found-gives-up',
    title: 'NOT-FOUND from the MX ends the lookup: forwarded, and no gateway is asked',
    section: '5.2',
    quote: 'Object does not exist: For 1, proceed to 2. For 2, 3, or 4, give up.',
    requirements: ['FMTP-outcome-not-found'],
    level: 'MUST',
    async run(peer) {
      const mx = await peer.listen(ports.mx);
      const gateway = await peer.listen(ports.other);
      const conn = await greet(peer);
      const asked = request(peer, 'zed@far.test');
      await conn.send(encodeFrame(asked));
      await expectFrame(conn, peer.answerMs, 'LOOKING', 'the proxy did not say it will look');
      const step3 = await serveRequest(peer, mx, 'far.test', 'zed@far.test');
      await step3.conn.send(
        encodeFrame({ type: 'NOT-FOUND', object: 'zed@far.test', transaction: step3.request.transaction }),
      );
      await expectFrame(
        conn,
        peer.answerMs,
        'NOT-FOUND',
        'NOT-FOUND was not forwarded',
        (f) => f.transaction === asked.transaction,
      );
      await expectNoDial(gateway, quietMs, 'the target asked the gateway after NOT-FOUND');
    },
  },
  {
    id: 'fmtp/5.2/failure',
    title: 'No MX and an unreachable gateway: the outcome is failure (FAILED to the requester)',
    section: '5.2',
    quote: 'Failure: Could not connect to node. Applies to 2, 3, and 4.',
    requirements: ['FMTP-outcome-failure'],
    level: 'MUST',
    async run(peer) {
      const conn = await greet(peer);
      const asked = request(peer, 'x@nowhere.test');
      await conn.send(encodeFrame(asked));
      await expectFrame(conn, peer.answerMs, 'LOOKING', 'the proxy did not say it will look');
      await expectFrame(
        conn,
        peer.answerMs + lookingMs,
        'FAILED',
        'an unreachable gateway did not end in failure',
        (f) => f.transaction === asked.transaction && f.object === 'x@nowhere.test',
      );
    },
  },
  {
    id: 'fmtp/5.2/looking-wait',
    title: 'A gateway’s LOOKING is waited on: nothing else is asked, and its later OBJECT is forwarded',
    section: '5.2',
    quote:
      'I will look for the object: Applies to 3 and 4. Wait for a response, and do not look further. If you are asking by proxy, you may consider the request closed.',
    requirements: ['FMTP-outcome-looking'],
    level: 'MUST',
    async run(peer) {
      const gateway = await peer.listen(ports.split);
      const other = await peer.listen(ports.other);
      const conn = await greet(peer);
      const asked = request(peer, 'kim@split.test');
      await conn.send(encodeFrame(asked));
      await expectFrame(conn, peer.answerMs, 'LOOKING', 'the proxy did not say it will look');
      const step4 = await serveRequest(peer, gateway, 'gw1.test', 'kim@split.test');
      const txn = step4.request.transaction;
      await step4.conn.send(encodeFrame({ type: 'LOOKING', object: 'kim@split.test', transaction: txn }));
      await expectNoDial(other, quietMs, 'the target looked further after "I will look"');
      await step4.conn.send(
        encodeFrame({
          type: 'OBJECT',
          object: 'kim@split.test',
          transaction: txn,
          properties: { address: 'kim@split.test' },
        }),
      );
      await expectFrame(
        conn,
        peer.answerMs,
        'OBJECT',
        'the final answer after LOOKING was not forwarded',
        isObjectFor('kim@split.test', asked.transaction),
      );
    },
  },
  {
    id: 'fmtp/5.3/hops',
    title:
      'HOPS 0 gets FAILED hops.exhausted (own users still answered); HOPS 3 is asked onward with 2; 256 is refused',
    section: '5.3',
    quote:
      'A proxy that looks on behalf of a REQUEST with HOPS h sends its own REQUESTs with h - 1. A REQUEST that would be proxied but has HOPS 0 gets FAILED hops.exhausted instead of LOOKING.',
    requirements: ['FMTP-proxy-hops'],
    level: 'MUST',
    async run(peer) {
      const gateway = await peer.listen(ports.split);
      const conn = await greet(peer);
      const stopped = request(peer, 'x@split.test', 0);
      await conn.send(encodeFrame(stopped));
      await expectFrame(
        conn,
        peer.answerMs,
        'FAILED',
        'HOPS 0 was not answered FAILED hops.exhausted',
        (f) => f.transaction === stopped.transaction && f.reason === 'hops.exhausted',
        'FAILED hops.exhausted',
      );
      await expectNoDial(gateway, quietMs, 'the target looked further for a REQUEST with HOPS 0');
      const own = request(peer, 'bob@b.test', 0);
      await conn.send(encodeFrame(own));
      await expectFrame(conn, peer.answerMs, 'OBJECT', 'HOPS 0 stopped an answer about its own user');
      await conn.send(encodeFrame(request(peer, 'y@split.test', 3)));
      await expectFrame(conn, peer.answerMs, 'LOOKING', 'HOPS 3 was not proxied');
      const onward = await serveRequest(peer, gateway, 'gw1.test', 'y@split.test');
      if (onward.request.hops !== 2)
        fail('the onward REQUEST does not carry one HOPS less', 'HOPS: 2', show(onward.request));
      await conn.send(
        `TYPE: REQUEST\nFROM: peer.test\nOBJECT: z@split.test\nTRANSACTION: ${transaction(peer)}\nHOPS: 256\n\n`,
      );
      await expectRefused(conn, peer, 'field.invalid', 'HOPS 256 was not refused');
    },
  },
  {
    id: 'fmtp/6/route-patterns',
    title: 'The first matching route picks the gateway: *@split.test before *@*',
    section: '6',
    quote: 'users that match *@splitreflection.com might go through one gateway, while *@* will go through another.',
    requirements: ['FMTP-routing-patterns'],
    level: 'MUST',
    async run(peer) {
      const split = await peer.listen(ports.split);
      const other = await peer.listen(ports.other);
      const conn = await greet(peer);
      for (const [object, listener, domain, wrong] of [
        ['ann@split.test', split, 'gw1.test', other],
        ['bea@other.test', other, 'gw2.test', split],
      ] as const) {
        const asked = request(peer, object);
        await conn.send(encodeFrame(asked));
        await expectFrame(conn, peer.answerMs, 'LOOKING', 'the proxy did not say it will look');
        const step4 = await serveRequest(peer, listener, domain, object);
        await step4.conn.send(encodeFrame({ type: 'NOT-FOUND', object, transaction: step4.request.transaction }));
        await expectFrame(conn, peer.answerMs, 'NOT-FOUND', 'NOT-FOUND was not forwarded');
        await expectNoDial(wrong, 0, `${object} also went to the other gateway`);
      }
    },
  },
];
