/**
 * The Bester conformance suite (src/protocols/bester/spec.md): cases that log in to the target as its
 * clients, send it bad frames, play its handler processes on their local sockets, connect to it as
 * another server, serve it as the server it forwards to, and ask its informer. Every case quotes the
 * rule it checks with its section; frames are built and read with Bester's own wire.ts.
 *
 * The target must be configured like `fixtures.main` (./fixture.ts, docs/conformance.md): server b.test
 * on port 2223, profile fixed, handlers `relay`, `echo` and `absent` on local paths, and the informer
 * on its path. Cases that play a handler or the informer's client need the target host's local sockets
 * (src/conformance/local-peer.ts): the simulator and RealHost targets have them, an external server
 * does not (UNIMPLEMENTED). The `besterd-2020` variant is the same server under the faithful profile.
 *
 * Parts: ./fixture.ts (the target's config), ./helpers.ts (frames and waits), and the cases by spec
 * section: ./clients.ts (§2, §3), ./handlers.ts (§4), ./informer.ts (§6), ./profiles.ts (§7).
 *
 * Must not: read a clock (waits go through the Peer).
 */
import type { Peer } from '../../../conformance/peer.js';
import type { Suite } from '../../../conformance/types.js';
import { clientCases } from './clients.js';
import { suiteInfo } from './fixture.js';
import { handlerCases } from './handlers.js';
import { informerCases } from './informer.js';
import { profileCases } from './profiles.js';

export const besterSuite: Suite<Peer> = {
  ...suiteInfo,
  cases: [...clientCases, ...handlerCases, ...informerCases, ...profileCases],
};
