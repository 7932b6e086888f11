/**
 * Every statechart of the built-in protocols, by machine kind (the machine's id, which is what a
 * trace's `state` events name up to the first space), as `machineDefinition` reads it. The
 * unreachable list (src/fuzz/unreachable.ts) is checked against it, and scripts/coverage-table.ts
 * counts a machine no run started with all its states and transitions.
 */
import type { AnyStateMachine } from 'xstate';
import { machineDefinition, type MachineDefinition } from '../../src/fuzz/coverage.js';
import { c2sMachine } from '../../src/protocols/ambrosia/machines/c2s.js';
import { channelMachine } from '../../src/protocols/ambrosia/machines/channel.js';
import { clientMachine as ambrosiaClient } from '../../src/protocols/ambrosia/machines/client.js';
import { s2sMachine } from '../../src/protocols/ambrosia/machines/s2s.js';
import { serviceLinkMachine } from '../../src/protocols/ambrosia/machines/service-link.js';
import { serviceSessionMachine } from '../../src/protocols/ambrosia/machines/service-session.js';
import { clientMachine as besterClient } from '../../src/protocols/bester/machines/client.js';
import { connectionMachine as besterConnection } from '../../src/protocols/bester/machines/connection.js';
import { dispatchMachine } from '../../src/protocols/bester/machines/dispatch.js';
import { handlerSessionMachine } from '../../src/protocols/bester/machines/handler-session.js';
import { peerMachine } from '../../src/protocols/f140/machines/peer.js';
import { sessionMachine as f140Session } from '../../src/protocols/f140/machines/session.js';
import { connectionMachine as fmtpConnection } from '../../src/protocols/fmtp/machines/connection.js';
import { lookupMachine } from '../../src/protocols/fmtp/machines/lookup.js';
import { relayMachine as fmtpRelay } from '../../src/protocols/fmtp/machines/relay.js';
import { clientMachine as solecClient } from '../../src/protocols/solec/machines/client.js';
import { relayMachine as solecRelay } from '../../src/protocols/solec/machines/relay.js';
import { sessionMachine as solecSession } from '../../src/protocols/solec/machines/session.js';

const machines: readonly AnyStateMachine[] = [
  ...[c2sMachine, channelMachine, ambrosiaClient, s2sMachine, serviceLinkMachine, serviceSessionMachine],
  ...[besterClient, besterConnection, dispatchMachine, handlerSessionMachine],
  ...[peerMachine, f140Session],
  ...[fmtpConnection, lookupMachine, fmtpRelay],
  ...[solecClient, solecRelay, solecSession],
] as unknown as readonly AnyStateMachine[];

/** Machine kind to its definition, for every built-in protocol. */
export const machineCatalog: ReadonlyMap<string, MachineDefinition> = new Map(
  machines.map((machine) => [machine.id, machineDefinition(machine)]),
);

/** The machine kinds of one protocol (`fmtp.connection`, ... for `fmtp`). */
export function kindsOf(protocol: string): string[] {
  return [...machineCatalog.keys()].filter((kind) => kind.startsWith(`${protocol}.`)).sort();
}
