/**
 * Where things go: which events pass the filters, the row of each visible event, the vertical
 * position of each row (event order or virtual time), and the links that survive the filters,
 * ordered so that a frame can find the ones on screen by binary search.
 *
 * Recomputed when filters or the time mode change, never per frame. No DOM here.
 */
import { categories } from './model.js';
import type { Category, Link, Model } from './model.js';

/** Height of one row at zoom 1, in CSS pixels. */
export const rowPx = 20;

export interface Filters {
  readonly hiddenLanes: ReadonlySet<string>;
  readonly hiddenProtocols: ReadonlySet<string>;
  readonly hiddenCategories: ReadonlySet<Category>;
  /** Message kinds (`protocol/label`) switched off in the legend. */
  readonly hiddenKinds: ReadonlySet<string>;
  /**
   * The story view folds detail events (`isDetail`: states, DNS, connections, notes, timers) away;
   * these lanes show theirs. `unfoldAll` shows every lane's.
   */
  readonly unfolded: ReadonlySet<string>;
  readonly unfoldAll: boolean;
}

export type TimeMode = 'order' | 'time';

export interface Layout {
  readonly mode: TimeMode;
  /** Row of each event, -1 when filtered out. */
  readonly rowOf: Int32Array;
  /** Event index of each row. */
  readonly eventAt: Int32Array;
  readonly rowCount: number;
  /** Vertical position of each row at zoom 1 (increasing). */
  readonly yBase: Float64Array;
  readonly totalBase: number;
  readonly laneVisible: readonly boolean[];
  /** Indexes into model.links that pass the filters, by starting row. */
  readonly links: Int32Array;
  /** Largest vertical extent of a visible link, at zoom 1. */
  readonly linkSpanBaseMax: number;
  /**
   * Time mode: idle stretches cut short (a broken axis), as pairs [yBase of the cut, ms skipped].
   * Empty in order mode.
   */
  readonly breaks: readonly { readonly y: number; readonly skippedMs: number }[];
  /** Detail events folded away per lane (story view). */
  readonly folded: Int32Array;
  /** The visible links again, as columns (same order as `links`), for frames too dense for more than strokes. */
  readonly linkColumns: LinkColumns;
}

/** Per visible link: what a dense frame needs, in typed arrays (no object per link read per frame). */
export interface LinkColumns {
  readonly fromBase: Float64Array;
  readonly toBase: Float64Array;
  readonly fromLane: Int32Array;
  readonly toLane: Int32Array;
  /** Index into `colors`. */
  readonly color: Int32Array;
  readonly colors: readonly string[];
  /** 0: to the lane, 1: a drop (cut short, crossed), 2: in flight (a stub), 3: a refusal (short of the lane). */
  readonly shape: Uint8Array;
  /** 1 for a message arrow. */
  readonly message: Uint8Array;
}

function linkColumns(model: Model, links: readonly number[], rowOf: Int32Array, yBase: Float64Array): LinkColumns {
  const count = links.length;
  const columns = {
    fromBase: new Float64Array(count),
    toBase: new Float64Array(count),
    fromLane: new Int32Array(count),
    toLane: new Int32Array(count),
    color: new Int32Array(count),
    colors: [] as string[],
    shape: new Uint8Array(count),
    message: new Uint8Array(count),
  };
  const colorIndex = new Map<string, number>();
  for (let position = 0; position < count; position++) {
    const link = model.links[links[position] as number] as Link;
    columns.fromBase[position] = yBase[rowOf[link.from] as number] as number;
    columns.toBase[position] = yBase[rowOf[link.to] as number] as number;
    columns.fromLane[position] = link.fromLane;
    columns.toLane[position] = link.toLane;
    let color = colorIndex.get(link.color);
    if (color === undefined) {
      color = columns.colors.length;
      colorIndex.set(link.color, color);
      columns.colors.push(link.color);
    }
    columns.color[position] = color;
    columns.shape[position] =
      link.style === 'refuse' ? 3 : link.ending === 'cross' ? 1 : link.ending === 'open' ? 2 : 0;
    columns.message[position] = link.style === 'message' ? 1 : 0;
  }
  return columns;
}

export function emptyFilters(): Filters {
  return {
    hiddenLanes: new Set(),
    hiddenProtocols: new Set(),
    hiddenCategories: new Set(),
    hiddenKinds: new Set(),
    unfolded: new Set(),
    unfoldAll: false,
  };
}

/** Time mode: rows at one instant sit this far apart; a quiet stretch adds at most `breakBase`. */
const sameInstantBase = rowPx * 0.8;
const breakBase = rowPx * 2.5;

