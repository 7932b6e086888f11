/**
 * The findings report (`fedsim findings`, docs/findings.md): for each protocol and seed flaw that
 * has a faithful/fixed scenario pair in scenarios/, what breaks (quoting the seed text it comes
 * from), both runs of the pair on their own seeds with their verdicts, the profile that refuses
 * it, and the fuzz seed at which a campaign on the faithful profile found it, replayed (that one
 * run, as drawn) to check that it still breaks the flaw's invariant. The quotes are copied here
 * from the seed designs; nothing outside the repository is read.
 */
import { join } from 'node:path';
import { describePattern, eventMatches } from '../check/match.js';
import { fuzzProfileNamed } from '../fuzz/profiles/index.js';
import { breaksInvariant, replayUnshrunk } from '../fuzz/replay-seed.js';
import { loadScenario } from './load.js';
import { runScenario, type RunReport } from './run.js';

/** One flaw of a seed design, shown by a pair of scenarios. */
export interface Flaw {
  readonly protocol: string;
  readonly id: string;
  readonly title: string;
  /** What breaks under the faithful profile. */
  readonly breaks: string;
  /** The seed text the flaw comes from, and the seed file it is quoted from. */
  readonly seedQuote: { readonly file: string; readonly text: string; readonly note?: string };
  readonly faithful: { readonly profile: string; readonly scenario: string };
  readonly fixed: { readonly profile: string; readonly scenario: string };
  /** How the fixed profile refuses it. */
  readonly fix: string;
  /**
   * The flaw's mark in a trace, checked apart from the scenarios' own expectations: an event
   * pattern the faithful run's trace holds and the fixed run's trace does not.
   */
  readonly sign: Readonly<Record<string, unknown>>;
  /**
   * How a fuzz campaign finds it: the invariant it breaks (src/check/registry.ts), and the first
   * seed of `fedsim fuzz <protocol> --profile <profile>` (seeds 1..) whose run, as drawn, breaks it
   * (found with scripts/flaw-seeds.ts).
   */
  readonly fuzz: { readonly invariant: string; readonly profile: string; readonly seed: number };
}

/** Ambrosia: any service may register any domain on the zero-config gateway (issue 25). */
const ambrosiaDomainHijack: Flaw = {
  protocol: 'ambrosia',
  id: 'ambrosia-domain-hijack',
  title: 'Ambrosia: any service can register any domain',
  breaks:
    'rogue.b.test, a service of another domain that reaches the gateway\u2019s service port with the shared secret, registers a.test for client traffic beside im.a.test. The gateway\u2019s round robin hands it every other stanza alice sends; it reads them and routes them back out, so bob still gets all of them and nobody notices.',
  seedQuote: {
    file: '004_2569d55a49d73474.txt',
    text: 'a service can: handle administration of the gateway register any number of domain/type pairs to handle ... if there are multiple services registered with the same domain name, the gateway picks one (round robin load balance, or whatever) ... launch the gateway process. it needs no configuration.',
  },
  faithful: { profile: 'seed', scenario: 'ambrosia/flaw-domain-hijack-seed.yaml' },
  fixed: { profile: 'assigned', scenario: 'ambrosia/flaw-domain-hijack-fixed.yaml' },
  fix: 'Profile `assigned` (spec.md "Profiles"; what `fedsim serve` runs): the gateway\u2019s `services` lists each service\u2019s own secret and the domains it may register; rogue.b.test\u2019s registration of a.test is answered <register-error><forbidden/>, and every stanza for a.test goes to im.a.test.',
  sign: { kind: 'note', node: 'rogue.b.test', what: 'ambrosia.service.processed' },
  fuzz: { invariant: 'ambrosia.registration-owned', profile: 'seed', seed: 2 },
};

