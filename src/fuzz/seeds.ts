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

/**
 * The shard CI's environment names, for `--shard` given no value (docs/ci.md):
 * - `FEDSIM_SHARD=i/n`, set from a GitHub Actions matrix (or any CI);
 * - else Kubernetes' Indexed Job `JOB_COMPLETION_INDEX=i`, with n from `shards` (`--shards`) or
 *   `FEDSIM_SHARDS`.
 * Returns the shard, or a one-line reason why none can be read. Pure: the CLI passes the env.
 */
export function shardFromEnv(
  env: Readonly<Record<string, string | undefined>>,
  shards?: number,
): Shard | { readonly problem: string } {
  const named = env.FEDSIM_SHARD;
  if (named !== undefined && named !== '') {
    return parseShard(named) ?? { problem: `FEDSIM_SHARD must be i/n with 0 <= i < n, such as 0/4 (got \`${named}\`)` };
  }
  const index = env.JOB_COMPLETION_INDEX;
  if (index === undefined || index === '')
    return { problem: '--shard without a value reads FEDSIM_SHARD (i/n) or JOB_COMPLETION_INDEX, and neither is set' };
  const countText = shards === undefined ? env.FEDSIM_SHARDS : String(shards);
  if (countText === undefined || countText === '')
    return { problem: 'JOB_COMPLETION_INDEX needs the shard count: --shards <n> or FEDSIM_SHARDS' };
  return (
    parseShard(`${index}/${countText}`) ?? {
      problem: `JOB_COMPLETION_INDEX=${index} with ${countText} shards is not a shard (0 <= index < count)`,
    }
  );
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
