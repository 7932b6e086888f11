/**
 * The viewer page: loads a trace (from `?trace=<url>` as `fedsim view` serves it, from the file
 * picker, or by drag and drop), builds the model and layout, and draws the sequence diagram on
 * a canvas with d3-zoom (drag and wheel pan, ctrl+wheel or pinch zooms), an overview brush,
 * filters, search, a details panel and a step mode (keyboard too). A counterexample opens at
 * its first violation.
 *
 * `window.__fedsimViewer` is the test hook: counts of what the last frame drew, the time to
 * first render, and a few commands for tests and the benchmark. It must not import anything
 * from src/ but the trace types (it is built for the browser on its own).
 */
import * as d3 from 'd3';
import { drawFrame, framePrepared, prepareFrame } from './draw.js';
import type { FrameStats, Hit, PlacedLabel } from './draw.js';
import { computeLayout, emptyFilters, rowAtOrAfter, rowPx } from './layout.js';
import type { Filters, Layout, TimeMode } from './layout.js';
import type { LoadReply, LoadRequest } from './load-worker.js';
import { buildModel, categories, NamesTable, parseNames, TraceEvents, unpackModel } from './model.js';
import type { Category, MessageNames, Model } from './model.js';
import { Overview } from './overview.js';
import { CanvasPainter, SvgPainter } from './painter.js';
import { showDetails } from './panel.js';
import { parseTraceText, verifySha256 } from './parse.js';

/** What tests and the benchmark can read and call. */
export interface ViewerHook {
  ready: boolean;
  error: string | null;
  traceName: string;
  events: number;
  lanes: number;
  laneIds: string[];
  arrowsDrawn: number;
  linksDrawn: number;
  stateLabelsDrawn: number;
  glyphsDrawn: number;
  dense: boolean;
  rowsOnScreen: number;
  /**
   * ms from navigation start to the end of the first frame of the first trace (drawn from its
   * first events while a long trace still arrives).
   */
  firstRenderMs: number;
  /** ms from navigation start to the first frame of the whole first trace (then `ready`). */
  loadedMs: number;
  parseMs: number;
  modelMs: number;
  /** When each step of the first load ended, in ms from navigation start (worker's and page's). */
  loadSteps: Record<string, number>;
  lastFrameMs: number;
  selectedSeq: number | null;
  violationSeqs: number[];
  sha256: 'pending' | 'ok' | 'mismatch' | 'unchecked';
  /** Client coordinates of the middle of message `msg`'s first arrow, when on screen. */
  arrowPoint(msg: number): { x: number; y: number } | null;
  /** Pans `frames` times by `stepPx`, drawing each frame synchronously; returns per-frame times. */
  panBench(frames: number, stepPx: number): { meanMs: number; maxMs: number };
  fit(): void;
  /**
   * Whether the fitted view's layer of links is drawn already (in idle time after a load or a
   * change of layout), so that a fit now draws it again at once. False for a view that fits
   * without such a layer (a short trace).
   */
  fitReady(): boolean;
  /** Forgets the kept layers (for the benchmark: a fit drawn from scratch). */
  dropLayers(): void;
  /**
   * How long the idle task that last drew the fitted view's layer took in all, ms (-1: none yet),
   * its longest slice and how many slices it took.
   */
  fitPrepareMs: number;
  fitPrepareSliceMs: number;
  fitPrepareSlices: number;
  zoomTo(k: number): void;
  selectSeq(seq: number): void;
  /** The view (`range`, what the main view shows) or the whole trace as SVG. */
  svgText(scope?: ExportScope): string;
  /** The same as a PNG data URL. */
  pngDataUrl(scope?: ExportScope): string;
  /** The labels of the last frame, in client coordinates, with their full text. */
  labelBoxes(): { x1: number; y1: number; x2: number; y2: number; text: string; shown: string }[];
  /** Detail events folded away (story view), all lanes together. */
  folded: number;
  /** Base-unit range the main view shows. */
  viewRange: [number, number];
  k: number;
}

export type ExportScope = 'whole' | 'range';

declare global {
  interface Window {
    __fedsimViewer?: ViewerHook;
    /** The trace's and names' fetches, started by index.html before this module loaded. */
    __fedsimPrefetch?: {
      /** The trace's fetch, when no loader worker could be started early. */
      trace?: Promise<Response>;
      names: Promise<Response> | null;
      /** The loader worker, already fetching the trace, and the messages it posted before this module ran. */
      loader?: { worker: Worker; early: Event[] };
    };
  }
}

const headerPx = 46;
const gutterPx = 74;
const byId = <T extends Element = HTMLElement>(id: string): T => document.getElementById(id) as unknown as T;

const canvas = byId<HTMLCanvasElement>('canvas');
const diagram = byId<HTMLDivElement>('diagram');
const details = byId<HTMLDivElement>('details');
const status = byId<HTMLDivElement>('status');
const searchInput = byId<HTMLInputElement>('search');
const searchCount = byId<HTMLSpanElement>('search-count');
const timeMode = byId<HTMLSelectElement>('time-mode');
const context = canvas.getContext('2d') as CanvasRenderingContext2D;
const painter = new CanvasPainter(context);

interface ViewState {
  model: Model;
  layout: Layout;
  filters: Filters;
  ty: number;
  k: number;
  selected: number;
  selectedLink: number;
  matches: Set<number> | null;
  stats: FrameStats | null;
}

let state: ViewState | null = null;
let width = 0;
let height = 0;
let frameRequested = false;

