/**
 * Every protocol decoder fedsim has, by name, in one list for the shared decoder fuzz harness
 * (test/fuzz/decoders.test.ts). Each entry takes arbitrary bytes, as a peer could send them, and
 * must return (a value or a typed wire error) without throwing; streaming decoders are fed the
 * bytes in two chunks split at `split`, so that their buffering is exercised too.
 *
 * Must not: decide what a decoder should return; the harness only asks that it returns, in time.
 */
import * as ambrosiaWire from '../protocols/ambrosia/wire.js';
import * as besterWire from '../protocols/bester/wire.js';
import * as echoWire from '../protocols/echo/wire.js';
import * as f140Wire from '../protocols/f140/wire.js';
import * as fmtpWire from '../protocols/fmtp/wire.js';
import * as solecWire from '../protocols/solec/wire.js';

export interface DecoderEntry {
  readonly name: string;
  readonly protocol: string;
  /** Feeds `bytes` to the decoder; `split` (0..length) cuts them in two chunks for streaming ones. */
  decode(bytes: Uint8Array, split: number): unknown;
}

function chunks(bytes: Uint8Array, split: number): [Uint8Array, Uint8Array] {
  const at = Math.max(0, Math.min(bytes.length, split));
  return [bytes.subarray(0, at), bytes.subarray(at)];
}

const utf8 = new TextDecoder('utf-8', { fatal: false });

export const decoders: readonly DecoderEntry[] = [
  { name: 'fmtp.decodeFrame', protocol: 'fmtp', decode: (bytes) => fmtpWire.decodeFrame(bytes) },
  {
    name: 'fmtp.BlockBuffer',
    protocol: 'fmtp',
    decode: (bytes, split) => {
      const buffer = new fmtpWire.BlockBuffer();
      return chunks(bytes, split).map((chunk) => buffer.push(chunk));
    },
  },
  {
    name: 'f140.HttpRequestParser',
    protocol: 'f140',
    decode: (bytes, split) => {
      const parser = new f140Wire.HttpRequestParser();
      return chunks(bytes, split).map((chunk) => {
        const result = parser.push(chunk);
        // The node reads each request's form too: that is decoding peer input as well.
        if (result.ok) return result.value.map((request) => f140Wire.formOfRequest(request));
        return result;
      });
    },
  },
  {
    name: 'f140.HttpResponseParser',
    protocol: 'f140',
    decode: (bytes, split) => {
      const parser = new f140Wire.HttpResponseParser();
      const pushed = chunks(bytes, split).map((chunk) => parser.push(chunk));
      const finished = parser.finish();
      return [pushed, finished.ok ? f140Wire.formOfBody(finished.value.body) : finished];
    },
  },
  {
    name: 'f140.decodeBasicMessage',
    protocol: 'f140',
    decode: (bytes) => f140Wire.decodeBasicMessage(utf8.decode(bytes)),
  },
  { name: 'solec.decodeFrame(client)', protocol: 'solec', decode: (bytes) => solecWire.decodeFrame(bytes, 'client') },
  { name: 'solec.decodeFrame(server)', protocol: 'solec', decode: (bytes) => solecWire.decodeFrame(bytes, 'server') },
  {
    name: 'solec.FrameDecoder',
    protocol: 'solec',
    decode: (bytes, split) => {
      const decoder = new solecWire.FrameDecoder();
      return chunks(bytes, split).map((chunk) => decoder.push(chunk));
    },
  },
  {
    name: 'bester.FrameDecoder+parse',
    protocol: 'bester',
    decode: (bytes, split) => {
      const decoder = new besterWire.FrameDecoder();
      return chunks(bytes, split).map((chunk) => {
        const frames = decoder.push(chunk);
        if (!frames.ok) return frames;
        return frames.value.map((body) => {
          const json = besterWire.parseJson(body);
          if (!json.ok) return json;
          return [
            besterWire.parseFirstMessage(json.value),
            besterWire.parseClientMessage(json.value),
            besterWire.parseHandlerReply(json.value),
            besterWire.parseInformerRequest(json.value),
            besterWire.parseServerToClient(json.value),
          ];
        });
      });
    },
  },
  {
    name: 'ambrosia.XmlStreamParser',
    protocol: 'ambrosia',
    decode: (bytes, split) => {
      const parser = new ambrosiaWire.XmlStreamParser();
      return chunks(bytes, split).map((chunk) => parser.push(chunk));
    },
  },
  { name: 'echo.decodeLine', protocol: 'echo', decode: (bytes) => echoWire.decodeLine(bytes) },
];
