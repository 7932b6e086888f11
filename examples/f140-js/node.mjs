#!/usr/bin/env node
// An F140 node in plain JavaScript (Node, no dependencies), written from the F140 spec
// (src/protocols/f140/spec.md) and run by fedsim as an external process: it reads process-protocol
// lines on stdin and answers on stdout (docs/process-nodes.md). Every step ends with {"kind":"end"}.
//
// The durable store lives in the simulator; this node mirrors it in memory (read once at start,
// written through on every change), so its logic never waits for a store read.
//
// Connection bytes are kept as binary strings, one character per byte, as atob gives them and btoa
// takes them: HTTP heads are ASCII, and a request is searched, sliced and answered without a
// Buffer made or copied at each turn.
//
// Canaries, each one rule broken, for proving that `fedsim fuzz f140 --node-process` catches it:
// `--canary=volatile` (or F140_CANARY=volatile) forgets its queue on restart (spec §5: queues are
// durable), so a message queued before a crash is lost; `--canary=dedup` turns off the msg_id check
// (§3.3), so a retried MSG is delivered twice.
import { readSync, writeSync } from 'node:fs';
import { StringDecoder } from 'node:string_decoder';

const canary =
  process.argv.find((arg) => arg.startsWith('--canary='))?.slice('--canary='.length) ?? process.env.F140_CANARY ?? '';
const CRLF = '\r\n';

// ---------------------------------------------------------------------------------------------------
// The process protocol. Plain blocking reads and writes: a step is one read of stdin (the input
// line) and one write of stdout (the step's lines, `end` last).

const chunk = Buffer.alloc(64 * 1024);
const decoder = new StringDecoder('utf8');
const nap = new Int32Array(new SharedArrayBuffer(4));
let buffered = '';

/** The next input line, or undefined once stdin ends. */
function readLine() {
  for (;;) {
    const nl = buffered.indexOf('\n');
    if (nl >= 0) {
      const line = buffered.slice(0, nl);
      buffered = buffered.slice(nl + 1);
      if (line.trim() !== '') return line;
      continue;
    }
    let count;
    try {
      count = readSync(0, chunk, 0, chunk.length, null);
    } catch (error) {
      if (error.code === 'EAGAIN') {
        // A non-blocking stdin (a terminal, say): wait a millisecond.
        Atomics.wait(nap, 0, 0, 1);
        continue;
      }
      if (error.code === 'EOF') return undefined;
      throw error;
    }
    if (count === 0) return undefined;
    buffered += decoder.write(chunk.subarray(0, count));
  }
}

function writeAll(text) {
  // Most often one write of the whole text; a partial write (a non-blocking stdout) goes on from bytes.
  let written = 0;
  try {
    written = writeSync(1, text);
  } catch (error) {
    if (error.code !== 'EAGAIN') throw error;
  }
  if (written === Buffer.byteLength(text)) return;
  const bytes = Buffer.from(text, 'utf8');
  while (written < bytes.length) {
    try {
      written += writeSync(1, bytes, written);
    } catch (error) {
      if (error.code !== 'EAGAIN') throw error;
      Atomics.wait(nap, 0, 0, 1);
    }
  }
}

