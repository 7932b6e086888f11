/**
 * Ambrosia connection statecharts (spec.md §3–§6): the gateway's c2s stream negotiation, its
 * outgoing s2s stream, its side of a service connection, the service's link to a gateway, and the
 * client's login. The chunk/ack layer of the service channel is in ./channel.ts.
 *
 * No I/O and no XML parsing here: the node parses, decides, and sends these machines dotted
 * semantic events (`c2s.header`, `sasl.accept`, ...); the machines keep the state, run the timers
 * on the host clock, and emit the writes. Local API misuse: a client `user.send` before login is
 * queued, not rejected; the client rejects it only if login fails for good.
 */
import { createHash } from 'node:crypto';
import { assign, emit, enqueueActions, setup } from 'xstate';
import { output } from '../../engine/actor.js';
import type { NodeOutput } from '../protocol.js';
import {
  el,
  ns,
  streamClose,
  streamErrorElement,
  streamHeaderAttrs,
  toBytes,
  writeElement,
  writeStreamHeader,
  type StreamCondition,
  type XmlElement,
} from './wire.js';

export const ports = {
  /** RFC 6120 §14.7: the registered xmpp-client port. */
  c2s: 5222,
  /** RFC 6120 §14.7: the registered xmpp-server port. */
  s2s: 5269,
  /** Ours: the port XEP-0114 components conventionally use. */
  service: 5347,
} as const;

/** Messages a client or s2s link holds while it is not yet online; a node that never gets online must not grow without bound. */
export const queueCountMax = 1000;

/** Mutual-auth proof for the service channel (ours, spec.md §4.2): hex SHA-256 over role, both nonces and the secret. */
export function serviceProof(role: 'service' | 'gateway', streamId: string, nonce: string, secret: string): string {
  return createHash('sha256').update(`${role}\u0000${streamId}\u0000${nonce}\u0000${secret}`).digest('hex');
}

function write(conn: string, text: string, decoded: string = text): NodeOutput {
  return { kind: 'write', conn, bytes: toBytes(text), decoded };
}

function writeElements(conn: string, elements: readonly XmlElement[]): NodeOutput {
  const text = elements.map(writeElement).join('');
  return write(conn, text);
}

const saslFeatures = el('stream:features', {}, [
  el('mechanisms', { xmlns: ns.sasl }, [el('mechanism', {}, ['PLAIN'])]),
]);
// XEP-0198: stream management is offered after authentication, beside resource binding.
const bindFeatures = el('stream:features', {}, [el('bind', { xmlns: ns.bind }), el('sm', { xmlns: ns.sm })]);

// ---- gateway: one client stream ----

export interface C2sInput {
  readonly conn: string;
  readonly streamId: string;
  readonly seeOtherHostTimeoutMs: number;
}

interface C2sContext extends C2sInput {
  readonly domain: string;
  readonly jid: string;
  readonly headerSent: boolean;
}

export type C2sEvent =
  | { type: 'c2s.header'; domain: string; hosted: boolean }
  | { type: 'sasl.accept'; jid: string }
  | { type: 'sasl.reject'; condition: string }
  | { type: 'sasl.lookup' }
  | { type: 'soh.found'; host: string }
  | { type: 'soh.none' }
  | { type: 'bind.done'; jid: string; id: string }
  | { type: 'c2s.resumed'; jid: string }
  | { type: 'c2s.fail'; condition: StreamCondition; text?: string }
  | { type: 'c2s.end' }
  | { type: 'conn.closed' };

