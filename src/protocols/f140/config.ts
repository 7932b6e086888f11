/**
 * F140 node configuration and user commands as zod schemas (spec.md "Scenario vocabulary"). The
 * scenario loader validates with these; the node re-checks commands it receives, since a host may pass
 * anything. Defaults are ours (spec.md §6).
 *
 * Rule: schemas and their types only; no behaviour.
 */
import { z } from 'zod';

/** F140 names no port; 8140 is ours (F + 140). */
export const defaultPort = 8140;

const port = z.number().int().min(1).max(65_535);
/**
 * A name has to have a UTF-8 form: a lone surrogate (half of a UTF-16 pair, alone) has none, and on
 * the wire would become U+FFFD, which is another name.
 */
const wellFormed = (text: string): boolean => !/\p{Cs}/u.test(text);
const username = z
  .string()
  .min(1)
  .max(256)
  .refine(wellFormed, 'holds a lone surrogate (half of a UTF-16 pair), which has no UTF-8 form');

const challengePair = z.strictObject({ challenge: z.string().min(1).max(256), response: z.string().min(1).max(256) });

const friend = z.strictObject({
  user: username,
  host: z.string().min(1).max(253),
  port: port.default(defaultPort),
  outbound: challengePair,
  inbound: challengePair,
});

const user = z.strictObject({
  name: username,
  friends: z.array(friend).max(1_000).default([]),
  groups: z.record(z.string().min(1).max(64), z.array(username).max(1_000)).default({}),
});

export const configSchema = z
  .strictObject({
    port: port.default(defaultPort),
    /** The host name peers reach us at (PING `reply_to`); defaults to the host's own name. */
    advertiseHost: z.string().min(1).max(253).optional(),
    users: z.array(user).max(1_000).default([]),
    retryMsBase: z.number().int().min(1).default(1_000),
    retryMsMax: z.number().int().min(1).default(60_000),
    requestTimeoutMs: z.number().int().min(1).default(10_000),
    queueExpiryMs: z.number().int().min(1).default(86_400_000),
    idleMs: z.number().int().min(1).default(30_000),
    announce: z.boolean().default(true),
    /**
     * `seed` (faithful, the default): the static challenge and response travel in the clear and an
     * accepted PING re-points its sender's address. `bound` (ours, spec.md §8): proofs over a fresh
     * nonce instead, bound to the call's arguments, and each nonce taken once.
     */
    profile: z.enum(['seed', 'bound']).default('seed'),
  })
  .superRefine((config, ctx) => {
    const names = new Set<string>();
    config.users.forEach((u, i) => {
      if (names.has(u.name))
        ctx.addIssue({ code: 'custom', path: ['users', i, 'name'], message: `duplicate user ${u.name}` });
      names.add(u.name);
      const friends = new Set(u.friends.map((f) => f.user));
      for (const [group, members] of Object.entries(u.groups)) {
        members.forEach((member, j) => {
          if (!friends.has(member)) {
            ctx.addIssue({
              code: 'custom',
              path: ['users', i, 'groups', group, j],
              message: `${member} is in group ${group} but is not a friend of ${u.name}`,
            });
          }
        });
      }
    });
    if (config.retryMsMax < config.retryMsBase) {
      ctx.addIssue({ code: 'custom', path: ['retryMsMax'], message: 'retryMsMax must be at least retryMsBase' });
    }
  });

export type F140Config = z.output<typeof configSchema>;

const text = z.string().max(10_000);

export const commandSchema = z.discriminatedUnion('type', [
  /** Queue one message from a local user to one friend. */
  z.strictObject({ type: z.literal('send'), from: username, to: username, text }),
  /** Queue one message from a local user to every friend in one of its groups. */
  z.strictObject({ type: z.literal('broadcast'), from: username, group: z.string().min(1), text }),
  /** PING a friend now (announce ourselves and ask for what it queued for us). */
  z.strictObject({ type: z.literal('ping'), to: username }),
  /**
   * Test bed only (not F140): write `request` as it is to `host:port` on a fresh connection and report
   * the answer as a `f140.raw.response` note, so scenarios can send what no F140 client would
   * (mixed-case names, GET, malformed requests). Bounded by the request head and body limits of wire.ts.
   */
  z.strictObject({
    type: z.literal('raw'),
    host: z.string().min(1).max(253),
    port: port.default(defaultPort),
    request: z
      .string()
      .min(1)
      .max(24 * 1024),
  }),
]);

export type F140Command = z.output<typeof commandSchema>;
