/** The build key of `srcDir`: a digest of every source file's path, size and modification time. */
export function buildKey(srcDir: string): string;

/** Compiles `srcDir` into `distDir/<key>` unless that build exists; returns its directory. */
export function ensureBuilt(options?: { srcDir?: string; distDir?: string }): Promise<string>;
