/**
 * Named bounds. Every queue and loop in fedsim has one, with the reason for its number.
 */
export const limits = {
  /** Largest virtual time a scenario may ask for: one simulated week is plenty for any protocol timer. */
  timeMsMaxCeiling: 7 * 24 * 3_600_000,
  /** Largest event budget a run may ask for; beyond this a trace would not fit in memory anyway. */
  eventsMaxCeiling: 100_000_000,
  /** Bytes one write may carry; larger writes are a node bug (frames are far smaller in all five protocols). */
  writeBytesMax: 16 * 1024 * 1024,
  /** Connections one node may hold open at once; a runaway reconnect loop hits this instead of memory. */
  connectionsPerNodeMax: 65_536,
  /** Segments held on one clogged link before it counts as a bug in the scenario (a sender without back-pressure). */
  heldSegmentsPerLinkMax: 1_000_000,
  /**
   * Bytes of one scenario (or config) file: the largest bundled scenario is 5 KB, so this leaves
   * 25 times that for generated ones. The YAML parser costs up to ~6 us and ~700 bytes of memory per byte
   * of dense flow-style input (measured: 256 KB took 1.4 s and 190 MB), so this bound keeps the
   * worst file under 2 s and 300 MB for the whole command; a larger one is refused from its size,
   * before it is read.
   */
  scenarioFileBytesMax: 128 * 1024,
  /** Nesting depth of a scenario file's YAML: the format needs 8 or so; deeper is refused, not recursed into. */
  yamlDepthMax: 64,
  /** Alias expansions when a YAML document is converted: stops "billion laughs" files (yaml's own maxAliasCount). */
  yamlAliasCountMax: 100,
  /** Problems listed for one bad scenario file; past this the rest are summarised. */
  problemsPerFileMax: 100,
} as const;
