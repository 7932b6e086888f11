/**
 * The most recent `max` ids under one durable-store key, oldest first: a node's memory of what it
 * already accepted or delivered (F140's delivered ids per pair, FMTP's accepted messages). The
 * store holds the record as a JSON array, so that it survives a crash; this object also keeps the
 * window in memory, read from the store once, so that a check is a lookup rather than a parse of
 * the whole window. The node must be the only writer of the key; a restarted node builds a new one.
 */
import type { DurableStore } from './protocol.js';

export class DurableWindow {
  private ids: string[] | undefined;
  /** How many times each id is in `ids` (a record written elsewhere may repeat one). */
  private readonly counts = new Map<string, number>();

  constructor(
    private readonly store: DurableStore,
    readonly key: string,
    readonly max: number,
  ) {}

  private loaded(): string[] {
    if (this.ids === undefined) {
      const value = this.store.get(this.key);
      this.ids = Array.isArray(value) ? value.filter((id): id is string => typeof id === 'string') : [];
      for (const id of this.ids) this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
    }
    return this.ids;
  }

  has(id: string): boolean {
    this.loaded();
    return this.counts.has(id);
  }

  /** Appends `id`; the oldest leave a full window. Writes the window to the store. */
  add(id: string): void {
    const ids = this.loaded();
    ids.push(id);
    this.counts.set(id, (this.counts.get(id) ?? 0) + 1);
    const excess = ids.length - this.max;
    for (const old of excess > 0 ? ids.splice(0, excess) : []) {
      const left = (this.counts.get(old) ?? 1) - 1;
      if (left === 0) this.counts.delete(old);
      else this.counts.set(old, left);
    }
    this.store.put(this.key, ids);
  }
}
