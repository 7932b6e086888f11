/**
 * The gateway's side of one service connection (spec.md §4): the stream header, the mutual
 * handshake, then the channel's control elements. This statechart holds the rules of which element
 * is legal in which state: the gateway sends every parsed stream event (`xml.open`, `xml.element`),
 * the machine checks the handshake against the shared secret in its input, answers or fails the
 * stream itself, and asks the gateway with an emitted `effect` for what needs its tables (the
 * registry, see-other-host answers, the chunk/ack layer in ./channel.ts), which the gateway does in
 * order once the event is processed.
 */
import { assign, emit, enqueueActions, setup } from 'xstate';
import { output } from '../../../engine/actor.js';
import {
  el,
  localName,
  ns,
  readChunk,
  serviceProof,
  streamClose,
  streamErrorElement,
  streamHeaderAttrs,
  textOf,
  writeElement,
  writeStreamHeader,
  type Chunk,
  type StreamCondition,
  type XmlElement,
} from '../wire.js';
import { write, writeElements } from './outputs.js';

export interface ServiceSessionInput {
  readonly conn: string;
  readonly streamId: string;
  readonly localDomain: string;
  /** The secret both ends prove they hold (spec.md §4.2). */
  readonly secret: string;
  /** Services with a secret of their own, by the name their stream header gives (`from`); the rest use `secret`. */
  readonly secrets?: Readonly<Record<string, string>>;
}

interface ServiceSessionContext extends ServiceSessionInput {
  /** The name the stream header gave (`from`), which picks the secret. */
  readonly name: string;
}

export type ServiceSessionEvent =
  // The service's stream, parsed by the gateway.
  | { type: 'xml.open'; xmlns: string | undefined; from: string | undefined }
  | { type: 'xml.element'; element: XmlElement }
  // The connection, as the gateway sees it.
  | { type: 'svc.fail'; condition: StreamCondition }
  | { type: 'conn.closed' };

/** What the machine asks the gateway to do (emitted as `effect`). */
export type ServiceSessionEffect =
  /** The stream header named the service (`from`; undefined when it did not). */
  | { type: 'opened'; name: string | undefined }
  /** The handshake holds: the channel opens. */
  | { type: 'authenticated' }
  /** The handshake failed: the stream is closed, the service is reported and dropped. */
  | { type: 'unauthenticated' }
  | { type: 'register'; domain: string; registration: 'client' | 'server' }
  | { type: 'see-other-host'; response: XmlElement }
  | { type: 'chunk'; chunk: Chunk }
  | { type: 'ack'; h: number }
  | { type: 'request' };

export interface ServiceSessionEffectEvent {
  readonly type: 'effect';
  readonly effect: ServiceSessionEffect;
}

const effect = (value: ServiceSessionEffect): ServiceSessionEffectEvent => ({ type: 'effect', effect: value });

function elementOf(event: ServiceSessionEvent): XmlElement | undefined {
  return event.type === 'xml.element' ? event.element : undefined;
}

/** The element's local name, or '' for an event that is not an element. */
function nameOf(event: ServiceSessionEvent): string {
  const element = elementOf(event);
  return element ? localName(element) : '';
}

/** A channel counter in `<a h/>` (spec.md §4.5); undefined when it is not one. */
function ackCounter(element: XmlElement | undefined): number | undefined {
  const h = Number(element?.attrs.h);
  return !Number.isSafeInteger(h) || h < 0 ? undefined : h;
}

/** The secret of the service the stream header named: its own, or the gateway's shared one. */
function secretOf(context: ServiceSessionContext): string {
  return context.secrets && Object.hasOwn(context.secrets, context.name)
    ? (context.secrets[context.name] ?? context.secret)
    : context.secret;
}

/** `<handshake nonce>` proves the secret (spec.md §4.2). */
function isValidProof(context: ServiceSessionContext, element: XmlElement | undefined): boolean {
  const nonce = element?.attrs.nonce ?? '';
  return nonce !== '' && textOf(element) === serviceProof('service', context.streamId, nonce, secretOf(context));
}

function registrationOf(element: XmlElement | undefined): { domain: string; type: string } {
  return { domain: element?.attrs.domain ?? '', type: element?.attrs.type ?? '' };
}

/** The final state, as a state names it and as the root does. */
type Closed = 'closed' | '.closed';

/** Ends the stream with `condition`: reported (`ambrosia.stream.<condition>`), written, closed. */
function failStream(condition: StreamCondition, reason: (name: string) => string, target: Closed = 'closed') {
  return {
    target,
    actions: {
      type: 'failStream',
      params: ({ event }: { event: ServiceSessionEvent }) => ({
        condition,
        reason: reason(elementOf(event)?.name ?? ''),
      }),
    },
  } as const;
}

const isNamed = (name: string, namespace?: string) => ({ type: 'isNamed', params: { name, namespace } }) as const;

