/**
 * The FMTP conformance suite (src/protocols/fmtp/spec.md): cases that greet the target as another
 * server (HELLO), ask it for objects (REQUEST), send it MESSAGEs and bad bytes, log in to it as one of
 * its users, and serve it as the owner, MX server and gateways it dials while it looks objects up.
 * Every case quotes the rule it checks with its section; frames are built and read with FMTP's own
 * wire.ts, and hashes made and checked with its keys.ts.
 *
 * The target must be configured like `fixtures.main`: domain b.test on port 7465, proxying, with the
 * users, cache and routes of fixture.ts, and its key published at `fmtpkey.b.test`. Its DNS zone must hold
 * `peerRecords` (the peer's key under every domain it plays, the key of the user's node lost@b.test,
 * and the MX records of own.test and far.test), and `peer.test` must reach the peer, which listens on
 * 127.0.0.1 ports 7465 (MX), 7466 (owner, direct route), 7467 and 7468 (gateways). An external server
 * also sets `secretKeyHex: targetSecretKeyHex` (the key the seed gives b.test). The suite's
 * `builtin` is FMTP with those records added to what the node publishes, so the simulator and
 * RealHost targets get them. Cases that send as the target (a `send` command) or read its notes need
 * its control channel: an external server gives UNIMPLEMENTED there.
 *
 * Parts: `fixture.ts` (the target's config, the peer's keys and ports, the zone), `exchange.ts` (the
 * peer's moves every case shares), and the cases by section in `handshake.ts`, `lookup.ts` and
 * `messages.ts`, run in that order.
 *
 * Must not: read a clock (waits go through the Peer), or judge by anything but the wire and the
 * target's outputs.
 */
import type { Peer } from '../../../conformance/peer.js';
import type { Suite } from '../../../conformance/types.js';
import { fmtp } from '../index.js';
import { requirements } from '../requirements.js';
import { mainFixture, peerHost, seed, target, withPeerRecords } from './fixture.js';
import { handshakeCases } from './handshake.js';
import { lookupCases } from './lookup.js';
import { messageCases } from './messages.js';

export { peerRecords, targetSecretKeyHex, withPeerRecords } from './fixture.js';

export const fmtpSuite: Suite<Peer> = {
  protocol: 'fmtp',
  title: 'FMTP',
  requirements,
  builtin: withPeerRecords(fmtp),
  scheme: 'tcp',
  target: { id: target, port: 7465 },
  peerHost,
  fixtures: { main: mainFixture },
  seed,
  cases: [...handshakeCases, ...lookupCases, ...messageCases],
};
