/**
 * Which runs a campaign, a shard and a worker take. Run i of a campaign uses fuzz seed
 * `base + i`; shard i/n takes the runs whose index is i modulo n (so shards are disjoint and
 * together cover the campaign); a shard's workers deal its runs out in turn.
 */

export interface Shard {
  /** 0-based. */
  readonly index: number;
  readonly count: number;
}

/** Parses `i/n` (0 <= i < n); returns undefined when malformed. */
export function parseShard(text: string): Shard | undefined {
  const match = /^(\d+)\/(\d+)$/.exec(text);
  if (!match) return undefined;
  const index = Number(match[1]);
  const count = Number(match[2]);
  return count >= 1 && index < count ? { index, count } : undefined;
}

/** The fuzz seeds of one shard of a campaign of `runs` runs from `base`. */
export function shardSeeds(base: number, runs: number, shard: Shard = { index: 0, count: 1 }): number[] {
  const seeds: number[] = [];
  for (let i = shard.index; i < runs; i += shard.count) seeds.push(base + i);
  return seeds;
}

/** Deals seeds out to `workers` workers in turn; no worker gets an empty list unless there are too few seeds. */
export function splitSeeds(seeds: readonly number[], workers: number): number[][] {
  const parts: number[][] = Array.from({ length: Math.max(1, Math.min(workers, seeds.length)) }, () => []);
  seeds.forEach((seed, i) => parts[i % parts.length]?.push(seed));
  return parts;
}
