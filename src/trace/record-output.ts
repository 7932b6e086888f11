/**
 * The one mapping from a node's report outputs (`deliver`, `reject`, `note`: what a node tells
 * its users and the checkers, rather than asks its host to do) to trace events, used by both
 * hosts: the sim host (src/sim/world.ts) and the real host (src/real/host.ts). The outputs a host
 * carries out (listen, connect, write, close, datagrams, DNS) are recorded by the host as it
 * carries them out, since only it knows the peer, the message number or the bound address; an
 * endpoint a node names reads the same on both (`endpointText`).
 *
 * Typed against the node contract on one side and the trace schema on the other, so a field
 * added to either shows here as a type error, not as two hosts that drifted apart.
 */
import type { Endpoint, NodeOutput } from '../protocols/protocol.js';
import type { TraceEventBody } from './events.js';
import type { TraceRecorder } from './recorder.js';

/** The outputs that report rather than act. */
export type NodeReport = Extract<NodeOutput, { readonly kind: 'deliver' | 'reject' | 'note' }>;

/** Whether `output` is a report (recorded by `recordOutput`) rather than an action for the host. */
export function isReport(output: NodeOutput): output is NodeReport {
  return output.kind === 'deliver' || output.kind === 'reject' || output.kind === 'note';
}

/** The trace event of a report, with its fields in a fixed order (absent optional fields left out). */
export function reportEvent(output: NodeReport): TraceEventBody {
  switch (output.kind) {
    case 'deliver':
      return {
        kind: 'deliver',
        user: output.user,
        from: output.from,
        body: output.body,
        ...(output.id === undefined ? {} : { id: output.id }),
        ...(output.detail === undefined ? {} : { detail: output.detail }),
      };
    case 'reject':
      return {
        kind: 'reject',
        code: output.code,
        reason: output.reason,
        ...(output.detail === undefined ? {} : { detail: output.detail }),
      };
    case 'note':
      return {
        kind: 'note',
        what: output.what,
        ...(output.detail === undefined ? {} : { detail: output.detail }),
      };
  }
}

/** Records a report output of `node` at `atMs` (only counted, its event not built, when nothing reads its kind). */
export function recordOutput(trace: TraceRecorder, atMs: number, node: string, output: NodeReport): void {
  if (trace.wants(output.kind)) trace.record(atMs, node, reportEvent(output));
  else trace.skip(node);
}

/** An endpoint a node names (a connect target), as the trace shows it: `host:port` or `unix:<path>`. */
export function endpointText(endpoint: Endpoint): string {
  return 'path' in endpoint ? `unix:${endpoint.path}` : `${endpoint.host}:${endpoint.port}`;
}
