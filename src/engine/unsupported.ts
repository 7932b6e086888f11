/** A machine (or an action it enqueues) uses a feature the compiled engine does not implement. */
export class UnsupportedMachineError extends Error {
  override readonly name = 'UnsupportedMachineError';
}
