/**
 * Writes a shrunk counterexample as a scenario file, with its trace beside it, and says the one
 * command that replays it. The file is the scenario source the failing run was judged on,
 * serialised with `yaml`, under a comment that names the fuzz seed, fast-check's path and the
 * expectations it breaks.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { stringify } from 'yaml';
import type { CanaryKind } from './canary.js';
import { counterexampleStem, type FuzzFailure } from './run-one.js';

export interface WrittenCounterexample {
  readonly file: string;
  readonly trace: string;
  readonly replay: string;
}

/** The command that replays a counterexample file (a canary needs the fuzz command to rebuild it). */
export function replayCommand(protocol: string, file: string, canary?: CanaryKind): string {
  return canary === undefined ? `fedsim run ${file}` : `fedsim fuzz ${protocol} --canary ${canary} --replay ${file}`;
}

export function counterexampleText(protocol: string, failure: FuzzFailure, replay: string): string {
  const header = [
    `Shrunk counterexample found by \`fedsim fuzz ${protocol}\` (fuzz seed ${failure.seed}, fast-check path "${failure.path}", ${failure.shrinks} shrinks).`,
    `Replay: ${replay}`,
    'It breaks:',
    ...failure.failures.map((line) => `  - ${line}`),
  ];
  return `${header.map((line) => `# ${line}`).join('\n')}\n${stringify(failure.source, { lineWidth: 0 })}`;
}

export function writeCounterexample(
  directory: string,
  protocol: string,
  failure: FuzzFailure,
  canary?: CanaryKind,
  variant?: string,
): WrittenCounterexample {
  mkdirSync(directory, { recursive: true });
  const stem = counterexampleStem(protocol, failure.seed, canary, variant);
  const file = join(directory, `${stem}.yaml`);
  const trace = join(directory, `${stem}.ndjson`);
  const replay = replayCommand(protocol, file, canary);
  writeFileSync(file, counterexampleText(protocol, failure, replay));
  writeFileSync(trace, failure.trace);
  return { file, trace, replay };
}
