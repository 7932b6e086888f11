// The two F140 example nodes close an inbound connection idle for idleMs (spec §2.2): each step
// that leaves a session open, waiting for more bytes, arms its idle timer again, and a session
// closed within the step needs none. The process protocol's lines are written straight to each
// node's stdin.
import { describe, expect, it } from 'vitest';
import { exampleNodes as nodes, f140Config, processLines } from '../support/example-nodes.js';

const config = f140Config([{ name: 'bob@b.test', friends: [], groups: {} }]);

/** A PING (refused: bob has no friends) as the bytes of one HTTP request, base64. */
function ping(connection: 'close' | 'keep-alive'): string {
  const body = 'command=PING&from_user=pat%40peer.test&challenge=c&to_user=bob%40b.test';
  const head = `POST /f140 HTTP/1.1\r\nHost: b.test\r\nConnection: ${connection}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n`;
  return Buffer.from(head + body, 'latin1').toString('base64');
}

/** The node's output lines for each step after `start` (the lines up to each `end`), given `inputs` in turn. */
function steps(command: readonly string[], inputs: readonly Record<string, unknown>[]): Record<string, unknown>[][] {
  const lines = [
    { kind: 'start', node: 'b.test', host: 'b.test', seed: 1, incarnation: 1, now: 0, config },
    { kind: 'store.keys', prefix: '', keys: [] },
    ...inputs,
  ];
  const out = processLines(command, lines);
  const grouped: Record<string, unknown>[][] = [[]];
  for (const line of out) {
    if (line['kind'] === 'end') grouped.push([]);
    else grouped[grouped.length - 1]?.push(line);
  }
  return grouped.slice(1, -1); // the start step's lines and the empty tail left out
}

const idleTimers = (lines: Record<string, unknown>[]) =>
  lines.filter((l) => String(l['id']).startsWith('idle:')).map((l) => `${String(l['kind'])} ${String(l['id'])}`);

describe.each(Object.entries(nodes))('the %s F140 node', (_language, command) => {
  it('arms the idle timer while a session waits for bytes, and not for a session it closes', () => {
    const local = { host: 'b.test', port: 8140 };
    const keepAlive = ping('keep-alive');
    const [accepted, part, rest, closing] = steps(command, [
      { kind: 'conn.accepted', conn: 'in:1', local, remote: 'peer.test', now: 1 },
      // Half a keep-alive request, then the rest: answered, and the session stays open.
      { kind: 'conn.data', conn: 'in:1', bytes: keepAlive.slice(0, 40), now: 2 },
      { kind: 'conn.data', conn: 'in:1', bytes: keepAlive.slice(40), now: 3 },
      // A request asking to close: answered and closed.
      { kind: 'conn.data', conn: 'in:1', bytes: ping('close'), now: 4 },
    ]);
    expect(idleTimers(accepted ?? [])).toEqual(['timer.set idle:in:1']);
    expect(idleTimers(part ?? [])).toEqual(['timer.set idle:in:1']);
    expect((rest ?? []).map((l) => l['kind'])).toContain('write');
    expect(idleTimers(rest ?? [])).toEqual(['timer.set idle:in:1']);
    expect((closing ?? []).map((l) => l['kind'])).toEqual(['reject', 'write', 'timer.cancel', 'state', 'close']);
    expect(idleTimers(closing ?? [])).toEqual(['timer.cancel idle:in:1']);
  });

  it('closes a session whose idle timer fires', () => {
    const local = { host: 'b.test', port: 8140 };
    const [, fired] = steps(command, [
      { kind: 'conn.accepted', conn: 'in:1', local, remote: 'peer.test', now: 1 },
      { kind: 'timer', id: 'idle:in:1', now: 30_001 },
    ]);
    expect(fired).toEqual([
      { kind: 'timer.cancel', id: 'idle:in:1' },
      { kind: 'state', machine: 'f140.session in:1', value: 'closed' },
      { kind: 'close', conn: 'in:1' },
    ]);
  });
});
