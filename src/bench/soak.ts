/**
 * `fedsim soak <protocol>`: N concurrent loopback clients, each doing M valid exchanges (the robustness
 * adapter's, each on a fresh connection) against the built-in server run by `fedsim serve` in a child
 * process; reports delivered and lost, p50 and p99 latency, and the served process's peak RSS and
 * descriptors (from /proc). Bounded in count and time; 127.0.0.1 only.
 */
import { builtinNode, robustnessAdapters } from '../conformance/robustness-adapters.js';
import { RawConn, sampleProcess, serveBuiltin } from '../conformance/robustness.js';

export interface SoakOptions {
  readonly clients: number;
  readonly messages: number;
  /** Give up a run after this long. @defaultValue 600000 */
  readonly timeBudgetMs?: number;
  /** How long one exchange may take before it counts as lost. @defaultValue 30000 */
  readonly answerMs?: number;
}

export interface SoakResult {
  readonly protocol: string;
  readonly clients: number;
  readonly messages: number;
  readonly delivered: number;
  readonly lost: number;
  /** Why the lost ones were lost: not connected, closed without the answer, no answer in time, out of time budget. */
  readonly lostBy: { notConnected: number; closed: number; timeout: number; budget: number };
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly wallMs: number;
  readonly idleRssBytes: number;
  readonly peakRssBytes: number;
  readonly idleFds: number;
  readonly peakFds: number;
}

function percentile(sorted: readonly number[], p: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? 0;
}

/**
 * The conformance fixture's config with its short timers left out, so the server soaked runs with
 * the protocol's defaults: SOLEC's fixture gives a client 2 s to log in (real-socket conformance runs
 * take seconds), where a served SOLEC server gives 10 s; with 2 s, a loaded machine's queue alone
 * lost exchanges (issue 22).
 */
export function withDefaultTimers(config: unknown): unknown {
  if (typeof config !== 'object' || config === null) return config;
  return Object.fromEntries(Object.entries(config).filter(([key]) => !/TimeoutMs$|^retryMs$|^attemptsMax$/.test(key)));
}

export async function soak(protocol: string, options: SoakOptions): Promise<SoakResult> {
  const adapter = robustnessAdapters[protocol];
  if (!adapter) throw new Error(`no soak adapter for ${protocol}`);
  const node = await builtinNode(protocol);
  const served = await serveBuiltin(protocol, { ...node, config: withDefaultTimers(node.config) }, {});
  try {
    const idle = sampleProcess(served.pid) ?? { rssBytes: 0, fds: 0 };
    let peak = idle;
    const sampler = setInterval(() => {
      const now = sampleProcess(served.pid);
      if (now) peak = { rssBytes: Math.max(peak.rssBytes, now.rssBytes), fds: Math.max(peak.fds, now.fds) };
    }, 100);
    const started = Date.now();
    const deadline = started + (options.timeBudgetMs ?? 600_000);
    const latencies: number[] = [];
    let lost = 0;
    const lostBy = { notConnected: 0, closed: 0, timeout: 0, budget: 0 };
    const client = async (): Promise<void> => {
      for (let i = 0; i < options.messages; i += 1) {
        if (Date.now() > deadline) {
          lost += options.messages - i;
          lostBy.budget += options.messages - i;
          return;
        }
        const at = Date.now();
        const conn = RawConn.open('127.0.0.1', served.port);
        const opened = await conn.opened;
        const ok = opened && (await adapter.exchange(conn, options.answerMs ?? 30_000));
        conn.destroy();
        if (ok) latencies.push(Date.now() - at);
        else {
          lost += 1;
          if (!opened) lostBy.notConnected += 1;
          else if (conn.isClosed) lostBy.closed += 1;
          else lostBy.timeout += 1;
        }
      }
    };
    await Promise.all(Array.from({ length: options.clients }, () => client()));
    clearInterval(sampler);
    const sorted = latencies.sort((a, b) => a - b);
    return {
      protocol,
      clients: options.clients,
      messages: options.messages,
      delivered: latencies.length,
      lost,
      lostBy,
      p50Ms: percentile(sorted, 50),
      p99Ms: percentile(sorted, 99),
      wallMs: Date.now() - started,
      idleRssBytes: idle.rssBytes,
      peakRssBytes: peak.rssBytes,
      idleFds: idle.fds,
      peakFds: peak.fds,
    };
  } finally {
    await served.stop();
  }
}
