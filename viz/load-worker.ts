/**
 * The viewer's loader, run in a Web Worker so that the page's thread stays free: reads the trace
 * (the fetch's body stream, transferred from the page, or the text of an opened file), parses it
 * as it arrives, builds the model, and posts it back as columns (typed arrays, transferred) with
 * the trace text, from which the page parses again only the events it shows. Then it checks the
 * end line's sha256 on the bytes it read and posts the verdict.
 *
 * The messages are `LoadRequest` in and `LoadReply` out; `names` may come after the trace (the
 * model waits for them, the parse does not).
 */
import { buildModel, packModel, parseNames } from './model.js';
import type { PackedModel } from './model.js';
import { TraceStreamParser, verifySha256 } from './parse.js';

export type LoadRequest =
  | { readonly type: 'trace'; readonly stream: ReadableStream<Uint8Array> }
  | { readonly type: 'trace'; readonly text: string }
  /** An absolute URL, fetched here. */
  | { readonly type: 'trace'; readonly url: string }
  /** names.json's text, or null when there are none. */
  | { readonly type: 'names'; readonly text: string | null };

export type LoadReply =
  | {
      readonly type: 'model';
      readonly packed: PackedModel;
      /** The trace as read: UTF-8 bytes (transferred) when it came as a stream, else its text. */
      readonly text: string | Uint8Array;
      readonly starts: Float64Array;
      readonly ends: Float64Array;
      readonly warnings: readonly string[];
      readonly hasEnd: boolean;
      /** ms spent parsing (not waiting for the bytes), and building the model, in the worker. */
      readonly parseMs: number;
      readonly modelMs: number;
      /** When each step ended (ms since the epoch, `performance.timeOrigin + now()`), for the bench. */
      readonly steps: Readonly<Record<string, number>>;
    }
  | { readonly type: 'sha256'; readonly verdict: boolean | undefined }
  | { readonly type: 'error'; readonly message: string };

// The worker's global scope, typed by hand: the project compiles against the DOM library only.
const scope = self as unknown as {
  onmessage: ((event: MessageEvent<LoadRequest>) => void) | null;
  postMessage(message: LoadReply, transfer?: Transferable[]): void;
};

let resolveNames: (text: string | null) => void = () => undefined;
const namesText = new Promise<string | null>((resolve) => (resolveNames = resolve));

scope.onmessage = (event) => {
  const request = event.data;
  if (request.type === 'names') resolveNames(request.text);
  else
    void load(request).catch((error: unknown) =>
      scope.postMessage({ type: 'error', message: (error as Error).message }),
    );
};

const clock = (): number => performance.timeOrigin + performance.now();

async function load(request: Extract<LoadRequest, { type: 'trace' }>): Promise<void> {
  const start = performance.now();
  const steps: Record<string, number> = { 'worker started': clock() };
  const parser = new TraceStreamParser({ skeletons: true });
  let parseMs = 0;
  const chunks: Uint8Array[] = [];
  if ('text' in request) {
    parser.push(request.text);
    parseMs = performance.now() - start;
  } else {
    let stream: ReadableStream<Uint8Array>;
    if ('url' in request) {
      const response = await fetch(request.url);
      if (!response.ok) throw new Error(`cannot fetch ${request.url}: ${response.status} ${response.statusText}`);
      if (response.body === null) throw new Error(`cannot fetch ${request.url}: no body`);
      stream = response.body;
    } else stream = request.stream;
    const reader = stream.getReader();
    const decoder = new TextDecoder();
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      chunks.push(value);
      const pushStart = performance.now();
      parser.push(decoder.decode(value, { stream: true }));
      parseMs += performance.now() - pushStart;
    }
    const last = decoder.decode();
    if (last !== '') parser.push(last);
  }
  const parsed = parser.finish();
  steps['trace read and parsed'] = clock();
  const namesJson = await namesText;
  steps['names received'] = clock();
  const modelStart = performance.now();
  let names = new Map<number, { name: string; summary: string }>();
  try {
    if (namesJson !== null) names = parseNames(JSON.parse(namesJson));
  } catch {
    // Unreadable names: the payloads' own type fields label the messages.
  }
  const model = buildModel(parsed.header, parsed.events, names);
  steps['model built'] = clock();
  const { packed, transfer } = packModel(model);
  const starts = Float64Array.from(parser.starts);
  const ends = Float64Array.from(parser.ends);
  // Bytes are transferred, text would be copied; offsets in characters are offsets in bytes when
  // every character was one byte.
  const total = chunks.reduce((sum, chunk) => sum + chunk.length, 0);
  const oneByte = chunks.length > 0 && total === parser.textLength;
  let bytes: Uint8Array<ArrayBuffer> | undefined;
  if (oneByte) {
    bytes = new Uint8Array(total);
    let at = 0;
    for (const chunk of chunks) {
      bytes.set(chunk, at);
      at += chunk.length;
    }
    chunks.length = 0;
  }
  // The sha256 of the bytes is started before they are transferred away (digest copies them at
  // once), and posted after the model.
  const digest =
    bytes !== undefined && parsed.end !== undefined && globalThis.crypto?.subtle !== undefined
      ? globalThis.crypto.subtle.digest('SHA-256', bytes.subarray(0, parsed.hashedLength))
      : undefined;
  const text = bytes ?? parser.text();
  steps['model packed'] = clock();
  scope.postMessage(
    {
      type: 'model',
      packed,
      text,
      starts,
      ends,
      warnings: parsed.warnings,
      hasEnd: parsed.end !== undefined,
      parseMs,
      modelMs: performance.now() - modelStart,
      steps,
    },
    [...transfer, starts.buffer, ends.buffer, ...(bytes === undefined ? [] : [bytes.buffer])],
  );
  let verdict: boolean | undefined;
  if (digest !== undefined && parsed.end !== undefined) {
    const hex = Array.from(new Uint8Array(await digest), (byte) => byte.toString(16).padStart(2, '0')).join('');
    verdict = hex === parsed.end.sha256;
  } else verdict = await verifySha256(parser.text(), parsed);
  scope.postMessage({ type: 'sha256', verdict });
}
