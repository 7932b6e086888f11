/**
 * Ambrosia requirements, h2spec style: id, spec section (of ./spec.md), quoted text, level, where the
 * text comes from, and the tests that cover it. The conformance runner and reports read this list;
 * it must not hold test logic.
 */

import type { Requirement } from '../requirements.js';

const wire = 'test/protocols/ambrosia/wire.test.ts';
const node = 'test/protocols/ambrosia/node.test.ts';
const federation = 'test/protocols/ambrosia/federation.test.ts';
const sim = 'test/protocols/ambrosia/sim.test.ts';
const channel = 'test/protocols/ambrosia/channel.test.ts';
/** A scenario file under scenarios/ambrosia/ (run by `fedsim run` and by sim.test.ts). */
const scenario = (file: string) => `scenarios/ambrosia/${file}`;

export const requirements: readonly Requirement[] = [
  {
    id: 'AMB-3-no-config',
    section: '§3',
    text: 'launch the gateway process. it needs no configuration.',
    level: 'MUST',
    source: 'seed',
    covers: [`${node}: listens on 5222, 5269 and 5347 with no configuration at all`, scenario('seven-steps.yaml')],
  },
  {
    id: 'AMB-3-c2s-sasl-bind',
    section: '§3',
    text: 'a client connects to the gateway, the gateway authenticates it (RFC 6120 §6 SASL, §7 resource binding).',
    level: 'MUST',
    source: 'seed',
    covers: [
      `${node}: negotiates a stream`,
      `${federation}: runs the seed seven steps`,
      scenario('see-other-host.yaml'),
      scenario('seven-steps.yaml'),
    ],
  },
  {
    id: 'AMB-3-stamp-from',
    section: '§3',
    text: 'the server MUST stamp the full JID of the sender in the from attribute (RFC 6120 §8.1.2.1).',
    level: 'MUST',
    source: 'original',
    covers: [`${node}: negotiates a stream`, scenario('seven-steps.yaml')],
  },
  {
    id: 'AMB-6-valid-from',
    section: '§6',
    text: 'A client delivers a message only when its from is a valid full user JID (local@domain/resource, RFC 7622 subset); otherwise it rejects it (ambrosia.message.bad-from).',
    level: 'MUST',
    source: 'ours',
    covers: [
      `${wire}: validJid accepts fedsim's JIDs and refuses what RFC 7622 forbids`,
      scenario('client-refuses-corrupted-from.yaml'),
    ],
  },
  {
    id: 'AMB-3-stream-errors',
    section: '§3',
    text: 'bad XML gets the stream error RFC 6120 §4.9.3 names, never a crash.',
    level: 'MUST',
    source: 'original',
    covers: [
      `${node}: answers malformed XML`,
      `${node}: sends the header before the stream error`,
      `${wire}: names the RFC 6120 condition`,
      `${wire}: never throws`,
    ],
  },
  {
    id: 'AMB-3-see-other-host',
    section: '§3',
    text: 'if a user is unknown, ask a service for a see-other-host value',
    level: 'MUST',
    source: 'seed',
    covers: [
      `${node}: asks the registered service about an unknown user`,
      `${node}: fails SASL with not-authorized when the service does not answer`,
      scenario('see-other-host.yaml'),
    ],
  },
  {
    id: 'AMB-3-route-to-service',
    section: '§3',
    text: 'packets received from a remote client or domain is delivered to the service',
    level: 'MUST',
    source: 'seed',
    covers: [
      `${federation}: runs the seed seven steps`,
      scenario('round-robin.yaml'),
      scenario('seven-steps.yaml'),
      `${sim}: acked stanzas reach one registered service exactly once (property)`,
    ],
  },
  {
    id: 'AMB-3-route-out',
    section: '§3',
    text: 'packets sent from the service are routed out the gateway',
    level: 'MUST',
    source: 'seed',
    covers: [
      `${federation}: runs the seed seven steps`,
      `${federation}: delivers between two users of one domain`,
      scenario('lost-ack.yaml'),
      scenario('round-robin.yaml'),
      scenario('seven-steps.yaml'),
    ],
  },
  {
    id: 'AMB-3-round-robin',
    section: '§3',
    text: 'if there are multiple services registered with the same domain name, the gateway picks one (round robin load balance, or whatever)',
    level: 'MUST',
    source: 'seed',
    covers: [
      `${federation}: shares load round robin`,
      scenario('round-robin.yaml'),
      scenario('service-crash-failover.yaml'),
      `${sim}: acked stanzas reach one registered service exactly once (property)`,
    ],
  },
  {
    id: 'AMB-3-failover',
    section: '§3',
    text: 'when a service disconnects, every stanza it had not acked is routed again; acked stanzas are never resent.',
    level: 'MUST',
    source: 'ours',
    covers: [
      `${federation}: fails over the unacked stanza`,
      scenario('service-crash-failover.yaml'),
      `${sim}: acked stanzas reach one registered service exactly once (property)`,
    ],
  },
  {
    id: 'AMB-3-s2s-dns',
    section: '§3',
    text: 'make outgoing xmpp-server connections if necessary (found by MX, then A; our DNS has no SRV).',
    level: 'MUST',
    source: 'seed',
    covers: [`${node}: negotiates a stream`, `${federation}: runs the seed seven steps`, scenario('seven-steps.yaml')],
  },
  {
    id: 'AMB-4-mutual-auth',
    section: '§4.2',
    text: 'mutual-auth encrypted channel from service to gateway (handshake proofs both ways; encryption left to the transport).',
    level: 'MUST',
    source: 'seed',
    covers: [
      `${node}: asks the registered service about an unknown user`,
      `${node}: retransmits an unacked stanza`,
      scenario('see-other-host.yaml'),
      scenario('seven-steps.yaml'),
    ],
  },
  {
    id: 'AMB-4-register',
    section: '§4.3',
    text: 'register any number of domain/type pairs to handle',
    level: 'MUST',
    source: 'seed',
    covers: [
      `${federation}: runs the seed seven steps`,
      `${federation}: delivers between two users of one domain`,
      scenario('round-robin.yaml'),
      scenario('service-crash-failover.yaml'),
      scenario('seven-steps.yaml'),
    ],
  },
  {
    id: 'AMB-4-chunking',
    section: '§4.4',
    text: "stanzas should be chunked so that large stanzas don't block the channel",
    level: 'SHOULD',
    source: 'seed',
    covers: [
      `${federation}: chunks a stanza larger than one chunk`,
      `${wire}: splits a stanza into chunks`,
      `${channel}: writes only while below the mark, round robin between stanzas`,
      `${channel}: handles a small stanza interleaved in a large one at once`,
      scenario('large-stanza.yaml'),
      scenario('chunk-interleave.yaml'),
    ],
  },
  {
    id: 'AMB-4-acks',
    section: '§4.5',
    text: 'acking of all stanzas (XEP-0198 counters; unacked stanzas retransmitted after ackTimeoutMs, duplicates dropped)',
    level: 'MUST',
    source: 'seed',
    covers: [
      `${node}: retransmits an unacked stanza`,
      `${channel}: a retransmission drops what still waited`,
      `${channel}: a stanza ahead of the counter with nothing in progress is a gap`,
      `${federation}: runs the seed seven steps`,
      scenario('large-stanza.yaml'),
      scenario('lost-ack.yaml'),
      scenario('service-crash-failover.yaml'),
      scenario('seven-steps.yaml'),
      `${sim}: acked stanzas reach one registered service exactly once (property)`,
    ],
  },
  {
    id: 'AMB-W-round-trip',
    section: '§3',
    text: 'the writer escapes so that any element tree parses back to itself.',
    level: 'MUST',
    source: 'ours',
    covers: [`${wire}: round-trips any element tree`, scenario('large-stanza.yaml')],
  },
];
