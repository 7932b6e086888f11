// The layering rule: imports point down only (docs/architecture.md draws the layers). Every rule
// below names a layer and what it may not import; `npm run lint` fails on any violation, and
// test/layering.test.ts proves it does by planting an upward import.
//
//   cli/ bench/ view/                top: may import anything below (bench never imports cli)
//   scenario/ check/ fuzz/ conformance/, protocols/{registry,plugin}.ts,
//   protocols/<p>/{invariants,fuzz,conformance}, protocols/<p>/index.ts (the plugin)   the harness
//   sim/ | real/ | process/          hosts (none imports another; process/ runs external node processes)
//   trace/                           trace events and the recorder (the hosts record)
//   protocols/<p>/ (the rest)        sans-IO protocol cores (no protocol imports another)
//   engine/                          the statechart engine
//   protocols/*.ts                   the node contract and its shared helpers
//   core/                            no dependencies
const core = '^src/core/';
const contract = '^src/protocols/(protocol|durable-window|requirements)\\.ts$';
const engine = '^src/engine/';
// A protocol folder's index.ts exports its plugin (src/protocols/plugin.ts), which gathers the harness parts.
const protocolHarnessPart = '^src/protocols/[^/]+/(invariants|fuzz|conformance|index)(\\.ts$|/)';
const trace = '^src/trace/';
const hosts = '^src/(sim|real|process)/';
const harness = `^src/(scenario|check|fuzz|conformance)/|^src/protocols/(registry|plugin)\\.ts$|${protocolHarnessPart}`;
const top = '^src/(cli|bench|view)/';

/** A rule that `from` may import nothing matching any of `to`. */
const forbid = (name, comment, from, to, extra = {}) => ({
  name,
  comment,
  severity: 'error',
  from: { path: from, ...(extra.fromNot ? { pathNot: extra.fromNot } : {}) },
  to: { path: to.join('|'), ...(extra.toNot ? { pathNot: extra.toNot } : {}) },
});

module.exports = {
  forbidden: [
    forbid('core-imports-nothing', 'core/ is the floor: it imports no other part of fedsim.', core, ['^src/(?!core/)']),
    forbid(
      'contract-imports-core-only',
      'The node contract (protocols/protocol.ts and its shared helpers) stands on core/ and names the engine type (engine/engine.ts).',
      contract,
      ['^src/(?!core/|engine/engine\\.ts$|protocols/(protocol|durable-window|requirements)\\.ts$)'],
    ),
    forbid('engine-below-protocols', 'The engine runs statecharts; it knows no protocol, host or harness.', engine, [
      '^src/(?!core/|engine/|protocols/(protocol|durable-window|requirements)\\.ts$)',
    ]),
    forbid(
      'protocol-core-is-sans-io',
      "A protocol's sans-IO core imports only core/, engine/, the contract and its own folder.",
      '^src/protocols/[^/]+/',
      ['^src/(?!core/|engine/|protocols/)', '^src/protocols/(registry|plugin)\\.ts$'],
      { fromNot: protocolHarnessPart },
    ),
    forbid(
      'protocols-stay-apart',
      'No protocol folder imports another protocol folder.',
      '^src/protocols/([^/]+)/',
      ['^src/protocols/[^/]+/'],
      { toNot: '^src/protocols/$1/' },
    ),
    forbid(
      'protocol-core-never-imports-its-harness-parts',
      "A protocol's core does not import its own invariants, fuzz profile or conformance cases.",
      '^src/protocols/[^/]+/',
      [protocolHarnessPart],
      { fromNot: protocolHarnessPart },
    ),
    forbid('trace-below-hosts', 'trace/ (events, recorder, exporters) imports only core/ and the contract.', trace, [
      '^src/(?!core/|trace/|protocols/protocol\\.ts$)',
    ]),
    forbid('hosts-below-harness', 'The hosts run nodes; they know no harness, CLI or other host.', hosts, [
      harness,
      top,
      '^src/protocols/[^/]+/',
    ]),
    forbid('sim-and-real-apart', 'The simulator and the real host do not import each other.', '^src/sim/', [
      '^src/real/',
    ]),
    forbid(
      'process-nodes-apart',
      'External process nodes and the two hosts do not import each other.',
      '^src/process/',
      ['^src/(sim|real)/'],
    ),
    forbid(
      'hosts-do-not-import-process-nodes',
      'The hosts run any ProtocolNode; they know nothing of processes.',
      '^src/(sim|real)/',
      ['^src/process/'],
    ),
    forbid('real-and-sim-apart', 'The real host and the simulator do not import each other.', '^src/real/', [
      '^src/sim/',
    ]),
    forbid('harness-below-cli', 'The harness is used by the CLI and the bench, never the other way.', harness, [top]),
    forbid('bench-below-cli', 'The bench is a library the CLI calls; it never imports the CLI.', '^src/bench/', [
      '^src/cli/',
    ]),
    forbid('src-never-imports-tests', 'Nothing under src/ imports tests, scripts or the viewer.', '^src/', [
      '^(test|scripts|viz)/',
    ]),
    forbid('viewer-reads-trace-types-only', 'The viewer imports only the trace format from src/.', '^viz/', [
      '^src/(?!trace/events\\.ts$)',
    ]),
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '(^|/)(dist|node_modules)/' },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
  },
};
