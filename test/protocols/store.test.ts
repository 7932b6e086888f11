// Goal: the durable store's sorted key index, F140's in-memory outbox queue and its friendship index are faithful
// shortcuts: `MemoryStore.keys(prefix)` lists exactly the keys a filter-and-sort of every key would,
// an `Outbox`'s queue always equals what a fresh outbox reads back from the store (the record
// a restarted node starts from), and its `stale` list equals a scan of the whole queue. A wrong
// binary search, a stale cache entry, a misplaced insert or a prefix scan over a queue whose times
// run backwards makes a listing differ.
// Method: fast-check command sequences (put, overwrite, delete, list by prefix; add, remove,
// reopen, stale and head with queue times that sometimes run backwards) against the naive reference, fixed
// seeds and run counts.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { MemoryStore } from '../../src/protocols/protocol.js';
import { Directory, type UserConfig } from '../../src/protocols/f140/directory.js';
import { DurableWindow } from '../../src/protocols/durable-window.js';
import { Outbox, SeenIds, seenIdsPerPairMax, type QueuedMessage } from '../../src/protocols/f140/store.js';

/** Keys from a small alphabet, so that prefixes, equal keys and neighbours are common. */
const key = fc.string({ unit: fc.constantFrom('a', 'b', '/', 'é', 'Z', '0'), maxLength: 4 });

type StoreOp =
  { op: 'put'; key: string; value: number } | { op: 'delete'; key: string } | { op: 'keys'; prefix: string };

const storeOp: fc.Arbitrary<StoreOp> = fc.oneof(
  fc.record({ op: fc.constant('put' as const), key, value: fc.integer() }),
  fc.record({ op: fc.constant('delete' as const), key }),
  fc.record({ op: fc.constant('keys' as const), prefix: key }),
);

describe('MemoryStore', () => {
  it('lists keys by prefix exactly as filtering and sorting every key does', () => {
    fc.assert(
      fc.property(fc.array(storeOp, { maxLength: 80 }), (ops) => {
        const store = new MemoryStore();
        const reference = new Map<string, number>();
        for (const op of ops) {
          if (op.op === 'put') {
            store.put(op.key, op.value);
            reference.set(op.key, op.value);
          } else if (op.op === 'delete') {
            store.delete(op.key);
            reference.delete(op.key);
          } else {
            const expected = [...reference.keys()].filter((k) => k.startsWith(op.prefix)).sort();
            expect(store.keys(op.prefix)).toEqual(expected);
          }
        }
        expect(store.keys()).toEqual([...reference.keys()].sort());
        for (const [k, value] of reference) expect(store.get(k)).toBe(value);
      }),
      { seed: 20261123, numRuns: 300 },
    );
  });

  it('hands out copies: changing a value read does not change the store', () => {
    const store = new MemoryStore();
    store.put('k', { list: [1] });
    (store.get('k') as { list: number[] }).list.push(2);
    expect(store.get('k')).toEqual({ list: [1] });
  });
});

type OutboxOp =
  | { op: 'add'; seq: number; atMs: number; from: string }
  | { op: 'remove'; seq: number }
  | { op: 'reopen' }
  | { op: 'stale'; nowMs: number };

const senders = ['u@a.test', 'w@a.test', 'gone@a.test'];
/** The friendship the outboxes are built with: one sender is no longer a friend. */
const friended = (m: QueuedMessage): boolean => m.from !== 'gone@a.test';
const expiryMs = 100;

const outboxOp: fc.Arbitrary<OutboxOp> = fc.oneof(
  // Queue times mostly rise with the sequence number, and sometimes fall (a clock skewed backwards).
  fc
    .record({ seq: fc.integer({ min: 1, max: 30 }), back: fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 200 })) })
    .chain(({ seq, back }) =>
      fc.record({
        op: fc.constant('add' as const),
        seq: fc.constant(seq),
        atMs: fc.constant(seq * 10 - back),
        from: fc.constantFrom(...senders),
      }),
    ),
  fc.record({ op: fc.constant('remove' as const), seq: fc.integer({ min: 1, max: 30 }) }),
  fc.constant({ op: 'reopen' as const }),
  fc.record({ op: fc.constant('stale' as const), nowMs: fc.integer({ min: 0, max: 500 }) }),
);

