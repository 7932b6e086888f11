/**
 * The simulator's event queue: a binary min-heap ordered by (atMs, rank, seq). `seq` only grows,
 * so two events with the same time and rank run in the order they were scheduled, and the order
 * never depends on heap internals. Cancelled entries stay in the heap and are skipped when popped
 * (cheaper than a search, and the order of the others is unchanged).
 */
import { assert } from '../core/assert.js';
import type { Ms } from '../core/time.js';

export interface QueueEntry<T> {
  readonly atMs: Ms;
  readonly rank: number;
  readonly seq: number;
  readonly value: T;
  cancelled: boolean;
}

function before<T>(a: QueueEntry<T>, b: QueueEntry<T>): boolean {
  if (a.atMs !== b.atMs) return a.atMs < b.atMs;
  if (a.rank !== b.rank) return a.rank < b.rank;
  return a.seq < b.seq;
}

export class EventQueue<T> {
  private readonly heap: QueueEntry<T>[] = [];
  private nextSeq = 1;
  private live = 0;

  /** Live (not cancelled) entries. */
  get size(): number {
    return this.live;
  }

  push(atMs: Ms, rank: number, value: T): QueueEntry<T> {
    const entry: QueueEntry<T> = { atMs, rank, seq: this.nextSeq++, value, cancelled: false };
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
    this.live -= 1;
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
    let i = 0;
    const n = heap.length;
    while (true) {
      const left = 2 * i + 1;
      if (left >= n) break;
      const right = left + 1;
      let child = left;
      if (right < n && before(heap[right] as QueueEntry<T>, heap[left] as QueueEntry<T>)) child = right;
      const c = heap[child] as QueueEntry<T>;
      if (!before(c, last)) break;
      heap[i] = c;
      i = child;
    }
    heap[i] = last;
  }
}