/** A JSON string of `text`: quoted as it is unless it holds a character JSON must escape (a lone surrogate included). */
// eslint-disable-next-line no-control-regex -- the control characters are what JSON escapes
const mustEscape = /["\\\u0000-\u001f\ud800-\udfff]/;
const quote = (text) => (mustEscape.test(text) ? JSON.stringify(text) : `"${text}"`);

/**
 * The JSON text of an output line: the same text as `JSON.stringify(line)`. The kinds a busy node
 * writes at every step are put together by hand, because `JSON.stringify` of a whole object walks
 * its properties (asking each object for a `toJSON` method) and scans every string for characters
 * to escape, about a fifth of this node's instructions a step; here the keys are known, base64
 * (`bytes`) needs no escaping, and only nested values go through `JSON.stringify`. Other kinds,
 * and lines with optional fields left out, take the general way.
 */
function lineText(line) {
  switch (line.kind) {
    case 'end':
      return '{"kind":"end"}';
    case 'timer.set':
      return `{"kind":"timer.set","id":${quote(line.id)},"delayMs":${line.delayMs}}`; // delays are finite numbers
    case 'timer.cancel':
      return `{"kind":"timer.cancel","id":${quote(line.id)}}`;
    case 'close':
      return `{"kind":"close","conn":${quote(line.conn)}}`;
    case 'state':
      return `{"kind":"state","machine":${quote(line.machine)},"value":${quote(line.value)}}`;
    case 'store.put':
      return `{"kind":"store.put","key":${quote(line.key)},"value":${JSON.stringify(line.value)}}`;
    case 'store.delete':
      return `{"kind":"store.delete","key":${quote(line.key)}}`;
    case 'connect':
      return `{"kind":"connect","conn":${quote(line.conn)},"target":${JSON.stringify(line.target)}}`;
    case 'write':
      if (line.decoded === undefined) break;
      return `{"kind":"write","conn":${quote(line.conn)},"bytes":"${line.bytes}","decoded":${JSON.stringify(line.decoded)}}`;
    case 'note':
      if (line.detail === undefined) break;
      return `{"kind":"note","what":${quote(line.what)},"detail":${JSON.stringify(line.detail)}}`;
  }
  return JSON.stringify(line);
}

let out = '';
const emit = (line) => {
  out += `${lineText(line)}\n`;
};
function flush() {
  if (out !== '') writeAll(out);
  out = '';
}
function ask(line) {
  emit(line);
  flush();
  const next = readLine();
  if (next === undefined) process.exit(0);
  return JSON.parse(next);
}

const store = new Map();
// Indexes kept beside the mirror, so that no step scans the whole store: each remote user's
// outbox keys, oldest first (their sequence numbers only grow), and each (to, from) pair's window
// of message ids seen, oldest first.
const outboxPrefixAll = 'f140/outbox/';
const outboxes = new Map();
const seenPrefix = 'f140/seen/';
/** Each pair's window, by to and then from. */
const seenWindows = new Map();
const seenWindow = 1024;
/** The outbox of `key` (`f140/outbox/<remote>/<12-digit seq>`), or undefined for other keys. */
const outboxOf = (key) => (key.startsWith(outboxPrefixAll) ? key.slice(outboxPrefixAll.length, -13) : undefined);
function indexed(key, added) {
  const remote = outboxOf(key);
  if (remote === undefined) return;
  let keys = outboxes.get(remote);
  if (!keys) outboxes.set(remote, (keys = []));
  if (added) keys.push(key);
  else keys.splice(keys.indexOf(key), 1);
}
const put = (key, value) => {
  if (!store.has(key)) indexed(key, true);
  store.set(key, value);
  emit({ kind: 'store.put', key, value });
};
const del = (key) => {
  if (!store.delete(key)) return;
  indexed(key, false);
  emit({ kind: 'store.delete', key });
};
const keysWith = (prefix) => [...store.keys()].filter((k) => k.startsWith(prefix)).sort();

let now = 0;
let self = { node: '', host: '' };
let config;

// ---------------------------------------------------------------------------------------------------
// Forms and messages.

/** Decodes UTF-8 and throws on a bad sequence (one decoder for every call: it keeps no state between them). */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const nonAscii = /[\u0080-\uffff]/;

/** The text whose UTF-8 is `binary` (one char per byte), or undefined when it is not valid UTF-8. */
function utf8Of(binary) {
  if (!nonAscii.test(binary)) return binary; // ASCII is its own UTF-8
  try {
    return strictUtf8.decode(Buffer.from(binary, 'latin1'));
  } catch {
    return undefined;
  }
}

const hexDigit = (code) => {
  if (code >= 0x30 && code <= 0x39) return code - 0x30;
  const lower = code | 0x20;
  return lower >= 0x61 && lower <= 0x66 ? lower - 0x61 + 10 : -1;
};

/**
 * `text` decoded when it is ASCII and each escape in it is a good one of an ASCII byte (the
 * common case: `u1%40n1.test`, a percent-encoded message), so that the bytes are their own UTF-8;
 * otherwise undefined, and the general path below decodes it.
 */
function decodeAscii(text) {
  let out = '';
  let from = 0;
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    if (code > 0x7f) return undefined;
    if (code === 0x2b) {
      out += `${text.slice(from, i)} `;
      from = i + 1;
    } else if (code === 0x25) {
      const high = hexDigit(text.charCodeAt(i + 1));
      const low = hexDigit(text.charCodeAt(i + 2));
      if (high < 0 || high > 7 || low < 0) return undefined;
      out += text.slice(from, i) + String.fromCharCode(high * 16 + low);
      i += 2;
      from = i + 1;
    }
  }
  return from === 0 ? text : out + text.slice(from);
}

function percentDecode(text) {
  const ascii = decodeAscii(text);
  if (ascii !== undefined) return ascii;
  // The general case, byte by byte (a byte order mark at the start is dropped by the decoder).
  const bytes = [];
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (c === '+') bytes.push(0x20);
    else if (c === '%') {
      const hex = text.slice(i + 1, i + 3);
      if (!/^[0-9A-Fa-f]{2}$/.test(hex)) return undefined;
      bytes.push(parseInt(hex, 16));
      i += 2;
    } else {
      for (const b of Buffer.from(c, 'utf8')) bytes.push(b);
    }
  }
  try {
    return strictUtf8.decode(Uint8Array.from(bytes));
  } catch {
    return undefined;
  }
}

/** Adds `text`'s fields to `into` (names lower-cased); an error string on a bad form. */
function decodeForm(text, into) {
  if (text === '') return undefined;
  for (const part of text.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const name = percentDecode(eq < 0 ? part : part.slice(0, eq));
    const value = percentDecode(eq < 0 ? '' : part.slice(eq + 1));
    if (name === undefined || value === undefined) return 'bad percent escape or UTF-8 in the form';
    const key = name.toLowerCase();
    if (into.has(key)) return `argument ${key} given twice`;
    into.set(key, value);
    if (into.size > 32) return 'more than 32 form fields';
  }
  return undefined;
}

