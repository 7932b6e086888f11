/**
 * The test pump (test/support/pump.ts) for Bester: nodes start as they are added, under a host name
 * of their own, and the clock moves one millisecond at a time while timers are pending.
 */
import type { NodeOutput } from '../../../src/protocols/protocol.js';
import type { ManualHost } from '../../support/manual-host.js';
import { Pump as AnyPump } from '../../support/pump.js';
import { bester, configSchema } from '../../../src/protocols/bester/index.js';

type BesterConfig = Parameters<typeof bester.createNode>[1];

export class Pump extends AnyPump<BesterConfig> {
  constructor() {
    super(bester, { config: (raw) => configSchema.parse(raw) as BesterConfig, stepMs: 1 });
  }

  add(id: string, hostName: string, config: unknown): ManualHost {
    this.addNode(id, config, { hostName });
    return this.boot(id).host;
  }

  /** Outputs of one kind the nodes produced, in order. */
  outputs<K extends NodeOutput['kind']>(kind: K, node?: string): Extract<NodeOutput, { kind: K }>[] {
    return this.of(kind, node);
  }

  /** Bodies delivered to `user`, in order. */
  delivered(user: string): string[] {
    return this.of('deliver')
      .filter((d) => d.user === user)
      .map((d) => d.body);
  }
}
