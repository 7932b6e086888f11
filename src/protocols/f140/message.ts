/**
 * The F140 basic XML payload codec (see ./spec.md §3): `<msg kind="basic"><text>...</text></msg>`,
 * and the length of a text under the 140-character rule. Pure, and its decoder never throws on peer
 * bytes: every failure is a `WireError` inside a Result.
 */
import { WireError } from '../../core/errors.js';
import { err, ok, type Result } from '../../core/result.js';

export interface BasicMessage {
  readonly kind: 'basic';
  readonly text: string;
}

function escapeXml(text: string): string {
  return text.replace(
    /[&<>"']/g,
    (char) => `&${{ '&': 'amp', '<': 'lt', '>': 'gt', '"': 'quot', "'": 'apos' }[char]};`,
  );
}

const namedEntities: Readonly<Record<string, string>> = { amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" };

function unescapeXml(text: string): Result<string, WireError> {
  if (text.includes('<')) return err(new WireError('xml.text.invalid', 'raw < inside <text>'));
  let failure: WireError | undefined;
  const out = text.replace(/&([^;&]{0,10});?/g, (whole, body: string) => {
    if (!whole.endsWith(';')) failure ??= new WireError('xml.entity.invalid', `unterminated entity ${whole}`);
    const named = namedEntities[body];
    if (named !== undefined) return named;
    const numeric = /^#(?:x([0-9A-Fa-f]{1,6})|([0-9]{1,7}))$/.exec(body);
    const code = numeric ? (numeric[1] !== undefined ? parseInt(numeric[1], 16) : Number(numeric[2])) : -1;
    const allowed = code === 0x9 || code === 0xa || code === 0xd || (code >= 0x20 && code <= 0x10ffff);
    if (!allowed || (code >= 0xd800 && code <= 0xdfff)) {
      failure ??= new WireError('xml.entity.invalid', `unknown or invalid entity ${whole}`);
      return '';
    }
    return String.fromCodePoint(code);
  });
  return failure ? err(failure) : ok(out);
}

export function encodeBasicMessage(text: string): string {
  return `<msg kind="basic"><text>${escapeXml(text)}</text></msg>`;
}

/**
 * Decodes the basic payload. Whitespace between elements and an XML declaration are allowed; the
 * text is kept exactly (entities resolved). Any other element, attribute or kind is an error.
 */
export function decodeBasicMessage(xml: string): Result<BasicMessage, WireError> {
  const match =
    /^\s*(?:<\?xml[^?]*\?>\s*)?<msg\s+kind\s*=\s*(?:"([^"]*)"|'([^']*)')\s*>\s*(?:<text>([^]*?)<\/text>|<text\s*\/>)\s*<\/msg>\s*$/.exec(
      xml,
    );
  if (!match) {
    if (/^\s*(?:<\?xml[^?]*\?>\s*)?<msg\b/.test(xml)) {
      return err(new WireError('xml.invalid', 'not a well-formed <msg kind="..."><text>...</text></msg>'));
    }
    return err(new WireError('xml.not-msg', 'the message is not a <msg> document'));
  }
  const kind = match[1] ?? match[2] ?? '';
  if (kind !== 'basic')
    return err(new WireError('xml.kind.unsupported', `message kind ${JSON.stringify(kind)} is not supported`));
  const text = unescapeXml(match[3] ?? '');
  if (!text.ok) return text;
  return ok({ kind: 'basic', text: text.value });
}

/** Length under the 140-character rule: Unicode code points (ours, spec.md §3.4). */
export function textLength(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}
