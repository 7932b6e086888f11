/**
 * The F140 conformance suite (src/protocols/f140/spec.md): cases that call the target as a friend's
 * client (PING, MSG, bad requests) and serve it as the friend's server (what it pushes, how it retries).
 * Every case quotes the rule it checks with its section; answers are decoded with F140's own wire.ts.
 *
 * The target must be configured like `fixtures.main` (docs/conformance.md): user bob@b.test, friend
 * pat@peer.test. Cases that need to make the target send (queue, retry, expiry) need its control
 * channel: the simulator and RealHost targets have one, an external server does not (UNIMPLEMENTED).
 *
 * Parts: ./fixture.ts (the target's config), ./helpers.ts (requests, answers and waits), and the cases
 * by spec section: ./requests.ts (§1–§3), ./friends.ts (§4), ./queues.ts (§5).
 *
 * Must not: read a clock (waits go through the Peer), or judge by anything but the wire and the
 * target's outputs.
 */
import type { Peer } from '../../../conformance/peer.js';
import type { Suite } from '../../../conformance/types.js';
import { f140 } from '../index.js';
import { requirements } from '../requirements.js';
import { fixture } from './fixture.js';
import { friendCases } from './friends.js';
import { queueCases } from './queues.js';
import { requestCases } from './requests.js';

export const f140Suite: Suite<Peer> = {
  protocol: 'f140',
  title: 'F140',
  requirements,
  builtin: f140,
  scheme: 'http',
  target: { id: 'b.test', port: 8140 },
  peerHost: 'peer.test',
  fixtures: { main: fixture },
  seed: 140,
  cases: [...requestCases, ...friendCases, ...queueCases],
};
