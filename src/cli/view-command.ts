/**
 * `fedsim view <trace>` and `fedsim export --format mermaid|shiviz|svg|png <trace>`. A trace that
 * does not parse (or whose sha256 does not match) is a usage error naming the file and line.
 *
 * SVG and PNG are drawn by the viewer itself (the same drawing code as on screen and its export
 * buttons), in headless Chromium driven by playwright-core: the whole trace, in the story view
 * unless `details` unfolds every lane.
 */
import { readFileSync, writeFileSync } from 'node:fs';
import { UsageError } from '../core/errors.js';
import { loadPlugin, protocolNamed } from '../protocols/registry.js';
import { exportMermaid } from '../trace/export-mermaid.js';
import { exportShiviz } from '../trace/export-shiviz.js';
import { readTrace, type Trace } from '../trace/reader.js';
import { serveViewer } from '../view/server.js';
import { messageNames } from '../view/names.js';

export type ExportFormat = 'mermaid' | 'shiviz' | 'svg' | 'png';

export interface ExportOptions {
  readonly out?: string;
  /** Mermaid: notes for state changes (default true). */
  readonly stateNotes?: boolean;
  /** Mermaid: events shown before the cut. */
  readonly eventsMax?: number;
  /** SVG/PNG: unfold every lane's details (states, DNS, connections, notes). */
  readonly details?: boolean;
  /** SVG/PNG: the picture's width in CSS pixels. */
  readonly width?: number;
}

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

/**
 * Loads the plugin modules the trace header names (`plugins`) that are not registered yet (none
 * given with --plugin), so that their messages get their protocol's names. One that cannot be
 * loaded only costs the names: a warning says how to give it.
 */
export async function loadTracePlugins(trace: Trace): Promise<void> {
  for (const [name, where] of Object.entries(trace.header.plugins ?? {})) {
    if (protocolNamed(name) !== undefined) continue;
    try {
      await loadPlugin(where);
    } catch (error) {
      const reason = error instanceof Error ? error.message.split('\n')[0] : String(error);
      console.error(
        `fedsim: messages of ${name} are shown unnamed: its plugin ${where} did not load (${reason}); give it with --plugin`,
      );
    }
  }
}

export async function viewCommand(tracePath: string, port: number): Promise<number> {
  await loadTracePlugins(loadTrace(tracePath));
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

export async function exportCommand(
  tracePath: string,
  format: ExportFormat,
  options: ExportOptions = {},
): Promise<number> {
  const trace = loadTrace(tracePath);
  await loadTracePlugins(trace);
  if (format === 'svg' || format === 'png') {
    const picture = await exportPicture(tracePath, format, options);
    if (options.out) writeFileSync(options.out, picture);
    else process.stdout.write(picture);
    return 0;
  }
  const text =
    format === 'mermaid'
      ? exportMermaid(trace, {
          names: messageNames(trace),
          stateNotes: options.stateNotes ?? true,
          ...(options.eventsMax === undefined ? {} : { eventsMax: options.eventsMax }),
          onTruncated: (shown, total) =>
            console.error(
              `fedsim: export: the Mermaid diagram shows the first ${shown} of ${total} events (every violation is kept); --events-max raises the limit`,
            ),
        })
      : exportShiviz(trace);
  if (options.out) writeFileSync(options.out, text);
  else process.stdout.write(text);
  return 0;
}

/** The whole trace drawn by the viewer in headless Chromium, as SVG text or PNG bytes. */
async function exportPicture(
  tracePath: string,
  format: 'svg' | 'png',
  options: ExportOptions,
): Promise<string | Buffer> {
  const { chromiumAvailable, chromiumPath, launchChromium } = await import('../bench/viewer.js');
  if (!chromiumAvailable())
    throw new UsageError(
      `export --format ${format} draws in Chromium, and ${chromiumPath} is absent (apt-get install chromium)`,
    );
  const server = await serveViewer({ tracePath });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: options.width ?? 1400, height: 900 } });
    await page.goto(server.url);
    await page.waitForFunction(() => window.__fedsimViewer?.ready === true || window.__fedsimViewer?.error, undefined, {
      timeout: 120_000,
    });
    const error = await page.evaluate(() => window.__fedsimViewer?.error ?? null);
    if (error !== null) throw new UsageError(`${tracePath}: ${error}`);
    if (options.details === true) await page.locator('#unfold-all').click();
    if (format === 'svg') return await page.evaluate(() => window.__fedsimViewer?.svgText('whole') ?? '');
    const url = await page.evaluate(() => window.__fedsimViewer?.pngDataUrl('whole') ?? '');
    return Buffer.from(url.replace(/^data:image\/png;base64,/, ''), 'base64');
  } finally {
    await browser.close();
    await server.close();
  }
}
