/**
 * The F140 server role (spec.md §4): an HTTP server on the node's port. Each accepted connection is an
 * `f140.session` machine; each request it reads is answered by `serveRequest`, PING or MSG, with a
 * status, the result form (`response=...` or `error=...`), and the node outputs it causes (a delivery,
 * a refusal).
 *
 * Rule 1: no I/O; its only effects are durable-store writes (ids seen, addresses learned).
 * Rule 2: it never throws on peer input: every bad request maps to the status the spec names, and a
 * request the codec cannot read gets the HTTP error spec.md §2.3 names and a close.
 */
import { utf8Bytes } from '../../core/bytes.js';
import type { WireError } from '../../core/errors.js';
import { startActor, type MachineActor } from '../../engine/actor.js';
import type { NodeHost, NodeOutput } from '../protocol.js';
import type { F140Config } from './config.js';
import type { Directory } from './directory.js';
import { sessionMachine } from './machines/session.js';
import { requestProof, responseProof, sameProof } from './proof.js';
import type { LearnedAddresses, SeenIds } from './store.js';
import {
  decodeBasicMessage,
  encodeForm,
  encodeResponse,
  formOfRequest,
  HttpRequestParser,
  statusForError,
  textCodePointsMax,
  textLength,
  type Header,
  type HttpRequest,
} from './wire.js';

export interface ServerAnswer {
  readonly status: number;
  /** The result form: `response=...` when accepted, `error=...&reason=...` otherwise. */
  readonly fields: readonly (readonly [string, string])[];
  readonly headers: readonly Header[];
  readonly outputs: readonly NodeOutput[];
  /** Set by an accepted PING: the friend who announced itself, and the address it gave. */
  readonly pinged?: { readonly user: string; readonly address?: { host: string; port: number } };
  /** What the request meant, for the trace. */
  readonly decoded: unknown;
}

/** Error codes in the `error` result field (ours, spec.md §4.5). */
export type F140ErrorCode =
  | 'bad-request'
  | 'method-not-allowed'
  | 'missing-argument'
  | 'bad-argument'
  | 'unknown-command'
  | 'refused'
  | 'bad-message'
  | 'unsupported-message'
  | 'too-long';

function refusal(
  status: number,
  code: F140ErrorCode,
  reason: string,
  decoded: unknown,
  extra: { headers?: readonly Header[]; silent?: boolean } = {},
): ServerAnswer {
  return {
    status,
    fields: [
      ['error', code],
      ['reason', reason],
    ],
    headers: extra.headers ?? [],
    outputs: extra.silent ? [] : [{ kind: 'reject', code: `f140.${code}`, reason, detail: decoded }],
    decoded,
  };
}

/** The answer to a request the HTTP codec could not decode at all. */
export function answerWireError(error: WireError): ServerAnswer {
  return refusal(statusForError(error), 'bad-request', error.message, { error: error.code });
}

/** `host:port` as given in a PING's `reply_to` (ours); undefined when malformed. */
export function parseAddress(text: string): { host: string; port: number } | undefined {
  const match = /^([A-Za-z0-9.\-_]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5})$/.exec(text);
  const port = Number(match?.[2]);
  if (!match || port < 1 || port > 65_535) return undefined;
  return { host: match[1] ?? '', port };
}

export interface ServeContext {
  readonly directory: Directory;
  /** The node's friends' learned addresses, over its durable store. */
  readonly addresses: LearnedAddresses;
  /** The node's delivered-id windows, over its durable store. */
  readonly seen: SeenIds;
  /** Profile `bound` (spec.md §8): proofs over nonces, and the nonces taken, per friendship. */
  readonly bound?: { readonly nonces: SeenIds };
}

/**
 * The request's method and arguments, for the trace: what `{ method, ...Object.fromEntries(args) }`
 * gives (an argument named `method` takes its value and keeps its place), without the two
 * intermediate objects.
 */
export function decodedRequest(method: string, args: ReadonlyMap<string, string>): Record<string, string> {
  const decoded: Record<string, string> = { method };
  for (const [name, value] of args) {
    // Assigning `__proto__` would set the prototype; the spread makes it an own member.
    if (name === '__proto__')
      Object.defineProperty(decoded, name, { value, writable: true, enumerable: true, configurable: true });
    else decoded[name] = value;
  }
  return decoded;
}

/** The seed's check (F140 §4.3): the static challenge, answered by the static response. */
function verifySeed(
  from: string,
  challenge: string,
  to: string,
  directory: Directory,
): { response: string } | undefined {
  const friend = directory.verify(from, challenge, to);
  return friend && { response: friend.inbound.response };
}

