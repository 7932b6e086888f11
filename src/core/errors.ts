/**
 * The few error classes fedsim throws or returns. Four kinds of failure, never mixed:
 * our own bugs (AssertionError, thrown), peer input (WireError, returned as a value),
 * local API misuse (a typed rejection output of a node, never an exception), and user
 * mistakes in files or flags (ScenarioError / UsageError, reported with every problem at once).
 */

export class TestbedError extends Error {
  override name = 'TestbedError';
}

/** A broken invariant inside fedsim itself: a bug, never a user or peer mistake. */
export class AssertionError extends TestbedError {
  override name = 'AssertionError';
}

/** Bytes from a peer that a decoder refused. Decoders return it inside a Result; they never throw it. */
export class WireError extends TestbedError {
  override name = 'WireError';
  constructor(
    /** A short stable code, such as `frame.truncated` or `json.invalid`. */
    readonly code: string,
    message: string,
    /** Byte offset in the input where the problem was found, when known. */
    readonly offset?: number,
  ) {
    super(message);
  }
}

/** One located problem in a user-supplied file. */
export interface Problem {
  file: string;
  line: number;
  column: number;
  /** JSON pointer of the offending value, such as `/steps/2/atMs`. */
  pointer: string;
  message: string;
}

export function formatProblem(problem: Problem): string {
  return `${problem.file}:${problem.line}:${problem.column}: ${problem.message}`;
}

/** A scenario (or config) file with one or more problems; all of them are listed. */
export class ScenarioError extends TestbedError {
  override name = 'ScenarioError';
  constructor(readonly problems: readonly Problem[]) {
    super(problems.map(formatProblem).join('\n'));
  }
}

/** A bad command line: the CLI prints the message and exits with code 2. */
export class UsageError extends TestbedError {
  override name = 'UsageError';
}

/**
 * An external node process broke the process protocol (it exited, wrote a line that is not JSON or
 * not in the schema, or gave no end-of-step in time). The host cannot go on with that node: the run
 * stops (the CLI exits 3) and the trace up to that point is kept. Never caught as a node bug.
 */
export class ProcessNodeError extends TestbedError {
  override name = 'ProcessNodeError';
  constructor(
    /** The node whose process failed. */
    readonly node: string,
    message: string,
  ) {
    super(message);
  }
}