const encodeComponent = (text) => {
  const encoded = encodeURIComponent(text);
  return encoded.includes('%20') ? encoded.replaceAll('%20', '+') : encoded;
};
const encodeForm = (fields) => fields.map(([k, v]) => `${encodeComponent(k)}=${encodeComponent(v)}`).join('&');
const xmlEscapes = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
const xmlSpecial = /[&<>"']/;
const escapeXml = (text) => (xmlSpecial.test(text) ? text.replace(/[&<>"']/g, (c) => xmlEscapes[c]) : text);
const named = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function decodeMessage(xml) {
  const m =
    /^\s*(?:<\?xml[^?]*\?>\s*)?<msg\s+kind\s*=\s*(?:"([^"]*)"|'([^']*)')\s*>\s*(?:<text>([^]*?)<\/text>|<text\s*\/>)\s*<\/msg>\s*$/.exec(
      xml,
    );
  if (!m) {
    if (/^\s*(?:<\?xml[^?]*\?>\s*)?<msg\b/.test(xml))
      return { status: 400, code: 'bad-message', reason: 'malformed <msg>' };
    return { status: 415, code: 'unsupported-message', reason: 'not a <msg> document' };
  }
  const kind = m[1] ?? m[2] ?? '';
  if (kind !== 'basic') return { status: 415, code: 'unsupported-message', reason: `kind ${kind} is not supported` };
  const raw = m[3] ?? '';
  if (raw.includes('<')) return { status: 400, code: 'bad-message', reason: 'raw < inside <text>' };
  let bad = false;
  const text = raw.replace(/&([^;&]{0,10});?/g, (whole, body) => {
    if (!whole.endsWith(';')) bad = true;
    if (named[body] !== undefined) return named[body];
    const n = /^#(?:x([0-9A-Fa-f]{1,6})|([0-9]{1,7}))$/.exec(body);
    const code = n ? (n[1] !== undefined ? parseInt(n[1], 16) : Number(n[2])) : -1;
    const ok = code === 9 || code === 10 || code === 13 || (code >= 0x20 && code <= 0x10ffff);
    if (!ok || (code >= 0xd800 && code <= 0xdfff)) {
      bad = true;
      return '';
    }
    return String.fromCodePoint(code);
  });
  if (bad) return { status: 400, code: 'bad-message', reason: 'bad entity in <text>' };
  return { text };
}

const codePoints = (text) => [...text].length;

// ---------------------------------------------------------------------------------------------------
// HTTP requests (server side).

const reasons = {
  200: 'OK',
  400: 'Bad Request',
  403: 'Forbidden',
  405: 'Method Not Allowed',
  408: 'Request Timeout',
  413: 'Content Too Large',
  414: 'URI Too Long',
  415: 'Unsupported Media Type',
  422: 'Unprocessable Content',
  431: 'Request Header Fields Too Large',
  501: 'Not Implemented',
  505: 'HTTP Version Not Supported',
};

/** A response's bytes (a binary string). A form is ASCII (encodeURIComponent escapes the rest), so its length is its byte count. */
function response(status, fields, headers = []) {
  const body = encodeForm(fields);
  let head = `HTTP/1.1 ${status} ${reasons[status] ?? 'Status'}${CRLF}`;
  for (const [k, v] of headers) head += `${k}: ${v}${CRLF}`;
  return `${head}Content-Length: ${body.length}${CRLF}${CRLF}${body}`;
}

/** Parses one request from the front of `buf` (a binary string): {request, used}, {more}, or {error: {status, reason}}. */
function parseRequest(buf) {
  const lineEnd = buf.indexOf('\r\n');
  if (lineEnd < 0)
    return buf.length > 4096 ? { error: { status: 414, reason: 'request line over 4 KiB' } } : { more: true };
  if (lineEnd > 4096) return { error: { status: 414, reason: 'request line over 4 KiB' } };
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) return buf.length > 8192 ? { error: { status: 431, reason: 'head over 8 KiB' } } : { more: true };
  if (headEnd + 4 > 8192) return { error: { status: 431, reason: 'head over 8 KiB' } };
  const head = buf.slice(0, headEnd).split('\r\n');
  const start = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+) (\S+) HTTP\/(\d)\.(\d)$/.exec(head[0]);
  if (!start) return { error: { status: 400, reason: 'malformed request line' } };
  const version = `${start[3]}.${start[4]}`;
  if (version !== '1.0' && version !== '1.1')
    return { error: { status: 505, reason: `HTTP/${version} is not supported` } };
  if (head.length - 1 > 64) return { error: { status: 431, reason: 'over 64 header lines' } };
  const headers = new Map();
  let length;
  for (let i = 1; i < head.length; i++) {
    // The header lines, after the request line (an index rather than a copy of the array from 1).
    const m = /^([!#$%&'*+.^_`|~0-9A-Za-z-]+):[ \t]*(.*?)[ \t]*$/.exec(head[i]);
    if (!m) return { error: { status: 400, reason: 'malformed header line' } };
    const name = m[1].toLowerCase();
    if (name === 'content-length') {
      if (!/^\d{1,10}$/.test(m[2])) return { error: { status: 400, reason: 'bad Content-Length' } };
      if (length !== undefined && length !== Number(m[2]))
        return { error: { status: 400, reason: 'conflicting Content-Length' } };
      length = Number(m[2]);
    }
    headers.set(name, headers.has(name) ? `${headers.get(name)}, ${m[2]}` : m[2]);
  }
  if (headers.has('transfer-encoding')) return { error: { status: 501, reason: 'Transfer-Encoding is not supported' } };
  if (version === '1.1' && !headers.has('host')) return { error: { status: 400, reason: 'HTTP/1.1 without Host' } };
  length ??= 0;
  if (length > 16384) return { error: { status: 413, reason: 'body over 16 KiB' } };
  if (buf.length < headEnd + 4 + length) return { more: true };
  const connection = (headers.get('connection') ?? '').toLowerCase();
  const keepAlive = version === '1.1' ? !connection.includes('close') : connection.includes('keep-alive');
  return {
    request: {
      method: start[1],
      target: start[2],
      headers,
      body: buf.slice(headEnd + 4, headEnd + 4 + length),
      keepAlive,
    },
    used: headEnd + 4 + length,
  };
}

function refusal(status, code, reason, decoded, headers = []) {
  emit({ kind: 'reject', code: `f140.${code}`, reason, detail: decoded });
  return {
    status,
    fields: [
      ['error', code],
      ['reason', reason],
    ],
    headers,
    decoded,
  };
}

// The ids seen, per (to, from) pair: the last 1024 of each, durable. Each id is a store entry of its
// own (`f140/seen/<12-digit seq>` holding {to, from, id}), so that marking one writes one small
// line, not the whole window. The sequence runs across pairs and needs no entry of its own: a
// window drops only its oldest id, never the one just added, so the highest number in the store is
// the last one used.
let seenSeq = 0;
function seenOf(to, from) {
  let windows = seenWindows.get(to);
  if (!windows) seenWindows.set(to, (windows = new Map()));
  let seen = windows.get(from);
  if (!seen) windows.set(from, (seen = { ids: new Set(), keys: [] }));
  return seen;
}
function remember(seen, key, id) {
  seen.ids.add(id);
  seen.keys.push(key);
  if (seen.keys.length > seenWindow) {
    const oldest = seen.keys.shift();
    seen.ids.delete(store.get(oldest).id);
    del(oldest);
  }
}
function markSeen(seen, to, from, id) {
  seenSeq += 1;
  const key = `${seenPrefix}${String(seenSeq).padStart(12, '0')}`;
  put(key, { to, from, id });
  remember(seen, key, id);
}

function serve(request) {
  const method = request.method.toUpperCase();
  if (method !== 'GET' && method !== 'POST')
    return refusal(405, 'method-not-allowed', `method ${request.method} is not GET or POST`, { method }, [
      ['Allow', 'GET, POST'],
    ]);
  const args = new Map();
  const q = request.target.indexOf('?');
  let problem = decodeForm(q < 0 ? '' : request.target.slice(q + 1), args);
  if (!problem && method === 'POST' && request.body.length > 0) {
    const type = (request.headers.get('content-type') ?? 'application/x-www-form-urlencoded')
      .split(';')[0]
      .trim()
      .toLowerCase();
    if (type !== 'application/x-www-form-urlencoded')
      return refusal(415, 'bad-request', `Content-Type ${type} is not a form`, { method });
    const body = utf8Of(request.body);
    if (body === undefined) return refusal(400, 'bad-request', 'the form body is not valid UTF-8', { method });
    problem = decodeForm(body, args);
  }
  if (problem) return refusal(400, 'bad-request', problem, { method });
  const decoded = { method, ...Object.fromEntries(args) };
  const command = args.get('command');
  if (command === undefined) return refusal(400, 'missing-argument', 'no command argument', decoded);
  const verb = command.toUpperCase();
  if (verb !== 'PING' && verb !== 'MSG')
    return refusal(400, 'unknown-command', `command ${JSON.stringify(command)} is not PING or MSG`, decoded);
  for (const name of ['from_user', 'challenge', 'to_user', ...(verb === 'MSG' ? ['message'] : [])])
    if (!args.has(name)) return refusal(400, 'missing-argument', `${verb} needs ${name}`, decoded);
  const from = args.get('from_user');
  const to = args.get('to_user');
  const friend = friendOf(to, from);
  if (!friend || friend.inbound.challenge !== args.get('challenge'))
    return refusal(403, 'refused', `${from}:<challenge>:${to} is not a known friendship`, decoded);
  const accepted = [['response', friend.inbound.response]];
  if (verb === 'PING') {
    const replyTo = args.get('reply_to');
    let address;
    if (replyTo !== undefined) {
      const m = /^([A-Za-z0-9.\-_]+|\[[0-9A-Fa-f:.]+\]):(\d{1,5})$/.exec(replyTo);
      if (!m || Number(m[2]) < 1 || Number(m[2]) > 65535)
        return refusal(400, 'bad-argument', `reply_to ${JSON.stringify(replyTo)} is not host:port`, decoded);
      address = { host: m[1], port: Number(m[2]) };
      put(`f140/address/${from}`, address);
    }
    emit({ kind: 'note', what: 'f140.ping.accepted', detail: { from, to, ...(address ? { address } : {}) } });
    return { status: 200, fields: accepted, headers: [], decoded, pinged: from };
  }
  const message = decodeMessage(args.get('message'));
  if (message.text === undefined) return refusal(message.status, message.code, message.reason, decoded);
  const length = codePoints(message.text);
  if (length > 140) return refusal(422, 'too-long', `text of ${length} code points is over 140`, decoded);
  const id = args.get('msg_id');
  const group = args.get('group');
  const seen = seenOf(to, from);
  if (id !== undefined && canary !== 'dedup' && seen.ids.has(id)) {
    emit({ kind: 'note', what: 'f140.msg.duplicate', detail: { from, to, id } });
    return { status: 200, fields: accepted, headers: [], decoded };
  }
  if (id !== undefined) markSeen(seen, to, from, id);
  emit({
    kind: 'deliver',
    user: to,
    from,
    body: message.text,
    ...(id === undefined ? {} : { id }),
    ...(group === undefined ? {} : { detail: { group } }),
  });
  return { status: 200, fields: accepted, headers: [], decoded };
}

// Inbound sessions: conn -> { buf, closing }
const sessions = new Map();

function accept(conn) {
  sessions.set(conn, { buf: '', closing: false });
  emit({ kind: 'state', machine: `f140.session ${conn}`, value: 'open' });
  emit({ kind: 'timer.set', id: `idle:${conn}`, delayMs: config.idleMs });
}

function endSession(conn, byUs) {
  const s = sessions.get(conn);
  if (!s) return;
  sessions.delete(conn);
  emit({ kind: 'timer.cancel', id: `idle:${conn}` });
  emit({ kind: 'state', machine: `f140.session ${conn}`, value: 'closed' });
  if (byUs) emit({ kind: 'close', conn });
}

function sessionData(conn, bytes) {
  const s = sessions.get(conn);
  if (!s || s.closing) return;
  s.buf += bytes;
  for (;;) {
    const parsed = parseRequest(s.buf);
    if (parsed.more) {
      // The session waits for more, idle from now on (one this step closes needs no new timer).
      emit({ kind: 'timer.set', id: `idle:${conn}`, delayMs: config.idleMs });
      return;
    }
    let answer;
    let keepAlive = false;
    if (parsed.error)
      answer = refusal(parsed.error.status, 'bad-request', parsed.error.reason, { error: parsed.error.reason });
    else {
      s.buf = s.buf.slice(parsed.used);
      answer = serve(parsed.request);
      keepAlive = parsed.request.keepAlive;
    }
    const headers = [
      ['Content-Type', 'application/x-www-form-urlencoded'],
      ...answer.headers,
      ...(keepAlive ? [] : [['Connection', 'close']]),
    ];
    const bytesOut = response(answer.status, answer.fields, headers);
    emit({
      kind: 'write',
      conn,
      bytes: btoa(bytesOut),
      decoded: { status: answer.status, request: answer.decoded, response: Object.fromEntries(answer.fields) },
    });
    if (answer.pinged) pinged(answer.pinged);
    if (!keepAlive) {
      s.closing = true;
      return endSession(conn, true);
    }
  }
}

// ---------------------------------------------------------------------------------------------------
// Users, friends, queues (client side).

// The config is fixed for the life of the process: friendships and remote users are looked up in
// tables made from it once, at start.
let friendships = new Map();
let remoteUsers = [];
function indexConfig() {
  friendships = new Map();
  remoteUsers = [];
  for (const u of config.users) {
    // The first user of a name and the first friendship of a pair count, as a search would find them.
    const friends = friendships.has(u.name) ? undefined : new Map();
    if (friends) friendships.set(u.name, friends);
    for (const f of u.friends) {
      if (friends && !friends.has(f.user)) friends.set(f.user, f);
      if (!remoteUsers.includes(f.user)) remoteUsers.push(f.user);
    }
  }
}
const friendOf = (local, remote) => friendships.get(local)?.get(remote);
/** Remote users in order of first appearance among the local users' friends. */
const remotes = () => remoteUsers;
const outboxPrefix = (remote) => `f140/outbox/${remote}/`;
const queued = (remote) => (outboxes.get(remote) ?? []).map((key) => ({ key, ...store.get(key) }));

// One peer machine per remote user.
const peers = new Map();
function peerFor(remote) {
  let p = peers.get(remote);
  if (!p) {
    p = { remote, state: '', failures: 0, call: undefined, refusals: new Map() };
    peers.set(remote, p);
  }
  return p;
}
function setState(p, state) {
  if (p.state === state) return;
  p.state = state;
  emit({ kind: 'state', machine: `f140.peer ${p.remote}`, value: state });
}
function addressOf(local, remote) {
  const learned = store.get(`f140/address/${remote}`);
  if (learned) return learned;
  const f = friendOf(local, remote);
  return { host: f.host, port: f.port };
}

let nextConn = 1;
// Outbound calls: conn -> { peer?, raw?, buf, verb, msg }
const calls = new Map();

/** A host name as bytes of the Host header: latin1, so a character above U+00FF keeps only its low byte. */
const latin1 = (text) => (/[\u0100-\uffff]/.test(text) ? Buffer.from(text, 'latin1').toString('latin1') : text);

/** A request's bytes, base64-encoded (the form body is ASCII: its length is its byte count). */
function request(target, fields, decoded) {
  const body = encodeForm(fields);
  const head = [
    'POST /f140 HTTP/1.1',
    `Host: ${latin1(target.host)}`,
    'Connection: close',
    'Content-Type: application/x-www-form-urlencoded',
    `Content-Length: ${body.length}`,
  ];
  return { bytes: btoa(head.join(CRLF) + CRLF + CRLF + body), decoded };
}

/** Opens a call that writes `bytes` (base64) once connected. */
function openCall(target, bytes, decoded, info) {
  const conn = `o${nextConn++}`;
  calls.set(conn, Object.assign(info, { bytes, decoded, buf: '' })); // info: the caller's own new object
  emit({ kind: 'connect', conn, target });
  emit({ kind: 'timer.set', id: `call:${conn}`, delayMs: config.requestTimeoutMs });
  return conn;
}

/** The oldest queued message for `remote` whose sender still friends it; drops the others. */
function oldest(remote) {
  const keys = outboxes.get(remote);
  while (keys !== undefined && keys.length > 0) {
    const m = { key: keys[0], ...store.get(keys[0]) };
    if (friendOf(m.from, remote)) return m;
    del(m.key);
    emit({ kind: 'timer.cancel', id: `expire:${m.key}` });
    emit({
      kind: 'reject',
      code: 'f140.unfriended',
      reason: `${m.from} no longer friends ${remote}`,
      detail: { id: m.id, to: remote },
    });
  }
  return undefined;
}

function ping(p) {
  const m = oldest(p.remote);
  const local = m?.from ?? config.users.find((u) => u.friends.some((f) => f.user === p.remote))?.name;
  if (!local) return setState(p, 'idle');
  const f = friendOf(local, p.remote);
  const target = addressOf(local, p.remote);
  const fields = [
    ['command', 'PING'],
    ['from_user', local],
    ['challenge', f.outbound.challenge],
    ['to_user', p.remote],
    ['reply_to', `${config.advertiseHost ?? self.host}:${config.port}`],
  ];
  const req = request(target, fields, { command: 'PING', from: local, to: p.remote });
  setState(p, 'pinging');
  p.call = openCall(target, req.bytes, req.decoded, { peer: p.remote, verb: 'PING', local, msgKey: m?.key });
}

function push(p) {
  const m = oldest(p.remote);
  if (!m) return setState(p, 'idle');
  const f = friendOf(m.from, p.remote);
  const target = addressOf(m.from, p.remote);
  const fields = [
    ['command', 'MSG'],
    ['from_user', m.from],
    ['challenge', f.outbound.challenge],
    ['to_user', p.remote],
    ['message', `<msg kind="basic"><text>${escapeXml(m.text)}</text></msg>`],
    ['msg_id', m.id],
    ...(m.group === undefined ? [] : [['group', m.group]]),
  ];
  const req = request(target, fields, { command: 'MSG', from: m.from, to: p.remote, id: m.id });
  setState(p, 'pushing');
  p.call = openCall(target, req.bytes, req.decoded, { peer: p.remote, verb: 'MSG', local: m.from, msgKey: m.key });
}

/** Starts work for `remote` unless a call is on or a backoff waits. */
function kick(remote) {
  const p = peerFor(remote);
  if (p.call !== undefined || p.state === 'backingOff') return;
  ping(p);
}

function pinged(remote) {
  if (!remotes().includes(remote)) return;
  const p = peerFor(remote);
  if (p.call !== undefined) return;
  emit({ kind: 'timer.cancel', id: `backoff:${remote}` });
  p.failures = 0;
  if (oldest(remote)) push(p);
  else setState(p, 'idle');
}

function transient(p, why) {
  p.failures += 1;
  setState(p, 'failing');
  const delay = Math.min(config.retryMsBase * 2 ** (p.failures - 1), config.retryMsMax);
  emit({ kind: 'note', what: 'f140.call.failed', detail: { to: p.remote, why, retryInMs: delay } });
  setState(p, 'backingOff');
  emit({ kind: 'timer.set', id: `backoff:${p.remote}`, delayMs: delay });
}

/** Classifies an answer: 'accepted', 'refused' or 'transient'. */
function classify(status, fields, local, remote) {
  const f = friendOf(local, remote);
  if (status === 200) {
    if (!fields.has('response') || fields.has('error')) return 'transient';
    return f && fields.get('response') === f.outbound.response ? 'accepted' : 'refused';
  }
  if (!fields.has('error') || fields.has('response')) return 'transient';
  if (status === 408 || status === 429 || status >= 500) return 'transient';
  if (status >= 400 && status < 500) return 'refused';
  return 'transient';
}

function callDone(conn, status, fields) {
  const c = calls.get(conn);
  calls.delete(conn);
  emit({ kind: 'timer.cancel', id: `call:${conn}` });
  if (c.raw) {
    if (status === undefined) emit({ kind: 'reject', code: 'f140.raw.failed', reason: fields, detail: { conn } });
    else
      emit({ kind: 'note', what: 'f140.raw.response', detail: { conn, status, fields: Object.fromEntries(fields) } });
    return;
  }
  const p = peerFor(c.peer);
  if (p.call !== conn) return;
  p.call = undefined;
  if (status === undefined) return transient(p, fields);
  const verdict = classify(status, fields, c.local, c.peer);
  if (verdict === 'transient') return transient(p, `answer ${status}`);
  if (verdict === 'accepted') {
    p.failures = 0;
    if (c.verb === 'MSG') {
      p.refusals.delete(c.local);
      if (store.has(c.msgKey)) {
        const m = store.get(c.msgKey);
        del(c.msgKey);
        emit({ kind: 'timer.cancel', id: `expire:${c.msgKey}` });
        emit({ kind: 'note', what: 'f140.msg.accepted', detail: { from: m.from, to: c.peer, id: m.id } });
      }
    }
    setState(p, 'settling');
    return push(p);
  }
  // Refused.
  if (c.verb === 'PING' && c.msgKey === undefined) {
    emit({
      kind: 'reject',
      code: 'f140.ping.refused',
      reason: `${c.peer} refused our PING`,
      detail: { to: c.peer, status },
    });
    return setState(p, 'idle');
  }
  if (!p.refusals.get(c.local)) {
    p.refusals.set(c.local, 1);
    emit({ kind: 'note', what: 'f140.refusal.unconfirmed', detail: { from: c.local, to: c.peer, status } });
    return transient(p, `refusal ${status}`);
  }
  p.refusals.delete(c.local);
  if (store.has(c.msgKey)) {
    const m = store.get(c.msgKey);
    del(c.msgKey);
    emit({ kind: 'timer.cancel', id: `expire:${c.msgKey}` });
    emit({
      kind: 'reject',
      code: 'f140.refused',
      reason: `${c.peer} refused the message`,
      detail: { from: m.from, to: c.peer, id: m.id, status },
    });
  }
  if (oldest(p.remote)) return ping(p);
  setState(p, 'idle');
}

/** Reads one response from the front of `buf`; `closed` when the connection ended. */
function parseResponse(buf, closed) {
  const headEnd = buf.indexOf('\r\n\r\n');
  if (headEnd < 0) return closed ? { bad: 'truncated answer' } : undefined;
  const head = buf.slice(0, headEnd).split('\r\n');
  const m = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(head[0]);
  if (!m) return { bad: 'malformed status line' };
  let length;
  for (let i = 1; i < head.length; i++) {
    // The header lines, after the status line.
    const h = /^([^:]+):\s*(.*?)\s*$/.exec(head[i]);
    if (h && h[1].toLowerCase() === 'content-length') length = Number(h[2]);
  }
  const body = buf.slice(headEnd + 4);
  if (length !== undefined && body.length < length) return closed ? { bad: 'truncated body' } : undefined;
  if (length === undefined && !closed) return undefined;
  const fields = new Map();
  const text = utf8Of(length === undefined ? body : body.slice(0, length));
  if (text === undefined) return { bad: 'answer not UTF-8' };
  const problem = decodeForm(text.trim(), fields);
  if (problem) return { bad: problem };
  return { status: Number(m[1]), fields };
}

function callData(conn, bytes, closed) {
  const c = calls.get(conn);
  if (!c) return;
  c.buf += bytes;
  const got = parseResponse(c.buf, closed);
  if (!got) return;
  if (!closed) emit({ kind: 'close', conn });
  if (got.bad) return callDone(conn, undefined, got.bad);
  callDone(conn, got.status, got.fields);
}

// ---------------------------------------------------------------------------------------------------
// Commands.

function queueMessage(from, to, text, group) {
  if ((outboxes.get(to)?.length ?? 0) >= 1000) {
    emit({
      kind: 'reject',
      code: 'f140.local.queue-full',
      reason: `the queue for ${to} is full`,
      detail: { from, to },
    });
    return;
  }
  const seq = (store.get('f140/seq') ?? 0) + 1;
  put('f140/seq', seq);
  const id = `${self.node}#${seq}`;
  const key = `${outboxPrefix(to)}${String(seq).padStart(12, '0')}`;
  put(key, { from, to, text, id, queuedAt: now, ...(group === undefined ? {} : { group }) });
  emit({ kind: 'timer.set', id: `expire:${key}`, delayMs: config.queueExpiryMs });
  emit({ kind: 'note', what: 'f140.msg.queued', detail: { from, to, id } });
  kick(to);
}

function localReject(code, reason, detail) {
  emit({ kind: 'reject', code: `f140.local.${code}`, reason, detail });
}

function command(cmd) {
  if (cmd?.type === 'send' || cmd?.type === 'broadcast') {
    const user = config.users.find((u) => u.name === cmd.from);
    if (!user) return localReject('unknown-user', `${cmd.from} is not a user of this node`, cmd);
    if (codePoints(cmd.text) > 140)
      return localReject('too-long', `text of ${codePoints(cmd.text)} code points is over 140`, cmd);
    if (cmd.type === 'send') {
      if (!friendOf(cmd.from, cmd.to))
        return localReject('not-friend', `${cmd.to} is not a friend of ${cmd.from}`, cmd);
      return queueMessage(cmd.from, cmd.to, cmd.text);
    }
    const members = user.groups[cmd.group];
    if (!members) return localReject('unknown-group', `${cmd.from} has no group ${cmd.group}`, cmd);
    for (const member of members) queueMessage(cmd.from, member, cmd.text, cmd.group);
    return;
  }
  if (cmd?.type === 'ping') {
    if (!remotes().includes(cmd.to)) return localReject('not-friend', `${cmd.to} is no local user's friend`, cmd);
    const p = peerFor(cmd.to);
    if (p.call !== undefined) return;
    emit({ kind: 'timer.cancel', id: `backoff:${cmd.to}` });
    return ping(p);
  }
  if (cmd?.type === 'raw') {
    const conn = openCall(
      { host: cmd.host, port: cmd.port },
      Buffer.from(cmd.request, 'utf8').toString('base64'),
      { raw: true },
      { raw: true },
    );
    return conn;
  }
  localReject('command-invalid', 'not an F140 command', cmd);
}

// ---------------------------------------------------------------------------------------------------
// Inputs.

function start(input) {
  self = { node: input.node, host: input.host };
  config = input.config;
  indexConfig();
  const { keys } = ask({ kind: 'store.keys', prefix: '' });
  for (const key of [...keys].sort()) {
    const value = ask({ kind: 'store.get', key }).value;
    store.set(key, value);
    indexed(key, true);
    if (key.startsWith(seenPrefix)) {
      remember(seenOf(value.to, value.from), key, value.id);
      seenSeq = Number(key.slice(seenPrefix.length)); // the keys come in order: the last is the highest
    }
  }
  if (canary === 'volatile') for (const key of keysWith('f140/outbox/')) del(key);
  emit({ kind: 'listen', endpoint: { host: self.host, port: config.port } });
  for (const remote of remotes()) {
    const p = peerFor(remote);
    setState(p, 'starting');
    for (const m of queued(remote)) {
      const left = m.queuedAt + config.queueExpiryMs - now;
      emit({ kind: 'timer.set', id: `expire:${m.key}`, delayMs: Math.max(0, left) });
    }
    if (config.announce || oldest(remote)) ping(p);
    else setState(p, 'idle');
  }
}

function timer(id) {
  const colon = id.indexOf(':');
  const what = id.slice(0, colon);
  const rest = id.slice(colon + 1);
  if (what === 'idle') return endSession(rest, true);
  if (what === 'backoff') {
    const p = peerFor(rest);
    if (p.call === undefined) ping(p);
    return;
  }
  if (what === 'call') {
    if (!calls.has(rest)) return;
    emit({ kind: 'close', conn: rest });
    return callDone(rest, undefined, 'timeout');
  }
  if (what === 'expire') {
    if (!store.has(rest)) return;
    const m = store.get(rest);
    del(rest);
    emit({
      kind: 'reject',
      code: 'f140.expired',
      reason: `not delivered within ${config.queueExpiryMs}ms`,
      detail: { from: m.from, to: m.to, id: m.id },
    });
  }
}

function step(input) {
  if (input.now !== undefined) now = input.now;
  switch (input.kind) {
    case 'start':
      start(input);
      break;
    case 'conn.accepted':
      accept(input.conn);
      break;
    case 'conn.opened': {
      const c = calls.get(input.conn);
      if (c) emit({ kind: 'write', conn: input.conn, bytes: c.bytes, decoded: c.decoded });
      break;
    }
    case 'conn.failed':
      if (calls.has(input.conn)) {
        emit({ kind: 'timer.cancel', id: `call:${input.conn}` });
        callDone(input.conn, undefined, `connect ${input.reason}`);
      }
      break;
    case 'conn.data':
      if (sessions.has(input.conn)) sessionData(input.conn, atob(input.bytes));
      else callData(input.conn, atob(input.bytes), false);
      break;
    case 'conn.closed':
      if (sessions.has(input.conn)) endSession(input.conn, false);
      else if (calls.has(input.conn)) callData(input.conn, '', true);
      break;
    case 'timer':
      timer(input.id);
      break;
    case 'command':
      command(input.command);
      break;
    case 'stop':
      // A graceful stop: the store is written through already, so there is nothing to save.
      break;
  }
  emit({ kind: 'end' });
  flush();
}

for (let line = readLine(); line !== undefined; line = readLine()) step(JSON.parse(line));
