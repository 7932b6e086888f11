/**
 * F140 conformance cases on requests the target answers (spec.md §1–§3): PING and MSG over GET and
 * POST, names without case, bad requests, the message format, duplicates and the 140-character limit,
 * and a broadcast to a group.
 */
import { encodeForm } from '../wire.js';
import type { Peer } from '../../../conformance/peer.js';
import { fail, type Case } from '../../../conformance/types.js';
import { bob, pat, patToBob, peerPort } from './fixture.js';
import {
  formType,
  type Fields,
  request,
  call,
  expectAnswer,
  triple,
  msg,
  deliveredBodies,
  control,
  serveUntilMsg,
} from './helpers.js';

export const requestCases: Case<Peer>[] = [
  {
    id: 'f140/1/group-broadcast',
    title: 'A broadcast to a group reaches its member as a MSG naming the group',
    section: '1',
    quote: 'Allowing users to collect friends into related groupings that can be targetted by a single message.',
    requirements: ['F140-1-groups'],
    level: 'SHOULD',
    needsControl: true,
    async run(peer) {
      const listener = await peer.listen(peerPort);
      control(peer).command({ type: 'broadcast', from: bob, group: 'close', text: 'to the group' });
      const pushed = await serveUntilMsg(peer, listener, peer.answerMs);
      if (!pushed.message.includes('to the group') || pushed.form.get('group') !== 'close')
        fail('the group message is not the broadcast', 'a MSG with group=close', encodeForm([...pushed.form]));
    },
  },
  {
    id: 'f140/2.1/get-ping',
    title: 'A friend PINGs by GET with the right triple and gets response=<its inbound response>',
    section: '2.1, 4.4',
    quote:
      'Calls are made via HTTP POST or HTTP GET, with the command and arguments sent as URL-encoded form arguments.',
    requirements: ['F140-2.1-get-post', 'F140-2.1-response-form', 'F140-4.1-triple'],
    level: 'MUST',
    async run(peer) {
      const got = await call(
        peer,
        request('GET', [['command', 'PING'], ...triple(pat, patToBob.challenge, bob)]),
        '200',
      );
      expectAnswer(got, 200, 'response', patToBob.response, 'a friend’s PING by GET was not accepted');
    },
  },
  {
    id: 'f140/2.1/post-msg',
    title: 'A friend’s MSG by POST is accepted and delivered to to_user',
    section: '2.1, 4.3',
    quote: 'Push a message for a specific user or group to a F140 server.',
    requirements: ['F140-2.1-get-post', 'F140-4.1-triple'],
    level: 'MUST',
    async run(peer) {
      const got = await call(peer, request('POST', msg('hello by post')), '200');
      expectAnswer(got, 200, 'response', patToBob.response, 'a friend’s MSG by POST was not accepted');
      if (peer.control && !deliveredBodies(peer).includes('hello by post'))
        fail(
          'accepted but not delivered',
          `a delivery to ${bob}`,
          `deliveries: ${JSON.stringify(deliveredBodies(peer))}`,
        );
    },
  },
  {
    id: 'f140/2.1/case-insensitive',
    title: 'Mixed-case command and argument names are accepted',
    section: '2.1',
    quote: 'For all calls documented here, method names and arguments are considered to be case insensitive.',
    requirements: ['F140-2.1-case-insensitive'],
    level: 'MUST',
    async run(peer) {
      const fields: Fields = [
        ['CoMmAnD', 'pInG'],
        ['FROM_USER', pat],
        ['Challenge', patToBob.challenge],
        ['To_User', bob],
      ];
      const got = await call(peer, request('GET', fields), '200');
      expectAnswer(got, 200, 'response', patToBob.response, 'mixed-case names were not understood');
    },
  },
  {
    id: 'f140/2.3/unknown-command',
    title: 'An unknown command gets 400 error=unknown-command',
    section: '2.3',
    quote: '400 unknown-command: `command` not PING / MSG.',
    requirements: ['F140-2.3-http-errors'],
    level: 'MUST',
    async run(peer) {
      const got = await call(
        peer,
        request('GET', [['command', 'DANCE'], ...triple(pat, patToBob.challenge, bob)]),
        '400',
      );
      expectAnswer(got, 400, 'error', 'unknown-command', 'an unknown command was not refused as the table says');
    },
  },
  {
    id: 'f140/2.3/missing-argument',
    title: 'A PING without its challenge gets 400 error=missing-argument',
    section: '2.3',
    quote: '400 missing-argument: no `command`, or a required argument missing.',
    requirements: ['F140-2.3-http-errors'],
    level: 'MUST',
    async run(peer) {
      const got = await call(
        peer,
        request('GET', [
          ['command', 'PING'],
          ['from_user', pat],
          ['to_user', bob],
        ]),
        '400',
      );
      expectAnswer(got, 400, 'error', 'missing-argument', 'a missing argument was not refused as the table says');
    },
  },
  {
    id: 'f140/2.3/method-not-allowed',
    title: 'A DELETE gets 405 error=method-not-allowed',
    section: '2.3',
    quote: '405 method-not-allowed: method other than GET / POST (with `Allow: GET, POST`).',
    requirements: ['F140-2.3-http-errors'],
    level: 'MUST',
    async run(peer) {
      const got = await call(peer, request('DELETE', [['command', 'PING']]), '405');
      expectAnswer(got, 405, 'error', 'method-not-allowed', 'a DELETE was not refused as the table says');
    },
  },
  {
    id: 'f140/2.3/transfer-encoding',
    title: 'A chunked body gets 501 and the connection is closed',
    section: '2.3',
    quote: '501 bad-request: `Transfer-Encoding` present.',
    requirements: ['F140-2.3-http-errors'],
    level: 'MUST',
    async run(peer) {
      const raw =
        'POST /f140 HTTP/1.1\r\nHost: b.test\r\nTransfer-Encoding: chunked\r\n' +
        `Content-Type: ${formType}\r\n\r\n4\r\nabcd\r\n0\r\n\r\n`;
      const got = await call(peer, raw, '501');
      expectAnswer(got, 501, 'error', 'bad-request', 'a chunked request was not refused as the table says');
    },
  },
  {
    id: 'f140/2.3/bad-message',
    title: 'A malformed <msg> gets 400 bad-message; another kind gets 415 unsupported-message',
    section: '2.3, 3.2',
    quote:
      '400 bad-message: `message` is a malformed `<msg>` document; 415 unsupported-message: its kind is not `basic`.',
    requirements: ['F140-2.3-http-errors', 'F140-3.1-basic-xml'],
    level: 'MUST',
    async run(peer) {
      const base: Fields = [['command', 'MSG'], ...triple(pat, patToBob.challenge, bob)];
      const bad = await call(
        peer,
        request('POST', [...base, ['message', '<msg kind="basic"><text>a<b</text></msg>']]),
        '400',
      );
      expectAnswer(bad, 400, 'error', 'bad-message', 'a malformed message was not refused');
      const other = await call(
        peer,
        request('POST', [...base, ['message', '<msg kind="rich"><text>hi</text></msg>']]),
        '415',
      );
      expectAnswer(other, 415, 'error', 'unsupported-message', 'a message of another kind was not refused');
    },
  },
  {
    id: 'f140/3.1/seed-example',
    title: 'The seed’s indented basic message is accepted and its text delivered exactly',
    section: '3',
    quote:
      'The following message of MIME type text/xml ... should be assumed to be the most basic form supported by all F140 servers.',
    requirements: ['F140-3.1-basic-xml'],
    level: 'MUST',
    async run(peer) {
      const message = '<?xml version="1.0"?>\n<msg kind="basic">\n  <text>Hello &amp; welcome &#x263A;</text>\n</msg>';
      const base: Fields = [['command', 'MSG'], ...triple(pat, patToBob.challenge, bob)];
      const got = await call(peer, request('POST', [...base, ['message', message]]), '200');
      expectAnswer(got, 200, 'response', patToBob.response, 'the basic message was not accepted');
      const wanted = 'Hello & welcome \u263a';
      if (peer.control && !deliveredBodies(peer).includes(wanted))
        fail('the delivered text differs', JSON.stringify(wanted), JSON.stringify(deliveredBodies(peer)));
    },
  },
  {
    id: 'f140/3.3/dedup',
    title: 'A repeated msg_id is answered as accepted and delivered once',
    section: '3.3',
    quote: 'A MSG whose msg_id the recipient already delivered is answered as accepted and not delivered again.',
    requirements: ['F140-3.3-dedup'],
    level: 'MUST',
    needsControl: true,
    async run(peer) {
      control(peer);
      for (let i = 0; i < 2; i++) {
        const got = await call(peer, request('POST', msg('once only', [['msg_id', 'peer.test#1']])), '200');
        expectAnswer(got, 200, 'response', patToBob.response, `send ${i + 1} of the same msg_id was not accepted`);
      }
      const count = deliveredBodies(peer).filter((b) => b === 'once only').length;
      if (count !== 1) fail('a repeated msg_id was not delivered exactly once', '1 delivery', `${count} deliveries`);
    },
  },
  {
    id: 'f140/3.4/140-chars',
    title: '140 code points are accepted (emoji count 1); 141 get 422 too-long',
    section: '3.4',
    quote: 'The text of a basic message holds at most 140 Unicode code points; the receiver answers 422 beyond.',
    requirements: ['F140-3.4-140-chars'],
    level: 'MUST',
    async run(peer) {
      const ok = await call(peer, request('POST', msg('\u{1F600}'.repeat(140))), '200');
      expectAnswer(ok, 200, 'response', patToBob.response, '140 emoji were refused');
      const long = await call(peer, request('POST', msg('\u{1F600}'.repeat(141))), '422');
      expectAnswer(long, 422, 'error', 'too-long', '141 code points were not refused with 422');
    },
  },
];
