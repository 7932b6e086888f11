/**
 * The links of a very dense view (a fitted long trace: ten times more links than pixel rows) as
 * a raster, written pixel by pixel instead of stroked one path at a time.
 *
 * Each link is a line one CSS pixel thick. It is cut into horizontal spans, one per device pixel
 * row it crosses (a staircase, as Bresenham draws it: a link covers at least one pixel of every
 * row it crosses, and at least a line's thickness across); then each row is swept from left to
 * right once. Every link is drawn, none merged with another: a pixel takes each colour covering
 * it once, at a third of its opacity, composed in colour order, which is how the canvas drew the
 * same strokes batched by colour (one path per colour: overlaps within a colour do not add up).
 * Unlike those strokes there is no anti-aliasing: a span covers whole pixels.
 *
 * The cost is one pass over the links and one over the spans, then a fill per run of equal pixels:
 * a fitted 100,000-event trace rasterizes in a few milliseconds, where stroking its tens of
 * thousands of faint paths took a hundred and more. No DOM here: the caller puts the pixels on a
 * canvas.
 */

/** Opacity of one colour on a pixel. */
export const denseAlpha = 0.35;

/** `#rrggbb` as [r, g, b], or null for any other colour syntax. */
export function parseHexColor(color: string): [number, number, number] | null {
  const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color);
  return hex === null
    ? null
    : [parseInt(hex[1] as string, 16), parseInt(hex[2] as string, 16), parseInt(hex[3] as string, 16)];
}

/** Growable span columns: one set is shared by every raster drawn in one piece; a raster drawn in
 * slices (in idle time, with frames in between) takes its own. */
export class Spans {
  count = 0;
  row = new Int32Array(1 << 14);
  x1 = new Int32Array(1 << 14);
  x2 = new Int32Array(1 << 14);
  color = new Int32Array(1 << 14);
  /** A row's sweep keys (see `DenseRaster.finish`). */
  keys = new Int32Array(256);

  push(row: number, x1: number, x2: number, color: number): void {
    if (this.count === this.row.length) {
      const grow = (old: Int32Array<ArrayBuffer>): Int32Array<ArrayBuffer> => {
        const grown = new Int32Array(old.length * 2);
        grown.set(old);
        return grown;
      };
      this.row = grow(this.row);
      this.x1 = grow(this.x1);
      this.x2 = grow(this.x2);
      this.color = grow(this.color);
    }
    const at = this.count++;
    this.row[at] = row;
    this.x1[at] = x1;
    this.x2[at] = x2;
    this.color[at] = color;
  }
}

/** One set of span columns for every raster: grown once, then reused from frame to frame. */
const spans = new Spans();

/**
 * Rasterizes lines into an RGBA image of `width` × `height` device pixels (transparent where no
 * line is): `line` once per line, then `finish`. Lines are given in device pixels, `thickness`
 * pixels thick (the device pixel ratio, for lines one CSS pixel thick).
 */
export class DenseRaster {
  private readonly spans: Spans;
  private readonly rgb: [number, number, number][];
  private readonly thickness: number;

  /** Throws when a colour is not `#rrggbb` (see `parseHexColor`): the caller strokes instead. */
  constructor(
    readonly width: number,
    readonly height: number,
    colors: readonly string[],
    thickness: number,
    ownSpans?: Spans,
  ) {
    this.spans = ownSpans ?? spans;
    this.rgb = colors.map((color) => {
      const rgb = parseHexColor(color);
      if (rgb === null) throw new Error(`not a #rrggbb colour: ${color}`);
      return rgb;
    });
    this.thickness = Math.max(1, Math.round(thickness));
    this.active = new Int32Array(colors.length);
    this.spans.count = 0;
  }

