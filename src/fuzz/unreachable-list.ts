/**
 * The states and transitions of each protocol's statecharts that its default fuzz campaign
 * (`fedsim fuzz <p>`, 1,000 runs from seed 1) never reaches, each with the reason, reviewed: a key
 * is `kind item`, the machine kind (its id) and a state path or a transition `source>target` as
 * src/fuzz/coverage.ts names them; `kind *` is the whole machine. See ./unreachable.ts. What is
 * never reached and not listed here is a gap: reachable under the profile as far as anyone knows,
 * and the coverage report names it so.
 */

const ambrosiaNoTls =
  "needs STARTTLS: the fuzz gateways run the default `tls: off`, so none offers it, and neither a client nor an outgoing s2s stream (which takes its gateway's `tls`) ever takes it";
const ambrosiaNoSrv =
  'needs an SRV record (a target, or the "no service" answer): the fuzz DNS holds only MX records, one per domain naming its gateway, so the SRV query of an s2s stream finds none and it goes on to MX';
const besterPromptHandlers =
  "needs a handler that answers after taking time: the only slow one of the default campaign (the stall role, src/protocols/bester/fuzz.ts) answers after the server's timeout closed its connection, so it never replies";
const besterClientLinkSafe =
  "needs the client's own connection to close: servers never crash (only clients are crashable), client links are never fault hosts (a Bester client cannot reconnect, src/protocols/bester/fuzz.ts), and the profile issues no close command";
const solecAttempts =
  "needs 12 failed attempts in a row (200 ms doubling, about 800 s of failing), and the profile sets a client's budget so that retries outlast any generated fault plan (only s1.test's relays get a small one)";
const solecRelayIdle =
  "needs the relay's connection to close while its queue is empty: servers never crash (only clients are crashable), a partition resets only a connection with bytes held, and a corruption acts only on bytes sent, which an idle relay connection has none of";
const solecRelayQueued =
  'dead: the relay is started for a message and reconnects only with something queued (retrying ends it when the queue is empty), and a message leaves the queue only on an answer in established.sending';
const solecReadyEmpty =
  'dead: established.ready with a queued message moves on to sending at once (`always`), so in ready the queue is empty, and retrying with an empty queue ends the relay';

