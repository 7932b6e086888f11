/**
 * Checks a scenario's event patterns (in `never`, `eventually`, `sequence`) against the trace
 * event schema (src/trace/event-fields.ts): an unknown kind or field is a located problem with a
 * did-you-mean, because a misspelt pattern matches nothing and a `never` over it always holds.
 * Also checks the shape of `sequence` groups (src/scenario/order.ts).
 */
import type { Problem } from '../core/errors.js';
import { eventFields, eventKinds, payloadFields } from '../trace/event-fields.js';
import type { ProblemLocator } from './yaml.js';

type Path = readonly (string | number)[];

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    let diagonal = row[0] ?? 0;
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const above = row[j] ?? 0;
      row[j] = Math.min(above + 1, (row[j - 1] ?? 0) + 1, diagonal + (a[i - 1] === b[j - 1] ? 0 : 1));
      diagonal = above;
    }
  }
  return row[b.length] ?? 0;
}

/** ` (did you mean `x`?)` for the closest candidate within a few edits, or ''. */
export function didYouMean(word: string, candidates: readonly string[]): string {
  let best: string | undefined;
  let bestDistance = Infinity;
  for (const candidate of candidates) {
    const d = distance(word.toLowerCase(), candidate.toLowerCase());
    if (d < bestDistance) [best, bestDistance] = [candidate, d];
  }
  const allowed = Math.max(2, Math.floor(word.length / 3));
  return best !== undefined && bestDistance <= allowed ? ` (did you mean \`${best}\`?)` : '';
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Problems of one event pattern at `path`. */
export function checkPattern(locator: ProblemLocator, path: Path, raw: unknown): Problem[] {
  if (!isMapping(raw)) return [locator.problem(path, 'an event pattern is a mapping with a `kind`')];
  const kind = raw['kind'];
  if (typeof kind !== 'string') {
    return [locator.problem(path, 'an event pattern needs a `kind` (such as deliver, send, state, dns.query)')];
  }
  const fields = eventFields(kind);
  if (fields === undefined) {
    return [
      locator.problem(
        [...path, 'kind'],
        `unknown event kind \`${kind}\`${didYouMean(kind, eventKinds)} (kinds: ${eventKinds.join(', ')})`,
      ),
    ];
  }
  const problems: Problem[] = [];
  for (const [field, value] of Object.entries(raw)) {
    if (!fields.includes(field)) {
      problems.push(
        locator.problem(
          path,
          `\`${field}\` is not a field of \`${kind}\` events${didYouMean(field, fields)} (fields: ${fields.join(', ')})`,
          field,
        ),
      );
    } else if (field === 'payload') {
      if (!isMapping(value)) {
        problems.push(
          locator.problem([...path, 'payload'], `a payload pattern is a mapping of ${payloadFields.join(', ')}`),
        );
        continue;
      }
      for (const key of Object.keys(value)) {
        if (!payloadFields.includes(key))
          problems.push(
            locator.problem(
              [...path, 'payload'],
              `\`${key}\` is not a field of a payload${didYouMean(key, payloadFields)} (fields: ${payloadFields.join(', ')})`,
              key,
            ),
          );
      }
    }
  }
  return problems;
}

/** Problems of a `sequence`: each item is a pattern, or a group `{unordered: [...]}` / `{sequence: [...]}`. */
export function checkOrderItems(locator: ProblemLocator, path: Path, items: readonly unknown[]): Problem[] {
  return items.flatMap((item, index): Problem[] => {
    const at = [...path, index];
    if (isMapping(item) && !('kind' in item) && ('unordered' in item || 'sequence' in item)) {
      const keys = Object.keys(item);
      const group = keys.find((key) => key === 'unordered' || key === 'sequence') ?? 'unordered';
      const extra = keys.filter((key) => key !== group);
      if (extra.length > 0)
        return extra.map((key) =>
          locator.problem(at, `a group has one key, \`unordered\` or \`sequence\`; found \`${key}\` too`, key),
        );
      const inner = item[group];
      if (!Array.isArray(inner) || inner.length === 0)
        return [locator.problem([...at, group], `\`${group}\` lists at least one event pattern or group`)];
      return checkOrderItems(locator, [...at, group], inner);
    }
    return checkPattern(locator, at, item);
  });
}
