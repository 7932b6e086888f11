/**
 * Wire helpers of the F140 conformance cases: requests and answers built and read with F140's own
 * wire.ts, and the waits the cases share (one call, the target's next call, serving it as pat's node
 * until it pushes a MSG). Each fails the case with what it expected and what came.
 *
 * Must not: read a clock (waits go through the Peer).
 */
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
} from '../wire.js';
import type { Conn, Listener, Peer, Reader } from '../../../conformance/peer.js';
import { fail, unimplemented } from '../../../conformance/types.js';
import { bob, pat, patToBob, bobToPat } from './fixture.js';

export const formType = 'application/x-www-form-urlencoded';

export type Fields = readonly (readonly [string, string])[];

export function request(method: string, fields: Fields, extraHeaders: readonly Header[] = []): Uint8Array {
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
export async function call(peer: Peer, bytes: Uint8Array | string, expected: string): Promise<Answer> {
  const conn = await peer.connect({ timeoutMs: peer.answerMs });
  if (!conn) fail('the target refused the connection', expected, 'connection refused or timed out');
  await conn.send(bytes);
  const response = await conn.expect(readResponse, { timeoutMs: peer.answerMs });
  await conn.close();
  if (!response.ok) fail(`no HTTP response (${response.reason})`, expected, response.message);
  const form = formOfBody(response.value.body);
  return { status: response.value.status, form: form.ok ? form.value : new Map() };
}

export function expectAnswer(
  answer: Answer,
  status: number,
  field: 'response' | 'error',
  value: string,
  what: string,
): void {
  const expected = `${status} with ${field}=${value}`;
  if (answer.status !== status || answer.form.get(field) !== value) fail(what, expected, describeAnswer(answer));
  if (field === 'error' && answer.form.has('response'))
    fail('an error answer carries a response field', expected, describeAnswer(answer));
}

export const triple = (from: string, challenge: string, to: string): Fields => [
  ['from_user', from],
  ['challenge', challenge],
  ['to_user', to],
];

export function msg(text: string, extra: Fields = []): Fields {
  return [['command', 'MSG'], ...triple(pat, patToBob.challenge, bob), ['message', encodeBasicMessage(text)], ...extra];
}

/** The deliveries to bob the target reported (control channel), by body. */
export function deliveredBodies(peer: Peer): string[] {
  return (peer.control?.outputs() ?? []).filter((o) => o.kind === 'deliver' && o.name === bob).map((o) => o.body ?? '');
}

export function control(peer: Peer) {
  return peer.control ?? unimplemented('needs the control channel of a target the testbed runs');
}

/** Accepts the target's next connection and reads its request. */
export async function nextCall(
  listener: Listener,
  timeoutMs: number,
  expected: string,
): Promise<{ conn: Conn; call: Call }> {
  const conn = await listener.accept({ timeoutMs });
  if (!conn) fail(`the target did not connect within ${timeoutMs} ms`, expected, 'no connection');
  const read = await conn.expect(readRequest, { timeoutMs });
  if (!read.ok) fail('no complete request from the target', expected, read.message);
  return { conn, call: read.value };
}

export async function answer(conn: Conn, status: number, fields: Fields): Promise<void> {
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
export async function serveUntilMsg(peer: Peer, listener: Listener, timeoutMs: number, respond = bobToPat.response) {
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