export const unreachableList: Readonly<Record<string, string>> = {
  // ---- FMTP ----------------------------------------------------------------------------------
  'fmtp.lookup owner':
    "step 2 asks the owner of an object that is not its own owner (`1.u1@d1.test`, `u1@d1.test/x`, wire.ts ownerOf); every fuzz lookup is for a user's own address (a message's recipient), whose owner is itself, so a lookup goes from the cache to the MX step",
  'fmtp.lookup owner.asking': 'as `owner`: every fuzz lookup is for an object that is its own owner',
  'fmtp.lookup idle>owner': 'as `owner`: every fuzz lookup is for an object that is its own owner',
  'fmtp.lookup owner.asking>mx': 'as `owner`: every fuzz lookup is for an object that is its own owner',
  'fmtp.lookup mx.asking>gateway':
    'needs a domain with both an MX record and a route-table gateway: the fuzz route tables route only `*@hid.test`, which has no MX record, so a lookup that asks an MX host has no gateway to fall back on (`mx.asking>failed`)',
  'fmtp.relay domain.querying>waiting':
    "needs the relay's own MX query (`domain.querying`) to fail: the campaign draws DNS faults (`dnsFault`), but the relay asks the MX itself only for an object its lookup found without an MX host, which the fuzz topologies never give (see `domain.querying>domain.sending`)",
  'fmtp.relay domain.querying>domain.sending':
    "dead under the fuzz topologies: the relay queries the MX itself only when its lookup brought no MX host and the cache has none for the domain (lookups.ts `done`: `done.mxHost ?? cache.mx(...)`); a lookup found at the MX step caches the MX host and the object at the same instant with the same TTL (lookups.ts putMx, then putObject; one `cacheTtlMs` for both, cache.ts), and every later lookup that asks the MX refreshes it, so a cached object never outlives its domain's MX entry; the objects found otherwise (the route table, gw.test's configured cache, a proxy's LOOKING) are hid.test's, which has no MX record, so that query ends in `domain.querying>failed`",
  // ---- F140 ----------------------------------------------------------------------------------
  'f140.peer idle>pushing':
    'dead: idle is entered only when nothing is deliverable, and a message queued while idle sends queue.added, which leaves idle for pinging before a PING from the friend can settle into pushing',
  'f140.peer backingOff>idle':
    "needs the queued message to stop being deliverable while backing off (expired after queueExpiryMs, 24 h, or the friend removed from the config), then the friend's PING; no plan lasts 24 h or edits a config",
  // ---- SOLEC ---------------------------------------------------------------------------------
  'solec.client connecting>closed': `the client closes only on the user's logout, which the profile never issues (its commands are send and login), or when it ${solecAttempts.slice(6)}`,
  'solec.client established>closed': `the client closes only on the user's logout, which the profile never issues, or when it ${solecAttempts.slice(6)}`,
  'solec.client established.ready>closed': `the client closes only on the user's logout, which the profile never issues, or when it ${solecAttempts.slice(6)}`,
  'solec.client established.sending>closed': `the client closes only on the user's logout, which the profile never issues, or when it ${solecAttempts.slice(6)}`,
  'solec.relay established.ready>failed': solecReadyEmpty,
  'solec.relay established.ready>backingOff': solecReadyEmpty,
  'solec.relay ended': solecRelayIdle,
  'solec.relay established>ended': solecRelayIdle,
  'solec.relay established.ready>ended': solecRelayIdle,
  'solec.relay established.sending>ended': solecRelayQueued,
  'solec.relay connecting>ended': solecRelayQueued,
  'solec.relay authenticating>ended': solecRelayQueued,
  // ---- Bester --------------------------------------------------------------------------------
  'bester.handler.session working>replied': besterPromptHandlers,
  'bester.client closed': besterClientLinkSafe,
  'bester.client ready>closed': besterClientLinkSafe,
  'bester.client failed':
    "needs the client's connect or login to fail: its server never crashes, the client link is never a fault host, and every client has the right password",
  'bester.client connecting>failed': 'as `failed`: the server is always up and the client link never faulted',
  'bester.client authenticating>failed':
    'as `failed`: every client has the right password and its link is never damaged',
  'bester.dispatch connecting>failed':
    "handlers are processes on the server's own host, reached over local sockets that no fault crosses, and never crash (only clients are crashable), so connecting to one never fails, and they answer long before the handler timeout",
  'bester.handler.session reading>closed':
    'the server writes the data as soon as a handler connection opens and never crashes, and local sockets carry no faults, so a handler never sees its connection close before the frame',
  // ---- Ambrosia ------------------------------------------------------------------------------
  'ambrosia.c2s authenticating>restarting':
    'a PLAIN login accepted: the fuzz clients prefer SCRAM-SHA-256 (the default `mechanisms`), which the gateway offers, so every login goes through `challenged`',
  'ambrosia.s2s resolvingSrv>failed': ambrosiaNoSrv,
  'ambrosia.s2s resolvingSrv>connecting': ambrosiaNoSrv,
  'ambrosia.s2s features>securing': ambrosiaNoTls,
  'ambrosia.s2s securing': ambrosiaNoTls,
  'ambrosia.s2s securing>failed': ambrosiaNoTls,
  'ambrosia.s2s securing>handshaking': ambrosiaNoTls,
  'ambrosia.s2s handshaking': ambrosiaNoTls,
  'ambrosia.s2s handshaking>failed': ambrosiaNoTls,
  'ambrosia.s2s handshaking>opening': ambrosiaNoTls,
  'ambrosia.c2s securing': ambrosiaNoTls,
  'ambrosia.c2s securing>closed': ambrosiaNoTls,
  'ambrosia.c2s securing>opening': ambrosiaNoTls,
  'ambrosia.c2s authenticating>securing': ambrosiaNoTls,
  'ambrosia.client securing': ambrosiaNoTls,
  'ambrosia.client handshaking': ambrosiaNoTls,
  'ambrosia.client opening>securing': ambrosiaNoTls,
  'ambrosia.client securing>handshaking': ambrosiaNoTls,
  'ambrosia.client securing>backingOff': ambrosiaNoTls,
  'ambrosia.client securing>failed': ambrosiaNoTls,
  'ambrosia.client handshaking>backingOff': ambrosiaNoTls,
  'ambrosia.client handshaking>opening': ambrosiaNoTls,
  'ambrosia.client offline':
    'needs the user to log out; the profile never issues logout (its commands are send and the attacks)',
  'ambrosia.service-link stopped': "needs the service's disconnect command, which the profile never issues",
};
