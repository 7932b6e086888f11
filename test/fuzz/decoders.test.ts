// Goal: every protocol decoder, fed any bytes a peer could send, returns (a value or a typed wire
// error) without throwing, and what it returns stays within a size bound linear in its input (a
// decoder that loops or amplifies its input shows there; a hang, which returns nothing, hits the
// test's timeout). No wall-clock bound: performance is measured in the bench, never asserted here.
// Method: one shared harness (src/fuzz/decoders.ts) over every decoder; a corpus of real traffic
// per protocol (the payloads in the traces of the bundled scenarios), then fast-check feeds random
// bytes and mutations of that traffic (flip, insert, delete, truncate, splice), split in two
// chunks at a random point. Fixed numRuns and seed; fast-check prints seed and path on failure.
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { decoders, type DecoderEntry } from '../../src/fuzz/decoders.js';
import { loadScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/scenario/run.js';

/**
 * What a decoder returns, serialized, is at most this many characters per input byte plus
 * `outputBase` (a byte array counts as its length).
 */
const outputPerByteMax = 16;
const outputBase = 1024;
const numRuns = 300;

/** The length of `value` as JSON, a byte array counted as one character per byte. */
function outputSize(value: unknown): number {
  const text = JSON.stringify(value, (_key, item: unknown) => {
    if (item instanceof Uint8Array) return '.'.repeat(item.length);
    if (typeof item === 'bigint') return item.toString();
    if (item instanceof Error) return { name: item.name, message: item.message };
    return item;
  });
  return text?.length ?? 0;
}

function corpusOf(protocol: string): Uint8Array[] {
  const directory = join('scenarios', protocol);
  const files = readdirSync(directory)
    .filter((name) => name.endsWith('.yaml'))
    .sort()
    .slice(0, 3);
  const corpus: Uint8Array[] = [];
  for (const file of files) {
    const report = runScenario(loadScenario(join(directory, file)));
    for (const event of report.trace.events) {
      if (event.kind === 'send' && event.payload.size > 0) corpus.push(Buffer.from(event.payload.base64, 'base64'));
    }
  }
  return corpus.slice(0, 200);
}

function mutated(corpus: readonly Uint8Array[]): fc.Arbitrary<Uint8Array> {
  if (corpus.length === 0) return fc.uint8Array({ maxLength: 256 });
  const sample = fc.constantFrom(...corpus);
  return fc.oneof(
    fc.uint8Array({ maxLength: 512 }),
    sample,
    fc.tuple(sample, fc.nat(), fc.integer({ min: 0, max: 255 })).map(([bytes, at, value]) => {
      const copy = Uint8Array.from(bytes);
      if (copy.length > 0) copy[at % copy.length] = value;
      return copy;
    }),
    fc.tuple(sample, fc.nat()).map(([bytes, at]) => bytes.subarray(0, at % (bytes.length + 1))),
    fc.tuple(sample, fc.nat(), fc.uint8Array({ minLength: 1, maxLength: 16 })).map(([bytes, at, insert]) => {
      const cut = at % (bytes.length + 1);
      return Uint8Array.from([...bytes.subarray(0, cut), ...insert, ...bytes.subarray(cut)]);
    }),
    fc.tuple(sample, sample).map(([a, b]) => Uint8Array.from([...a, ...b])),
  );
}

const byProtocol = new Map<string, DecoderEntry[]>();
for (const entry of decoders) byProtocol.set(entry.protocol, [...(byProtocol.get(entry.protocol) ?? []), entry]);

describe('fuzz: decoders', () => {
  it('lists a decoder for every protocol', () => {
    expect([...byProtocol.keys()].sort()).toEqual(['ambrosia', 'bester', 'echo', 'f140', 'fmtp', 'solec']);
  });

  it.each([...byProtocol.keys()])(
    '%s: random and mutated bytes never throw, and decode to a bounded output',
    (protocol) => {
      const corpus = corpusOf(protocol);
      for (const entry of byProtocol.get(protocol) ?? []) {
        fc.assert(
          fc.property(mutated(corpus), fc.nat(), (bytes, split) => {
            const size = outputSize(entry.decode(bytes, split % (bytes.length + 1)));
            if (size > outputPerByteMax * bytes.length + outputBase)
              throw new Error(`${entry.name} returned ${size} characters of JSON for ${bytes.length} bytes`);
          }),
          { numRuns, seed: 8 },
        );
      }
    },
  );
});
