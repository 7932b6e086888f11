/**
 * The protocols' names for the messages of a trace (each protocol's `nameMessage` hook, in its
 * describe.ts), computed when `fedsim view` or `fedsim export` loads the trace: traces stay as
 * they are (byte for byte), and traces written before the hooks existed get names too.
 *
 * `fedsim view` serves them as names.json beside the trace: `{ "names": { "<msg>": [name, summary] } }`.
 * A hook that throws or a payload it does not know leaves the message unnamed (the viewer then
 * shows the payload's own type field or its size).
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { protocolNamed } from '../protocols/registry.js';
import type { MessageName } from '../protocols/protocol.js';
import type { TraceEvent, TraceHeader } from '../trace/events.js';

type SendEvent = Extract<TraceEvent, { kind: 'send' }>;

export type MessageNames = ReadonlyMap<number, MessageName>;

/** Names by msg id, for every send whose node's protocol has a `nameMessage` hook. */
export function messageNames(trace: { header: TraceHeader; events: readonly TraceEvent[] }): Map<number, MessageName> {
  const protocolOf = new Map(trace.header.nodes.map((node) => [node.id, node.protocol]));
  const names = new Map<number, MessageName>();
  for (const event of trace.events) {
    if (event.kind !== 'send') continue;
    const hook = protocolNamed(protocolOf.get(event.node) ?? '')?.nameMessage;
    if (hook === undefined) continue;
    try {
      const name = hook(event.payload.decoded, Buffer.from(event.payload.base64, 'base64'));
      if (name !== undefined && name.name !== '') names.set(event.msg, name);
    } catch {
      // A hook must not throw; if one does on a strange payload, the message just stays unnamed.
    }
  }
  return names;
}

/** names.json's text. */
export function namesJson(names: MessageNames): string {
  const table: Record<string, [string, string]> = {};
  for (const [msg, name] of names) table[String(msg)] = [name.name, name.summary];
  return JSON.stringify({ names: table });
}

/**
 * names.json for a trace file, streamed line by line: only the header and the lines that mention
 * `"kind":"send"` are parsed (a fifth of a typical trace), and the trace is not validated (the
 * viewer does that; a line this cannot read leaves its message unnamed). Cheap enough that
 * names.json is ready before the viewer's first screen.
 */
const sendLine = /"kind"\s*:\s*"send"/;

export async function namesOfFile(path: string): Promise<string> {
  let header: TraceHeader | undefined;
  const sends: SendEvent[] = [];
  const lines = createInterface({ input: createReadStream(path, 'utf8'), crlfDelay: Infinity });
  for await (const line of lines) {
    if (header === undefined) {
      header = JSON.parse(line) as TraceHeader;
      continue;
    }
    if (!sendLine.test(line)) continue;
    try {
      const event = JSON.parse(line) as TraceEvent;
      if (event.kind === 'send' && typeof event.payload?.base64 === 'string') sends.push(event);
    } catch {
      // A damaged line: its message stays unnamed.
    }
  }
  if (header === undefined || !Array.isArray(header.nodes)) return namesJson(new Map());
  return namesJson(messageNames({ header, events: sends }));
}
