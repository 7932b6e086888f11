/**
 * YAML (and JSON) input with source positions, so that every problem in a user's file can be
 * reported as `file:line:col: field: message`. Shared by scenario files and `fedsim serve` configs.
 */
import { isMap, LineCounter, parseDocument, type Document, type Node as YamlNode } from 'yaml';
import type { z } from 'zod';
import { ScenarioError, type Problem } from '../core/errors.js';
import { limits } from '../core/limits.js';

type Path = readonly PropertyKey[];

/** `['steps', 2, 'atMs']` -> `steps[2].atMs` */
export function fieldName(path: Path): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(file)' : out;
}

export class Locator {
  constructor(
    private readonly file: string,
    private readonly doc: Document,
    private readonly lines: LineCounter,
  ) {}

  /** The problem located at the deepest existing node along `path` (or at `key` inside it). */
  problem(path: Path, message: string, key?: string): Problem {
    let offset = 0;
    for (let depth = path.length; depth >= 0; depth--) {
      const node = this.doc.getIn(path.slice(0, depth) as unknown[], true) as YamlNode | undefined;
      if (node && typeof node === 'object' && 'range' in node && node.range) {
        offset = node.range[0];
        if (key !== undefined && depth === path.length && isMap(node)) {
          const pair = node.items.find((item) => (item.key as { value?: unknown } | null)?.value === key);
          const keyNode = pair?.key as YamlNode | undefined;
          if (keyNode?.range) offset = keyNode.range[0];
        }
        break;
      }
    }
    const { line, col } = this.lines.linePos(offset);
    const field = fieldName(key === undefined ? path : [...path, key]);
    return { file: this.file, line, column: col, pointer: field, message: `${field}: ${message}` };
  }
}

export function zodProblems(locator: Locator, base: Path, error: z.ZodError): Problem[] {
  const problems: Problem[] = [];
  for (const issue of error.issues) {
    const path = [...base, ...issue.path];
    if (issue.code === 'unrecognized_keys') {
      for (const key of issue.keys) problems.push(locator.problem(path, `unknown key \`${key}\``, key));
    } else {
      problems.push(locator.problem(path, issue.message));
    }
  }
  return problems;
}

/** Parses YAML or JSON text; bad syntax throws a ScenarioError with every located problem. */
export function parseLocated(text: string, file: string): { raw: unknown; locator: Locator } {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    throw new ScenarioError(
      doc.errors.slice(0, limits.problemsPerFileMax).map((error) => {
        const { line, col } = lines.linePos(error.pos[0]);
        return { file, line, column: col, pointer: '', message: `not valid YAML: ${error.message.split('\n')[0]}` };
      }),
    );
  }
  return { raw: doc.toJS() as unknown, locator: new Locator(file, doc, lines) };
}

/** Parses text and validates it with `schema`, or throws a ScenarioError listing every problem. */
export function parseWith<T>(schema: z.ZodType<T>, text: string, file: string): T {
  const { raw, locator } = parseLocated(text, file);
  const parsed = schema.safeParse(raw);
  if (!parsed.success)
    throw new ScenarioError(zodProblems(locator, [], parsed.error).slice(0, limits.problemsPerFileMax));
  return parsed.data;
}
