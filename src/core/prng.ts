/**
 * Seeded random streams. One run has one seed; every component draws from its own stream,
 * derived from that seed and a stable label (`link:a.test>b.test`, `node:poe.net`), so that
 * adding a component never changes what the others draw. The generator is Alea (Johannes
 * Baagøe's, as seedrandom's `alea` implements it, drawing the same numbers for the same seed
 * string): fast, and its output depends only on the seed string.
 *
 * Alea's state is four numbers, kept here as fields rather than in seedrandom's closures: a
 * federation has a stream per node and per link, millions of them, and a closure-based generator
 * costs about 600 bytes each against about 100 for this object.
 */
import { assert } from './assert.js';

/** 2^-32 */
const twoPowMinus32 = 2.3283064365386963e-10;

/** Baagøe's Mash, the hash Alea is seeded with: `mash(data)` folds `data` into the running state `n`. */
class Mash {
  private n = 0xefc8249d;

  mash(data: string): number {
    let n = this.n;
    for (let i = 0; i < data.length; i++) {
      n += data.charCodeAt(i);
      let h = 0.02519603282416938 * n;
      n = h >>> 0;
      h -= n;
      h *= n;
      n = h >>> 0;
      h -= n;
      n += h * 0x100000000; // 2^32
    }
    this.n = n;
    return (n >>> 0) * twoPowMinus32;
  }
}

export class Prng {
  private s0: number;
  private s1: number;
  private s2: number;
  private c = 1;

  constructor(
    readonly seed: number,
    readonly label: string,
  ) {
    assert(Number.isSafeInteger(seed), `seed must be a safe integer, got ${seed}`);
    // Alea's seeding, step for step.
    const text = `${seed}/${label}`;
    const mash = new Mash();
    this.s0 = mash.mash(' ');
    this.s1 = mash.mash(' ');
    this.s2 = mash.mash(' ');
    this.s0 -= mash.mash(text);
    if (this.s0 < 0) this.s0 += 1;
    this.s1 -= mash.mash(text);
    if (this.s1 < 0) this.s1 += 1;
    this.s2 -= mash.mash(text);
    if (this.s2 < 0) this.s2 += 1;
  }

  /** Alea's step: a float in [0, 1). */
  private next(): number {
    const t = 2091639 * this.s0 + this.c * twoPowMinus32;
    this.s0 = this.s1;
    this.s1 = this.s2;
    this.c = t | 0;
    this.s2 = t - this.c;
    return this.s2;
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
