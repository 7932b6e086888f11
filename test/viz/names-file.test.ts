// Goal: names.json computed from a trace file's send lines alone (what `fedsim view` serves) is
// the same as the names computed from the whole trace read and validated.
// Method: the Poe/Lenore fixture and a synthetic trace, both ways, compared as text.
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { readTrace } from '../../src/trace/reader.js';
import { syntheticTraceText } from '../../src/trace/synthetic.js';
import { messageNames, namesJson, namesOfFile } from '../../src/view/names.js';

const fixture = fileURLToPath(new URL('../fixtures/poe-lenore.trace.ndjson', import.meta.url));

function namesOfText(text: string): string {
  const result = readTrace(text);
  if (!result.ok) throw new Error(result.error.message);
  return namesJson(messageNames(result.value));
}

describe('view: names.json from the send lines', () => {
  it('equals the names of the whole trace, for Poe/Lenore and a synthetic trace', async () => {
    const poe = await namesOfFile(fixture);
    expect(poe).toBe(namesOfText(readFileSync(fixture, 'utf8')));
    expect(Object.keys((JSON.parse(poe) as { names: object }).names).length).toBeGreaterThan(5);
    const directory = mkdtempSync(join(tmpdir(), 'fedsim-names-'));
    try {
      const text = syntheticTraceText({ seed: 2, events: 3000, nodes: 4 });
      writeFileSync(join(directory, 'trace.ndjson'), text);
      const synthetic = await namesOfFile(join(directory, 'trace.ndjson'));
      expect(synthetic).toBe(namesOfText(text));
      expect(Object.keys((JSON.parse(synthetic) as { names: object }).names).length).toBeGreaterThan(500);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
