/**
 * The F140 conformance suite (src/protocols/f140/spec.md): cases that call the target as a friend's
 * client (PING, MSG, bad requests) and serve it as the friend's server (what it pushes, how it retries).
 * Every case quotes the rule it checks with its section; answers are decoded with F140's own wire.ts.
 *
 * The target must be configured like `fixtures.main` (docs/conformance.md): user bob@b.test, friend
 * pat@peer.test. Cases that need to make the target send (queue, retry, expiry) need its control
 * channel: the simulator and RealHost targets have one, an external server does not (UNIMPLEMENTED).
 *
 * Must not: read a clock (waits go through the Peer), or judge by anything but the wire and the
 * target's outputs.
 */
import { f140 } from './index.js';
import { requirements } from './requirements.js';
import {
  HttpRequestParser,
  HttpResponseParser,
  encodeBasicMessage,
  encodeForm,
  encodeRequest,
  encodeResponse,
  formOfBody,
  formOfRequest,
  type Header,
  type HttpResponse,
} from './wire.js';
import type { Conn, Listener, Peer, Reader } from '../../conformance/peer.js';
import { fail, unimplemented, type Case, type Suite } from '../../conformance/types.js';

const bob = 'bob@b.test';
const pat = 'pat@peer.test';
const stranger = 'mallory@evil.test';
/** pat calls bob with this challenge and expects this response (bob's `inbound` for pat). */
const patToBob = { challenge: 'c-pb', response: 'r-pb' };
/** bob calls pat with this challenge and expects this response (bob's `outbound` for pat). */
const bobToPat = { challenge: 'c-bp', response: 'r-bp' };
const peerPort = 8140;

/** Timers of the fixture, short so that real-socket runs take seconds (each case says what it allows). */
const retryMsBase = 1_000;
const retryMsMax = 2_000;
const requestTimeoutMs = 1_000;
const queueExpiryMs = 2_500;

const fixture = {
  port: 8140,
  users: [
    {
      name: bob,
      friends: [{ user: pat, host: 'peer.test', port: peerPort, outbound: bobToPat, inbound: patToBob }],
      groups: { close: [pat] },
    },
  ],
  retryMsBase,
  retryMsMax,
  requestTimeoutMs,
  queueExpiryMs,
  announce: false,
};

const formType = 'application/x-www-form-urlencoded';

// ---------------------------------------------------------------------------------------------------
// Wire helpers.

type Fields = readonly (readonly [string, string])[];

function request(method: string, fields: Fields, extraHeaders: readonly Header[] = []): Uint8Array {
  const headers: Header[] = [['Host', 'b.test'], ['Connection', 'close'], ...extraHeaders];
  if (method === 'POST') {
    return encodeRequest({
      method,
      target: '/f140',
      headers: [...headers, ['Content-Type', formType]],
      body: new TextEncoder().encode(encodeForm(fields)),
    });
  }
  return encodeRequest({ method, target: `/f140?${encodeForm(fields)}`, headers, body: new Uint8Array(0) });
}

/** Reads one HTTP response (the connection carries one exchange: the request said `Connection: close`). */
const readResponse: Reader<HttpResponse> = (bytes, closed) => {
  const parser = new HttpResponseParser();
  const pushed = parser.push(bytes);
  if (!pushed.ok) return { kind: 'error', message: `${pushed.error.code}: ${pushed.error.message}` };
  if (pushed.value) return { kind: 'value', value: pushed.value, used: bytes.length };
  if (!closed) return { kind: 'more' };
  const finished = parser.finish();
  return finished.ok
    ? { kind: 'value', value: finished.value, used: bytes.length }
    : { kind: 'error', message: finished.error.message };
};

interface Call {
  readonly method: string;
  readonly target: string;
  readonly form: ReadonlyMap<string, string>;
}

/** Reads one HTTP request the target makes as a client, with its F140 arguments. */
const readRequest: Reader<Call> = (bytes) => {
  const parser = new HttpRequestParser();
  const pushed = parser.push(bytes);
  if (!pushed.ok) return { kind: 'error', message: `${pushed.error.code}: ${pushed.error.message}` };
  const first = pushed.value[0];
  if (first === undefined) return { kind: 'more' };
  const form = formOfRequest(first);
  if (!form.ok) return { kind: 'error', message: `${form.error.code}: ${form.error.message}` };
  return { kind: 'value', value: { method: first.method, target: first.target, form: form.value }, used: bytes.length };
};

