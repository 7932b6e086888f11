/**
 * The most recent `max` ids under one durable-store key, oldest first: a node's memory of what it
 * already accepted or delivered (F140's delivered ids per pair, FMTP's accepted messages). The
 * store holds the record as a JSON array, so that it survives a crash; this object also keeps the
 * window in memory, read from the store once, so that a check is a lookup rather than a parse of
 * the whole window. The node must be the only writer of the key; a restarted node builds a new one.
 *
 * Each add writes the window to the store, and copying a thousand ids per message was most of the
 * cost of keeping it. So the ids live in an append-only log (the window is its tail from `start`),
 * and what the store is given is a `WindowSnapshot`: the log and the bounds of the window at that
 * moment, which no later add can change (adds only push past its end, and a compaction copies the
 * tail into a new log). A `MemoryStore` keeps such a value by reference; any store reads it as the
 * JSON array it stands for.
 */
import { FrozenJson, type DurableStore } from './protocol.js';

/** The ids `log[start..end)`, as the store sees them; the log is never changed below `end`. */
class WindowSnapshot extends FrozenJson {
  constructor(
    private readonly log: readonly string[],
    private readonly start: number,
    private readonly end: number,
  ) {
    super();
  }

  toJSON(): string[] {
    return this.log.slice(this.start, this.end);
  }
}

/** Up to this many ids, a window is searched in place; past it, `counts` indexes it. */
const scannedIdsMax = 32;

export class DurableWindow {
  /** Every id added since the last compaction; the window is `log[start..]`. Only ever pushed to. */
  private log: string[] | undefined;
  private start = 0;
  /**
   * How many times each id is in the window (a record written elsewhere may repeat one); made
   * when the window first holds more than `scannedIdsMax` ids (a big federation holds a window per
   * pair of users, most with an id or two), and kept from then on.
   */
  private counts: Map<string, number> | undefined;

  constructor(
    private readonly store: DurableStore,
    readonly key: string,
    readonly max: number,
  ) {}

  private loaded(): string[] {
    if (this.log === undefined) {
      const value = this.store.get(this.key);
      this.log = Array.isArray(value) ? value.filter((id): id is string => typeof id === 'string') : [];
      this.indexIfLarge(this.log);
    }
    return this.log;
  }

  private indexIfLarge(log: readonly string[]): void {
    if (this.counts !== undefined || log.length - this.start <= scannedIdsMax) return;
    const counts = new Map<string, number>();
    for (let i = this.start; i < log.length; i++) {
      const id = log[i] as string;
      counts.set(id, (counts.get(id) ?? 0) + 1);
    }
    this.counts = counts;
  }

  has(id: string): boolean {
    const log = this.loaded();
    return this.counts === undefined ? log.indexOf(id, this.start) >= 0 : this.counts.has(id);
  }

  /** Appends `id`; the oldest leave a full window. Writes the window to the store. */
  add(id: string): void {
    let log = this.loaded();
    log.push(id);
    const counts = this.counts;
    if (counts === undefined) this.indexIfLarge(log);
    else counts.set(id, (counts.get(id) ?? 0) + 1);
    while (log.length - this.start > this.max) {
      const old = log[this.start] as string;
      this.start += 1;
      if (this.counts === undefined) continue;
      const left = (this.counts.get(old) ?? 1) - 1;
      if (left === 0) this.counts.delete(old);
      else this.counts.set(old, left);
    }
    // Once the evicted ids outnumber the window, the window moves to a new log (a copy of `max`
    // ids every `max` adds or more); the old log stays as it is for the snapshots that hold it.
    if (this.start > 0 && this.start >= log.length - this.start) {
      log = log.slice(this.start);
      this.log = log;
      this.start = 0;
    }
    this.store.put(this.key, new WindowSnapshot(log, this.start, log.length));
  }
}
