/**
 * What an F140 node keeps in its durable store (host.store), so that it survives a crash: the
 * outbound queue per remote user, the message id counter, the ids already delivered (duplicate
 * suppression) and friends' addresses learned from PING. Key layout (ours, spec.md §5):
 *
 *   f140/seq                              last message sequence number issued
 *   f140/outbox/<remote>/<seq, 12 digits> one QueuedMessage
 *   f140/seen/<to_user>/<from_user>       ids delivered from one sender to one user, oldest first
 *   f140/address/<remote>                 { host, port } from that friend's last accepted PING
 *
 * Rule: only this module knows the layout. It must not decide anything about the protocol.
 */
import { assert } from '../../core/assert.js';
import type { Ms } from '../../core/time.js';
import { DurableWindow } from '../durable-window.js';
import type { DurableStore, Endpoint } from '../protocol.js';

export interface QueuedMessage {
  readonly seq: number;
  /** The `msg_id` argument: `<node id>#<seq>`, unique per sending node (ours). */
  readonly id: string;
  readonly from: string;
  readonly to: string;
  /** The sender's group, when the message went to a group (informational, `group` argument). */
  readonly group?: string;
  readonly text: string;
  readonly enqueuedAtMs: Ms;
}

/**
 * Messages queued for one remote user. 1,000 is ours: at one message a second that is a quarter of
 * an hour of backlog for a friend who is away, and it bounds one node's store for one friend.
 */
export const queuedPerRemoteMax = 1_000;

/**
 * Delivered ids remembered per (sender, recipient). Our sender has one message in flight per remote
 * user, so a window of 1,024 is far more than a retry can reach back; it bounds the store.
 */
export const seenIdsPerPairMax = 1_024;

const seqDigits = 12;

function isQueuedMessage(value: unknown): value is QueuedMessage {
  if (typeof value !== 'object' || value === null) return false;
  const m = value as Record<string, unknown>;
  return (
    typeof m.seq === 'number' &&
    typeof m.id === 'string' &&
    typeof m.from === 'string' &&
    typeof m.to === 'string' &&
    typeof m.text === 'string' &&
    typeof m.enqueuedAtMs === 'number' &&
    (m.group === undefined || typeof m.group === 'string')
  );
}

function outboxPrefix(remote: string): string {
  return `f140/outbox/${encodeURIComponent(remote)}/`;
}

/**
 * The outbound queue for one remote user, in the order messages were queued. The durable store
 * is the record (it survives a crash); this object also keeps the queue parsed in memory, read
 * from the store once, so that scanning a long backlog (every exchange does) parses nothing. The
 * node is the only writer of its store, and a restarted node builds new outboxes.
 *
 * It also answers `stale` without reading the backlog: whether a message's sender still friends
 * the remote cannot change while the outbox lives (the directory is read-only), so each message is
 * asked once, when it joins the queue; and while queue times never decrease along the queue (a
 * node clock skewed backwards can break that), the expired messages are a prefix of it.
 */
export class Outbox {
  private queue: QueuedMessage[] | undefined;
  /** Queued messages whose sender no longer friends the remote (asked once each); made on first need. */
  private unfriended: Set<QueuedMessage> | undefined;
  /** Whether `enqueuedAtMs` never decreases along the queue, so that the expired are a prefix. */
  private ordered = true;
  /** What every key of this outbox starts with; made on first use (most outboxes of a big run stay empty). */
  private prefixText: string | undefined;

  /**
   * @param friended whether a message's sender friends its recipient; it must give the same answer
   * for a message for as long as this outbox lives.
   */
  constructor(
    private readonly store: DurableStore,
    readonly remote: string,
    private readonly friended: (message: QueuedMessage) => boolean,
  ) {}

  private get prefix(): string {
    return (this.prefixText ??= outboxPrefix(this.remote));
  }

  private loaded(): QueuedMessage[] {
    if (this.queue === undefined) {
      const queue = this.store.keys(this.prefix).map((key) => {
        const value = this.store.get(key);
        assert(isQueuedMessage(value), `corrupt outbox entry ${key}`);
        return value;
      });
      this.queue = queue;
      for (let i = 0; i < queue.length; i++) this.admitted(queue, i);
    }
    return this.queue;
  }

  /** Screens `queue[at]`, just placed: its friendship, and whether the queue stays time-ordered. */
  private admitted(queue: readonly QueuedMessage[], at: number): void {
    const message = queue[at] as QueuedMessage;
    if (!this.friended(message)) (this.unfriended ??= new Set()).add(message);
    const before = queue[at - 1];
    const after = queue[at + 1];
    if (
      (before !== undefined && before.enqueuedAtMs > message.enqueuedAtMs) ||
      (after !== undefined && after.enqueuedAtMs < message.enqueuedAtMs)
    )
      this.ordered = false;
  }

  all(): QueuedMessage[] {
    return [...this.loaded()];
  }

  /** The queued messages in order (the live queue: do not change the outbox while iterating). */
  entries(): readonly QueuedMessage[] {
    return this.loaded();
  }

  size(): number {
    return this.loaded().length;
  }

  /**
   * The first queued message that can still go: not expired (queued less than `expiryMs` before
   * `nowMs`) and from a sender who still friends the remote. Stops at the first.
   */
  head(nowMs: Ms, expiryMs: Ms): QueuedMessage | undefined {
    return this.loaded().find((m) => nowMs - m.enqueuedAtMs < expiryMs && this.unfriended?.has(m) !== true);
  }

