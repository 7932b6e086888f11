// Goal: the digests Ambrosia keeps by their inputs (memo.ts) answer exactly what computing them
// afresh gives, for every argument: a memo keyed on less than all of them gives another input's answer.
// Method: dialback keys, derived secrets and service proofs over inputs whose naive joins collide,
// asked in two orders and twice, against node:crypto directly.
import { createHash, createHmac } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { derivedDialbackSecret, dialbackKey } from '../../../src/protocols/ambrosia/dialback.js';
import { Answers } from '../../../src/protocols/ambrosia/memo.js';
import { serviceProof } from '../../../src/protocols/ambrosia/wire.js';

const sha256 = (text: string) => createHash('sha256').update(text, 'utf8').digest('hex');
const directKey = (secret: string, receiving: string, originating: string, streamId: string) =>
  createHmac('sha256', sha256(secret)).update(`${receiving} ${originating} ${streamId}`, 'utf8').digest('hex');

describe('ambrosia: digests kept by their inputs', () => {
  const secrets = ['s', 's\u00001', '', 'é'];
  const parts = ['a', '1a', 'a b', ''];

  it('dialback keys, derived secrets and service proofs are what node:crypto computes, in any order', () => {
    for (const order of [1, -1]) {
      for (let round = 0; round < 2; round++) {
        for (const secret of order > 0 ? secrets : [...secrets].reverse()) {
          for (const part of order > 0 ? parts : [...parts].reverse()) {
            expect(dialbackKey(secret, part, 'o', 'id')).toBe(directKey(secret, part, 'o', 'id'));
            expect(dialbackKey(secret, 'r', part, 'id')).toBe(directKey(secret, 'r', part, 'id'));
            expect(derivedDialbackSecret(part, secret)).toBe(sha256(`dialback\u0000${part}\u0000${secret}`));
            for (const role of ['service', 'gateway'] as const) {
              expect(serviceProof(role, part, 'n', secret)).toBe(sha256(`${role}\u0000${part}\u0000n\u0000${secret}`));
            }
          }
        }
      }
    }
  });

  it('keeps at most its bound, then starts again, and computes each answer once while it is kept', () => {
    const answers = new Answers<number>(2);
    let computed = 0;
    const ask = (key: string) => answers.get(key, () => (computed += 1));
    expect([ask('a'), ask('a'), ask('b'), ask('a')]).toEqual([1, 1, 2, 1]);
    expect(computed).toBe(2);
    ask('c'); // full: emptied, then c kept
    expect(ask('a')).toBe(4);
    expect(computed).toBe(4);
  });
});
