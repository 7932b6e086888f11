/**
 * The simulator's event queue: a binary min-heap ordered by (atMs, rank, seq). `seq` only grows,
 * so two events with the same time and rank run in the order they were scheduled, and the order
 * never depends on heap internals. Cancelled entries stay in the heap and are skipped when popped
 * (cheaper than a search, and the order of the others is unchanged). When cancelled entries
 * outnumber live ones (xstate timers armed and cleared once per message), the heap is compacted:
 * since (atMs, rank, seq) is a total order, the pop order is the same with or without them.
 */
import { assert } from '../core/assert.js';
import type { Ms } from '../core/time.js';

export interface QueueEntry<T> {
  readonly atMs: Ms;
  readonly rank: number;
  readonly seq: number;
  /** What the event runs; once cancelled, the queue's `released` value (see `EventQueue`'s constructor). */
  value: T;
  /** What the event is, for a lookahead that reads the queue ahead (simulator.ts); undefined: unknown (or cancelled). */
  tag: unknown;
  cancelled: boolean;
}

function before<T>(a: QueueEntry<T>, b: QueueEntry<T>): boolean {
  if (a.atMs !== b.atMs) return a.atMs < b.atMs;
  if (a.rank !== b.rank) return a.rank < b.rank;
  return a.seq < b.seq;
}

/** Windows up to this many entries are sorted by insertion (no allocation); larger ones by `Array.sort`. */
const insertionSortMax = 32;
const noEntries: readonly never[] = [];

/** Heaps smaller than this are never compacted (a rebuild would cost more than the skips). */
const compactEntriesMin = 1_024;

export class EventQueue<T> {
  private readonly heap: QueueEntry<T>[] = [];
  private nextSeq = 1;
  private live = 0;

  /**
   * @param released what a cancelled entry's value becomes (its tag becomes undefined). A cancelled
   * entry stays in the heap until it reaches the top or a compaction, and what it would have run
   * must not stay alive with it: a cleared timer's closure holds its actor, and a big federation
   * clears two timers a message (a request timeout of 10 s, a session's idle timer of 30 s), so a
   * million-node run kept every finished session alive until its timer's instant, long enough to be
   * promoted to the old generation and marked by every major GC. Undefined: values are kept.
   */
  constructor(private readonly released?: T) {}

  /** Live (not cancelled) entries. */
  get size(): number {
    return this.live;
  }

  push(atMs: Ms, rank: number, value: T, tag?: unknown): QueueEntry<T> {
    const entry: QueueEntry<T> = { atMs, rank, seq: this.nextSeq++, value, tag, cancelled: false };
    const heap = this.heap;
    heap.push(entry);
    let i = heap.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      const p = heap[parent] as QueueEntry<T>;
      if (!before(entry, p)) break;
      heap[i] = p;
      i = parent;
    }
    heap[i] = entry;
    this.live += 1;
    return entry;
  }

  cancel(entry: QueueEntry<T>): void {
    if (entry.cancelled) return;
    entry.cancelled = true;
    if (this.released !== undefined) entry.value = this.released;
    entry.tag = undefined;
    this.live -= 1;
    const heap = this.heap;
    if (heap.length >= compactEntriesMin && heap.length - this.live > this.live) this.compact();
  }

  /** Drops every cancelled entry and restores the heap order (Floyd's bottom-up build). */
  private compact(): void {
    const heap = this.heap;
    let kept = 0;
    for (let i = 0; i < heap.length; i++) {
      const entry = heap[i] as QueueEntry<T>;
      if (!entry.cancelled) heap[kept++] = entry;
    }
    heap.length = kept;
    for (let i = (kept >> 1) - 1; i >= 0; i--) this.siftDown(i, heap[i] as QueueEntry<T>);
  }

  /** Places `entry` at `start` or below it, moving smaller children up. */
  private siftDown(start: number, entry: QueueEntry<T>): void {
    const heap = this.heap;
    const n = heap.length;
    let i = start;
    while (true) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && before(heap[right] as QueueEntry<T>, heap[left] as QueueEntry<T>)) child = right;
      const c = heap[child] as QueueEntry<T>;
      if (!before(c, entry)) break;
      heap[i] = c;
      i = child;
    }
    heap[i] = entry;
  }

  /** `window`'s own arrays, kept from call to call (it runs before most events once a process node boots). */
  private readonly windowFound: QueueEntry<T>[] = [];
  private readonly windowStack: number[] = [];

  /**
   * The live entries other than the earliest one with `atMs <= boundMs`, in pop order, at most
   * `countMax` of them. A walk of the heap that stops below any entry past the bound (its subtree
   * is later still), then a sort of what it found: cheap while the window is small. The array is
   * the queue's own, reused by the next call (read it before calling again): a window allocates
   * nothing once the arrays have grown (emptied by `length = 0`, V8 would drop their storage).
   */
  window(boundMs: Ms, countMax: number): readonly QueueEntry<T>[] {
    this.dropCancelled();
    const heap = this.heap;
    const found = this.windowFound;
    const stack = this.windowStack;
    let count = 0;
    let top = 0;
    stack[top++] = 1;
    stack[top++] = 2;
    while (top > 0) {
      const i = stack[--top] as number;
      const entry = heap[i];
      if (entry === undefined || entry.atMs > boundMs) continue;
      if (!entry.cancelled) found[count++] = entry;
      stack[top++] = 2 * i + 1;
      stack[top++] = 2 * i + 2;
    }
    if (count === 0 || countMax <= 0) return noEntries;
    if (count <= insertionSortMax) {
      // A window is most often a few entries: sorted in place, by insertion.
      for (let i = 1; i < count; i++) {
        const entry = found[i] as QueueEntry<T>;
        let j = i;
        for (; j > 0 && before(entry, found[j - 1] as QueueEntry<T>); j--) found[j] = found[j - 1] as QueueEntry<T>;
        found[j] = entry;
      }
      found.length = count;
    } else {
      found.length = count;
      found.sort((a, b) => (before(a, b) ? -1 : 1));
    }
    if (count > countMax) found.length = countMax;
    return found;
  }

  /** The earliest live entry without removing it. */
  peek(): QueueEntry<T> | undefined {
    this.dropCancelled();
    return this.heap[0];
  }

  pop(): QueueEntry<T> | undefined {
    this.dropCancelled();
    const top = this.heap[0];
    if (top === undefined) return undefined;
    this.removeTop();
    this.live -= 1;
    // A popped entry counts as done: cancelling it later (a timer cleared after it fired) must
    // not count it out of `live` a second time.
    top.cancelled = true;
    return top;
  }

  private dropCancelled(): void {
    while (this.heap.length > 0 && (this.heap[0] as QueueEntry<T>).cancelled) this.removeTop();
  }

  private removeTop(): void {
    const heap = this.heap;
    const last = heap.pop();
    assert(last !== undefined, 'removeTop on an empty heap');
    if (heap.length === 0) return;
    this.siftDown(0, last);
  }
}
