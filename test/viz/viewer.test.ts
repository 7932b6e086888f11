// Goal: the viewer tells the story at first sight (messages, commands, deliveries, refusals and
// checks in front; states, DNS and connections folded), draws one arrow per message with the
// protocol's name for it, places labels without overlap, opens a counterexample at its violation,
// and every control works when clicked: buttons, links, the overview strip, filters, exports.
// Method: build the viewer, serve traces with serveViewer, drive Debian's Chromium with
// playwright-core, click with the mouse as a user does, read the page's test hook
// (window.__fedsimViewer) and the DOM, and save screenshots to reports/viewer/ for people to look at.
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumAvailable, chromiumPath, launchChromium } from '../../src/bench/viewer.js';
import { buildViewer, serveViewer } from '../../src/view/server.js';
import { exportCommand } from '../../src/cli/view-command.js';
import { loadScenario, parseScenario } from '../../src/scenario/load.js';
import { runScenario } from '../../src/scenario/run.js';
import { syntheticTraceText } from '../../src/trace/synthetic.js';

const fixture = fileURLToPath(new URL('../fixtures/poe-lenore.trace.ndjson', import.meta.url));
const reports = fileURLToPath(new URL('../../reports/viewer/', import.meta.url));
const scenarios = fileURLToPath(new URL('../../scenarios/', import.meta.url));
/** One bundled scenario per protocol, for the overlap and naming tests. */
const perProtocol = [
  'fmtp/poe-lenore',
  'solec/cross-server-message',
  'bester/blog-part1-afrikaans',
  'f140/friends-exchange',
  'ambrosia/seven-steps',
];
const haveChromium = chromiumAvailable();
if (!haveChromium)
  console.warn(`viewer browser tests skipped: ${chromiumPath} is absent (CI installs Debian's chromium)`);

type Hook = NonNullable<Window['__fedsimViewer']>;
type HookData = Omit<
  Hook,
  | 'arrowPoint'
  | 'panBench'
  | 'fit'
  | 'fitReady'
  | 'dropLayers'
  | 'zoomTo'
  | 'selectSeq'
  | 'svgText'
  | 'pngDataUrl'
  | 'labelBoxes'
>;

async function hookOf(page: Page): Promise<HookData> {
  return page.evaluate(() => {
    const {
      arrowPoint: _a,
      panBench: _p,
      fit: _f,
      fitReady: _r,
      dropLayers: _d,
      zoomTo: _z,
      selectSeq: _s,
      svgText: _t,
      pngDataUrl: _u,
      labelBoxes: _l,
      ...data
    } = window.__fedsimViewer as Hook;
    return data;
  });
}

async function open(browser: Browser, url: string, viewport: { width: number; height: number }): Promise<Page> {
  const page = await browser.newPage({ viewport });
  const errors: string[] = [];
  page.on('pageerror', (error) => errors.push(error.message));
  await page.goto(url);
  await page.waitForFunction(() => window.__fedsimViewer?.ready === true || window.__fedsimViewer?.error, undefined, {
    timeout: 120_000,
  });
  expect(errors).toEqual([]);
  expect((await hookOf(page)).error).toBeNull();
  return page;
}

/** Every toolbar control on one line: the toolbar is one control high, and each control is inside the window. */
async function expectToolbarOneLine(page: Page): Promise<void> {
  const boxes = await page.evaluate(() => {
    const toolbar = document.getElementById('toolbar')!.getBoundingClientRect();
    const controls = Array.from(
      document.querySelectorAll('#toolbar button, #toolbar select, #toolbar input, #toolbar a, #toolbar label.button'),
    )
      .map((element) => element.getBoundingClientRect())
      .filter((box) => box.width > 0);
    return {
      toolbar: { height: toolbar.height, width: toolbar.width },
      controls: controls.map((box) => ({ top: box.top, bottom: box.bottom, right: box.right })),
    };
  });
  expect(boxes.controls.length).toBeGreaterThan(14);
  expect(boxes.toolbar.height).toBeLessThan(44);
  const tops = boxes.controls.map((box) => box.top);
  expect(Math.max(...tops) - Math.min(...tops)).toBeLessThan(6);
  for (const box of boxes.controls) expect(box.right).toBeLessThanOrEqual(boxes.toolbar.width);
}

