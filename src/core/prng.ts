/**
 * Seeded random streams. One run has one seed; every component draws from its own stream,
 * derived from that seed and a stable label (`link:a.test>b.test`, `node:poe.net`), so that
 * adding a component never changes what the others draw. Alea (seedrandom) is fast and its
 * output depends only on the seed string.
 *
 * The generator is made at the first draw, not with the stream: a federation has a stream per
 * node and per link, millions of them, most never drawn from, and seedrandom's generator holds
 * its state in closures of about 600 bytes. Made later from the same seed string, it draws the
 * same numbers.
 */
import seedrandom from 'seedrandom';
import { assert } from './assert.js';

export class Prng {
  private generator: (() => number) | undefined;

  constructor(
    readonly seed: number,
    readonly label: string,
  ) {
    assert(Number.isSafeInteger(seed), `seed must be a safe integer, got ${seed}`);
  }

  /** Alea's next float in [0, 1). */
  private next(): number {
    this.generator ??= seedrandom.alea(`${this.seed}/${this.label}`);
    return this.generator();
  }

  /** A float in [0, 1). */
  float(): number {
    return this.next();
  }

  /** An integer in [min, max], both inclusive. */
  int(min: number, max: number): number {
    assert(Number.isSafeInteger(min) && Number.isSafeInteger(max) && min <= max, `bad range [${min}, ${max}]`);
    return min + Math.floor(this.next() * (max - min + 1));
  }

  /** True with probability `ratio` (0 never draws). */
  chance(ratio: number): boolean {
    if (ratio <= 0) return false;
    return this.next() < ratio;
  }

  /** An unsigned 32-bit integer. */
  uint32(): number {
    return Math.floor(this.next() * 0x1_0000_0000);
  }

  pick<T>(items: readonly T[]): T {
    assert(items.length > 0, 'pick from an empty list');
    return items[this.int(0, items.length - 1)] as T;
  }

  /** `count` random bytes, such as key material for a node. */
  bytes(count: number): Uint8Array {
    const out = new Uint8Array(count);
    for (let i = 0; i < count; i++) out[i] = Math.floor(this.next() * 256);
    return out;
  }

  /** A child stream, as independent of this one as of any other label. */
  fork(label: string): Prng {
    return new Prng(this.seed, `${this.label}/${label}`);
  }
}

/** The stream for `label` in the run with `seed`. */
export function streamFor(seed: number, label: string): Prng {
  return new Prng(seed, label);
}
