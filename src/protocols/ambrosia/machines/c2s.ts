/**
 * The gateway's side of one c2s stream (spec.md §3 "c2s", "c2s stream management", "Bad input"):
 * the stream header, SASL (SCRAM-SHA-256, SCRAM-SHA-1, and PLAIN where allowed), the restart, resource binding or resumption, then stanzas. This
 * statechart is where the rules live of which element is legal in which state, and what the
 * answer to each is: the gateway parses the bytes and sends every stream event as it comes
 * (`xml.open`, `xml.element`, `xml.close`), with the facts only it holds (is the domain served here,
 * does this stream have a bound session and does that session have stream management).
 *
 * What needs the gateway's shared tables (accounts are in the input; services, sessions and the
 * resumable sessions are not) the machine asks for with an emitted `effect`: the gateway does it
 * once the event is processed, in order, and answers with an event where the machine needs one
 * (`lookup.sent`, `bind.done`, `c2s.resumed`, ...). No I/O and no clock: writes go out as `output`
 * emissions, the see-other-host timer runs on the host clock.
 */
import { and, assign, emit, enqueueActions, setup } from 'xstate';
import { output } from '../../../engine/actor.js';
import type { GatewayConfig, TlsMode } from '../config.js';
import {
  child,
  decodePlain,
  el,
  localName,
  ns,
  stanzaNames,
  streamClose,
  streamErrorElement,
  streamHeaderAttrs,
  textOf,
  writeElement,
  writeStreamHeader,
  type StreamCondition,
  type XmlElement,
} from '../wire.js';
import {
  challengeOf,
  checkClientFinal,
  isScramMechanism,
  parseClientFirst,
  saltFor,
  scramMechanisms,
  serverFirst,
  type ServerExchange,
} from '../scram.js';
import { write, writeElements } from './outputs.js';

/**
 * The features before authentication: STARTTLS where it is on and the stream is not yet encrypted
 * (RFC 6120 §5.3.1; with `<required/>` and nothing else where it is mandatory), then the SASL
 * mechanisms, SCRAM first, PLAIN only where the stream may carry a password (RFC 6120 §6.3.3).
 */
function saslFeatures(context: C2sContext): XmlElement {
  const offerTls = context.tls !== 'off' && !context.secure;
  const starttls = offerTls
    ? [el('starttls', { xmlns: ns.tls }, context.tls === 'required' ? [el('required')] : [])]
    : [];
  if (offerTls && context.tls === 'required') return el('stream:features', {}, starttls);
  const mechanisms = [...scramMechanisms, ...(plainAllowed(context) ? ['PLAIN'] : [])];
  return el('stream:features', {}, [
    ...starttls,
    el(
      'mechanisms',
      { xmlns: ns.sasl },
      mechanisms.map((m) => el('mechanism', {}, [m])),
    ),
  ]);
}

/** PLAIN is offered and accepted on an encrypted stream, or where the configuration allows it without (RFC 6120 §13.8). */
function plainAllowed(context: C2sContext): boolean {
  return context.secure || context.plainWithoutTls;
}
// XEP-0198: stream management is offered after authentication, beside resource binding.
const bindFeatures = el('stream:features', {}, [el('bind', { xmlns: ns.bind }), el('sm', { xmlns: ns.sm })]);

export interface C2sInput {
  readonly conn: string;
  readonly streamId: string;
  readonly seeOtherHostTimeoutMs: number;
  /** The accounts SASL checks passwords against (the seed's "local SASL system configuration"). */
  readonly accounts: GatewayConfig['accounts'];
  /** PLAIN is offered and accepted before TLS (RFC 6120 §13.8 says not to, so only when configured to). */
  readonly plainWithoutTls: boolean;
  /** STARTTLS (RFC 6120 §5): offered (`optional`), demanded before SASL (`required`), or not offered. */
  readonly tls: TlsMode;
  /** The server part of SCRAM nonces on this stream, from the node's seeded random stream. */
  readonly nonce: string;
  /** SASL failures this stream may have; the last is followed by `<policy-violation/>` and the close (RFC 6120 §6.4.5). */
  readonly saslFailuresMax: number;
}