const hook: ViewerHook = {
  ready: false,
  error: null,
  traceName: '',
  events: 0,
  lanes: 0,
  laneIds: [],
  arrowsDrawn: 0,
  linksDrawn: 0,
  stateLabelsDrawn: 0,
  glyphsDrawn: 0,
  dense: false,
  rowsOnScreen: 0,
  firstRenderMs: -1,
  loadedMs: -1,
  parseMs: 0,
  modelMs: 0,
  loadSteps: {},
  lastFrameMs: 0,
  selectedSeq: null,
  violationSeqs: [],
  sha256: 'pending',
  arrowPoint: (msg) => {
    const stats = state?.stats;
    if (state === null || stats === null || stats === undefined) return null;
    for (const hit of stats.hits) {
      if (
        hit.kind !== 'link' ||
        state.model.links[hit.link]?.msg !== msg ||
        state.model.links[hit.link]?.style !== 'message'
      )
        continue;
      const rect = canvas.getBoundingClientRect();
      return { x: rect.left + (hit.x1 + hit.x2) / 2, y: rect.top + (hit.y1 + hit.y2) / 2 };
    }
    return null;
  },
  panBench: (frames, stepPx) => {
    const times: number[] = [];
    for (let frame = 0; frame < frames; frame++) {
      const start = performance.now();
      zoomBehavior.translateBy(canvasSelection, 0, -stepPx / (state?.k ?? 1));
      render();
      times.push(performance.now() - start);
    }
    return { meanMs: times.reduce((a, b) => a + b, 0) / Math.max(times.length, 1), maxMs: Math.max(0, ...times) };
  },
  fit: () => fit(),
  fitReady: () => state !== null && framePrepared(fitFrame(state), painter),
  dropLayers: () => painter.dropLayers(),
  fitPrepareMs: -1,
  fitPrepareSliceMs: -1,
  fitPrepareSlices: 0,
  zoomTo: (k) => {
    if (state === null) return;
    zoomBehavior.transform(canvasSelection, d3.zoomIdentity.translate(0, state.ty).scale(k));
    render();
  },
  selectSeq: (seq) => select(seq - 1, -1, true),
  svgText: (scope = 'range') => svgText(scope),
  pngDataUrl: (scope = 'range') => pngCanvas(scope)?.toDataURL('image/png') ?? '',
  labelBoxes: () => {
    const rect = canvas.getBoundingClientRect();
    return (state?.stats?.labels ?? []).map((label) => ({
      x1: rect.left + label.x1,
      y1: rect.top + label.y1,
      x2: rect.left + label.x2,
      y2: rect.top + label.y2,
      text: label.text,
      shown: label.shown,
    }));
  },
  folded: 0,
  viewRange: [0, 0],
  k: 1,
};
window.__fedsimViewer = hook;

// Zoom and pan: d3-zoom owns the transform; only its y and k are used (time runs downward).
const canvasSelection = d3.select(canvas);
const zoomBehavior = d3
  .zoom<HTMLCanvasElement, unknown>()
  .filter((event) => (event.type === 'wheel' ? (event as WheelEvent).ctrlKey : !(event as MouseEvent).button))
  .clickDistance(4)
  .on('zoom', (event) => {
    if (state === null) return;
    state.ty = event.transform.y;
    state.k = event.transform.k;
    requestRender();
  });
canvasSelection.call(zoomBehavior);
canvas.addEventListener(
  'wheel',
  (event) => {
    if (event.ctrlKey || state === null) return;
    event.preventDefault();
    zoomBehavior.translateBy(canvasSelection, 0, -event.deltaY / state.k);
  },
  { passive: false },
);

function constrainY(ty: number, k: number, totalBase: number): number {
  const view = height - headerPx;
  const top = 16;
  const bottom = Math.min(top, view - totalBase * k - 16);
  return Math.max(bottom, Math.min(top, ty));
}

function setTransform(ty: number, k: number): void {
  if (state === null) return;
  const clamped = constrainY(ty, k, state.layout.totalBase);
  zoomBehavior.transform(canvasSelection, d3.zoomIdentity.translate(0, clamped).scale(k));
  state.ty = clamped;
  state.k = k;
}

function updateZoomLimits(): void {
  if (state === null) return;
  const view = Math.max(1, height - headerPx);
  const kMin = Math.min(1, (view - 32) / state.layout.totalBase) * 0.9;
  zoomBehavior.scaleExtent([Math.max(kMin, 1e-6), 4]);
  zoomBehavior.constrain((transform) => {
    const y = constrainY(transform.y, transform.k, state?.layout.totalBase ?? 0);
    return d3.zoomIdentity.translate(0, y).scale(transform.k);
  });
}

/** Sizes the canvas to the diagram; then redraws, unless `draw` is false (the caller draws next). */
function resize(draw = true): void {
  const rect = diagram.getBoundingClientRect();
  width = Math.max(200, Math.floor(rect.width));
  height = Math.max(200, Math.floor(rect.height));
  const ratio = window.devicePixelRatio || 1;
  canvas.width = Math.round(width * ratio);
  canvas.height = Math.round(height * ratio);
  context.setTransform(ratio, 0, 0, ratio, 0, 0);
  zoomBehavior.extent([
    [0, 0],
    [width, height],
  ]);
  updateZoomLimits();
  if (!draw) return;
  if (state !== null) overview.draw(state.model, state.layout);
  render();
}

function requestRender(): void {
  if (frameRequested) return;
  frameRequested = true;
  requestAnimationFrame(() => {
    frameRequested = false;
    render();
  });
}