export const c2sMachine = setup({
  types: { context: {} as C2sContext, input: {} as C2sInput, events: {} as C2sEvent },
  guards: {
    isHosted: ({ event }) => event.type === 'c2s.header' && event.hosted,
  },
  actions: {
    rememberDomain: assign({
      domain: ({ context, event }) => (event.type === 'c2s.header' ? event.domain : context.domain),
    }),
    sendHeaderAndSaslFeatures: enqueueActions(({ context, enqueue }) => {
      const header = writeStreamHeader(streamHeaderAttrs(ns.client, { from: context.domain, id: context.streamId }));
      enqueue.emit(output(write(context.conn, header + writeElement(saslFeatures))));
      enqueue.assign({ headerSent: true });
    }),
    sendHeaderAndBindFeatures: emit(({ context }) =>
      output(
        write(
          context.conn,
          writeStreamHeader(streamHeaderAttrs(ns.client, { from: context.domain, id: `${context.streamId}.2` })) +
            writeElement(bindFeatures),
        ),
      ),
    ),
    sendSuccess: enqueueActions(({ event, enqueue }) => {
      if (event.type !== 'sasl.accept') return;
      enqueue.assign({ jid: event.jid });
    }),
    writeSuccess: emit(({ context }) => output(writeElements(context.conn, [el('success', { xmlns: ns.sasl })]))),
    sendFailure: emit(({ context, event }) =>
      output(
        writeElements(context.conn, [
          el('failure', { xmlns: ns.sasl }, [el(event.type === 'sasl.reject' ? event.condition : 'not-authorized')]),
        ]),
      ),
    ),
    sendBound: emit(({ context, event }) => {
      const jid = event.type === 'bind.done' ? event.jid : context.jid;
      const id = event.type === 'bind.done' ? event.id : '';
      return output(
        writeElements(context.conn, [
          el('iq', { type: 'result', id }, [el('bind', { xmlns: ns.bind }, [el('jid', {}, [jid])])]),
        ]),
      );
    }),
    rememberBound: assign({
      jid: ({ context, event }) =>
        event.type === 'bind.done' || event.type === 'c2s.resumed' ? event.jid : context.jid,
    }),
    sendSeeOtherHost: emit(({ context, event }) =>
      output(
        write(
          context.conn,
          writeElement(streamErrorElement('see-other-host', event.type === 'soh.found' ? event.host : '')) +
            streamClose,
        ),
      ),
    ),
    sendStreamError: emit(({ context, event }) => {
      const condition: StreamCondition = event.type === 'c2s.fail' ? event.condition : 'host-unknown';
      const header = context.headerSent
        ? ''
        : writeStreamHeader(streamHeaderAttrs(ns.client, { from: context.domain || undefined, id: context.streamId }));
      return output(write(context.conn, header + writeElement(streamErrorElement(condition)) + streamClose));
    }),
    sendStreamClose: emit(({ context }) => output(write(context.conn, streamClose))),
    closeConn: emit(({ context }) => output({ kind: 'close', conn: context.conn })),
  },
  delays: {
    seeOtherHostDelay: ({ context }) => context.seeOtherHostTimeoutMs,
  },
}).createMachine({
  id: 'ambrosia.c2s',
  initial: 'opening',
  context: ({ input }) => ({ ...input, domain: '', jid: '', headerSent: false }),
  on: {
    'c2s.fail': { target: '.closed', actions: ['sendStreamError', 'closeConn'] },
    'c2s.end': { target: '.closed', actions: ['sendStreamClose', 'closeConn'] },
    'conn.closed': { target: '.closed' },
  },
  states: {
    opening: {
      on: {
        'c2s.header': [
          { guard: 'isHosted', target: 'authenticating', actions: ['rememberDomain', 'sendHeaderAndSaslFeatures'] },
          { target: 'closed', actions: ['rememberDomain', 'sendStreamError', 'closeConn'] },
        ],
      },
    },
    authenticating: {
      on: {
        'sasl.accept': { target: 'restarting', actions: ['sendSuccess', 'writeSuccess'] },
        'sasl.reject': { actions: 'sendFailure' },
        'sasl.lookup': { target: 'checkingUser' },
      },
    },
    checkingUser: {
      on: {
        'soh.found': { target: 'closed', actions: ['sendSeeOtherHost', 'closeConn'] },
        'soh.none': { target: 'authenticating', actions: 'sendFailure' },
      },
      after: { seeOtherHostDelay: { target: 'authenticating', actions: 'sendFailure' } },
    },
    restarting: {
      on: { 'c2s.header': { target: 'binding', actions: 'sendHeaderAndBindFeatures' } },
    },
    binding: {
      on: {
        'bind.done': { target: 'bound', actions: ['rememberBound', 'sendBound'] },
        // XEP-0198 §5: a resumed session is bound already; the stream management session writes <resumed/>.
        'c2s.resumed': { target: 'bound', actions: 'rememberBound' },
      },
    },
    bound: {},
    closed: { type: 'final' },
  },
});

// ---- gateway: one outgoing s2s stream per remote domain ----

export interface S2sInput {
  readonly conn: string;
  readonly localDomain: string;
  readonly remoteDomain: string;
  readonly port: number;
}

interface S2sContext extends S2sInput {
  readonly queue: readonly XmlElement[];
  readonly target: string;
}

export type S2sEvent =
  | { type: 's2s.send'; stanza: XmlElement }
  | { type: 'dns.mx'; host: string | undefined }
  | { type: 'dns.a'; found: boolean }
  | { type: 'conn.opened' }
  | { type: 'conn.failed' }
  | { type: 's2s.header' }
  | { type: 'conn.closed' };