interface C2sContext extends C2sInput {
  /** TLS is up on this connection (after STARTTLS, RFC 6120 §5.4.3.3). */
  readonly secure: boolean;
  readonly domain: string;
  readonly jid: string;
  readonly headerSent: boolean;
  /** The SCRAM exchange under way (RFC 5802 §3), between `<challenge/>` and the client's `<response/>`. */
  readonly scram: ServerExchange | undefined;
  /** SCRAM exchanges started on this stream, so each gets its own server nonce. */
  readonly scramCount: number;
  /** `<failure/>`s sent on this stream (issue 22's SASL throttle, per stream). */
  readonly saslFailures: number;
}

/**
 * The bound session of the stream an element came on, as the gateway's session table has it:
 * none, one without stream management, or one with it (XEP-0198).
 */
export type C2sSession = 'none' | 'plain' | 'sm';

export type C2sEvent =
  // The client's stream, parsed by the gateway.
  | { type: 'xml.open'; xmlns: string | undefined; domain: string; hosted: boolean }
  /**
   * `authBlocked`: the peer's address is shut out by the gateway's per-address throttle just now, so
   * a SASL attempt is refused unchecked (`<temporary-auth-failure/>`).
   */
  | { type: 'xml.element'; element: XmlElement; session: C2sSession; authBlocked?: boolean }
  | { type: 'xml.close' }
  // The gateway's answers to the machine's effects.
  | { type: 'lookup.sent' }
  | { type: 'lookup.unavailable' }
  | { type: 'soh.found'; host: string }
  | { type: 'soh.none' }
  | { type: 'bind.done'; jid: string; id: string }
  | { type: 'c2s.resumed'; jid: string }
  | { type: 'resume.unknown'; previd: string }
  // The connection, as the gateway sees it.
  /** The TLS handshake the machine asked for (`starttls`) is over (RFC 6120 §5.4.3). */
  | { type: 'tls.done'; ok: boolean; reason?: string }
  /** `appCondition`: an application-specific condition after `condition` (RFC 6120 §4.9.4). */
  | { type: 'c2s.fail'; condition: StreamCondition; text?: string; appCondition?: XmlElement }
  | { type: 'conn.closed' };

/** What the machine asks the gateway to do (emitted as `effect`); see the module comment. */
export type C2sEffect =
  /** `<proceed/>` is written: the host upgrades the connection to TLS (RFC 6120 §5.4.3.1). */
  | { type: 'starttls' }
  /** SASL succeeded: the stream restarts (RFC 6120 §4.3.3), the connection belongs to `jid`. */
  | { type: 'authenticated'; jid: string }
  /** An unknown user: ask a service registered for `(domain, client)` for see-other-host. */
  | { type: 'lookup'; jid: string; domain: string }
  /** Bind `resource` (empty: draw one) and answer the iq `id`. */
  | { type: 'bind'; resource: string; id: string }
  /** XEP-0198 §5: take back the session `previd`, whose client handled `h` stanzas. */
  | { type: 'resume'; previd: string; h: number }
  /** XEP-0198 §3: stream management for the bound session. */
  | { type: 'enable' }
  /** A stanza from the bound client, to be stamped and routed. */
  | { type: 'stanza'; stanza: XmlElement }
  | { type: 'sm.request' }
  | { type: 'sm.ack'; h: number }
  /** A password (or SCRAM proof, or unknown user) was checked and failed: counted against the peer's address. */
  | { type: 'sasl.failed' };

export interface C2sEffectEvent {
  readonly type: 'effect';
  readonly effect: C2sEffect;
}

/** How a SASL `<auth/>` fares (RFC 6120 §6.4, RFC 4616, RFC 5802); `none` for any other element. */
type AuthOutcome =
  'none' | 'invalid-mechanism' | 'malformed-request' | 'accepted' | 'challenge' | 'wrong-password' | 'unknown-user';

