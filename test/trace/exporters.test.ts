// Goal: the Mermaid and ShiViz exporters say what the trace says: one Mermaid arrow per arrival
// (crosses for drops, notes for refusals and violations), and ShiViz lines whose vector clocks
// tick once per host event and order every receive after its send.
// Method: export the Poe/Lenore fixture and a synthetic trace; parse the output back with the
// regular expression the ShiViz file itself declares, and compare clocks.
import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { exportMermaid } from '../../src/trace/export-mermaid.js';
import { exportShiviz, shivizRegex } from '../../src/trace/export-shiviz.js';
import { parseTrace } from '../../src/trace/reader.js';
import { syntheticTrace } from '../../src/trace/synthetic.js';

const poe = parseTrace(readFileSync(new URL('../fixtures/poe-lenore.trace.ndjson', import.meta.url), 'utf8'));

describe('trace: Mermaid export', () => {
  it('draws the Poe/Lenore conversation: participants, 12 arrivals, DNS, the refusal', () => {
    const text = exportMermaid(poe);
    const lines = text.trimEnd().split('\n');
    expect(lines[0]).toBe('sequenceDiagram');
    expect(lines.slice(1, 5)).toEqual([
      '  participant n0 as poe.net',
      '  participant n1 as mail.lenore.org',
      '  participant n2 as lost.lenore.org',
      '  participant dns as DNS',
    ]);
    const arrivals = lines.filter((line) => /^ {2}n\d->>n\d: /.test(line));
    expect(arrivals).toHaveLength(12);
    expect(arrivals).toContain('  n1->>n0: REDIRECT');
    expect(lines).toContain('  n0->>dns: MX lenore.org?');
    expect(lines.some((line) => line.includes('lost.lenore.org:8000 refused'))).toBe(true);
    // Nothing in a statement may end it early or start an entity.
    for (const line of lines.slice(1)) expect(line.split(': ').slice(1).join(': ')).not.toMatch(/[;#]/);
  });

  it('ends drops in a cross, marks duplicates and violations, and cuts at eventsMax', () => {
    const trace = syntheticTrace({ seed: 5, events: 3000, nodes: 4, violationAtRatio: 0.5 });
    const text = exportMermaid(trace, { eventsMax: 3000 });
    const drops = trace.events.filter((event) => event.kind === 'drop').length;
    expect(text.split('\n').filter((line) => /^ {2}n\d-xn\d: /.test(line))).toHaveLength(drops);
    expect(text).toContain('(duplicate)');
    expect(text).toContain('VIOLATION SYN-1-exactly-once');
    expect(exportMermaid(trace, { eventsMax: 100 })).toContain('2900 more events not shown');
  });
});

describe('trace: ShiViz export', () => {
  const parseLog = (text: string) => {
    const [regex, delimiter, ...rest] = text.trimEnd().split('\n');
    expect(regex).toBe(shivizRegex);
    expect(delimiter).toBe('');
    const pattern = new RegExp(`^${regex}$`);
    return rest.map((line) => {
      const match = pattern.exec(line);
      expect(match, line).not.toBeNull();
      const groups = match?.groups as { host: string; clock: string; event: string };
      return { host: groups.host, clock: JSON.parse(groups.clock) as Record<string, number>, event: groups.event };
    });
  };

  it('gives one line per node event, each host ticking its own clock by one', () => {
    const entries = parseLog(exportShiviz(poe));
    expect(entries).toHaveLength(poe.events.filter((event) => event.node !== 'sim').length);
    const own = new Map<string, number>();
    for (const entry of entries) {
      const tick = (own.get(entry.host) ?? 0) + 1;
      expect(entry.clock[entry.host]).toBe(tick);
      own.set(entry.host, tick);
    }
    expect(entries.some((entry) => entry.event.startsWith('refused out:2 to lost.lenore.org:8000'))).toBe(true);
  });

  it('orders every receive after its send (vector clock dominance), on a synthetic trace', () => {
    const trace = syntheticTrace({ seed: 9, events: 4000, nodes: 5 });
    const entries = parseLog(exportShiviz(trace));
    const nodeEvents = trace.events.filter((event) => event.node !== 'sim');
    const sendClock = new Map<number, Record<string, number>>();
    let checked = 0;
    nodeEvents.forEach((event, index) => {
      const clock = (entries[index] as { clock: Record<string, number> }).clock;
      if (event.kind === 'send') sendClock.set(event.msg, clock);
      if (event.kind === 'receive') {
        const sent = sendClock.get(event.msg) as Record<string, number>;
        for (const [host, tick] of Object.entries(sent)) expect(clock[host] ?? 0).toBeGreaterThanOrEqual(tick);
        checked += 1;
      }
    });
    expect(checked).toBeGreaterThan(1000);
  });
});
