/**
 * A NodeHost for unit tests of one node, driven by hand: time moves only when the test calls
 * `advanceMs`, outputs pile up until the test takes them. No network: the test plays the peers by
 * feeding inputs to the node. (Whole federations run in the simulator instead, under src/sim/.)
 */
import { assert } from '../../src/core/assert.js';
import { Prng } from '../../src/core/prng.js';
import type { Ms } from '../../src/core/time.js';
import { compiledEngine, type Engine } from '../../src/engine/engine.js';
import {
  MemoryStore,
  type DurableStore,
  type HostClock,
  type NodeHost,
  type NodeOutput,
} from '../../src/protocols/protocol.js';

interface PendingTimer {
  readonly handle: number;
  readonly atMs: Ms;
  readonly fn: () => void;
}

export class ManualHost implements NodeHost {
  nowMs: Ms = 0;
  readonly outputs: NodeOutput[] = [];
  readonly states: { machine: string; value: string; atMs: Ms }[] = [];
  readonly random: Prng;
  readonly clock: HostClock;
  private timers: PendingTimer[] = [];
  private nextHandle = 1;

  constructor(
    readonly id: string = 'node.test',
    readonly hostName: string = id,
    readonly store: DurableStore = new MemoryStore(),
    seed = 1,
    readonly engine: Engine = compiledEngine,
  ) {
    this.random = new Prng(seed, `node:${id}`);
    this.clock = {
      setTimeout: (fn, timeoutMs) => {
        const handle = this.nextHandle++;
        this.timers.push({ handle, atMs: this.nowMs + Math.max(0, Math.round(timeoutMs)), fn });
        return handle;
      },
      clearTimeout: (handle) => {
        this.timers = this.timers.filter((timer) => timer.handle !== handle);
      },
    };
  }

  now(): Ms {
    return this.nowMs;
  }

  /** What `bufferedBytes` answers per connection: a test sets it to play a host whose peer is slow. */
  readonly buffered = new Map<string, number>();
  writeHighWaterBytes = 16 * 1024;

  bufferedBytes(conn: string): number {
    return this.buffered.get(conn) ?? 0;
  }

  emit(output: NodeOutput): void {
    this.outputs.push(output);
  }

  stateChanged(machine: string, value: string): void {
    this.states.push({ machine, value, atMs: this.nowMs });
  }

  /** Returns the outputs so far and forgets them. */
  take(): NodeOutput[] {
    return this.outputs.splice(0, this.outputs.length);
  }

  /** Outputs so far of one kind (not forgotten). */
  outputsOf<K extends NodeOutput['kind']>(kind: K): Extract<NodeOutput, { kind: K }>[] {
    return this.outputs.filter((o): o is Extract<NodeOutput, { kind: K }> => o.kind === kind);
  }

  /** The latest state value reported by `machine`, if any. */
  stateOf(machine: string): string | undefined {
    return this.states.filter((s) => s.machine === machine).at(-1)?.value;
  }

  /** Moves time forward, firing due timers in (time, creation) order. */
  advanceMs(ms: Ms): void {
    assert(ms >= 0, 'time only moves forward');
    const untilMs = this.nowMs + ms;
    while (true) {
      const due = this.timers
        .filter((timer) => timer.atMs <= untilMs)
        .sort((a, b) => a.atMs - b.atMs || a.handle - b.handle)[0];
      if (!due) break;
      this.timers = this.timers.filter((timer) => timer !== due);
      this.nowMs = due.atMs;
      due.fn();
    }
    this.nowMs = untilMs;
  }

  pendingTimers(): number {
    return this.timers.length;
  }
}
