/**
 * `fedsim view <trace>` and `fedsim export --format mermaid|shiviz <trace>`. A trace that does not
 * parse (or whose sha256 does not match) is a usage error naming the file and line.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { UsageError } from '../core/errors.js';
import { exportMermaid } from '../trace/export-mermaid.js';
import { exportShiviz } from '../trace/export-shiviz.js';
import { readTrace, type Trace } from '../trace/reader.js';
import { serveViewer } from '../view/server.js';

function loadTrace(path: string): Trace {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch {
    throw new UsageError(`no trace file at ${path}`);
  }
  const result = readTrace(text);
  if (!result.ok) throw new UsageError(`${path}: ${result.error.message}`);
  return result.value;
}

export async function viewCommand(tracePath: string, port: number): Promise<number> {
  loadTrace(tracePath);
  const server = await serveViewer({ tracePath, port });
  console.log(`fedsim: viewing ${tracePath}`);
  console.log(`fedsim: open ${server.url}`);
  console.log('fedsim: press Ctrl-C to stop');
  await new Promise<void>((resolve) => {
    process.once('SIGINT', resolve);
    process.once('SIGTERM', resolve);
  });
  await server.close();
  return 0;
}

export function exportCommand(tracePath: string, format: 'mermaid' | 'shiviz', out?: string): number {
  const trace = loadTrace(tracePath);
  const text = format === 'mermaid' ? exportMermaid(trace) : exportShiviz(trace);
  if (out) writeFileSync(out, text);
  else process.stdout.write(text);
  return 0;
}
