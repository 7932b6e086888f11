/**
 * The viewer benchmark: serves a 100,000-event synthetic trace with `serveViewer`, opens it in
 * headless Chromium (Debian's, driven by playwright-core), and reads from the page's test hook
 * the time to first render (navigation start to the end of the first frame: fetch, parse, model,
 * layout, draw) and the mean frame time of a pan, drawn synchronously frame by frame.
 *
 * Wall clock is allowed here (bench/ is outside the simulated code). It writes only a temporary
 * trace file, which it removes.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import type { Browser } from 'playwright-core';
import { serveViewer } from '../view/server.js';
import { syntheticTraceText } from '../trace/synthetic.js';

/** Debian's chromium, which `.ci/run` installs when missing. */
export const chromiumPath = '/usr/bin/chromium';

export function chromiumAvailable(): boolean {
  return existsSync(chromiumPath);
}

/** Headless Chromium as root on a closed network: no sandbox, no GPU, no background traffic. */
export function launchChromium(): Promise<Browser> {
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Pan steps the benchmark draws; enough for a stable mean on a shared 2-core machine. */
const panFrames = 120;

export async function benchViewer(): Promise<{
  firstRenderMs: number;
  panFrameMs: number;
  events: number;
  /** One frame of the whole trace fitted on screen (every arrow visible). */
  overviewFrameMs: number;
}> {
  const events = 100_000;
  const directory = await mkdtemp(join(tmpdir(), 'fedsim-bench-viewer-'));
  const tracePath = join(directory, 'synthetic-100k.trace.ndjson');
  await writeFile(tracePath, syntheticTraceText({ seed: 1, events, nodes: 12 }));
  const server = await serveViewer({ tracePath });
  const browser = await launchChromium();
  try {
    const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
    await page.goto(server.url);
    await page.waitForFunction(() => window.__fedsimViewer?.ready === true, undefined, { timeout: 120_000 });
    const result = await page.evaluate((frames) => {
      const hook = window.__fedsimViewer;
      if (hook === undefined) throw new Error('no viewer hook');
      const pan = hook.panBench(frames, 40);
      hook.fit();
      return {
        firstRenderMs: hook.firstRenderMs,
        panFrameMs: pan.meanMs,
        events: hook.events,
        overviewFrameMs: hook.lastFrameMs,
      };
    }, panFrames);
    return result;
  } finally {
    await browser.close();
    await server.close();
    await rm(directory, { recursive: true, force: true });
  }
}
