/**
 * Draws one frame of the sequence diagram through a Painter: fault spans, violation bands,
 * lanes, the links on screen (message arrows, connection attempts, DNS queries), the event
 * glyphs and labels of the rows on screen, the time gutter and the lane header.
 *
 * Only what is on screen is visited: rows by binary search on the layout, links from the first
 * one that can reach the top of the screen. When rows are thinner than a few pixels, labels and
 * glyphs give way to plain strokes, batched by colour. No DOM access and no state: the caller
 * owns the transform and the selection.
 */
import type { TraceEvent } from '../src/trace/events.js';
import { DenseRaster, Spans, parseHexColor } from './density.js';
import { rowAtOrAfter } from './layout.js';
import type { Layout } from './layout.js';
import type { Link, Model } from './model.js';
import type { Painter } from './painter.js';

export interface Frame {
  readonly model: Model;
  readonly layout: Layout;
  /** CSS pixels. */
  readonly width: number;
  readonly height: number;
  readonly headerPx: number;
  readonly gutterPx: number;
  /** Vertical zoom transform: screen y = headerPx + ty + k * yBase. */
  readonly ty: number;
  readonly k: number;
  /** Selected event index, or -1. */
  readonly selected: number;
  /** Selected link index, or -1. */
  readonly selectedLink: number;
  readonly matches: ReadonlySet<number> | null;
}

export type Hit =
  | {
      readonly kind: 'link';
      readonly link: number;
      readonly x1: number;
      readonly y1: number;
      readonly x2: number;
      readonly y2: number;
    }
  | { readonly kind: 'event'; readonly index: number; readonly x: number; readonly y: number };

export interface FrameStats {
  /** Message arrows drawn (including drops, duplicates and in-flight stubs). */
  arrows: number;
  /** All links drawn: messages, connections, DNS. */
  links: number;
  stateLabels: number;
  /** Event glyphs drawn. */
  glyphs: number;
  rowFirst: number;
  rowLast: number;
  dense: boolean;
  hits: Hit[];
  /** Every label drawn, with its box: for the hover title and the overlap test. */
  labels: PlacedLabel[];
}

const faultFill: Readonly<Record<string, string>> = {
  partition: 'rgba(255, 152, 0, 0.13)',
  clog: 'rgba(33, 113, 181, 0.11)',
  crash: 'rgba(214, 39, 40, 0.10)',
};
const violationRed = '#d62728';
const hitsMax = 60_000; // Beyond this a click picks among the first ones; a frame that dense is an overview anyway.
/** Where rows are thinner than a pixel and a half, a click can pick among the first links only (a hit object each costs a fitted frame more than its drawing). */
const denseHitsMax = 5_000;

/** Lane x positions (NaN for hidden lanes). */
export function laneXs(frame: Pick<Frame, 'model' | 'layout' | 'width' | 'gutterPx'>): number[] {
  const visible = frame.model.lanes.map((_, index) => index).filter((index) => frame.layout.laneVisible[index]);
  const xs = frame.model.lanes.map(() => Number.NaN);
  const usable = frame.width - frame.gutterPx - 24;
  const step = usable / Math.max(visible.length, 1);
  visible.forEach((lane, position) => (xs[lane] = frame.gutterPx + step * (position + 0.5) - step * 0.12));
  return xs;
}

function formatMs(ms: number): string {
  return ms >= 10_000 ? `${(ms / 1000).toFixed(ms >= 100_000 ? 0 : 1)} s` : `${ms} ms`;
}

function shortMachine(machine: string, protocol: string): string {
  return machine.startsWith(`${protocol}.`) ? machine.slice(protocol.length + 1) : machine;
}

