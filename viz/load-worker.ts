/**
 * The viewer's loader, run in a Web Worker so that the page's thread stays free: reads the trace
 * (fetched here from its URL, the fetch's body stream transferred from the page, or the text of an
 * opened file) into one buffer, scans its bytes into columns as they arrive (columns.ts), builds
 * the model from them, and posts it back as columns (typed arrays, transferred) with the trace's
 * bytes, from which the page parses again only the events it shows, and the names. A trace the
 * columnar parser does not recognise is decoded and read by parse.ts and `buildModel` instead.
 * Then it checks the end line's sha256 on the bytes it read and posts the verdict.
 *
 * The messages are `LoadRequest` in and `LoadReply` out; `names` may come after the trace (the
 * model waits for them, the parse does not): index.html sends their URL, fetched here, and the
 * page their text (the first to come counts).
 */
import { buildPackedModel, scanTrace, TraceScanner } from './columns.js';
import type { ColumnTrace } from './columns.js';
import { buildModel, packModel, packNames, parseNames } from './model.js';
import type { PackedModel, PackedNames } from './model.js';
import { TraceStreamParser, verifySha256 } from './parse.js';
import type { TraceEnd } from '../src/trace/events.js';

export type LoadRequest =
  | { readonly type: 'trace'; readonly stream: ReadableStream<Uint8Array> }
  | { readonly type: 'trace'; readonly text: string }
  /** An absolute URL, fetched here. */
  | { readonly type: 'trace'; readonly url: string }
  /** names.json's text, or null when there are none; the first names message counts. */
  | { readonly type: 'names'; readonly text: string | null }
  /** names.json's absolute URL, fetched here (a failed fetch: no names). */
  | { readonly type: 'names'; readonly url: string };

export type LoadReply =
  | {
      readonly type: 'model';
      readonly packed: PackedModel;
      /** The protocols' names for messages (names.json), parsed here. */
      readonly names: PackedNames;
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

let resolveNames: (text: string | null | Promise<string | null>) => void = () => undefined;
const namesText = new Promise<string | null>((resolve) => (resolveNames = resolve));

scope.onmessage = (event) => {
  const request = event.data;
  if (request.type === 'names') {
    if ('url' in request)
      resolveNames(
        fetch(request.url)
          .then((response) => (response.ok ? response.text() : null))
          .catch(() => null),
      );
    else resolveNames(request.text);
  } else
    void load(request).catch((error: unknown) =>
      scope.postMessage({ type: 'error', message: (error as Error).message }),
    );
};

const clock = (): number => performance.timeOrigin + performance.now();

async function load(request: Extract<LoadRequest, { type: 'trace' }>): Promise<void> {
  const steps: Record<string, number> = { 'worker started': clock() };
  let bytes: Uint8Array<ArrayBuffer>;
  let scanned: ColumnTrace | undefined;
  let parseMs = 0;
  if ('text' in request) {
    bytes = new TextEncoder().encode(request.text);
    const start = performance.now();
    scanned = scanTrace(bytes);
    parseMs = performance.now() - start;
  } else {
    let stream: ReadableStream<Uint8Array>;
    let expected = 0;
    if ('url' in request) {
      const response = await fetch(request.url);
      if (!response.ok) throw new Error(`cannot fetch ${request.url}: ${response.status} ${response.statusText}`);
      if (response.body === null) throw new Error(`cannot fetch ${request.url}: no body`);
      stream = response.body;
      expected = Number(response.headers.get('content-length') ?? 0) || 0;
    } else stream = request.stream;
    ({ bytes, scanned, parseMs } = await readAndScan(stream, expected));
  }
  if (scanned === undefined) {
    await loadParsed(bytes, steps);
    return;
  }
  steps['trace read and parsed'] = clock();
  const names = await readNames();
  steps['names received'] = clock();
  const modelStart = performance.now();
  const { packed, transfer } = buildPackedModel(scanned, names);
  const packedNames = packNames(names);
  steps['model built'] = clock();
  const { starts, ends, end } = scanned;
  await postModel(
    {
      packed,
      transfer,
      packedNames,
      bytes,
      text: bytes,
      starts,
      ends,
      warnings: scanned.warnings,
      end,
      hashedLength: scanned.hashedLength,
      parseMs,
      modelStart,
    },
    steps,
  );
}

/**
 * The whole body of `stream` in one buffer, scanned (`TraceScanner`) as it arrives when its length
 * is known (`expected`, from the response), else once it is all there. `parseMs`: the scanning.
 */
async function readAndScan(
  stream: ReadableStream<Uint8Array>,
  expected: number,
): Promise<{ bytes: Uint8Array<ArrayBuffer>; scanned: ColumnTrace | undefined; parseMs: number }> {
  const reader = stream.getReader();
  let buffer = new Uint8Array(Math.max(expected, 1 << 16));
  const scanner = expected > 0 ? new TraceScanner(buffer) : undefined;
  let parseMs = 0;
  let length = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    if (length + value.length > buffer.length) {
      const bigger = new Uint8Array(Math.max(buffer.length * 2, length + value.length));
      bigger.set(buffer.subarray(0, length));
      buffer = bigger;
    }
    buffer.set(value, length);
    length += value.length;
    if (scanner !== undefined && length <= expected) {
      const start = performance.now();
      scanner.feed(length);
      parseMs += performance.now() - start;
    }
  }
  const start = performance.now();
  let scanned: ColumnTrace | undefined;
  let bytes: Uint8Array<ArrayBuffer>;
  if (scanner !== undefined && length === expected) {
    bytes = buffer;
    scanned = scanner.finish();
  } else {
    // No length, or not the length announced: scanned again, whole.
    bytes = length === buffer.length ? buffer : buffer.slice(0, length);
    scanned = scanTrace(bytes);
  }
  return { bytes, scanned, parseMs: parseMs + performance.now() - start };
}

