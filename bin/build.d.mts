/** The build key of `srcDir`: a digest of every source file's path, size and modification time. */
export function buildKey(srcDir: string): string;

/**
 * Compiles `srcDir` into `distDir/<key>` unless that build exists; returns its directory, marked as
 * in use by this process (touched now and every `inUseTouchMs`, so that no later build prunes it).
 */
export function ensureBuilt(options?: { srcDir?: string; distDir?: string }): Promise<string>;

/** How often a process touches the build it runs from (ms). */
export const inUseTouchMs: number;