function frameOf(current: ViewState, targetWidth: number, targetHeight: number) {
  return {
    model: current.model,
    layout: current.layout,
    width: targetWidth,
    height: targetHeight,
    headerPx,
    gutterPx,
    ty: current.ty,
    k: current.k,
    selected: current.selected,
    selectedLink: current.selectedLink,
    matches: current.matches,
  };
}

function render(): void {
  if (state === null) return;
  const start = performance.now();
  const stats = drawFrame(frameOf(state, width, height), painter);
  state.stats = stats;
  hook.lastFrameMs = performance.now() - start;
  hook.arrowsDrawn = stats.arrows;
  hook.linksDrawn = stats.links;
  hook.stateLabelsDrawn = stats.stateLabels;
  hook.glyphsDrawn = stats.glyphs;
  hook.dense = stats.dense;
  hook.rowsOnScreen = Math.max(0, stats.rowLast - stats.rowFirst + 1);
  hook.viewRange = [-state.ty / state.k, (height - headerPx - state.ty) / state.k];
  hook.k = state.k;
  overview.show(hook.viewRange[0], hook.viewRange[1]);
  prepareFitWhenIdle();
}

let preparing = false;
/** The idle task's slices so far for the layer being drawn: their total and longest time, ms. */
let prepareTotalMs = 0;
let prepareLongestMs = 0;
let prepareSlices = 0;

/**
 * Draws the fitted view's layer of links when the page is idle, unless it is kept already: a
 * long trace's fit then shows at once instead of drawing tens of thousands of links. Asked after
 * every frame (the check is a few binary searches); the painter keeps that layer beside the
 * current view's, so zooming and panning do not push it out, and a new layout, size or lane set
 * makes a new one. The work goes in slices, each within its idle period
 * (`deadline.timeRemaining()`), resumed at the next one, so that input never waits on more than
 * a slice; a fit pressed meanwhile finishes the layer in its own frame.
 */
function prepareFitWhenIdle(): void {
  if (preparing) return;
  preparing = true;
  const prepare = (timeLeft: () => number): void => {
    preparing = false;
    if (state === null) return;
    const frame = fitFrame(state);
    if (framePrepared(frame, painter)) return;
    const start = performance.now();
    const result = prepareFrame(frame, painter, timeLeft);
    const took = performance.now() - start;
    if (result === 'none') return;
    prepareTotalMs += took;
    prepareLongestMs = Math.max(prepareLongestMs, took);
    prepareSlices += 1;
    if (result === 'more') {
      prepareFitWhenIdle();
      return;
    }
    hook.fitPrepareMs = prepareTotalMs;
    hook.fitPrepareSliceMs = prepareLongestMs;
    hook.fitPrepareSlices = prepareSlices;
    prepareTotalMs = prepareLongestMs = prepareSlices = 0;
  };
  if (typeof requestIdleCallback === 'function')
    requestIdleCallback((deadline) => prepare(() => deadline.timeRemaining()));
  else
    setTimeout(() => {
      const start = performance.now();
      prepare(() => 10 - (performance.now() - start));
    }, 100);
}

const overview = new Overview(
  byId<HTMLCanvasElement>('overview-canvas'),
  byId<SVGSVGElement>('overview-svg'),
  (top, bottom) => {
    if (state === null) return;
    const view = height - headerPx;
    const k = bottom - top > 1 ? Math.min(4, Math.max(view / (bottom - top), 1e-6)) : state.k;
    setTransform(-top * k, k);
    render();
  },
  (at) => {
    // A click on the strip: centre the main view there, at the current zoom.
    if (state === null) return;
    setTransform((height - headerPx) / 2 - state.k * at, state.k);
    render();
  },
);

/** The zoom that shows the whole trace. */
function fitK(current: ViewState): number {
  return Math.min(1, (height - headerPx - 32) / current.layout.totalBase);
}

function fit(): void {
  if (state === null) return;
  setTransform(16, fitK(state));
  render();
}

/** The frame `fit` draws. */
function fitFrame(current: ViewState) {
  const k = fitK(current);
  return { ...frameOf(current, width, height), ty: constrainY(16, k, current.layout.totalBase), k };
}

/** Scrolls so that `row` is on screen (centred when it was off screen). */
function reveal(row: number, center = false): void {
  if (state === null || row < 0) return;
  const y = headerPx + state.ty + state.k * (state.layout.yBase[row] as number);
  if (!center && y > headerPx + 30 && y < height - 30) return;
  const k = state.k < 0.5 ? 1 : state.k;
  setTransform((height - headerPx) / 2 - k * (state.layout.yBase[row] as number), k);
}

function messageLinkAt(index: number): number {
  return state === null ? -1 : (state.model.linkAt[index] ?? -1);
}

function select(index: number, linkIndex: number, scroll: boolean, draw = true): void {
  if (state === null) return;
  if (index < 0 || index >= state.model.events.length) return;
  const event = state.model.events.at(index);
  state.selected = index;
  state.selectedLink = linkIndex >= 0 ? linkIndex : messageLinkAt(index);
  hook.selectedSeq = event.seq;
  showDetails(details, state.model, index, state.selectedLink);
  if (scroll) reveal(state.layout.rowOf[index] as number, false);
  if (draw) render();
}

