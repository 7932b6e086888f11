/**
 * The client's login, chat, reconnection and stream management (spec.md §6). Local API misuse: a
 * `user.send` before login is queued, not rejected; the client rejects it only if login fails for
 * good.
 */
import { assign, emit, enqueueActions, setup } from 'xstate';
import { output } from '../../../engine/actor.js';
import type { NodeOutput } from '../../protocol.js';
import { queueCountMax, type TlsMode } from '../config.js';
import { clientFinal, clientFirst, isScramMechanism, type ClientExchange } from '../scram.js';
import {
  el,
  handledCountBeyond,
  handledCountTooHigh,
  ns,
  streamClose,
  streamErrorElement,
  streamHeaderAttrs,
  writeElement,
  writeStreamHeader,
  type XmlElement,
} from '../wire.js';
import { write, writeElements } from './outputs.js';

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
  /** STARTTLS (RFC 6120 §5): used when offered (`optional`), demanded (`required`), or never used. */
  readonly tls: TlsMode;
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
  /** The SCRAM exchange under way (RFC 5802 §3), and the server signature (base64 `v=...`) to expect. */
  readonly scram: ClientExchange | undefined;
  readonly serverFinal: string;
  /** TLS is up on the current connection (RFC 6120 §5.4.3.3). */
  readonly secure: boolean;
}

