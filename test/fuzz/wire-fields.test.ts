/**
 * Structure-aware corruption (src/core/wire-fields.ts, each protocol's `wireFields`): the field
 * maps name the right bytes, and an edit changes that field only, so the frame still decodes with
 * a wrong value (where a random byte mostly breaks the framing).
 */
import { describe, expect, it } from 'vitest';
import { editField, textFields } from '../../src/core/wire-fields.js';
import { applyAimed, aimedApplies } from '../../src/sim/aimed-fault.js';
import * as solec from '../../src/protocols/solec/wire.js';
import * as bester from '../../src/protocols/bester/wire.js';
import * as f140 from '../../src/protocols/f140/wire.js';
import * as fmtp from '../../src/protocols/fmtp/wire.js';
import * as ambrosia from '../../src/protocols/ambrosia/wire.js';

const bytes = (text: string) => new TextEncoder().encode(text);
const named = (fields: readonly { name: string }[], name: string) => {
  const field = fields.find((f) => f.name === name);
  if (field === undefined) throw new Error(`no field ${name}`);
  return field as Parameters<typeof editField>[1];
};

describe('wire fields', () => {
  const message = solec.encodeFrame({ type: 'message', id: 'abc', from: 'u1@s1', to: 'u2@s1', timeMs: 5, body: 'hi' });

  it('SOLEC: an edited id or time still decodes, with the new value; an edited length breaks the framing', () => {
    const fields = solec.wireFields(message);
    expect(fields.map((f) => f.name)).toEqual(['type', 'length', 'idLength', 'id', 'from', 'to', 'time']);
    const id = solec.decodeFrame(editField(message, named(fields, 'id'), 'inc'), 'client');
    expect(id.ok && id.value).toMatchObject({ type: 'message', id: 'ab+', body: 'hi' });
    const time = solec.decodeFrame(editField(message, named(fields, 'time'), 'inc'), 'client');
    expect(time.ok && time.value).toMatchObject({ timeMs: 6 });
    expect(solec.decodeFrame(editField(message, named(fields, 'length'), 'dec'), 'client').ok).toBe(false);
  });

  it('numbers wrap within their size; zero and max', () => {
    const fields = solec.wireFields(message);
    const type = named(fields, 'type');
    expect(editField(message, type, 'zero')[0]).toBe(0);
    expect(editField(message, type, 'max')[0]).toBe(0xff);
    expect(editField(editField(message, type, 'max'), type, 'inc')[0]).toBe(0);
  });

  it('Bester: the little-endian length prefix and JSON string values', () => {
    const frame = bester.encodeFrame({ type: 'x', id: 'q1' });
    const fields = bester.wireFields(frame);
    expect(fields.map((f) => f.name)).toEqual(['length', 'type', 'id']);
    const longer = editField(frame, named(fields, 'length'), 'inc');
    expect(longer[0]).toBe((frame[0] ?? 0) + 1);
    const edited = new TextDecoder().decode(editField(frame, named(fields, 'id'), 'dec').subarray(4));
    expect(JSON.parse(edited)).toEqual({ type: 'x', id: 'q-' });
  });

  it('F140, FMTP, Ambrosia: digits are edited as numbers (the length may change), text keeps its length', () => {
    const response = bytes('HTTP/1.1 200 OK\r\nContent-Length: 12\r\n\r\nresponse=abc');
    const fields = f140.wireFields(response);
    expect(fields.map((f) => f.name)).toEqual(['status', 'Content-Length', 'response']);
    expect(new TextDecoder().decode(editField(response, named(fields, 'Content-Length'), 'dec'))).toContain(
      'Content-Length: 11\r\n',
    );
    const block = bytes('TYPE: REQUEST\nFROM: a@b\nTRANSACTION: 9\nHOPS: 3\n\n');
    const hops = named(fmtp.wireFields(block), 'HOPS');
    expect(new TextDecoder().decode(editField(block, hops, 'inc'))).toContain('HOPS: 4\n');
    const xml = bytes(`<a xmlns='urn:xmpp:sm:3' h='9'/><message to='u@a' id="m1"/>`);
    expect(ambrosia.wireFields(xml).map((f) => f.name)).toEqual(['h', 'to', 'id']);
    expect(new TextDecoder().decode(editField(xml, named(ambrosia.wireFields(xml), 'h'), 'inc'))).toContain("h='10'");
    // The bind a gateway offers in its features is a field; a bind result's element is not.
    const features = bytes(
      `<stream:features><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'/><sm xmlns='urn:xmpp:sm:3'/></stream:features>`,
    );
    const bind = named(ambrosia.wireFields(features), 'bind');
    expect(new TextDecoder().decode(editField(features, bind, 'dec'))).toContain(
      "<bin- xmlns='urn:ietf:params:xml:ns:xmpp-bind'/>",
    );
    const result = bytes(
      `<iq type='result' id='b1'><bind xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>u@a/r</jid></bind></iq>`,
    );
    expect(ambrosia.wireFields(result).map((f) => f.name)).toEqual(['id']);
  });

  it('textFields reads byte offsets within a range', () => {
    const fields = textFields(bytes('xx id=7 id=8'), [{ name: 'id', pattern: /id=([0-9])/g, kind: 'digits' }], 3);
    expect(fields).toEqual([
      { name: 'id', offset: 6, size: 1, kind: 'digits' },
      { name: 'id', offset: 11, size: 1, kind: 'digits' },
    ]);
  });

  it('an aimed corrupt with a field applies only to a segment that has it, and says what it edited', () => {
    const fault = { mode: 'corrupt' as const, field: 'time', op: 'inc' as const };
    const success = solec.encodeFrame({ type: 'success' });
    expect(
      aimedApplies(
        fault,
        success,
        () => undefined,
        () => solec.wireFields(success),
      ),
    ).toBe(false);
    expect(
      aimedApplies(
        fault,
        message,
        () => undefined,
        () => solec.wireFields(message),
      ),
    ).toBe(true);
    const done = applyAimed(fault, message, () => solec.wireFields(message));
    expect(done.detail).toEqual({ field: 'time', op: 'inc', offset: 22 });
    const decoded = solec.decodeFrame(done.bytes, 'client');
    expect(decoded.ok && decoded.value).toMatchObject({ timeMs: 6 });
  });
});