/** How a SCRAM `<response/>` fares (RFC 5802 §5.1, RFC 6120 §6.4.5); `none` for any other element. */
type ResponseOutcome = 'none' | 'malformed-request' | 'accepted' | 'wrong-proof';

function elementOf(event: C2sEvent): XmlElement | undefined {
  return event.type === 'xml.element' ? event.element : undefined;
}

function authOutcome(context: C2sContext, event: C2sEvent): AuthOutcome {
  const element = elementOf(event);
  if (!element || localName(element) !== 'auth' || element.ns !== ns.sasl) return 'none';
  const mechanism = element.attrs.mechanism;
  if (isScramMechanism(mechanism)) {
    if (!parseClientFirst(textOf(element))) return 'malformed-request';
    return context.accounts.some((a) => a.jid === authJid(context, event)) ? 'challenge' : 'unknown-user';
  }
  if (mechanism !== 'PLAIN' || !plainAllowed(context)) return 'invalid-mechanism';
  const decoded = decodePlain(textOf(element));
  if (!decoded) return 'malformed-request';
  const account = context.accounts.find((a) => a.jid === authJid(context, event));
  if (!account) return 'unknown-user';
  return account.password === decoded.password ? 'accepted' : 'wrong-password';
}

/** The bare JID an `<auth/>` asks for: its authcid (PLAIN) or user name (SCRAM) at the stream's domain. */
function authJid(context: C2sContext, event: C2sEvent): string {
  const element = elementOf(event);
  if (context.scram && element && localName(element) === 'response')
    return context.scram.clientFirst.user + `@${context.domain}`;
  if (isScramMechanism(element?.attrs.mechanism)) {
    return `${parseClientFirst(textOf(element))?.user ?? ''}@${context.domain}`;
  }
  const decoded = decodePlain(textOf(element));
  return `${decoded?.authcid ?? ''}@${context.domain}`;
}

function passwordOf(context: C2sContext, jid: string): string | undefined {
  return context.accounts.find((a) => a.jid === jid)?.password;
}

function responseCheck(context: C2sContext, event: C2sEvent) {
  const element = elementOf(event);
  if (!element || localName(element) !== 'response' || element.ns !== ns.sasl || !context.scram) return undefined;
  const jid = authJid(context, event);
  return checkClientFinal(context.scram, textOf(element), passwordOf(context, jid) ?? '', saltFor(jid));
}

function responseOutcome(context: C2sContext, event: C2sEvent): ResponseOutcome {
  const check = responseCheck(context, event);
  if (!check) return 'none';
  if (check.outcome === 'malformed') return 'malformed-request';
  return check.outcome === 'ok' ? 'accepted' : 'wrong-proof';
}

const isSaslElement = (event: C2sEvent, name: string) => {
  const element = elementOf(event);
  return element !== undefined && element.ns === ns.sasl && localName(element) === name;
};

/** An XEP-0198 counter (`h`) as an element carries it; undefined when it is not one. */
function counterOf(element: XmlElement | undefined): number | undefined {
  const h = Number(element?.attrs.h);
  return !Number.isSafeInteger(h) || h < 0 || h >= 0x1_0000_0000 ? undefined : h;
}

const smFailed = (condition: string) => el('failed', { xmlns: ns.sm }, [el(condition, { xmlns: ns.stanzas })]);

/** The stream error (after our header if none went out yet, RFC 6120 §4.9.1.1) and the stream's end. */
function streamError(context: C2sContext, condition: StreamCondition, appCondition?: XmlElement) {
  const header = context.headerSent
    ? ''
    : writeStreamHeader(streamHeaderAttrs(ns.client, { from: context.domain || undefined, id: streamIdOf(context) }));
  return write(
    context.conn,
    header + writeElement(streamErrorElement(condition, undefined, appCondition)) + streamClose,
  );
}

