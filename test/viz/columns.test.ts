// Goal: the loader's byte-level parser (viz/columns.ts) gives the model the page's parser gives
// (parse.ts and buildModel) on every trace: field by field, with the same warnings and events read
// back from the same lines; and on any line it does not take (not JSON, a field of another type,
// an escaped key...) it gives up, so that parse.ts reads the trace and names the bad line.
// Method: every bundled scenario's trace, fuzz counterexamples (canary runs of three protocols),
// Poe/Lenore and synthetic traces, with and without the protocols' names, whole and fed in
// chunks; then lines garbled by fast-check (a character deleted, inserted or doubled, a value
// replaced, whitespace, escapes, non-ASCII text), each compared with parse.ts's verdict.
import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { fuzzProfileNamed } from '../../src/fuzz/profiles/index.js';
import { runOne } from '../../src/fuzz/run-one.js';
import { loadScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/scenario/run.js';
import { syntheticTraceText } from '../../src/trace/synthetic.js';
import { buildPackedModel, scanTrace, TraceScanner } from '../../viz/columns.js';
import { buildModel, packModel, TraceEvents, unpackModel } from '../../viz/model.js';
import type { MessageNames } from '../../viz/model.js';
import { parseTraceText, TraceParseError } from '../../viz/parse.js';
import { scenarioFiles } from '../../src/cli/run.js';
import { comparable, namesOf } from '../support/viz-model.js';

const encoder = new TextEncoder();

/**
 * What the fast path says of `text`: undefined when it gives up; else its model, checked equal to
 * parse.ts's and buildModel's (which must then not throw).
 */
function compare(text: string, names: MessageNames, chunk?: number): boolean {
  const bytes = encoder.encode(text);
  let scanned;
  if (chunk === undefined) scanned = scanTrace(bytes);
  else {
    const scanner = new TraceScanner(bytes);
    for (let filled = chunk; filled < bytes.length; filled += chunk) scanner.feed(filled);
    scanned = scanner.finish();
  }
  if (scanned === undefined) return false;
  const whole = parseTraceText(text);
  const expected = buildModel(whole.header, whole.events, names);
  const { packed, transfer } = buildPackedModel(scanned, names);
  // What the page receives: the transferred columns, the rest cloned.
  const received = structuredClone(packed, { transfer });
  const events = TraceEvents.lines(bytes, scanned.starts, scanned.ends);
  const model = unpackModel(received, events, names);
  expect(comparable(model)).toEqual(comparable(expected));
  expect(received).toEqual(structuredClone(packModel(expected).packed));
  expect(scanned.warnings).toEqual(whole.warnings);
  expect(scanned.end).toEqual(whole.end);
  expect(new TextDecoder().decode(bytes.subarray(0, scanned.hashedLength))).toBe(text.slice(0, whole.hashedLength));
  expect(scanned.count).toBe(whole.events.length);
  for (let index = 0; index < whole.events.length; index++) expect(events.at(index)).toEqual(whole.events[index]);
  return true;
}

const poeLenore = readFileSync(new URL('../fixtures/poe-lenore.trace.ndjson', import.meta.url), 'utf8');
const synthetic = syntheticTraceText({ seed: 4, events: 2000, nodes: 5 });
const small = syntheticTraceText({ seed: 5, events: 300, nodes: 4 });

describe('viz: the byte-level columnar parser', () => {
  it('gives the page parser’s model on every bundled scenario’s trace', async () => {
    const files = scenarioFiles(['scenarios']);
    expect(files.length).toBeGreaterThan(50);
    for (const file of files) {
      const text = runScenario(loadScenario(file)).trace.text();
      for (const names of [new Map(), await namesOf(text)] as MessageNames[])
        expect(compare(text, names), `${file}: the fast path gave up`).toBe(true);
    }
  }, 300_000);

  it.each([
    ['f140', 'duplicate'],
    ['ambrosia', 'drop'],
    ['bester', 'forge'],
  ] as const)(
    'gives it on a fuzz counterexample: %s %s canary',
    async (protocol, canary) => {
      const profile = fuzzProfileNamed(protocol);
      if (profile === undefined) throw new Error(`no profile ${protocol}`);
      let trace: string | undefined;
      for (let seed = 1; seed <= 8 && trace === undefined; seed++)
        trace = runOne(profile, seed, { canary }).failure?.trace;
      if (trace === undefined) throw new Error(`${protocol} ${canary}: no counterexample in seeds 1..8`);
      for (const names of [new Map(), await namesOf(trace)] as MessageNames[]) expect(compare(trace, names)).toBe(true);
    },
    120_000,
  );

  it('gives it on Poe/Lenore and synthetic traces, whole and fed in chunks', async () => {
    for (const text of [poeLenore, synthetic, syntheticTraceText({ seed: 9, events: 3000, nodes: 13 })]) {
      const names = await namesOf(text);
      for (const chunk of [undefined, 1, 4099, 65536]) expect(compare(text, names, chunk)).toBe(true);
      expect(compare(text, new Map(), 777)).toBe(true);
    }
    // A trace cut short, a blank line, no final newline, lines after the end line.
    const lines = synthetic.split('\n');
    for (const variant of [
      lines.slice(0, 900).join('\n'),
      [...lines.slice(0, 40), '', ...lines.slice(40)].join('\n'),
      synthetic.trimEnd(),
      `${synthetic}{"seq":1}\n`,
    ])
      expect(compare(variant, new Map())).toBe(true);
  });

  /** An event line of `text` garbled by one of several edits. */
  const garble = fc.record({
    line: fc.nat(),
    at: fc.nat(),
    edit: fc.constantFrom('delete', 'insert', 'double', 'value', 'space', 'escape', 'unicode', 'key'),
    char: fc.constantFrom(...'"{}[],:\\ \t\r0123456789.-eE+aztfnu/é\u2028'.split('')),
    value: fc.constantFrom('null', 'true', '1.5e3', '-0', '"x"', '[]', '{}', '"sim"', '"a\\"b"', '"\\u00e9"', '"é"'),
  });
  function applyGarble(
    text: string,
    { line, at, edit, char, value }: { line: number; at: number; edit: string; char: string; value: string },
  ): string {
    const lines = text.split('\n');
    const index = 1 + (line % (lines.length - 2));
    const original = lines[index] as string;
    const position = at % (original.length + 1);
    let changed: string;
    switch (edit) {
      case 'delete':
        changed = original.slice(0, position) + original.slice(position + 1);
        break;
      case 'insert':
        changed = original.slice(0, position) + char + original.slice(position);
        break;
      case 'double': {
        const colon = original.indexOf(':', position);
        const comma = original.lastIndexOf(',', position);
        // A field again at the end: JSON.parse keeps the last.
        const field = comma >= 0 && colon > comma ? original.slice(comma + 1, original.indexOf(',', colon)) : '';
        changed = field === '' || !field.startsWith('"') ? original : `${original.slice(0, -1)},${field}}`;
        break;
      }
      case 'value': {
        const colon = original.indexOf(':', position);
        const stop = original.indexOf(',', colon);
        changed = colon < 0 || stop < 0 ? original : `${original.slice(0, colon + 1)}${value}${original.slice(stop)}`;
        break;
      }
      case 'space':
        changed = original.replace(/,/g, (comma, offset: number) => (offset >= position ? ` ${comma}\t` : comma));
        break;
      case 'escape': {
        // A string's character written as \u00XX.
        const quote = original.indexOf('"', position);
        const next = original[quote + 1];
        changed =
          quote < 0 || next === undefined || next === '"' || next === '\\'
            ? original
            : `${original.slice(0, quote + 1)}\\u00${next.charCodeAt(0).toString(16).padStart(2, '0')}${original.slice(quote + 2)}`;
        break;
      }
      case 'unicode':
        changed = original.replace(/"node":"([^"]*)"/, `"node":"$1${char}"`).replace(/"to":"/, `"to":"ü`);
        break;
      default:
        // A nested field named as a top-level one (`"kind"` inside the payload), or a key renamed.
        changed = original.replace('"decoded":{', '"decoded":{"kind":"x",').replace('"lamport"', '"seq"');
    }
    lines[index] = changed;
    return lines.join('\n');
  }

  it('gives it, or gives up, on garbled lines; a bad line is named by parse.ts', () => {
    let taken = 0;
    let givenUp = 0;
    fc.assert(
      fc.property(fc.constantFrom(poeLenore, small), garble, (text, change) => {
        const garbled = applyGarble(text, change);
        let error: unknown;
        try {
          parseTraceText(garbled);
        } catch (caught) {
          error = caught;
        }
        const fast = scanTrace(encoder.encode(garbled));
        if (error !== undefined) {
          // Not JSON, or not an event: the fast path gives up and parse.ts names the line.
          expect(fast).toBeUndefined();
          expect(error).toBeInstanceOf(TraceParseError);
          expect((error as Error).message).toMatch(/^line \d+: /);
          givenUp += 1;
          return;
        }
        if (compare(garbled, new Map())) taken += 1;
        else givenUp += 1;
      }),
      { seed: 24, numRuns: 300 },
    );
    // Both sides were exercised.
    expect(taken).toBeGreaterThan(50);
    expect(givenUp).toBeGreaterThan(50);
  }, 120_000);

  it('gives up on what it does not know, and parse.ts reports it as before', () => {
    const lines = poeLenore.split('\n');
    const event = lines.findIndex((line) => line.includes('"kind":"send"'));
    const cases: [string, RegExp | undefined][] = [
      ['', /^line 1: the trace is empty/],
      [`{"format":"other"}\n${lines.slice(1).join('\n')}`, /^line 1: not a fedsim trace header/],
      [lines.map((line, index) => (index === event ? `${line},` : line)).join('\n'), /^line \d+: not JSON/],
      [lines.map((line, index) => (index === event ? '[1,2]' : line)).join('\n'), /^line \d+: an event needs/],
      [
        lines.map((line, index) => (index === event ? line.replace(/"seq":\d+/, '"seq":"1"') : line)).join('\n'),
        /an event needs/,
      ],
      [lines.map((line, index) => (index === event ? ` ${line}` : line)).join('\n'), undefined],
      [poeLenore.replaceAll('\n', '\r\n'), undefined],
    ];
    for (const [text, error] of cases) {
      expect(scanTrace(encoder.encode(text))).toBeUndefined();
      if (error === undefined) expect(() => parseTraceText(text)).not.toThrow();
      else expect(() => parseTraceText(text)).toThrow(error);
    }
  });
});