  /** A line from (xa, ya) to (xb, yb), device pixels, in colour `color` (an index into the colours). */
  line(xa: number, ya: number, xb: number, yb: number, color: number): void {
    if (ya > yb) {
      const x = xa;
      xa = xb;
      xb = x;
      const y = ya;
      ya = yb;
      yb = y;
    }
    const thickness = this.thickness;
    const half = thickness / 2;
    const rowFirst = Math.max(0, Math.floor(ya + 0.5 - half));
    const rowLast = Math.min(this.height - 1, Math.max(Math.floor(ya + 0.5 - half), Math.floor(yb - 0.5 + half)));
    const dy = yb - ya;
    const flat = dy < 1e-9;
    const left = Math.min(xa, xb);
    const right = Math.max(xa, xb);
    for (let row = rowFirst; row <= rowLast; row++) {
      let x1 = left;
      let x2 = right;
      if (!flat) {
        // The part of the line whose y lies in this row's band (a row is `thickness` tall around its centre).
        let low = Math.max(ya, row + 0.5 - half);
        let high = Math.min(yb, row + 0.5 + half);
        if (low > high) low = high = Math.min(yb, Math.max(ya, row + 0.5));
        const slope = (xb - xa) / dy;
        const xl = xa + slope * (low - ya);
        const xh = xa + slope * (high - ya);
        x1 = Math.min(xl, xh);
        x2 = Math.max(xl, xh);
      }
      let start = Math.floor(x1);
      let end = Math.ceil(x2);
      if (end - start < thickness) {
        start = Math.floor((x1 + x2) / 2 + 0.5 - half);
        end = start + thickness;
      }
      if (start < 0) start = 0;
      if (end > this.width) end = this.width;
      if (start < end) this.spans.push(row, start, end, color);
    }
  }

  /** The image being swept (set by `start`). */
  private image: Uint8ClampedArray<ArrayBuffer> = new Uint8ClampedArray(0);
  private words: Uint32Array = new Uint32Array(0);
  /** Span index by row: row r's spans are `order[perRow[r]]` up to `order[perRow[r + 1]]`. */
  private perRow: Int32Array = new Int32Array(0);
  private order: Int32Array = new Int32Array(0);
  /** The colour of each set of covering colours, as an RGBA word, by bit mask (0: not composed yet). */
  private cacheSmall: Uint32Array = new Uint32Array(0);
  private readonly hashMasks = new Int32Array(4096);
  private readonly hashWords = new Uint32Array(4096);
  private hashed = 0;
  private readonly active: Int32Array;

  /**
   * The image: each row's spans sorted by where they start and end, then swept once, each run of
   * pixels between two span ends filled with the colours covering it, composed over transparent.
   * `pixels` is reused when it has the right size. The same as `start`, then `rows` over every row.
   */
  finish(pixels?: Uint8ClampedArray<ArrayBuffer>): Uint8ClampedArray<ArrayBuffer> {
    this.start(pixels);
    this.rows(0, this.height);
    return this.result();
  }

  /**
   * Ends the lines and readies the sweep (`rows`), into `pixels` when it has the right size: the
   * image is cleared and the spans ordered by row. `finish` in pieces: `start`, then `rows` over
   * consecutive ranges of rows (in idle time, a slice each), then `image`.
   */
  start(pixels?: Uint8ClampedArray<ArrayBuffer>): void {
    const { width, height, spans } = this;
    const size = width * height * 4;
    const image = pixels !== undefined && pixels.length === size ? pixels : new Uint8ClampedArray(size);
    this.image = image;
    this.words = new Uint32Array(image.buffer, image.byteOffset, width * height);
    this.words.fill(0);
    // Spans by row (a counting sort).
    const perRow = new Int32Array(height + 1);
    for (let span = 0; span < spans.count; span++) {
      const row = (spans.row[span] as number) + 1;
      perRow[row] = (perRow[row] as number) + 1;
    }
    for (let row = 0; row < height; row++) perRow[row + 1] = (perRow[row + 1] as number) + (perRow[row] as number);
    const next = perRow.slice(0, height);
    const order = new Int32Array(spans.count);
    for (let span = 0; span < spans.count; span++) {
      const row = spans.row[span] as number;
      const at = next[row] as number;
      next[row] = at + 1;
      order[at] = span;
    }
    this.perRow = perRow;
    this.order = order;
    if (this.cacheSmall.length === 0 && this.rgb.length <= 16) this.cacheSmall = new Uint32Array(1 << this.rgb.length);
  }

  /** The image, once `rows` has swept every row. Forgets the spans. */
  result(): Uint8ClampedArray<ArrayBuffer> {
    this.spans.count = 0;
    return this.image;
  }

