// Goal: the model the loader worker builds on its fallback path (parse.ts: send and receive lines
// read by their head only; the model packed into columns and unpacked on the page, the events kept
// as text) is the model the page builds from fully parsed events, field by field, with and without
// the protocols' names. (The worker's fast path, viz/columns.ts, is checked in columns.test.ts.)
// Method: the Poe/Lenore fixture and synthetic traces of a few seeds, both ways; then every event
// read back from the text (as a string and as UTF-8 bytes) equals its parse.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { syntheticTraceText } from '../../src/trace/synthetic.js';
import { buildModel, packModel, TraceEvents, unpackModel } from '../../viz/model.js';
import type { MessageNames } from '../../viz/model.js';
import { parseTraceText, TraceStreamParser } from '../../viz/parse.js';
import { comparable, namesOf } from '../support/viz-model.js';

describe('viz: the worker-built model', () => {
  const traces: [string, string][] = [
    ['poe-lenore', readFileSync(new URL('../fixtures/poe-lenore.trace.ndjson', import.meta.url), 'utf8')],
    ...[1, 2].map((seed): [string, string] => [
      `synthetic seed ${seed}`,
      syntheticTraceText({ seed, events: 3000, nodes: 4 + seed }),
    ]),
  ];

  it.each(traces)('equals the page-built model: %s', async (_name, text) => {
    for (const names of [new Map(), await namesOf(text)] as MessageNames[]) {
      const whole = parseTraceText(text);
      const expected = buildModel(whole.header, whole.events, names);
      const parser = new TraceStreamParser({ skeletons: true });
      for (let at = 0; at < text.length; at += 4099) parser.push(text.slice(at, at + 4099));
      const parsed = parser.finish();
      expect(parsed.warnings).toEqual(whole.warnings);
      const starts = Float64Array.from(parser.starts);
      const ends = Float64Array.from(parser.ends);
      const { packed } = packModel(buildModel(parsed.header, parsed.events, names));
      const unpacked = unpackModel(structuredClone(packed), TraceEvents.lines(text, starts, ends), names);
      expect(comparable(unpacked)).toEqual(comparable(expected));
      const bytes = TraceEvents.lines(new TextEncoder().encode(text), starts, ends);
      for (let index = 0; index < whole.events.length; index++) {
        expect(unpacked.events.at(index)).toEqual(whole.events[index]);
        expect(bytes.at(index)).toEqual(whole.events[index]);
      }
    }
  });

  it('reads synthetic send and receive lines by their head, and a damaged one as a note', () => {
    const text = syntheticTraceText({ seed: 3, events: 500, nodes: 3 });
    const parser = new TraceStreamParser({ skeletons: true });
    parser.push(text);
    const parsed = parser.finish();
    const heads = parsed.events.filter((event) => event.constructor.name === 'MessageSkeleton');
    expect(heads.length).toBeGreaterThan(200); // The fast path is taken for the usual lines.
    const lines = text.split('\n');
    const index = lines.findIndex((line) => line.includes('"kind":"send"'));
    lines[index] = (lines[index] as string).replace('"decoded":{', '"decoded":{,');
    const damaged = lines.join('\n');
    const again = new TraceStreamParser({ skeletons: true });
    again.push(damaged);
    again.finish();
    const events = TraceEvents.lines(damaged, Float64Array.from(again.starts), Float64Array.from(again.ends));
    const event = events.at(index - 1); // Line 1 is the header.
    expect(event.kind).toBe('note');
    expect(event.seq).toBe(index);
  });
});
