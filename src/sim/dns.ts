/**
 * The world's DNS: one zone (A, MX, TXT) that nodes publish into when they are added and scenarios
 * add to, queries answered after `dnsDelayMs` (or failed as `Faults` says), and the resolution of
 * a name a node connects or sends to into a host of the world.
 *
 * The resolver is part of the network: partitions and clogs do not reach it.
 */
import type { DnsRecord, DnsRecordType, NodeInput } from '../protocols/protocol.js';
import type { NodeEvent, NodeRuntime, SimContext } from './context.js';
import type { Faults } from './faults.js';
import { rank } from './simulator.js';

export class Dns {
  /** The zone by lower-case name, each name's records in the order they were added (a query costs the same with a million names). */
  private readonly zone = new Map<string, DnsRecord[]>();

  constructor(
    private readonly ctx: SimContext,
    private readonly faults: Faults,
  ) {}

  add(record: DnsRecord): void {
    const name = record.name.toLowerCase();
    const named = this.zone.get(name);
    // The value is read when a query reads it, not here: a protocol may make it on first read
    // (SOLEC's published keys are derived then, and most runs never ask for them).
    const entry = {
      name,
      type: record.type,
      get value() {
        return record.value;
      },
    };
    if (named === undefined) this.zone.set(name, [entry]);
    else named.push(entry);
  }

  /** A host name or an A-record name to a host of the world; undefined when nothing answers to it. */
  resolveHost(name: string): string | undefined {
    const hosts = this.ctx.hosts;
    const lower = name.toLowerCase();
    if (hosts.has(lower)) return lower;
    if (hosts.has(name)) return name;
    const address = this.zone.get(lower)?.find((record) => record.type === 'A')?.value;
    return address !== undefined && hosts.has(address) ? address : undefined;
  }

  /** A node's `dns.query` output: recorded now, answered (a `dns.answer` input) after `dnsDelayMs`. */
  query(runtime: NodeRuntime, query: string, rawName: string, type: DnsRecordType): void {
    const ctx = this.ctx;
    const id = runtime.spec.id;
    const name = rawName.toLowerCase();
    const incarnation = runtime.incarnation;
    ctx.record(id, { kind: 'dns.query', query, name, type });
    const fault = this.faults.dnsFaultOf(name);
    if (fault === 'timeout') return;
    // The answer is decided now (the zone is fixed once the run starts, and the fault was read
    // above); it concerns the asking node only, and may be given ahead (a NodeEvent for the lookahead).
    const named = this.zone.get(name) ?? [];
    const records = named.filter((record) => record.type === type).map((record) => record.value);
    const status = fault ?? (named.length === 0 ? 'nxdomain' : 'ok');
    const answer = status === 'ok' ? records : [];
    const input: NodeInput = { kind: 'dns.answer', query, name, type, status, records: answer };
    const tag: NodeEvent = { runtime, incarnation, payload: input };
    ctx.sim.after(
      ctx.network.dnsDelayMs,
      rank.network,
      () => {
        if (!runtime.alive || runtime.incarnation !== incarnation) return;
        ctx.record(id, { kind: 'dns.answer', query, name, type, status, records: answer });
        ctx.input(runtime, incarnation, input);
      },
      tag,
    );
  }
}
