/**
 * The F140 client role (spec.md §5): checks each user command, queues its messages in the durable
 * store, and pushes each remote user's queue through one `f140.peer` machine, reading the HTTP
 * answers on the connections those machines open. Also the test bed's raw calls (config.ts): bytes
 * out as given, the answer reported as a note.
 *
 * Rule 1: sans-IO. Everything arrives through the node's inputs and NodeHost; queues live in host.store.
 * Rule 2: a bad response counts as a transient failure; a bad user command gets a `reject`
 * (f140.local.*) and queues nothing.
 */
import { startActor, type MachineActor } from '../../engine/actor.js';
import type { Endpoint, NodeHost } from '../protocol.js';
import { commandSchema, type F140Command, type F140Config } from './config.js';
import type { ChallengePair, Directory } from './directory.js';
import { requestProof, responseProof } from './proof.js';
import { peerConnId, peerMachine, type PeerEvent } from './machines/peer.js';
import { nextSeq, Outbox, queuedPerRemoteMax, type LearnedAddresses, type QueuedMessage } from './store.js';
import { describe, formOfBody, HttpResponseParser, textCodePointsMax, textLength } from './wire.js';

interface Peer {
  readonly name: string;
  readonly remote: string;
  readonly outbox: Outbox;
  readonly actor: MachineActor<typeof peerMachine>;
  /** The response parser of the exchange in flight, keyed by its connection id. */
  parser: { conn: string; parser: HttpResponseParser } | undefined;
}

/** A `raw` command's call in flight (test bed only): the bytes to write and the answer being read. */
interface RawCall {
  readonly bytes: Uint8Array;
  readonly parser: HttpResponseParser;
}

/** Raw calls in flight at once; a scenario needs a handful, and a runaway script must not pile up connections. */
const rawCallsMax = 16;

const encoder = new TextEncoder();

type Fields = readonly (readonly [string, string])[];

/**
 * Profile `bound` (spec.md §8): the call's fields with `nonce` added and, in place of the static
 * challenge, the proof of its arguments; and the proof a friend must answer. A pure function.
 */
function bind(fields: Fields, pair: ChallengePair, nonce: string): { fields: Fields; expected: string } {
  const withNonce: Fields = [...fields.filter(([name]) => name !== 'challenge'), ['nonce', nonce]];
  const args = new Map(withNonce);
  const command = args.get('command') ?? '';
  const proof = requestProof(pair.challenge, command, (name) => args.get(name));
  return {
    fields: withNonce.flatMap((field): Fields => (field[0] === 'from_user' ? [field, ['challenge', proof]] : [field])),
    expected: responseProof(pair.response, nonce, proof),
  };
}

export class F140Client {
  private readonly peers = new Map<string, Peer>();
  /**
   * The peers in the order started: peer `peer:N` is `byNumber[N - 1]` (the name a connection id
   * starts with). Copied at its exact size on each start (a node starts each peer once): a map or a
   * grown array would cost a big federation's nodes a table each.
   */
  private byNumber: readonly Peer[] = [];
  /** Raw calls in flight (test bed only); made on the first. */
  private raws: Map<string, RawCall> | undefined;
  private rawCount = 0;

  constructor(
    private readonly host: NodeHost,
    private readonly config: F140Config,
    private readonly directory: Directory,
    private readonly addresses: LearnedAddresses,
  ) {}

  start(): void {
    // One peer machine per remote friend, in configuration order; each announces us with a PING and
    // pushes whatever the store still holds for it from before a restart.
    this.directory.remotes().forEach((remote) => this.startPeer(remote));
  }

  stop(): void {
    for (const peer of this.peers.values()) peer.actor.stop();
  }

  /** A friend PINGed us (after our answer): push what we hold for it (spec.md §4.2). */
  pinged(user: string): void {
    this.peers.get(user)?.actor.send({ type: 'peer.pinged' });
  }

  opened(conn: string): void {
    if (this.raws?.has(conn)) return this.rawOpened(conn);
    this.toPeer(conn, { type: 'conn.opened' });
  }

  failed(conn: string, reason: string): void {
    if (this.raws?.has(conn)) return this.rawFailed(conn, reason);
    this.toPeer(conn, { type: 'conn.failed', reason });
  }

  data(conn: string, bytes: Uint8Array): void {
    if (this.raws?.has(conn)) return this.rawData(conn, bytes);
    this.response(conn, bytes);
  }