function step(delta: number): void {
  if (state === null || state.layout.rowCount === 0) return;
  const { layout } = state;
  let row: number;
  if (state.selected < 0) row = delta > 0 ? 0 : layout.rowCount - 1;
  else {
    const current = layout.rowOf[state.selected] as number;
    if (current >= 0) row = current + delta;
    else {
      // The selected event is filtered out: continue from the nearest visible one.
      let low = 0;
      let high = layout.rowCount;
      while (low < high) {
        const middle = (low + high) >>> 1;
        if ((layout.eventAt[middle] as number) < state.selected) low = middle + 1;
        else high = middle;
      }
      row = delta > 0 ? low : low - 1;
    }
  }
  row = Math.max(0, Math.min(layout.rowCount - 1, row));
  select(layout.eventAt[row] as number, -1, true);
}

function nextViolation(): void {
  if (state === null || state.model.violations.length === 0) return;
  const after = state.model.violations.find((index) => index > state!.selected) ?? state.model.violations[0];
  if (after !== undefined) {
    select(after, -1, false);
    reveal(state.layout.rowOf[after] as number, true);
    render();
  }
}

function distanceToSegment(x: number, y: number, hit: Extract<Hit, { kind: 'link' }>): number {
  const dx = hit.x2 - hit.x1;
  const dy = hit.y2 - hit.y1;
  const length = dx * dx + dy * dy;
  const t = length === 0 ? 0 : Math.max(0, Math.min(1, ((x - hit.x1) * dx + (y - hit.y1) * dy) / length));
  return Math.hypot(x - (hit.x1 + t * dx), y - (hit.y1 + t * dy));
}

canvas.addEventListener('click', (event) => {
  if (state?.stats === null || state === null) return;
  const rect = canvas.getBoundingClientRect();
  const x = event.clientX - rect.left;
  const y = event.clientY - rect.top;
  let best: Hit | undefined;
  let bestDistance = 8;
  for (const hit of state.stats.hits) {
    const distance = hit.kind === 'link' ? distanceToSegment(x, y, hit) : Math.hypot(x - hit.x, y - hit.y) - 2;
    if (distance < bestDistance) {
      bestDistance = distance;
      best = hit;
    }
  }
  if (best === undefined) return;
  if (best.kind === 'link') {
    const link = state.model.links[best.link];
    if (link !== undefined) select(link.from, best.link, false);
  } else {
    select(best.index, -1, false);
  }
  diagram.focus();
});

diagram.addEventListener('keydown', (event) => {
  if (state === null) return;
  const page = Math.max(1, Math.floor((height - headerPx) / (rowPx * state.k)) - 2);
  const keys: Record<string, () => void> = {
    ArrowDown: () => step(1),
    j: () => step(1),
    n: () => step(1),
    ArrowUp: () => step(-1),
    k: () => step(-1),
    p: () => step(-1),
    PageDown: () => step(page),
    PageUp: () => step(-page),
    Home: () => step(-Infinity),
    End: () => step(Infinity),
    v: () => nextViolation(),
    f: () => fit(),
    '+': () => hook.zoomTo(Math.min(4, state!.k * 1.5)),
    '-': () => hook.zoomTo(state!.k / 1.5),
    '/': () => searchInput.focus(),
  };
  const action = keys[event.key];
  if (action === undefined) return;
  event.preventDefault();
  action();
});

// The toolbar's buttons do what their keys do; focus goes back to the diagram so keys keep working.
for (const [id, action] of [
  ['step-prev', () => step(-1)],
  ['step-next', () => step(1)],
  ['next-violation', () => nextViolation()],
  ['fit', () => fit()],
  ['zoom-in', () => state !== null && hook.zoomTo(Math.min(4, state.k * 1.5))],
  ['zoom-out', () => state !== null && hook.zoomTo(state.k / 1.5)],
  ['unfold-all', () => setUnfoldAll(!(state?.filters.unfoldAll ?? false))],
] as const)
  byId(id).addEventListener('click', () => {
    action();
    diagram.focus();
  });
byId('violation-banner').addEventListener('click', () => nextViolation());

// The full text of a label cut short (and of any other) shows as the canvas's title on hover.
canvas.addEventListener('mousemove', (event) => {
  const labels = state?.stats?.labels;
  if (labels === undefined) return;
  const rect = canvas.getBoundingClientRect();
  const x = event.clientX - rect.left;
  const y = event.clientY - rect.top;
  const label = labels.find(
    (candidate: PlacedLabel) => x >= candidate.x1 && x <= candidate.x2 && y >= candidate.y1 && y <= candidate.y2,
  );
  const title = label?.text ?? '';
  if (canvas.title !== title) canvas.title = title;
});

// Search: matches the text of each event (its trace line) and, for a message, the protocol's name and summary.
function searchText(model: Model, index: number): string {
  const text = model.events.line(index).toLowerCase();
  if (model.names.size === 0 || !(text.includes('"kind":"send"') || text.includes('"kind":"receive"'))) return text;
  const msg = /"msg":(\d+)/.exec(text);
  const name = msg === null ? undefined : model.names.get(Number(msg[1]));
  return name === undefined ? text : `${name.name} ${name.summary} ${text}`.toLowerCase();
}

function runSearch(): void {
  if (state === null) return;
  const query = searchInput.value.trim().toLowerCase();
  if (query === '') {
    state.matches = null;
    searchCount.textContent = '';
    render();
    return;
  }
  const matches = new Set<number>();
  const { model, layout } = state;
  for (let index = 0; index < model.events.length; index++)
    if ((layout.rowOf[index] as number) >= 0 && searchText(model, index).includes(query)) matches.add(index);
  state.matches = matches;
  searchCount.textContent = `${matches.size} found`;
  render();
}

