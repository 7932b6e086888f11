/**
 * The states and transitions of each protocol's statecharts that its default fuzz campaign
 * (`fedsim fuzz <p>`, 1,000 runs from seed 1) never reaches, each with the reason, reviewed: a key
 * is `kind item`, the machine kind (its id) and a state path or a transition `source>target` as
 * src/fuzz/coverage.ts names them; `kind *` is the whole machine. See ./unreachable.ts. What is
 * never reached and not listed here is a gap: reachable under the profile as far as anyone knows,
 * and the coverage report names it so.
 */

const ambrosiaNoTls =
  'needs STARTTLS: the fuzz gateway runs the default `tls: off` and offers none, so no client takes it';
const besterPromptHandlers =
  'reachable only with a handler that takes time to answer (the besterd-2020 and fixed variants); the default handlers answer at once (delayMs 0), so a session goes from reading straight to replied';
const besterClientLinkSafe =
  "needs the client's own connection to close: servers never crash (only clients are crashable), client links are never fault hosts (a Bester client cannot reconnect, src/protocols/bester/fuzz.ts), and the profile issues no close command";
const solecAttempts =
  'needs 12 failed attempts in a row (200 ms doubling, about 800 s of failing), and the profile sets that budget so that retries outlast any generated fault plan';
const solecRelayIdle =
  "needs the relay's connection to close while its queue is empty: servers never crash (only clients are crashable), a partition resets only a connection with bytes held, and a corruption acts only on bytes sent, which an idle relay connection has none of";
const solecRelayQueued =
  'dead: the relay is started for a message and reconnects only with something queued (retrying ends it when the queue is empty), and a message leaves the queue only on an answer in established.sending';
const solecReadyEmpty =
  'dead: established.ready with a queued message moves on to sending at once (`always`), so in ready the queue is empty, and retrying with an empty queue ends the relay';

