/**
 * Answers of a pure function kept by a key that stands for all of its arguments, for the digests
 * both ends of an Ambrosia stream compute from the same values (each side of a service handshake
 * makes the proof the other checks; a dialback key is made by the originating server and again by
 * the authoritative one). Bounded: emptied when full. No clock, no I/O.
 */
export class Answers<T> {
  private readonly kept = new Map<string, T>();

  constructor(private readonly max = 1024) {}

  /** The answer for `key`, computed by `compute` when not kept; `key` must determine the answer. */
  get(key: string, compute: () => T): T {
    let answer = this.kept.get(key);
    if (answer === undefined) {
      answer = compute();
      if (this.kept.size >= this.max) this.kept.clear();
      this.kept.set(key, answer);
    }
    return answer;
  }
}