function message(seq: number, remote: string, atMs = seq * 10, from = senders[0] as string): QueuedMessage {
  return { seq, id: `n#${seq}`, from, to: remote, text: `t${seq}`, enqueuedAtMs: atMs };
}

describe('F140 outbox', () => {
  it('keeps its in-memory queue equal to what the store holds, and finds the stale messages a full scan finds', () => {
    fc.assert(
      fc.property(fc.array(outboxOp, { maxLength: 60 }), (ops) => {
        const store = new MemoryStore();
        const remote = 'v@b.test';
        let outbox = new Outbox(store, remote, friended);
        // Another remote's queue in the same store must not leak into this one.
        new Outbox(store, 'v@b.test2', friended).add(message(7, 'v@b.test2'));
        for (const op of ops) {
          if (op.op === 'add') outbox.add(message(op.seq, remote, op.atMs, op.from));
          else if (op.op === 'remove') outbox.remove(op.seq);
          else if (op.op === 'reopen') outbox = new Outbox(store, remote, friended);
          else {
            // The reference: every queued message, in order, that has expired or lost its friend.
            const expected = new Outbox(store, remote, friended)
              .all()
              .filter((m) => op.nowMs - m.enqueuedAtMs >= expiryMs || !friended(m))
              .map((m) => ({ message: m, expired: op.nowMs - m.enqueuedAtMs >= expiryMs }));
            expect(outbox.stale(op.nowMs, expiryMs)).toEqual(expected);
            // And the head: the first message that is neither.
            const head = new Outbox(store, remote, friended)
              .all()
              .find((m) => op.nowMs - m.enqueuedAtMs < expiryMs && friended(m));
            expect(outbox.head(op.nowMs, expiryMs)).toEqual(head);
          }
          const fresh = new Outbox(store, remote, friended).all();
          expect(outbox.all()).toEqual(fresh);
          expect([...outbox.entries()]).toEqual(fresh);
          expect(outbox.size()).toBe(fresh.length);
          expect(fresh.map((m) => m.seq)).toEqual([...fresh.map((m) => m.seq)].sort((a, b) => a - b));
        }
      }),
      { seed: 20261123, numRuns: 500 },
    );
  });
});

describe('F140 Directory.friendOf', () => {
  // The friendship index must answer as a search of each user's configured friends would: the
  // first friendship configured for a (local, remote) pair, nothing for strangers.
  const names = fc.constantFrom('a@x', 'b@x', 'c@y', 'd@y');
  it('answers as the first matching configured friendship', () => {
    fc.assert(
      fc.property(
        fc.array(fc.record({ name: names, friends: fc.array(names, { maxLength: 5 }) }), { maxLength: 4 }),
        names,
        names,
        (users, local, remote) => {
          const configs: UserConfig[] = users.map((user, u) => ({
            name: user.name,
            groups: {},
            friends: user.friends.map((friend, f) => ({
              user: friend,
              host: `h${u}-${f}`,
              port: 1,
              outbound: { challenge: `c${u}-${f}`, response: 'r' },
              inbound: { challenge: 'c', response: 'r' },
            })),
          }));
          // As a Map of users does, the last configuration of a local user is the one that counts.
          const owner = [...configs].reverse().find((user) => user.name === local);
          const expected = owner?.friends.find((friend) => friend.user === remote);
          expect(new Directory(configs).friendOf(local, remote)).toBe(expected);
        },
      ),
      { seed: 20261123, numRuns: 300 },
    );
  });
});

