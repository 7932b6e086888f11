/**
 * The Ambrosia conformance fixture (docs/conformance.md): the gateway configurations a target must
 * run (`fixtures.main`, `fixtures.bare`), the names and timers the cases count on.
 */
export const seed = 11;
export const target = 'b.test';
export const peerHost = 'peer.test';
export const secret = 'ambrosia';
/** The fixture's channel timers and chunk size: short and small, so that cases see them in seconds. */
export const ackTimeoutMs = 300;
export const chunkCharsMax = 64;
export const seeOtherHostTimeoutMs = 1_000;

export const mainFixture = {
  role: 'gateway',
  accounts: [
    { jid: 'bob@b.test', password: 'pb' },
    { jid: 'carol@b.test', password: 'pc' },
  ],
  // The cases log in byte by byte with SASL PLAIN (SCRAM has its own cases in the unit tests), and
  // there is no TLS yet: the fixture allows PLAIN on an unencrypted stream.
  plainWithoutTls: true,
  serviceSecret: secret,
  seeOtherHostTimeoutMs,
  chunkCharsMax,
  ackTimeoutMs,
  retransmitsMax: 5,
  ports: { c2s: 5222, s2s: 5269, service: 5347 },
};

/** The main fixture with STARTTLS on offer (RFC 6120 §5) and PLAIN only over TLS: the testbed's own targets only. */
export const tlsFixture = { ...mainFixture, tls: 'optional', plainWithoutTls: false };

/** The gateway with no configuration at all (seed: "it needs no configuration"). */
export const bareFixture = { role: 'gateway' };

/** How long a case waits to be sure that nothing (more) comes. */
export const quietMs = 400;
