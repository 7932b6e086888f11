/**
 * The test pump (test/support/pump.ts) for FMTP: inputs in one FIFO queue, frames named by their
 * type, each node's DNS records in the zone, and the log as `lines`.
 */
import { Pump as AnyPump, type Member } from '../../support/pump.js';
import { fmtp, fmtpConfig } from '../../../src/protocols/fmtp/index.js';
import type { FmtpConfig } from '../../../src/protocols/fmtp/config.js';
import { describe } from '../../../src/protocols/fmtp/wire.js';

export class Pump extends AnyPump<FmtpConfig> {
  constructor(readonly seed = 1) {
    const config = (raw: unknown) => fmtpConfig(raw as Parameters<typeof fmtpConfig>[0]);
    const type = (bytes: Uint8Array) => (describe(bytes) as { type?: string }).type ?? 'bytes';
    super(fmtp, { config, describe: type, queued: true, stepsMax: 100_000, seed });
  }

  get log(): string[] {
    return this.lines;
  }

  get outputs(): { node: string; output: unknown }[] {
    return this.seen;
  }

  add(id: string, config: Parameters<typeof fmtpConfig>[0] = {}): Member<FmtpConfig> {
    const member = this.addNode(id, config);
    for (const record of fmtp.dnsRecords?.({ id, hostName: id, config: member.config, seed: this.seed }) ?? []) {
      this.record(record.type, record.name, record.value);
    }
    return member;
  }

  start(): void {
    this.startAll();
  }

  notes(what: string, node?: string): unknown[] {
    return this.of('note', node)
      .filter((note) => note.what === what)
      .map((note) => note.detail);
  }
}