function truncate(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

/** A user command in a few words: its type, where to, and its text in quotes (`send → lost@lenore.org "Quoth the raven"`). */
function commandLabel(command: unknown): string {
  if (typeof command === 'object' && command !== null) {
    const record = command as Record<string, unknown>;
    const plain = (value: unknown): value is string | number => typeof value === 'string' || typeof value === 'number';
    const words: string[] = [];
    if (plain(record['type'])) words.push(String(record['type']));
    if (plain(record['to'])) words.push(`→ ${record['to']}`);
    for (const [key, value] of Object.entries(record))
      if (!['type', 'to', 'from', 'body', 'text'].includes(key) && plain(value)) words.push(String(value));
    const body = record['body'] ?? record['text'];
    if (plain(body)) words.push(`"${body}"`);
    return truncate(words.join(' '), 96);
  }
  return truncate(JSON.stringify(command) ?? '', 48);
}

/** Arrowhead at (x2, y2) pointing away from (x1, y1). */
function pushHead(out: number[], x1: number, y1: number, x2: number, y2: number, length: number): void {
  const dx = x2 - x1;
  const dy = y2 - y1;
  const norm = Math.hypot(dx, dy) || 1;
  const ux = dx / norm;
  const uy = dy / norm;
  const baseX = x2 - ux * length;
  const baseY = y2 - uy * length;
  const half = length * 0.42;
  out.push(x2, y2, baseX - uy * half, baseY + ux * half, baseX + uy * half, baseY - ux * half);
}

function pushCross(out: number[], x: number, y: number, size: number): void {
  out.push(x - size, y - size, x + size, y + size, x - size, y + size, x + size, y - size);
}

class Batches {
  readonly strokes = new Map<string, { color: string; width: number; dash: readonly number[]; points: number[] }>();
  readonly heads = new Map<string, number[]>();

  stroke(color: string, width: number, dash: readonly number[]): number[] {
    const key = `${color}|${width}|${dash.join(',')}`;
    let batch = this.strokes.get(key);
    if (batch === undefined) {
      batch = { color, width, dash, points: [] };
      this.strokes.set(key, batch);
    }
    return batch.points;
  }

  head(color: string): number[] {
    let points = this.heads.get(color);
    if (points === undefined) {
      points = [];
      this.heads.set(color, points);
    }
    return points;
  }

  flush(painter: Painter): void {
    for (const batch of this.strokes.values()) painter.segments(batch.points, batch.color, batch.width, batch.dash);
    for (const [color, points] of this.heads) painter.triangles(points, color);
    this.strokes.clear();
    this.heads.clear();
  }
}

/** What a label says and where it would like to sit. */
export interface LabelSpec {
  readonly text: string;
  /** Anchor: the left end, centre or right end of the text, at its vertical middle. */
  readonly x: number;
  readonly y: number;
  readonly align: 'left' | 'center' | 'right';
  /** Wider text is cut with an ellipsis to fit (the full text stays in `PlacedLabel.text`). */
  readonly maxWidth: number;
  readonly size: number;
  readonly weight: 'normal' | 'bold';
  readonly color: string;
  readonly italic?: boolean;
  readonly box?: { readonly fill: string; readonly stroke: string };
  /** What the label belongs to, for the test hook's counts. */
  readonly kind?: 'state';
  /** For labels beside a lane: the room on the lane's left, tried when the right is taken or too narrow. */
  readonly left?: { readonly x: number; readonly maxWidth: number };
  /** For arrow labels: other places along this segment to try when the middle is taken. */
  readonly along?: { readonly x1: number; readonly y1: number; readonly x2: number; readonly y2: number };
}

/** A label as drawn: its box on screen and its full text (the hover title). */
export interface PlacedLabel {
  readonly x1: number;
  readonly y1: number;
  readonly x2: number;
  readonly y2: number;
  readonly text: string;
  readonly shown: string;
  readonly box: boolean;
  readonly kind?: 'state';
}

const bucketPx = 16;
const priorities = 6;

/**
 * Places labels so that none overlaps another: candidates are taken by priority (0 first:
 * violations, then refusals, drops, deliveries and commands, then message arrows, checks and
 * faults, states, and connection housekeeping last), each at its anchor or, for an arrow, at a
 * few other points along the arrow; a candidate that fits nowhere is left out. Text wider than
 * its room (the gap to the next lane, or the arrow's span) is ellipsized. A candidate is a
 * closure, so that the text of one that is never placed is never built: a fitted 100,000-event
 * trace offers tens of thousands of candidates and draws a few hundred.
 */
export class LabelPlacer {
  private readonly queues: (() => LabelSpec)[][] = Array.from({ length: priorities }, () => []);
  private readonly buckets = new Map<number, PlacedLabel[]>();

  /**
   * `spacing` pads each placed label's box vertically: 0 in a readable view, more in a dense one,
   * so that the labels kept there stand apart from each other over the strokes.
   */
  constructor(
    private readonly painter: Painter,
    private readonly left: number,
    private readonly width: number,
    private readonly spacing = 0,
    /** Candidates of a lower priority (a higher number) than this are dropped. */
    private readonly lowest = priorities - 1,
  ) {}

  candidate(priority: number, spec: () => LabelSpec): void {
    if (priority > this.lowest) return;
    this.queues[Math.min(priorities - 1, Math.max(0, priority))]?.push(spec);
  }

  private collides(x1: number, y1: number, x2: number, y2: number): boolean {
    const first = Math.floor(y1 / bucketPx) - 1;
    const last = Math.floor(y2 / bucketPx) + 1;
    for (let bucket = first; bucket <= last; bucket++) {
      const placed = this.buckets.get(bucket);
      if (placed === undefined) continue;
      for (const other of placed) if (x1 < other.x2 && other.x1 < x2 && y1 < other.y2 && other.y1 < y2) return true;
    }
    return false;
  }

  private occupied(x: number, y: number): boolean {
    return this.collides(x - 1, y - 1, x + 1, y + 1);
  }

  private fit(text: string, spec: LabelSpec): { shown: string; width: number } {
    const full = this.painter.measure(text, spec.size, spec.weight);
    if (full <= spec.maxWidth) return { shown: text, width: full };
    if (spec.maxWidth < 14) return { shown: '', width: 0 };
    // Estimate from the average character width, then shorten until it fits.
    let length = Math.max(1, Math.floor((text.length * spec.maxWidth) / full) - 1);
    let shown = `${text.slice(0, length)}…`;
    let width = this.painter.measure(shown, spec.size, spec.weight);
    while (width > spec.maxWidth && length > 1) {
      length -= Math.max(1, Math.ceil(length / 8));
      shown = `${text.slice(0, length)}…`;
      width = this.painter.measure(shown, spec.size, spec.weight);
    }
    return width > spec.maxWidth ? { shown: '', width: 0 } : { shown, width };
  }

  /** Places every candidate it can, draws the placed ones, and returns them. */
  place(top: number, bottom: number): PlacedLabel[] {
    const placedAll: PlacedLabel[] = [];
    const drawn: { label: PlacedLabel; spec: LabelSpec; x: number; y: number }[] = [];
    // A budget of candidates looked at per frame: a dense frame offers tens of thousands, and the
    // room for labels is full long before the queue is through.
    let budget = 4000;
    for (const queue of this.queues) {
      for (const make of queue) {
        if (--budget < 0) break;
        const spec = make();
        const points: [number, number][] = [[spec.x, spec.y]];
        if (spec.along !== undefined) {
          const { x1, y1, x2, y2 } = spec.along;
          for (const t of [0.3, 0.7, 0.2, 0.8]) points.push([x1 + (x2 - x1) * t, y1 + (y2 - y1) * t]);
        }
        const half = spec.size / 2 + 2;
        const options: LabelSpec[] = [spec];
        if (spec.left !== undefined && spec.left.maxWidth > spec.maxWidth + 20) {
          const full = this.painter.measure(spec.text, spec.size, spec.weight);
          const alternative: LabelSpec = { ...spec, x: spec.left.x, align: 'right', maxWidth: spec.left.maxWidth };
          if (full > spec.maxWidth) options.unshift(alternative);
          else options.push(alternative);
        } else if (spec.left !== undefined) {
          options.push({ ...spec, x: spec.left.x, align: 'right', maxWidth: spec.left.maxWidth });
        }
        let done = false;
        for (const option of options) {
          if (done) break;
          done = this.tryPlace(
            option,
            option === spec ? points : [[option.x, option.y]],
            half,
            top,
            bottom,
            drawn,
            placedAll,
          );
        }
      }
    }
    this.drawAll(drawn);
    return placedAll;
  }

  private tryPlace(
    spec: LabelSpec,
    points: readonly (readonly [number, number])[],
    half: number,
    top: number,
    bottom: number,
    drawn: { label: PlacedLabel; spec: LabelSpec; x: number; y: number }[],
    placedAll: PlacedLabel[],
  ): boolean {
    {
      {
        for (const [x, y] of points) {
          if (y - half < top || y + half > bottom) continue;
          if (spec.align !== 'right' && this.occupied(spec.align === 'left' ? x + 2 : x, y)) continue;
          const { shown, width } = this.fit(spec.text, spec);
          if (shown === '') return false;
          const pad = spec.box === undefined ? 1 : 4;
          const x1 = (spec.align === 'left' ? x : spec.align === 'center' ? x - width / 2 : x - width) - pad;
          const x2 = x1 + width + 2 * pad;
          if (x1 < this.left || x2 > this.width) continue;
          const y1 = y - half;
          const y2 = y + half;
          if (this.collides(x1, y1 - this.spacing, x2, y2 + this.spacing)) continue;
          const label: PlacedLabel = {
            x1,
            y1,
            x2,
            y2,
            text: spec.text,
            shown,
            box: spec.box !== undefined,
            kind: spec.kind,
          };
          const bucket = Math.floor(y / bucketPx);
          let list = this.buckets.get(bucket);
          if (list === undefined) this.buckets.set(bucket, (list = []));
          list.push(label);
          placedAll.push(label);
          drawn.push({ label, spec, x, y });
          return true;
        }
      }
    }
    return false;
  }

  private drawAll(drawn: readonly { label: PlacedLabel; spec: LabelSpec; x: number; y: number }[]): void {
    for (const { label, spec, x, y } of drawn) {
      if (spec.box !== undefined)
        this.painter.rect(
          label.x1,
          label.y1,
          label.x2 - label.x1,
          label.y2 - label.y1,
          spec.box.fill,
          spec.box.stroke,
          4,
        );
      this.painter.text(spec.box === undefined ? x : spec.align === 'left' ? x : x, y, label.shown, {
        color: spec.color,
        size: spec.size,
        align: spec.align,
        weight: spec.weight,
        italic: spec.italic === true,
        halo: spec.box === undefined,
      });
    }
  }
}

/** The right end of the room a lane's labels have: just short of the next visible lane, or the edge. */
function laneRightEdges(xs: readonly number[], width: number): number[] {
  const order = xs
    .map((x, lane) => ({ x, lane }))
    .filter((entry) => !Number.isNaN(entry.x))
    .sort((a, b) => a.x - b.x);
  const right = xs.map(() => width - 8);
  order.forEach((entry, position) => {
    const next = order[position + 1];
    right[entry.lane] = next === undefined ? width - 8 : next.x - 8;
  });
  return right;
}

/** The left end of the room on a lane's left: just past the previous visible lane, or the gutter. */
function laneLeftEdges(xs: readonly number[], gutter: number): number[] {
  const order = xs
    .map((x, lane) => ({ x, lane }))
    .filter((entry) => !Number.isNaN(entry.x))
    .sort((a, b) => a.x - b.x);
  const leftEdges = xs.map(() => gutter + 8);
  order.forEach((entry, position) => {
    const previous = order[position - 1];
    leftEdges[entry.lane] = previous === undefined ? gutter + 8 : previous.x + 8;
  });
  return leftEdges;
}

/**
 * The links of a view whose rows are thinner than a pixel and a half (a fitted 100,000-event
 * trace has ten times more links than pixel rows): plain lines, no heads, no labels, no per-link
 * allocation but the hit list; drops keep a small cross. A canvas rasterizes them itself
 * (drawDenseLinksRaster); other painters stroke them (drawDenseLinksNow). The selected link is
 * drawn over them, thicker.
 */
function drawDenseLinks(
  frame: Frame,
  xs: readonly number[],
  first: number,
  baseTop: number,
  baseBottom: number,
  stats: FrameStats,
  painter: Painter,
): void {
  // The same view of the same layout draws the same lines: a canvas keeps them as a layer, with
  // what the frame counted, and draws the layer again while the view stays.
  if (painter.layer !== undefined) {
    const key = denseLayerKey(frame, xs, first);
    // The idle task was drawing this very layer: finish it rather than start again.
    if (pending !== null && pending.painter === painter && pending.key === key) runPending(pending, () => Infinity);
    let counts = denseCounts.get(painter);
    if (counts === undefined) denseCounts.set(painter, (counts = new Map()));
    const known = counts;
    const fresh = painter.layer(key, (layerPainter) =>
      known.set(key, drawDenseLayer(frame, xs, first, baseTop, baseBottom, stats, layerPainter)),
    );
    const counted = counts.get(key);
    if (counted !== undefined) {
      stats.arrows += counted.arrows;
      stats.links += counted.links;
      for (const hit of counted.hits) stats.hits.push(hit);
      while (counts.size > 4) counts.delete(counts.keys().next().value as string);
      drawSelectedDenseLink(frame, xs, baseTop, baseBottom, painter);
      return;
    }
    if (fresh) return; // Not reached: a fresh layer counted itself.
  }
  drawDenseLinksNow(frame, xs, first, baseTop, baseBottom, stats, painter);
  drawSelectedDenseLink(frame, xs, baseTop, baseBottom, painter);
}

/** A kept layer of dense links: the same for every frame with the same layout, size, lanes, zoom and first link. */
function denseLayerKey(frame: Frame, xs: readonly number[], first: number): string {
  return `${layoutId(frame.layout)} ${frame.width} ${frame.height} ${frame.headerPx} ${frame.ty} ${frame.k} ${first} ${xs.join(',')}`;
}

interface DenseCounts {
  readonly arrows: number;
  readonly links: number;
  readonly hits: Hit[];
}

/** Draws a layer of dense links on `painter` and returns what it counted (the caller's stats are left alone). */
function drawDenseLayer(
  frame: Frame,
  xs: readonly number[],
  first: number,
  baseTop: number,
  baseBottom: number,
  stats: FrameStats,
  painter: Painter,
): DenseCounts {
  const own: FrameStats = { ...stats, arrows: 0, links: 0, hits: [] };
  if (!drawDenseLinksRaster(frame, xs, first, baseTop, baseBottom, own, painter))
    drawDenseLinksNow(frame, xs, first, baseTop, baseBottom, own, painter);
  return { arrows: own.arrows, links: own.links, hits: own.hits };
}

/** The selected link over the dense ones, three pixels wide, when it is on screen. */
function drawSelectedDenseLink(
  frame: Frame,
  xs: readonly number[],
  baseTop: number,
  baseBottom: number,
  painter: Painter,
): void {
  const { model, layout, headerPx, ty, k } = frame;
  const link = model.links[frame.selectedLink];
  if (link === undefined) return;
  const fromRow = layout.rowOf[link.from] as number;
  const toRow = layout.rowOf[link.to] as number;
  if (fromRow < 0 || toRow < 0) return;
  const from = layout.yBase[fromRow] as number;
  const to = layout.yBase[toRow] as number;
  if (from > baseBottom + 1 || to < baseTop - 1) return;
  const xa = xs[link.fromLane] as number;
  const xb = xs[link.toLane] as number;
  if (Number.isNaN(xa) || Number.isNaN(xb)) return;
  const x2 =
    link.style === 'refuse'
      ? xb - Math.sign(xb - xa) * 10
      : link.ending === 'cross'
        ? xa + (xb - xa) * 0.72
        : link.ending === 'open'
          ? xa + (xb - xa) * 0.4
          : xb;
  painter.segments([xa, headerPx + ty + k * from, x2, headerPx + ty + k * to], link.color, 3);
}

/** A fresh, empty FrameStats. */
function emptyStats(): FrameStats {
  return {
    arrows: 0,
    links: 0,
    stateLabels: 0,
    glyphs: 0,
    rowFirst: 0,
    rowLast: -1,
    dense: false,
    hits: [],
    labels: [],
  };
}

/** The fitted view's layer being drawn in idle time, between two of its slices. */
interface Pending {
  readonly painter: Painter;
  readonly key: string;
  /** Null when its links are stroked (in one piece) rather than rasterized. */
  readonly job: DenseJob | null;
  readonly frame: Frame;
  readonly xs: readonly number[];
  readonly first: number;
  readonly baseTop: number;
  readonly baseBottom: number;
}
let pending: Pending | null = null;

/**
 * Draws, in idle time, the layer of dense links of `frame` (the fitted view) on a painter that
 * keeps layers, so that showing that view later draws the layer again at once. The work is done
 * in slices: each call works until `timeLeft()` (ms) falls under 1, and says `more` when it
 * stopped before the end (call again, with the same frame, to resume where it stopped; another
 * frame starts over). A frame that shows the same layer before it is done finishes it at once.
 * `none` when the frame is not dense enough to draw its links as a layer, or the painter keeps none.
 */
export function prepareFrame(
  frame: Frame,
  painter: Painter,
  timeLeft: () => number = () => Infinity,
): 'done' | 'more' | 'none' {
  if (painter.prepare === undefined) return 'none';
  const view = viewOf(frame);
  if (!view.veryDense) return 'none';
  const first = firstLinkReaching(frame, view.baseTop);
  const key = denseLayerKey(frame, view.xs, first);
  if (painter.hasLayer?.(key) === true) {
    painter.prepare(key, () => undefined); // Kept already: marks it as the prepared layer.
    if (pending?.painter === painter) pending = null;
    return 'done';
  }
  if (pending === null || pending.painter !== painter || pending.key !== key) {
    const { xs, baseTop, baseBottom } = view;
    const job = DenseJob.start(frame, xs, first, baseTop, baseBottom, painter, true);
    pending = { painter, key, job, frame, xs, first, baseTop, baseBottom };
  }
  return runPending(pending, timeLeft);
}

/** Works on `job` until `timeLeft()` runs out; when done, keeps its layer as the painter's prepared one. */
function runPending(job: Pending, timeLeft: () => number): 'done' | 'more' {
  if (job.job !== null && !job.job.step(timeLeft)) return 'more';
  if (pending === job) pending = null;
  const { painter, key, frame, xs, first, baseTop, baseBottom } = job;
  let counts = denseCounts.get(painter);
  if (counts === undefined) denseCounts.set(painter, (counts = new Map()));
  const known = counts;
  (painter.prepare as NonNullable<Painter['prepare']>)(key, (layerPainter) => {
    const own = emptyStats();
    if (job.job !== null) preparedPixels = job.job.draw(layerPainter, own);
    else drawDenseLinksNow(frame, xs, first, baseTop, baseBottom, own, layerPainter);
    known.set(key, { arrows: own.arrows, links: own.links, hits: own.hits });
  });
  return 'done';
}

/** Whether `prepareFrame` would find the frame's layer kept already (false for a frame drawn without one). */
export function framePrepared(frame: Frame, painter: Painter): boolean {
  if (painter.hasLayer === undefined) return false;
  const view = viewOf(frame);
  return view.veryDense && painter.hasLayer(denseLayerKey(frame, view.xs, firstLinkReaching(frame, view.baseTop)));
}

/** What each painter's kept layers of dense links counted when they were drawn, by layer key. */
const denseCounts = new WeakMap<Painter, Map<string, DenseCounts>>();
const layoutIds = new WeakMap<Layout, number>();
let layoutCount = 0;

function layoutId(layout: Layout): number {
  let id = layoutIds.get(layout);
  if (id === undefined) layoutIds.set(layout, (id = ++layoutCount));
  return id;
}

/** Larger layers (a PNG export of a whole long trace) are stroked: their pixels would take too much memory at once. */
const rasterPixelsMax = 16_000_000;
/** Below this many links on screen, stroking them is faster than rasterizing. */
const rasterLinksMin = 3000;
/** The last raster's pixels, reused by the next one of the same size. */
let rasterPixels: Uint8ClampedArray<ArrayBuffer> | undefined;

/**
 * drawDenseLinksNow's picture written as pixels (density.ts) rather than stroked: every link, one
 * CSS pixel thick, each pixel taking each colour covering it once at a third of its opacity, as the
 * strokes batched by colour did; then the drops' crosses and the lanes over it, stroked. Returns
 * false, having drawn nothing, when the painter takes no pixels, the layer is too large, or a
 * colour is not `#rrggbb`.
 */
function drawDenseLinksRaster(
  frame: Frame,
  xs: readonly number[],
  first: number,
  baseTop: number,
  baseBottom: number,
  stats: FrameStats,
  painter: Painter,
): boolean {
  const job = DenseJob.start(frame, xs, first, baseTop, baseBottom, painter, false);
  if (job === null) return false;
  job.step(() => Infinity);
  rasterPixels = job.draw(painter, stats);
  return true;
}

/**
 * A raster of dense links (drawDenseLinksRaster) drawn in steps: its lines a slice of links at a
 * time, then its rows a slice at a time, so that the idle task drawing the fitted view's layer
 * yields to input between slices; a frame drawn meanwhile rasterizes with its own spans and pixels.
 */
class DenseJob {
  private position: number;
  private row = -1;
  private readonly crosses: number[] = [];
  private readonly counted: FrameStats;

  private constructor(
    private readonly frame: Frame,
    private readonly xs: readonly number[],
    first: number,
    private readonly baseTop: number,
    private readonly baseBottom: number,
    private readonly raster: DenseRaster,
    private readonly ratio: number,
    private readonly pixels: Uint8ClampedArray<ArrayBuffer> | undefined,
  ) {
    this.position = first;
    this.counted = emptyStats();
  }

  /** A job for the frame's dense links on `painter`, or null when they are to be stroked instead. */
  static start(
    frame: Frame,
    xs: readonly number[],
    first: number,
    baseTop: number,
    baseBottom: number,
    painter: Painter,
    own: boolean,
  ): DenseJob | null {
    const size = painter.pixelSize?.();
    if (size === undefined || painter.putPixels === undefined) return null;
    if (size.width * size.height > rasterPixelsMax || size.ratio <= 0) return null;
    const columns = frame.layout.linkColumns;
    if (!columns.colors.every((color) => parseHexColor(color) !== null)) return null;
    // Few links stroke faster than a whole layer of pixels is cleared, swept and put.
    let low = first;
    let high = columns.fromBase.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((columns.fromBase[middle] as number) <= baseBottom + 1) low = middle + 1;
      else high = middle;
    }
    if (low - first < rasterLinksMin) return null;
    const spans = own ? new Spans() : undefined;
    const raster = new DenseRaster(size.width, size.height, columns.colors, size.ratio, spans);
    const pixels = own ? preparedPixels : rasterPixels;
    return new DenseJob(frame, xs, first, baseTop, baseBottom, raster, size.ratio, pixels);
  }

  /** Works until done or until `timeLeft()` (ms) falls under 1; returns true when done. */
  step(timeLeft: () => number): boolean {
    const { frame, xs, baseTop, baseBottom, raster, ratio, crosses, counted } = this;
    const { layout, headerPx, ty, k } = frame;
    const { fromBase, toBase, fromLane, toLane, color, shape, message } = layout.linkColumns;
    const count = fromBase.length;
    while (this.row < 0) {
      const until = Math.min(count, this.position + 2048);
      let position = this.position;
      for (; position < until; position++) {
        const from = fromBase[position] as number;
        if (from > baseBottom + 1) break;
        const to = toBase[position] as number;
        if (to < baseTop - 1) continue;
        const y1 = headerPx + ty + k * from;
        const y2 = headerPx + ty + k * to;
        const xa = xs[fromLane[position] as number] as number;
        const xb = xs[toLane[position] as number] as number;
        const form = shape[position] as number;
        const x2 = linkEndX(form, xa, xb);
        if (message[position] === 1) counted.arrows += 1;
        raster.line(xa * ratio, y1 * ratio, x2 * ratio, y2 * ratio, color[position] as number);
        if (form === 1) pushCross(crosses, x2, y2, 2);
        counted.links += 1;
        if (counted.hits.length < denseHitsMax)
          counted.hits.push({ kind: 'link', link: layout.links[position] as number, x1: xa, y1, x2, y2 });
      }
      this.position = position;
      if (position < until || position === count) {
        raster.start(this.pixels);
        this.row = 0;
      }
      if (timeLeft() < 1) return false;
    }
    while (this.row < raster.height) {
      const until = Math.min(raster.height, this.row + 32);
      raster.rows(this.row, until);
      this.row = until;
      if (this.row < raster.height && timeLeft() < 1) return false;
    }
    return true;
  }

  /** Draws the finished raster on `painter`, then the lanes and drops' crosses; adds what it counted to `stats`; returns its pixels. */
  draw(painter: Painter, stats: FrameStats): Uint8ClampedArray<ArrayBuffer> {
    const pixels = this.raster.result();
    (painter.putPixels as (pixels: Uint8ClampedArray<ArrayBuffer>) => void)(pixels);
    const { frame, xs } = this;
    const laneLines: number[] = [];
    for (const x of xs) if (!Number.isNaN(x)) laneLines.push(x, frame.headerPx, x, frame.height);
    painter.segments(laneLines, 'rgba(90, 98, 112, 0.55)', 1);
    painter.segments(this.crosses, violationRed, 1);
    stats.arrows += this.counted.arrows;
    stats.links += this.counted.links;
    for (const hit of this.counted.hits) stats.hits.push(hit);
    return pixels;
  }
}