interface Answer {
  readonly status: number;
  readonly form: ReadonlyMap<string, string>;
}

function describeAnswer(answer: Answer): string {
  return `${answer.status} ${encodeForm([...answer.form])}`;
}

/** One exchange on its own connection: connect, send, read the answer. Fails the case on no answer. */
async function call(peer: Peer, bytes: Uint8Array | string, expected: string): Promise<Answer> {
  const conn = await peer.connect({ timeoutMs: peer.answerMs });
  if (!conn) fail('the target refused the connection', expected, 'connection refused or timed out');
  await conn.send(bytes);
  const response = await conn.expect(readResponse, { timeoutMs: peer.answerMs });
  await conn.close();
  if (!response.ok) fail(`no HTTP response (${response.reason})`, expected, response.message);
  const form = formOfBody(response.value.body);
  return { status: response.value.status, form: form.ok ? form.value : new Map() };
}

function expectAnswer(answer: Answer, status: number, field: 'response' | 'error', value: string, what: string): void {
  const expected = `${status} with ${field}=${value}`;
  if (answer.status !== status || answer.form.get(field) !== value) fail(what, expected, describeAnswer(answer));
  if (field === 'error' && answer.form.has('response'))
    fail('an error answer carries a response field', expected, describeAnswer(answer));
}

const triple = (from: string, challenge: string, to: string): Fields => [
  ['from_user', from],
  ['challenge', challenge],
  ['to_user', to],
];

function msg(text: string, extra: Fields = []): Fields {
  return [['command', 'MSG'], ...triple(pat, patToBob.challenge, bob), ['message', encodeBasicMessage(text)], ...extra];
}

/** The deliveries to bob the target reported (control channel), by body. */
function deliveredBodies(peer: Peer): string[] {
  return (peer.control?.outputs() ?? []).filter((o) => o.kind === 'deliver' && o.name === bob).map((o) => o.body ?? '');
}

function control(peer: Peer) {
  return peer.control ?? unimplemented('needs the control channel of a target the testbed runs');
}

/** Accepts the target's next connection and reads its request. */
async function nextCall(listener: Listener, timeoutMs: number, expected: string): Promise<{ conn: Conn; call: Call }> {
  const conn = await listener.accept({ timeoutMs });
  if (!conn) fail(`the target did not connect within ${timeoutMs} ms`, expected, 'no connection');
  const read = await conn.expect(readRequest, { timeoutMs });
  if (!read.ok) fail('no complete request from the target', expected, read.message);
  return { conn, call: read.value };
}

async function answer(conn: Conn, status: number, fields: Fields): Promise<void> {
  await conn.send(
    encodeResponse({
      status,
      headers: [
        ['Content-Type', formType],
        ['Connection', 'close'],
      ],
      body: new TextEncoder().encode(encodeForm(fields)),
    }),
  );
  await conn.close();
}

function commandOf(call: Call): string {
  return (call.form.get('command') ?? '').toUpperCase();
}

/** Serves the target as pat's node until it pushes a MSG (answering PINGs); returns the MSG's text. */
async function serveUntilMsg(peer: Peer, listener: Listener, timeoutMs: number, respond = bobToPat.response) {
  const expected = `a MSG from ${bob} to ${pat}`;
  const calls: string[] = [];
  for (let i = 0; i < 4; i++) {
    const { conn, call: got } = await nextCall(listener, timeoutMs, expected);
    calls.push(commandOf(got));
    if (got.form.get('challenge') !== bobToPat.challenge || got.form.get('to_user') !== pat)
      fail(
        'the target called with the wrong triple',
        `challenge=${bobToPat.challenge}, to_user=${pat}`,
        encodeForm([...got.form]),
      );
    await answer(conn, 200, [['response', respond]]);
    if (commandOf(got) === 'MSG')
      return { calls, message: got.form.get('message') ?? '', form: got.form, atMs: peer.nowMs() };
  }
  return fail('the target never pushed a MSG', expected, `calls: ${calls.join(', ')}`);
}

// ---------------------------------------------------------------------------------------------------
// Cases.

const cases: Case<Peer>[] = [
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

export const f140Suite: Suite<Peer> = {
  protocol: 'f140',
  title: 'F140',
  requirements,
  builtin: f140,
  scheme: 'http',
  target: { id: 'b.test', port: 8140 },
  peerHost: 'peer.test',
  fixtures: { main: fixture },
  seed: 140,
  cases,
};