export const serviceSessionMachine = setup({
  types: {
    context: {} as ServiceSessionContext,
    input: {} as ServiceSessionInput,
    events: {} as ServiceSessionEvent,
    emitted: {} as ReturnType<typeof output> | ServiceSessionEffectEvent,
  },
  guards: {
    isServiceNamespace: ({ event }) => event.type === 'xml.open' && event.xmlns === ns.service,
    /** An element of this local name (and namespace, when given). */
    isNamed: ({ event }, params: { name: string; namespace: string | undefined }) =>
      nameOf(event) === params.name && (params.namespace === undefined || elementOf(event)?.ns === params.namespace),
    isValidHandshake: ({ context, event }) => nameOf(event) === 'handshake' && isValidProof(context, elementOf(event)),
    isValidRegistration: ({ event }) => {
      const { domain, type } = registrationOf(elementOf(event));
      return nameOf(event) === 'register' && domain !== '' && (type === 'client' || type === 'server');
    },
    isValidChunk: ({ event }) => nameOf(event) === 'chunk' && readChunk(elementOf(event) ?? el('chunk')) !== undefined,
    isValidAck: ({ event }) =>
      nameOf(event) === 'a' && elementOf(event)?.ns === ns.sm && ackCounter(elementOf(event)) !== undefined,
  },
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
    reportOpened: emit(({ event }) => effect({ type: 'opened', name: event.type === 'xml.open' ? event.from : '' })),
    rememberName: assign({ name: ({ event }) => (event.type === 'xml.open' ? (event.from ?? '') : '') }),
    sendHandshake: emit(({ context, event }) => {
      const nonce = elementOf(event)?.attrs.nonce ?? '';
      const proof = serviceProof('gateway', context.streamId, nonce, secretOf(context));
      return output(writeElements(context.conn, [el('handshake', {}, [proof])]));
    }),
    reportAuthenticated: emit(() => effect({ type: 'authenticated' })),
    sendNotAuthorized: emit(({ context }) =>
      output(write(context.conn, writeElement(streamErrorElement('not-authorized')) + streamClose)),
    ),
    reportUnauthenticated: emit(() => effect({ type: 'unauthenticated' })),
    requestRegister: emit(({ event }) => {
      const { domain, type } = registrationOf(elementOf(event));
      return effect({ type: 'register', domain, registration: type === 'server' ? 'server' : 'client' });
    }),
    sendRegisterError: emit(({ context, event }) => {
      const { domain, type } = registrationOf(elementOf(event));
      return output(
        writeElements(context.conn, [
          el('register-error', { domain, type }, [el('bad-request', { xmlns: ns.stanzas })]),
        ]),
      );
    }),
    requestSeeOtherHost: emit(({ event }) =>
      effect({ type: 'see-other-host', response: elementOf(event) ?? el('see-other-host-response') }),
    ),
    requestChunk: emit(({ event }) => {
      const chunk = readChunk(elementOf(event) ?? el('chunk')) ?? { seq: 0, index: 0, last: true, text: '' };
      return effect({ type: 'chunk', chunk });
    }),
    requestAck: emit(({ event }) => effect({ type: 'ack', h: ackCounter(elementOf(event)) ?? 0 })),
    requestRequest: emit(() => effect({ type: 'request' })),
    sendStreamError: emit(({ context, event }) =>
      output(
        write(
          context.conn,
          writeElement(streamErrorElement(event.type === 'svc.fail' ? event.condition : 'bad-format')) + streamClose,
        ),
      ),
    ),
    failStream: enqueueActions(({ context, enqueue }, params: { condition: StreamCondition; reason: string }) => {
      enqueue.emit(
        output({
          kind: 'reject',
          code: `ambrosia.stream.${params.condition}`,
          reason: params.reason,
          detail: { conn: context.conn },
        }),
      );
      enqueue.emit(output(write(context.conn, writeElement(streamErrorElement(params.condition)) + streamClose)));
      enqueue.emit(output({ kind: 'close', conn: context.conn }));
    }),
    closeConn: emit(({ context }) => output({ kind: 'close', conn: context.conn })),
  },
}).createMachine({
  id: 'ambrosia.service-session',
  initial: 'opening',
  // Object.assign, not a spread then fields: a tenth of the cost per actor (docs/performance.md, finding 10).
  context: ({ input }) => Object.assign({}, input, { name: '' }),
  on: {
    // Ours: one header per service stream, in the service namespace.
    'xml.open': failStream('invalid-namespace', () => `service streams use ${ns.service}`, '.closed'),
    'xml.element': failStream('not-authorized', (name) => `<${name}> before the handshake`, '.closed'),
    'svc.fail': { target: '.closed', actions: ['sendStreamError', 'closeConn'] },
    'conn.closed': { target: '.closed' },
  },
  states: {
    opening: {
      on: {
        'xml.open': [
          {
            guard: 'isServiceNamespace',
            target: 'authenticating',
            actions: ['rememberName', 'sendHeader', 'reportOpened'],
          },
          failStream('invalid-namespace', () => `service streams use ${ns.service}`),
        ],
      },
    },
    authenticating: {
      on: {
        'xml.element': [
          {
            guard: 'isValidHandshake',
            target: 'established',
            actions: ['sendHandshake', 'reportAuthenticated'],
          },
          {
            guard: isNamed('handshake'),
            target: 'closed',
            actions: ['sendNotAuthorized', 'closeConn', 'reportUnauthenticated'],
          },
          failStream('not-authorized', (name) => `<${name}> before the handshake`),
        ],
      },
    },
    established: {
      on: {
        'xml.element': [
          { guard: 'isValidRegistration', actions: 'requestRegister' },
          { guard: isNamed('register'), actions: 'sendRegisterError' },
          { guard: isNamed('see-other-host-response'), actions: 'requestSeeOtherHost' },
          { guard: 'isValidChunk', actions: 'requestChunk' },
          { guard: isNamed('chunk'), ...failStream('bad-format', () => 'a <chunk> needs seq, index and last') },
          { guard: 'isValidAck', actions: 'requestAck' },
          { guard: isNamed('a', ns.sm), ...failStream('bad-format', () => '<a/> needs a counter h') },
          { guard: isNamed('r', ns.sm), actions: 'requestRequest' },
          failStream('unsupported-stanza-type', (name) => `<${name}> on a service channel`),
        ],
      },
    },
    closed: { type: 'final' },
  },
});
