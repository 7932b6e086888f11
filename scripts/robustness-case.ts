/**
 * One robustness case at issue 22's full counts against a built-in server:
 * `npx tsx scripts/robustness-case.ts <protocol> <case-id-suffix>...`. Prints each result, the
 * served peer's timings and the RSS/descriptor samples. Loopback only; for measuring one fix
 * without running every case (`fedsim conform <protocol> --robustness --full` runs them all).
 */
import { robustnessFullCounts, robustnessFullOpenFiles, robustnessServeLimits } from '../src/cli/conform.js';
import { builtinNode, robustnessAdapters } from '../src/conformance/robustness-adapters.js';
import { runRobustness, serveBuiltin } from '../src/conformance/robustness.js';

const [protocol = '', ...only] = process.argv.slice(2);
const adapter = robustnessAdapters[protocol];
if (!adapter || only.length === 0) {
  console.error('usage: robustness-case.ts <protocol> <case-id-suffix>...');
  process.exit(2);
}
const served = await serveBuiltin(
  protocol,
  await builtinNode(protocol),
  robustnessServeLimits,
  undefined,
  robustnessFullOpenFiles,
);
try {
  const report = await runRobustness(adapter, {
    host: '127.0.0.1',
    port: served.port,
    pid: served.pid,
    ...robustnessFullCounts,
    closeMs: 5_000,
    only,
  });
  for (const result of report.results) console.log(JSON.stringify(result, null, 2));
  process.exitCode = report.results.some((r) => r.verdict === 'FAILED') ? 1 : 0;
} finally {
  await served.stop();
}