const effect = (value: C2sEffect): C2sEffectEvent => ({ type: 'effect', effect: value });

function isStartTls(event: C2sEvent): boolean {
  const element = elementOf(event);
  return element !== undefined && element.ns === ns.tls && localName(element) === 'starttls';
}

/** The id of the stream's first header, and of the one after TLS (RFC 6120 §4.3.3: a restart gets a new id). */
function streamIdOf(context: C2sContext): string {
  return context.secure ? `${context.streamId}.tls` : context.streamId;
}

/** The final state, as a state names it and as the root does. */
type Closed = 'closed' | '.closed';

/** Ends the stream with `condition` (RFC 6120 §4.9): reported, written, closed. */
function failStream(condition: StreamCondition, reason: (name: string) => string, target: Closed = 'closed') {
  return {
    target,
    actions: {
      type: 'failStream',
      params: ({ event }: { event: C2sEvent }) => ({ condition, reason: reason(elementOf(event)?.name ?? '') }),
    },
  } as const;
}

/** What any state does with an element it has no rule for (RFC 6120 §6–§7: SASL, binding, then stanzas). */
const otherElement = (target: Closed = 'closed') =>
  [
    {
      guard: 'isStanzaOrAuth',
      ...failStream('not-authorized', (name) => `<${name}> before the stream is authenticated and bound`, target),
    },
    failStream('unsupported-stanza-type', (name) => `<${name}> is not supported here`, target),
  ] as const;

/** A stream header where none may come (RFC 6120 §4.3: one per stream, one more after SASL). */
const otherHeader = (target: Closed = 'closed') =>
  [
    { guard: 'isWrongNamespace', ...failStream('invalid-namespace', () => 'c2s streams use jabber:client', target) },
    failStream('bad-format', () => 'unexpected stream header', target),
  ] as const;

const isSm = (name: string) => ({ type: 'isSmElement', params: { name } }) as const;

/** XEP-0198 elements once the stream is bound (`<resume/>` is only for a stream that is not). */
const smWhenBound = [
  { guard: isSm('resume'), actions: { type: 'refuseSm', params: { condition: 'unexpected-request' } } },
  { guard: and([isSm('enable'), 'hasPlainSession']), actions: 'requestEnable' },
  { guard: isSm('enable'), actions: { type: 'refuseSm', params: { condition: 'unexpected-request' } } },
  {
    guard: and([isSm(''), 'hasNoSm']),
    ...failStream('unsupported-stanza-type', (name) => `<${name}> without stream management`),
  },
  { guard: isSm('r'), actions: 'requestSmRequest' },
  { guard: and([isSm('a'), 'hasCounter']), actions: 'requestSmAck' },
  { guard: isSm('a'), ...failStream('bad-format', () => '<a/> needs a counter h') },
  { guard: isSm(''), ...failStream('unsupported-stanza-type', (name) => `<${name}> is not supported here`) },
] as const;

/** While binding, `<resume/>` takes the place of a bind (XEP-0198 §5); the rest is as when bound. */
const smWhenBinding = [
  { guard: and([isSm('resume'), 'hasCounter']), actions: 'requestResume' },
  { guard: isSm('resume'), actions: 'refuseResume' },
  ...smWhenBound.slice(1),
] as const;

const authIs = (outcome: AuthOutcome) => ({ type: 'authIs', params: { outcome } }) as const;
const responseIs = (outcome: ResponseOutcome) => ({ type: 'responseIs', params: { outcome } }) as const;
/**
 * How a SASL failure counts against the throttle: `checked`, a password (proof, user) was checked and
 * failed (counted on the stream and against the peer's address); `throttled`, the address is shut
 * out and nothing was checked (counted on the stream only); `other`, a malformed request, an unknown
 * mechanism or an abort (not counted: it tests no password).
 */
type FailureKind = 'checked' | 'throttled' | 'other';