export const s2sMachine = setup({
  types: {
    context: {} as S2sContext,
    input: {} as S2sInput,
    events: {} as S2sEvent,
    emitted: {} as { type: 'output'; output: NodeOutput } | { type: 's2s.undelivered'; stanzas: readonly XmlElement[] },
  },
  guards: {
    hasMx: ({ event }) => event.type === 'dns.mx' && event.host !== undefined,
    hasA: ({ event }) => event.type === 'dns.a' && event.found,
    isQueueFull: ({ context }) => context.queue.length >= queueCountMax,
  },
  actions: {
    queueStanza: assign({
      queue: ({ context, event }) => (event.type === 's2s.send' ? [...context.queue, event.stanza] : context.queue),
    }),
    writeStanza: emit(({ context, event }) =>
      output(writeElements(context.conn, event.type === 's2s.send' ? [event.stanza] : [])),
    ),
    queryMx: emit(({ context }) =>
      output({ kind: 'dns.query', query: `${context.conn}:mx`, name: context.remoteDomain, type: 'MX' }),
    ),
    queryA: emit(({ context }) =>
      output({ kind: 'dns.query', query: `${context.conn}:a`, name: context.remoteDomain, type: 'A' }),
    ),
    useMxHost: assign({
      target: ({ context, event }) => (event.type === 'dns.mx' && event.host ? event.host : context.target),
    }),
    connect: emit(({ context }) =>
      output({ kind: 'connect', conn: context.conn, target: { host: context.target, port: context.port } }),
    ),
    sendHeader: emit(({ context }) =>
      output(
        write(
          context.conn,
          writeStreamHeader(streamHeaderAttrs(ns.server, { from: context.localDomain, to: context.remoteDomain })),
        ),
      ),
    ),
    flushQueue: enqueueActions(({ context, enqueue }) => {
      if (context.queue.length > 0) enqueue.emit(output(writeElements(context.conn, context.queue)));
      enqueue.assign({ queue: [] });
    }),
    reportUndelivered: emit(({ context }) => ({ type: 's2s.undelivered' as const, stanzas: context.queue })),
    rejectFull: emit(() =>
      output({
        kind: 'reject',
        code: 'ambrosia.s2s.queue-full',
        reason: `over ${queueCountMax} stanzas wait for one remote domain`,
      }),
    ),
  },
}).createMachine({
  id: 'ambrosia.s2s',
  initial: 'resolvingMx',
  context: ({ input }) => ({ ...input, queue: [], target: input.remoteDomain }),
  entry: 'queryMx',
  on: {
    's2s.send': [{ guard: 'isQueueFull', actions: 'rejectFull' }, { actions: 'queueStanza' }],
  },
  states: {
    resolvingMx: {
      on: {
        'dns.mx': [
          { guard: 'hasMx', target: 'connecting', actions: ['useMxHost', 'connect'] },
          { target: 'resolvingA', actions: 'queryA' },
        ],
      },
    },
    resolvingA: {
      on: {
        'dns.a': [
          { guard: 'hasA', target: 'connecting', actions: 'connect' },
          { target: 'failed', actions: 'reportUndelivered' },
        ],
      },
    },
    connecting: {
      on: {
        'conn.opened': { target: 'opening', actions: 'sendHeader' },
        'conn.failed': { target: 'failed', actions: 'reportUndelivered' },
      },
    },
    opening: {
      on: {
        's2s.header': { target: 'established', actions: 'flushQueue' },
        'conn.closed': { target: 'failed', actions: 'reportUndelivered' },
      },
    },
    established: {
      on: {
        's2s.send': { actions: 'writeStanza' },
        'conn.closed': { target: 'closed' },
      },
    },
    failed: { type: 'final' },
    closed: { type: 'final' },
  },
});

// ---- gateway: one service connection, until authenticated ----

export interface ServiceSessionInput {
  readonly conn: string;
  readonly streamId: string;
  readonly localDomain: string;
}

export type ServiceSessionEvent =
  | { type: 'svc.header' }
  | { type: 'svc.handshake'; valid: boolean; proof: string }
  | { type: 'svc.fail'; condition: StreamCondition }
  | { type: 'conn.closed' };

