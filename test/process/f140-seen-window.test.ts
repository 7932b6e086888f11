// The two F140 example nodes keep the msg_ids they have seen (spec §3.3) as one durable store entry
// per id, the last 1,024 per (to, from) pair: a restarted node reads the window back from its store
// and answers a retried MSG as a duplicate; an id pushed out of the window is deleted from the store
// and delivered again. The process protocol's lines are written straight to each node's stdin.
import { describe, expect, it } from 'vitest';
import { exampleNodes as nodes, f140Config, processLines } from '../support/example-nodes.js';

const config = f140Config([
  {
    name: 'bob@b.test',
    friends: [
      {
        user: 'pat@peer.test',
        host: 'peer.test',
        port: 8140,
        outbound: { challenge: 'c-bp', response: 'r-bp' },
        inbound: { challenge: 'c-pb', response: 'r-pb' },
      },
    ],
    groups: {},
  },
]);

const seenKey = (seq: number) => `f140/seen/${String(seq).padStart(12, '0')}`;

/** A MSG from pat to bob with `id`, as the bytes of one HTTP request, base64. */
function msg(id: string): string {
  const body = `command=MSG&from_user=pat%40peer.test&challenge=c-pb&to_user=bob%40b.test&message=${encodeURIComponent('<msg kind="basic"><text>hi</text></msg>')}&msg_id=${encodeURIComponent(id)}`;
  const head = `POST /f140 HTTP/1.1\r\nHost: b.test\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: ${body.length}\r\n\r\n`;
  return Buffer.from(head + body, 'latin1').toString('base64');
}

/**
 * Runs a restarted node whose store holds seen entries for ids p#1..p#`count`, then sends it MSGs
 * with `ids` (one connection each); its output lines.
 */
function restartedWith(command: readonly string[], count: number, ids: readonly string[]): Record<string, unknown>[] {
  const stored = Array.from({ length: count }, (_, i) => i + 1);
  const lines = [
    { kind: 'start', node: 'b.test', host: 'b.test', seed: 1, incarnation: 2, now: 0, config },
    { kind: 'store.keys', prefix: '', keys: stored.map(seenKey) },
    ...stored.map((seq) => ({
      kind: 'store.value',
      key: seenKey(seq),
      found: true,
      value: { to: 'bob@b.test', from: 'pat@peer.test', id: `p#${seq}` },
    })),
    ...ids.flatMap((id, i) => [
      { kind: 'conn.accepted', conn: `in:${i}`, local: { host: 'b.test', port: 8140 }, remote: 'peer.test', now: 5 },
      { kind: 'conn.data', conn: `in:${i}`, bytes: msg(id), now: 6 },
    ]),
  ];
  return processLines(command, lines);
}

const kinds = (out: Record<string, unknown>[]) =>
  out
    .filter((l) => l['kind'] === 'deliver' || (l['kind'] === 'note' && l['what'] === 'f140.msg.duplicate'))
    .map(
      (l) =>
        `${l['kind'] === 'deliver' ? 'deliver' : 'duplicate'} ${String(l['id'] ?? (l['detail'] as { id: string }).id)}`,
    );

describe.each(Object.entries(nodes))('the %s F140 node', (_language, command) => {
  it('reads its seen window back after a restart: a retried MSG is a duplicate, a new one is delivered', () => {
    const out = restartedWith(command, 3, ['p#2', 'p#9']);
    expect(kinds(out)).toEqual(['duplicate p#2', 'deliver p#9']);
    // The new id is one small entry of its own, under the next sequence number (the highest stored
    // plus one: the sequence has no entry of its own).
    expect(out.filter((l) => l['kind'] === 'store.put').map((l) => l['key'])).toEqual([seenKey(4)]);
    expect(out).toContainEqual({
      kind: 'store.put',
      key: seenKey(4),
      value: { to: 'bob@b.test', from: 'pat@peer.test', id: 'p#9' },
    });
  });

  it('keeps 1,024 ids per pair: the oldest beyond them is deleted from the store and delivered again', () => {
    // Restarted with 1,025 ids: p#1 falls out of the window as it loads. Delivering p#1 again then
    // pushes p#2 out; p#3 is still in.
    const out = restartedWith(command, 1025, ['p#1', 'p#3']);
    expect(out).toContainEqual({ kind: 'store.delete', key: seenKey(1) });
    expect(out).toContainEqual({ kind: 'store.delete', key: seenKey(2) });
    expect(out).not.toContainEqual({ kind: 'store.delete', key: seenKey(3) });
    expect(kinds(out)).toEqual(['deliver p#1', 'duplicate p#3']);
  });
});