export type ClientEvent =
  | { type: 'user.send'; stanza: XmlElement }
  | { type: 'user.logout' }
  | { type: 'conn.opened' }
  | { type: 'conn.failed' }
  | { type: 'conn.closed' }
  /** `mechanism`: the one the client picks from those offered (none: nothing it can use); `nonce`: its SCRAM nonce. */
  | {
      type: 'wire.features';
      mechanism: string | undefined;
      nonce: string;
      hasBind: boolean;
      hasSm: boolean;
      /** STARTTLS on offer (RFC 6120 §5.3.1): not, as an option, or mandatory-to-negotiate. */
      starttls: 'none' | 'optional' | 'required';
    }
  /** `<proceed/>` or `<failure/>` in the TLS namespace (RFC 6120 §5.4.2). */
  | { type: 'tls.proceed' }
  | { type: 'tls.failure' }
  /** The host's handshake is over. */
  | { type: 'tls.done'; ok: boolean; reason?: string }
  | { type: 'sasl.challenge'; data: string }
  | { type: 'sasl.success'; data: string }
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
    offersMechanism: ({ event }) => event.type === 'wire.features' && event.mechanism !== undefined,
    /** STARTTLS is offered, this client uses it and the stream is not encrypted yet. */
    takesTls: ({ context, event }) =>
      event.type === 'wire.features' && event.starttls !== 'none' && context.tls !== 'off' && !context.secure,
    /** No TLS where one side demands it: this client (`required`, none offered) or the gateway (`required`, client off). */
    lacksTls: ({ context, event }) =>
      event.type === 'wire.features' &&
      !context.secure &&
      ((context.tls === 'required' && event.starttls === 'none') ||
        (context.tls === 'off' && event.starttls === 'required')),
    isTlsUp: ({ event }) => event.type === 'tls.done' && event.ok,
    canAnswerChallenge: ({ context, event }) =>
      event.type === 'sasl.challenge' &&
      context.scram !== undefined &&
      clientFinal(context.scram, event.data, context.password) !== undefined,
    /** RFC 5802 §3: after SCRAM, `<success/>` must carry the server's signature; it proves the server knows the password too. */
    isServerVerified: ({ context, event }) =>
      event.type === 'sasl.success' &&
      (context.scram === undefined || event.data.trim() === Buffer.from(context.serverFinal).toString('base64')),
    offersBind: ({ event }) => event.type === 'wire.features' && event.hasBind,
    canResume: ({ context, event }) => event.type === 'wire.features' && event.hasSm && context.smId !== '',
    hasRedirectsLeft: ({ context }) => context.redirects < context.redirectsMax,
    isQueueFull: ({ context }) => context.queue.length + context.unacked.length >= queueCountMax,
    isRetriable: ({ event }) => event.type === 'wire.streamError' && !finalStreamConditions.has(event.condition),
    isSmEnabled: ({ context }) => context.smEnabled,
    hasUnacked: ({ context }) => context.unacked.length > 0,
    /** XEP-0198 §4: an `<a/>` or `<resumed/>` whose `h` counts more stanzas than we sent. */
    isCountTooHigh: ({ context, event }) =>
      (event.type === 'sm.ack' || event.type === 'sm.resumed') &&
      context.smEnabled &&
      handledCountBeyond(event.h, context.outSeq, context.unacked.length),
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
    writeStartTls: emit(({ context }) =>
      output(writeElements(clientConn(context), [el('starttls', { xmlns: ns.tls })])),
    ),
    startTls: emit(({ context }) => output({ kind: 'tls.start', conn: clientConn(context), role: 'client' })),
    markSecure: assign({ secure: true }),
    markPlain: assign({ secure: false }),
    rejectTls: emit(({ context, event }) =>
      output({
        kind: 'reject',
        code: event.type === 'tls.done' ? 'ambrosia.tls.failed' : 'ambrosia.tls.unavailable',
        reason:
          event.type === 'tls.done'
            ? `TLS handshake with ${context.targetHost} failed: ${event.reason ?? 'unknown'}`
            : `no TLS with ${context.targetHost}: ${context.tls === 'required' ? 'this client requires it' : 'the gateway requires it'}`,
      }),
    ),
    sendHeader: emit(({ context }) =>
      output(
        write(
          clientConn(context),
          writeStreamHeader(streamHeaderAttrs(ns.client, { to: context.jid.split('@')[1] ?? context.jid })),
        ),
      ),
    ),
    sendAuth: enqueueActions(({ context, event, enqueue }) => {
      const mechanism = event.type === 'wire.features' ? (event.mechanism ?? 'PLAIN') : 'PLAIN';
      if (isScramMechanism(mechanism)) {
        const first = clientFirst(
          mechanism,
          context.jid.split('@')[0] ?? '',
          event.type === 'wire.features' ? event.nonce : '',
        );
        enqueue.assign({ scram: first.exchange, serverFinal: '' });
        enqueue.emit(
          output(writeElements(clientConn(context), [el('auth', { xmlns: ns.sasl, mechanism }, [first.message])])),
        );
        return;
      }
      enqueue.assign({ scram: undefined, serverFinal: '' });
      enqueue.emit(
        output(
          writeElements(clientConn(context), [
            el('auth', { xmlns: ns.sasl, mechanism: 'PLAIN' }, [plainCredentials(context.jid, context.password)]),
          ]),
        ),
      );
    }),
    sendResponse: enqueueActions(({ context, event, enqueue }) => {
      const final =
        event.type === 'sasl.challenge' && context.scram
          ? clientFinal(context.scram, event.data, context.password)
          : undefined;
      if (!final) return;
      enqueue.assign({ serverFinal: final.serverFinal });
      enqueue.emit(output(writeElements(clientConn(context), [el('response', { xmlns: ns.sasl }, [final.message])])));
    }),
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
    /**
     * XEP-0198 §4: the stream ends with `<undefined-condition/>` and `<handled-count-too-high/>`
     * (reported as `ambrosia.stream.undefined-condition`); nothing is dropped as acked, and the
     * client resumes on a new stream, where the gateway's count is asked again.
     */
    failCountTooHigh: enqueueActions(({ context, event, enqueue }) => {
      if (event.type !== 'sm.ack' && event.type !== 'sm.resumed') return;
      const reason = `the gateway counts ${event.h} stanzas handled, ${context.outSeq} were sent`;
      enqueue.emit(
        output({ kind: 'reject', code: 'ambrosia.stream.undefined-condition', reason, detail: { h: event.h } }),
      );
      const error = streamErrorElement('undefined-condition', undefined, handledCountTooHigh(event.h, context.outSeq));
      enqueue.emit(output(write(clientConn(context), writeElement(error) + streamClose)));
    }),
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
  // Object.assign, not a spread then fields: a tenth of the cost per actor (docs/performance.md, finding 10).
  context: ({ input }) =>
    Object.assign({}, input, {
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
      scram: undefined,
      serverFinal: '',
      secure: false,
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
    'sm.ack': [
      {
        guard: 'isCountTooHigh',
        target: '.backingOff',
        actions: [
          'failCountTooHigh',
          'closeConn',
          { type: 'noteReconnect', params: { reason: 'handled count too high' } },
        ],
      },
      { actions: 'dropAcked' },
    ],
    'sm.request': { actions: 'answerRequest' },
    'sm.stanza': { actions: 'countStanza' },
    'sm.failed': { actions: 'dropSm' },
  },
  states: {
    connecting: {
      on: {
        'conn.opened': { target: 'opening', actions: ['markPlain', 'sendHeader'] },
        'conn.failed': { target: 'backingOff', actions: 'noteReconnect' },
      },
    },
    opening: {
      after: { responseDelay: loginTimeout },
      on: {
        'wire.features': [
          { guard: 'takesTls', target: 'securing', actions: 'writeStartTls' },
          { guard: 'lacksTls', target: 'failed', actions: ['closeConn', 'rejectTls'] },
          { guard: 'offersMechanism', target: 'authenticating', actions: 'sendAuth' },
          { target: 'failed', actions: ['closeConn', 'rejectLogin'] },
        ],
      },
    },
    /** `<starttls/>` is out (RFC 6120 §5.4.2.1). */
    securing: {
      after: { responseDelay: loginTimeout },
      on: {
        'tls.proceed': { target: 'handshaking', actions: 'startTls' },
        // RFC 6120 §5.4.2.2: the gateway closes the stream after <failure/>.
        'tls.failure': { target: 'failed', actions: ['closeConn', 'rejectLogin'] },
      },
    },
    /** The host's TLS handshake; then a new stream over TLS (RFC 6120 §5.4.3.3). */
    handshaking: {
      after: { responseDelay: loginTimeout },
      on: {
        'tls.done': [
          { guard: 'isTlsUp', target: 'opening', actions: ['markSecure', 'sendHeader'] },
          // RFC 6120 §5.4.3.2: the connection is gone; the client may try again (ours: with backoff).
          { target: 'backingOff', actions: ['rejectTls', { type: 'noteReconnect', params: { reason: 'TLS failed' } }] },
        ],
      },
    },
    authenticating: {
      after: { responseDelay: loginTimeout },
      on: {
        'sasl.challenge': [
          { guard: 'canAnswerChallenge', actions: 'sendResponse' },
          { target: 'failed', actions: ['closeConn', 'rejectLogin'] },
        ],
        'sasl.success': [
          { guard: 'isServerVerified', target: 'restarting', actions: 'sendHeader' },
          { target: 'failed', actions: ['closeConn', 'rejectLogin'] },
        ],
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
        'sm.resumed': [
          {
            guard: 'isCountTooHigh',
            target: 'backingOff',
            actions: [
              'failCountTooHigh',
              'closeConn',
              { type: 'noteReconnect', params: { reason: 'handled count too high' } },
            ],
          },
          { target: 'settling', actions: ['takeResumed', 'sendPending', 'backToOnline'] },
        ],
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
          {
            guard: 'isCountTooHigh',
            target: 'backingOff',
            actions: [
              'failCountTooHigh',
              'closeConn',
              { type: 'noteReconnect', params: { reason: 'handled count too high' } },
            ],
          },
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
