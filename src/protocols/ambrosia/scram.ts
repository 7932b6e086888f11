/**
 * SASL SCRAM (RFC 5802) with SHA-1 and SHA-256 (RFC 7677), both sides, as pure functions: the
 * messages, their parsing, the proof and the server signature. Nonces come from the caller (the
 * node's seeded random stream), so a run stays reproducible; PBKDF2 and HMAC are node:crypto's
 * deterministic functions.
 *
 * Not done: SASLprep (RFC 4013) of user names and passwords (they are used as given, which is right
 * for ASCII), and channel binding (the `-PLUS` variants; a client asking for it with `p=` is refused).
 */
import { createHash, createHmac, pbkdf2Sync, timingSafeEqual } from 'node:crypto';

export type ScramMechanism = 'SCRAM-SHA-1' | 'SCRAM-SHA-256';
/** In the order the gateway offers and the client prefers them (RFC 7677 §4: SHA-256 first). */
export const scramMechanisms: readonly ScramMechanism[] = ['SCRAM-SHA-256', 'SCRAM-SHA-1'];
/** RFC 5802 §5.1, RFC 7677 §4: at least 4096 iterations. */
export const scramIterations = 4096;

export const isScramMechanism = (name: string | undefined): name is ScramMechanism =>
  name === 'SCRAM-SHA-1' || name === 'SCRAM-SHA-256';

const hashName = (mechanism: ScramMechanism) => (mechanism === 'SCRAM-SHA-1' ? 'sha1' : 'sha256');
const hashLength = (mechanism: ScramMechanism) => (mechanism === 'SCRAM-SHA-1' ? 20 : 32);

const hmac = (mechanism: ScramMechanism, key: Buffer, text: string) =>
  createHmac(hashName(mechanism), key).update(text, 'utf8').digest();
const hash = (mechanism: ScramMechanism, data: Buffer) => createHash(hashName(mechanism)).update(data).digest();
function xor(a: Buffer, b: Buffer): Buffer {
  const out = Buffer.allocUnsafe(a.length);
  for (let i = 0; i < a.length; i++) out[i] = a[i]! ^ (b[i] ?? 0);
  return out;
}

const b64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');

/** Decodes whole texts only (never `stream`), so it keeps nothing from one call to the next. */
const utf8 = new TextDecoder('utf-8', { fatal: true });

/** Strict base64 to UTF-8 text; undefined when it is not both. */
export function fromBase64(text: string): string | undefined {
  const trimmed = text.trim();
  if (!/^[A-Za-z0-9+/]*={0,2}$/.test(trimmed) || trimmed.length % 4 !== 0) return undefined;
  try {
    return utf8.decode(Buffer.from(trimmed, 'base64'));
  } catch {
    return undefined;
  }
}

/** RFC 5802 §5.1: `=2C` and `=3D` stand for `,` and `=` in a user name; any other `=` is malformed. */
function decodeName(text: string): string | undefined {
  if (/=(?!2C|3D)/.test(text)) return undefined;
  return text.replaceAll('=2C', ',').replaceAll('=3D', '=');
}
const encodeName = (name: string) => name.replaceAll('=', '=3D').replaceAll(',', '=2C');

/** `a=1,b=2` as a map of single-letter attributes, in order; undefined when an entry is not one. */
function attributes(text: string): Map<string, string> | undefined {
  const map = new Map<string, string>();
  for (const part of text.split(',')) {
    const match = /^([A-Za-z])=(.*)$/s.exec(part);
    if (!match || map.has(match[1] ?? '')) return undefined;
    map.set(match[1] ?? '', match[2] ?? '');
  }
  return map;
}

/** A printable nonce (RFC 5802 §7: printable ASCII except `,`). */
const isNonce = (text: string | undefined): text is string =>
  text !== undefined && /^[\x21-\x2b\x2d-\x7e]+$/.test(text);

/** A nonce from 32-bit draws of a seeded stream. */
export const nonceOf = (draws: readonly number[]) => draws.map((d) => d.toString(36).padStart(7, '0')).join('');

const salts = new Map<string, Buffer>();

/**
 * The salt the gateway uses for an account: derived from its JID (ours; stable, so no state to
 * keep). Remembered, as a pure function of the JID: the gateway asks for it once per guard it tries
 * on a `<response/>`. Callers must not modify the bytes.
 */
export function saltFor(jid: string): Buffer {
  let salt = salts.get(jid);
  if (salt === undefined) {
    salt = createHash('sha256').update(`ambrosia-scram:${jid}`).digest().subarray(0, 16);
    if (salts.size >= 1024) salts.clear();
    salts.set(jid, salt);
  }
  return salt;
}

interface Keys {
  readonly clientKey: Buffer;
  readonly storedKey: Buffer;
  readonly serverKey: Buffer;
}

