/**
 * The shared shape of a protocol requirement (h2spec style): what each `src/protocols/<p>/requirements.ts`
 * declares, and what the conformance suites (src/conformance/) cover case by case.
 *
 * Rule: types only; no behaviour, no imports from the protocols (they import this file, not the reverse).
 */

export interface Requirement {
  /** Stable id, such as `F140-4.1-triple` or `SOLEC-WIRE-FRAME`. */
  readonly id: string;
  /** The section of the protocol's spec.md that states it. */
  readonly section: string;
  /** The rule, quoted from the source where there is one. */
  readonly text: string;
  readonly level: 'MUST' | 'SHOULD';
  /** Where the rule comes from: the seed text, the public original, or fedsim's own gap filling. */
  readonly source: 'seed' | 'original' | 'ours';
  /** Test names (`file > name`) that fail when the requirement is broken. */
  readonly tests?: readonly string[];
  /** Tests and scenario files that cover it (protocols list them here or split them into `tests` and `scenarios`). */
  readonly covers?: readonly string[];
  /** Scenario files whose `covers` name this requirement. */
  readonly scenarios?: readonly string[];
}
