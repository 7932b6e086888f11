/**
 * The `bound` profile's proofs (ours, spec.md §8): under it the static challenge and response never
 * travel. A caller sends a fresh `nonce` and, as `challenge`, an HMAC-SHA256 keyed with the agreed
 * challenge over the call's command, users, nonce, `reply_to` and message; the callee answers, as
 * `response`, an HMAC keyed with the agreed response over the nonce and that proof. A proof seen on
 * the wire says nothing of the secrets, a changed `reply_to` breaks it, and a nonce is taken once.
 *
 * Rule: pure functions of their arguments (deterministic: same input, same proof).
 */
import { createHmac, timingSafeEqual } from 'node:crypto';

/** The arguments a request proof covers, in this order (absent ones count as empty). */
export const boundArguments = ['from_user', 'to_user', 'nonce', 'reply_to', 'msg_id', 'group', 'message'] as const;

function hmac(key: string, text: string): string {
  return createHmac('sha256', key).update(text).digest('hex');
}

/** The `challenge` a caller sends for a call `command` (PING or MSG) with these arguments. */
export function requestProof(challenge: string, command: string, args: (name: string) => string | undefined): string {
  const lines = [command.toUpperCase(), ...boundArguments.map((name) => `${name}=${args(name) ?? ''}`)];
  return hmac(challenge, lines.join('\n'));
}

/** The `response` a callee answers to a request whose proof was `proof`. */
export function responseProof(response: string, nonce: string, proof: string): string {
  return hmac(response, `${nonce}\n${proof}`);
}

/** Whether two proofs are the same (compared in constant time). */
export function sameProof(a: string, b: string): boolean {
  const left = Buffer.from(a);
  const right = Buffer.from(b);
  return left.length === right.length && timingSafeEqual(left, right);
}
