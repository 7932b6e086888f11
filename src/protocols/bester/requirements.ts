/**
 * Bester requirements (h2spec style): id, spec.md section, quoted text, level, where the text comes
 * from, and the tests that cover it. The conformance matrix is generated from this list; it must
 * not hold any logic.
 */

export interface Requirement {
  readonly id: string;
  /** Section of ./spec.md. */
  readonly section: string;
  readonly text: string;
  readonly level: 'MUST' | 'SHOULD';
  /** seed: the blog post; original: besterd HEAD / blog Part 2; ours: a gap we filled. */
  readonly source: 'seed' | 'original' | 'ours';
  /** Test files (under test/protocols/bester/) and test names that cover it. */
  readonly coveredBy: readonly string[];
  /** Scenario names (scenarios/bester/<name>.yaml) whose `covers` lists this id; sim.test.ts checks both sides agree. */
  readonly scenarios: readonly string[];
}

export const requirements: readonly Requirement[] = [
  {
    id: 'BESTER-2-frame',
    section: '§2',
    text: 'Every hop carries a 4 byte size header (in little endian) followed by UTF-8 JSON.',
    level: 'MUST',
    source: 'original',
    coveredBy: ['wire.test.ts: writes a 4-byte little-endian length', 'wire.test.ts: round-trips any JSON values'],
    scenarios: ['bester/blog-part1-afrikaans'],
  },
  {
    id: 'BESTER-2-decoder-total',
    section: '§2',
    text: 'Any bytes give frames or a typed wire error; a frame over frameBytesMax or a negative length is refused.',
    level: 'MUST',
    source: 'ours',
    coveredBy: [
      'wire.test.ts: never throws',
      'wire.test.ts: refuses a negative length',
      'fuzz.test.ts',
      'sim.test.ts: servers survive rogue frames',
    ],
    scenarios: ['bester/malformed-json'],
  },
  {
    id: 'BESTER-3-auth',
    section: '§3',
    text: 'The first client message with scope "client" and credentials is answered by a status report good with id auth_special; its payload is not dispatched.',
    level: 'MUST',
    source: 'original',
    coveredBy: ['server.test.ts: answers a client first message with status good id auth_special'],
    scenarios: ['bester/blog-part1-afrikaans'],
  },
  {
    id: 'BESTER-3-refuse-silently',
    section: '§3',
    text: 'Refused credentials, an unknown scope, bad JSON or a message without header, type, id or data close the connection without an error frame.',
    level: 'MUST',
    source: 'original',
    coveredBy: [
      'server.test.ts: closes silently on a first message',
      'server.test.ts: closes the connection on a later message',
      'server.test.ts: closes the connection on malformed JSON',
      'fuzz.test.ts: closes a client connection without an error frame',
    ],
    scenarios: ['bester/malformed-json', 'bester/missing-fields'],
  },
  {
    id: 'BESTER-3-builtins',
    section: '§3',
    text: 'type "dummy" gets the dummy reply with the message id; type "builtin" with command close ends the connection.',
    level: 'MUST',
    source: 'original',
    coveredBy: ['server.test.ts: answers dummy', 'server.test.ts: closes the connection on builtin close'],
    scenarios: ['bester/unknown-type'],
  },
  {
    id: 'BESTER-3-unknown-type',
    section: '§3',
    text: 'A message whose type has no handler gets a status report bad.',
    level: 'MUST',
    source: 'original',
    coveredBy: ['server.test.ts: gives an unknown message type a bad status report'],
    scenarios: ['bester/unknown-type'],
  },
  {
    id: 'BESTER-4-handler-dispatch',
    section: '§4',
    text: 'which sub-protocol this message is encoded with and to which messgage handler the message should be dispatched to: one new local connection per message carrying only payload.data.',
    level: 'MUST',
    source: 'seed',
    coveredBy: ['server.test.ts: runs the handler round trip', 'federation.test.ts: blog Part 1'],
    scenarios: ['bester/blog-part1-afrikaans', 'bester/blog-part2-federation-fixed'],
  },
  {
    id: 'BESTER-4-sendClients',
    section: '§4',
    text: 'command the server J ... to use the sendClients command to forward it to the correct client attached to the local server J, in this case, client G.',
    level: 'MUST',
    source: 'seed',
    coveredBy: ['server.test.ts: runs the handler round trip', 'federation.test.ts: blog Part 1'],
    scenarios: ['bester/blog-part1-afrikaans', 'bester/blog-part2-federation-fixed', 'bester/handler-down'],
  },
  {
    id: 'BESTER-4-sendServers',
    section: '§4',
    text: 'sendServers opens one scope "server" connection per "host:port", sends one message and closes; the receiver dispatches it to its handler of the same type.',
    level: 'MUST',
    source: 'original',
    coveredBy: [
      'server.test.ts: forwards sendServers as one scope-server connection per server',
      'server.test.ts: dispatches a scope-server message with an id',
      'federation.test.ts: blog Part 2 (fixed)',
    ],
    scenarios: [
      'bester/blog-part2-federation-besterd-2020',
      'bester/blog-part2-federation-fixed',
      'bester/federation-partition-fixed',
    ],
  },
  {
    id: 'BESTER-4-sendHandler',
    section: '§4',
    text: 'sendHandler passes the reply data to another handler and runs its reply recursively with the same message id.',
    level: 'MUST',
    source: 'original',
    coveredBy: ['server.test.ts: chains sendHandler', 'federation.test.ts: blog Part 2 (fixed)'],
    scenarios: ['bester/blog-part2-federation-besterd-2020', 'bester/blog-part2-federation-fixed'],
  },
  {
    id: 'BESTER-4-no-hang',
    section: '§4',
    text: 'A handler that is down, slow (handlerTimeoutMs), closes early, answers badly, or a sendHandler cycle past hopsMax gives a bad status report, never a hung server.',
    level: 'MUST',
    source: 'ours',
    coveredBy: [
      'server.test.ts: gives a bad status report when the handler is down',
      'server.test.ts: gives a bad status report when the handler is slow',
      'server.test.ts: ends a sendHandler cycle',
      'federation.test.ts: a slow handler',
      'fuzz.test.ts: never leaves a dispatch hanging',
      'sim.test.ts: one status report per message after the heal',
    ],
    scenarios: [
      'bester/bug2-unknown-command-fixed',
      'bester/federation-partition-fixed',
      'bester/handler-down',
      'bester/handler-slow',
    ],
  },
  {
    id: 'BESTER-4-delivery',
    section: '§4',
    text: 'Every message reaches exactly the clients its handler chain names (fixed profile).',
    level: 'MUST',
    source: 'ours',
    coveredBy: [
      'federation.test.ts: delivery property',
      'sim.test.ts: every message reaches only the clients its handler chain names',
    ],
    scenarios: ['bester/blog-part2-federation-fixed', 'bester/federation-partition-fixed'],
  },
  {
    id: 'BESTER-6-informer',
    section: '§6',
    text: 'The informer answers listClients, isClient, serverInfo and ends the session on quit.',
    level: 'MUST',
    source: 'original',
    coveredBy: ['server.test.ts: answers the informer', 'server.test.ts: bug 3'],
    scenarios: ['bester/bug3-isclient-besterd-2020', 'bester/bug3-isclient-fixed'],
  },
  {
    id: 'BESTER-7-bug1-forward-id',
    section: '§7',
    text: 'fixed forwards the message id with sendServers; besterd-2020 omits it and the receiver drops the message.',
    level: 'MUST',
    source: 'ours',
    coveredBy: [
      'server.test.ts: forwards sendServers',
      'server.test.ts: drops a scope-server message without an id',
      'federation.test.ts: blog Part 2 (besterd-2020, bug 1)',
    ],
    scenarios: ['bester/blog-part2-federation-besterd-2020', 'bester/blog-part2-federation-fixed'],
  },
  {
    id: 'BESTER-7-bug2-unknown-command',
    section: '§7',
    text: 'fixed answers an unknown handler command with a bad status report; besterd-2020 runs it as sendClients.',
    level: 'MUST',
    source: 'ours',
    coveredBy: ['server.test.ts: bug 2'],
    scenarios: ['bester/bug2-unknown-command-besterd-2020', 'bester/bug2-unknown-command-fixed'],
  },
  {
    id: 'BESTER-7-bug3-isclient',
    section: '§7',
    text: 'fixed isClient is true exactly for connected usernames; besterd-2020 answers the wrong way round.',
    level: 'MUST',
    source: 'ours',
    coveredBy: ['server.test.ts: bug 3'],
    scenarios: ['bester/bug3-isclient-besterd-2020', 'bester/bug3-isclient-fixed'],
  },
];
