/**
 * The fixture the Bester conformance cases expect of their target (docs/conformance.md): server b.test
 * on port 2223, profile fixed, handlers `relay`, `echo` and `absent` on the local paths below, and the
 * informer on its path; the `besterd-2020` variant is the same server under the faithful profile.
 */
import type { Peer } from '../../../conformance/peer.js';
import type { Suite } from '../../../conformance/types.js';
import { bester } from '../index.js';
import { requirements } from '../requirements.js';

const seed = 7;
export const target = 'b.test';
export const port = 2223;
export const peerServer = 'peer.test';
export const peerPort = 2223;

/** Local socket paths of the fixture's handlers and informer (under a RealHost's socketDir). */
export const paths = {
  relay: 'conformance-bester/relay.sock',
  echo: 'conformance-bester/echo.sock',
  /** Nothing ever listens here: the handler that is down. */
  absent: 'conformance-bester/absent.sock',
  informer: 'conformance-bester/informer.sock',
};

/** Short, so that a slow-handler case takes about a second on real sockets. */
export const handlerTimeoutMs = 1_000;
/** How long "nothing arrives" is watched for. */
export const quietMs = 300;

const mainFixture = {
  role: 'server',
  profile: 'fixed',
  port,
  handlers: { relay: { path: paths.relay }, echo: { path: paths.echo }, absent: { path: paths.absent } },
  informerPath: paths.informer,
  handlerTimeoutMs,
  adminInfo: { operator: 'conformance' },
};

const faithfulFixture = { ...mainFixture, profile: 'besterd-2020' };

/** The suite without its cases (./index.ts adds them); the cases' local sockets need it (./helpers.ts). */
export const suiteInfo: Omit<Suite<Peer>, 'cases'> = {
  protocol: 'bester',
  title: 'Bester',
  requirements,
  builtin: bester,
  scheme: 'tcp',
  target: { id: target, port },
  peerHost: peerServer,
  fixtures: { main: mainFixture, 'besterd-2020': faithfulFixture },
  seed,
};