export const serviceSessionMachine = setup({
  types: { context: {} as ServiceSessionInput, input: {} as ServiceSessionInput, events: {} as ServiceSessionEvent },
  guards: { isValidHandshake: ({ event }) => event.type === 'svc.handshake' && event.valid },
  actions: {
    sendHeader: emit(({ context }) =>
      output(
        write(
          context.conn,
          writeStreamHeader(streamHeaderAttrs(ns.service, { from: context.localDomain, id: context.streamId })) +
            writeElement(el('stream:features')),
        ),
      ),
    ),
    sendHandshake: emit(({ context, event }) =>
      output(writeElements(context.conn, [el('handshake', {}, [event.type === 'svc.handshake' ? event.proof : ''])])),
    ),
    sendNotAuthorized: emit(({ context }) =>
      output(write(context.conn, writeElement(streamErrorElement('not-authorized')) + streamClose)),
    ),
    sendStreamError: emit(({ context, event }) =>
      output(
        write(
          context.conn,
          writeElement(streamErrorElement(event.type === 'svc.fail' ? event.condition : 'bad-format')) + streamClose,
        ),
      ),
    ),
    closeConn: emit(({ context }) => output({ kind: 'close', conn: context.conn })),
  },
}).createMachine({
  id: 'ambrosia.service-session',
  initial: 'opening',
  context: ({ input }) => input,
  on: {
    'svc.fail': { target: '.closed', actions: ['sendStreamError', 'closeConn'] },
    'conn.closed': { target: '.closed' },
  },
  states: {
    opening: { on: { 'svc.header': { target: 'authenticating', actions: 'sendHeader' } } },
    authenticating: {
      on: {
        'svc.handshake': [
          { guard: 'isValidHandshake', target: 'established', actions: 'sendHandshake' },
          { target: 'closed', actions: ['sendNotAuthorized', 'closeConn'] },
        ],
      },
    },
    established: {},
    closed: { type: 'final' },
  },
});

// ---- service: its link to one gateway ----

export interface ServiceLinkInput {
  readonly link: string;
  readonly name: string;
  readonly host: string;
  readonly port: number;
  readonly secret: string;
  readonly registrations: readonly { readonly domain: string; readonly type: string }[];
  readonly retryMs: number;
  readonly retryMsMax: number;
  /** Nonces for each connection attempt come from the node's seeded stream, drawn by the node. */
  readonly nonce: string;
}

interface ServiceLinkContext extends ServiceLinkInput {
  readonly attempt: number;
  readonly streamId: string;
}

export type ServiceLinkEvent =
  | { type: 'conn.opened' }
  | { type: 'conn.failed' }
  | { type: 'conn.closed' }
  | { type: 'svc.header'; streamId: string }
  | { type: 'svc.handshake'; valid: boolean }
  | { type: 'svc.nonce'; nonce: string }
  | { type: 'svc.stop' };

export function serviceLinkConn(context: { link: string; attempt: number }): string {
  return `${context.link}#${context.attempt}`;
}

export const serviceLinkMachine = setup({
  types: {
    context: {} as ServiceLinkContext,
    input: {} as ServiceLinkInput,
    events: {} as ServiceLinkEvent,
    emitted: {} as { type: 'output'; output: NodeOutput } | { type: 'link.ready' } | { type: 'link.down' },
  },
  guards: { isValidHandshake: ({ event }) => event.type === 'svc.handshake' && event.valid },
  actions: {
    connect: emit(({ context }) =>
      output({ kind: 'connect', conn: serviceLinkConn(context), target: { host: context.host, port: context.port } }),
    ),
    countAttempt: assign({ attempt: ({ context }) => context.attempt + 1 }),
    takeNonce: assign({ nonce: ({ context, event }) => (event.type === 'svc.nonce' ? event.nonce : context.nonce) }),
    sendHeader: emit(({ context }) =>
      output(
        write(
          serviceLinkConn(context),
          writeStreamHeader(streamHeaderAttrs(ns.service, { from: context.name, to: context.host })),
        ),
      ),
    ),
    sendHandshake: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'svc.header') return;
      const proof = serviceProof('service', event.streamId, context.nonce, context.secret);
      enqueue.assign({ streamId: event.streamId });
      enqueue.emit(
        output(writeElements(serviceLinkConn(context), [el('handshake', { nonce: context.nonce }, [proof])])),
      );
    }),
    sendRegistrations: emit(({ context }) =>
      output(
        writeElements(
          serviceLinkConn(context),
          context.registrations.map((r) => el('register', { domain: r.domain, type: r.type })),
        ),
      ),
    ),
    reportReady: emit({ type: 'link.ready' as const }),
    reportDown: emit({ type: 'link.down' as const }),
    rejectGateway: emit(({ context }) =>
      output({
        kind: 'reject',
        code: 'ambrosia.gateway.unauthenticated',
        reason: `gateway ${context.host} failed the mutual handshake`,
      }),
    ),
    closeConn: emit(({ context }) => output({ kind: 'close', conn: serviceLinkConn(context) })),
  },
  delays: {
    retryDelay: ({ context }) => Math.min(context.retryMsMax, context.retryMs * 2 ** Math.min(16, context.attempt - 1)),
  },
}).createMachine({
  id: 'ambrosia.service-link',
  initial: 'connecting',
  context: ({ input }) => ({ ...input, attempt: 1, streamId: '' }),
  entry: 'connect',
  on: {
    'svc.stop': { target: '.stopped', actions: 'closeConn' },
    'svc.nonce': { actions: 'takeNonce' },
  },
  states: {
    connecting: {
      on: {
        'conn.opened': { target: 'opening', actions: 'sendHeader' },
        'conn.failed': { target: 'backingOff' },
      },
    },
    opening: {
      on: {
        'svc.header': { target: 'handshaking', actions: 'sendHandshake' },
        'conn.closed': { target: 'backingOff' },
      },
    },
    handshaking: {
      on: {
        'svc.handshake': [
          { guard: 'isValidHandshake', target: 'ready', actions: ['sendRegistrations', 'reportReady'] },
          { target: 'backingOff', actions: ['rejectGateway', 'closeConn'] },
        ],
        'conn.closed': { target: 'backingOff' },
      },
    },
    ready: {
      on: { 'conn.closed': { target: 'backingOff', actions: 'reportDown' } },
    },
    backingOff: {
      after: { retryDelay: { target: 'connecting', actions: ['countAttempt', 'connect'] } },
    },
    stopped: { type: 'final' },
  },
});