export const unreachableList: Readonly<Record<string, string>> = {
  // ---- FMTP ----------------------------------------------------------------------------------
  'fmtp.lookup owner':
    "step 2 needs the owner's object cached with a route; the fuzz users publish no object properties, so a lookup goes from the cache to the MX step",
  'fmtp.lookup owner.asking': 'as `owner`: no user object with a route is ever cached',
  'fmtp.lookup idle>owner': 'as `owner`: no user object with a route is ever cached',
  'fmtp.lookup owner.asking>mx': 'as `owner`: no user object with a route is ever cached',
  'fmtp.lookup gateway':
    'step 4 needs a route-table gateway; the default topologies configure none (a lookup that fails at the MX step ends `route.none`)',
  'fmtp.lookup gateway.asking': 'as `gateway`: no route table in the default topologies',
  'fmtp.lookup gateway.asking>failed': 'as `gateway`: no route table in the default topologies',
  'fmtp.lookup mx.asking>gateway': 'as `gateway`: no route table in the default topologies',
  'fmtp.lookup mx.querying>gateway':
    'needs an MX query without a usable answer and a route-table gateway: every fuzz domain has an MX record, partitions and clogs do not reach the resolver, and there is no route table',
  'fmtp.lookup waiting':
    'needs an "I will look for it" answer, which only a proxying server gives; every default server is the authority for its own domain and answers at once',
  'fmtp.lookup waiting>failed': 'as `waiting`: no proxying server in the default topologies',
  'fmtp.lookup waiting>found': 'as `waiting`: no proxying server in the default topologies',
  'fmtp.lookup waiting>notFound': 'as `waiting`: no proxying server in the default topologies',
  'fmtp.lookup looking':
    'a lookup made on behalf of a proxied request (byProxy); no proxy in the default topologies (the seed and fixed variants have proxies)',
  'fmtp.relay direct':
    'needs a recipient object with a recommended tcp route; the fuzz users publish no route property',
  'fmtp.relay direct>delivered': 'as `direct`: no user publishes a route',
  'fmtp.relay direct>domain': 'as `direct`: no user publishes a route',
  'fmtp.relay direct>failed': 'as `direct`: no user publishes a route',
  'fmtp.relay resolving>direct': 'as `direct`: no user publishes a route',
  // ---- F140 ----------------------------------------------------------------------------------
  'f140.peer idle>pushing':
    'dead: idle is entered only when nothing is deliverable, and a message queued while idle sends queue.added, which leaves idle for pinging before a PING from the friend can settle into pushing',
  'f140.peer backingOff>idle':
    "needs the queued message to stop being deliverable while backing off (expired after queueExpiryMs, 24 h, or the friend removed from the config), then the friend's PING; no plan lasts 24 h or edits a config",
  // ---- SOLEC ---------------------------------------------------------------------------------
  'solec.session awaitingProof':
    'reachable only under the `signed` profile (`fedsim fuzz solec:signed`); the default campaign runs `seed`, where a known server is accepted without a proof',
  'solec.session awaitingServerAuth>awaitingProof': 'as `awaitingProof`: the signed profile only',
  'solec.session awaitingProof>closed': 'as `awaitingProof`: the signed profile only',
  'solec.session awaitingProof>serverEstablished': 'as `awaitingProof`: the signed profile only',
  'solec.client connecting>closed': `the client closes only on the user's logout, which the profile never issues (its commands are send and login), or when it ${solecAttempts.slice(6)}`,
  'solec.client established>closed': `the client closes only on the user's logout, which the profile never issues, or when it ${solecAttempts.slice(6)}`,
  'solec.client established.ready>closed': `the client closes only on the user's logout, which the profile never issues, or when it ${solecAttempts.slice(6)}`,
  'solec.client established.sending>closed': `the client closes only on the user's logout, which the profile never issues, or when it ${solecAttempts.slice(6)}`,
  'solec.relay failed': solecAttempts,
  'solec.relay connecting>failed': solecAttempts,
  'solec.relay authenticating>failed': solecAttempts,
  'solec.relay established>failed': solecAttempts,
  'solec.relay established.sending>failed': solecAttempts,
  'solec.relay established.ready>failed': solecReadyEmpty,
  'solec.relay established.ready>backingOff': solecReadyEmpty,
  'solec.relay ended': solecRelayIdle,
  'solec.relay established>ended': solecRelayIdle,
  'solec.relay established.ready>ended': solecRelayIdle,
  'solec.relay established.sending>ended': solecRelayQueued,
  'solec.relay connecting>ended': solecRelayQueued,
  'solec.relay authenticating>ended': solecRelayQueued,
  // ---- Bester --------------------------------------------------------------------------------
  'bester.handler.session working': besterPromptHandlers,
  'bester.handler.session reading>working': besterPromptHandlers,
  'bester.handler.session working>closed': besterPromptHandlers,
  'bester.handler.session working>replied': besterPromptHandlers,
  'bester.client closed': besterClientLinkSafe,
  'bester.client ready>closed': besterClientLinkSafe,
  'bester.client failed':
    "needs the client's connect or login to fail: its server never crashes, the client link is never a fault host, and every client has the right password",
  'bester.client connecting>failed': 'as `failed`: the server is always up and the client link never faulted',
  'bester.client authenticating>failed':
    'as `failed`: every client has the right password and its link is never damaged',
  'bester.dispatch awaitingReply>connecting':
    "needs a handler whose rule is sendHandler (a chain of handlers); the default topologies' handlers use sendClients and sendServers only",
  'bester.dispatch connecting>failed':
    "handlers are processes on the server's own host, reached over local sockets that no fault crosses, and never crash (only clients are crashable), so connecting to one never fails, and they answer long before the handler timeout",
  'bester.dispatch awaitingReply>failed':
    'the default handlers answer every request at once with a valid reply of their fixed rule, over a local socket no fault crosses (the failing and silent handlers are in the besterd-2020 and fixed variants)',
  'bester.handler.session reading>closed':
    'the server writes the data as soon as a handler connection opens and never crashes, and local sockets carry no faults, so a handler never sees its connection close before the frame',
  // ---- Ambrosia ------------------------------------------------------------------------------
  'ambrosia.c2s authenticating>restarting':
    'a PLAIN login accepted: the fuzz clients prefer SCRAM-SHA-256 (the default `mechanisms`), which the gateway offers, so every login goes through `challenged`',
  'ambrosia.s2s *':
    'never started: the default topology has one gateway serving one domain, so no stanza leaves for another domain (server-to-server streams need several gateways and domains)',
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
  'ambrosia.c2s checkingUser':
    'needs another gateway to ask about an unknown user (the see-other-host lookup); with one gateway the lookup is unavailable and the login fails at once, and every fuzz client logs in as an account the gateway has',
  'ambrosia.c2s authenticating>checkingUser': 'as `checkingUser`: one gateway only',
  'ambrosia.c2s checkingUser>authenticating': 'as `checkingUser`: one gateway only',
  'ambrosia.c2s checkingUser>closed': 'as `checkingUser`: one gateway only',
  'ambrosia.client offline':
    'needs the user to log out; the profile never issues logout (its commands are send and the attacks)',
  'ambrosia.service-link stopped': "needs the service's disconnect command, which the profile never issues",
};
