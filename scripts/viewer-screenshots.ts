/**
 * Regenerates the viewer's screenshots in reports/viewer/ (`npm run screenshots`): the default
 * view of each protocol's bundled trace, a failed expectation (Poe/Lenore expecting
 * "Nevermore"), Poe/Lenore with every detail unfolded and in time mode, and the 100,000-event
 * synthetic trace at its violation and fitted. Headless Debian Chromium through playwright-core,
 * 1440×900, the size a laptop shows.
 *
 *   npx tsx scripts/viewer-screenshots.ts
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Page } from 'playwright-core';
import { chromiumAvailable, chromiumPath, launchChromium } from '../src/bench/viewer.js';
import { buildViewer, serveViewer } from '../src/view/server.js';
import { parseScenario } from '../src/scenario/load.js';
import { runScenario } from '../src/scenario/run.js';
import { syntheticTraceText } from '../src/trace/synthetic.js';

const root = fileURLToPath(new URL('..', import.meta.url));
const reports = join(root, 'reports', 'viewer');
const viewport = { width: 1440, height: 900 };

/** One bundled scenario per protocol: the one that tells that protocol's story best. */
const bundled = [
  'fmtp/poe-lenore',
  'solec/cross-server-message',
  'bester/blog-part1-afrikaans',
  'f140/friends-exchange',
  'ambrosia/seven-steps',
  'echo/round-trip',
];

type Shot = (page: Page) => Promise<void>;

async function main(): Promise<void> {
  if (!chromiumAvailable()) throw new Error(`${chromiumPath} is absent (apt-get install chromium)`);
  mkdirSync(reports, { recursive: true });
  await buildViewer({ force: true });
  const directory = mkdtempSync(join(tmpdir(), 'fedsim-screenshots-'));
  const browser = await launchChromium();
  const shoot = async (tracePath: string, shots: Record<string, Shot>): Promise<void> => {
    const server = await serveViewer({ tracePath });
    try {
      for (const [name, shot] of Object.entries(shots)) {
        const page = await browser.newPage({ viewport });
        await page.goto(server.url);
        await page.waitForFunction(() => window.__fedsimViewer?.ready === true, undefined, { timeout: 120_000 });
        await shot(page);
        await page.screenshot({ path: join(reports, `${name}.png`) });
        console.log(`reports/viewer/${name}.png`);
        await page.close();
      }
    } finally {
      await server.close();
    }
  };
  const asIs: Shot = async () => {};
  try {
    for (const scenario of bundled) {
      const file = join(root, 'scenarios', `${scenario}.yaml`);
      const report = runScenario(parseScenario(readFileSync(file, 'utf8'), file));
      const tracePath = join(directory, `${scenario.replace('/', '-')}.ndjson`);
      writeFileSync(tracePath, report.trace.text());
      const name = scenario.replace('/', '-');
      const shots: Record<string, Shot> = { [name]: asIs };
      if (scenario === 'fmtp/poe-lenore') {
        shots[`${name}-details`] = async (page) => page.locator('#unfold-all').click();
        shots[`${name}-time`] = async (page) => {
          await page.selectOption('#time-mode', 'time');
        };
      }
      await shoot(tracePath, shots);
    }
    // A failed expectation: Poe/Lenore expecting a body that never arrives.
    const file = join(root, 'scenarios', 'fmtp', 'poe-lenore.yaml');
    const failing = readFileSync(file, 'utf8').replace(
      'delivered: { to: lost@lenore.org, bodies: [Quoth the raven] }',
      'delivered: { to: lost@lenore.org, bodies: [Nevermore] }',
    );
    const report = runScenario(parseScenario(failing, file));
    if (report.verdict !== 'fail') throw new Error('the failing variant of poe-lenore passed');
    const failedPath = join(directory, 'fmtp-poe-lenore-failed.ndjson');
    writeFileSync(failedPath, report.trace.text());
    await shoot(failedPath, { 'failed-expectation': asIs });
    const largePath = join(directory, 'synthetic-100k.ndjson');
    writeFileSync(largePath, syntheticTraceText({ seed: 1, events: 100_000, nodes: 12 }));
    await shoot(largePath, {
      'synthetic-100k-violation': asIs,
      'synthetic-100k-fitted': async (page) => page.locator('#fit').click(),
    });
  } finally {
    await browser.close();
    rmSync(directory, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exitCode = 1;
});