searchInput.addEventListener('input', () => runSearch());
searchInput.addEventListener('keydown', (event) => {
  if (event.key !== 'Enter' || state?.matches === null || state === null || state.matches.size === 0) return;
  const sorted = [...state.matches].sort((a, b) => a - b);
  const next = sorted.find((index) => index > state!.selected) ?? (sorted[0] as number);
  select(next, -1, false);
  reveal(state.layout.rowOf[next] as number, true);
  render();
});

// Filters.
function relayout(): void {
  if (state === null) return;
  const anchorRow = rowAtOrAfter(state.layout, -state.ty / state.k);
  const anchorEvent = state.layout.eventAt[Math.min(anchorRow, state.layout.rowCount - 1)] ?? 0;
  state.layout = computeLayout(state.model, state.filters, timeMode.value as TimeMode);
  updateZoomLimits();
  overview.draw(state.model, state.layout);
  const row = state.layout.rowOf[anchorEvent] ?? -1;
  if (row >= 0) setTransform(16 - state.k * ((state.layout.yBase[row] as number) - rowPx / 2), state.k);
  runSearch();
  render();
}

function setUnfoldAll(on: boolean): void {
  if (state === null) return;
  state.filters = { ...state.filters, unfoldAll: on, unfolded: new Set() };
  relayout();
  refreshFoldControls();
}

function setLaneUnfolded(lane: string, on: boolean): void {
  if (state === null) return;
  const unfolded = new Set(state.filters.unfolded);
  if (on) unfolded.add(lane);
  else unfolded.delete(lane);
  state.filters = { ...state.filters, unfolded };
  relayout();
  refreshFoldControls();
}

/** The fold buttons say what a click does, and how many events each lane has folded away. */
function refreshFoldControls(): void {
  if (state === null) return;
  const { filters, layout, model } = state;
  const folded = layout.folded.reduce((sum, count) => sum + count, 0);
  hook.folded = folded;
  const all = byId<HTMLButtonElement>('unfold-all');
  all.textContent = filters.unfoldAll ? 'story view' : `+ details${folded > 0 ? ` (${folded})` : ''}`;
  all.title = filters.unfoldAll
    ? 'fold states, DNS, connections and notes away again'
    : 'show every state change, DNS query, connection and note (all lanes)';
  all.setAttribute('aria-pressed', String(filters.unfoldAll));
  for (const button of Array.from(document.querySelectorAll<HTMLButtonElement>('button.unfold-lane'))) {
    const lane = button.dataset['lane'] ?? '';
    const index = model.lanes.findIndex((candidate) => candidate.id === lane);
    const open = filters.unfoldAll || filters.unfolded.has(lane);
    const count = index >= 0 ? (layout.folded[index] ?? 0) : 0;
    button.textContent = open ? '−' : `+${count}`;
    button.title = open ? `fold ${lane}'s details away` : `show ${lane}'s ${count} folded events`;
    button.setAttribute('aria-pressed', String(open));
    button.disabled = filters.unfoldAll || (!open && count === 0);
  }
}

function checkbox(
  container: HTMLElement,
  label: string,
  checked: boolean,
  onChange: (on: boolean) => void,
  swatch?: string,
): void {
  const wrapper = document.createElement('label');
  const input = document.createElement('input');
  input.type = 'checkbox';
  input.checked = checked;
  input.addEventListener('change', () => onChange(input.checked));
  wrapper.append(input);
  if (swatch !== undefined) {
    const mark = document.createElement('span');
    mark.className = 'swatch';
    mark.style.background = swatch;
    wrapper.append(mark);
  }
  wrapper.append(document.createTextNode(label));
  container.append(wrapper);
}

function toggle<T>(set: ReadonlySet<T>, value: T, on: boolean): Set<T> {
  const next = new Set(set);
  if (on) next.delete(value);
  else next.add(value);
  return next;
}

function buildFilters(model: Model): void {
  const lanes = byId<HTMLDivElement>('filter-lanes');
  const protocols = byId<HTMLDivElement>('filter-protocols');
  const kinds = byId<HTMLDivElement>('filter-categories');
  const legend = byId<HTMLDivElement>('legend');
  for (const container of [lanes, protocols, kinds, legend]) container.replaceChildren();
  lanes.append(Object.assign(document.createElement('span'), { className: 'muted', textContent: 'nodes' }));
  for (const lane of model.lanes.filter((candidate) => !candidate.pseudo)) {
    checkbox(lanes, lane.id, true, (on) => {
      if (state === null) return;
      state.filters = { ...state.filters, hiddenLanes: toggle(state.filters.hiddenLanes, lane.id, on) };
      relayout();
      refreshFoldControls();
    });
    const unfold = document.createElement('button');
    unfold.className = 'unfold-lane';
    unfold.dataset['lane'] = lane.id;
    unfold.addEventListener('click', () => {
      setLaneUnfolded(lane.id, !(state?.filters.unfolded.has(lane.id) ?? false));
      diagram.focus();
    });
    lanes.append(unfold);
  }
  protocols.append(Object.assign(document.createElement('span'), { className: 'muted', textContent: 'protocols' }));
  for (const protocol of new Set(model.lanes.filter((lane) => !lane.pseudo).map((lane) => lane.protocol)))
    checkbox(protocols, protocol, true, (on) => {
      if (state === null) return;
      state.filters = { ...state.filters, hiddenProtocols: toggle(state.filters.hiddenProtocols, protocol, on) };
      relayout();
    });
  kinds.append(Object.assign(document.createElement('span'), { className: 'muted', textContent: 'events' }));
  const present = new Set<Category>();
  for (const code of new Set(model.category)) present.add(categories[code] as Category);
  for (const category of categories.filter((candidate) => present.has(candidate)))
    checkbox(kinds, category, true, (on) => {
      if (state === null) return;
      state.filters = { ...state.filters, hiddenCategories: toggle(state.filters.hiddenCategories, category, on) };
      relayout();
    });
  legend.append(Object.assign(document.createElement('span'), { className: 'muted', textContent: 'messages' }));
  const protocolCount = new Set([...model.kinds.values()].map((kind) => kind.protocol)).size;
  const sortedKinds = [...model.kinds.values()].sort(
    (a, b) => a.protocol.localeCompare(b.protocol) || b.count - a.count || a.label.localeCompare(b.label),
  );
  for (const kind of sortedKinds)
    checkbox(
      legend,
      `${protocolCount > 1 ? `${kind.protocol} ` : ''}${kind.label} (${kind.count})`,
      true,
      (on) => {
        if (state === null) return;
        state.filters = { ...state.filters, hiddenKinds: toggle(state.filters.hiddenKinds, kind.key, on) };
        relayout();
      },
      kind.color,
    );
}

