/**
 * Canaries: deliberately broken variants of any protocol, for proving that the fuzzer catches
 * what it should. A canary wraps a protocol's node and tampers with its `deliver` outputs only:
 * `duplicate` delivers every message twice, `drop` delivers nothing, `forge` delivers every
 * message as if from another sender (a node that accepts a sender it should have refused).
 * Canaries are for tests and `fedsim fuzz --canary`; they are never in the protocol registry.
 */
import type { AnyProtocol } from '../protocols/registry.js';
import type { NodeHost, NodeOutput } from '../protocols/protocol.js';

export const canaryKinds = ['duplicate', 'drop', 'forge'] as const;
export type CanaryKind = (typeof canaryKinds)[number];

function tamper(kind: CanaryKind, output: NodeOutput): NodeOutput[] {
  if (output.kind !== 'deliver') return [output];
  switch (kind) {
    case 'duplicate':
      return [output, output];
    case 'drop':
      return [];
    case 'forge':
      return [{ ...output, from: `mallory@${output.from.split('@')[1] ?? 'forged.test'}` }];
  }
}

/** `protocol` with its nodes' deliveries tampered with as `kind` says. */
export function canaryProtocol(protocol: AnyProtocol, kind: CanaryKind): AnyProtocol {
  return {
    ...protocol,
    createNode(host: NodeHost, config: unknown) {
      const tampered: NodeHost = {
        id: host.id,
        hostName: host.hostName,
        now: () => host.now(),
        clock: host.clock,
        engine: host.engine,
        random: host.random,
        store: host.store,
        emit: (output) => {
          for (const each of tamper(kind, output)) host.emit(each);
        },
        bufferedBytes: (conn) => host.bufferedBytes(conn),
        writeHighWaterBytes: host.writeHighWaterBytes,
        stateChanged: (machine, value) => host.stateChanged(machine, value),
      };
      return protocol.createNode(tampered, config);
    },
  };
}