async function readNames(): Promise<Map<number, { name: string; summary: string }>> {
  const namesJson = await namesText;
  try {
    if (namesJson !== null) return parseNames(JSON.parse(namesJson));
  } catch {
    // Unreadable names: the payloads' own type fields label the messages.
  }
  return new Map();
}

const hex = (digest: ArrayBuffer): string =>
  Array.from(new Uint8Array(digest), (byte) => byte.toString(16).padStart(2, '0')).join('');

/**
 * The trace the fast path did not recognise: decoded, parsed by parse.ts (which names a bad line)
 * and modelled by `buildModel`, then posted the same way.
 */
async function loadParsed(bytes: Uint8Array<ArrayBuffer>, steps: Record<string, number>): Promise<void> {
  const start = performance.now();
  const text = new TextDecoder().decode(bytes);
  const parser = new TraceStreamParser({ skeletons: true });
  parser.push(text);
  const parsed = parser.finish();
  const parseMs = performance.now() - start;
  steps['trace read and parsed'] = clock();
  const names = await readNames();
  steps['names received'] = clock();
  const modelStart = performance.now();
  const model = buildModel(parsed.header, parsed.events, names);
  steps['model built'] = clock();
  const { packed, transfer } = packModel(model);
  const packedNames = packNames(names);
  const starts = Float64Array.from(parser.starts);
  const ends = Float64Array.from(parser.ends);
  // Offsets in characters are offsets in bytes when every character was one byte: the bytes go
  // as they are, and are hashed; otherwise the text goes, and is encoded again to be hashed.
  const oneByte = bytes.length === text.length;
  await postModel(
    {
      packed,
      transfer,
      packedNames,
      bytes: oneByte ? bytes : undefined,
      text: oneByte ? bytes : text,
      starts,
      ends,
      warnings: parsed.warnings,
      end: parsed.end,
      hashedLength: parsed.hashedLength,
      parseMs,
      modelStart,
    },
    steps,
    () => verifySha256(text, parsed),
  );
}

/** A modelled trace, ready to post (`postModel`), from either path. */
interface Modelled {
  readonly packed: PackedModel;
  readonly transfer: readonly Transferable[];
  readonly packedNames: { readonly packed: PackedNames; readonly transfer: readonly ArrayBuffer[] };
  /** The trace's bytes when they are hashed and posted as they are (transferred away). */
  readonly bytes: Uint8Array<ArrayBuffer> | undefined;
  readonly text: Uint8Array<ArrayBuffer> | string;
  readonly starts: Float64Array;
  readonly ends: Float64Array;
  readonly warnings: readonly string[];
  readonly end: TraceEnd | undefined;
  readonly hashedLength: number;
  readonly parseMs: number;
  readonly modelStart: number;
}

/**
 * Posts the model, then the sha256 verdict: of `bytes`, started before they are transferred away
 * (digest copies them at once), or else `verifyOtherwise`'s.
 */
async function postModel(
  modelled: Modelled,
  steps: Record<string, number>,
  verifyOtherwise?: () => Promise<boolean | undefined>,
): Promise<void> {
  const { bytes, end, starts, ends } = modelled;
  const digest =
    bytes !== undefined && end !== undefined && globalThis.crypto?.subtle !== undefined
      ? globalThis.crypto.subtle.digest('SHA-256', bytes.subarray(0, modelled.hashedLength))
      : undefined;
  steps['model packed'] = clock();
  scope.postMessage(
    {
      type: 'model',
      packed: modelled.packed,
      names: modelled.packedNames.packed,
      text: modelled.text,
      starts,
      ends,
      warnings: modelled.warnings,
      hasEnd: end !== undefined,
      parseMs: modelled.parseMs,
      modelMs: performance.now() - modelled.modelStart,
      steps,
    },
    [
      ...modelled.transfer,
      ...modelled.packedNames.transfer,
      // Made here, never shared: a plain ArrayBuffer each.
      starts.buffer as ArrayBuffer,
      ends.buffer as ArrayBuffer,
      ...(bytes === undefined ? [] : [bytes.buffer]),
    ],
  );
  let verdict: boolean | undefined;
  if (digest !== undefined && end !== undefined) verdict = hex(await digest) === end.sha256;
  else verdict = await verifyOtherwise?.();
  scope.postMessage({ type: 'sha256', verdict });
}
