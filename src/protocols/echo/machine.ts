/**
 * Echo link: one outbound connection from a client node to a server, which sends queued bodies
 * once connected, retries a refused or timed-out connect with backoff, and closes when idle.
 * No I/O here: it emits `output` events; its timers come from the host's clock.
 *
 * Local API misuse: none possible (the node only ever sends `user.send` and wire events).
 */
import { assign, emit, enqueueActions, setup } from 'xstate';
import { concatBytes } from '../../core/bytes.js';
import { output } from '../../engine/actor.js';
import { encodeFrame } from './wire.js';

export interface LinkInput {
  readonly conn: string;
  readonly target: string;
  readonly port: number;
  readonly idleMs: number;
  readonly retryMs: number;
  readonly attemptsMax: number;
}

interface LinkContext extends LinkInput {
  readonly queue: readonly string[];
  readonly attempt: number;
}

export type LinkEvent =
  | { type: 'user.send'; body: string }
  | { type: 'conn.opened' }
  | { type: 'conn.failed'; reason: string }
  | { type: 'conn.closed' }
  | { type: 'wire.reply' };

/** Each connect attempt gets its own connection id: `<link>#<attempt>`. */
export function connId(context: { conn: string; attempt: number }): string {
  return `${context.conn}#${context.attempt}`;
}

export const linkMachine = setup({
  types: {
    context: {} as LinkContext,
    input: {} as LinkInput,
    events: {} as LinkEvent,
  },
  guards: {
    hasAttemptsLeft: ({ context }) => context.attempt < context.attemptsMax,
  },
  actions: {
    queueBody: assign({
      queue: ({ context, event }) => (event.type === 'user.send' ? [...context.queue, event.body] : context.queue),
    }),
    connect: emit(({ context }) =>
      output({ kind: 'connect', conn: connId(context), target: { host: context.target, port: context.port } }),
    ),
    countAttempt: assign({ attempt: ({ context }) => context.attempt + 1 }),
    flushQueue: enqueueActions(({ context, enqueue }) => {
      if (context.queue.length === 0) return;
      const frames = context.queue.map((body) => ({ verb: 'ECHO' as const, body }));
      enqueue.emit(
        output({
          kind: 'write',
          conn: connId(context),
          bytes: concatBytes(...frames.map(encodeFrame)),
          decoded: frames,
        }),
      );
      enqueue.assign({ queue: [] });
    }),
    close: emit(({ context }) => output({ kind: 'close', conn: connId(context) })),
    giveUp: emit(({ context }) =>
      output({
        kind: 'reject',
        code: 'echo.unreachable',
        reason: `gave up on ${context.target} after ${context.attempt} attempts`,
        detail: { undelivered: context.queue },
      }),
    ),
  },
  delays: {
    retryDelay: ({ context }) => context.retryMs * 2 ** (context.attempt - 1),
    idleDelay: ({ context }) => context.idleMs,
  },
}).createMachine({
  id: 'echo.link',
  initial: 'connecting',
  context: ({ input }) => ({ ...input, queue: [], attempt: 1 }),
  entry: 'connect',
  states: {
    connecting: {
      on: {
        'user.send': { actions: 'queueBody' },
        'conn.opened': { target: 'open' },
        'conn.failed': [{ guard: 'hasAttemptsLeft', target: 'backingOff' }, { target: 'failed' }],
      },
    },
    backingOff: {
      on: { 'user.send': { actions: 'queueBody' } },
      after: { retryDelay: { target: 'connecting', actions: ['countAttempt', 'connect'] } },
    },
    open: {
      entry: 'flushQueue',
      on: {
        'user.send': { actions: 'queueBody', target: 'open', reenter: true },
        'wire.reply': { target: 'open', reenter: true },
        'conn.closed': { target: 'closed' },
      },
      after: { idleDelay: { target: 'closed', actions: 'close' } },
    },
    failed: { type: 'final', entry: 'giveUp' },
    closed: { type: 'final' },
  },
});
