/**
 * Test helpers for SOLEC: frame builders, a reader for what a node wrote, and a tiny message pump
 * that wires several ManualHosts together (stream connections only, in order, no faults). The
 * real simulator replaces the pump; it exists so unit tests can run a federation end to end.
 */
import { ManualHost } from '../../support/manual-host.js';
import type { NodeOutput, ProtocolNode } from '../../../src/protocols/protocol.js';
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

interface PumpNode {
  readonly host: ManualHost;
  readonly node: ProtocolNode;
  readonly role: string;
}

interface Wire {
  readonly node: string;
  readonly conn: string;
}

/**
 * Nodes on ManualHosts, connected by an in-order pump. Host names are node ids; one listener per
 * node. Every output is also kept in `log` with the node that made it, in the order it happened.
 */
export class Pump {
  readonly nodes = new Map<string, PumpNode>();
  readonly log: { node: string; output: NodeOutput }[] = [];
  private readonly listening = new Set<string>();
  /** `node|conn` -> the other end. */
  private readonly peers = new Map<string, Wire>();
  private accepted = 0;
  /** Connections to cut before their next write: `node|conn`. */
  readonly cutOnWrite = new Set<string>();

  constructor(private readonly seed = 1) {}

  add(id: string, raw: unknown): PumpNode {
    const parsed = config(raw);
    const host = new ManualHost(id, id, undefined, this.seed);
    const node = solec.createNode(host, parsed);
    const entry = { host, node, role: parsed.role };
    this.nodes.set(id, entry);
    return entry;
  }

  start(): void {
    for (const { node } of this.nodes.values()) node.start();
    this.run();
  }

  command(id: string, command: unknown): void {
    this.get(id).node.handle({ kind: 'command', command: solec.commandSchema.parse(command) });
    this.run();
  }

  get(id: string): PumpNode {
    const entry = this.nodes.get(id);
    if (!entry) throw new Error(`no node ${id}`);
    return entry;
  }

  /** Outputs of one kind, with the node that made them. */
  outputs<K extends NodeOutput['kind']>(kind: K): { node: string; output: Extract<NodeOutput, { kind: K }> }[] {
    return this.log.filter(
      (entry): entry is { node: string; output: Extract<NodeOutput, { kind: K }> } => entry.output.kind === kind,
    );
  }

  delivered(): { user: string; from: string; body: string }[] {
    return this.outputs('deliver').map(({ output }) => ({ user: output.user, from: output.from, body: output.body }));
  }

  /** Moves every host's clock forward by `ms`, pumping after each step of `stepMs`. */
  advanceMs(ms: number, stepMs = 100): void {
    for (let done = 0; done < ms; done += stepMs) {
      for (const { host } of this.nodes.values()) host.advanceMs(Math.min(stepMs, ms - done));
      this.run();
    }
  }

  /** Moves outputs between nodes until none is left (bounded: a loop is a test failure). */
  run(roundsMax = 10_000): void {
    for (let round = 0; round < roundsMax; round++) {
      let moved = false;
      for (const [id, entry] of this.nodes) {
        for (const out of entry.host.take()) {
          moved = true;
          this.log.push({ node: id, output: out });
          this.apply(id, out);
        }
      }
      if (!moved) return;
    }
    throw new Error('pump did not settle');
  }

  private apply(source: string, out: NodeOutput): void {
    switch (out.kind) {
      case 'listen':
        this.listening.add(source);
        return;
      case 'connect': {
        const target = 'host' in out.target ? out.target.host : '';
        const peer = this.nodes.get(target);
        if (!peer || !this.listening.has(target)) {
          this.get(source).node.handle({ kind: 'conn.failed', conn: out.conn, reason: 'refused' });
          return;
        }
        const conn = `in:${++this.accepted}`;
        this.peers.set(`${source}|${out.conn}`, { node: target, conn });
        this.peers.set(`${target}|${conn}`, { node: source, conn: out.conn });
        peer.node.handle({ kind: 'conn.accepted', conn, local: { host: target, port: 7000 }, remote: source });
        this.get(source).node.handle({ kind: 'conn.opened', conn: out.conn });
        return;
      }
      case 'write': {
        const key = `${source}|${out.conn}`;
        const peer = this.peers.get(key);
        if (!peer) return;
        if (this.cutOnWrite.delete(key)) {
          this.cut(source, out.conn);
          return;
        }
        this.get(peer.node).node.handle({ kind: 'conn.data', conn: peer.conn, bytes: out.bytes });
        return;
      }
      case 'close': {
        const peer = this.peers.get(`${source}|${out.conn}`);
        this.peers.delete(`${source}|${out.conn}`);
        if (!peer) return;
        this.peers.delete(`${peer.node}|${peer.conn}`);
        this.get(peer.node).node.handle({ kind: 'conn.closed', conn: peer.conn, reason: 'closed' });
        return;
      }
      default:
        return;
    }
  }

  /** Open connections of `node` whose id starts with `prefix`, in the order they were opened. */
  liveConns(prefix: string): { node: string; conn: string }[] {
    return [...this.peers.keys()]
      .map((key) => {
        const [node = '', conn = ''] = key.split('|');
        return { node, conn };
      })
      .filter((entry) => entry.conn.startsWith(prefix));
  }

  /** The other end of `node`'s connection `conn`. */
  peerOf(node: string, conn: string): { node: string; conn: string } | undefined {
    return this.peers.get(`${node}|${conn}`);
  }

  /** Resets a connection at both ends (as a crash of the link would). */
  cut(node: string, conn: string): void {
    const peer = this.peers.get(`${node}|${conn}`);
    this.peers.delete(`${node}|${conn}`);
    this.get(node).node.handle({ kind: 'conn.closed', conn, reason: 'reset' });
    if (!peer) return;
    this.peers.delete(`${peer.node}|${peer.conn}`);
    this.get(peer.node).node.handle({ kind: 'conn.closed', conn: peer.conn, reason: 'reset' });
  }
}