/** Every flaw with a scenario pair today. Scenario paths are relative to the scenarios directory. */
export const flaws: readonly Flaw[] = [
  {
    protocol: 'solec',
    id: 'solec-name-only-serverauth',
    title: 'SOLEC: ServerAuth carries only a name',
    breaks:
      'Any server can claim to be a known server: evil.test sends ServerAuth "a.test", b.test accepts it because the name is on its known list, and bob receives a forged Message as from alice@a.test, though a.test never connected.',
    seedQuote: {
      file: '002_dff78f74312a29ee.txt',
      text: 'Send [Error 0x03] ... If [name] is not present in known public keys list. ... | 0x03 | Server auth failed. Unknown name. | ... ### ServerAuth | string | name |',
    },
    faithful: { profile: 'seed', scenario: 'solec/impersonation-seed.yaml' },
    fixed: { profile: 'signed', scenario: 'solec/impersonation-signed.yaml' },
    fix: 'Profile `signed` (spec.md §5.2): after ServerAuth names a known server, the receiver sends a Challenge nonce and checks the Proof against the key it holds for that name; evil.test signs with its own key, gets Error 0x03 and a close, and the forgery is never delivered.',
    sign: { kind: 'deliver', node: 'bob', body: 'please send me your password' },
    fuzz: { invariant: 'solec.server-auth-bound', profile: 'seed', seed: 23 },
  },
  {
    protocol: 'bester',
    id: 'bester-bug1-forward-without-id',
    title: 'Bester bug 1: sendServers forwards without the message id',
    breaks:
      'In the blog Part 2 federation chain, S1 forwards the message to S2 without its `id`; S2 requires `id` and closes the connection unread. U2 never gets the message, yet U1 hears `good`.',
    seedQuote: {
      file: '003_3a374b41164679ce.txt',
      text: 'For now that is all, I will be writing on how server-to-server (so think sendServers) communication works and with a worked example too, in the next blog post.',
      note: 'The bug itself is in the original besterd code of 2020 (src/protocols/bester/spec.md §7), not in the blog text.',
    },
    faithful: { profile: 'besterd-2020', scenario: 'bester/blog-part2-federation-besterd-2020.yaml' },
    fixed: { profile: 'fixed', scenario: 'bester/blog-part2-federation-fixed.yaml' },
    fix: 'Profile `fixed` (the default): the forwarded message carries its `id`, so S2 and S3 accept it and U2 receives it.',
    sign: { kind: 'note', what: 'bester.first-message.refused' },
    fuzz: { invariant: 'bester.forward-has-id', profile: 'besterd-2020', seed: 5 },
  },
  {
    protocol: 'bester',
    id: 'bester-bug2-unknown-command',
    title: 'Bester bug 2: an unknown handler command is treated as sendClients',
    breaks:
      'A handler answers with a command the server does not know (`sendClient`, no s); the command enum stays at its default, SEND_CLIENTS, so the message is delivered to G anyway and T hears `good`.',
    seedQuote: {
      file: '003_3a374b41164679ce.txt',
      text: 'This response contains a few built-in commands that can tell the server, J, what to do with the message that S created ... These commands basically boil down to whether the generated message (by S) should be sent back to clients connected to the server J or if it should be sent to other servers',
      note: 'The bug itself is in the original besterd code of 2020 (src/protocols/bester/spec.md §7), not in the blog text.',
    },
    faithful: { profile: 'besterd-2020', scenario: 'bester/bug2-unknown-command-besterd-2020.yaml' },
    fixed: { profile: 'fixed', scenario: 'bester/bug2-unknown-command-fixed.yaml' },
    fix: 'Profile `fixed` (the default): the unknown command is refused (`bester.dispatch.failed`), T gets a `bad` status report and G receives nothing.',
    sign: { kind: 'deliver', node: 'g' },
    fuzz: { invariant: 'bester.known-commands-only', profile: 'besterd-2020', seed: 5 },
  },
  {
    protocol: 'bester',
    id: 'bester-bug3-isclient-inverted',
    title: 'Bester bug 3: the informer\u2019s isClient answers the wrong way round',
    breaks:
      'With only G connected, the informer says "g" is not a client and "nobody" is one: isClient compares usernames with cmp(...) the wrong way round.',
    seedQuote: {
      file: '003_3a374b41164679ce.txt',
      text: 'So the idea behind the bester protocol is that by itself it is pretty useless except for a few built-in commands for admin but those don\u2019t really do anything.',
      note: 'The bug itself is in the original besterd code of 2020 (src/protocols/bester/spec.md §7), not in the blog text.',
    },
    faithful: { profile: 'besterd-2020', scenario: 'bester/bug3-isclient-besterd-2020.yaml' },
    fixed: { profile: 'fixed', scenario: 'bester/bug3-isclient-fixed.yaml' },
    fix: 'Profile `fixed` (the default): isClient is true exactly for connected usernames ("g" true, "nobody" false).',
    sign: {
      kind: 'note',
      what: 'bester.informer.reply',
      detail: { request: { type: 'isClient', data: 'nobody' }, reply: { data: true } },
    },
    fuzz: { invariant: 'bester.informer-truthful', profile: 'besterd-2020', seed: 1 },
  },
  {
    protocol: 'bester',
    id: 'bester-bug4-handler-hang',
    title: 'Bester bug 4: a handler that never answers hangs its client (issue #10)',
    breaks:
      'Handler S takes 9 s to answer, nine times the timeout. The server waits on it with no timer: T hears nothing all that time, and m2, sent after m1 on the same connection, waits behind it undispatched; only S\u2019s late answer lets them go on. A handler that never answers hangs them for ever.',
    seedQuote: {
      file: '003_3a374b41164679ce.txt',
      text: 'J then sends the message to the respective handler (we will call it S) ... S then sends a response back to J',
      note: 'The hang is the original besterd code of 2020 (issue #10: an unreachable handler socket makes the server hang), not the blog text, which never says what happens when S does not answer.',
    },
    faithful: { profile: 'besterd-2020', scenario: 'bester/handler-hang-besterd-2020.yaml' },
    fixed: { profile: 'fixed', scenario: 'bester/handler-hang-fixed.yaml' },
    fix: 'Profile `fixed` (the default, spec.md §4): the server gives up on the handler at handlerTimeoutMs, T gets `bad` for m1 a second after sending it, m2 is dispatched next and gets its own `bad` a second later, and the handler\u2019s late answer goes nowhere.',
    sign: { kind: 'note', node: 't', what: 'bester.status', detail: { id: 'm1', status: 'good' } },
    fuzz: { invariant: 'bester.no-hang', profile: 'besterd-2020', seed: 6 },
  },
  {
    protocol: 'fmtp',
    id: 'fmtp-proxy-loop',
    title: 'FMTP: two proxies that route to each other loop forever',
    breaks:
      'poe.net asks its gateway p1 for x@nowhere.test; p1 routes *@* to p2 and p2 back to p1, both proxies. Each answers LOOKING and asks the other, again and again, until Poe\u2019s own wait runs out: Poe never hears FAILED.',
    seedQuote: {
      file: '000_4c29ce47ab4cea09.txt',
      text: '4. I will look for the object \u2022 Applies to 3 and 4. Wait for a response, and do not look further. If you are asking by proxy, you may consider the request closed.',
    },
    faithful: { profile: 'seed', scenario: 'fmtp/flaw-proxy-loop-seed.yaml' },
    fixed: { profile: 'fixed', scenario: 'fmtp/flaw-proxy-loop-fixed.yaml' },
    fix: 'Profile `fixed` (the default, spec.md §5.3): REQUESTs carry HOPS (8 at the origin, one less per proxy), the proxy given HOPS 0 answers FAILED hops.exhausted, and Poe gets that answer well before its own timeout.',
    sign: { kind: 'note', node: 'poe.net', what: 'fmtp.lookup.outcome', detail: { reason: 'looking.timeout' } },
    fuzz: { invariant: 'fmtp.proxy-bounded', profile: 'seed', seed: 1 },
  },
  {
    protocol: 'f140',
    id: 'f140-replay-redirect',
    title: 'F140: a replayed PING redirects a friend\u2019s messages',
    breaks:
      'The challenge and response travel in the clear, and an accepted PING re-points its sender\u2019s address. mallory replays bob\u2019s PING to alice with her own reply_to: alice\u2019s node points bob at m.test, and alice\u2019s next message to bob is delivered at mallory\u2019s node (which answers with the response it also saw). bob never gets it.',
    seedQuote: {
      file: '001_c4b417e4d5580241.txt',
      text: 'When contacting another node via a PING message, the user\u2019s node is essentially notifying the remote node of its current address and is requesting that any queued messages for the user be sent in return.',
    },
    faithful: { profile: 'seed', scenario: 'f140/flaw-replay-redirect-seed.yaml' },
    fixed: { profile: 'bound', scenario: 'f140/flaw-replay-redirect-fixed.yaml' },
    fix: 'Profile `bound` (opt-in, spec.md §8): every call carries a fresh nonce and, instead of the static challenge, an HMAC keyed with it over the call\u2019s arguments (reply_to among them); the answer is an HMAC too. A replay with another reply_to breaks the proof, a replay as it is finds its nonce taken, and neither secret ever travels.',
    sign: { kind: 'note', node: 'a.test', what: 'f140.ping.accepted', detail: { address: { host: 'm.test' } } },
    fuzz: { invariant: 'f140.no-redirect-by-replay', profile: 'seed', seed: 1 },
  },
  ambrosiaDomainHijack,
];