async function labels(page: Page): Promise<ReturnType<Hook['labelBoxes']>> {
  return page.evaluate(() => window.__fedsimViewer!.labelBoxes());
}

/** Poe/Lenore expecting a body that never arrives: a failed expectation. */
function failedTraceText(): string {
  const file = join(scenarios, 'fmtp/poe-lenore.yaml');
  const text = readFileSync(file, 'utf8').replace(
    'delivered: { to: lost@lenore.org, bodies: [Quoth the raven] }',
    'delivered: { to: lost@lenore.org, bodies: [Nevermore] }',
  );
  const report = runScenario(parseScenario(text, file));
  expect(report.verdict).toBe('fail');
  return report.trace.text();
}

async function withTrace(text: string, body: (url: string) => Promise<void>): Promise<void> {
  const directory = mkdtempSync(join(tmpdir(), 'fedsim-viz-'));
  const tracePath = join(directory, 'trace.ndjson');
  writeFileSync(tracePath, text);
  const traceServer = await serveViewer({ tracePath });
  try {
    await body(traceServer.url);
  } finally {
    await traceServer.close();
    rmSync(directory, { recursive: true, force: true });
  }
}

describe.skipIf(!haveChromium)('viz: viewer in headless Chromium', () => {
  let browser: Browser;
  let server: { url: string; close(): Promise<void> };

  beforeAll(async () => {
    mkdirSync(reports, { recursive: true });
    await buildViewer({ force: true }); // Test the current source, not a stale viz/dist.
    server = await serveViewer({ tracePath: fixture });
    browser = await launchChromium();
  });

  afterAll(async () => {
    await browser?.close();
    await server?.close();
  });

  it('opens Poe/Lenore in the story view: the conversation in front, states, DNS and connections folded, one click unfolds', async () => {
    const page = await open(browser, server.url, { width: 1440, height: 900 });
    await page.waitForFunction(() => window.__fedsimViewer?.sha256 !== 'pending');
    let hook = await hookOf(page);
    expect(hook.lanes).toBe(3);
    expect(hook.laneIds).toEqual(['poe.net', 'mail.lenore.org', 'lost.lenore.org', 'DNS']);
    expect(hook.events).toBe(79);
    expect(hook.sha256).toBe('ok');
    expect(hook.arrowsDrawn).toBe(12); // Every message, on screen at once.
    expect(hook.stateLabelsDrawn).toBe(0); // Folded.
    expect(hook.folded).toBeGreaterThan(30);
    expect(hook.rowsOnScreen).toBe(79 - hook.folded); // The whole story fits: the view opens fitted.
    const texts = (await labels(page)).map((label) => label.text);
    expect(texts.some((text) => text.includes('refused'))).toBe(true);
    expect(texts.some((text) => text.startsWith('REDIRECT'))).toBe(true);
    expect(texts.some((text) => text.includes('lost@lenore.org') && text.includes('Nevermore'))).toBe(true); // The delivery.
    expect(texts.some((text) => text.startsWith('▶ lookup'))).toBe(true); // The user's command.
    await expectToolbarOneLine(page);
    await page.screenshot({ path: join(reports, 'poe-lenore.png') });

    await page.locator('#unfold-all').click();
    hook = await hookOf(page);
    expect(hook.folded).toBe(0);
    expect(await page.locator('#unfold-all').textContent()).toBe('story view');
    await page.locator('#fit').click();
    hook = await hookOf(page);
    expect(hook.rowsOnScreen).toBe(79);
    expect(hook.linksDrawn).toBe(12 + 6 + 3 + 1); // Messages, DNS query/answer pairs, accepted connects, the refusal.
    expect(hook.stateLabelsDrawn).toBeGreaterThan(0);
    await page.locator('#unfold-all').click(); // Back to the story.
    expect((await hookOf(page)).stateLabelsDrawn).toBe(0);

    // Per lane: poe.net's button unfolds only poe.net's details.
    const before = (await hookOf(page)).folded;
    const laneButton = page.locator('button.unfold-lane[data-lane="poe.net"]');
    const count = Number(((await laneButton.textContent()) ?? '').replace('+', ''));
    expect(count).toBeGreaterThan(0);
    await laneButton.click();
    expect((await hookOf(page)).folded).toBe(before - count);
    expect(await laneButton.textContent()).toBe('−');
    await laneButton.click();
    expect((await hookOf(page)).folded).toBe(before);
    await page.close();
  });

  it('draws the trace of the real Poe/Lenore scenario with the protocol’s names, one arrow per message', async () => {
    // The scenario's own trace, not the fixture: what fedsim run writes is what the viewer must draw.
    const report = runScenario(loadScenario(join(scenarios, 'fmtp/poe-lenore.yaml')));
    expect(report.verdict).toBe('pass');
    const events = report.trace.events;
    const received = new Set(events.flatMap((e) => (e.kind === 'receive' && e.transport === 'stream' ? [e.msg] : [])));
    await withTrace(report.trace.text(), async (url) => {
      const page = await open(browser, url, { width: 1440, height: 900 });
      await page.locator('#unfold-all').click();
      await page.locator('#fit').click();
      const hook = await hookOf(page);
      expect(hook.laneIds.slice(0, 3)).toEqual(['poe.net', 'mail.lenore.org', 'lost.lenore.org']);
      expect(hook.events).toBe(events.length);
      expect(hook.rowsOnScreen).toBe(events.length);
      expect(hook.arrowsDrawn).toBe(received.size);
      expect(hook.sha256).toBe('ok');
      // Named by FMTP's describe.ts: the OBJECT reply carries the route to port 8000 in its summary.
      const legend = (await page.locator('#legend').textContent()) ?? '';
      expect(legend).toContain('OBJECT (1)');
      await page.locator('#unfold-all').click();
      await page.locator('#fit').click();
      const texts = (await labels(page)).map((label) => label.text);
      expect(texts.some((text) => text.startsWith('OBJECT') && text.includes('lost.lenore.org:8000'))).toBe(true);
      expect(texts.some((text) => text.startsWith('REQUEST') && text.includes('asks for lost@lenore.org'))).toBe(true);
      await page.fill('#search', 'asks for');
      expect(await page.locator('#search-count').textContent()).toBe('2 found'); // REQUEST, sent and received.
      await page.close();
    });
  });

  it('every toolbar control works on click: step, violation, fit, zoom, overview strip, exports, links', async () => {
    await withTrace(failedTraceText(), async (url) => {
      const page = await open(browser, url, { width: 1440, height: 900 });
      let hook = await hookOf(page);
      const violation = hook.violationSeqs[0] as number;
      expect(hook.selectedSeq).toBe(violation); // Opens at the violation.

      await page.locator('#step-prev').click();
      hook = await hookOf(page);
      expect(hook.selectedSeq).toBeLessThan(violation);
      const previous = hook.selectedSeq as number;
      await page.locator('#step-next').click();
      expect((await hookOf(page)).selectedSeq).toBe(violation);
      await page.locator('#step-prev').click();
      expect((await hookOf(page)).selectedSeq).toBe(previous);
      await page.locator('#next-violation').click();
      expect((await hookOf(page)).selectedSeq).toBe(violation);
      // Keys still work after a click (focus goes back to the diagram).
      await page.keyboard.press('ArrowUp');
      expect((await hookOf(page)).selectedSeq).toBe(previous);

      await page.locator('#zoom-in').click();
      const zoomedIn = (await hookOf(page)).k;
      await page.locator('#zoom-out').click();
      expect((await hookOf(page)).k).toBeLessThan(zoomedIn);
      await page.locator('#zoom-in').click();
      await page.locator('#zoom-in').click();
      hook = await hookOf(page);
      expect(hook.rowsOnScreen).toBeLessThan(hook.events - hook.folded);
      await page.locator('#fit').click();
      hook = await hookOf(page);
      expect(hook.rowsOnScreen).toBe(hook.events - hook.folded);

      // The overview strip: zoom in, then click near its bottom and its top.
      await page.locator('#zoom-in').click();
      await page.locator('#zoom-in').click();
      const strip = (await page.locator('#overview').boundingBox())!;
      await page.mouse.click(strip.x + strip.width / 2, strip.y + strip.height - 4);
      const bottomRange = (await hookOf(page)).viewRange;
      await page.mouse.click(strip.x + strip.width / 2, strip.y + 4);
      const topRange = (await hookOf(page)).viewRange;
      expect(topRange[0]).toBeLessThan(bottomRange[0]);
      expect(bottomRange[1] - bottomRange[0]).toBeCloseTo(topRange[1] - topRange[0], 0); // Same zoom.

      // The violation banner: the whole "got" text, and a click goes to the violation.
      const banner = (await page.locator('#violation-banner').textContent()) ?? '';
      expect(banner).toContain('expected ["Nevermore"], got ["Quoth the raven"]');
      await page.locator('#step-prev').click();
      await page.locator('#violation-banner').click();
      expect((await hookOf(page)).selectedSeq).toBe(violation);

      // Exports: the buttons download files; the whole trace is taller than the view.
      await page.selectOption('#export-scope', 'whole');
      const [svgDownload] = await Promise.all([page.waitForEvent('download'), page.locator('#export-svg').click()]);
      expect(svgDownload.suggestedFilename()).toMatch(/-whole\.svg$/);
      const svg = readFileSync((await svgDownload.path())!, 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      expect(svg).toContain('OBJECT');
      const [pngDownload] = await Promise.all([page.waitForEvent('download'), page.locator('#export-png').click()]);
      expect(pngDownload.suggestedFilename()).toMatch(/-whole\.png$/);
      expect(
        readFileSync((await pngDownload.path())!)
          .subarray(1, 4)
          .toString(),
      ).toBe('PNG');
      await page.selectOption('#export-scope', 'range');
      const [viewDownload] = await Promise.all([page.waitForEvent('download'), page.locator('#export-svg').click()]);
      expect(viewDownload.suggestedFilename()).toMatch(/-range\.svg$/);
      const [mermaidDownload] = await Promise.all([
        page.waitForEvent('download'),
        page.locator('#export-mermaid').click(),
      ]);
      const mermaid = readFileSync((await mermaidDownload.path())!, 'utf8');
      expect(mermaid.startsWith('sequenceDiagram')).toBe(true);
      expect(mermaid).toContain('▶ send');
      const [shivizDownload] = await Promise.all([
        page.waitForEvent('download'),
        page.locator('#export-shiviz').click(),
      ]);
      expect(readFileSync((await shivizDownload.path())!, 'utf8').split('\n')[0]).toContain('(?<host>');

      // Time mode, through its select: idle stretches are cut and marked.
      await page.selectOption('#time-mode', 'time');
      await page.locator('#fit').click();
      expect((await hookOf(page)).rowsOnScreen).toBe(hook.events - hook.folded);
      await page.close();
    });
  });

  it('opens a failed expectation with its violation row on screen, the whole message, and unescaped fields', async () => {
    await withTrace(failedTraceText(), async (url) => {
      const page = await open(browser, url, { width: 1440, height: 900 });
      const hook = await hookOf(page);
      expect(hook.violationSeqs).toHaveLength(1);
      const violationLabel = (await labels(page)).find((label) => label.text.startsWith('✖ VIOLATION'));
      expect(violationLabel).toBeDefined();
      const diagram = (await page.locator('#diagram').boundingBox())!;
      expect(violationLabel!.y1).toBeGreaterThanOrEqual(diagram.y + 46);
      expect(violationLabel!.y2).toBeLessThanOrEqual(diagram.y + diagram.height);
      const panel = (await page.locator('#details').textContent()) ?? '';
      expect(panel).toContain('expected ["Nevermore"], got ["Quoth the raven"]');
      expect(panel).not.toContain('\\"');
      await page.screenshot({ path: join(reports, 'failed-expectation.png') });
      await page.close();
    });
  });

  it('shows the payload and both states after a click on the REDIRECT arrow, and steps with the keyboard', async () => {
    const page = await open(browser, server.url, { width: 1440, height: 900 });
    const point = await page.evaluate(() => window.__fedsimViewer?.arrowPoint(6) ?? null); // msg 6 is the REDIRECT.
    expect(point).not.toBeNull();
    await page.mouse.click(point!.x, point!.y);
    const panel = page.locator('#details');
    await expect.poll(() => panel.textContent()).toContain('message #6: REDIRECT');
    const text = (await panel.textContent()) ?? '';
    expect(text).toContain('mail.lenore.org → poe.net (delivered)');
    expect(await page.locator('[data-testid="payload"]').textContent()).toContain('lost.lenore.org:8000/tcp');
    expect(text).toContain('CONNECT: lost.lenore.org 8000 tcp'); // The wire bytes, decoded as text.
    expect(text).toContain('sender mail.lenore.org');
    expect(text).toContain('receiver poe.net');
    expect(text).toMatch(/session out:1\s*established/);
    await page.screenshot({ path: join(reports, 'poe-lenore-selected.png') });
    const selected = (await hookOf(page)).selectedSeq as number;
    await page.keyboard.press('ArrowDown');
    expect((await hookOf(page)).selectedSeq).toBeGreaterThan(selected);
    await page.keyboard.press('k');
    expect((await hookOf(page)).selectedSeq).toBe(selected);
    await page.close();
  });

  it('filters by clicking DNS, message kinds and nodes, searches, and shows full label text on hover', async () => {
    const page = await open(browser, server.url, { width: 1400, height: 1000 });
    await page.locator('#unfold-all').click();
    await page.locator('#fit').click();
    await page.locator('#filter-categories label', { hasText: 'dns' }).locator('input').click();
    let hook = await hookOf(page);
    expect(hook.linksDrawn).toBe(12 + 3 + 1);
    await page.locator('#legend label', { hasText: 'HELLO' }).locator('input').click();
    hook = await hookOf(page);
    expect(hook.arrowsDrawn).toBe(8);
    await page.locator('#filter-lanes label', { hasText: 'lost.lenore.org' }).locator('input').click();
    expect((await hookOf(page)).arrowsDrawn).toBeLessThan(8);
    await page.locator('#filter-lanes label', { hasText: 'lost.lenore.org' }).locator('input').click();
    await page.fill('#search', 'nevermore');
    expect(await page.locator('#search-count').textContent()).toBe('5 found'); // MESSAGE and RELAY (sent, received), and the delivery.
    const svg = await page.evaluate(() => window.__fedsimViewer?.svgText() ?? '');
    expect(svg).toContain('REDIRECT');
    expect(svg).not.toContain('>HELLO<');
    // Hover: a label cut short shows its full text as the canvas's title.
    const cut = (await labels(page)).find((label) => label.shown !== label.text);
    expect(cut).toBeDefined();
    await page.mouse.move((cut!.x1 + cut!.x2) / 2, (cut!.y1 + cut!.y2) / 2);
    await expect.poll(() => page.locator('#canvas').getAttribute('title')).toBe(cut!.text);
    await page.close();
  });

  it('no two labels overlap: Poe/Lenore and one bundled trace per protocol, story view and unfolded', async () => {
    const traces: [string, string][] = [['poe-lenore fixture', readFileSync(fixture, 'utf8')]];
    for (const scenario of perProtocol)
      traces.push([scenario, runScenario(loadScenario(join(scenarios, `${scenario}.yaml`))).trace.text()]);
    for (const [name, text] of traces)
      await withTrace(text, async (url) => {
        const page = await open(browser, url, { width: 1440, height: 900 });
        const canvasBox = (await page.locator('#canvas').boundingBox())!;
        for (const view of ['story', 'story fitted', 'unfolded', 'unfolded fitted', 'time'] as const) {
          if (view === 'unfolded') await page.locator('#unfold-all').click();
          if (view.endsWith('fitted')) await page.locator('#fit').click();
          if (view === 'time') await page.selectOption('#time-mode', 'time');
          const boxes = await labels(page);
          expect(boxes.length, `${name} ${view}: labels drawn`).toBeGreaterThan(3);
          for (const box of boxes) {
            expect(box.x1, `${name} ${view}: "${box.shown}" inside the canvas`).toBeGreaterThanOrEqual(canvasBox.x);
            expect(box.x2, `${name} ${view}: "${box.shown}" inside the canvas`).toBeLessThanOrEqual(
              canvasBox.x + canvasBox.width,
            );
          }
          for (let i = 0; i < boxes.length; i++)
            for (let j = i + 1; j < boxes.length; j++) {
              const a = boxes[i]!;
              const b = boxes[j]!;
              const overlap = a.x1 < b.x2 && b.x1 < a.x2 && a.y1 < b.y2 && b.y1 < a.y2;
              expect(overlap, `${name} ${view}: "${a.shown}" overlaps "${b.shown}"`).toBe(false);
            }
        }
        await page.close();
      });
  });

  it('names each protocol’s messages from its describe.ts: legend by name, no entry per nonce, search by name', async () => {
    const expected: Record<string, string[]> = {
      'solec/cross-server-message': ['message'],
      'bester/blog-part1-afrikaans': ['client auth', 'sendClients'],
      'f140/friends-exchange': ['PING 200', 'MSG'],
      'ambrosia/seven-steps': ['iq set', 'ack', 'message', 'stream open'],
    };
    for (const [scenario, names] of Object.entries(expected))
      await withTrace(runScenario(loadScenario(join(scenarios, `${scenario}.yaml`))).trace.text(), async (url) => {
        const page = await open(browser, url, { width: 1440, height: 900 });
        const entries = await page.locator('#legend label').allTextContents();
        for (const name of names)
          expect(
            entries.some((entry) => entry.startsWith(`${name} (`)),
            `${scenario}: ${name} in ${entries.join(' | ')}`,
          ).toBe(true);
        expect(entries.some((entry) => /nonce|\d+ B\b|<\?xml/.test(entry))).toBe(false);
        await page.fill('#search', names[0] as string);
        expect(Number(((await page.locator('#search-count').textContent()) ?? '0').split(' ')[0])).toBeGreaterThan(0);
        await page.close();
      });
  });

  it('fedsim export --format svg|png draws the whole trace with the viewer’s code', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'fedsim-viz-export-'));
    try {
      const svgPath = join(directory, 'poe.svg');
      const pngPath = join(directory, 'poe.png');
      expect(await exportCommand(fixture, 'svg', { out: svgPath })).toBe(0);
      const svg = readFileSync(svgPath, 'utf8');
      expect(svg.startsWith('<svg')).toBe(true);
      for (const label of ['REDIRECT', 'refused', 'MESSAGE']) expect(svg).toContain(label);
      const height = Number(/height="(\d+)"/.exec(svg)?.[1]);
      expect(height).toBeGreaterThan(500);
      expect(await exportCommand(fixture, 'png', { out: pngPath, details: true })).toBe(0);
      expect(readFileSync(pngPath).subarray(1, 4).toString()).toBe('PNG');
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('answers a path that is not valid percent-encoding with 400, and one outside the viewer with 403 or 404', async () => {
    const origin = new URL(server.url).origin;
    // %E0%A4%A is cut short, %ED%A0%80 is a surrogate's UTF-8 form: neither decodes.
    for (const path of ['/%E0%A4%A', '/%ED%A0%80.js']) {
      const response = await fetch(`${origin}${path}`);
      expect(response.status).toBe(400);
      expect(await response.text()).toContain('not valid percent-encoded UTF-8');
    }
    const outside = await fetch(`${origin}/..%2f..%2fpackage.json`);
    expect([403, 404]).toContain(outside.status);
    expect((await fetch(`${origin}/`)).status).toBe(200);
  });

  it('opens a trace dropped on the diagram (drag and drop)', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await page.goto(server.url.replace(/\?.*$/, ''));
    const text = readFileSync(fixture, 'utf8');
    // A real DataTransfer carrying a File, as a browser builds one for a drop from the desktop.
    const dataTransfer = await page.evaluateHandle((content) => {
      const transfer = new DataTransfer();
      transfer.items.add(new File([content], 'dropped.trace.ndjson', { type: 'application/x-ndjson' }));
      return transfer;
    }, text);
    await page.dispatchEvent('#diagram', 'dragover', { dataTransfer });
    await page.dispatchEvent('#diagram', 'drop', { dataTransfer });
    await page.waitForFunction(() => window.__fedsimViewer?.ready === true);
    const hook = await hookOf(page);
    expect(hook.traceName).toBe('dropped.trace.ndjson');
    expect(hook.lanes).toBe(3);
    expect(hook.events).toBe(79);
    await page.close();
  });

  it('opens a trace from the file picker', async () => {
    const page = await browser.newPage({ viewport: { width: 1200, height: 900 } });
    await page.goto(server.url.replace(/\?.*$/, ''));
    await page.locator('#file-input').setInputFiles(fixture);
    await page.waitForFunction(() => window.__fedsimViewer?.ready === true);
    const hook = await hookOf(page);
    expect(hook.lanes).toBe(3);
    expect(hook.traceName).toBe('poe-lenore.trace.ndjson');
    expect(await page.locator('#export-mermaid').getAttribute('aria-disabled')).toBe('true');
    await page.close();
  });

  it('opens a 100,000-event trace at its violation, draws only what is on screen, pans fast', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'fedsim-viz-test-'));
    const tracePath = join(directory, 'synthetic-100k.trace.ndjson');
    writeFileSync(tracePath, syntheticTraceText({ seed: 1, events: 100_000, nodes: 12 }));
    const large = await serveViewer({ tracePath });
    try {
      const page = await open(browser, large.url, { width: 1400, height: 900 });
      const hook = await hookOf(page);
      expect(hook.events).toBe(100_000);
      expect(hook.lanes).toBe(12);
      expect(hook.violationSeqs).toHaveLength(1);
      expect(hook.selectedSeq).toBe(hook.violationSeqs[0]);
      expect(hook.rowsOnScreen).toBeLessThan(100);
      expect(hook.arrowsDrawn).toBeGreaterThan(5);
      expect(hook.arrowsDrawn).toBeLessThan(300);
      expect(hook.firstRenderMs).toBeGreaterThan(0);
      // Loose: a shared 2-core machine, other test files' browsers beside it; the benchmark reports the number.
      expect(hook.loadedMs).toBeLessThan(60_000);
      expect(hook.firstRenderMs).toBe(hook.loadedMs); // The first screen is the whole trace's (loaded off the page's thread).
      expect(Object.keys(hook.loadSteps)).toEqual(
        expect.arrayContaining(['trace read and parsed', 'model built', 'laid out']),
      );
      await expectToolbarOneLine(page); // With the longest name and the largest folded count.
      await page.screenshot({ path: join(reports, 'synthetic-100k-violation.png') });
      const pan = await page.evaluate(() => window.__fedsimViewer!.panBench(30, 40));
      expect(pan.meanMs).toBeLessThan(100);
      // The fitted view's layer is drawn in idle time after the load; the fit then shows it.
      await page.waitForFunction(() => window.__fedsimViewer!.fitReady(), undefined, { timeout: 60_000 });
      expect((await hookOf(page)).fitPrepareMs).toBeGreaterThan(0);
      await page.locator('#fit').click();
      const fitted = await hookOf(page);
      expect(fitted.dense).toBe(true);
      // Every message arrow drawn, none merged with another (stroking merged those sharing a pixel row: 27,472).
      expect(fitted.arrowsDrawn).toBe(33_916);
      // The rasterized links fill the space between the lanes: most pixels there are not white.
      const inked = await page.evaluate(() => {
        const canvas = document.getElementById('canvas') as HTMLCanvasElement;
        const ratio = window.devicePixelRatio || 1;
        const data = canvas
          .getContext('2d')!
          .getImageData(
            Math.round(300 * ratio),
            Math.round(100 * ratio),
            Math.round(400 * ratio),
            Math.round(400 * ratio),
          ).data;
        let count = 0;
        for (let at = 0; at < data.length; at += 4) if (data[at]! < 240 || data[at + 1]! < 240) count++;
        return count / (data.length / 4);
      });
      expect(inked).toBeGreaterThan(0.5);
      await page.screenshot({ path: join(reports, 'synthetic-100k-overview.png') });
      writeFileSync(
        join(reports, 'synthetic-100k.json'),
        JSON.stringify(
          {
            events: hook.events,
            firstRenderMs: hook.firstRenderMs,
            loadedMs: hook.loadedMs,
            parseMs: hook.parseMs,
            modelMs: hook.modelMs,
            panFrameMs: pan.meanMs,
            overviewFrameMs: fitted.lastFrameMs,
          },
          null,
          2,
        ) + '\n',
      );
      await page.close();
    } finally {
      await large.close();
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
