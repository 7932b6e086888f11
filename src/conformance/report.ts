/**
 * Conformance reports: `<protocol>.json` (the SuiteReport as it is) and a self-contained HTML page per
 * protocol (summary by verdict and by section, each case expandable with its quoted rule, expected and
 * actual exchange, and its trace file for `fedsim view`), plus `index.html` across protocols.
 *
 * Must not: load anything from the network (no scripts, fonts or styles from elsewhere), or put
 * unescaped text from a target into the HTML (a server's answer is untrusted input).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { verdicts, type CaseResult, type SuiteReport, type Verdict } from './types.js';

export function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

const colours: Record<Verdict, string> = {
  OK: '#1a7f37',
  'NON-STRICT': '#9a6700',
  FAILED: '#cf222e',
  UNIMPLEMENTED: '#6e7781',
  INFORMATIONAL: '#0969da',
};

const style = `
body{font:14px/1.45 system-ui,sans-serif;margin:24px auto;max-width:1100px;color:#1f2328;padding:0 16px}
h1{font-size:22px;margin:0 0 4px}h2{font-size:17px;margin:24px 0 8px}
table{border-collapse:collapse;margin:6px 0 12px}td,th{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}.v{font-weight:600;color:#fff;border-radius:4px;padding:1px 6px;font-size:12px;white-space:nowrap}
details{border:1px solid #d0d7de;border-radius:6px;margin:6px 0;padding:4px 10px}summary{cursor:pointer;padding:3px 0}
summary .id{font-family:ui-monospace,monospace;color:#57606a;margin:0 6px}blockquote{margin:6px 0;padding:2px 10px;border-left:3px solid #d0d7de;color:#57606a}
code,pre,.x td{font-family:ui-monospace,monospace;font-size:12px}pre{background:#f6f8fa;padding:6px;white-space:pre-wrap}
.x td{word-break:break-all}.muted{color:#57606a}.num{text-align:right}
`;

function badge(verdict: Verdict): string {
  return `<span class="v" style="background:${colours[verdict]}">${verdict}</span>`;
}

function countsRow(counts: Readonly<Record<Verdict, number>>): string {
  return verdicts.map((v) => `<td class="num">${counts[v] > 0 ? `${badge(v)} ${counts[v]}` : '0'}</td>`).join('');
}

function bySection(results: readonly CaseResult[]): Map<string, Record<Verdict, number>> {
  const sections = new Map<string, Record<Verdict, number>>();
  for (const result of results) {
    const section = result.section.split(',')[0]?.trim() ?? result.section;
    const counts =
      sections.get(section) ?? (Object.fromEntries(verdicts.map((v) => [v, 0])) as Record<Verdict, number>);
    counts[result.verdict] += 1;
    sections.set(section, counts);
  }
  return new Map([...sections].sort(([a], [b]) => a.localeCompare(b, 'en', { numeric: true })));
}

function caseHtml(result: CaseResult): string {
  const exchange = result.exchange
    .map(
      (e) =>
        `<tr><td class="num">${e.atMs}</td><td>${escapeHtml(e.conn)}</td><td>${e.direction}</td><td>${escapeHtml(e.text)}</td></tr>`,
    )
    .join('');
  const trace = result.trace
    ? `<p>Trace: <a href="${escapeHtml(result.trace)}">${escapeHtml(result.trace)}</a> — open it with <code>npx fedsim view reports/conformance/${escapeHtml(result.trace)}</code></p>`
    : '<p class="muted">No trace file (external target: the exchange below is the record).</p>';
  const judged =
    result.expected !== undefined || result.actual !== undefined
      ? `<table><tr><th>expected</th><td><pre>${escapeHtml(result.expected ?? '')}</pre></td></tr><tr><th>actual</th><td><pre>${escapeHtml(result.actual ?? '')}</pre></td></tr></table>`
      : '';
  return `<details id="${escapeHtml(result.id)}"${result.verdict === 'FAILED' ? ' open' : ''}>
<summary>${badge(result.verdict)}<span class="id">${escapeHtml(result.id)}</span>${escapeHtml(result.title)} <span class="muted">(§${escapeHtml(result.section)}, ${result.level})</span></summary>
<blockquote>§${escapeHtml(result.section)}: “${escapeHtml(result.quote)}”</blockquote>
<p>Requirements: ${result.requirements.map((r) => `<code>${escapeHtml(r)}</code>`).join(', ')} · ${result.durationMs} ms</p>
<p>${escapeHtml(result.message)}</p>${judged}${trace}
<table class="x"><tr><th>ms</th><th>conn</th><th></th><th>exchange</th></tr>${exchange}</table>
</details>`;
}

export function suiteHtml(report: SuiteReport): string {
  const sections = [...bySection(report.results)]
    .map(([section, counts]) => `<tr><td>§${escapeHtml(section)}</td>${countsRow(counts)}</tr>`)
    .join('');
  const coverage = Object.entries(report.coverage)
    .map(
      ([id, cases]) =>
        `<tr><td><code>${escapeHtml(id)}</code></td><td>${cases.length === 0 ? '<b style="color:#cf222e">not covered</b>' : cases.map((c) => `<a href="#${escapeHtml(c)}">${escapeHtml(c)}</a>`).join(', ')}</td></tr>`,
    )
    .join('');
  const head = verdicts.map((v) => `<th>${v}</th>`).join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>${escapeHtml(report.title)} conformance</title><style>${style}</style></head><body>
<p><a href="index.html">all protocols</a></p>
<h1>${escapeHtml(report.title)} conformance</h1>
<p class="muted">Target: <code>${escapeHtml(report.target)}</code> · ${report.results.length} cases</p>
<h2>Cases by verdict</h2><table><tr>${head}</tr><tr>${countsRow(report.counts).replace(/^<td/, '<td')}</tr></table>
<h2>By section</h2><table><tr><th>section</th>${head}</tr>${sections}</table>
<h2>Cases</h2>${report.results.map(caseHtml).join('\n')}
<h2>Requirement coverage</h2><table><tr><th>requirement</th><th>cases</th></tr>${coverage}</table>
</body></html>
`;
}

export function indexHtml(reports: readonly SuiteReport[]): string {
  const head = verdicts.map((v) => `<th>${v}</th>`).join('');
  const rows = reports
    .map(
      (r) =>
        `<tr><td><a href="${escapeHtml(r.protocol)}.html">${escapeHtml(r.title)}</a></td><td><code>${escapeHtml(r.target)}</code></td><td class="num">${r.results.length}</td>${countsRow(r.counts)}</tr>`,
    )
    .join('');
  return `<!doctype html><html lang="en"><head><meta charset="utf-8"><title>fedsim conformance</title><style>${style}</style></head><body>
<h1>fedsim conformance</h1>
<p class="muted">One suite per protocol; each case quotes the rule it checks. Verdicts as h2spec and Autobahn give them.</p>
<table><tr><th>protocol</th><th>target</th><th>cases</th>${head}</tr>${rows}</table>
</body></html>
`;
}

/** Writes `<dir>/<protocol>.json` and `<dir>/<protocol>.html` for each report, and `<dir>/index.html`. */
export function writeReports(
  dir: string,
  reports: readonly SuiteReport[],
  index: readonly SuiteReport[] = reports,
): string[] {
  mkdirSync(dir, { recursive: true });
  const written: string[] = [];
  for (const report of reports) {
    const json = join(dir, `${report.protocol}.json`);
    writeFileSync(json, JSON.stringify(report, null, 2) + '\n');
    const html = join(dir, `${report.protocol}.html`);
    writeFileSync(html, suiteHtml(report));
    written.push(json, html);
  }
  const indexPath = join(dir, 'index.html');
  writeFileSync(indexPath, indexHtml(index));
  written.push(indexPath);
  return written;
}
