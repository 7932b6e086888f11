// CPU time of F140's and FMTP's wire codecs, two compiled builds side by side (A/B), over the bytes
// real fuzz cases read: the chunks F140's request and response parsers and FMTP's block buffer are
// given in 100 steady-state cases (seeds 21 onwards) of build A are captured, then every round runs
// each build's parsers, form codec and encoders over exactly those inputs (5 passes), the order
// alternating between rounds. Prints per protocol the best and median µs per case of each build and
// the median of the per-round ratios B/A. The codecs are a few per cent of a case, so a change to
// them shows here where the whole-case A/B (scripts/fuzz-ab.mjs) is lost in a busy machine's noise.
//
// Usage: node scripts/codec-ab.mjs <build A> <build B> [rounds]
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const [dirA, dirB] = [process.argv[2], process.argv[3]];
if (dirA === undefined || dirB === undefined) {
  console.error('usage: node scripts/codec-ab.mjs <build A> <build B> [rounds]');
  process.exit(2);
}
const rounds = Number(process.argv[4] ?? 15);
const cases = 100;
const load = async (dir) => {
  const url = (path) => pathToFileURL(resolve(dir, path)).href;
  return {
    steadyFuzzRate: (await import(url('bench/fuzz.js'))).steadyFuzzRate,
    f140: await import(url('protocols/f140/wire.js')),
    fmtp: await import(url('protocols/fmtp/wire.js')),
  };
};
const a = await load(dirA);
const b = await load(dirB);

/** Records a copy of every chunk `cls.prototype.push` is given; returns the undo. */
function capture(cls, into) {
  const push = cls.prototype.push;
  cls.prototype.push = function (chunk) {
    into.push(chunk.slice());
    return push.call(this, chunk);
  };
  return () => {
    cls.prototype.push = push;
  };
}
const requests = [];
const responses = [];
const blocks = [];
const undo = [
  capture(a.f140.HttpRequestParser, requests),
  capture(a.f140.HttpResponseParser, responses),
  capture(a.fmtp.BlockBuffer, blocks),
];
a.steadyFuzzRate('f140', 0, cases, 21);
a.steadyFuzzRate('fmtp', 0, cases, 21);
for (const restore of undo) restore();
console.log(
  `per case: F140 ${requests.length / cases} request and ${responses.length / cases} response chunks, ` +
    `FMTP ${blocks.length / cases} chunks`,
);

/** Parses and re-encodes every captured F140 chunk; returns a count both builds must agree on. */
function f140Work(wire) {
  let n = 0;
  for (const chunk of requests) {
    const parsed = new wire.HttpRequestParser().push(chunk);
    if (!parsed.ok) continue;
    for (const request of parsed.value) {
      const form = wire.formOfRequest(request);
      if (form.ok) n += form.value.size + wire.encodeForm(form.value).length;
      n += wire.encodeRequest(request).length;
    }
  }
  for (const chunk of responses) {
    const parsed = new wire.HttpResponseParser().push(chunk);
    if (!parsed.ok || parsed.value === undefined) continue;
    const form = wire.formOfBody(parsed.value.body);
    if (form.ok) n += form.value.size;
    n += wire.encodeResponse(parsed.value).length;
  }
  return n;
}

/** Splits, decodes and re-encodes every captured FMTP chunk. */
function fmtpWork(wire) {
  let n = 0;
  for (const chunk of blocks) {
    const parsed = new wire.BlockBuffer().push(chunk);
    if (parsed.ok) for (const frame of parsed.value) n += wire.encodeFrame(frame).length;
  }
  return n;
}

/** µs of CPU per case for 5 passes of `work`, and what the passes returned. */
function timed(work, wire) {
  const before = process.cpuUsage();
  let out = 0;
  for (let pass = 0; pass < 5; pass++) out += work(wire);
  const used = process.cpuUsage(before);
  return { us: (used.user + used.system) / 5 / cases, out };
}

const median = (values) => [...values].sort((x, y) => x - y)[Math.floor(values.length / 2)];
for (const [protocol, work] of [
  ['f140', f140Work],
  ['fmtp', fmtpWork],
]) {
  for (let pass = 0; pass < 5; pass++) {
    work(a[protocol]);
    work(b[protocol]);
  }
  const usA = [];
  const usB = [];
  for (let round = 0; round < rounds; round++) {
    const [first, second] = round % 2 === 0 ? [a, b] : [b, a];
    const one = timed(work, first[protocol]);
    const two = timed(work, second[protocol]);
    if (one.out !== two.out)
      throw new Error(`${protocol}: the builds' codecs disagree (${one.out} against ${two.out})`);
    usA.push((first === a ? one : two).us);
    usB.push((first === a ? two : one).us);
  }
  const ratios = usA.map((x, k) => usB[k] / x);
  console.log(
    `${protocol.padEnd(5)} codec µs/case A best ${Math.min(...usA).toFixed(1)} median ${median(usA).toFixed(1)} | ` +
      `B best ${Math.min(...usB).toFixed(1)} median ${median(usB).toFixed(1)} | B/A median ${median(ratios).toFixed(3)}`,
  );
}
