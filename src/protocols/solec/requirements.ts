/**
 * SOLEC requirements, h2spec style: each has an id, the spec.md section, the quoted text, its
 * level, where it comes from (the seed, the public original, or fedsim's own gap filling) and the
 * tests that cover it (file: test name). The conformance matrix is generated from this list.
 * Data only: no logic here.
 */

import type { Requirement } from '../requirements.js';

const wire = 'test/protocols/solec/wire.test.ts';
const serverNode = 'test/protocols/solec/server-node.test.ts';
const clientRelay = 'test/protocols/solec/client-relay.test.ts';
const federation = 'test/protocols/solec/federation.test.ts';
const property = 'test/protocols/solec/delivery.property.test.ts';
const sim = 'test/protocols/solec/sim.test.ts';
const real = 'test/protocols/solec/real.test.ts';
const frameReader = 'test/protocols/solec/frame-reader.test.ts';
/** A scenario file under scenarios/solec/. */
const scenario = (file: string) => `scenarios/solec/${file}`;

export const requirements: readonly Requirement[] = [
  {
    id: 'SOLEC-WIRE-FRAME',
    section: '2.1',
    text: 'Frame: uint8 payload type | uint16 payload length | payload bytes. All numeric types are big-endian.',
    level: 'MUST',
    source: 'original',
    covers: [`${wire}: writes the seed frame layout`, `${wire}: round trip (every payload type)`],
    scenarios: [scenario('client-login.yaml')],
  },
  {
    id: 'SOLEC-WIRE-SUCCESS-EMPTY',
    section: '2.2',
    text: 'Payload is always empty for this type.',
    level: 'MUST',
    source: 'seed',
    covers: [
      `${wire}: refuses a non-empty Success (attribute E)`,
      `${real}: closes the connection on non-empty Success and keeps serving`,
      `${clientRelay}: refuses at once a Success whose header announces a payload (payload.not-empty), and reconnects`,
    ],
    scenarios: [scenario('client-refuses-impossible-success.yaml')],
  },
  {
    id: 'SOLEC-WIRE-ATTRIBUTES',
    section: '2.2',
    text: 'S - Server: can be send only by a server; C - Client: can be send only by a client.',
    level: 'MUST',
    source: 'seed',
    covers: [
      `${wire}: refuses client-only payloads from a server`,
      `${serverNode}: rejects a server-only Error from a client`,
      `${real}: closes the connection on wrong-direction Error and keeps serving`,
    ],
    scenarios: [],
  },
  {
    id: 'SOLEC-WIRE-RESERVED',
    section: '2.2',
    text: 'Types 0x00 and 0xFF (Test) are marked R, reserved.',
    level: 'MUST',
    source: 'seed',
    covers: [
      `${wire}: refuses … reserved types 0x00 and 0xFF`,
      `${serverNode}: rejects a reserved payload type`,
      `${real}: closes the connection on reserved type 0xFF and keeps serving`,
    ],
    scenarios: [],
  },
  {
    id: 'SOLEC-WIRE-TOTAL',
    section: '2.3',
    text: 'Any bytes give a payload or a typed wire error; the decoder never throws or hangs, and holds at most one frame.',
    level: 'MUST',
    source: 'ours',
    covers: [`${wire}: random bytes …`, `${wire}: mutated valid frames …`],
    scenarios: [scenario('corrupted-frame.yaml')],
  },
  {
    id: 'SOLEC-WIRE-OVERSIZE',
    section: '2.3',
    text: 'A frame announcing a payload over payloadBytesMax is refused from its header, and the connection closed.',
    level: 'MUST',
    source: 'ours',
    covers: [
      `${wire}: refuses an oversize frame from its header alone`,
      `${serverNode}: rejects an oversize frame header`,
      `${real}: closes the connection on oversize length and keeps serving`,
    ],
    scenarios: [scenario('corrupted-frame.yaml')],
  },
  {
    id: 'SOLEC-BAD-INPUT-CLOSE',
    section: '2.3',
    text: 'Unknown types, wrong-direction payloads, malformed or unexpected payloads: reject and close that connection; the node keeps serving others.',
    level: 'MUST',
    source: 'ours',
    covers: [
      `${serverNode}: malformed input never takes it down`,
      `${clientRelay}: closes on a payload a server may not send a client`,
      `${real}: survives every malformed frame on one server in a row, then logs in`,
      `${frameReader}: refusing frames it cannot trust`,
      `${serverNode}: frames it cannot trust`,
      `${clientRelay}: closes a link whose frame stays unfinished for frameTimeoutMs and resends on a new connection`,
    ],
    scenarios: [
      scenario('client-closes-stalled-push.yaml'),
      scenario('client-refuses-impossible-success.yaml'),
      scenario('client-resends-after-corrupted-segment.yaml'),
      scenario('corrupted-frame.yaml'),
      scenario('server-closes-stalled-frame.yaml'),
    ],
  },
  {
    id: 'SOLEC-C2S-INIT',
    section: '4',
    text: 'Send [Handshake] … Send [UserAuth] … Send [Sucesss].',
    level: 'MUST',
    source: 'seed',
    covers: [
      `${serverNode}: logs a user in`,
      `${clientRelay}: connects, sends Handshake and UserAuth`,
      `${real}: logs two clients in and exchanges a Message between them`,
    ],
    scenarios: [
      scenario('bad-password.yaml'),
      scenario('client-login.yaml'),
      scenario('message-during-handshake.yaml'),
    ],
  },
  {
    id: 'SOLEC-VERSION-CLOSE',
    section: '4',
    text: 'If [ver_major] does not match server protocol version close the connection (client and server Handshakes alike).',
    level: 'MUST',
    source: 'seed',
    covers: [
      `${serverNode}: closes the connection without an answer on a ver_major mismatch`,
      `${clientRelay}: reports a close during initialisation`,
    ],
    scenarios: [scenario('version-mismatch.yaml'), scenario('s2s-version-mismatch.yaml')],
  },
  {
    id: 'SOLEC-USERAUTH-ERROR',
    section: '4',
    text: 'Send [Error 0x01] … Client auth failed. Invalid username or password.',
    level: 'MUST',
    source: 'seed',
    covers: [
      `${serverNode}: answers a bad password with Error 0x01`,
      `${clientRelay}: reports Error 0x01`,
      `${real}: answers a bad password with Error 0x01 and closes`,
    ],
    scenarios: [scenario('bad-password.yaml')],
  },
  {
    id: 'SOLEC-S2S-INIT',
    section: '5.1',
    text: 'Send [Handshake] … Send [ServerAuth] … Send [Sucesss].',
    level: 'MUST',
    source: 'seed',
    covers: [
      `${clientRelay}: opens a link, holds messages during ServerAuth`,
      `${federation}: delivers within one server and across servers`,
    ],
    scenarios: [scenario('cross-server-message.yaml'), scenario('impersonation-signed.yaml')],
  },
  {
    id: 'SOLEC-SERVERAUTH-UNKNOWN',
    section: '5.1',
    text: 'Send [Error 0x03] … If [name] is not present in known public keys list.',
    level: 'MUST',
    source: 'seed',
    covers: [
      `${serverNode}: answers ServerAuth from a name not in the known public keys list`,
      `${clientRelay}: on Error 0x03 rejects everything queued`,
    ],
    scenarios: [scenario('unknown-server.yaml')],
  },
  {
    id: 'SOLEC-SERVERAUTH-FLAW',
    section: '5.1',
    text: 'Under the seed profile any peer naming a known server is accepted as that server (faithful flaw, demonstrated).',
    level: 'MUST',
    source: 'seed',
    covers: [
      `${serverNode}: seed profile: accepts any peer that names a known server`,
      `${federation}: an impersonating server … accepted … (seed profile`,
    ],
    scenarios: [scenario('impersonation-seed.yaml')],
  },
  {
    id: 'SOLEC-SIGNED-SERVERAUTH',
    section: '5.2',
    text: "Under the signed profile the connecting server signs the verifier's nonce with the key of the name it claims; anything else gets Error 0x03.",
    level: 'MUST',
    source: 'ours',
    covers: [
      `${serverNode}: signed profile: refuses a peer that names a.test but cannot sign`,
      `${serverNode}: signed profile: accepts a.test's own signature`,
      `${clientRelay}: signed profile: answers the Challenge with a Proof`,
      `${federation}: an impersonating server … refused … (signed profile`,
    ],
    scenarios: [scenario('impersonation-signed.yaml')],
  },
  {
    id: 'SOLEC-SEQ-HOLD',
    section: '3',
    text: 'Payload that is not part of this specific operation (for example incoming message) cannot interrupt this process.',
    level: 'MUST',
    source: 'seed',
    covers: [
      `${serverNode}: holds a Message that arrives while the recipient is mid-login`,
      `${clientRelay}: holds a Message pushed while it waits for the answer to its own`,
      `${clientRelay}: opens a link, holds messages during ServerAuth`,
    ],
    scenarios: [scenario('client-login.yaml'), scenario('message-during-handshake.yaml')],
  },
  {
    id: 'SOLEC-S2S-RELAY',
    section: '5.3',
    text: 'Sending message to user residing on a different server require estabilishing a connection between both servers.',
    level: 'MUST',
    source: 'seed',
    covers: [`${federation}: delivers within one server and across servers`],
    scenarios: [scenario('cross-server-message.yaml'), scenario('relay-resend-after-reset.yaml')],
  },
  {
    id: 'SOLEC-EXACTLY-ONCE',
    section: '5.3',
    text: 'While both servers stay authenticated, a message accepted by its home server reaches its recipient exactly once, across connection resets.',
    level: 'MUST',
    source: 'ours',
    covers: [
      `${federation}: resends the message in flight after a reset`,
      `${clientRelay}: resends the message in flight`,
      `${property}: exactly once`,
      `${sim}: exactly once between mutually known servers`,
    ],
    scenarios: [scenario('cross-server-message.yaml'), scenario('relay-resend-after-reset.yaml')],
  },
  {
    id: 'SOLEC-NO-DELIVERY-UNAUTHENTICATED',
    section: '5.3',
    text: 'Nothing is delivered to or from a server that failed ServerAuth.',
    level: 'MUST',
    source: 'ours',
    covers: [
      `${clientRelay}: on Error 0x03 rejects everything queued`,
      `${property}: no delivery`,
      `${sim}: … none across a failed ServerAuth`,
    ],
    scenarios: [scenario('impersonation-signed.yaml'), scenario('unknown-server.yaml')],
  },
  {
    id: 'SOLEC-FROM-CHECK',
    section: '4, 5.3',
    text: 'A client may send only as itself (else Error 0x01); a server only for its own users (else Error 0x03).',
    level: 'MUST',
    source: 'ours',
    covers: [
      `${serverNode}: answers Error 0x02 for an unknown user, and Error 0x01 for a forged sender`,
      `${serverNode}: refuses a Message from an authenticated server for another server's users`,
    ],
    scenarios: [scenario('impersonation-seed.yaml')],
  },
  {
    id: 'SOLEC-MESSAGE-TIME',
    section: '2.2',
    text: 'A sender writes time_ms as whole milliseconds in 0..2^53-1; a clock that reads before the epoch writes 0.',
    level: 'MUST',
    source: 'ours',
    covers: [
      `${clientRelay}: writes time 0 for a clock that reads before the epoch, which the server accepts (spec §2.2)`,
    ],
    scenarios: [scenario('clock-before-epoch.yaml')],
  },
  {
    id: 'SOLEC-CLIENT-RECONNECT',
    section: '4.1',
    text: 'A logged-in client that loses its connection without asking reconnects with backoff, logs in again and sends the unanswered Message again with its id; the server drops a duplicate.',
    level: 'MUST',
    source: 'ours',
    covers: [
      `${clientRelay}: reconnects after losing an established connection and resends the unanswered Message with its id (spec §4.1)`,
      `${clientRelay}: gives up after attemptsMax lost connections in a row and reports the unsent Message`,
      `${clientRelay}: does not reconnect after a logout or a refused first login`,
      `${clientRelay}: closes a frame left unfinished for frameTimeoutMs, reconnects and resends the unanswered Message (spec §2.3, §4.1)`,
    ],
    scenarios: [
      scenario('client-closes-stalled-push.yaml'),
      scenario('client-refuses-impossible-success.yaml'),
      scenario('client-resends-after-corrupted-segment.yaml'),
      scenario('server-closes-stalled-frame.yaml'),
    ],
  },
];