export function computeLayout(model: Model, filters: Filters, mode: TimeMode): Layout {
  const laneUnfolded = model.lanes.map((lane) => filters.unfoldAll || filters.unfolded.has(lane.id));
  const anyUnfolded = laneUnfolded.some((unfolded, lane) => unfolded && !model.lanes[lane]?.pseudo);
  const laneVisible = model.lanes.map(
    (lane) =>
      !filters.hiddenLanes.has(lane.id) &&
      !filters.hiddenProtocols.has(lane.protocol) &&
      !(lane.pseudo && (filters.hiddenCategories.has('dns') || !anyUnfolded)),
  );
  const folded = new Int32Array(model.lanes.length);
  const count = model.events.length;
  const rowOf = new Int32Array(count).fill(-1);
  const eventAtAll = new Int32Array(count);
  const categoryHidden = categories.map((category) => filters.hiddenCategories.has(category));
  const { category, detail } = model;
  let rows = 0;
  for (let index = 0; index < count; index++) {
    const lane = model.laneOf[index] as number;
    if (lane >= 0 && !laneVisible[lane]) continue;
    if (lane >= 0 && detail[index] === 1 && !laneUnfolded[lane]) {
      folded[lane] = (folded[lane] as number) + 1;
      continue;
    }
    if (categoryHidden[category[index] as number] === true) continue;
    const kindKey = model.kindKeyOf[index] as string;
    if (kindKey !== '' && filters.hiddenKinds.has(kindKey)) continue;
    rowOf[index] = rows;
    eventAtAll[rows] = index;
    rows += 1;
  }
  const eventAt = eventAtAll.slice(0, rows);
  const yBase = new Float64Array(rows);
  const breaks: { y: number; skippedMs: number }[] = [];
  let totalBase = Math.max(rows, 1) * rowPx;
  if (mode === 'order') {
    for (let row = 0; row < rows; row++) yBase[row] = (row + 0.5) * rowPx;
  } else {
    // Virtual time, with idle stretches compressed: a gap adds its length at a scale where the
    // typical (median) gap is one row, but never more than `breakBase`; longer gaps are cut and
    // marked. Rows at the same instant still get their own line, so nothing piles up.
    const gaps: number[] = [];
    for (let row = 1; row < rows; row++) {
      const gap = (model.atMs[eventAt[row] as number] as number) - (model.atMs[eventAt[row - 1] as number] as number);
      if (gap > 0) gaps.push(gap);
    }
    gaps.sort((a, b) => a - b);
    const typical = gaps.length > 0 ? (gaps[gaps.length >> 1] as number) : 1;
    const perMs = rowPx / Math.max(typical, 1e-9);
    let y = rowPx / 2;
    for (let row = 0; row < rows; row++) {
      if (row > 0) {
        const gap = (model.atMs[eventAt[row] as number] as number) - (model.atMs[eventAt[row - 1] as number] as number);
        const scaled = gap * perMs;
        if (scaled > breakBase) {
          breaks.push({ y: y + (sameInstantBase + breakBase) / 2, skippedMs: gap });
          y += sameInstantBase + breakBase;
        } else y += sameInstantBase + scaled;
      }
      yBase[row] = y;
    }
    totalBase = y + rowPx / 2;
  }
  const links: number[] = [];
  let linkSpanBaseMax = 0;
  model.links.forEach((link: Link, index) => {
    const from = rowOf[link.from] as number;
    const to = rowOf[link.to] as number;
    if (from < 0 || to < 0 || !laneVisible[link.fromLane] || !laneVisible[link.toLane]) return;
    if (link.style === 'message' && filters.hiddenKinds.has(link.kindKey)) return;
    if ((link.style === 'connect' || link.style === 'refuse') && filters.hiddenCategories.has('connection')) return;
    links.push(index);
    linkSpanBaseMax = Math.max(linkSpanBaseMax, (yBase[to] as number) - (yBase[from] as number));
  });
  // model.links is sorted by starting event, and rows keep event order, so `links` is sorted by starting row.
  return {
    mode,
    rowOf,
    eventAt,
    rowCount: rows,
    yBase,
    totalBase,
    laneVisible,
    links: Int32Array.from(links),
    linkSpanBaseMax,
    breaks,
    folded,
    linkColumns: linkColumns(model, links, rowOf, yBase),
  };
}

/** First row whose yBase is >= y (rowCount when none). */
export function rowAtOrAfter(layout: Layout, y: number): number {
  let low = 0;
  let high = layout.rowCount;
  while (low < high) {
    const middle = (low + high) >>> 1;
    if ((layout.yBase[middle] as number) < y) low = middle + 1;
    else high = middle;
  }
  return low;
}

/** The visible row nearest to y (base units), or -1 when nothing is visible. */
export function rowNearest(layout: Layout, y: number): number {
  if (layout.rowCount === 0) return -1;
  const after = Math.min(rowAtOrAfter(layout, y), layout.rowCount - 1);
  const before = Math.max(after - 1, 0);
  return Math.abs((layout.yBase[before] as number) - y) <= Math.abs((layout.yBase[after] as number) - y)
    ? before
    : after;
}
