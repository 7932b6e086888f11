// Goal: the viewer's parser reads a trace the same whether it arrives whole or in chunks cut
// anywhere (mid-line, mid-character run, just before the end line), and reports the same errors.
// Method: the synthetic trace and a damaged copy, parsed whole and pushed to TraceStreamParser in
// chunks of several sizes, compared field by field; the sha256 check runs on the streamed text.
import { describe, expect, it } from 'vitest';
import { syntheticTraceText } from '../../src/trace/synthetic.js';
import { parseTraceText, TraceStreamParser, verifySha256 } from '../../viz/parse.js';

function streamed(
  text: string,
  size: number,
): { parser: TraceStreamParser; parsed: ReturnType<TraceStreamParser['finish']> } {
  const parser = new TraceStreamParser();
  for (let at = 0; at < text.length; at += size) parser.push(text.slice(at, at + size));
  return { parser, parsed: parser.finish() };
}

describe('viz: trace parsing, whole and streamed', () => {
  const text = syntheticTraceText({ seed: 4, events: 2000, nodes: 4 });

  it('gives the same events, end, hashed length and warnings for any chunk size', async () => {
    const whole = parseTraceText(text);
    expect(whole.events).toHaveLength(2000);
    expect(whole.warnings).toEqual([]);
    for (const size of [1, 7, 100, 4096, 65_536, text.length]) {
      const { parser, parsed } = streamed(text, size);
      expect(parsed.events).toEqual(whole.events);
      expect(parsed.end).toEqual(whole.end);
      expect(parsed.hashedLength).toBe(whole.hashedLength);
      expect(parsed.warnings).toEqual(whole.warnings);
      expect(parser.text()).toBe(text);
    }
    const { parser, parsed } = streamed(text, 333);
    expect(await verifySha256(parser.text(), parsed)).toBe(true);
  });

  it('reports a bad line with its number, and a cut trace with a warning, as the whole parse does', () => {
    const lines = text.split('\n');
    lines[10] = '{"seq": 10, broken';
    const broken = lines.join('\n');
    expect(() => parseTraceText(broken)).toThrow(/^line 11: not JSON/);
    expect(() => streamed(broken, 50)).toThrow(/^line 11: not JSON/);
    const cut = text.slice(0, text.lastIndexOf('{"end"') - 1);
    const { parsed } = streamed(cut, 500);
    expect(parsed.events).toHaveLength(2000);
    expect(parsed.warnings).toEqual(['the trace has no end line (cut short?)']);
    expect(parsed.hashedLength).toBe(cut.length);
  });
});