const derived = new Map<string, Keys>();
/** The memo key of `keys`' arguments (all of them). */
const keysKey = (mechanism: ScramMechanism, password: string, salt: Buffer, iterations: number) =>
  `${mechanism}\u0000${salt.toString('base64')}\u0000${iterations}\u0000${password}`;

/**
 * PBKDF2 (RFC 5802 §2.2 Hi) and the keys made from it: pure functions of the mechanism, password,
 * salt and iterations (`key`: `keysKey` of them), memoised, since a run logs the same accounts in
 * again and again (both sides: the client for its proof, the gateway to check it). The buffers are
 * only read.
 */
function keys(key: string, mechanism: ScramMechanism, password: string, salt: Buffer, iterations: number): Keys {
  let value = derived.get(key);
  if (!value) {
    const salted = pbkdf2Sync(password, salt, iterations, hashLength(mechanism), hashName(mechanism));
    const clientKey = hmac(mechanism, salted, 'Client Key');
    value = { clientKey, storedKey: hash(mechanism, clientKey), serverKey: hmac(mechanism, salted, 'Server Key') };
    if (derived.size > 1024) derived.clear();
    derived.set(key, value);
  }
  return value;
}

interface Signatures {
  readonly keys: Keys;
  /** ClientSignature: HMAC(StoredKey, AuthMessage). */
  readonly client: Buffer;
  /** ServerSignature: HMAC(ServerKey, AuthMessage). */
  readonly server: Buffer;
}

const signed = new Map<string, Signatures>();
/**
 * The keys and both signatures of one exchange (RFC 5802 §3): pure functions of the keys' inputs
 * and the AuthMessage, memoised with all of them as the key, since both sides compute the same two
 * HMACs (the client for its proof and the signature it expects, the gateway to check the proof and
 * to sign). The buffers are only read.
 */
function signatures(
  mechanism: ScramMechanism,
  password: string,
  salt: Buffer,
  iterations: number,
  authMessage: string,
): Signatures {
  const forKeys = keysKey(mechanism, password, salt, iterations);
  // The keys' part is counted, so that no password and AuthMessage pair can pass for another.
  const key = `${forKeys.length}\u0000${forKeys}${authMessage}`;
  let value = signed.get(key);
  if (!value) {
    const made = keys(forKeys, mechanism, password, salt, iterations);
    value = {
      keys: made,
      client: hmac(mechanism, made.storedKey, authMessage),
      server: hmac(mechanism, made.serverKey, authMessage),
    };
    if (signed.size > 1024) signed.clear();
    signed.set(key, value);
  }
  return value;
}

// ---- server side ----

export interface ClientFirst {
  readonly gs2Header: string;
  readonly user: string;
  readonly clientNonce: string;
  readonly bare: string;
}

/**
 * The last answer of `parseClientFirst`, with its argument: it is pure, and the gateway's guards
 * ask it up to five times for one `<auth/>` (each outcome they test, and the user name of each).
 */
let lastClientFirst: { base64: string; first: ClientFirst | undefined } | undefined;

/** Parses the client-first-message (RFC 5802 §7); undefined when malformed or when it asks for channel binding. */
export function parseClientFirst(base64: string): ClientFirst | undefined {
  if (lastClientFirst?.base64 === base64) return lastClientFirst.first;
  const first = parseClientFirstOf(base64);
  lastClientFirst = { base64, first };
  return first;
}

function parseClientFirstOf(base64: string): ClientFirst | undefined {
  const text = fromBase64(base64);
  const match = text === undefined ? null : /^([ny]),(a=[^,]*)?,(.*)$/s.exec(text);
  if (!match) return undefined;
  const bare = match[3] ?? '';
  const attrs = attributes(bare);
  const user = decodeName(attrs?.get('n') ?? '');
  const clientNonce = attrs?.get('r');
  if (!attrs || attrs.has('m') || !user || !isNonce(clientNonce)) return undefined;
  return { gs2Header: `${match[1]},${match[2] ?? ''},`, user, clientNonce, bare };
}

export interface ServerExchange {
  readonly mechanism: ScramMechanism;
  readonly clientFirst: ClientFirst;
  readonly nonce: string;
  readonly serverFirst: string;
}

/** The server-first-message (RFC 5802 §7), base64 for the `<challenge/>`. */
export function serverFirst(
  mechanism: ScramMechanism,
  clientFirst: ClientFirst,
  serverNonce: string,
  salt: Buffer,
): ServerExchange {
  const nonce = clientFirst.clientNonce + serverNonce;
  return {
    mechanism,
    clientFirst,
    nonce,
    serverFirst: `r=${nonce},s=${salt.toString('base64')},i=${scramIterations}`,
  };
}

export const challengeOf = (exchange: ServerExchange) => b64(exchange.serverFirst);

export type ClientFinalCheck =
  | { readonly outcome: 'malformed' }
  | { readonly outcome: 'bad-proof' }
  | { readonly outcome: 'ok'; readonly serverFinal: string };

