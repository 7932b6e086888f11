/**
 * The test pump (test/support/pump.ts) for Ambrosia: nodes start as they are added, MX and A
 * records come from a fixed zone, and the clock moves in 10 ms steps.
 */
import type { NodeOutput } from '../../../src/protocols/protocol.js';
import { Pump as AnyPump, type Member } from '../../support/pump.js';
import { ambrosia } from '../../../src/protocols/ambrosia/index.js';

type AmbrosiaConfig = Parameters<typeof ambrosia.createNode>[1];

export class Pump extends AnyPump<AmbrosiaConfig> {
  constructor(dns: Record<string, { MX?: string[]; A?: string[] }> = {}) {
    super(ambrosia, {
      config: (raw) => ambrosia.configSchema.parse(raw),
      command: ambrosia.commandSchema.parse,
      stepMs: 10,
    });
    for (const [name, records] of Object.entries(dns)) {
      for (const [type, values] of Object.entries(records)) for (const value of values) this.record(type, name, value);
    }
  }

  add(id: string, config: unknown, seed = 1): Member<AmbrosiaConfig> {
    this.addNode(id, config, { seed });
    return this.boot(id);
  }

  get(id: string): Member<AmbrosiaConfig> {
    return this.member(id);
  }

  /** What crossed the wire, per connection end. */
  get wire(): { from: string; conn: string; text: string }[] {
    return this.writes.map((w) => ({ from: w.from, conn: w.conn, text: new TextDecoder().decode(w.bytes) }));
  }

  override cut(id: string, conn: string): void {
    super.cut(id, conn);
    this.run();
  }

  /** Connections of `id` whose peer is `other`. */
  connsBetween(id: string, other: string): string[] {
    return this.ends()
      .filter((end) => end.node === id && end.peer.node === other)
      .map((end) => end.conn);
  }

  delivered(id: string): { from: string; body: string; id?: string }[] {
    return this.of('deliver', id).map((o) => ({
      from: o.from,
      body: o.body,
      ...(o.id === undefined ? {} : { id: o.id }),
    }));
  }

  outputs<K extends NodeOutput['kind']>(id: string, kind: K): Extract<NodeOutput, { kind: K }>[] {
    return this.of(kind, id);
  }
}
