/**
 * YAML (and JSON) input with source positions, so that every problem in a user's file can be
 * reported as `file:line:col: field: message`. Shared by scenario files and `fedsim serve` configs.
 */
import {
  isCollection,
  isMap,
  isPair,
  LineCounter,
  parseDocument,
  visit,
  type Document,
  type Node as YamlNode,
} from 'yaml';
import type { z } from 'zod';
import { ScenarioError, type Problem } from '../core/errors.js';
import { limits } from '../core/limits.js';

type Path = readonly PropertyKey[];

/** Longest text of a message taken from the input (a key, a YAML error), so a bad file cannot flood the terminal. */
const echoCharsMax = 160;

/**
 * Makes text from a user's file safe to print on one line: control characters, lone surrogates
 * and other unprintables become `\u{..}` escapes, and long text is cut.
 */
export function printable(text: string): string {
  const escaped = text.replace(
    /[\p{Cc}\p{Cf}\p{Cs}\p{Zl}\p{Zp}\ufffd]/gu,
    (char) => `\\u{${(char.codePointAt(0) ?? 0).toString(16)}}`,
  );
  return escaped.length > echoCharsMax ? `${escaped.slice(0, echoCharsMax)}...` : escaped;
}

/** `['steps', 2, 'atMs']` -> `steps[2].atMs` */
export function fieldName(path: Path): string {
  let out = '';
  for (const part of path) {
    if (typeof part === 'number') out += `[${part}]`;
    else out += out === '' ? String(part) : `.${String(part)}`;
  }
  return out === '' ? '(file)' : out;
}

/** Where a problem is: a Locator, or (for sources fedsim generated) one that defers to the text. */
export interface ProblemLocator {
  problem(path: Path, message: string, key?: string): Problem;
}

export class Locator implements ProblemLocator {
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
    const field = printable(fieldName(key === undefined ? path : [...path, key]));
    return { file: this.file, line, column: col, pointer: field, message: `${field}: ${printable(message)}` };
  }
}

export function zodProblems(locator: ProblemLocator, base: Path, error: z.ZodError): Problem[] {
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

function problemAt(file: string, lines: LineCounter, offset: number, message: string): Problem {
  const { line, col } = lines.linePos(offset);
  return { file, line, column: col, pointer: '', message: printable(message) };
}

/** The first line of a YAML error; the parser's own stack overflow (from deep flow nesting) said plainly. */
function yamlReason(message: string): string {
  if (/maximum call stack/i.test(message))
    return `nested too deeply to parse (limits.yamlDepthMax is ${limits.yamlDepthMax})`;
  return message.split('\n')[0] ?? '';
}

/** The first node nested deeper than limits.yamlDepthMax, walked without recursion, or undefined. */
function tooDeep(doc: Document): YamlNode | undefined {
  const stack: { node: unknown; depth: number }[] = [{ node: doc.contents, depth: 1 }];
  while (stack.length > 0) {
    const { node, depth } = stack.pop() ?? { node: undefined, depth: 0 };
    if (!isCollection(node)) continue;
    if (depth > limits.yamlDepthMax) return node;
    for (const item of node.items) {
      if (isPair(item)) {
        stack.push({ node: item.key, depth: depth + 1 });
        stack.push({ node: item.value, depth: depth + 1 });
      } else stack.push({ node: item, depth: depth + 1 });
    }
  }
  return undefined;
}

/** Where the document's first alias is, for a conversion that aliases made too large. */
function firstAliasOffset(doc: Document): number {
  let offset = 0;
  visit(doc, {
    Alias(_key, node) {
      offset = node.range?.[0] ?? 0;
      return visit.BREAK;
    },
  });
  return offset;
}

/**
 * Parses YAML or JSON text; bad syntax, nesting deeper than limits.yamlDepthMax and aliases that
 * expand past limits.yamlAliasCountMax throw a ScenarioError with every located problem. Nothing
 * from the input is echoed unescaped.
 */
export function parseLocated(text: string, file: string): { raw: unknown; locator: Locator } {
  const lines = new LineCounter();
  let doc: Document;
  try {
    doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  } catch (error) {
    // The parser reports its own failures in doc.errors; this is for whatever it did not foresee.
    throw new ScenarioError([problemAt(file, lines, 0, `not valid YAML: ${String(error).split('\n')[0]}`)]);
  }
  if (doc.errors.length > 0) {
    throw new ScenarioError(
      doc.errors
        .slice(0, limits.problemsPerFileMax)
        .map((error) => problemAt(file, lines, error.pos[0], `not valid YAML: ${yamlReason(error.message)}`)),
    );
  }
  const deep = tooDeep(doc);
  if (deep !== undefined) {
    throw new ScenarioError([
      problemAt(
        file,
        lines,
        deep.range?.[0] ?? 0,
        `nested more than ${limits.yamlDepthMax} levels deep (limits.yamlDepthMax)`,
      ),
    ]);
  }
  let raw: unknown;
  try {
    raw = doc.toJS({ maxAliasCount: limits.yamlAliasCountMax }) as unknown;
  } catch (error) {
    const why = error instanceof Error ? error.message : String(error);
    const message = /alias/i.test(why)
      ? `aliases expand too far (more than ${limits.yamlAliasCountMax} times; limits.yamlAliasCountMax)`
      : `cannot convert the YAML: ${why.split('\n')[0]}`;
    throw new ScenarioError([problemAt(file, lines, firstAliasOffset(doc), message)]);
  }
  return { raw, locator: new Locator(file, doc, lines) };
}

/** Parses text and validates it with `schema`, or throws a ScenarioError listing every problem. */
export function parseWith<T>(schema: z.ZodType<T>, text: string, file: string): T {
  const { raw, locator } = parseLocated(text, file);
  const parsed = schema.safeParse(raw);
  if (!parsed.success)
    throw new ScenarioError(zodProblems(locator, [], parsed.error).slice(0, limits.problemsPerFileMax));
  return parsed.data;
}
