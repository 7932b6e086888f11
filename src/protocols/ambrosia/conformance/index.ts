/**
 * The Ambrosia conformance suite (src/protocols/ambrosia/spec.md): cases that log in to the gateway as
 * XMPP clients (c2s), connect to it as a remote server (s2s) and as IM services (the service channel),
 * send it bad XML, and serve it as the remote domain it connects out to. Every case quotes the rule it
 * checks with its section; streams are read with Ambrosia's own wire.ts parser and the channel's chunk
 * helpers (wire.ts), and stanzas are written with its writer.
 *
 * The target must be configured like `fixtures.main` (docs/conformance.md): gateway b.test with accounts
 * bob@b.test (pb) and carol@b.test (pc), service secret `ambrosia`, chunkCharsMax 64, ackTimeoutMs 300,
 * seeOtherHostTimeoutMs 1000; `peer.test` resolves to the peer (A), `far.test` has MX 10 peer.test.
 * The testbed's targets run the gateway behind a one-port wrapper (./target.ts), so that every
 * stream reaches it through the Peer's one connection port; against an external server only that port
 * (c2s) is reachable, and the cases that need the service or s2s port are UNIMPLEMENTED there.
 *
 * The cases are in ./c2s.ts, ./routing.ts and ./channel.ts; what they speak with in ./streams.ts.
 *
 * Must not: read a clock (waits go through the Peer).
 */
import type { Peer } from '../../../conformance/peer.js';
import type { Suite } from '../../../conformance/types.js';
import { requirements } from '../requirements.js';
import { c2sCases } from './c2s.js';
import { channelCases } from './channel.js';
import { bareFixture, mainFixture, peerHost, seed, target, tlsFixture } from './fixture.js';
import { routingCases } from './routing.js';
import { ambrosiaTarget } from './target.js';

const cases = [...c2sCases, ...routingCases, ...channelCases];

export const ambrosiaSuite: Suite<Peer> = {
  protocol: 'ambrosia',
  title: 'Ambrosia',
  requirements,
  builtin: ambrosiaTarget,
  scheme: 'tcp',
  target: { id: target, port: 5222 },
  peerHost,
  fixtures: { main: mainFixture, bare: bareFixture, tls: tlsFixture },
  seed,
  cases,
};
