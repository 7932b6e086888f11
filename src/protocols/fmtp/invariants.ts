/**
 * FMTP invariants (src/protocols/fmtp/spec.md). `fmtp.authentic`: a user receives only what a
 * user sent, under the sender's own address (the relay checks the sender's domain key, so a
 * forged sender must never reach a mailbox). `fmtp.proxy-bounded`: proxies look on a user's
 * behalf a bounded number of times; the `seed` profile's proxy loop breaks it (spec.md §5.3, §11).
 */
import { authenticDelivery, type SentMessage } from '../../check/delivery.js';
import { field, text, type InvariantFactory } from '../../check/context.js';
import type { Invariant } from '../../check/invariants.js';
import { hopsMax } from './config.js';

function sentBy(command: unknown): SentMessage[] {
  const body = text(field(command, 'body'));
  if (field(command, 'type') !== 'send' || body === undefined) return [];
  return [{ from: text(field(command, 'from')), to: text(field(command, 'to')), body }];
}

/**
 * How many times over a proxied lookup may be started for one user's lookup: a relay that cannot
 * deliver resolves its recipient again on each retry (spec.md §8.1: 1 s doubling to 30 s within
 * 300 s is at most 14 attempts), so 16 leaves room and a loop still passes it within seconds.
 */
const lookupsPerCommandMax = 16;

/**
 * Each user command that may look an object up (a `lookup`, or a `send` to it) lets proxies answer
 * LOOKING for that object at most `hopsMax` times per attempt. Under HOPS a chain ends after
 * `hopsMax` proxies; without it (profile `seed`) two proxies routing to each other pass "I will
 * look" back and forth until the requester gives up, hundreds of times a second.
 */
function proxyBounded(): Invariant {
  const begun = new Map<string, number>();
  const looking = new Map<string, number>();
  return {
    name: 'fmtp.proxy-bounded',
    kinds: ['command', 'send'],
    observe(event) {
      if (event.kind === 'command') {
        const type = field(event.command, 'type');
        const object = text(field(event.command, type === 'lookup' ? 'object' : 'to'));
        if ((type === 'lookup' || type === 'send') && object !== undefined)
          begun.set(object, (begun.get(object) ?? 0) + 1);
        return undefined;
      }
      if (event.kind !== 'send' || field(event.payload.decoded, 'type') !== 'LOOKING') return undefined;
      const object = text(field(event.payload.decoded, 'object'));
      if (object === undefined) return undefined;
      const count = (looking.get(object) ?? 0) + 1;
      looking.set(object, count);
      const allowed = hopsMax * lookupsPerCommandMax * Math.max(1, begun.get(object) ?? 0);
      return count === allowed + 1
        ? `proxies answered LOOKING for ${object} ${count} times for ${begun.get(object) ?? 0} user command(s) (at most ${allowed}): a proxy loop`
        : undefined;
    },
  };
}

export const fmtpInvariants: Readonly<Record<string, InvariantFactory>> = {
  'fmtp.authentic': (context) => authenticDelivery('fmtp.authentic', sentBy, context),
  'fmtp.proxy-bounded': () => proxyBounded(),
};