// ---- client: login, chat, reconnection and stream management ----

export interface ClientInput {
  readonly link: string;
  readonly jid: string;
  readonly password: string;
  readonly resource: string;
  readonly host: string;
  readonly port: number;
  readonly redirectsMax: number;
  /** XEP-0198: how long a stanza may wait for `<a/>` before the stream counts as broken. */
  readonly ackTimeoutMs: number;
  /** How long each login step (stream header, SASL, bind, resume) may wait for the gateway's answer. */
  readonly responseTimeoutMs: number;
  /** Reconnection backoff (RFC 6120 §3.3): the first delay, doubled per failed attempt up to the max. */
  readonly retryMs: number;
  readonly retryMsMax: number;
}

interface ClientUnacked {
  readonly seq: number;
  readonly stanza: XmlElement;
}

interface ClientContext extends ClientInput {
  /** Connection attempts so far; each one (redirect or reconnection) gets a new connection id. */
  readonly attempt: number;
  /** Stanzas waiting for a bound stream. */
  readonly queue: readonly XmlElement[];
  readonly boundJid: string;
  readonly redirects: number;
  readonly targetHost: string;
  readonly targetPort: number;
  /** Failed connection attempts since the client was last online (the backoff exponent). */
  readonly retries: number;
  /** The restarted stream's features offered `<sm xmlns='urn:xmpp:sm:3'/>`. */
  readonly smOffered: boolean;
  /** `<enable/>` went out on this session: stanzas sent since are counted and kept until acked. */
  readonly smEnabled: boolean;
  /** `<enabled/>` or `<resumed/>` came back: stanzas received are counted in `inH`. */
  readonly smActive: boolean;
  /** The session id to resume ('' when the gateway did not offer resumption). */
  readonly smId: string;
  readonly outSeq: number;
  readonly unacked: readonly ClientUnacked[];
  readonly inH: number;
}

export type ClientEvent =
  | { type: 'user.send'; stanza: XmlElement }
  | { type: 'user.logout' }
  | { type: 'conn.opened' }
  | { type: 'conn.failed' }
  | { type: 'conn.closed' }
  | { type: 'wire.features'; hasPlain: boolean; hasBind: boolean; hasSm: boolean }
  | { type: 'sasl.success' }
  | { type: 'sasl.failure' }
  | { type: 'bind.result'; jid: string }
  | { type: 'wire.redirect'; host: string; port: number }
  | { type: 'wire.streamError'; condition: string }
  | { type: 'wire.broken'; condition: string }
  | { type: 'sm.enabled'; id: string; resume: boolean }
  | { type: 'sm.resumed'; h: number }
  | { type: 'sm.failed' }
  | { type: 'sm.ack'; h: number }
  | { type: 'sm.request' }
  | { type: 'sm.stanza' };

export function clientConn(context: { link: string; attempt: number }): string {
  return `${context.link}#${context.attempt}`;
}

function plainCredentials(jid: string, password: string): string {
  const local = jid.split('@')[0] ?? '';
  return Buffer.from(`\u0000${local}\u0000${password}`, 'utf8').toString('base64');
}

/**
 * Stream errors after which reconnecting cannot help (RFC 6120 §4.9.3): the account, the address or
 * the stanza is refused, or another session took the resource. Every other condition (damaged XML,
 * a timeout, a shutdown, an undefined one) is treated as a broken transport: reconnect (ours).
 */
export const finalStreamConditions: ReadonlySet<string> = new Set([
  'conflict',
  'host-gone',
  'host-unknown',
  'improper-addressing',
  'invalid-from',
  'not-authorized',
  'policy-violation',
  'see-other-host',
  'unsupported-version',
]);

