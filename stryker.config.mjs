// Generated mutants (Stryker Mutator), beside the hand-written suite in test/mutants/. Stryker copies
// the project into a sandbox, rewrites the protocol files below with every mutant switched in
// (mutation switching: each mutant runs when `__STRYKER_ACTIVE_MUTANT__` names it), and its command
// runner runs a short fuzz campaign of the protocol once per mutant: exit 1 (a run failed) is a
// killed mutant, exit 0 a surviving one. `fedsim` builds the sandbox's src/ into the sandbox's dist/
// once, at the dry run (the instrumented files never change after that, so the build key stays the
// same), and every mutant then runs that build. `npm run mutation:generated -- --protocol f140`
// (scripts/mutation-generated.mjs) picks the protocol; `npx stryker run` alone runs F140.
// docs/fuzzing.md ("Generated mutants") gives the figures.

/**
 * What is mutated per protocol: the logic a guarantee rests on (queues, dedup, relays, retries,
 * lookups, dispatch, stream management), with line ranges where a file also holds wire text or
 * descriptions, so that each protocol's campaign stays at about 110 to 210 mutants.
 */
export const mutateSets = {
  // How the peer link reads an answer (accepted, retried, refused) and which message a refusal drops,
  // the durable outbox, sequence and dedup window, and the server's MSG path (dedup, delivery).
  f140: [
    'src/protocols/f140/machines/peer.ts:100-135',
    'src/protocols/f140/store.ts:139-250',
    'src/protocols/f140/server.ts:205-236',
  ],
  // The relay's retries and hand-off of queued messages.
  solec: ['src/protocols/solec/machines/relay.ts:63-149'],
  // The dispatcher's routing of requests to handlers and of replies back to their clients.
  bester: ['src/protocols/bester/machines/dispatch.ts:97-235'],
  // The relay's queue, retries and bounces.
  fmtp: ['src/protocols/fmtp/machines/relay.ts:79-199'],
  // Stream management: the unacked queue, acks, and resumption.
  ambrosia: ['src/protocols/ambrosia/machines/sm.ts:64-210'],
};

/** Fuzz runs per mutant (a killed mutant stops at its first failed run). */
export const defaultRuns = 100;

/**
 * The Stryker options for one protocol.
 * @param {keyof typeof mutateSets} protocol
 * @param {number} runs
 */
export function strykerConfig(protocol, runs = defaultRuns) {
  const mutate = mutateSets[protocol];
  if (mutate === undefined) throw new Error(`no mutate set for protocol ${protocol}`);
  return {
    mutate,
    testRunner: 'command',
    commandRunner: {
      command: `node bin/fedsim.mjs fuzz ${protocol} --runs ${runs} --seed 1 --workers 1 --stop-after 1 --no-progress --out .stryker-out --summary .stryker-out`,
    },
    // The command runner cannot tell which mutants a campaign reached: every mutant runs it whole.
    coverageAnalysis: 'off',
    // Strings are refusal texts, note details and trace names; mutating them gives equivalent mutants.
    mutator: { excludedMutations: ['StringLiteral'] },
    // Two cores are shared: one sandbox, one campaign at a time.
    concurrency: 1,
    // A mutant that loops (a retry that never backs off) is a timeout, counted as detected.
    timeoutMS: 60_000,
    timeoutFactor: 2,
    // The sandbox needs src/, bin/, scenarios/ and package.json; node_modules is linked, not copied.
    ignorePatterns: ['dist', 'viz', 'test', 'reports', 'docs', 'examples', '.ci'],
    tempDirName: '.stryker-tmp',
    plugins: [],
    reporters: ['html', 'json', 'clear-text', 'progress'],
    htmlReporter: { fileName: `reports/mutation/${protocol}/index.html` },
    jsonReporter: { fileName: `reports/mutation/${protocol}/mutation.json` },
    clearTextReporter: { allowColor: false, logTests: false },
  };
}

export default strykerConfig('f140');