/** One run of a pair. */
export interface FindingRun {
  readonly scenario: string;
  readonly profile: string;
  readonly seed: number;
  readonly verdict: 'pass' | 'fail';
  readonly events: number;
  /** The trace, relative to the report directory. */
  readonly trace: string;
  readonly view: string;
  readonly failures: readonly string[];
  /** Whether the trace holds the flaw's sign (Flaw.sign). */
  readonly signSeen: boolean;
}

export interface Finding {
  readonly protocol: string;
  readonly id: string;
  readonly title: string;
  readonly breaks: string;
  readonly seedQuote: Flaw['seedQuote'];
  readonly faithful: FindingRun;
  readonly fixed: FindingRun;
  /** The event pattern that marks the flaw in a trace. */
  readonly sign: string;
  /** The faithful scenario (which asserts the flaw) passed, and its trace holds the sign. */
  readonly flawShown: boolean;
  /** The fixed scenario (which asserts the refusal) passed, and its trace does not hold the sign. */
  readonly fixRefuses: boolean;
  readonly fix: string;
  /** The first seed of the campaign on the faithful profile whose run breaks the flaw's invariant. */
  readonly fuzzSeed: number;
  readonly fuzzProfile: string;
  readonly fuzzInvariant: string;
  /** The command that runs that seed's campaign run (and shrinks it). */
  readonly fuzzCommand: string;
  /** The seed's run, replayed as drawn, broke the invariant (checked by every report). */
  readonly fuzzReplays: boolean;
  /** What that run broke, as `name: message`. */
  readonly fuzzFailures: readonly string[];
}

