/** Always-on assertions for fedsim's own invariants. Never use them on peer or user input. */
import { AssertionError } from './errors.js';

export function assert(condition: unknown, why: string): asserts condition {
  if (!condition) throw new AssertionError(why);
}

export function unreachable(value: never, why = 'unreachable'): never {
  throw new AssertionError(`${why}: ${JSON.stringify(value)}`);
}
