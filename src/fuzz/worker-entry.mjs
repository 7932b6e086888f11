// The entry of a fuzz worker thread: registers tsx in this thread (a worker does not inherit the
// parent's loader hooks), then runs the TypeScript worker. Plain JavaScript, so that it loads
// before any TypeScript support is in place.
import { register } from 'tsx/esm/api';

register();
await import('./worker.ts');
