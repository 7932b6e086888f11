import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { processProtocolDoc } from '../../src/process/doc.js';

describe('docs/process-nodes.md', () => {
  it('is what the process protocol schemas give (regenerate: npx tsx scripts/process-doc.ts)', () => {
    const committed = readFileSync(new URL('../../docs/process-nodes.md', import.meta.url), 'utf8');
    expect(committed).toBe(processProtocolDoc());
  });
  it('documents every input and output kind', () => {
    const doc = processProtocolDoc();
    for (const kind of ['start', 'conn.data', 'timer', 'store.value', 'write', 'timer.set', 'store.get', 'end'])
      expect(doc).toContain(`### \`${kind}\``);
  });
});
