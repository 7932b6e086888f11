/**
 * Writes docs/process-nodes.md from the process protocol's schemas (src/process/doc.ts).
 * Run after changing src/process/schema.ts: `npx tsx scripts/process-doc.ts`.
 */
import { writeFileSync } from 'node:fs';
import { processProtocolDoc } from '../src/process/doc.js';

writeFileSync(new URL('../docs/process-nodes.md', import.meta.url), processProtocolDoc());
console.log('wrote docs/process-nodes.md');
