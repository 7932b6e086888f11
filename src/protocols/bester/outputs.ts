/**
 * The outputs every Bester machine and role builds the same way: a frame written to a connection, a
 * close, a note (as machine output events), and the refusal of a command a role does not take.
 *
 * Rule: builders only; no decisions.
 */
import { output, type OutputEvent } from '../../engine/actor.js';
import type { NodeHost } from '../protocol.js';
import { encodeFrame } from './wire.js';

export function write(conn: string, value: unknown): OutputEvent {
  return output({ kind: 'write', conn, bytes: encodeFrame(value), decoded: value });
}

export function close(conn: string): OutputEvent {
  return output({ kind: 'close', conn });
}

export function note(what: string, detail?: unknown): OutputEvent {
  return output({ kind: 'note', what, ...(detail === undefined ? {} : { detail }) });
}

/** A user command sent to a role that does not take it (a handler asked to `send`, say). */
export function refuseCommand(host: NodeHost, role: string, command: unknown): void {
  host.emit({
    kind: 'reject',
    code: 'bester.command.unsupported',
    reason: `a ${role} does not take this command`,
    detail: { command },
  });
}
