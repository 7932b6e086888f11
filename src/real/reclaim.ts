/**
 * Giving a flood's memory back. Every socket read is its own ArrayBuffer, whose memory (outside V8's
 * heap) is freed only when the collector finds the buffer unreachable. V8 collects for such memory
 * only once about 64 MB more of it has been allocated since its last full collection, and an idle
 * process allocates nothing: after a flood of partial frames was cut off, the tens of MB it sent
 * stayed allocated, unreachable, for as long as the server stayed quiet (docs/serve.md, "Memory after
 * a flood"). The host asks for one full collection once such input has been dropped.
 *
 * Node has no collection call without `--expose-gc`, which a served process is not started with; the
 * flag is set for the moment it takes to read `gc` from a fresh context and cleared again (what
 * jest-leak-detector does). If that is not possible, `fullCollection` is undefined and the host
 * leaves collection to V8.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

function exposeGc(): (() => void) | undefined {
  const exposed = (globalThis as { gc?: unknown }).gc;
  if (typeof exposed === 'function') return exposed as () => void;
  try {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as unknown;
    setFlagsFromString('--no-expose-gc');
    return typeof gc === 'function' ? (gc as () => void) : undefined;
  } catch {
    return undefined;
  }
}

let cached: { readonly gc: (() => void) | undefined } | undefined;

/** A full, synchronous garbage collection, or undefined when this runtime offers none. */
export function fullCollection(): (() => void) | undefined {
  cached ??= { gc: exposeGc() };
  return cached.gc;
}