/**
 * The `bound` profile's check (spec.md §8): the challenge is a proof, keyed with the agreed challenge,
 * over the call's arguments and a nonce this friendship has not used before; the answer proves the
 * agreed response over them in turn. The nonce is taken only by a call whose proof holds.
 */
function verifyBound(
  verb: string,
  args: ReadonlyMap<string, string>,
  directory: Directory,
  nonces: SeenIds,
): { response: string } | { replayed: string } | undefined {
  const from = args.get('from_user') ?? '';
  const to = args.get('to_user') ?? '';
  const nonce = args.get('nonce');
  const friend = directory.friendOf(to, from);
  if (!friend || nonce === undefined || nonce === '') return undefined;
  const proof = requestProof(friend.inbound.challenge, verb, (name) => args.get(name));
  const challenge = args.get('challenge') ?? '';
  if (!sameProof(proof, challenge)) return undefined;
  if (nonces.has(to, from, nonce)) return { replayed: nonce };
  nonces.mark(to, from, nonce);
  return { response: responseProof(friend.inbound.response, nonce, challenge) };
}

/** The arguments each command needs, in the order a missing one is reported. */
const pingArguments = ['from_user', 'challenge', 'to_user'] as const;
const msgArguments = [...pingArguments, 'message'] as const;

export function serveRequest(request: HttpRequest, context: ServeContext): ServerAnswer {
  const method = request.method.toUpperCase();
  if (method !== 'GET' && method !== 'POST') {
    return refusal(
      405,
      'method-not-allowed',
      `method ${request.method} is not GET or POST`,
      { method },
      {
        headers: [['Allow', 'GET, POST']],
      },
    );
  }
  const form = formOfRequest(request);
  if (!form.ok) return answerWireError(form.error);
  const args = form.value;
  const decoded = decodedRequest(method, args);
  const command = args.get('command');
  if (command === undefined) return refusal(400, 'missing-argument', 'no command argument', decoded);
  const verb = command.toUpperCase();
  if (verb !== 'PING' && verb !== 'MSG') {
    return refusal(400, 'unknown-command', `command ${JSON.stringify(command)} is not PING or MSG`, decoded);
  }
  for (const name of verb === 'MSG' ? msgArguments : pingArguments) {
    if (args.get(name) === undefined) return refusal(400, 'missing-argument', `${verb} needs ${name}`, decoded);
  }
  const from = args.get('from_user') ?? '';
  const to = args.get('to_user') ?? '';
  const checked = context.bound
    ? verifyBound(verb, args, context.directory, context.bound.nonces)
    : verifySeed(from, args.get('challenge') ?? '', to, context.directory);
  // One answer for unknown users, strangers and wrong challenges, so a caller cannot probe which it was.
  if (!checked) return refusal(403, 'refused', `${from}:<challenge>:${to} is not a known friendship`, decoded);
  if ('replayed' in checked) return refusal(403, 'refused', `nonce ${checked.replayed} was already taken`, decoded);
  const accepted = [['response', checked.response] as const];

  if (verb === 'PING') {
    const replyTo = args.get('reply_to');
    const address = replyTo === undefined ? undefined : parseAddress(replyTo);
    if (replyTo !== undefined && !address) {
      return refusal(400, 'bad-argument', `reply_to ${JSON.stringify(replyTo)} is not host:port`, decoded);
    }
    if (address) context.addresses.learn(from, address);
    // Literals with and without `address` rather than a spread of a conditional one (V8's slow path).
    return {
      status: 200,
      fields: accepted,
      headers: [],
      outputs: [{ kind: 'note', what: 'f140.ping.accepted', detail: address ? { from, to, address } : { from, to } }],
      pinged: address ? { user: from, address } : { user: from },
      decoded,
    };
  }

  const message = decodeBasicMessage(args.get('message') ?? '');
  if (!message.ok) {
    const unsupported = message.error.code === 'xml.kind.unsupported' || message.error.code === 'xml.not-msg';
    return unsupported
      ? refusal(415, 'unsupported-message', message.error.message, decoded)
      : refusal(400, 'bad-message', message.error.message, decoded);
  }
  const length = textLength(message.value.text);
  if (length > textCodePointsMax) {
    return refusal(422, 'too-long', `text of ${length} code points is over ${textCodePointsMax}`, decoded);
  }
  const id = args.get('msg_id');
  const group = args.get('group');
  if (id !== undefined && context.seen.has(to, from, id)) {
    // Accepted again (the sender lost our first answer) but delivered once only.
    return {
      status: 200,
      fields: accepted,
      headers: [],
      outputs: [{ kind: 'note', what: 'f140.msg.duplicate', detail: { from, to, id } }],
      decoded,
    };
  }
  if (id !== undefined) context.seen.mark(to, from, id);
  // The delivery's optional members set in place, in the order a spread of each would add them.
  const delivery: { kind: 'deliver'; user: string; from: string; body: string; id?: string; detail?: unknown } = {
    kind: 'deliver',
    user: to,
    from,
    body: message.value.text,
  };
  if (id !== undefined) delivery.id = id;
  if (group !== undefined) delivery.detail = { group };
  return { status: 200, fields: accepted, headers: [], outputs: [delivery], decoded };
}