  /**
   * The queued messages that cannot go any more, in queue order: expired (queued `expiryMs` or
   * longer before `nowMs`) or from a sender who no longer friends the remote.
   */
  stale(nowMs: Ms, expiryMs: Ms): { message: QueuedMessage; expired: boolean }[] {
    const queue = this.loaded();
    const expired = (m: QueuedMessage): boolean => nowMs - m.enqueuedAtMs >= expiryMs;
    if (!this.ordered) {
      return queue
        .filter((m) => expired(m) || this.unfriended?.has(m) === true)
        .map((message) => ({ message, expired: expired(message) }));
    }
    const found: { message: QueuedMessage; expired: boolean }[] = [];
    let prefix = 0;
    while (prefix < queue.length && expired(queue[prefix] as QueuedMessage)) {
      found.push({ message: queue[prefix] as QueuedMessage, expired: true });
      prefix += 1;
    }
    if (this.unfriended === undefined || this.unfriended.size === 0) return found;
    const rest = [...this.unfriended].filter((m) => !expired(m)).sort((a, b) => a.seq - b.seq);
    return [...found, ...rest.map((message) => ({ message, expired: false }))];
  }

  add(message: QueuedMessage): void {
    this.store.put(keyOf(this.prefix, message.seq), message);
    const queue = this.loaded();
    // In sequence order, as the store's keys sort: almost always at the end.
    let at = queue.length;
    while (at > 0 && (queue[at - 1] as QueuedMessage).seq > message.seq) at -= 1;
    if (queue[at - 1]?.seq === message.seq) {
      this.unfriended?.delete(queue[at - 1] as QueuedMessage);
      queue[at - 1] = message;
      at -= 1;
    } else queue.splice(at, 0, message);
    this.admitted(queue, at);
  }

  remove(seq: number): void {
    this.store.delete(keyOf(this.prefix, seq));
    const queue = this.loaded();
    const at = queue.findIndex((m) => m.seq === seq);
    if (at >= 0) {
      this.unfriended?.delete(queue[at] as QueuedMessage);
      queue.splice(at, 1);
    }
    // Removing keeps a time-ordered queue ordered; an empty one is ordered again.
    if (queue.length === 0) this.ordered = true;
  }
}

/** The key of message `seq` in the outbox whose keys start with `prefix` (`outboxPrefix`). */
function keyOf(prefix: string, seq: number): string {
  return `${prefix}${String(seq).padStart(seqDigits, '0')}`;
}

/** Issues the next message sequence number; the counter is durable, so ids never repeat after a restart. */
export function nextSeq(store: DurableStore): number {
  const last = store.get('f140/seq');
  const seq = (typeof last === 'number' ? last : 0) + 1;
  store.put('f140/seq', seq);
  return seq;
}

function seenKey(to: string, from: string, kind: string): string {
  return `f140/${kind}/${encodeURIComponent(to)}/${encodeURIComponent(from)}`;
}

/**
 * The ids delivered from each sender to each local user, most recent `seenIdsPerPairMax` (duplicate
 * suppression, spec.md §4.3), one durable window per pair, each read from the store once.
 */
export class SeenIds {
  /**
   * By recipient, then by sender (so that finding one needs no key text built). Made on the first
   * delivery: a quiet node (most of a 100,000-node run) keeps none.
   */
  private windows: Map<string, Map<string, DurableWindow>> | undefined;

  /** `kind` names the windows in the store: `seen` for delivered ids, `nonce` for the bound profile's nonces. */
  constructor(
    private readonly store: DurableStore,
    private readonly kind: 'seen' | 'nonce' = 'seen',
  ) {}

  private window(to: string, from: string): DurableWindow {
    const windows = (this.windows ??= new Map());
    let senders = windows.get(to);
    if (senders === undefined) {
      senders = new Map();
      windows.set(to, senders);
    }
    let window = senders.get(from);
    if (window === undefined) {
      window = new DurableWindow(this.store, seenKey(to, from, this.kind), seenIdsPerPairMax);
      senders.set(from, window);
    }
    return window;
  }

  has(to: string, from: string, id: string): boolean {
    return this.window(to, from).has(id);
  }

  /** Records `id` as delivered from `from` to `to`; the oldest id leaves a full window. */
  mark(to: string, from: string, id: string): void {
    this.window(to, from).add(id);
  }
}

function addressKey(remote: string): string {
  return `f140/address/${encodeURIComponent(remote)}`;
}

export function learnedAddress(store: DurableStore, remote: string): Endpoint | undefined {
  const value = store.get(addressKey(remote));
  if (typeof value !== 'object' || value === null) return undefined;
  const { host, port } = value as Record<string, unknown>;
  return typeof host === 'string' && typeof port === 'number' ? { host, port } : undefined;
}

export function learnAddress(store: DurableStore, remote: string, address: { host: string; port: number }): void {
  store.put(addressKey(remote), { host: address.host, port: address.port });
}

/**
 * Friends' addresses learned from PING (`learnedAddress`, `learnAddress`), each read from the store
 * once: a peer asks for its friend's address twice per exchange. The node must be the only writer
 * of these keys; a restarted node builds a new one.
 */
export class LearnedAddresses {
  /**
   * By remote user: the address `learnedAddress` read or `learn` wrote. A friend with none learned
   * is asked of the store each time rather than kept as a miss: in a big federation most nodes
   * learn nothing, and a map per node of misses costs more than the lookups it saves. Made on first use.
   */
  private known: Map<string, Endpoint> | undefined;

  constructor(private readonly store: DurableStore) {}

  get(remote: string): Endpoint | undefined {
    const known = this.known?.get(remote);
    if (known !== undefined) return known;
    const address = learnedAddress(this.store, remote);
    if (address !== undefined) (this.known ??= new Map()).set(remote, address);
    return address;
  }

  learn(remote: string, address: { host: string; port: number }): void {
    learnAddress(this.store, remote, address);
    // What `learnedAddress` reads back from the value just written.
    (this.known ??= new Map()).set(remote, { host: address.host, port: address.port });
  }
}
