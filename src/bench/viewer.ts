/**
 * The viewer benchmark: serves a 100,000-event synthetic trace with `serveViewer`, opens it in
 * headless Chromium (Debian's, driven by playwright-core), and reads from the page's test hook
 * the time to first render (navigation start to the end of the first frame, drawn from the first
 * events while the rest still streams in), the time to the whole trace drawn (fetch, parse, model,
 * layout, draw of all of it) and the median frame times of a pan, of a zoom out and back in, and of a fit (the
 * whole trace on screen), each frame drawn synchronously. The page is opened `loads` times (3 by
 * default) and the median of the runs is reported, the goals being a first render under 1 s and every
 * frame under 50 ms.
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

const median = (values: readonly number[]): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[sorted.length >> 1] ?? Number.NaN;
};

/** Zoom factors the zoom frames step through: out to the whole trace and back. */
const zoomSteps = [0.5, 0.25, 0.1, 0.05, 0.02, 0.01, 0.02, 0.05, 0.1, 0.25, 0.5, 1];

export async function benchViewer(loads = 3): Promise<{
  firstRenderMs: number;
  /** Navigation start to the first frame of the whole trace (-1 from a viewer that draws no preview). */
  loadedMs: number;
  /** Median frame while panning. */
  panFrameMs: number;
  /** Median frame while zooming out to the whole trace and back. */
  zoomFrameMs: number;
  events: number;
  /** Median frame of the whole trace fitted on screen (every arrow visible). */
  overviewFrameMs: number;
}> {
  const events = 100_000;
  const directory = await mkdtemp(join(tmpdir(), 'fedsim-bench-viewer-'));
  const tracePath = join(directory, 'synthetic-100k.trace.ndjson');
  await writeFile(tracePath, syntheticTraceText({ seed: 1, events, nodes: 12 }));
  const server = await serveViewer({ tracePath });
  const browser = await launchChromium();
  try {
    const runs: {
      firstRenderMs: number;
      loadedMs: number;
      panFrameMs: number;
      zoomFrameMs: number;
      overviewFrameMs: number;
      events: number;
    }[] = [];
    for (let run = 0; run < loads; run++) {
      const page = await browser.newPage({ viewport: { width: 1400, height: 900 } });
      await page.goto(server.url);
      await page.waitForFunction(() => window.__fedsimViewer?.ready === true, undefined, { timeout: 120_000 });
      runs.push(
        await page.evaluate(
          ({ frames, steps }) => {
            const hook = window.__fedsimViewer;
            if (hook === undefined) throw new Error('no viewer hook');
            const middle = (values: number[]): number => values.sort((a, b) => a - b)[values.length >> 1] ?? NaN;
            const pan: number[] = [];
            for (let frame = 0; frame < frames; frame++) pan.push(hook.panBench(1, 40).meanMs);
            const zoom: number[] = [];
            for (const k of steps) {
              hook.zoomTo(k);
              zoom.push(hook.lastFrameMs);
            }
            const fit: number[] = [];
            for (let frame = 0; frame < 5; frame++) {
              hook.zoomTo(1);
              hook.fit();
              fit.push(hook.lastFrameMs);
            }
            return {
              firstRenderMs: hook.firstRenderMs,
              loadedMs: (hook as { loadedMs?: number }).loadedMs ?? hook.firstRenderMs,
              panFrameMs: middle(pan),
              zoomFrameMs: middle(zoom),
              overviewFrameMs: middle(fit),
              events: hook.events,
            };
          },
          { frames: panFrames, steps: zoomSteps },
        ),
      );
      await page.close();
    }
    return {
      firstRenderMs: median(runs.map((run) => run.firstRenderMs)),
      loadedMs: median(runs.map((run) => run.loadedMs)),
      panFrameMs: median(runs.map((run) => run.panFrameMs)),
      zoomFrameMs: median(runs.map((run) => run.zoomFrameMs)),
      overviewFrameMs: median(runs.map((run) => run.overviewFrameMs)),
      events: runs[0]?.events ?? 0,
    };
  } finally {
    await browser.close();
    await server.close();
    await rm(directory, { recursive: true, force: true });
  }
}