/**
 * The last answer of `checkClientFinal` and `clientFinal`, with their arguments: both are pure, and
 * the statecharts ask the same question twice in a row (a guard, then the action it lets run).
 */
let lastCheck:
  { exchange: ServerExchange; base64: string; password: string; salt: Buffer; check: ClientFinalCheck } | undefined;
let lastFinal:
  | { exchange: ClientExchange; challenge: string; password: string; final: ReturnType<typeof clientFinalOf> }
  | undefined;

/** Checks the client-final-message (RFC 5802 §3, §7) against the account's password. */
export function checkClientFinal(
  exchange: ServerExchange,
  base64: string,
  password: string,
  salt: Buffer,
): ClientFinalCheck {
  const last = lastCheck;
  if (last?.exchange === exchange && last.base64 === base64 && last.password === password && last.salt.equals(salt))
    return last.check;
  const check = checkClientFinalOf(exchange, base64, password, salt);
  lastCheck = { exchange, base64, password, salt, check };
  return check;
}

function checkClientFinalOf(
  exchange: ServerExchange,
  base64: string,
  password: string,
  salt: Buffer,
): ClientFinalCheck {
  const text = fromBase64(base64);
  const proofAt = text?.lastIndexOf(',p=') ?? -1;
  if (text === undefined || proofAt < 0) return { outcome: 'malformed' };
  const withoutProof = text.slice(0, proofAt);
  const attrs = attributes(withoutProof);
  const proof = Buffer.from(text.slice(proofAt + 3), 'base64');
  if (!attrs || attrs.get('r') !== exchange.nonce || attrs.get('c') !== b64(exchange.clientFirst.gs2Header)) {
    return { outcome: 'malformed' };
  }
  const { mechanism } = exchange;
  if (proof.length !== hashLength(mechanism)) return { outcome: 'bad-proof' };
  const authMessage = `${exchange.clientFirst.bare},${exchange.serverFirst},${withoutProof}`;
  const signature = signatures(mechanism, password, salt, scramIterations, authMessage);
  const { storedKey } = signature.keys;
  const clientKey = xor(proof, signature.client);
  // StoredKey is H(ClientKey) by its making: a proof that gives the account's ClientKey needs no hash.
  const given = clientKey.equals(signature.keys.clientKey) ? storedKey : hash(mechanism, clientKey);
  if (!timingSafeEqual(given, storedKey)) return { outcome: 'bad-proof' };
  return { outcome: 'ok', serverFinal: b64(`v=${signature.server.toString('base64')}`) };
}

// ---- client side ----

export interface ClientExchange {
  readonly mechanism: ScramMechanism;
  readonly bare: string;
  readonly clientNonce: string;
}

/** The client-first-message (no channel binding: `n,,`), and what the client keeps of it. */
export function clientFirst(mechanism: ScramMechanism, user: string, clientNonce: string) {
  const bare = `n=${encodeName(user)},r=${clientNonce}`;
  return { exchange: { mechanism, bare, clientNonce } as ClientExchange, message: b64(`n,,${bare}`) };
}

/** The client-final-message for a server-first-message, and the server signature to expect; undefined when the challenge is bad. */
export function clientFinal(
  exchange: ClientExchange,
  challenge: string,
  password: string,
): { readonly message: string; readonly serverFinal: string } | undefined {
  const last = lastFinal;
  if (last?.exchange === exchange && last.challenge === challenge && last.password === password) return last.final;
  const final = clientFinalOf(exchange, challenge, password);
  lastFinal = { exchange, challenge, password, final };
  return final;
}

function clientFinalOf(
  exchange: ClientExchange,
  challenge: string,
  password: string,
): { readonly message: string; readonly serverFinal: string } | undefined {
  const text = fromBase64(challenge);
  const attrs = text === undefined ? undefined : attributes(text);
  const nonce = attrs?.get('r');
  const salt = attrs?.get('s');
  const iterations = Number(attrs?.get('i'));
  if (!attrs || text === undefined || !isNonce(nonce) || !nonce.startsWith(exchange.clientNonce)) return undefined;
  if (nonce === exchange.clientNonce || !salt || !Number.isSafeInteger(iterations) || iterations < 1) return undefined;
  if (iterations > 100_000) return undefined;
  const { mechanism } = exchange;
  const withoutProof = `c=${b64('n,,')},r=${nonce}`;
  const authMessage = `${exchange.bare},${text},${withoutProof}`;
  const signature = signatures(mechanism, password, Buffer.from(salt, 'base64'), iterations, authMessage);
  const proof = xor(signature.keys.clientKey, signature.client);
  return {
    message: b64(`${withoutProof},p=${proof.toString('base64')}`),
    serverFinal: `v=${signature.server.toString('base64')}`,
  };
}
