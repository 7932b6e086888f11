/**
 * The fixture the F140 conformance cases expect of their target (docs/conformance.md): user bob@b.test
 * on port 8140 with one friend, pat@peer.test (the peer plays pat's node), in one group, and short
 * timers so that real-socket runs take seconds.
 */
export const bob = 'bob@b.test';
export const pat = 'pat@peer.test';
export const stranger = 'mallory@evil.test';
/** pat calls bob with this challenge and expects this response (bob's `inbound` for pat). */
export const patToBob = { challenge: 'c-pb', response: 'r-pb' };
/** bob calls pat with this challenge and expects this response (bob's `outbound` for pat). */
export const bobToPat = { challenge: 'c-bp', response: 'r-bp' };
export const peerPort = 8140;

/** Timers of the fixture, short so that real-socket runs take seconds (each case says what it allows). */
export const retryMsBase = 1_000;
export const retryMsMax = 2_000;
export const requestTimeoutMs = 1_000;
export const queueExpiryMs = 2_500;

export const fixture = {
  port: 8140,
  users: [
    {
      name: bob,
      friends: [{ user: pat, host: 'peer.test', port: peerPort, outbound: bobToPat, inbound: patToBob }],
      groups: { close: [pat] },
    },
  ],
  retryMsBase,
  retryMsMax,
  requestTimeoutMs,
  queueExpiryMs,
  announce: false,
};