/** The idle task's raster pixels, kept apart from the frames' (a frame may be drawn between two slices). */
let preparedPixels: Uint8ClampedArray<ArrayBuffer> | undefined;

/**
 * Dense links stroked (an SVG export; a canvas too large to rasterize): links between the same
 * two lanes that start and end on the same pixel rows draw as one stroke, in the colour of the
 * first, batched by colour, each colour faint.
 */
function drawDenseLinksNow(
  frame: Frame,
  xs: readonly number[],
  first: number,
  baseTop: number,
  baseBottom: number,
  stats: FrameStats,
  painter: Painter,
): void {
  const { model, layout, headerPx, ty, k } = frame;
  const columns = layout.linkColumns;
  const { fromBase, toBase, fromLane, toLane, color, shape, message } = columns;
  const laneCount = model.lanes.length;
  const lastPixel = new Float64Array(laneCount * laneCount).fill(-1);
  const lastEnd = new Float64Array(laneCount * laneCount).fill(-1);
  // Points per colour, in buffers kept between frames (grown as needed): no allocation per link.
  const counts = new Int32Array(columns.colors.length);
  const crosses: number[] = [];
  const count = fromBase.length;
  for (let position = first; position < count; position++) {
    const from = fromBase[position] as number;
    if (from > baseBottom + 1) break;
    const to = toBase[position] as number;
    if (to < baseTop - 1) continue;
    const y1 = headerPx + ty + k * from;
    const laneA = fromLane[position] as number;
    const laneB = toLane[position] as number;
    const pair = laneA * laneCount + laneB;
    const pixel = Math.round(y1);
    const linkIndex = layout.links[position] as number;
    const y2 = headerPx + ty + k * to;
    const end = Math.round(y2);
    if (lastPixel[pair] === pixel && lastEnd[pair] === end) continue;
    lastPixel[pair] = pixel;
    lastEnd[pair] = end;
    const xa = xs[laneA] as number;
    const xb = xs[laneB] as number;
    const form = shape[position] as number;
    const x2 = linkEndX(form, xa, xb);
    if (message[position] === 1) stats.arrows += 1;
    const c = color[position] as number;
    let buffer = denseBuffers[c];
    const at = counts[c] as number;
    if (buffer === undefined || buffer.length < at + 4) {
      const grown = new Float64Array(Math.max(4096, (buffer?.length ?? 0) * 2));
      if (buffer !== undefined) grown.set(buffer);
      denseBuffers[c] = buffer = grown;
    }
    buffer[at] = xa;
    buffer[at + 1] = y1;
    buffer[at + 2] = x2;
    buffer[at + 3] = y2;
    counts[c] = at + 4;
    if (form === 1) pushCross(crosses, x2, y2, 2);
    stats.links += 1;
    if (stats.hits.length < denseHitsMax) stats.hits.push({ kind: 'link', link: linkIndex, x1: xa, y1, x2, y2 });
  }
  // Faint strokes, so that overlapping ones build up a density and the lanes and fault bands show through.
  columns.colors.forEach((name, c) => {
    const buffer = denseBuffers[c];
    if (buffer !== undefined && (counts[c] as number) > 0)
      painter.segments(buffer.subarray(0, counts[c]), faint(name), 1);
  });
  const laneLines: number[] = [];
  for (const x of xs) if (!Number.isNaN(x)) laneLines.push(x, headerPx, x, frame.height);
  painter.segments(laneLines, 'rgba(90, 98, 112, 0.55)', 1);
  painter.segments(crosses, violationRed, 1);
}