  closed(conn: string): void {
    if (this.raws?.has(conn)) return this.rawClosed(conn);
    this.responseClosed(conn);
  }

  command(raw: unknown): void {
    const parsed = commandSchema.safeParse(raw);
    if (!parsed.success) return this.localReject('command-invalid', parsed.error.message, raw);
    const command: F140Command = parsed.data;
    if (command.type === 'raw') return this.raw(command);
    if (command.type === 'ping') {
      const peer = this.peers.get(command.to);
      if (!peer) return this.localReject('not-friend', `no local user friends ${command.to}`, command);
      peer.actor.send({ type: 'user.ping' });
      return;
    }
    if (!this.directory.isLocal(command.from)) {
      return this.localReject('unknown-user', `${command.from} is not a user of this node`, command);
    }
    const length = textLength(command.text);
    if (length > textCodePointsMax) {
      return this.localReject('too-long', `text of ${length} code points is over ${textCodePointsMax}`, command);
    }
    if (command.type === 'send') {
      if (!this.directory.friendOf(command.from, command.to)) {
        return this.localReject('not-friend', `${command.to} is not a friend of ${command.from}`, command);
      }
      return this.enqueue(command.from, command.to, command.text, undefined, command);
    }
    const members = this.directory.groupMembers(command.from, command.group);
    if (!members) return this.localReject('unknown-group', `${command.from} has no group ${command.group}`, command);
    for (const member of members) this.enqueue(command.from, member, command.text, command.group, command);
  }

  view(): unknown[] {
    return [...this.peers.values()].map((peer) => ({
      remote: peer.remote,
      state: peer.actor.getSnapshot().value,
      queued: peer.outbox.all().map((m) => ({ id: m.id, from: m.from, text: m.text })),
    }));
  }

  private startPeer(remote: string): Peer {
    const name = `peer:${this.peers.size + 1}`;
    const outbox = new Outbox(this.host.store, remote, (m) => this.directory.friendOf(m.from, m.to) !== undefined);
    const actor = startActor(peerMachine, this.host, {
      name: `f140.peer ${remote}`,
      input: {
        name,
        remote,
        outbox,
        directory: this.directory,
        address: () => this.addressOf(remote),
        replyTo: `${this.config.advertiseHost ?? this.host.hostName}:${this.config.port}`,
        now: () => this.host.now(),
        timing: {
          retryMsBase: this.config.retryMsBase,
          retryMsMax: this.config.retryMsMax,
          requestTimeoutMs: this.config.requestTimeoutMs,
          queueExpiryMs: this.config.queueExpiryMs,
        },
        announce: this.config.announce,
        ...(this.config.profile === 'bound' ? { bind, nonceSalt: this.nonceSalt() } : {}),
      },
    });
    const peer: Peer = { name, remote, outbox, actor, parser: undefined };
    this.peers.set(remote, peer);
    this.byNumber = this.byNumber.concat([peer]);
    return peer;
  }

  /** Profile `bound`: 16 bytes from the node's random stream, drawn once per peer and start (hex). */
  private nonceSalt(): string {
    return Array.from(this.host.random.bytes(16), (byte) => byte.toString(16).padStart(2, '0')).join('');
  }

  private addressOf(remote: string): Endpoint {
    return this.addresses.get(remote) ?? this.directory.addressOf(remote) ?? { host: remote, port: this.config.port };
  }

  private localReject(code: string, reason: string, command: unknown): void {
    this.host.emit({ kind: 'reject', code: `f140.local.${code}`, reason, detail: { command } });
  }

  private enqueue(from: string, to: string, text: string, group: string | undefined, command: F140Command): void {
    const peer = this.peers.get(to) ?? this.startPeer(to);
    if (peer.outbox.size() >= queuedPerRemoteMax) {
      return this.localReject('queue-full', `${queuedPerRemoteMax} messages already queued for ${to}`, command);
    }
    const seq = nextSeq(this.host.store);
    const id = `${this.host.id}#${seq}`;
    const enqueuedAtMs = this.host.now();
    // Two literals rather than a spread of a conditional one (V8's slow path); the same members in the same order.
    const message: QueuedMessage =
      group === undefined
        ? { seq, id, from, to, text, enqueuedAtMs }
        : { seq, id, from, to, group, text, enqueuedAtMs };
    peer.outbox.add(message);
    this.host.emit({ kind: 'note', what: 'f140.msg.queued', detail: { id: message.id, from, to, group } });
    peer.actor.send({ type: 'queue.added' });
  }

