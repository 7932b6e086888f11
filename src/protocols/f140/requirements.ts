/**
 * F140 requirements (h2spec style): id, spec.md section, the quoted text, MUST / SHOULD, where it comes
 * from (seed, public original, or ours), and the tests that cover it. The conformance matrix is
 * generated from this list. Data only: no behaviour here.
 */

import type { Requirement } from '../requirements.js';

const server = 'test/protocols/f140/server.test.ts';
const node = 'test/protocols/f140/node.test.ts';
const wire = 'test/protocols/f140/wire.test.ts';
const sim = 'test/protocols/f140/sim.test.ts';
const real = 'test/protocols/f140/real.test.ts';
const property = `${sim} > delivers every MSG accepted from a friend exactly once and none from non-friends, losing nothing queued, under faults that heal (3 nodes + stranger, 200 runs)`;

const scenario = (name: string) => `scenarios/f140/${name}.yaml`;

export const requirements: readonly Requirement[] = [
  {
    id: 'F140-1-groups',
    section: '1',
    text: 'Allowing users to collect friends into related groupings that can be targetted by a single message.',
    level: 'SHOULD',
    source: 'seed',
    tests: [
      `${node} > group broadcast reaches only the group (alice friends bob, carol, dave; group close = bob, carol)`,
    ],
    scenarios: [scenario('group-broadcast')],
  },
  {
    id: 'F140-2.1-get-post',
    section: '2.1',
    text: 'Calls are made via HTTP POST or HTTP GET, with the command and arguments sent as URL-encoded form arguments.',
    level: 'MUST',
    source: 'seed',
    tests: [
      `${server} > accepts a PING from a friend by GET with mixed-case command and argument names (F140 §2.1)`,
      `${server} > delivers a MSG from a friend by POST once, and accepts a repeated msg_id without delivering it again`,
      `${real} > answers a GET PING with mixed-case command and argument names with 200 response=<agreed> (F140 §2.1)`,
    ],
    scenarios: [scenario('friends-exchange'), scenario('mixed-case-names')],
  },
  {
    id: 'F140-2.1-case-insensitive',
    section: '2.1',
    text: 'For all calls documented here, method names and arguments are considered to be case insensitive.',
    level: 'MUST',
    source: 'seed',
    tests: [
      `${server} > accepts a PING from a friend by GET with mixed-case command and argument names (F140 §2.1)`,
      `${wire} > round-trips any fields, with names lower-cased (F140 §2.1: names are case-insensitive; 300 runs)`,
      `${real} > delivers a POST MSG with mixed-case names once, and answers a repeated msg_id without delivering again`,
    ],
    scenarios: [scenario('mixed-case-names')],
  },
  {
    id: 'F140-2.1-response-form',
    section: '2.1',
    text: 'Results are returned in the body of the HTTP response and consist of URL-encoded form arguments (response=...).',
    level: 'MUST',
    source: 'original',
    tests: [`${server} > accepts a PING from a friend by GET with mixed-case command and argument names (F140 §2.1)`],
    scenarios: [scenario('friends-exchange'), scenario('mixed-case-names')],
  },
  {
    id: 'F140-2.3-http-errors',
    section: '2.3',
    text: 'A bad request gets the HTTP status and error code of the table in spec.md §2.3, never a crash.',
    level: 'MUST',
    source: 'ours',
    tests: [
      `${server} > answers a bad request (%s) with HTTP %i and error=%s, delivering nothing`,
      `${server} > never throws and never delivers on arbitrary bytes, chunked arbitrarily (byte fuzz, 300 runs)`,
      `${wire} > refuses %j with %s (HTTP %i)`,
      `${wire} > never throws on arbitrary bytes; every failure carries a status from the table (fuzz, 400 runs)`,
      `${real} > answers %s with HTTP %i and error=%s (spec.md §2.3), delivering nothing`,
    ],
    scenarios: [scenario('wrong-challenge-refused'), scenario('mixed-case-names'), scenario('too-long')],
  },
  {
    id: 'F140-3.1-basic-xml',
    section: '3',
    text: 'The following message of MIME type text/xml ... should be assumed to be the most basic form supported by all F140 servers: <msg kind="basic"><text>...</text></msg>',
    level: 'MUST',
    source: 'seed',
    tests: [
      `${wire} > round-trips any text through <msg kind="basic"><text>...</text></msg> (300 runs)`,
      `${wire} > reads the seed's indented example and numeric entities, and refuses other shapes`,
    ],
    scenarios: [scenario('too-long')],
  },
  {
    id: 'F140-3.3-dedup',
    section: '3.3',
    text: 'A MSG whose msg_id the recipient already delivered is answered as accepted and not delivered again, across restarts.',
    level: 'MUST',
    source: 'ours',
    tests: [
      `${server} > delivers a MSG from a friend by POST once, and accepts a repeated msg_id without delivering it again`,
      `${node} > suppresses the duplicate when the answer to a delivered MSG is lost and the sender retries`,
      `${node} > remembers delivered ids across a receiver crash (duplicate suppression is durable)`,
      property,
    ],
    scenarios: [scenario('crash-with-queue-restart')],
  },
  {
    id: 'F140-3.4-140-chars',
    section: '3.4',
    text: 'The text of a basic message holds at most 140 Unicode code points; the receiver answers 422 beyond.',
    level: 'MUST',
    source: 'ours',
    tests: [
      `${server} > enforces the 140-character rule in code points: 140 emoji pass, 141 get 422 (spec.md §3.4)`,
      `${node} > rejects local misuse without queueing: unknown user, non-friend, 141 characters, malformed command`,
    ],
    scenarios: [scenario('too-long')],
  },
  {
    id: 'F140-4.1-triple',
    section: '4.1',
    text: 'The triple of from_user:challenge:to_user should be validated to ensure that the sender is a friend of the receiver.',
    level: 'MUST',
    source: 'seed',
    tests: [
      `${server} > refuses a wrong challenge, an unknown to_user and a stranger alike with 403 and delivers nothing`,
      `${node} > drops a message its recipient refuses (not friended back) once a retry confirms it, and never delivers it`,
      `${node} > delivers every accepted message exactly once and nothing from strangers, under random outages (property, 60 runs)`,
      property,
    ],
    scenarios: [scenario('friends-exchange'), scenario('wrong-challenge-refused'), scenario('group-broadcast')],
  },
  {
    id: 'F140-4.2-ping-push',
    section: '4.2',
    text: 'PING: inform a remote F140 node that you are present on the network and ready and able to receive any queued messages that might be for you.',
    level: 'MUST',
    source: 'seed',
    tests: [
      `${node} > queues for an offline friend, backs off 1 s, 2 s, 4 s, 8 s, 8 s, and pushes as soon as the friend PINGs`,
      `${node} > connects to the address a friend gave in its PING reply_to, and keeps it across a restart`,
    ],
    scenarios: [scenario('offline-queued-until-ping')],
  },
  {
    id: 'F140-4.2-preflight',
    section: '4.2',
    text: 'PING may also be used to "preflight" a subsequent series of MSG calls.',
    level: 'SHOULD',
    source: 'seed',
    tests: [`${node} > two friends exchange messages: PING preflight, then one MSG each way (2 nodes)`],
    scenarios: [scenario('friends-exchange')],
  },
  {
    id: 'F140-4.4-response-check',
    section: '4.4',
    text: 'If the response matches the expected response, then the MSG was accepted. Any other non-matching response indicates that the recipient has refused.',
    level: 'MUST',
    source: 'seed',
    tests: [
      `${node} > treats a wrong response value as a refusal: an impostor cannot take messages (spec.md §4.4)`,
      `${node} > asks again after a 200 whose response value is damaged: the retry is accepted (fuzz seed 1006)`,
    ],
    scenarios: [
      scenario('friends-exchange'),
      scenario('wrong-challenge-refused'),
      scenario('corrupted-exchange-retried'),
    ],
  },
  {
    id: 'F140-5-queue',
    section: '5',
    text: 'Messages should be queued for offline or unreachable nodes.',
    level: 'MUST',
    source: 'seed',
    tests: [
      `${node} > queues for an offline friend, backs off 1 s, 2 s, 4 s, 8 s, 8 s, and pushes as soon as the friend PINGs`,
      `${node} > group broadcast reaches only the group (alice friends bob, carol, dave; group close = bob, carol)`,
      property,
    ],
    scenarios: [
      scenario('friends-exchange'),
      scenario('offline-queued-until-ping'),
      scenario('group-broadcast'),
      scenario('crash-with-queue-restart'),
    ],
  },
  {
    id: 'F140-5-durable',
    section: '5',
    text: 'Queued messages survive a crash of the sending node and are delivered after it restarts.',
    level: 'MUST',
    source: 'ours',
    tests: [
      `${node} > delivers what a crashed node had queued after it restarts over the same store, exactly once`,
      `${node} > delivers every accepted message exactly once and nothing from strangers, under random outages (property, 60 runs)`,
      property,
    ],
    scenarios: [scenario('crash-with-queue-restart')],
  },
  {
    id: 'F140-5-retry',
    section: '5',
    text: 'Transient failures are retried with doubling backoff from retryMsBase up to retryMsMax; a request without an answer times out after requestTimeoutMs.',
    level: 'MUST',
    source: 'ours',
    tests: [
      `${node} > queues for an offline friend, backs off 1 s, 2 s, 4 s, 8 s, 8 s, and pushes as soon as the friend PINGs`,
      `${node} > times out a request after requestTimeoutMs (2 s) when the peer never answers, then retries`,
      `${node} > retries a 200 whose response field name is damaged (r@sponse=): malformed, not a refusal (fuzz seed 1006)`,
      `${node} > overrides one refusal of a request damaged on the way: the retry is accepted and delivered`,
    ],
    scenarios: [
      scenario('offline-queued-until-ping'),
      scenario('crash-with-queue-restart'),
      scenario('expiry'),
      scenario('corrupted-exchange-retried'),
    ],
  },
  {
    id: 'F140-5-expiry',
    section: '5',
    text: 'A message still queued queueExpiryMs after it was queued is dropped with a f140.expired rejection.',
    level: 'MUST',
    source: 'ours',
    tests: [`${node} > expires a queued message after queueExpiryMs (60 s here) with f140.expired`],
    scenarios: [scenario('expiry')],
  },
];
