/**
 * The write outputs every Ambrosia machine emits: a text on a connection, with its decoded form for
 * the trace. Shared by the statecharts in this folder; no logic of its own.
 */
import type { NodeOutput } from '../../protocol.js';
import { toBytes, writeElement, type XmlElement } from '../wire.js';

export function write(conn: string, text: string, decoded: string = text): NodeOutput {
  return { kind: 'write', conn, bytes: toBytes(text), decoded };
}

export function writeElements(conn: string, elements: readonly XmlElement[]): NodeOutput {
  const text = elements.map(writeElement).join('');
  return write(conn, text);
}