timeMode.addEventListener('change', () => relayout());

// Exports.
function download(blob: Blob, name: string): void {
  const url = URL.createObjectURL(blob);
  const anchor = document.createElement('a');
  anchor.href = url;
  anchor.download = name;
  anchor.click();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/**
 * The frame an export draws: the main view as it is (`range`), or the whole trace from its first
 * row to its last at zoom 1, scaled down only when taller than `maxHeight` (labels then thin out
 * by priority, as in a fitted view).
 */
function exportFrame(current: ViewState, scope: ExportScope, maxHeight: number) {
  if (scope === 'range')
    return { frame: { ...frameOf(current, width, height), selected: -1, selectedLink: -1 }, height };
  const k = Math.min(1, (maxHeight - headerPx - 32) / current.layout.totalBase);
  const fullHeight = Math.ceil(headerPx + 32 + current.layout.totalBase * k);
  return {
    frame: { ...frameOf(current, width, fullHeight), ty: 16, k, selected: -1, selectedLink: -1 },
    height: fullHeight,
  };
}

function svgText(scope: ExportScope): string {
  if (state === null) return '';
  const { frame, height: svgHeight } = exportFrame(state, scope, 60_000);
  const svg = new SvgPainter(width, svgHeight, painter);
  drawFrame(frame, svg);
  return svg.toString();
}

/** A canvas with the export drawn on it (at twice the pixels when small enough, for sharp text). */
function pngCanvas(scope: ExportScope): HTMLCanvasElement | null {
  if (state === null) return null;
  const { frame, height: pngHeight } = exportFrame(state, scope, 16_000);
  const ratio = pngHeight * width * 4 <= 64_000_000 ? 2 : 1;
  const target = document.createElement('canvas');
  target.width = Math.round(width * ratio);
  target.height = Math.round(pngHeight * ratio);
  const targetContext = target.getContext('2d');
  if (targetContext === null) return null;
  targetContext.setTransform(ratio, 0, 0, ratio, 0, 0);
  drawFrame(frame, new CanvasPainter(targetContext));
  return target;
}

const exportScope = byId<HTMLSelectElement>('export-scope');
const exportName = (extension: string): string =>
  `${(hook.traceName || 'fedsim').replace(/\.(ndjson|jsonl|json|trace)$/g, '')}-${exportScope.value}.${extension}`;
byId('export-svg').addEventListener('click', () =>
  download(new Blob([svgText(exportScope.value as ExportScope)], { type: 'image/svg+xml' }), exportName('svg')),
);
byId('export-png').addEventListener('click', () =>
  pngCanvas(exportScope.value as ExportScope)?.toBlob((blob) => {
    if (blob !== null) download(blob, exportName('png'));
  }, 'image/png'),
);

function setServerExports(traceUrl: string | null): void {
  for (const [id, format] of [
    ['export-mermaid', 'mermaid'],
    ['export-shiviz', 'shiviz'],
  ] as const) {
    const anchor = byId<HTMLAnchorElement>(id);
    if (traceUrl === null) {
      anchor.removeAttribute('href');
      anchor.setAttribute('aria-disabled', 'true');
      anchor.title = 'served by `fedsim view`; from a file, use `fedsim export` on the command line';
    } else {
      anchor.href = `export/${format}`;
      anchor.removeAttribute('aria-disabled');
      anchor.title = `the whole trace as ${format === 'mermaid' ? 'a Mermaid sequence diagram' : 'a ShiViz log'}`;
    }
  }
}

/** The first violation in full above the diagram (the canvas label may be cut short); a click goes there. */
function showViolationBanner(model: Model): void {
  const banner = byId<HTMLDivElement>('violation-banner');
  const first = model.violations[0];
  const event = first === undefined ? undefined : model.events.at(first);
  if (event === undefined || event.kind !== 'check') {
    banner.hidden = true;
    banner.replaceChildren();
    return;
  }
  banner.hidden = false;
  const more = model.violations.length > 1 ? ` (1 of ${model.violations.length}; click for the next)` : '';
  banner.replaceChildren(
    Object.assign(document.createElement('strong'), {
      textContent: `✖ VIOLATION at #${event.seq}, ${event.atMs} ms${more}: `,
    }),
    Object.assign(document.createElement('span'), { className: 'requirement', textContent: event.requirement }),
    document.createTextNode(' — '),
    Object.assign(document.createElement('span'), { className: 'got', textContent: event.message }),
  );
  banner.title = 'go to the next violation (v)';
}

// Loading.
function showLoadError(name: string, error: unknown): void {
  hook.error = (error as Error).message;
  status.textContent = `${name}: ${hook.error}`;
  details.replaceChildren(
    Object.assign(document.createElement('p'), {
      className: 'bad',
      textContent: `Cannot read ${name}: ${hook.error}`,
    }),
  );
}

/** Loading in the page itself: when no worker can be started (the file picker still works). */
function loadInPage(text: string, name: string, names: MessageNames): void {
  const parseStart = performance.now();
  let parsed;
  try {
    parsed = parseTraceText(text);
  } catch (error) {
    showLoadError(name, error);
    return;
  }
  const modelStart = performance.now();
  const model = buildModel(parsed.header, parsed.events, names);
  show(model, name, parsed.warnings, modelStart - parseStart, performance.now() - modelStart);
  void verifySha256(text, parsed).then(showIntegrity);
}

let loader: Worker | null = null;

type TraceSource = { stream: ReadableStream<Uint8Array> } | { text: string } | { url: string };

/**
 * Loads a trace in the loader worker (load-worker.ts): it fetches the trace itself (or is given
 * the body stream, or the opened file's text), parses and models the whole trace off this thread,
 * and posts the model back as columns; the first frame is drawn from it at once. `namesText` is
 * names.json's text, passed on when it arrives; `parsedNames` the same, parsed here meanwhile.
 * `started` is a worker index.html started before this module loaded, already fetching `source`.
 */
function loadInWorker(
  source: TraceSource,
  name: string,
  namesText: Promise<string | null>,
  parsedNames: () => Promise<MessageNames>,
  started?: { worker: Worker; early: Event[] },
): void {
  loader?.terminate();
  let created: Worker | null = started?.worker ?? null;
  if (created === null)
    try {
      created = new Worker(new URL('./load-worker.ts', import.meta.url), { type: 'module' });
    } catch {
      // No workers here (an old browser, a file: page): parse in the page.
    }
  if (created === null) {
    const text =
      'text' in source
        ? Promise.resolve(source.text)
        : 'url' in source
          ? fetch(source.url).then((response) => response.text())
          : new Response(source.stream).text();
    void Promise.all([text, parsedNames()]).then(([whole, names]) => loadInPage(whole, name, names));
    return;
  }
  const worker = created;
  loader = worker;
  let replied = false;
  const onMessage = (event: MessageEvent<LoadReply>): void => {
    if (loader !== worker) return;
    replied = true;
    const reply = event.data;
    if (reply.type === 'error') {
      showLoadError(name, new Error(reply.message));
      worker.terminate();
    } else if (reply.type === 'sha256') {
      showIntegrity(reply.verdict);
      worker.terminate();
      loader = null;
    } else {
      const first = hook.loadedMs < 0;
      if (first)
        for (const [step, at] of Object.entries(reply.steps)) hook.loadSteps[step] = at - performance.timeOrigin;
      if (first) hook.loadSteps['model received'] = performance.now();
      const events = TraceEvents.lines(reply.text, reply.starts, reply.ends);
      const model = unpackModel(reply.packed, events, new NamesTable(reply.names));
      if (first) hook.loadSteps['model unpacked'] = performance.now();
      show(model, name, reply.warnings, reply.parseMs, reply.modelMs);
    }
  };
  const onError = (event: Event): void => {
    event.preventDefault();
    if (loader !== worker) return;
    worker.terminate();
    loader = null;
    // The early worker's script missing (the dev server names it otherwise): start one from here.
    if (started !== undefined && !replied) loadInWorker(source, name, namesText, parsedNames);
    else showLoadError(name, new Error(`the loader stopped: ${(event as ErrorEvent).message ?? 'error'}`));
  };
  worker.onmessage = onMessage;
  worker.onerror = onError;
  if (started !== undefined) {
    for (const event of started.early.splice(0)) {
      if (event.type === 'message') onMessage(event as MessageEvent<LoadReply>);
      else onError(event);
    }
  } else {
    try {
      if ('text' in source) worker.postMessage({ type: 'trace', text: source.text } satisfies LoadRequest);
      else if ('url' in source) worker.postMessage({ type: 'trace', url: source.url } satisfies LoadRequest);
      else worker.postMessage({ type: 'trace', stream: source.stream } satisfies LoadRequest, [source.stream]);
    } catch {
      // A browser that cannot transfer streams: read the body here and post the text.
      if ('stream' in source) {
        void new Response(source.stream).text().then((text) => loadInWorker({ text }, name, namesText, parsedNames));
        return;
      }
    }
  }
  void namesText.then((text) => worker.postMessage({ type: 'names', text } satisfies LoadRequest));
}

function showIntegrity(verdict: boolean | undefined): void {
  hook.sha256 = verdict === undefined ? 'unchecked' : verdict ? 'ok' : 'mismatch';
  const integrity = byId('integrity');
  integrity.textContent = verdict === undefined ? 'sha256 unchecked' : verdict ? 'sha256 ok' : 'sha256 MISMATCH';
  integrity.className = `badge ${verdict === false ? 'bad' : verdict === true ? 'ok' : ''}`;
}

/** Lays out a trace's model and draws its first frame (then `ready`; the sha256 verdict follows). */
function show(model: Model, name: string, warnings: readonly string[], parseMs: number, modelMs: number): void {
  const layoutStart = performance.now();
  const layout = computeLayout(model, emptyFilters(), timeMode.value as TimeMode);
  if (hook.loadedMs < 0) hook.loadSteps['laid out'] = performance.now();
  hook.parseMs = parseMs;
  hook.modelMs = modelMs + (performance.now() - layoutStart);
  state = {
    model,
    layout,
    filters: emptyFilters(),
    ty: 16,
    k: 1,
    selected: -1,
    selectedLink: -1,
    matches: null,
    stats: null,
  };
  byId('drop-hint').hidden = true;
  const traceName = byId('trace-name');
  traceName.textContent = `${name} · ${model.header.scenario} · seed ${model.header.seed} · ${model.events.length.toLocaleString('en')} events`;
  traceName.title = traceName.textContent;
  buildFilters(model);
  refreshFoldControls();
  showViolationBanner(model);
  resize(false); // The banner takes room from the diagram; the first frame is drawn below.
  updateZoomLimits();
  overview.draw(model, layout);
  details.replaceChildren(
    Object.assign(document.createElement('p'), {
      className: 'muted',
      textContent: 'Click an arrow or an event. Step with ↑/↓ (or j/k), v for the next violation.',
    }),
  );
  const view = height - headerPx;
  const firstViolation = model.violations[0];
  if (firstViolation !== undefined) {
    setTransform(16, 1);
    select(firstViolation, -1, false, false);
    reveal(layout.rowOf[firstViolation] as number, true);
  } else if (layout.totalBase * 0.55 <= view - 32) {
    setTransform(16, Math.min(1, (view - 32) / layout.totalBase));
  } else {
    setTransform(16, 1);
  }
  render();
  hook.traceName = name;
  hook.events = model.events.length;
  hook.lanes = model.lanes.filter((lane) => !lane.pseudo).length;
  hook.laneIds = model.lanes.map((lane) => lane.id);
  hook.violationSeqs = model.violations.map((index) => model.events.at(index).seq);
  hook.error = null;
  // The whole trace is in, and its first screen drawn: both times are that moment.
  if (hook.firstRenderMs < 0) hook.firstRenderMs = performance.now();
  if (hook.loadedMs < 0) hook.loadedMs = hook.firstRenderMs;
  hook.ready = true;
  status.textContent = [
    `parse ${hook.parseMs.toFixed(0)} ms, model ${hook.modelMs.toFixed(0)} ms, frame ${hook.lastFrameMs.toFixed(1)} ms`,
    ...warnings,
  ].join(' · ');
  hook.sha256 = 'pending';
  const integrity = byId('integrity');
  integrity.textContent = '';
  integrity.className = 'badge';
}

function openFile(file: File): void {
  setServerExports(null);
  void file
    .text()
    .then((text) =>
      loadInWorker({ text }, file.name, Promise.resolve(null), () => Promise.resolve(new Map<number, never>())),
    );
}

byId<HTMLInputElement>('file-input').addEventListener('change', (event) => {
  const file = (event.target as HTMLInputElement).files?.[0];
  if (file !== undefined) openFile(file);
});

diagram.addEventListener('dragover', (event) => {
  event.preventDefault();
  diagram.classList.add('dragover');
});
diagram.addEventListener('dragleave', () => diagram.classList.remove('dragover'));
diagram.addEventListener('drop', (event) => {
  event.preventDefault();
  diagram.classList.remove('dragover');
  const file = event.dataTransfer?.files[0];
  if (file !== undefined) openFile(file);
});

new ResizeObserver(() => resize()).observe(diagram);
resize();

const traceUrl = new URLSearchParams(location.search).get('trace');
setServerExports(traceUrl);
if (traceUrl !== null) {
  // The protocols' names for messages come from `fedsim view` beside the trace (names.json),
  // fetched alongside it; without them the viewer falls back to the payload's own type field.
  const namesUrl = new URLSearchParams(location.search).get('names');
  const prefetch = window.__fedsimPrefetch;
  window.__fedsimPrefetch = undefined;
  const namesResponse = prefetch?.names ?? (namesUrl === null ? null : fetch(namesUrl));
  const namesText: Promise<string | null> =
    namesResponse === null
      ? Promise.resolve(null)
      : namesResponse.then((answer) => (answer.ok ? answer.text() : null)).catch(() => null);
  // Parsed here only when the page loads the trace itself; the worker parses them and posts them.
  let parsed: Promise<MessageNames> | undefined;
  const names = (): Promise<MessageNames> =>
    (parsed ??= namesText.then((text) => {
      try {
        return text === null ? new Map() : parseNames(JSON.parse(text));
      } catch {
        return new Map();
      }
    }));
  const name = decodeURIComponent(traceUrl.split('/').pop() ?? traceUrl);
  hook.loadSteps['page script ran'] = performance.now();
  if (prefetch?.loader !== undefined)
    loadInWorker({ url: new URL(traceUrl, location.href).href }, name, namesText, names, prefetch.loader);
  else
    void (prefetch?.trace ?? fetch(traceUrl))
      .then((response) => {
        if (!response.ok) throw new Error(`${response.status} ${response.statusText}`);
        if (response.body === null) throw new Error('empty response');
        loadInWorker({ stream: response.body }, name, namesText, names);
      })
      .catch((error: unknown) => {
        hook.error = `cannot fetch ${traceUrl}: ${(error as Error).message}`;
        status.textContent = hook.error;
      });
}