describe('F140 SeenIds', () => {
  // The in-memory windows must answer as the stored list does, and keep the store equal to the list
  // the plain read-append-trim of every mark would write: a restarted node reads that list back.
  type SeenOp =
    { op: 'mark' | 'has'; to: string; id: string } | { op: 'bulk'; to: string; count: number } | { op: 'reopen' };
  const seenOp: fc.Arbitrary<SeenOp> = fc.oneof(
    fc.record({
      op: fc.constantFrom('mark' as const, 'has' as const),
      to: fc.constantFrom('a', 'b'),
      id: fc.constantFrom('1', '2', '3', 'x0', 'x1', 'x1023'),
    }),
    fc.record({
      op: fc.constant('bulk' as const),
      to: fc.constantFrom('a', 'b'),
      count: fc.integer({ min: 1, max: 1100 }),
    }),
    fc.constant({ op: 'reopen' as const }),
  );
  it('answers and stores as the read-append-trim reference does, across window overflow and restarts', () => {
    fc.assert(
      fc.property(fc.array(seenOp, { maxLength: 12 }), (ops) => {
        const store = new MemoryStore();
        let seen = new SeenIds(store);
        const reference = new Map<string, string[]>();
        const mark = (to: string, id: string): void => {
          seen.mark(to, 'f', id);
          const ids = reference.get(to) ?? [];
          ids.push(id);
          if (ids.length > seenIdsPerPairMax) ids.shift();
          reference.set(to, ids);
        };
        for (const op of ops) {
          if (op.op === 'reopen') seen = new SeenIds(store);
          else if (op.op === 'bulk') for (let i = 0; i < op.count; i++) mark(op.to, `x${i}`);
          else if (op.op === 'mark') mark(op.to, op.id);
          else expect(seen.has(op.to, 'f', op.id)).toBe((reference.get(op.to) ?? []).includes(op.id));
        }
        for (const [to, ids] of reference) {
          expect(store.get(`f140/seen/${to}/f`)).toEqual(ids);
          for (const id of new Set(ids)) expect(new SeenIds(store).has(to, 'f', id)).toBe(true);
        }
      }),
      { seed: 20261123, numRuns: 40 },
    );
  });
});

describe('DurableWindow', () => {
  // The window keeps its ids in an append-only log that it compacts now and then, and hands the
  // store snapshots of it by reference: every snapshot must keep reading as the list it was when
  // written (a compaction or a later add must not change it), and a reopened window must answer
  // as the stored list does. A small window makes many compactions.
  type WindowOp = { op: 'add' | 'has'; id: string } | { op: 'bulk'; count: number } | { op: 'reopen' };
  const windowOp: fc.Arbitrary<WindowOp> = fc.oneof(
    fc.record({ op: fc.constantFrom('add' as const, 'has' as const), id: fc.constantFrom('a', 'b', 'c', 'x1', 'x7') }),
    fc.record({ op: fc.constant('bulk' as const), count: fc.integer({ min: 1, max: 30 }) }),
    fc.constant({ op: 'reopen' as const }),
  );
  it('stores every add as the read-append-trim reference does, and earlier writes never change', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 6 }), fc.array(windowOp, { maxLength: 40 }), (max, ops) => {
        /** Every value the store was given, with the list it stood for when given. */
        const written: { value: unknown; ids: string[] }[] = [];
        const inner = new MemoryStore();
        const store = {
          get: (key: string) => inner.get(key),
          put: (key: string, value: unknown) => {
            written.push({ value, ids: JSON.parse(JSON.stringify(value)) as string[] });
            inner.put(key, value);
          },
          delete: (key: string) => inner.delete(key),
          keys: (prefix?: string) => inner.keys(prefix),
        };
        let window = new DurableWindow(store, 'w', max);
        const reference: string[] = [];
        const add = (id: string): void => {
          window.add(id);
          reference.push(id);
          if (reference.length > max) reference.shift();
          expect(inner.get('w')).toEqual(reference);
        };
        for (const op of ops) {
          if (op.op === 'reopen') window = new DurableWindow(store, 'w', max);
          else if (op.op === 'bulk') for (let i = 0; i < op.count; i++) add(`x${i}`);
          else if (op.op === 'add') add(op.id);
          else expect(window.has(op.id)).toBe(reference.includes(op.id));
        }
        for (const { value, ids } of written) expect(JSON.parse(JSON.stringify(value))).toEqual(ids);
        for (const id of ['a', 'b', 'c', 'x0', 'x1', 'x7', 'x29']) {
          expect(new DurableWindow(store, 'w', max).has(id)).toBe(reference.includes(id));
        }
      }),
      { seed: 20261123, numRuns: 300 },
    );
  });
});