/** A SASL `<failure/>` with `condition`. */
const saslFailure = (condition: string, kind: FailureKind = 'other') =>
  ({ type: 'sendFailure', params: { condition, kind } }) as const;
/** Once a stream has had `saslFailuresMax` failures it ends (RFC 6120 §6.4.5: a stream error after too many retries). */
const tooManyFailures = {
  guard: 'hasTooManyFailures',
  ...failStream('policy-violation', () => 'too many failed SASL attempts on this stream'),
} as const;

export const c2sMachine = setup({
  types: {
    context: {} as C2sContext,
    input: {} as C2sInput,
    events: {} as C2sEvent,
    emitted: {} as ReturnType<typeof output> | C2sEffectEvent,
  },
  guards: {
    isHosted: ({ event }) => event.type === 'xml.open' && event.hosted,
    isWrongNamespace: ({ event }) => event.type === 'xml.open' && event.xmlns !== ns.client,
    authIs: ({ context, event }, params: { outcome: AuthOutcome }) => authOutcome(context, event) === params.outcome,
    responseIs: ({ context, event }, params: { outcome: ResponseOutcome }) =>
      responseOutcome(context, event) === params.outcome,
    isAbort: ({ event }) => isSaslElement(event, 'abort'),
    /** A SASL attempt (`<auth/>`, or SCRAM's `<response/>`) from an address the gateway shuts out just now. */
    isBlockedAttempt: ({ event }, params: { name: string }) =>
      event.type === 'xml.element' && event.authBlocked === true && isSaslElement(event, params.name),
    hasTooManyFailures: ({ context }) => context.saslFailures >= context.saslFailuresMax,
    /** RFC 6120 §5.4.2.1: `<starttls/>` on a stream that offered it. */
    isStartTlsOffered: ({ context, event }) => isStartTls(event) && context.tls !== 'off' && !context.secure,
    isStartTls: ({ event }) => isStartTls(event),
    isAuth: ({ event }) => isSaslElement(event, 'auth'),
    /** RFC 6120 §5.3.1: TLS is mandatory-to-negotiate here and the stream is not encrypted yet. */
    needsTls: ({ context }) => context.tls === 'required' && !context.secure,
    isTlsUp: ({ event }) => event.type === 'tls.done' && event.ok,
    isBindRequest: ({ event }) => {
      const element = elementOf(event);
      return element?.name === 'iq' && child(element, 'bind') !== undefined;
    },
    /** An XEP-0198 element; with a name, that one only. */
    isSmElement: ({ event }, params: { name: string }) => {
      const element = elementOf(event);
      return element?.ns === ns.sm && (params.name === '' || localName(element) === params.name);
    },
    hasCounter: ({ event }) => counterOf(elementOf(event)) !== undefined,
    hasPlainSession: ({ event }) => event.type === 'xml.element' && event.session === 'plain',
    hasNoSm: ({ event }) => event.type === 'xml.element' && event.session !== 'sm',
    isStanza: ({ event }) => stanzaNames.has(elementOf(event)?.name ?? ''),
    isStanzaOrAuth: ({ event }) => {
      const element = elementOf(event);
      return element !== undefined && (stanzaNames.has(element.name) || localName(element) === 'auth');
    },
  },
  actions: {
    rememberDomain: assign({
      domain: ({ context, event }) => (event.type === 'xml.open' ? event.domain : context.domain),
    }),
    sendHeaderAndSaslFeatures: enqueueActions(({ context, enqueue }) => {
      const header = writeStreamHeader(streamHeaderAttrs(ns.client, { from: context.domain, id: streamIdOf(context) }));
      enqueue.emit(output(write(context.conn, header + writeElement(saslFeatures(context)))));
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
    rememberUser: assign({ jid: ({ context, event }) => authJid(context, event) }),
    writeSuccess: emit(({ context }) => output(writeElements(context.conn, [el('success', { xmlns: ns.sasl })]))),
    /** RFC 5802 §3: the server-first-message, with this stream's next server nonce. */
    sendChallenge: enqueueActions(({ context, event, enqueue }) => {
      const element = elementOf(event) ?? el('auth');
      const first = parseClientFirst(textOf(element));
      const mechanism = element.attrs.mechanism;
      if (!first || !isScramMechanism(mechanism)) return;
      const exchange = serverFirst(
        mechanism,
        first,
        `${context.nonce}${context.scramCount.toString(36)}`,
        saltFor(authJid(context, event)),
      );
      enqueue.assign({ scram: exchange, scramCount: context.scramCount + 1 });
      enqueue.emit(output(writeElements(context.conn, [el('challenge', { xmlns: ns.sasl }, [challengeOf(exchange)])])));
    }),
    /** RFC 6120 §6.4.6: the server-final-message (the server's signature) rides on `<success/>`. */
    writeScramSuccess: emit(({ context, event }) => {
      const check = responseCheck(context, event);
      const data = check?.outcome === 'ok' ? [check.serverFinal] : [];
      return output(writeElements(context.conn, [el('success', { xmlns: ns.sasl }, data)]));
    }),
    forgetScram: assign({ scram: undefined }),
    /** RFC 6120 §5.4.2.3: `<proceed/>`, the last plaintext byte; then the host's handshake. */
    proceedToTls: enqueueActions(({ context, enqueue }) => {
      enqueue.emit(output(writeElements(context.conn, [el('proceed', { xmlns: ns.tls })])));
      enqueue.emit(effect({ type: 'starttls' }));
    }),
    /** RFC 6120 §5.4.3.3: TLS is up; the client opens a new stream, which gets a new header. */
    secureStream: assign({ secure: true, headerSent: false }),
    /** RFC 6120 §5.4.2.2: `<failure/>` in the TLS namespace, then the stream and the connection close. */
    refuseTls: enqueueActions(({ context, enqueue }) => {
      enqueue.emit(
        output({
          kind: 'reject',
          code: 'ambrosia.tls.refused',
          reason: context.secure ? 'TLS is already up' : 'STARTTLS is not offered here',
          detail: { conn: context.conn },
        }),
      );
      enqueue.emit(output(writeElements(context.conn, [el('failure', { xmlns: ns.tls })])));
      enqueue.emit(output(write(context.conn, streamClose)));
      enqueue.emit(output({ kind: 'close', conn: context.conn }));
    }),
    /** RFC 6120 §5.4.3.2: a failed handshake ends the TCP connection (no stream error can be read). */
    reportTlsFailure: emit(({ context, event }) =>
      output({
        kind: 'reject',
        code: 'ambrosia.tls.failed',
        reason: `TLS handshake failed: ${event.type === 'tls.done' ? (event.reason ?? 'unknown') : 'unknown'}`,
        detail: { conn: context.conn },
      }),
    ),
    requestRestart: emit(({ context, event }) => effect({ type: 'authenticated', jid: authJid(context, event) })),
    /** RFC 6120 §6.4.5: `<failure/>`, counted as its kind says (FailureKind). */
    sendFailure: enqueueActions(({ context, enqueue }, params?: { condition: string; kind: FailureKind }) => {
      enqueue.emit(
        output(
          writeElements(context.conn, [el('failure', { xmlns: ns.sasl }, [el(params?.condition ?? 'not-authorized')])]),
        ),
      );
      if (params?.kind === 'other') return;
      enqueue.assign({ saslFailures: context.saslFailures + 1 });
      if (params?.kind === 'checked') enqueue.emit(effect({ type: 'sasl.failed' }));
    }),
    requestLookup: emit(({ context, event }) =>
      effect({ type: 'lookup', jid: authJid(context, event), domain: context.domain }),
    ),
    requestBind: emit(({ event }) => {
      const element = elementOf(event) ?? el('iq');
      const resource = textOf(child(child(element, 'bind') ?? el('bind'), 'resource')).trim();
      return effect({ type: 'bind', resource, id: element.attrs.id ?? '' });
    }),
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
    requestResume: emit(({ event }) =>
      effect({ type: 'resume', previd: elementOf(event)?.attrs.previd ?? '', h: counterOf(elementOf(event)) ?? 0 }),
    ),
    /** XEP-0198 §5: an unknown or expired session, or a bad `h`: the client binds afresh. */
    refuseResume: enqueueActions(({ context, event, enqueue }) => {
      const previd = event.type === 'resume.unknown' ? event.previd : (elementOf(event)?.attrs.previd ?? '');
      enqueue.emit(output({ kind: 'note', what: 'ambrosia.sm.resume-failed', detail: { previd } }));
      enqueue.emit(output(writeElements(context.conn, [smFailed('item-not-found')])));
    }),
    refuseSm: emit(({ context }, params: { condition: string }) =>
      output(writeElements(context.conn, [smFailed(params.condition)])),
    ),
    requestEnable: emit(() => effect({ type: 'enable' })),
    requestSmRequest: emit(() => effect({ type: 'sm.request' })),
    requestSmAck: emit(({ event }) => effect({ type: 'sm.ack', h: counterOf(elementOf(event)) ?? 0 })),
    requestStanza: emit(({ event }) => effect({ type: 'stanza', stanza: elementOf(event) ?? el('message') })),
    sendSeeOtherHost: emit(({ context, event }) =>
      output(
        write(
          context.conn,
          writeElement(streamErrorElement('see-other-host', event.type === 'soh.found' ? event.host : '')) +
            streamClose,
        ),
      ),
    ),
    sendStreamError: emit(({ context, event }) =>
      output(
        event.type === 'c2s.fail'
          ? streamError(context, event.condition, event.appCondition)
          : streamError(context, 'host-unknown'),
      ),
    ),
    /** A stream error the machine decides on: reported (`ambrosia.stream.<condition>`), written, closed. */
    failStream: enqueueActions(({ context, enqueue }, params: { condition: StreamCondition; reason: string }) => {
      enqueue.emit(
        output({
          kind: 'reject',
          code: `ambrosia.stream.${params.condition}`,
          reason: params.reason,
          detail: { conn: context.conn },
        }),
      );
      enqueue.emit(output(streamError(context, params.condition)));
      enqueue.emit(output({ kind: 'close', conn: context.conn }));
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
  // Object.assign, not a spread then fields: a tenth of the cost per actor (docs/performance.md, finding 10).
  context: ({ input }) =>
    Object.assign({}, input, {
      secure: false,
      domain: '',
      jid: '',
      headerSent: false,
      scram: undefined,
      scramCount: 0,
      saslFailures: 0,
    }),
  on: {
    'xml.open': [...otherHeader('.closed')],
    'xml.element': [...otherElement('.closed')],
    // XEP-0198 §5: a stream the client closes cleanly ends its session (no resumption).
    'xml.close': { target: '.closed', actions: ['sendStreamClose', 'closeConn'] },
    'c2s.fail': { target: '.closed', actions: ['sendStreamError', 'closeConn'] },
    'conn.closed': { target: '.closed' },
  },
  states: {
    opening: {
      on: {
        'xml.open': [
          otherHeader()[0],
          { guard: 'isHosted', target: 'authenticating', actions: ['rememberDomain', 'sendHeaderAndSaslFeatures'] },
          { target: 'closed', actions: ['rememberDomain', 'sendStreamError', 'closeConn'] },
        ],
      },
    },
    authenticating: {
      always: tooManyFailures,
      on: {
        'xml.element': [
          // Issue 22: an address that failed too often is shut out for a while; its attempts are not checked.
          {
            guard: { type: 'isBlockedAttempt', params: { name: 'auth' } },
            actions: saslFailure('temporary-auth-failure', 'throttled'),
          },
          { guard: 'isStartTlsOffered', target: 'securing', actions: 'proceedToTls' },
          { guard: 'isStartTls', target: 'closed', actions: 'refuseTls' },
          // RFC 6120 §6.5.3: no SASL before the mandatory TLS.
          { guard: and(['needsTls', 'isAuth']), actions: saslFailure('encryption-required') },
          { guard: authIs('invalid-mechanism'), actions: saslFailure('invalid-mechanism') },
          { guard: authIs('malformed-request'), actions: saslFailure('malformed-request') },
          {
            guard: authIs('accepted'),
            target: 'restarting',
            actions: ['rememberUser', 'writeSuccess', 'requestRestart'],
          },
          { guard: authIs('challenge'), target: 'challenged', actions: 'sendChallenge' },
          { guard: authIs('wrong-password'), actions: saslFailure('not-authorized', 'checked') },
          // RFC 6120 §6.4.4: nothing to abort, but the answer is the same.
          { guard: 'isAbort', actions: saslFailure('aborted') },
          // Seed: "if a user is unknown, ask a service for a see-other-host value".
          { guard: authIs('unknown-user'), actions: 'requestLookup' },
          ...otherElement(),
        ],
        'lookup.sent': { target: 'checkingUser' },
        'lookup.unavailable': { actions: saslFailure('not-authorized', 'checked') },
      },
    },
    /** SCRAM (RFC 5802 §3): the server-first-message is out, the client's proof is awaited. */
    challenged: {
      on: {
        'xml.element': [
          {
            guard: { type: 'isBlockedAttempt', params: { name: 'response' } },
            target: 'authenticating',
            actions: [saslFailure('temporary-auth-failure', 'throttled'), 'forgetScram'],
          },
          {
            guard: responseIs('accepted'),
            target: 'restarting',
            actions: ['rememberUser', 'writeScramSuccess', 'requestRestart', 'forgetScram'],
          },
          // RFC 6120 §6.4.5: a failed attempt is answered with <failure/>; the client may try again.
          {
            guard: responseIs('wrong-proof'),
            target: 'authenticating',
            actions: [saslFailure('not-authorized', 'checked'), 'forgetScram'],
          },
          {
            guard: responseIs('malformed-request'),
            target: 'authenticating',
            actions: [saslFailure('malformed-request'), 'forgetScram'],
          },
          // RFC 6120 §6.4.4: the client aborts the exchange.
          { guard: 'isAbort', target: 'authenticating', actions: [saslFailure('aborted'), 'forgetScram'] },
          ...otherElement(),
        ],
      },
    },
    /** STARTTLS (RFC 6120 §5.4.3): `<proceed/>` is out, the host runs the handshake. */
    securing: {
      on: {
        'tls.done': [
          { guard: 'isTlsUp', target: 'opening', actions: 'secureStream' },
          { target: 'closed', actions: ['reportTlsFailure', 'closeConn'] },
        ],
      },
    },
    checkingUser: {
      on: {
        'soh.found': { target: 'closed', actions: ['sendSeeOtherHost', 'closeConn'] },
        'soh.none': { target: 'authenticating', actions: saslFailure('not-authorized', 'checked') },
      },
      after: { seeOtherHostDelay: { target: 'authenticating', actions: saslFailure('not-authorized', 'checked') } },
    },
    restarting: {
      on: { 'xml.open': [otherHeader()[0], { target: 'binding', actions: 'sendHeaderAndBindFeatures' }] },
    },
    binding: {
      on: {
        'xml.element': [{ guard: 'isBindRequest', actions: 'requestBind' }, ...smWhenBinding, ...otherElement()],
        'bind.done': { target: 'bound', actions: ['rememberBound', 'sendBound'] },
        // XEP-0198 §5: a resumed session is bound already; the stream management session writes <resumed/>.
        'c2s.resumed': { target: 'bound', actions: 'rememberBound' },
        'resume.unknown': { actions: 'refuseResume' },
      },
    },
    bound: {
      on: {
        'xml.element': [...smWhenBound, { guard: 'isStanza', actions: 'requestStanza' }, ...otherElement()],
      },
    },
    closed: { type: 'final' },
  },
});