export interface FindingsReport {
  readonly findings: readonly Finding[];
}

/** A finished run and its trace text, for the caller to write at `trace` below the report directory. */
export interface FindingTrace {
  readonly path: string;
  readonly text: string;
}

function traceName(scenarioPath: string): string {
  return join('traces', scenarioPath.replace(/\.ya?ml$/, '.ndjson'));
}

function runOf(
  scenariosDir: string,
  outDir: string,
  side: { profile: string; scenario: string },
  sign: Readonly<Record<string, unknown>>,
  traces: FindingTrace[],
): FindingRun {
  const file = join(scenariosDir, side.scenario);
  const report: RunReport = runScenario(loadScenario(file));
  const trace = traceName(side.scenario);
  traces.push({ path: trace, text: report.trace.text() });
  return {
    scenario: file,
    profile: side.profile,
    seed: report.seed,
    verdict: report.verdict,
    events: report.trace.count,
    trace,
    view: `npx fedsim view ${join(outDir, trace)}`,
    failures: report.results.filter((r) => !r.ok).map((r) => `${r.expectation}: ${r.message}`),
    signSeen: report.trace.events.some((event) => eventMatches(event, sign)),
  };
}

/** The flaw's fuzz seed, replayed as drawn under its profile's campaign: one run, no shrinking. */
function replayFuzzSeed(flaw: Flaw): { replays: boolean; failures: readonly string[] } {
  const profile = fuzzProfileNamed(flaw.protocol, flaw.fuzz.profile);
  if (profile === undefined)
    return { replays: false, failures: [`no fuzz campaign for ${flaw.protocol} --profile ${flaw.fuzz.profile}`] };
  const run = replayUnshrunk(profile, flaw.fuzz.seed);
  return { replays: breaksInvariant(run, flaw.fuzz.invariant), failures: run.failures };
}

/** Runs every pair on its own seed. `outDir` only shapes the printed `fedsim view` commands. */
export function buildFindings(
  scenariosDir: string,
  outDir: string,
): { report: FindingsReport; traces: FindingTrace[] } {
  const traces: FindingTrace[] = [];
  const findings = flaws.map((flaw): Finding => {
    const faithful = runOf(scenariosDir, outDir, flaw.faithful, flaw.sign, traces);
    const fixed = runOf(scenariosDir, outDir, flaw.fixed, flaw.sign, traces);
    const fuzz = replayFuzzSeed(flaw);
    return {
      protocol: flaw.protocol,
      id: flaw.id,
      title: flaw.title,
      breaks: flaw.breaks,
      seedQuote: flaw.seedQuote,
      faithful,
      fixed,
      sign: describePattern(flaw.sign),
      flawShown: faithful.verdict === 'pass' && faithful.signSeen,
      fixRefuses: fixed.verdict === 'pass' && !fixed.signSeen,
      fix: flaw.fix,
      fuzzSeed: flaw.fuzz.seed,
      fuzzProfile: flaw.fuzz.profile,
      fuzzInvariant: flaw.fuzz.invariant,
      fuzzCommand: `npx fedsim fuzz ${flaw.protocol} --profile ${flaw.fuzz.profile} --seed ${flaw.fuzz.seed} --runs 1`,
      fuzzReplays: fuzz.replays,
      fuzzFailures: fuzz.failures,
    };
  });
  return { report: { findings }, traces };
}

