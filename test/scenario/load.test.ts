// Goal: a bad scenario file gets every problem at once, each located as file:line:col and naming
// the field; a good one loads with protocol defaults filled in.
// Method: parse small YAML and JSON texts and compare the problems.
import { describe, expect, it } from 'vitest';
import { ScenarioError, formatProblem } from '../../src/core/errors.js';
import { parseScenario } from '../../src/scenario/load.js';

function problems(text: string): string[] {
  try {
    parseScenario(text, 'bad.yaml');
  } catch (error) {
    if (error instanceof ScenarioError) return error.problems.map(formatProblem);
    throw error;
  }
  throw new Error('expected a ScenarioError');
}

const good = `name: t/good
protocol: echo
seed: 1
nodes:
  a.test: {}
  b.test: { config: { idleMs: 100 } }
steps:
  - { atMs: 5, do: command, node: a.test, command: { type: send, to: b.test, body: hi } }
expect:
  - { byMs: 100, delivered: { to: echo@b.test, bodies: [hi] } }
limits: { timeMsMax: 1000, eventsMax: 1000 }
`;

describe('scenario: loader', () => {
  it('loads a good file and fills in protocol config defaults', () => {
    const scenario = parseScenario(good, 'good.yaml');
    expect(scenario.nodes.map((n) => [n.id, n.config])).toEqual([
      ['a.test', { port: 7, idleMs: 5_000, retryMs: 500, attemptsMax: 4 }],
      ['b.test', { port: 7, idleMs: 100, retryMs: 500, attemptsMax: 4 }],
    ]);
    expect(scenario.steps).toHaveLength(1);
  });

  it('parses JSON too', () => {
    const json = JSON.stringify({
      name: 't/json',
      protocol: 'echo',
      seed: 2,
      nodes: { 'a.test': {} },
      limits: { timeMsMax: 10, eventsMax: 10 },
    });
    expect(parseScenario(json, 'x.json').source.name).toBe('t/json');
  });

  it('reports bad YAML with its line and column', () => {
    expect(problems('name: [unclosed\nprotocol: echo\n')[0]).toMatch(/^bad\.yaml:\d+:\d+: not valid YAML/);
  });

  it('reports an unknown key at the key itself', () => {
    expect(problems(good.replace('seed: 1', 'seed: 1\nsede: 2'))).toEqual(['bad.yaml:4:1: sede: unknown key `sede`']);
  });

  it('reports a wrong type at the value, naming the field', () => {
    expect(problems(good.replace('atMs: 5,', 'atMs: soon,'))).toEqual([
      expect.stringMatching(/^bad\.yaml:8:13: steps\[0\]\.atMs: .*expected number/),
    ]);
  });

  it('reports an unknown node in a step', () => {
    expect(problems(good.replace('node: a.test', 'node: c.test'))).toEqual([
      'bad.yaml:8:35: steps[0].node: unknown node `c.test` (nodes: a.test, b.test)',
    ]);
  });

  it('reports time going backwards', () => {
    const text = good.replace(
      '  - { atMs: 5, do: command',
      '  - { atMs: 50, do: crash, node: b.test }\n  - { atMs: 5, do: command',
    );
    expect(problems(text)).toEqual([
      expect.stringMatching(/^bad\.yaml:9:13: steps\[1\]\.atMs: time goes backwards \(5 after a step at 50\)/),
    ]);
  });

  it('validates commands and node configs with the protocol schema', () => {
    const text = good.replace('type: send', 'type: shout').replace('idleMs: 100', 'idleMs: -1');
    const found = problems(text);
    expect(found).toHaveLength(2);
    expect(found[0]).toMatch(/^bad\.yaml:6:\d+: nodes\.b\.test\.config\.idleMs: /);
    expect(found[1]).toMatch(/^bad\.yaml:8:\d+: steps\[0\]\.command\.type: .*'send' \| 'datagram'/);
  });

  it('lists every problem at once, expectations included', () => {
    const text = good
      .replace('seed: 1', 'seed: -1')
      .replace('limits: { timeMsMax: 1000, eventsMax: 1000 }', 'limits: { timeMsMax: 1000 }')
      .replace('{ byMs: 100, delivered:', '{ byMs: 100, delivred:');
    const found = problems(text);
    expect(found.map((p) => p.split(': ')[1])).toEqual(['seed', 'limits.eventsMax', 'expect[0]']);
  });

  it('rejects an unknown protocol', () => {
    expect(problems(good.replace('protocol: echo', 'protocol: smtp'))[0]).toBe(
      'bad.yaml:2:11: protocol: unknown protocol `smtp` (known: echo, fmtp, f140, solec, bester, ambrosia)',
    );
  });
  it('refuses an F140 user name with a lone surrogate, in a config or in a command, at the name', () => {
    // A lone surrogate has no UTF-8 form: the node could neither send the name nor key its store by
    // it (it used to throw a URIError at its start, reported as a node bug).
    const f140 = `name: t/f140
protocol: f140
seed: 1
nodes:
  a.test:
    config:
      users:
        - name: "alice\\ud800@a.test"
          friends:
            - { user: bob@b.test, host: b.test, outbound: { challenge: c, response: r }, inbound: { challenge: c2, response: r2 } }
steps:
  - { atMs: 5, do: command, node: a.test, command: { type: send, from: alice@a.test, to: "bob\\udc00@b.test", text: hi } }
limits: { timeMsMax: 1000, eventsMax: 1000 }
`;
    const lone = 'holds a lone surrogate (half of a UTF-16 pair), which has no UTF-8 form';
    expect(problems(f140)).toEqual([`bad.yaml:8:17: nodes.a.test.config.users[0].name: ${lone}`]);
    const inCommand = problems(f140.replace('alice\\ud800@a.test', 'alice@a.test'));
    expect(inCommand).toHaveLength(1);
    expect(inCommand[0]).toMatch(/^bad\.yaml:12:\d+: steps\[0\]\.command\.to: /);
    expect(inCommand[0]).toContain(lone);
    // A paired surrogate (an emoji) is a name like any other.
    expect(() =>
      parseScenario(f140.replace('\\ud800', '\\ud83d\\ude00').replace('\\udc00', ''), 'ok.yaml'),
    ).not.toThrow();
  });
});