const faintColors = new Map<string, string>();

/** `#rrggbb` at a third of its opacity (other colours as they are). */
function faint(color: string): string {
  let result = faintColors.get(color);
  if (result === undefined) {
    const hex = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(color);
    result =
      hex === null
        ? color
        : `rgba(${parseInt(hex[1] as string, 16)}, ${parseInt(hex[2] as string, 16)}, ${parseInt(hex[3] as string, 16)}, 0.35)`;
    faintColors.set(color, result);
  }
  return result;
}

/** drawDenseLinks' point buffers, one per colour index, reused from frame to frame. */
const denseBuffers: Float64Array[] = [];

/** Where a frame looks: its lanes' x, its range in base units, its rows, and how dense they are. */
function viewOf(frame: Frame) {
  const { layout, height, headerPx, ty, k } = frame;
  const xs = laneXs(frame);
  const baseTop = -ty / k;
  const baseBottom = (height - headerPx - ty) / k;
  const rowFirst = rowAtOrAfter(layout, baseTop - 2 * k);
  const rowEnd = Math.min(layout.rowCount, rowAtOrAfter(layout, baseBottom + 2) + 1);
  const visibleRows = rowEnd - rowFirst;
  const pixelsPerRow = visibleRows > 0 ? (height - headerPx) / visibleRows : 100;
  const rowScreenPx = Math.min(k * 20, pixelsPerRow * 1.0);
  return { xs, baseTop, baseBottom, rowFirst, rowEnd, dense: rowScreenPx < 7, veryDense: rowScreenPx < 1.5 };
}