  /** Sweeps rows `from` to `to` (exclusive) of the image `start` readied. */
  rows(from: number, to: number): void {
    const { width, spans, perRow, order, words, active, cacheSmall, hashMasks, hashWords } = this;
    const hashMask = hashMasks.length - 1;
    const hashShift = 32 - Math.log2(hashMasks.length);
    let lastMask = -1;
    let lastWord = 0;
    // Sweep keys, integers: x in the high bits, then the colour, then 1 for a start and 0 for an end.
    const colorCount = this.rgb.length;
    const shift = Math.max(1, Math.ceil(Math.log2(colorCount + 1))) + 1;
    // The set of colours covering a pixel as a bit mask, its colour cached per mask: in an array
    // for up to 16 colours, in a hash table for up to 30.
    const small = colorCount <= 16;
    const masked = colorCount <= 30;
    let keys = spans.keys;
    for (let row = from; row < to; row++) {
      const first = perRow[row] as number;
      const last = perRow[row + 1] as number;
      if (first === last) continue;
      const count = (last - first) * 2;
      if (keys.length < count) spans.keys = keys = new Int32Array(count * 2);
      for (let at = first, key = 0; at < last; at++) {
        const span = order[at] as number;
        const color = (spans.color[span] as number) << 1;
        keys[key++] = ((spans.x1[span] as number) << shift) | color | 1;
        keys[key++] = ((spans.x2[span] as number) << shift) | color;
      }
      const sorted = keys.subarray(0, count).sort();
      const base = row * width;
      let x = 0;
      let covering = 0;
      let mask = 0;
      let word = 0;
      for (let at = 0; at < count;) {
        const x0 = (sorted[at] as number) >> shift;
        if (covering > 0) {
          if (x0 - x > 32) words.fill(word, base + x, base + x0);
          else for (let pixel = base + x; pixel < base + x0; pixel++) words[pixel] = word;
        }
        // Every start and end at this x, then the colour of what covers the pixels after it.
        let key = sorted[at] as number;
        while (key >> shift === x0) {
          const color = (key & ((1 << shift) - 1)) >> 1;
          const was = active[color] as number;
          const now = (key & 1) === 1 ? was + 1 : was - 1;
          active[color] = now;
          covering += (key & 1) === 1 ? 1 : -1;
          if ((was === 0) !== (now === 0)) mask ^= 1 << (color & 31);
          if (++at === count) break;
          key = sorted[at] as number;
        }
        x = x0;
        if (covering === 0) word = 0;
        else if (small) {
          word = cacheSmall[mask] as number;
          if (word === 0) cacheSmall[mask] = word = this.compose(active);
        } else if (masked) {
          if (mask !== lastMask) {
            // Open addressing on the mask's hash; a mask is stored plus one (0: an empty slot).
            let slot = Math.imul(mask, 0x9e3779b1) >>> hashShift;
            while ((hashMasks[slot] as number) !== 0 && (hashMasks[slot] as number) !== mask + 1)
              slot = (slot + 1) & hashMask;
            if ((hashMasks[slot] as number) === 0) {
              hashMasks[slot] = mask + 1;
              hashWords[slot] = this.compose(active);
              this.hashed += 1;
              if (this.hashed > hashMask >> 1) {
                hashMasks.fill(0); // Half full: start afresh (the word just composed stays in lastWord).
                this.hashed = 0;
              }
            }
            lastMask = mask;
            lastWord = hashWords[slot] as number;
          }
          word = lastWord;
        } else word = this.compose(active);
      }
    }
  }

  private readonly little = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

  /** The colours with a count in `active`, each at `denseAlpha`, composed in order over transparent, as one RGBA word. */
  private compose(active: Int32Array): number {
    let r = 0;
    let g = 0;
    let b = 0;
    let a = 0;
    const rgb = this.rgb;
    for (let color = 0; color < rgb.length; color++) {
      if ((active[color] as number) === 0) continue;
      const components = rgb[color] as [number, number, number];
      const out = denseAlpha + a * (1 - denseAlpha);
      r = (components[0] * denseAlpha + r * a * (1 - denseAlpha)) / out;
      g = (components[1] * denseAlpha + g * a * (1 - denseAlpha)) / out;
      b = (components[2] * denseAlpha + b * a * (1 - denseAlpha)) / out;
      a = out;
    }
    const R = Math.round(r);
    const G = Math.round(g);
    const B = Math.round(b);
    const A = Math.round(a * 255);
    return this.little ? (R | (G << 8) | (B << 16) | (A << 24)) >>> 0 : ((R << 24) | (G << 16) | (B << 8) | A) >>> 0;
  }
}
