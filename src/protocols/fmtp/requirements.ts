/**
 * FMTP requirements, h2spec style: each rule with its id, spec.md section, quoted text, level,
 * source (the seed, the public original wiki revisions, or our own choice) and the tests and
 * scenarios that cover it. The conformance matrix is generated from this list; it holds no logic.
 */

import type { Requirement } from '../requirements.js';

const node = 'test/protocols/fmtp/node.test.ts';
const poe = 'test/protocols/fmtp/poe-lenore.test.ts';
const wire = 'test/protocols/fmtp/wire.test.ts';
const sim = 'test/protocols/fmtp/sim.test.ts';
const real = 'test/protocols/fmtp/real.test.ts';
const property = `${sim} > every lookup ends in exactly one of the four outcomes within lookupMsMax, the run gets quiet, and nothing is taken from a peer whose hash failed (2-5 servers, random routes with loops, forged keys, faults that heal)`;

export const requirements: readonly Requirement[] = [
  {
    id: 'FMTP-lookup-order',
    section: '§5',
    text: 'When you want an object, you should look for it in this order: 1. Local cache 2. Object owner 3. MX server for object 4. gateway for object',
    level: 'MUST',
    source: 'seed',
    covers: [
      `${node} > step 1: a cached object is found without any query (1 node)`,
      `${node} > step 2: asks the owner at its cached route for an object it owns (2 nodes)`,
      `${node} > step 3: the MX server has the object: found, cached, and a second lookup hits the cache (2 nodes)`,
      `${node} > MX server down: the gateway is asked next and has the object (3 nodes)`,
      'scenarios/fmtp/gateway-route.yaml',
      'scenarios/fmtp/mx-down.yaml',
      'scenarios/fmtp/not-found.yaml',
      'scenarios/fmtp/poe-lenore.yaml',
    ],
  },
  {
    id: 'FMTP-outcome-failure',
    section: '§5.2',
    text: 'Failure: Could not connect to node. Applies to 2, 3, and 4.',
    level: 'MUST',
    source: 'seed',
    covers: [
      `${node} > failure: the MX server is down and the gateway too (3 nodes)`,
      'scenarios/fmtp/dns-timeout-retried.yaml',
      'scenarios/fmtp/forged-key.yaml',
      'scenarios/fmtp/mx-down.yaml',
      property,
      'scenarios/fmtp/retry-after-corrupt.yaml',
      'scenarios/fmtp/truncated-answer.yaml',
      'scenarios/fmtp/truncated-hello.yaml',
      'scenarios/fmtp/truncated-message.yaml',
      'scenarios/fmtp/truncated-welcome.yaml',
    ],
  },
  {
    id: 'FMTP-outcome-failure-next-step',
    section: '§5.2',
    text: 'A failure to connect at step 2 or 3 moves on to the next step; at step 4 it is the outcome.',
    level: 'MUST',
    source: 'ours',
    covers: [
      `${node} > MX server down: the gateway is asked next and has the object (3 nodes)`,
      'scenarios/fmtp/forged-key.yaml',
      'scenarios/fmtp/mx-down.yaml',
    ],
  },
  {
    id: 'FMTP-outcome-not-found',
    section: '§5.2',
    text: 'Object does not exist: For 1, proceed to 2. For 2, 3, or 4, give up.',
    level: 'MUST',
    source: 'seed',
    covers: [
      `${node} > object does not exist at the MX server: give up with notFound (2 nodes)`,
      'scenarios/fmtp/gateway-route.yaml',
      'scenarios/fmtp/not-found.yaml',
      property,
    ],
  },
  {
    id: 'FMTP-outcome-found-cache',
    section: '§5.2',
    text: 'I have object: Store object in local cache, and stop looking.',
    level: 'MUST',
    source: 'seed',
    covers: [
      `${node} > step 3: the MX server has the object: found, cached, and a second lookup hits the cache (2 nodes)`,
      'scenarios/fmtp/gateway-route.yaml',
      'scenarios/fmtp/poe-lenore.yaml',
      'scenarios/fmtp/proxy-looking.yaml',
      property,
    ],
  },
  {
    id: 'FMTP-outcome-looking',
    section: '§5.2',
    text: 'I will look for the object: Applies to 3 and 4. Wait for a response, and do not look further. If you are asking by proxy, you may consider the request closed.',
    level: 'MUST',
    source: 'seed',
    covers: [
      `${node} > "I will look": a proxy gateway answers LOOKING, looks further itself, and the final answer arrives (3 nodes)`,
      `${node} > "I will look" by proxy: a proxy asking another proxy considers its request closed and forwards the answer (4 nodes)`,
      'scenarios/fmtp/proxy-looking.yaml',
      property,
    ],
  },
  {
    id: 'FMTP-proxy-hops',
    section: '§5.3',
    text: 'A REQUEST carries HOPS, how many more proxies may look for it: a proxy asks onward with one less, and a proxy that would look but gets HOPS 0 answers FAILED hops.exhausted instead of LOOKING, so a route loop between proxies ends and the requester gets outcome failure.',
    level: 'MUST',
    source: 'ours',
    covers: [
      `${node} > a proxy given HOPS 0 answers FAILED hops.exhausted instead of LOOKING, and notes why (server, spec §5.3)`,
      `${node} > a proxy given HOPS 0 still answers from its own users and cache (server, spec §5.3)`,
      `${node} > proxy loop: two proxies routing *@* to each other stop after hopsMax and the requester fails with hops.exhausted (3 nodes, spec §5.3)`,
      `${node} > a chain of proxies longer than hopsMax ends at the proxy that gets HOPS 0 (hopsMax + 2 proxies, spec §5.3)`,
      'scenarios/fmtp/proxy-loop.yaml',
      'scenarios/fmtp/flaw-proxy-loop-fixed.yaml',
      property,
    ],
  },
  {
    id: 'FMTP-request-fields',
    section: '§3.2',
    text: 'A request looks like this: TYPE (REQUEST), FROM, OBJECT, TRANSACTION.',
    level: 'MUST',
    source: 'original',
    covers: [
      `${wire} > round-trips every frame type (property, 500 runs)`,
      'scenarios/fmtp/message-id-after-restart.yaml',
    ],
  },
  {
    id: 'FMTP-wire-strict',
    section: '§3',
    text: 'Any bytes give a frame or a typed wire error, never a throw; lines and blocks are bounded.',
    level: 'MUST',
    source: 'ours',
    covers: [
      `${wire} > never throws on random bytes and returns a typed WireError or frames (byte fuzz, 2000 runs)`,
      `${wire} > refuses a line past lineBytesMax before the line ends (bounded buffer)`,
      `${node} > refuses garbage and frames before the handshake with REFUSED and a close, never a throw (server)`,
    ],
  },
  {
    id: 'FMTP-routing-patterns',
    section: '§6',
    text: 'users that match *@splitreflection.com might go through one gateway, while *@* will go through another.',
    level: 'MUST',
    source: 'seed',
    covers: [
      `${node} > step 4: the first matching route picks the gateway (*@splitreflection.com before *@*) (3 nodes)`,
      'scenarios/fmtp/gateway-route.yaml',
      'scenarios/fmtp/proxy-looking.yaml',
    ],
  },
  {
    id: 'FMTP-key-dns',
    section: '§4',
    text: 'Poe.net looks up fmtpkey.lenore.org, and caches the public key.',
    level: 'MUST',
    source: 'seed',
    covers: [
      `${poe} > plays the seven steps in order and delivers over the logged-in connection (lost.lenore.org unreachable)`,
      'scenarios/fmtp/poe-lenore.yaml',
    ],
  },
  {
    id: 'FMTP-mutual-hash',
    section: '§4',
    text: "Poe: Hi, I'm poe.net. Here's my hash. Lenore verifies the hash. Lenore: I am lenore.org. Here's my hash. Poe verifies the hash.",
    level: 'MUST',
    source: 'seed',
    covers: [
      `${node} > accepts a HELLO signed by the key at fmtpkey.<domain> and answers WELCOME (server)`,
      `${poe} > plays the seven steps in order and delivers over the logged-in connection (lost.lenore.org unreachable)`,
      'scenarios/fmtp/forged-key.yaml',
      'scenarios/fmtp/poe-lenore.yaml',
      `${real} > RealHost in process: HELLO/WELCOME with verified hashes, then a lookup answered with OBJECT`,
    ],
  },
  {
    id: 'FMTP-bad-hash-refused',
    section: '§4',
    text: 'A hash that does not verify against the key at fmtpkey.<domain> gets REFUSED and a close; nothing from that peer is used.',
    level: 'MUST',
    source: 'ours',
    covers: [
      `${node} > refuses a HELLO whose hash does not verify against fmtpkey.<domain> (server, forged key)`,
      `${node} > a forged key is refused and nothing is taken from that peer (impostor MX for lenore.org, 2 nodes)`,
      'scenarios/fmtp/forged-key.yaml',
      property,
    ],
  },
  {
    id: 'FMTP-redirect',
    section: '§8',
    text: 'Lenore: This is lost@lenore.org. Connect to lost.lenore.org, port 8000 tcp',
    level: 'MUST',
    source: 'seed',
    covers: [
      `${poe} > delivers directly when lost.lenore.org is reachable (3 nodes, Recommended route)`,
      'scenarios/fmtp/poe-lenore.yaml',
    ],
  },
  {
    id: 'FMTP-reconnect-mx',
    section: '§8',
    text: 'Poe cannot reach lost.lenore.org, so reconnects to mail.lenore.org',
    level: 'MUST',
    source: 'seed',
    covers: [
      `${poe} > plays the seven steps in order and delivers over the logged-in connection (lost.lenore.org unreachable)`,
      'scenarios/fmtp/poe-lenore.yaml',
      'scenarios/fmtp/udp-route.yaml',
    ],
  },
  {
    id: 'FMTP-relay-logged-in',
    section: '§8',
    text: 'Lenore uses an existing logged-in connection from lost@lenore.org',
    level: 'MUST',
    source: 'seed',
    covers: [
      `${poe} > plays the seven steps in order and delivers over the logged-in connection (lost.lenore.org unreachable)`,
      'scenarios/fmtp/poe-lenore.yaml',
      'scenarios/fmtp/local-delivery.yaml',
    ],
  },
  {
    id: 'FMTP-refusal',
    section: '§7',
    text: 'BLACKLIST: space-separated address patterns; WHITELIST overrides the blacklist; POLICY: Accept / Reject / confirm for unlisted senders.',
    level: 'MUST',
    source: 'original',
    covers: [
      `${node} > refuses {"blacklist":["*@poe.net"]} with REJECTED sender-blacklisted, and the sender reports it`,
      `${node} > WHITELIST overrides BLACKLIST and POLICY REJECT`,
      'scenarios/fmtp/refused-sender.yaml',
      'scenarios/fmtp/local-delivery.yaml',
    ],
  },
  {
    id: 'FMTP-sender-authentic',
    section: '§7',
    text: 'A MESSAGE is accepted only from a verified peer of the sender domain, or from our own home server relaying.',
    level: 'MUST',
    source: 'ours',
    covers: [
      `${poe} > plays the seven steps in order and delivers over the logged-in connection (lost.lenore.org unreachable)`,
      'scenarios/fmtp/poe-lenore.yaml',
      'scenarios/fmtp/refused-sender.yaml',
    ],
  },
  {
    id: 'FMTP-deterministic',
    section: '§9',
    text: 'Keys and nonces come from the run seed: the same seed gives the same outputs.',
    level: 'MUST',
    source: 'ours',
    covers: [
      `${poe} > gives the same outputs for the same seed and different nonces for another seed (determinism)`,
      `${sim} > gives a byte-identical trace for the same seed (poe-lenore, twice)`,
    ],
  },
];
