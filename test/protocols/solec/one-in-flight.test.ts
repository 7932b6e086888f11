// Goal: a SOLEC node writes a Message on a connection it opened only once the ones it wrote before
// were answered (`solec.one-in-flight`, spec.md §3, §5.3).
// Method: test/fixtures/solec/relay-gives-up.yaml (a client and relays writing Messages one at a
// time) passes; the same trace with a second Message frame added to a client's send, or with the
// Success that answered a Message taken out of its receive, fails with the message naming the
// node and connection; a connection the node did not open (accepted) is not counted.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { solecInvariants } from '../../../src/protocols/solec/invariants.js';
import { parseScenario } from '../../../src/scenario/load.js';
import { runScenario } from '../../../src/scenario/run.js';
import type { TraceEvent } from '../../../src/trace/events.js';

const file = 'relay-gives-up.yaml';
const report = runScenario(parseScenario(readFileSync(`test/fixtures/solec/${file}`, 'utf8'), file));
const events = report.trace.events;
const violations = (trace: readonly TraceEvent[]) => {
  const invariant = solecInvariants['solec.one-in-flight']!({ nodes: [] });
  return trace.map((event) => invariant.observe(event)).filter((v) => v !== undefined);
};
const framesOf = (event: TraceEvent): unknown[] => {
  if (event.kind !== 'send' && event.kind !== 'receive') return [];
  const decoded = event.payload.decoded;
  return Array.isArray(decoded) ? decoded : [decoded];
};
const typeOf = (frame: unknown) => (frame as { type?: string }).type;
const opened = new Set(events.flatMap((e) => (e.kind === 'conn.connect' ? [`${e.node} ${e.conn}`] : [])));
const onOpened = (e: TraceEvent) => 'conn' in e && opened.has(`${e.node} ${String(e.conn)}`);

describe('solec.one-in-flight', () => {
  it('the fixture passes, and writes Messages on connections its nodes opened', () => {
    expect(violations(events)).toEqual([]);
    expect(
      events.some((e) => e.kind === 'send' && onOpened(e) && framesOf(e).some((f) => typeOf(f) === 'message')),
    ).toBe(true);
  });

  it('fails a send that writes a second Message before the first is answered', () => {
    const at = events.findIndex(
      (e) => e.kind === 'send' && onOpened(e) && framesOf(e).some((f) => typeOf(f) === 'message'),
    );
    const send = events[at] as TraceEvent & { kind: 'send'; conn: string };
    const message = framesOf(send).find((f) => typeOf(f) === 'message');
    const doubled = { ...send, payload: { ...send.payload, decoded: [message, message] } } as TraceEvent;
    expect(violations([...events.slice(0, at), doubled])).toEqual([
      `${send.node} wrote a Message on ${send.conn} while 1 it wrote before were unanswered`,
    ]);
  });

  it('fails a second Message when the answer to the first is taken out, and not on an accepted connection', () => {
    const sends = events.filter((e) => e.kind === 'send' && framesOf(e).some((f) => typeOf(f) === 'message'));
    const first = sends.find(onOpened) as TraceEvent & { kind: 'send'; conn: string };
    const unanswered = events.map((e) =>
      e.kind === 'receive' && e.node === first.node && 'conn' in e && e.conn === first.conn
        ? ({ ...e, payload: { ...e.payload, decoded: [] } } as TraceEvent)
        : e,
    );
    const found = violations(unanswered);
    expect(found.length).toBeGreaterThan(0);
    expect(found[0]).toBe(`${first.node} wrote a Message on ${first.conn} while 1 it wrote before were unanswered`);
    // The same trace with no connection opened: every connection is one the node accepted, not checked.
    expect(violations(unanswered.filter((e) => e.kind !== 'conn.connect'))).toEqual([]);
  });
});