function escapeHtml(text: string): string {
  return text
    .replace(/&/g, '&amp;')
    .replace(/</g, '&lt;')
    .replace(/>/g, '&gt;')
    .replace(/"/g, '&quot;')
    .replace(/'/g, '&#39;');
}

function runCell(run: FindingRun, ok: boolean, expect: string): string {
  const verdict = ok ? expect : `FAIL: ${[...run.failures, `sign ${run.signSeen ? 'seen' : 'not seen'}`].join('; ')}`;
  return [
    `<td><code>${escapeHtml(run.scenario)}</code><br>profile <code>${escapeHtml(run.profile)}</code>, seed ${run.seed}, ${run.events} events</td>`,
    `<td class="${ok ? 'pass' : 'fail'}">${escapeHtml(verdict)}</td>`,
    `<td><a href="${escapeHtml(run.trace)}">trace</a><br><code>${escapeHtml(run.view)}</code></td>`,
  ].join('');
}

/** The report as one self-contained HTML page. */
export function findingsHtml(report: FindingsReport): string {
  const sections = report.findings.map((finding) =>
    [
      `<section id="${escapeHtml(finding.id)}">`,
      `<h2>${escapeHtml(finding.title)}</h2>`,
      `<p><b>Protocol:</b> ${escapeHtml(finding.protocol)}</p>`,
      `<p><b>What breaks:</b> ${escapeHtml(finding.breaks)}</p>`,
      `<blockquote>${escapeHtml(finding.seedQuote.text)}<br><cite>seed ${escapeHtml(finding.seedQuote.file)}</cite></blockquote>`,
      finding.seedQuote.note ? `<p class="note">${escapeHtml(finding.seedQuote.note)}</p>` : '',
      '<table><tr><th></th><th>scenario</th><th>verdict</th><th>trace</th></tr>',
      `<tr><th>faithful</th>${runCell(finding.faithful, finding.flawShown, 'pass: the flaw is shown')}</tr>`,
      `<tr><th>fixed</th>${runCell(finding.fixed, finding.fixRefuses, 'pass: the fix refuses it')}</tr>`,
      '</table>',
      `<p><b>Sign in the trace:</b> <code>${escapeHtml(finding.sign)}</code> (seen under the faithful profile, not under the fixed one)</p>`,
      `<p><b>Fix:</b> ${escapeHtml(finding.fix)}</p>`,
      `<p><b>Found by fuzzing:</b> seed ${finding.fuzzSeed} of the campaign on profile <code>${escapeHtml(finding.fuzzProfile)}</code> breaks <code>${escapeHtml(finding.fuzzInvariant)}</code> `,
      `(<span class="${finding.fuzzReplays ? 'pass' : 'fail'}">${finding.fuzzReplays ? 'replayed: it still does' : 'replayed: it no longer does'}</span>); `,
      `run it with <code>${escapeHtml(finding.fuzzCommand)}</code></p>`,
      '</section>',
    ].join('\n'),
  );
  return [
    '<!doctype html>',
    '<html lang="en"><head><meta charset="utf-8"><title>fedsim findings</title>',
    '<style>body{font-family:sans-serif;max-width:70em;margin:auto}td,th{border:1px solid #ccc;padding:4px;vertical-align:top}',
    'table{border-collapse:collapse}.pass{color:#060}.fail{color:#a00}blockquote{border-left:3px solid #999;padding-left:8px;color:#333}</style>',
    '</head><body>',
    '<h1>fedsim findings: where the seed designs break</h1>',
    '<p>Each flaw is shown by a scenario under the faithful profile and refused by the same run under the fixed one (its pair). Replay any trace with the <code>npx fedsim view</code> command beside it.</p>',
    ...sections,
    '</body></html>',
    '',
  ].join('\n');
}
