// The JavaScript F140 example node puts its frequent output lines together by hand rather than with
// JSON.stringify (examples/f140-js/node.mjs, lineText): every line must still be the JSON of what it
// says, whatever characters the names and texts in it hold. Names with quotes, backslashes, control
// characters and a surrogate pair (an emoji) go through a send, a PING and an accepted MSG, and every line the
// node writes is compared with JSON.stringify of its parsed value, key order included.
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { exampleNodes, f140Config } from '../support/example-nodes.js';

const root = new URL('../../', import.meta.url).pathname;
const local = 'a"\\\u0001😀@b.test';
const remote = 'z"\\\u001f\u2028@c.test';
const friend = {
  user: remote,
  host: 'c.test',
  port: 8140,
  outbound: { challenge: 'c"1', response: 'r\\1' },
  inbound: { challenge: 'c\n2', response: 'r\t2' },
};
const config = f140Config([{ name: local, friends: [friend], groups: {} }]);

/** An HTTP answer of `status` with a form body, base64. */
function answer(body: string): string {
  const text = `HTTP/1.1 200 OK\r\nConnection: close\r\nContent-Length: ${body.length}\r\n\r\n${body}`;
  return Buffer.from(text, 'latin1').toString('base64');
}

/** The node's output lines, as written, for `inputs` after its start. */
function linesOf(inputs: readonly Record<string, unknown>[]): string[] {
  const [program, ...args] = exampleNodes.javascript;
  const input = [
    { kind: 'start', node: 'b.test', host: 'b.test', seed: 1, incarnation: 1, now: 0, config },
    { kind: 'store.keys', prefix: '', keys: [] },
    ...inputs,
  ];
  const run = spawnSync(program, args, { cwd: root, input: input.map((l) => JSON.stringify(l)).join('\n') + '\n' });
  expect(run.status, run.stderr.toString()).toBe(0);
  return run.stdout
    .toString()
    .split('\n')
    .filter((l) => l !== '');
}

describe('the JavaScript F140 node', () => {
  it('writes every line as the JSON of its value, escapes included', () => {
    const accepted = `response=${encodeURIComponent(friend.outbound.response)}`;
    const lines = linesOf([
      { kind: 'command', command: { type: 'send', from: local, to: remote, text: 'hi "\\\u0003😀' }, now: 1 },
      { kind: 'conn.opened', conn: 'o1', now: 2 },
      { kind: 'conn.data', conn: 'o1', bytes: answer(accepted), now: 3 },
      { kind: 'conn.opened', conn: 'o2', now: 4 },
      { kind: 'conn.data', conn: 'o2', bytes: answer(accepted), now: 5 },
      { kind: 'timer', id: `backoff:${remote}`, now: 6 },
    ]);
    const values = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(lines).toEqual(values.map((value) => JSON.stringify(value)));
    // The names came through whole, in each kind of line written by hand.
    const kinds = new Set(values.map((v) => v['kind']));
    for (const kind of [
      'store.put',
      'store.delete',
      'timer.set',
      'timer.cancel',
      'state',
      'note',
      'connect',
      'write',
      'close',
    ])
      expect(kinds).toContain(kind);
    expect(values).toContainEqual({ kind: 'state', machine: `f140.peer ${remote}`, value: 'pushing' });
    expect(values).toContainEqual({
      kind: 'note',
      what: 'f140.msg.accepted',
      detail: { from: local, to: remote, id: 'b.test#1' },
    });
    const outbox = values.find((v) => v['kind'] === 'store.put' && String(v['key']).startsWith('f140/outbox/'));
    expect(outbox?.['key']).toBe(`f140/outbox/${remote}/000000000001`);
    expect(values).toContainEqual({ kind: 'timer.cancel', id: `expire:f140/outbox/${remote}/000000000001` });
  });
});
