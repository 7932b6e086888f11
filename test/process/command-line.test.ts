import { describe, expect, it } from 'vitest';
import { splitCommandLine } from '../../src/process/command-line.js';

describe('splitCommandLine', () => {
  it('splits words as a shell does, without expansion', () => {
    expect(splitCommandLine('python3  examples/f140-py/node.py')).toEqual(['python3', 'examples/f140-py/node.py']);
    expect(splitCommandLine(`node 'my node.mjs' "a \\"b\\"" c\\ d $HOME`)).toEqual([
      'node',
      'my node.mjs',
      'a "b"',
      'c d',
      '$HOME',
    ]);
    expect(splitCommandLine("x ''")).toEqual(['x', '']);
  });
  it('refuses an open quote or nothing', () => {
    expect(splitCommandLine("node 'x")).toBeUndefined();
    expect(splitCommandLine('   ')).toBeUndefined();
  });
});