const clientSmRequest = () => el('r', { xmlns: ns.sm });
const wrap = (value: number) => value % 0x1_0000_0000;
/** Serial-number order of XEP-0198 counters (the same as the service channel's). */
const ackedBy = (seq: number, h: number) => (h - seq + 0x1_0000_0000) % 0x1_0000_0000 < 0x8000_0000;

/** A login step whose answer does not come in time: the stream is broken (a damaged segment), reconnect (ours). */
const loginTimeout = {
  target: 'backingOff',
  actions: ['closeConn', { type: 'noteReconnect', params: { reason: 'login step timeout' } }],
} as const;

export const clientMachine = setup({
  types: {
    context: {} as ClientContext,
    input: {} as ClientInput,
    events: {} as ClientEvent,
    emitted: {} as { type: 'output'; output: NodeOutput },
  },
  guards: {
    offersPlain: ({ event }) => event.type === 'wire.features' && event.hasPlain,
    offersBind: ({ event }) => event.type === 'wire.features' && event.hasBind,
    canResume: ({ context, event }) => event.type === 'wire.features' && event.hasSm && context.smId !== '',
    hasRedirectsLeft: ({ context }) => context.redirects < context.redirectsMax,
    isQueueFull: ({ context }) => context.queue.length + context.unacked.length >= queueCountMax,
    isRetriable: ({ event }) => event.type === 'wire.streamError' && !finalStreamConditions.has(event.condition),
    isSmEnabled: ({ context }) => context.smEnabled,
    hasUnacked: ({ context }) => context.unacked.length > 0,
    isAckForAll: ({ context, event }) =>
      event.type === 'sm.ack' && context.unacked.every((u) => ackedBy(u.seq, event.h)),
    isAckWithProgress: ({ context, event }) =>
      event.type === 'sm.ack' && context.unacked.some((u) => ackedBy(u.seq, event.h)),
  },
  actions: {
    connect: emit(({ context }) =>
      output({
        kind: 'connect',
        conn: clientConn(context),
        target: { host: context.targetHost, port: context.targetPort },
      }),
    ),
    nextAttempt: assign({ attempt: ({ context }) => context.attempt + 1 }),
    sendHeader: emit(({ context }) =>
      output(
        write(
          clientConn(context),
          writeStreamHeader(streamHeaderAttrs(ns.client, { to: context.jid.split('@')[1] ?? context.jid })),
        ),
      ),
    ),
    sendAuth: emit(({ context }) =>
      output(
        writeElements(clientConn(context), [
          el('auth', { xmlns: ns.sasl, mechanism: 'PLAIN' }, [plainCredentials(context.jid, context.password)]),
        ]),
      ),
    ),
    sendBind: emit(({ context }) =>
      output(
        writeElements(clientConn(context), [
          el('iq', { type: 'set', id: 'bind.1' }, [
            el('bind', { xmlns: ns.bind }, [el('resource', {}, [context.resource])]),
          ]),
        ]),
      ),
    ),
    rememberFeatures: assign({
      smOffered: ({ context, event }) => (event.type === 'wire.features' ? event.hasSm : context.smOffered),
    }),
    /** XEP-0198 §5: ask to resume the previous session, saying how many of its stanzas we handled. */
    sendResume: emit(({ context }) =>
      output(
        writeElements(clientConn(context), [
          el('resume', { xmlns: ns.sm, previd: context.smId, h: String(context.inH) }),
        ]),
      ),
    ),
    rememberJid: assign({
      boundJid: ({ context, event }) => (event.type === 'bind.result' ? event.jid : context.boundJid),
    }),
    /**
     * A new session: `<enable resume='true'/>` when the gateway offers stream management (XEP-0198
     * §3), counters from zero. Stanzas of an older session that were never acked are numbered
     * afresh and sent again by `sendPending` (at least once: the old session may have handled some).
     */
    startSm: enqueueActions(({ context, enqueue }) => {
      if (!context.smOffered) {
        enqueue.assign({ smEnabled: false, smActive: false, smId: '', outSeq: 0, inH: 0 });
        return;
      }
      enqueue.emit(output(writeElements(clientConn(context), [el('enable', { xmlns: ns.sm, resume: 'true' })])));
      enqueue.assign({
        smEnabled: true,
        smActive: false,
        smId: '',
        inH: 0,
        outSeq: context.unacked.length,
        unacked: context.unacked.map((u, index) => ({ seq: index + 1, stanza: u.stanza })),
      });
    }),
    /** After `<resumed h/>`: what the gateway handled is acked; the rest goes again with the same numbers. */
    takeResumed: assign(({ context, event }) =>
      event.type === 'sm.resumed'
        ? { smEnabled: true, smActive: true, unacked: context.unacked.filter((u) => !ackedBy(u.seq, event.h)) }
        : {},
    ),
    /** Writes the unacked stanzas again and the queued ones, in order, then one `<r/>`. */
    sendPending: enqueueActions(({ context, enqueue }) => {
      const again = context.smEnabled ? context.unacked.map((u) => u.stanza) : [];
      const stanzas = [...again, ...context.queue];
      if (stanzas.length === 0) return;
      enqueue.emit(output(writeElements(clientConn(context), stanzas)));
      if (!context.smEnabled) {
        enqueue.assign({ queue: [], unacked: [] });
        return;
      }
      let seq = context.outSeq;
      const fresh = context.queue.map((stanza) => {
        seq = wrap(seq + 1);
        return { seq, stanza };
      });
      enqueue.assign({ queue: [], unacked: [...context.unacked, ...fresh], outSeq: seq });
      enqueue.emit(output(writeElements(clientConn(context), [clientSmRequest()])));
    }),
    queueStanza: assign({
      queue: ({ context, event }) => (event.type === 'user.send' ? [...context.queue, event.stanza] : context.queue),
    }),
    /** One stanza on a bound stream; with stream management it is kept and followed by `<r/>`. */
    writeStanza: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'user.send') return;
      enqueue.emit(output(writeElements(clientConn(context), [event.stanza])));
      if (!context.smEnabled) return;
      const seq = wrap(context.outSeq + 1);
      enqueue.assign({ outSeq: seq, unacked: [...context.unacked, { seq, stanza: event.stanza }] });
      enqueue.emit(output(writeElements(clientConn(context), [clientSmRequest()])));
    }),
    dropAcked: assign({
      unacked: ({ context, event }) =>
        event.type === 'sm.ack' ? context.unacked.filter((u) => !ackedBy(u.seq, event.h)) : context.unacked,
    }),
    takeEnabled: assign(({ context, event }) =>
      event.type === 'sm.enabled' && context.smEnabled
        ? { smActive: true, inH: 0, smId: event.resume ? event.id : '' }
        : {},
    ),
    countStanza: assign({ inH: ({ context }) => (context.smActive ? wrap(context.inH + 1) : context.inH) }),
    answerRequest: enqueueActions(({ context, enqueue }) => {
      if (!context.smActive) return;
      enqueue.emit(output(writeElements(clientConn(context), [el('a', { xmlns: ns.sm, h: String(context.inH) })])));
    }),
    /** The gateway refused `<enable/>`: no acks on this session, nothing kept. */
    dropSm: assign({ smEnabled: false, smActive: false, smId: '', unacked: [] }),
    /** The gateway refused `<resume/>`: the old session is gone; its unacked stanzas wait for the new one. */
    forgetSession: assign({ smEnabled: false, smActive: false, smId: '' }),
    backToOnline: assign({ retries: 0, redirects: 0 }),
    countRetry: assign({ retries: ({ context }) => context.retries + 1 }),
    followRedirect: assign(({ context, event }) =>
      event.type === 'wire.redirect'
        ? {
            targetHost: event.host,
            targetPort: event.port,
            redirects: context.redirects + 1,
            attempt: context.attempt + 1,
          }
        : {},
    ),
    closeConn: emit(({ context }) => output({ kind: 'close', conn: clientConn(context) })),
    noteReconnect: emit(({ context, event }, params?: { reason: string }) =>
      output({
        kind: 'note',
        what: 'ambrosia.client.reconnect',
        detail: {
          reason:
            params?.reason ??
            (event.type === 'wire.streamError' || event.type === 'wire.broken'
              ? `${event.type} ${event.condition}`
              : event.type),
          unacked: context.unacked.length,
          queued: context.queue.length,
        },
      }),
    ),
    rejectLogin: emit(({ context, event }) =>
      output({
        kind: 'reject',
        code: 'ambrosia.login.failed',
        reason: `login of ${context.jid} failed: ${event.type}${event.type === 'wire.streamError' ? ` ${event.condition}` : ''}`,
        detail: { unsent: context.queue.length + context.unacked.length },
      }),
    ),
    rejectFull: emit(() =>
      output({
        kind: 'reject',
        code: 'ambrosia.client.queue-full',
        reason: `over ${queueCountMax} messages wait for login or an ack`,
      }),
    ),
  },
  delays: {
    ackDelay: ({ context }) => context.ackTimeoutMs,
    responseDelay: ({ context }) => context.responseTimeoutMs,
    retryDelay: ({ context }) => Math.min(context.retryMsMax, context.retryMs * 2 ** Math.min(16, context.retries - 1)),
  },
}).createMachine({
  id: 'ambrosia.client',
  initial: 'connecting',
  context: ({ input }) => ({
    ...input,
    attempt: 1,
    queue: [],
    boundJid: '',
    redirects: 0,
    targetHost: input.host,
    targetPort: input.port,
    retries: 0,
    smOffered: false,
    smEnabled: false,
    smActive: false,
    smId: '',
    outSeq: 0,
    unacked: [],
    inH: 0,
  }),
  entry: 'connect',
  on: {
    'user.send': [{ guard: 'isQueueFull', actions: 'rejectFull' }, { actions: 'queueStanza' }],
    'user.logout': { target: '.offline' },
    'wire.redirect': [
      { guard: 'hasRedirectsLeft', target: '.connecting', actions: ['closeConn', 'followRedirect', 'connect'] },
      { target: '.failed', actions: ['closeConn', 'rejectLogin'] },
    ],
    // Ours (RFC 6120 §3.3): a stream that breaks is reconnected with backoff, not given up.
    'wire.streamError': [
      { guard: 'isRetriable', target: '.backingOff', actions: ['closeConn', 'noteReconnect'] },
      { target: '.failed', actions: ['closeConn', 'rejectLogin'] },
    ],
    'wire.broken': { target: '.backingOff', actions: ['closeConn', 'noteReconnect'] },
    'conn.closed': { target: '.backingOff', actions: 'noteReconnect' },
    'sm.enabled': { actions: 'takeEnabled' },
    'sm.ack': { actions: 'dropAcked' },
    'sm.request': { actions: 'answerRequest' },
    'sm.stanza': { actions: 'countStanza' },
    'sm.failed': { actions: 'dropSm' },
  },
  states: {
    connecting: {
      on: {
        'conn.opened': { target: 'opening', actions: 'sendHeader' },
        'conn.failed': { target: 'backingOff', actions: 'noteReconnect' },
      },
    },
    opening: {
      after: { responseDelay: loginTimeout },
      on: {
        'wire.features': [
          { guard: 'offersPlain', target: 'authenticating', actions: 'sendAuth' },
          { target: 'failed', actions: ['closeConn', 'rejectLogin'] },
        ],
      },
    },
    authenticating: {
      after: { responseDelay: loginTimeout },
      on: {
        'sasl.success': { target: 'restarting', actions: 'sendHeader' },
        'sasl.failure': { target: 'failed', actions: ['closeConn', 'rejectLogin'] },
      },
    },
    restarting: {
      after: { responseDelay: loginTimeout },
      on: {
        'wire.features': [
          { guard: 'canResume', target: 'resuming', actions: ['rememberFeatures', 'sendResume'] },
          { guard: 'offersBind', target: 'binding', actions: ['rememberFeatures', 'sendBind'] },
          { target: 'failed', actions: ['closeConn', 'rejectLogin'] },
        ],
      },
    },
    resuming: {
      after: { responseDelay: loginTimeout },
      on: {
        'sm.resumed': { target: 'settling', actions: ['takeResumed', 'sendPending', 'backToOnline'] },
        'sm.failed': { target: 'binding', actions: ['forgetSession', 'sendBind'] },
      },
    },
    binding: {
      after: { responseDelay: loginTimeout },
      on: {
        'bind.result': { target: 'settling', actions: ['rememberJid', 'startSm', 'sendPending', 'backToOnline'] },
      },
    },
    settling: {
      always: [{ guard: 'hasUnacked', target: 'awaitingAck' }, { target: 'online' }],
    },
    online: {
      on: {
        'user.send': [
          { guard: 'isQueueFull', actions: 'rejectFull' },
          { guard: 'isSmEnabled', target: 'awaitingAck', actions: 'writeStanza' },
          { actions: 'writeStanza' },
        ],
      },
    },
    awaitingAck: {
      on: {
        'user.send': [{ guard: 'isQueueFull', actions: 'rejectFull' }, { actions: 'writeStanza' }],
        'sm.ack': [
          { guard: 'isAckForAll', target: 'online', actions: 'dropAcked' },
          { guard: 'isAckWithProgress', target: 'awaitingAck', reenter: true, actions: 'dropAcked' },
        ],
        'sm.failed': { target: 'online', actions: 'dropSm' },
      },
      // A stream that takes no ack in time is broken somewhere we cannot see (a damaged segment
      // left the gateway's parser inside an element): close it and resume on a new one (ours).
      after: {
        ackDelay: {
          target: 'backingOff',
          actions: ['closeConn', { type: 'noteReconnect', params: { reason: 'ack timeout' } }],
        },
      },
    },
    backingOff: {
      entry: 'countRetry',
      // The connection is already gone: late news of it changes nothing.
      on: {
        'conn.closed': {},
        'conn.failed': {},
        'wire.streamError': {},
        'wire.broken': {},
      },
      after: { retryDelay: { target: 'connecting', actions: ['nextAttempt', 'connect'] } },
    },
    offline: { type: 'final' },
    failed: { type: 'final' },
  },
});
