/**
 * Every protocol fedsim knows, by the name scenario files use. The five federated protocols
 * register here as they land; `echo` is the contract's test protocol.
 */
import { ambrosia } from './ambrosia/index.js';
import { bester } from './bester/index.js';
import { echo } from './echo/index.js';
import { f140 } from './f140/index.js';
import { fmtp } from './fmtp/index.js';
import { solec } from './solec/index.js';
import type { Protocol } from './protocol.js';

// Protocols differ in their config and command types; the registry only hands them to code that
// validates config and commands with the protocol's own schemas first.
// eslint-disable-next-line @typescript-eslint/no-explicit-any -- see above
export type AnyProtocol = Protocol<any, any>;

export const protocols: ReadonlyMap<string, AnyProtocol> = new Map<string, AnyProtocol>([
  ['echo', echo],
  ['fmtp', fmtp],
  ['f140', f140],
  ['solec', solec],
  ['bester', bester],
  ['ambrosia', ambrosia],
]);

export function protocolNamed(name: string): AnyProtocol | undefined {
  return protocols.get(name);
}
