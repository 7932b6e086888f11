/**
 * Test helpers for SOLEC: frame builders, a reader for what a node wrote, and the test pump
 * (test/support/pump.ts) set up for SOLEC, so unit tests can run a federation end to end.
 */
import { Pump as AnyPump, type Member, type Seen } from '../../support/pump.js';
import type { NodeOutput } from '../../../src/protocols/protocol.js';
import { solec, type SolecConfig } from '../../../src/protocols/solec/index.js';
import {
  decodePayload,
  encodeFrame,
  FrameDecoder,
  type Payload,
  type Sender,
} from '../../../src/protocols/solec/wire.js';

export function frames(...payloads: Payload[]): Uint8Array {
  const parts = payloads.map(encodeFrame);
  const out = new Uint8Array(parts.reduce((n, part) => n + part.length, 0));
  let at = 0;
  for (const part of parts) {
    out.set(part, at);
    at += part.length;
  }
  return out;
}

/** Decodes every payload a node wrote on `conn` among `outputs` (as sent by `sender`). */
export function written(outputs: readonly NodeOutput[], conn: string, sender: Sender): Payload[] {
  const decoder = new FrameDecoder(0xffff);
  const payloads: Payload[] = [];
  for (const out of outputs) {
    if (out.kind !== 'write' || out.conn !== conn) continue;
    const raw = decoder.push(out.bytes);
    if (!raw.ok) throw new Error(`node wrote a bad frame: ${raw.error.message}`);
    for (const frame of raw.value) {
      const payload = decodePayload(frame, sender);
      if (!payload.ok) throw new Error(`node wrote a bad payload: ${payload.error.message}`);
      payloads.push(payload.value);
    }
  }
  return payloads;
}

/** Types of the payloads written on `conn`, in order. */
export function writtenTypes(outputs: readonly NodeOutput[], conn: string, sender: Sender): string[] {
  return written(outputs, conn, sender).map((payload) => payload.type);
}

export function kinds(outputs: readonly NodeOutput[]): string[] {
  return outputs.map((out) => out.kind);
}

/** Parses a config through the protocol's schema, so tests see the defaults scenarios see. */
export function config(raw: unknown): SolecConfig {
  return solec.configSchema.parse(raw);
}

/** The test pump (test/support/pump.ts) for SOLEC, with the log and lookups its tests read. */
export class Pump extends AnyPump<SolecConfig> {
  constructor(seed = 1) {
    super(solec, { config, command: solec.commandSchema.parse, stepMs: 100, seed });
  }

  get nodes(): Map<string, Member<SolecConfig>> {
    return this.members;
  }

  get log(): Seen[] {
    return this.seen;
  }

  add(id: string, raw: unknown): Member<SolecConfig> {
    return this.addNode(id, raw);
  }

  start(): void {
    this.startAll();
  }

  get(id: string): Member<SolecConfig> {
    return this.member(id);
  }

  /** Outputs of one kind, with the node that made them. */
  outputs<K extends NodeOutput['kind']>(kind: K): { node: string; output: Extract<NodeOutput, { kind: K }> }[] {
    return this.seen.filter(
      (entry): entry is Seen & { output: Extract<NodeOutput, { kind: K }> } => entry.output.kind === kind,
    );
  }

  delivered(): { user: string; from: string; body: string }[] {
    return this.outputs('deliver').map(({ output }) => ({ user: output.user, from: output.from, body: output.body }));
  }

  /** Open connections of `node` whose id starts with `prefix`, in the order they were opened. */
  liveConns(prefix: string): { node: string; conn: string }[] {
    return this.ends()
      .filter((end) => end.conn.startsWith(prefix))
      .map(({ node, conn }) => ({ node, conn }));
  }
}
