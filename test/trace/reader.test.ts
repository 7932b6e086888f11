// Goal: readTrace accepts exactly the traces events.ts describes, verifies the sha256 end line,
// and reports every kind of damage as a typed TraceError with the right line number.
// Method: read the hand-made Poe/Lenore fixture, round-trip formatTrace, then damage one line
// at a time (bad JSON, missing field, seq gap, time going back, tampered byte, no end line).
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { formatTrace, parseTrace, readTrace, TraceError } from '../../src/trace/reader.js';

const fixture = readFileSync(new URL('../fixtures/poe-lenore.trace.ndjson', import.meta.url), 'utf8');

function errorOf(text: string): TraceError {
  const result = readTrace(text);
  expect(result.ok).toBe(false);
  if (result.ok) throw new Error('unreachable');
  expect(result.error).toBeInstanceOf(TraceError);
  return result.error;
}

/** The fixture with line `line` (1-based) replaced, and the end line left as it was. */
function withLine(line: number, replace: (text: string) => string): string {
  const lines = fixture.split('\n');
  lines[line - 1] = replace(lines[line - 1] as string);
  return lines.join('\n');
}

describe('trace: reader', () => {
  it('reads the Poe/Lenore fixture: header, 79 events, verified end line', () => {
    const trace = parseTrace(fixture);
    expect(trace.header.nodes.map((node) => node.id)).toEqual(['poe.net', 'mail.lenore.org', 'lost.lenore.org']);
    expect(trace.events).toHaveLength(79);
    expect(trace.end.events).toBe(79);
    expect(trace.events.map((event) => event.seq)).toEqual(Array.from({ length: 79 }, (_, i) => i + 1));
    expect(trace.events.filter((event) => event.kind === 'conn.refuse')).toHaveLength(1);
  });

  it('round-trips formatTrace byte for byte', () => {
    const trace = parseTrace(fixture);
    expect(formatTrace(trace.header, trace.events, trace.end.atMs)).toBe(fixture);
  });

  it('rejects a tampered byte with a sha256 error on the end line', () => {
    const tampered = withLine(30, (line) => line.replace('"atMs":', '"atMs": '));
    const error = errorOf(tampered);
    expect(error.code).toBe('end.sha256');
    expect(error.line).toBe(81); // Header, 79 events, then the end line.
  });

  it('reports bad JSON, a missing field, a seq gap and time going back at their lines', () => {
    expect(errorOf(withLine(3, (line) => line.slice(0, -1)))).toMatchObject({ code: 'json.invalid', line: 3 });
    const missing = errorOf(withLine(5, (line) => line.replace('"lamport":', '"lamp":')));
    expect(missing).toMatchObject({ code: 'event.invalid', line: 5 });
    expect(missing.message).toContain('lamport');
    expect(errorOf(withLine(7, (line) => line.replace('"seq":6', '"seq":8')))).toMatchObject({
      code: 'event.order',
      line: 7,
    });
    const back = errorOf(withLine(40, (line) => line.replace(/"atMs":\d+/, '"atMs":1')));
    expect(back).toMatchObject({ code: 'event.order', line: 40 });
  });

  it('rejects an unknown node, an unknown kind and a bad header', () => {
    expect(errorOf(withLine(2, (line) => line.replace('"node":"poe.net"', '"node":"raven.net"'))).message).toContain(
      'raven.net',
    );
    expect(
      errorOf(withLine(2, (line) => line.replace('"kind":"node.start"', '"kind":"node.quoth"'))).message,
    ).toContain('unknown kind');
    expect(errorOf(withLine(1, (line) => line.replace('"version":1', '"version":2')))).toMatchObject({
      code: 'header.invalid',
      line: 1,
    });
  });

  it('rejects a trace without its end line, or with data after it', () => {
    const lines = fixture.trimEnd().split('\n');
    expect(errorOf(lines.slice(0, -1).join('\n') + '\n').code).toBe('end.missing');
    expect(errorOf(fixture + '{"more":true}\n')).toMatchObject({ code: 'trailing.data', line: 82 });
    expect(errorOf('').code).toBe('trace.empty');
  });
});
