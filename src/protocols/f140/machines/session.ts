/**
 * `f140.session` (spec.md §5): one per accepted HTTP connection. It closes the connection when asked
 * to, when the peer does, or when it has been idle for `idleMs`.
 *
 * No I/O here: the close is an emitted output, the idle timer an `after` on the host's clock.
 */
import { emit, setup } from 'xstate';
import type { Ms } from '../../../core/time.js';
import { output } from '../../../engine/actor.js';

export interface SessionInput {
  readonly conn: string;
  readonly idleMs: Ms;
}

export type SessionEvent = { type: 'http.request' } | { type: 'session.end' } | { type: 'conn.closed' };

export const sessionMachine = setup({
  types: {
    context: {} as SessionInput,
    input: {} as SessionInput,
    events: {} as SessionEvent,
  },
  actions: {
    closeConn: emit(({ context }) => output({ kind: 'close', conn: context.conn })),
  },
  delays: {
    idleDelay: ({ context }) => context.idleMs,
  },
}).createMachine({
  id: 'f140.session',
  initial: 'open',
  context: ({ input }) => input,
  states: {
    open: {
      on: {
        'http.request': { target: 'open', reenter: true },
        'session.end': { target: 'closed', actions: 'closeConn' },
        'conn.closed': { target: 'closed' },
      },
      after: { idleDelay: { target: 'closed', actions: 'closeConn' } },
    },
    closed: { type: 'final' },
  },
});