// ---------------------------------------------------------------------------------------------------
// Sessions on accepted connections.

const formType: Header = ['Content-Type', 'application/x-www-form-urlencoded'];
const connectionClose: Header = ['Connection', 'close'];

interface Session {
  readonly actor: MachineActor<typeof sessionMachine>;
  readonly parser: HttpRequestParser;
  closing: boolean;
}

export class F140Server {
  /**
   * Open sessions by connection; undefined while there are none (a quiet node of a big federation
   * keeps no empty map: an emptied map keeps its table).
   */
  private sessions: Map<string, Session> | undefined;

  constructor(
    private readonly host: NodeHost,
    private readonly config: F140Config,
    private readonly context: ServeContext,
    /** Called after the answer to an accepted PING, with the friend who sent it. */
    private readonly onPinged: (user: string) => void,
  ) {}

  start(): void {
    this.host.emit({ kind: 'listen', endpoint: { host: this.host.hostName, port: this.config.port } });
  }

  stop(): void {
    for (const session of this.sessions?.values() ?? []) session.actor.stop();
  }

  /** Whether `conn` is a connection this server accepted (and has not yet forgotten). */
  has(conn: string): boolean {
    return this.sessions?.has(conn) === true;
  }

  get sessionCount(): number {
    return this.sessions?.size ?? 0;
  }

  accept(conn: string): void {
    const actor = startActor(sessionMachine, this.host, {
      name: `f140.session ${conn}`,
      input: { conn, idleMs: this.config.idleMs },
    });
    const session: Session = { actor, parser: new HttpRequestParser(), closing: false };
    (this.sessions ??= new Map()).set(conn, session);
    actor.subscribe({ complete: () => this.forget(conn) });
  }

  private forget(conn: string): void {
    this.sessions?.delete(conn);
    if (this.sessions?.size === 0) this.sessions = undefined;
  }

  /** Reads requests from `conn` and answers each in turn. */
  data(conn: string, bytes: Uint8Array): void {
    const session = this.sessions?.get(conn);
    if (!session || session.closing) return;
    const requests = session.parser.push(bytes);
    const answers: { answer: ServerAnswer; keepAlive: boolean }[] = requests.ok
      ? requests.value.map((request) => ({
          answer: serveRequest(request, this.context),
          keepAlive: request.keepAlive,
        }))
      : [];
    const error = requests.ok ? session.parser.error : requests.error;
    if (error) answers.push({ answer: answerWireError(error), keepAlive: false });
    for (const { answer, keepAlive } of answers) {
      session.actor.send({ type: 'http.request' });
      for (const output of answer.outputs) this.host.emit(output);
      const close = !keepAlive;
      const body = utf8Bytes(encodeForm(answer.fields));
      // The answer's headers after the form's type, and the close if asked: pushed, not spread.
      const headers: Header[] = [formType];
      for (const header of answer.headers) headers.push(header);
      if (close) headers.push(connectionClose);
      const bytesOut = encodeResponse({ status: answer.status, headers, body });
      this.host.emit({
        kind: 'write',
        conn,
        bytes: bytesOut,
        decoded: { status: answer.status, request: answer.decoded, response: Object.fromEntries(answer.fields) },
      });
      // After answering: the friend is present, so the client pushes what we hold for it (spec.md §4.2).
      if (answer.pinged) this.onPinged(answer.pinged.user);
      if (close) return this.endSession(conn, true);
    }
  }

  /** The peer closed `conn`. */
  closed(conn: string): void {
    this.endSession(conn, false);
  }

  private endSession(conn: string, byUs: boolean): void {
    const session = this.sessions?.get(conn);
    if (!session) return;
    session.closing = true;
    session.actor.send({ type: byUs ? 'session.end' : 'conn.closed' });
  }
}