  /** The peer whose exchange in flight uses `conn`; events of earlier exchanges are dropped. */
  private currentPeer(conn: string): Peer | undefined {
    const hash = conn.indexOf('#');
    const name = hash < 0 ? conn : conn.slice(0, hash);
    const peer = name.startsWith('peer:') ? this.byNumber[Number(name.slice(5)) - 1] : undefined;
    if (peer?.name !== name) return undefined;
    return peerConnId(peer.actor.getSnapshot().context) === conn ? peer : undefined;
  }

  private toPeer(conn: string, event: PeerEvent): void {
    const peer = this.currentPeer(conn);
    if (!peer) return;
    if (event.type === 'conn.opened') peer.parser = { conn, parser: new HttpResponseParser() };
    peer.actor.send(event);
  }

  private response(conn: string, bytes: Uint8Array): void {
    const peer = this.currentPeer(conn);
    if (!peer || peer.parser?.conn !== conn) return;
    const result = peer.parser.parser.push(bytes);
    if (!result.ok) {
      peer.parser = undefined;
      return peer.actor.send({ type: 'http.invalid', reason: result.error.message });
    }
    if (result.value === undefined) return;
    peer.parser = undefined;
    const form = formOfBody(result.value.body);
    if (!form.ok) return peer.actor.send({ type: 'http.invalid', reason: form.error.message });
    peer.actor.send({ type: 'http.response', status: result.value.status, fields: form.value });
  }

  private responseClosed(conn: string): void {
    const peer = this.currentPeer(conn);
    if (!peer) return;
    const parser = peer.parser?.conn === conn ? peer.parser.parser : undefined;
    peer.parser = undefined;
    // A response without Content-Length ends at the close.
    const finished = parser?.finish();
    if (finished?.ok) {
      const form = formOfBody(finished.value.body);
      if (form.ok) return peer.actor.send({ type: 'http.response', status: finished.value.status, fields: form.value });
    }
    peer.actor.send({ type: 'conn.closed' });
  }

  // -------------------------------------------------------------------------------------------------
  // Raw calls (test bed only, config.ts): bytes out as given, the answer reported as a note.

  private raw(command: Extract<F140Command, { type: 'raw' }>): void {
    const raws = (this.raws ??= new Map());
    if (raws.size >= rawCallsMax) {
      return this.localReject('raw-busy', `${rawCallsMax} raw calls already in flight`, command);
    }
    this.rawCount += 1;
    const conn = `raw#${this.rawCount}`;
    raws.set(conn, { bytes: encoder.encode(command.request), parser: new HttpResponseParser() });
    this.host.emit({ kind: 'connect', conn, target: { host: command.host, port: command.port } });
  }

  private rawOpened(conn: string): void {
    const call = this.raws?.get(conn);
    if (call) this.host.emit({ kind: 'write', conn, bytes: call.bytes, decoded: describe(call.bytes) });
  }

  private rawFailed(conn: string, reason: string): void {
    this.raws?.delete(conn);
    this.host.emit({ kind: 'reject', code: 'f140.raw.failed', reason: `connect ${reason}`, detail: { conn } });
  }

  private rawData(conn: string, bytes: Uint8Array): void {
    const call = this.raws?.get(conn);
    if (!call) return;
    const result = call.parser.push(bytes);
    if (result.ok && result.value === undefined) return;
    this.raws?.delete(conn);
    this.rawAnswer(conn, result.ok && result.value ? { ok: true, value: result.value } : call.parser.finish());
    this.host.emit({ kind: 'close', conn });
  }

  private rawClosed(conn: string): void {
    const call = this.raws?.get(conn);
    if (!call) return;
    this.raws?.delete(conn);
    this.rawAnswer(conn, call.parser.finish());
  }

  private rawAnswer(conn: string, result: ReturnType<HttpResponseParser['finish']>): void {
    if (!result.ok) {
      this.host.emit({ kind: 'reject', code: 'f140.raw.failed', reason: result.error.message, detail: { conn } });
      return;
    }
    const form = formOfBody(result.value.body);
    this.host.emit({
      kind: 'note',
      what: 'f140.raw.response',
      detail: { conn, status: result.value.status, fields: form.ok ? Object.fromEntries(form.value) : {} },
    });
  }
}
