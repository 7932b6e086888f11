/**
 * A discrete-event simulator under virtual time. One clock (integer milliseconds), one queue.
 * It knows nothing of networks or protocols: the World (world.ts and the parts it is made of) schedules closures on it.
 *
 * Tie order at one instant (lower rank first, then scheduling order):
 *   1. `rank.network`: deliveries (bytes, connection events, datagrams, DNS answers), so that what
 *      arrived at time t is seen before any timer that expires at t;
 *   2. `rank.timer`: node timers (xstate `after`), in the order they were set;
 *   3. `rank.step`: scenario steps (user commands and faults), after the world has settled at t;
 *   4. `rank.check`: deadline checks of expectations, last of all at their instant.
 *
 * Every run is bounded: `timeMsMax` and `eventsMax` have no defaults.
 *
 * Lookahead (`setLookahead`, used by the world for external node processes): an event may carry a
 * tag saying what it is. Before a tagged event runs, the lookahead is shown the live events that
 * follow it within its window, in the order they will run, so that it can start work for them
 * early (world.ts). It only reads the queue: the events still run one by one in the order above.
 * Runs with a stop condition (`runUntil`) never look ahead: their caller may act on the world
 * after any event, which the window cannot foresee.
 */
import { assert } from '../core/assert.js';
import { assertMs, isMs, type Ms } from '../core/time.js';
import { EventQueue, type QueueEntry } from './event-queue.js';

export const rank = { network: 0, timer: 1, step: 2, check: 3 } as const;

export type Action = () => void;
export type Scheduled = Readonly<QueueEntry<Action>>;

/**
 * A reader of the queue ahead of each tagged event (see above). `windowMs` (a positive integer):
 * it sees the events at less than the running event's time plus `windowMs`, no later than the run's
 * `timeMsMax` and no more than the run's `eventsMax` leaves room for.
 */
export interface Lookahead {
  readonly windowMs: Ms;
  scan(current: Scheduled, ahead: readonly Scheduled[]): void;
}

export interface RunLimits {
  /** Virtual time at which the run stops, whatever is still queued. */
  readonly timeMsMax: Ms;
  /** Events after which the run stops (a livelock guard). Counted over the simulator's life. */
  readonly eventsMax: number;
}

export type StopReason = 'quiet' | 'condition' | 'untilMs' | 'timeMsMax' | 'eventsMax';

export interface RunOutcome {
  readonly reason: StopReason;
  readonly atMs: Ms;
  readonly events: number;
}

function noop(): void {}

export class Simulator {
  /** A cancelled event's action is dropped for `noop` (event-queue.ts says why). */
  private readonly queue = new EventQueue<Action>(noop);
  private now: Ms = 0;
  private eventsRun = 0;
  private lookahead: Lookahead | undefined;

  get nowMs(): Ms {
    return this.now;
  }

  /** Events run so far. */
  get events(): number {
    return this.eventsRun;
  }

  /** Live events still queued. */
  get pending(): number {
    return this.queue.size;
  }

  /** Schedules `action` at absolute virtual time `atMs` (not before now); `tag` is for the lookahead. */
  at(atMs: Ms, eventRank: number, action: Action, tag?: unknown): Scheduled {
    // Checked first without building the messages: this runs once per event.
    if (!isMs(atMs)) assertMs(atMs, 'atMs');
    if (atMs < this.now) assert(false, `cannot schedule in the past (${atMs} < ${this.now})`);
    return this.queue.push(atMs, eventRank, action, tag);
  }

  /** Schedules `action` after `delayMs` from now. */
  after(delayMs: Ms, eventRank: number, action: Action, tag?: unknown): Scheduled {
    return this.at(this.now + delayMs, eventRank, action, tag);
  }

  /** Sets (or with undefined, removes) the lookahead. */
  setLookahead(lookahead: Lookahead | undefined): void {
    if (lookahead !== undefined) {
      assert(Number.isSafeInteger(lookahead.windowMs) && lookahead.windowMs > 0, 'windowMs must be a positive integer');
    }
    this.lookahead = lookahead;
  }

  cancel(entry: Scheduled): void {
    this.queue.cancel(entry);
  }

  /** Runs one event; false if none is queued. */
  step(): boolean {
    const entry = this.queue.pop();
    if (entry === undefined) return false;
    assert(entry.atMs >= this.now, 'time went backwards');
    this.now = entry.atMs;
    this.eventsRun += 1;
    entry.value();
    return true;
  }

  /**
   * Runs events until `condition()` holds (checked before each event), the queue is empty, or a
   * limit is reached. Stops before running any event later than `timeMsMax`, and then sets the
   * clock to `timeMsMax`.
   */
  runUntil(condition: () => boolean, limits: RunLimits): RunOutcome {
    return this.run(condition, limits, false);
  }

  private run(condition: () => boolean, limits: RunLimits, ahead: boolean): RunOutcome {
    assertMs(limits.timeMsMax, 'timeMsMax');
    assert(Number.isSafeInteger(limits.eventsMax) && limits.eventsMax > 0, 'eventsMax must be a positive integer');
    while (true) {
      if (condition()) return this.outcome('condition');
      if (this.eventsRun >= limits.eventsMax) return this.outcome('eventsMax');
      const next = this.queue.peek();
      if (next === undefined) return this.outcome('quiet');
      if (next.atMs > limits.timeMsMax) {
        this.now = Math.max(this.now, limits.timeMsMax);
        return this.outcome('timeMsMax');
      }
      const lookahead = this.lookahead;
      if (ahead && lookahead !== undefined && next.tag !== undefined) {
        const boundMs = Math.min(next.atMs + lookahead.windowMs - 1, limits.timeMsMax);
        lookahead.scan(next, this.queue.window(boundMs, limits.eventsMax - this.eventsRun - 1));
      }
      this.step();
    }
  }

  /** Runs until nothing is left to do (or a limit). */
  runUntilQuiet(limits: RunLimits): RunOutcome {
    return this.run(() => false, limits, true);
  }

  /** Runs every event up to and including `untilMs`, then sets the clock to `untilMs`. */
  runUntilMs(untilMs: Ms, limits: RunLimits): RunOutcome {
    const boundMs = Math.min(untilMs, limits.timeMsMax);
    const outcome = this.run(() => false, { timeMsMax: boundMs, eventsMax: limits.eventsMax }, true);
    if (outcome.reason === 'eventsMax') return outcome;
    this.now = Math.max(this.now, boundMs);
    return this.outcome(boundMs < untilMs ? 'timeMsMax' : 'untilMs');
  }

  private outcome(reason: StopReason): RunOutcome {
    return { reason, atMs: this.now, events: this.eventsRun };
  }
}
