/**
 * `bester.handler.session` (spec.md §8): one connection from the server to a handler process. It reads
 * one frame of data, works for the configured delay, and writes the reply its rule names.
 *
 * No I/O here: the machine emits `output` events; its reply delay runs on the host's clock. The handler
 * role decodes the bytes: the machine sees the parsed JSON value.
 */
import { assign, emit, setup } from 'xstate';
import { output, type OutputEvent } from '../../../engine/actor.js';
import type { HandlerRule } from '../config.js';
import { close } from '../outputs.js';
import { encodeFrame, handlerReply, isObject, isStringList } from '../wire.js';

/**
 * What a handler with a `tag` makes of the data (spec.md §8): an object gains the tag at the end of
 * its `via` list, so a server that forwards the request's data instead of the reply's shows.
 */
function transformed(data: unknown, tag: string | undefined): unknown {
  if (tag === undefined || !isObject(data)) return data;
  const via = isStringList(data['via']) ? data['via'] : [];
  // Object.assign gives what `{ ...data, via }` gives (the same keys in the same order) about four
  // times faster on Node 20, except for an own `__proto__` key (JSON.parse makes one), which it
  // would set as the prototype: such data takes the spread.
  return Object.hasOwn(data, '__proto__')
    ? { ...data, via: [...via, tag] }
    : Object.assign({}, data, { via: [...via, tag] });
}

/** The handler's reply to `data`: `data` unchanged, or with its `tag` added. Returns the bytes to write and what they mean. */
export function buildHandlerReply(rule: HandlerRule, data: unknown): { bytes: Uint8Array; decoded: unknown } {
  let value: unknown;
  switch (rule.command) {
    case 'sendClients': {
      const field = rule.usernamesField === undefined || !isObject(data) ? undefined : data[rule.usernamesField];
      const fromField = typeof field === 'string' ? [field] : isStringList(field) ? field : [];
      value = handlerReply('0', 'sendClients', [...(rule.usernames ?? []), ...fromField], transformed(data, rule.tag));
      break;
    }
    case 'sendServers':
      value = handlerReply('0', 'sendServers', [...rule.servers], transformed(data, rule.tag));
      break;
    case 'sendHandler':
      value = handlerReply('0', 'sendHandler', rule.handler, transformed(data, rule.tag));
      break;
    case 'other':
      value = handlerReply('0', rule.type, rule.data, data);
      break;
    case 'error':
      value = { header: { status: rule.status }, data };
      break;
    case 'garbage': {
      const body = new TextEncoder().encode('{not json');
      const bytes = new Uint8Array(4 + body.length);
      new DataView(bytes.buffer).setInt32(0, body.length, true);
      bytes.set(body, 4);
      return { bytes, decoded: '{not json' };
    }
  }
  return { bytes: encodeFrame(value), decoded: value };
}

export interface HandlerSessionInput {
  readonly conn: string;
  readonly rule: HandlerRule;
  readonly delayMs: number;
}

interface HandlerSessionContext extends HandlerSessionInput {
  readonly data: unknown;
}

export type HandlerSessionEvent =
  { type: 'wire.frame'; value: unknown } | { type: 'wire.malformed'; code: string } | { type: 'conn.closed' };

export const handlerSessionMachine = setup({
  types: {
    context: {} as HandlerSessionContext,
    input: {} as HandlerSessionInput,
    events: {} as HandlerSessionEvent,
    emitted: {} as OutputEvent,
  },
  guards: {
    isPrompt: ({ context }) => context.delayMs <= 0,
  },
  actions: {
    rememberData: assign({ data: ({ context, event }) => (event.type === 'wire.frame' ? event.value : context.data) }),
    writeReply: emit(({ context }) => {
      const reply = buildHandlerReply(context.rule, context.data);
      return output({ kind: 'write', conn: context.conn, bytes: reply.bytes, decoded: reply.decoded });
    }),
    closeConn: emit(({ context }) => close(context.conn)),
  },
  delays: {
    replyDelay: ({ context }) => context.delayMs,
  },
}).createMachine({
  id: 'bester.handler.session',
  initial: 'reading',
  context: ({ input }) => ({ conn: input.conn, rule: input.rule, delayMs: input.delayMs, data: null }),
  states: {
    reading: {
      on: {
        'wire.frame': { target: 'working', actions: 'rememberData' },
        'wire.malformed': { target: 'closed', actions: 'closeConn' },
        'conn.closed': { target: 'closed' },
      },
    },
    working: {
      always: { guard: 'isPrompt', target: 'replied' },
      after: { replyDelay: { target: 'replied' } },
      on: { 'conn.closed': { target: 'closed' } },
    },
    replied: {
      entry: 'writeReply',
      on: { 'conn.closed': { target: 'closed' } },
    },
    closed: { type: 'final' },
  },
});
