/**
 * Bester conformance cases on a client's connection (spec.md §2, §3): framing, authentication, the
 * silent refusals, bad JSON and bad lengths, the builtins and unknown message types.
 */
import {
  authMessage,
  encodeFrame,
  frameBytesMax,
  jsonDepthMax,
  lengthPrefixBytes,
  parseJson,
  statusReport,
} from '../wire.js';
import type { Peer, Reader } from '../../../conformance/peer.js';
import { fail, type Case } from '../../../conformance/types.js';
import { quietMs } from './fixture.js';
import {
  connect,
  expectMessage,
  expectNothing,
  expectSilentClose,
  expectStatus,
  login,
  message,
  readFrame,
  same,
  show,
} from './helpers.js';

const refuseQuote = 'Refused credentials: silent close. … Any other scope, no header, not an object: silent close.';

export const clientCases: Case<Peer>[] = [
  {
    id: 'bester/2/frame',
    title: 'Every frame is a 4-byte little-endian byte count and UTF-8 JSON, both ways',
    section: '2',
    quote: '[int32 little-endian byte count][UTF-8 JSON], no terminator (bformat 1.0.8).',
    requirements: ['BESTER-2-frame'],
    level: 'MUST',
    async run(peer) {
      const conn = await connect(peer);
      await conn.send(encodeFrame(authMessage('alice', 'pw')));
      const raw: Reader<{ length: number; body: Uint8Array }> = (bytes) => {
        if (bytes.length < lengthPrefixBytes) return { kind: 'more' };
        const length = new DataView(bytes.buffer, bytes.byteOffset, lengthPrefixBytes).getInt32(0, true);
        if (length < 0 || length > frameBytesMax) return { kind: 'error', message: `length ${length}` };
        if (bytes.length < lengthPrefixBytes + length) return { kind: 'more' };
        const body = bytes.slice(lengthPrefixBytes, lengthPrefixBytes + length);
        return { kind: 'value', value: { length, body }, used: lengthPrefixBytes + length };
      };
      const got = await conn.expect(raw, { timeoutMs: peer.answerMs });
      if (!got.ok) fail('no frame came back', 'a length-prefixed frame', `${got.reason}: ${got.message}`);
      const json = parseJson(got.value.body);
      if (!json.ok) fail('the frame body is not UTF-8 JSON', 'UTF-8 JSON', json.error.message);
      const expected = statusReport('good', 'auth_special');
      if (!same(json.value, expected)) fail('the frame holds something else', show(expected), show(json.value));
    },
  },
  {
    id: 'bester/3/auth',
    title: 'A client first message gets good auth_special, and its payload is not dispatched',
    section: '3',
    quote:
      'The server accepts any username that is non-empty after trimming whitespace and any non-empty password …, answers {"header":{"status":"good","messageType":"statusReport"},"payload":{"id":"auth_special"}}, registers the connection under the trimmed username, and does not dispatch the first payload.',
    requirements: ['BESTER-3-auth'],
    level: 'MUST',
    async run(peer) {
      const conn = await connect(peer);
      const first = {
        header: { scope: 'client', authentication: { username: '  alice ', password: 'pw' } },
        payload: { type: 'dummy', id: 'first', data: null },
      };
      await conn.send(encodeFrame(first));
      await expectStatus(peer, conn, 'good', 'auth_special', 'a good first message was not answered auth_special');
      await expectNothing(conn, quietMs, 'the first message’s payload was dispatched');
      await conn.send(message('dummy', 'second', null));
      await expectMessage(
        conn,
        peer.answerMs,
        'the dummy reply for "second"',
        (m) => m.kind === 'dummy' && m.id === 'second',
        'the connection is not usable after the login',
      );
    },
  },
  {
    id: 'bester/3/refused-credentials',
    title: 'A blank username or an empty password closes the connection without a frame',
    section: '3',
    quote: refuseQuote,
    requirements: ['BESTER-3-refuse-silently'],
    level: 'MUST',
    async run(peer) {
      for (const [username, password] of [
        ['   ', 'pw'],
        ['alice', ''],
      ] as const) {
        const conn = await connect(peer);
        await conn.send(encodeFrame(authMessage(username, password)));
        await expectSilentClose(conn, peer.answerMs, `credentials ${show({ username, password })} were not refused`);
      }
    },
  },
  {
    id: 'bester/3/refused-first-message',
    title: 'An unknown scope, a message without header, or one that is not an object is closed silently',
    section: '3',
    quote: refuseQuote,
    requirements: ['BESTER-3-refuse-silently'],
    level: 'MUST',
    async run(peer) {
      const firsts: unknown[] = [
        { header: { scope: 'admin' }, payload: { type: 'dummy', id: 'x', data: null } },
        { payload: { type: 'dummy', id: 'x', data: null } },
        ['not', 'an', 'object'],
        { header: { scope: 'client' }, payload: { type: 'dummy', id: 'x', data: null } },
      ];
      for (const first of firsts) {
        const conn = await connect(peer);
        await conn.send(encodeFrame(first));
        await expectSilentClose(conn, peer.answerMs, `the first message ${show(first)} was not refused`);
      }
    },
  },
  {
    id: 'bester/3/refused-later-message',
    title: 'A later message without header, type, id or data is closed silently',
    section: '3',
    quote:
      'The header key must be present (its contents are ignored); type and id must be strings and data present (besterd cc359a1). Otherwise: silent close.',
    requirements: ['BESTER-3-refuse-silently'],
    level: 'MUST',
    async run(peer) {
      const laters: unknown[] = [
        { payload: { type: 'dummy', id: 'x', data: null } },
        { header: {}, payload: { id: 'x', data: null } },
        { header: {}, payload: { type: 'dummy', data: null } },
        { header: {}, payload: { type: 'dummy', id: 7, data: null } },
        { header: {}, payload: { type: 'dummy', id: 'x' } },
      ];
      for (const later of laters) {
        const conn = await login(peer, 'alice');
        await conn.send(encodeFrame(later));
        await expectSilentClose(conn, peer.answerMs, `the message ${show(later)} was not refused`);
      }
    },
  },
  {
    id: 'bester/2/bad-json',
    title: 'Bad JSON, bad UTF-8 and JSON nested too deep close that connection; others are still served',
    section: '2',
    quote:
      'JSON nested deeper than jsonDepthMax = 64 is a wire error …; bad UTF-8 or bad JSON is a wire error. On a wire error the server closes the connection without any error frame, as the original does.',
    requirements: ['BESTER-2-decoder-total', 'BESTER-3-refuse-silently'],
    level: 'MUST',
    async run(peer) {
      const carol = await login(peer, 'carol');
      const deep = `${'['.repeat(jsonDepthMax + 1)}${']'.repeat(jsonDepthMax + 1)}`;
      const bodies: [string, Uint8Array][] = [
        ['bad JSON', new TextEncoder().encode('{"header":')],
        ['bad UTF-8', new Uint8Array([0x22, 0xff, 0xfe, 0x22])],
        [`JSON ${jsonDepthMax + 1} deep`, new TextEncoder().encode(deep)],
      ];
      for (const [what, body] of bodies) {
        const frame = new Uint8Array(lengthPrefixBytes + body.length);
        new DataView(frame.buffer).setInt32(0, body.length, true);
        frame.set(body, lengthPrefixBytes);
        const first = await connect(peer);
        await first.send(frame);
        await expectSilentClose(first, peer.answerMs, `${what} as a first message was not refused`);
        const later = await login(peer, 'alice');
        await later.send(frame);
        await expectSilentClose(later, peer.answerMs, `${what} after the login was not refused`);
      }
      await carol.send(message('dummy', 'still-here', null));
      await expectMessage(
        carol,
        peer.answerMs,
        'the dummy reply',
        (m) => m.kind === 'dummy' && m.id === 'still-here',
        'the server stopped serving other connections',
      );
    },
  },
  {
    id: 'bester/2/bad-length',
    title: 'A negative length or one over frameBytesMax closes the connection at once, without a frame',
    section: '2',
    quote: 'A negative length or one over frameBytesMax = 1 MiB is a wire error.',
    requirements: ['BESTER-2-decoder-total'],
    level: 'MUST',
    async run(peer) {
      for (const length of [-1, frameBytesMax + 1]) {
        const header = new Uint8Array(lengthPrefixBytes);
        new DataView(header.buffer).setInt32(0, length, true);
        const conn = await login(peer, 'alice');
        // Only the header: the server must refuse it from the length alone, not wait for the body.
        await conn.send(header);
        await expectSilentClose(conn, peer.answerMs, `a frame of length ${length} was not refused`);
      }
    },
  },
  {
    id: 'bester/3/dummy',
    title: 'type "dummy" gets the dummy reply with the message id',
    section: '3',
    quote: 'dummy: reply {"header":{"status":"0"},"payload":{"data":null,"type":"dummy","id":ID}}.',
    requirements: ['BESTER-3-builtins'],
    level: 'MUST',
    async run(peer) {
      const conn = await login(peer, 'alice');
      for (const id of ['d-1', 'd-2']) {
        await conn.send(message('dummy', id, { ignored: true }));
        const got = await conn.expect(readFrame, { timeoutMs: peer.answerMs });
        if (!got.ok) fail('no dummy reply', `the dummy reply for ${id}`, `${got.reason}: ${got.message}`);
        const expected = { header: { status: '0' }, payload: { data: null, type: 'dummy', id } };
        if (!same(got.value, expected)) fail('the dummy reply is wrong', show(expected), show(got.value));
      }
    },
  },
  {
    id: 'bester/3/builtin',
    title: 'type "builtin": command close ends the connection; any other command gets no reply',
    section: '3',
    quote: 'builtin: data.command.type == "close" closes the connection; anything else gets no reply (a note output).',
    requirements: ['BESTER-3-builtins'],
    level: 'MUST',
    async run(peer) {
      const conn = await login(peer, 'alice');
      await conn.send(message('builtin', 'b-1', { command: { type: 'reload' } }));
      await expectNothing(conn, quietMs, 'a builtin other than close was answered');
      await conn.send(message('dummy', 'd-after', null));
      await expectMessage(
        conn,
        peer.answerMs,
        'the dummy reply',
        (m) => m.kind === 'dummy' && m.id === 'd-after',
        'the connection did not survive a builtin other than close',
      );
      await conn.send(message('builtin', 'b-2', { command: { type: 'close' } }));
      await expectSilentClose(conn, peer.answerMs, 'builtin close did not close the connection');
    },
  },
  {
    id: 'bester/3/unknown-type',
    title: 'A message whose type has no handler gets a status report bad',
    section: '3',
    quote: 'anything else gets status report bad for id.',
    requirements: ['BESTER-3-unknown-type'],
    level: 'MUST',
    async run(peer) {
      const conn = await login(peer, 'alice');
      await conn.send(message('no-such-handler', 'u-1', 'hello?'));
      await expectStatus(peer, conn, 'bad', 'u-1', 'a message of an unknown type was not answered bad');
      await conn.send(message('dummy', 'u-2', null));
      await expectMessage(
        conn,
        peer.answerMs,
        'the dummy reply',
        (m) => m.kind === 'dummy' && m.id === 'u-2',
        'the connection did not survive an unknown type',
      );
    },
  },
];