/** Position in `layout.links` of the first link that can reach `baseTop` (links are ordered by their start). */
function firstLinkReaching(frame: Frame, baseTop: number): number {
  const { model, layout } = frame;
  const links = layout.links;
  const reachTop = baseTop - layout.linkSpanBaseMax - 1;
  let low = 0;
  let high = links.length;
  while (low < high) {
    const middle = (low + high) >>> 1;
    const link = model.links[links[middle] as number] as Link;
    if ((layout.yBase[layout.rowOf[link.from] as number] as number) < reachTop) low = middle + 1;
    else high = middle;
  }
  return low;
}

export function drawFrame(frame: Frame, painter: Painter): FrameStats {
  const { model, layout, width, height, headerPx, gutterPx, ty, k } = frame;
  const stats = emptyStats();
  const { xs, baseTop, baseBottom, rowFirst, rowEnd, dense, veryDense } = viewOf(frame);
  const yOf = (row: number): number => headerPx + ty + k * (layout.yBase[row] as number);
  stats.rowFirst = rowFirst;
  stats.rowLast = rowEnd - 1;
  stats.dense = dense;
  const rowBand = Math.max(2, Math.min(k * 20, 22));
  const left = gutterPx + 4;

  painter.rect(0, 0, width, height, '#ffffff');

  // Fault spans.
  for (const fault of model.faults) {
    const fromRow = layout.rowOf[fault.from] as number;
    if (fromRow < 0) continue;
    const toRow = fault.to < 0 ? -1 : (layout.rowOf[fault.to] as number);
    const y1 = yOf(fromRow) - rowBand / 2;
    const y2 = toRow < 0 ? height : yOf(toRow) + rowBand / 2;
    if (y2 < headerPx || y1 > height) continue;
    const laneXsOf = fault.lanes.map((lane) => xs[lane] as number).filter((x) => !Number.isNaN(x));
    const x1 = laneXsOf.length > 0 ? Math.min(...laneXsOf) - 26 : gutterPx;
    const x2 = laneXsOf.length > 0 ? Math.max(...laneXsOf) + 26 : width;
    painter.rect(
      x1,
      Math.max(y1, headerPx),
      x2 - x1,
      Math.max(Math.min(y2, height) - Math.max(y1, headerPx), 1.5),
      faultFill[fault.fault] ?? 'rgba(120,120,120,0.12)',
    );
  }

  // Violation bands and the selection band.
  for (const index of model.violations) {
    const row = layout.rowOf[index] as number;
    if (row < 0) continue;
    const y = yOf(row);
    if (y < headerPx - 10 || y > height + 10) continue;
    painter.rect(
      gutterPx,
      y - Math.max(rowBand, 6) / 2,
      width - gutterPx,
      Math.max(rowBand, 6),
      'rgba(214, 39, 40, 0.18)',
    );
  }
  if (frame.selected >= 0) {
    const row = layout.rowOf[frame.selected] as number;
    if (row >= 0) {
      const y = yOf(row);
      painter.rect(
        gutterPx,
        y - Math.max(rowBand, 4) / 2,
        width - gutterPx,
        Math.max(rowBand, 4),
        'rgba(255, 213, 0, 0.32)',
      );
    }
  }

  // Lanes.
  const laneLines: number[] = [];
  const pseudoLines: number[] = [];
  model.lanes.forEach((lane, index) => {
    const x = xs[index] as number;
    if (Number.isNaN(x)) return;
    (lane.pseudo ? pseudoLines : laneLines).push(x, headerPx, x, height);
  });
  painter.segments(laneLines, '#b9c0c8', 1.2);
  painter.segments(pseudoLines, '#c8c8c8', 1, [2, 4]);

  // Links on screen.
  const batches = new Batches();
  // Dense views keep fewer labels, further apart: violations, refusals, drops, deliveries and
  // commands first, then arrows; when even glyphs give way, only the violations.
  const labels = new LabelPlacer(painter, gutterPx + 2, width, veryDense ? 14 : dense ? 6 : 0, veryDense ? 0 : 5);
  const links = layout.links;
  let low = firstLinkReaching(frame, baseTop);
  const headLength = dense ? 0 : 8;
  if (veryDense) {
    drawDenseLinks(frame, xs, low, baseTop, baseBottom, stats, painter);
    low = links.length;
  }
  for (let position = low; position < links.length; position++) {
    const linkIndex = links[position] as number;
    const link = model.links[linkIndex] as Link;
    const fromRow = layout.rowOf[link.from] as number;
    const toRow = layout.rowOf[link.to] as number;
    const fromBase = layout.yBase[fromRow] as number;
    if (fromBase > baseBottom + 1) break;
    if ((layout.yBase[toRow] as number) < baseTop - 1) continue;
    const xa = xs[link.fromLane] as number;
    const xb = xs[link.toLane] as number;
    const y1 = yOf(fromRow);
    const y2 = yOf(toRow);
    let x2 = xb;
    const end = link.ending;
    const selected = linkIndex === frame.selectedLink;
    if (link.style === 'message') {
      stats.arrows += 1;
      if (end === 'cross') x2 = xa + (xb - xa) * 0.72;
      if (end === 'open') x2 = xa + (xb - xa) * 0.4;
      const dash = link.duplicate ? [5, 3] : end === 'open' ? [2, 3] : [];
      batches.stroke(link.color, selected ? 3 : dense ? 1 : 1.6, dash).push(xa, y1, x2, end === 'open' ? y1 + 6 : y2);
    } else if (link.style === 'refuse') {
      x2 = xb - Math.sign(xb - xa) * 10;
      batches.stroke(link.color, selected ? 2.5 : 1.2, [4, 3]).push(xa, y1, x2, y2);
    } else {
      batches.stroke(link.color, selected ? 2.5 : 1, [3, 3]).push(xa, y1, x2, y2);
    }
    if (!dense || selected) {
      if (end === 'arrow')
        pushHead(batches.head(link.color), xa, y1, x2, y2, link.style === 'message' ? headLength || 8 : 6);
      if (end === 'cross') pushCross(batches.stroke(violationRed, 2.2, []), x2, y2, 5);
    } else if (end === 'cross') {
      pushCross(batches.stroke(violationRed, 1.2, []), x2, y2, 2.5);
    }
    stats.links += 1;
    if (stats.hits.length < hitsMax) stats.hits.push({ kind: 'link', link: linkIndex, x1: xa, y1, x2, y2 });
    if (link.style === 'connect') continue;
    // Arrow labels sit on their arrow, a little above it; the placer tries along the arrow.
    const priority =
      link.style === 'refuse' || end === 'cross'
        ? 1
        : link.style === 'message'
          ? 2
          : link.style === 'dns.answer'
            ? 4
            : 5;
    labels.candidate(priority, (): LabelSpec => {
      const span = Math.abs(x2 - xa);
      const summary = link.style === 'message' ? model.names.get(link.msg)?.summary : undefined;
      return {
        text: summary === undefined || summary === '' ? link.label : `${link.label} · ${summary}`,
        x: xa + (x2 - xa) * 0.5,
        y: y1 + (y2 - y1) * 0.5 - 7,
        along: { x1: xa, y1: y1 - 7, x2, y2: y2 - 7 },
        align: 'center',
        maxWidth: Math.max(24, span - 18),
        size: 11,
        weight: 'bold',
        color: link.style === 'message' ? link.color : link.style === 'refuse' ? violationRed : '#6b6b6b',
      };
    });
  }
  batches.flush(painter);

  // Event glyphs, and the candidate labels of the rows on screen.
  const laneRight = laneRightEdges(xs, width);
  const laneLeft = laneLeftEdges(xs, gutterPx);
  if (!veryDense) {
    const dots = new Map<string, number[]>();
    const dot = (color: string, x: number, y: number) => {
      let list = dots.get(color);
      if (list === undefined) dots.set(color, (list = []));
      list.push(x, y);
    };
    for (let row = rowFirst; row < rowEnd; row++) {
      const index = layout.eventAt[row] as number;
      const event = model.events.at(index);
      const lane = model.laneOf[index] as number;
      const x = lane >= 0 ? (xs[lane] as number) : left;
      const y = yOf(row);
      if (y < headerPx - 12 || y > height + 12) continue;
      const labelX = x + 8;
      const maxWidth = lane >= 0 ? (laneRight[lane] as number) - labelX : width - labelX - 8;
      const leftRoom = lane >= 0 ? { x: x - 8, maxWidth: x - 8 - (laneLeft[lane] as number) } : undefined;
      const protocol = lane >= 0 ? (model.lanes[lane]?.protocol ?? '') : '';
      stats.glyphs += 1;
      if (stats.hits.length < hitsMax) stats.hits.push({ kind: 'event', index, x, y });
      if (frame.matches?.has(index) === true) painter.circle(x, y, 7, 'rgba(255, 140, 0, 0.35)', '#ff8c00');
      const plain = (priority: number, text: () => string, color: string, size = 10, bold = false, italic = false) =>
        labels.candidate(priority, () => ({
          text: text(),
          x: labelX,
          y,
          align: 'left',
          maxWidth,
          left: leftRoom,
          size,
          weight: bold ? 'bold' : 'normal',
          color,
          italic,
        }));
      switch (event.kind) {
        case 'send':
        case 'receive':
          dot('#4a4a4a', x, y);
          break;
        case 'state':
          dot('#2f5d9a', x, y);
          labels.candidate(4, () => ({
            text: `${shortMachine(event.machine, protocol)}: ${event.value}`,
            x: labelX,
            y,
            align: 'left',
            maxWidth,
            left: leftRoom,
            size: 11,
            weight: 'bold',
            color: '#1d3d6b',
            box: { fill: '#e8f0fb', stroke: '#8eaad3' },
            kind: 'state',
          }));
          break;
        case 'conn.connect':
          painter.circle(x, y, 3.5, '#ffffff', '#6b6b6b');
          plain(5, () => `connect → ${event.target}`, '#555');
          break;
        case 'conn.accept':
        case 'conn.open':
          painter.circle(x, y, 3.5, '#6b6b6b');
          plain(5, () => `${event.kind === 'conn.open' ? 'open' : 'accept'} ${event.conn} ⇄ ${event.peer}`, '#555');
          break;
        case 'conn.close':
          painter.rect(x - 3, y - 3, 6, 6, '#6b6b6b');
          plain(5, () => `close ${event.conn} (${event.reason})`, '#555');
          break;
        case 'conn.drain':
          painter.circle(x, y, 3.5, '#ffffff', '#6b6b6b');
          plain(5, () => `drained ${event.conn}`, '#555');
          break;
        case 'tls.start':
          painter.circle(x, y, 3.5, '#ffffff', '#6b6b6b');
          plain(5, () => `TLS ${event.role} on ${event.conn}`, '#555');
          break;
        case 'tls.done':
          painter.circle(x, y, 3.5, event.ok ? '#6b6b6b' : violationRed);
          plain(
            5,
            () => (event.ok ? `TLS up on ${event.conn}` : `TLS failed on ${event.conn} (${event.reason ?? '?'})`),
            event.ok ? '#555' : violationRed,
          );
          break;
        case 'conn.refuse': {
          const cross: number[] = [];
          pushCross(cross, x, y, 4);
          painter.segments(cross, violationRed, 2);
          // The refusal's own label is on its link when it has one (towards the refusing node).
          if (model.linkAt[index] === -1 || model.links[model.linkAt[index] as number]?.style !== 'refuse')
            plain(1, () => `refused: ${event.target} (${event.reason})`, violationRed, 11, true);
          break;
        }
        case 'listen':
        case 'unlisten':
          dot('#6b6b6b', x, y);
          plain(5, () => `${event.kind} ${event.endpoint}`, '#555');
          break;
        case 'dns.query':
        case 'dns.answer':
          dot('#7f7f7f', x, y);
          break;
        case 'deliver':
          dot('#2ca02c', x, y);
          labels.candidate(1, () => ({
            text: `✉ ${event.user}: ${event.body}`,
            x: labelX,
            y,
            align: 'left',
            maxWidth,
            left: leftRoom,
            size: 11,
            weight: 'bold',
            color: '#1e6b1a',
            box: { fill: '#e3f4e1', stroke: '#7cc276' },
          }));
          break;
        case 'note':
          dot('#999', x, y);
          plain(4, () => event.what, '#3a3a3a', 11, false, true);
          break;
        case 'timer':
          dot('#999', x, y);
          plain(5, () => `◷ ${event.name}`, '#777');
          break;
        case 'command':
          painter.circle(x, y, 3.5, '#7b4fa0');
          plain(1, () => `▶ ${commandLabel(event.command)}`, '#6a3d9a', 11, true);
          break;
        case 'reject':
          dot(violationRed, x, y);
          plain(1, () => `reject ${event.code}: ${event.reason}`, violationRed);
          break;
        case 'node.crash':
        case 'node.stop':
        case 'node.start': {
          const crash = event.kind === 'node.crash';
          const stop = event.kind === 'node.stop';
          painter.rect(x - 14, y - 2.5, 28, 5, crash ? violationRed : stop ? '#777777' : '#2ca02c');
          labels.candidate(crash ? 1 : 3, () => ({
            text: crash ? 'crash' : stop ? 'stop' : event.incarnation > 1 ? 'restart' : 'start',
            x: x + 18,
            y,
            align: 'left',
            maxWidth: maxWidth - 10,
            size: 10,
            weight: 'bold',
            color: crash ? violationRed : stop ? '#555555' : '#2c7a2c',
          }));
          break;
        }
        case 'duplicate': {
          const target = model.lanes.findIndex((candidate) => candidate.id === event.to);
          const tx = target >= 0 ? (xs[target] as number) : left;
          if (Number.isNaN(tx)) break;
          labels.candidate(3, () => ({
            text: `×2 #${event.msg}`,
            x: tx - 8,
            y,
            align: 'right',
            maxWidth: 80,
            size: 10,
            weight: 'bold',
            color: '#d45f00',
          }));
          break;
        }
        case 'fault':
          plain(
            3,
            () => `⚠ ${event.fault} ${event.phase === 'begin' ? 'begins' : event.phase === 'end' ? 'ends' : ''}`,
            '#a15c00',
            10,
            true,
          );
          break;
        case 'check':
          if (event.verdict === 'violation')
            labels.candidate(0, () => ({
              text: `✖ VIOLATION ${event.requirement}: ${event.message}`,
              x: left,
              y,
              align: 'left',
              maxWidth: width - left - 8,
              size: 12,
              weight: 'bold',
              color: violationRed,
            }));
          else plain(3, () => `✓ ${event.requirement}`, '#2c7a2c', 10, true);
          break;
        default:
          break;
      }
    }
    for (const [color, points] of dots) {
      for (let i = 0; i + 1 < points.length; i += 2)
        painter.circle(points[i] as number, points[i + 1] as number, dense ? 1.5 : 2.6, color);
    }
  } else {
    // Too dense for glyphs: only the violations keep a label.
    for (const index of model.violations) {
      const row = layout.rowOf[index] as number;
      if (row < rowFirst || row >= rowEnd) continue;
      const event = model.events.at(index) as TraceEvent & { kind: 'check' };
      labels.candidate(0, () => ({
        text: `✖ VIOLATION ${event.requirement}: ${event.message}`,
        x: left,
        y: yOf(row),
        align: 'left',
        maxWidth: width - left - 8,
        size: 12,
        weight: 'bold',
        color: violationRed,
      }));
    }
  }
  for (const [index, fault] of model.faults.entries()) {
    const fromRow = layout.rowOf[fault.from] as number;
    if (fromRow < rowFirst || fromRow >= rowEnd) continue;
    const laneXsOf = fault.lanes.map((lane) => xs[lane] as number).filter((x) => !Number.isNaN(x));
    const x1 = laneXsOf.length > 0 ? Math.min(...laneXsOf) - 26 : gutterPx;
    labels.candidate(3, () => ({
      text: model.faults[index]?.label ?? '',
      x: x1 + 4,
      y: yOf(fromRow) - rowBand / 2 + 7,
      align: 'left',
      maxWidth: width - x1 - 12,
      size: 10,
      weight: 'bold',
      color: '#a15c00',
    }));
  }
  stats.labels = labels.place(headerPx, height);
  stats.stateLabels = stats.labels.filter((label) => label.kind === 'state').length;

  // Time gutter.
  painter.rect(0, headerPx, gutterPx, height - headerPx, '#f7f8fa');
  painter.segments([gutterPx, headerPx, gutterPx, height], '#d5d9de', 1);
  // A broken axis: each idle stretch cut short in time mode gets a zigzag and the time it skipped.
  const breakYs: number[] = [];
  for (const cut of layout.breaks) {
    const y = headerPx + ty + k * cut.y;
    if (y < headerPx + 6 || y > height - 4) continue;
    breakYs.push(y);
    const zigzag: number[] = [];
    for (let x = 4; x < gutterPx - 4; x += 8) zigzag.push(x, y - 3, x + 4, y + 3, x + 4, y + 3, x + 8, y - 3);
    painter.segments(zigzag, '#8a94a3', 1);
    painter.segments([gutterPx, y, width, y], '#d5d9de', 1, [2, 6]);
    if (k * 20 >= 12)
      painter.text(gutterPx - 6, y + 9, `+${formatMs(cut.skippedMs)}`, { color: '#8a94a3', size: 9, align: 'right' });
  }
  const nearBreak = (y: number): boolean => breakYs.some((breakY) => Math.abs(breakY - y) < 16);
  let lastY = -Infinity;
  let lastAtMs = -1;
  if (!dense) {
    for (let row = rowFirst; row < rowEnd; row++) {
      const atMs = model.atMs[layout.eventAt[row] as number] as number;
      const y = yOf(row);
      if (atMs === lastAtMs || y - lastY < 13 || y < headerPx + 6 || nearBreak(y)) continue;
      painter.text(gutterPx - 6, y, `${atMs} ms`, { color: '#5a6270', size: 10, align: 'right' });
      lastY = y;
      lastAtMs = atMs;
    }
  } else {
    for (let y = headerPx + 14; y < height; y += 48) {
      const row = rowAtOrAfter(layout, (y - headerPx - ty) / k);
      if (row >= layout.rowCount) break;
      const atMs = model.atMs[layout.eventAt[row] as number] as number;
      painter.text(gutterPx - 6, y, `${atMs} ms`, { color: '#5a6270', size: 10, align: 'right' });
    }
  }

  // Lane header.
  painter.rect(0, 0, width, headerPx, '#f3f5f8');
  painter.segments([0, headerPx, width, headerPx], '#c9cfd6', 1);
  painter.text(gutterPx - 6, headerPx / 2, layout.mode === 'time' ? 'time ↓' : 'order ↓', {
    color: '#5a6270',
    size: 10,
    align: 'right',
  });
  // Lane names: one line with the protocol under it when they fit, else staggered on two lines.
  const shown = model.lanes.map((_, index) => index).filter((index) => !Number.isNaN(xs[index] as number));
  const spacing = shown.length > 1 ? (xs[shown[1] as number] as number) - (xs[shown[0] as number] as number) : width;
  const widest = Math.max(0, ...shown.map((index) => painter.measure(model.lanes[index]?.id ?? '', 13, 'bold')));
  const stagger = widest + 10 > spacing;
  shown.forEach((index, position) => {
    const lane = model.lanes[index];
    const x = xs[index] as number;
    if (lane === undefined) return;
    const color = lane.pseudo ? '#777' : '#1f2933';
    if (stagger) {
      const y = position % 2 === 0 ? headerPx / 2 - 9 : headerPx / 2 + 9;
      painter.text(x, y, lane.id, { color, size: 12, weight: 'bold', align: 'center' });
    } else {
      painter.text(x, headerPx / 2 - 7, lane.id, { color, size: 13, weight: 'bold', align: 'center' });
      painter.text(x, headerPx / 2 + 9, lane.pseudo ? 'resolver' : lane.protocol.toUpperCase(), {
        color: '#6b7480',
        size: 10,
        align: 'center',
      });
    }
  });
  return stats;
}

/**
 * Where a link drawn from lane x `xa` towards lane x `xb` ends, by its shape (`LinkColumns.shape`):
 * at the lane, a drop cut short at 72%, a stub in flight at 40%, a refusal 10 px short of the lane.
 */
function linkEndX(form: number, xa: number, xb: number): number {
  if (form === 0) return xb;
  if (form === 1) return xa + (xb - xa) * 0.72;
  if (form === 2) return xa + (xb - xa) * 0.4;
  return xb - Math.sign(xb - xa) * 10;
}
