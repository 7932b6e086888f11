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
}

const faultFill: Readonly<Record<string, string>> = {
  partition: 'rgba(255, 152, 0, 0.13)',
  clog: 'rgba(33, 113, 181, 0.11)',
  crash: 'rgba(214, 39, 40, 0.10)',
};
const violationRed = '#d62728';
const hitsMax = 60_000; // Beyond this a click picks among the first ones; a frame that dense is an overview anyway.

/** Lane x positions (NaN for hidden lanes). */
export function laneXs(frame: Pick<Frame, 'model' | 'layout' | 'width' | 'gutterPx'>): number[] {
  const visible = frame.model.lanes.map((_, index) => index).filter((index) => frame.layout.laneVisible[index]);
  const xs = frame.model.lanes.map(() => Number.NaN);
  const usable = frame.width - frame.gutterPx - 24;
  const step = usable / Math.max(visible.length, 1);
  visible.forEach((lane, position) => (xs[lane] = frame.gutterPx + step * (position + 0.5) - step * 0.12));
  return xs;
}

function shortMachine(machine: string, protocol: string): string {
  return machine.startsWith(`${protocol}.`) ? machine.slice(protocol.length + 1) : machine;
}

function truncate(text: string, length: number): string {
  return text.length > length ? `${text.slice(0, length - 1)}…` : text;
}

function commandLabel(command: unknown): string {
  if (typeof command === 'object' && command !== null) {
    const record = command as Record<string, unknown>;
    const parts = Object.values(record).filter((value) => typeof value === 'string' || typeof value === 'number');
    return truncate(parts.join(' '), 48);
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

export function drawFrame(frame: Frame, painter: Painter): FrameStats {
  const { model, layout, width, height, headerPx, gutterPx, ty, k } = frame;
  const stats: FrameStats = {
    arrows: 0,
    links: 0,
    stateLabels: 0,
    glyphs: 0,
    rowFirst: 0,
    rowLast: -1,
    dense: false,
    hits: [],
  };
  const xs = laneXs(frame);
  const yOf = (row: number): number => headerPx + ty + k * (layout.yBase[row] as number);
  const baseTop = -ty / k;
  const baseBottom = (height - headerPx - ty) / k;
  const rowFirst = rowAtOrAfter(layout, baseTop - 2 * k);
  const rowEnd = Math.min(layout.rowCount, rowAtOrAfter(layout, baseBottom + 2) + 1);
  stats.rowFirst = rowFirst;
  stats.rowLast = rowEnd - 1;
  const visibleRows = rowEnd - rowFirst;
  const pixelsPerRow = visibleRows > 0 ? (height - headerPx) / visibleRows : 100;
  const rowScreenPx = Math.min(k * 20, pixelsPerRow * 1.0);
  const dense = rowScreenPx < 7;
  const veryDense = rowScreenPx < 1.5;
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
    if (!dense && y1 >= headerPx)
      painter.text(x1 + 4, y1 + 7, `${fault.label}`, { color: '#a15c00', size: 10, weight: 'bold' });
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
  const labels: { x: number; y: number; text: string; color: string }[] = [];
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
  const headLength = dense ? 0 : 8;
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
    let end = link.ending;
    const selected = linkIndex === frame.selectedLink;
    if (link.style === 'message') {
      stats.arrows += 1;
      if (end === 'cross') x2 = xa + (xb - xa) * 0.72;
      if (end === 'open') x2 = xa + (xb - xa) * 0.4;
      const dash = link.duplicate ? [5, 3] : end === 'open' ? [2, 3] : [];
      batches.stroke(link.color, selected ? 3 : dense ? 1 : 1.6, dash).push(xa, y1, x2, end === 'open' ? y1 + 6 : y2);
      if (end === 'open') end = 'open';
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
    if (!dense && link.style !== 'connect' && link.style !== 'refuse') {
      // A DNS answer's label sits below its line, near the asking node, clear of the query's label above.
      const answer = link.style === 'dns.answer';
      const t = answer ? 0.72 : 0.5;
      labels.push({
        x: xa + (x2 - xa) * t,
        y: y1 + (y2 - y1) * t + (answer ? 8 : -7),
        text: truncate(link.label, 40),
        color: link.style === 'message' ? link.color : '#6b6b6b',
      });
    }
  }
  batches.flush(painter);
  for (const label of labels)
    painter.text(label.x, label.y, label.text, {
      color: label.color,
      size: 11,
      align: 'center',
      weight: 'bold',
      halo: true,
    });

  // Event glyphs and labels on the rows on screen.
  if (!veryDense) {
    const lastLabelY = new Map<number, number>();
    const dots = new Map<string, number[]>();
    const dot = (color: string, x: number, y: number) => {
      let list = dots.get(color);
      if (list === undefined) dots.set(color, (list = []));
      list.push(x, y);
    };
    const roomFor = (lane: number, y: number): boolean => {
      const last = lastLabelY.get(lane);
      if (last !== undefined && y - last < 12) return false;
      lastLabelY.set(lane, y);
      return true;
    };
    for (let row = rowFirst; row < rowEnd; row++) {
      const index = layout.eventAt[row] as number;
      const event = model.events[index] as TraceEvent;
      const lane = model.laneOf[index] as number;
      const x = lane >= 0 ? (xs[lane] as number) : left;
      const y = yOf(row);
      if (y < headerPx - 12 || y > height + 12) continue;
      const labelX = x + 8;
      const protocol = lane >= 0 ? (model.lanes[lane]?.protocol ?? '') : '';
      stats.glyphs += 1;
      if (stats.hits.length < hitsMax) stats.hits.push({ kind: 'event', index, x, y });
      if (frame.matches?.has(index) === true) painter.circle(x, y, 7, 'rgba(255, 140, 0, 0.35)', '#ff8c00');
      switch (event.kind) {
        case 'send':
        case 'receive':
          dot('#4a4a4a', x, y);
          break;
        case 'state': {
          dot('#2f5d9a', x, y);
          if (dense || !roomFor(lane, y)) break;
          const machine = shortMachine(event.machine, protocol);
          const text = `${machine}: ${event.value}`;
          const textWidth = painter.measure(text, 11, 'bold');
          painter.rect(labelX - 3, y - 8, textWidth + 8, 16, '#e8f0fb', '#8eaad3', 4);
          painter.text(labelX + 1, y, text, { color: '#1d3d6b', size: 11, weight: 'bold' });
          stats.stateLabels += 1;
          break;
        }
        case 'conn.connect':
          painter.circle(x, y, 3.5, '#ffffff', '#6b6b6b');
          if (!dense && roomFor(lane, y))
            painter.text(labelX, y, `connect → ${event.target}`, { color: '#555', size: 10, halo: true });
          break;
        case 'conn.accept':
        case 'conn.open':
          painter.circle(x, y, 3.5, '#6b6b6b');
          if (!dense && roomFor(lane, y))
            painter.text(labelX, y, `${event.kind === 'conn.open' ? 'open' : 'accept'} ${event.conn} ⇄ ${event.peer}`, {
              color: '#555',
              size: 10,
              halo: true,
            });
          break;
        case 'conn.close':
          painter.rect(x - 3, y - 3, 6, 6, '#6b6b6b');
          if (!dense && roomFor(lane, y))
            painter.text(labelX, y, `close ${event.conn} (${event.reason})`, { color: '#555', size: 10, halo: true });
          break;
        case 'conn.refuse': {
          const cross: number[] = [];
          pushCross(cross, x, y, 4);
          painter.segments(cross, violationRed, 2);
          if (!dense && roomFor(lane, y))
            painter.text(labelX, y, `refused: ${event.target} (${event.reason})`, {
              color: violationRed,
              size: 11,
              weight: 'bold',
              halo: true,
            });
          break;
        }
        case 'listen':
        case 'unlisten':
          dot('#6b6b6b', x, y);
          if (!dense && roomFor(lane, y))
            painter.text(labelX, y, `${event.kind} ${event.endpoint}`, { color: '#555', size: 10, halo: true });
          break;
        case 'dns.query':
        case 'dns.answer':
          dot('#7f7f7f', x, y);
          break;
        case 'deliver': {
          if (dense || !roomFor(lane, y)) {
            dot('#2ca02c', x, y);
            break;
          }
          const text = truncate(`✉ delivered to ${event.user}: ${event.body}`, 60);
          const textWidth = painter.measure(text, 11, 'bold');
          painter.rect(labelX - 3, y - 8, textWidth + 8, 16, '#e3f4e1', '#7cc276', 4);
          painter.text(labelX + 1, y, text, { color: '#1e6b1a', size: 11, weight: 'bold' });
          break;
        }
        case 'note':
          dot('#999', x, y);
          if (!dense && roomFor(lane, y))
            painter.text(labelX, y, truncate(event.what, 70), { color: '#3a3a3a', size: 11, italic: true, halo: true });
          break;
        case 'timer':
          dot('#999', x, y);
          if (!dense && roomFor(lane, y))
            painter.text(labelX, y, `◷ ${event.name}`, { color: '#777', size: 10, halo: true });
          break;
        case 'command':
          painter.circle(x, y, 3.5, '#7b4fa0');
          if (!dense && roomFor(lane, y))
            painter.text(labelX, y, `▶ ${commandLabel(event.command)}`, {
              color: '#6a3d9a',
              size: 11,
              weight: 'bold',
              halo: true,
            });
          break;
        case 'reject':
          dot(violationRed, x, y);
          if (!dense && roomFor(lane, y))
            painter.text(labelX, y, `reject ${event.code}: ${event.reason}`, {
              color: violationRed,
              size: 10,
              halo: true,
            });
          break;
        case 'node.crash':
        case 'node.start': {
          const crash = event.kind === 'node.crash';
          painter.rect(x - 14, y - 2.5, 28, 5, crash ? violationRed : '#2ca02c');
          if (!dense && roomFor(lane, y))
            painter.text(x + 18, y, crash ? 'crash' : 'start', {
              color: crash ? violationRed : '#2c7a2c',
              size: 10,
              weight: 'bold',
              halo: true,
            });
          break;
        }
        case 'duplicate': {
          const target = model.lanes.findIndex((candidate) => candidate.id === event.to);
          const tx = target >= 0 ? (xs[target] as number) : left;
          if (Number.isNaN(tx)) break;
          painter.text(tx - 8, y, `×2 #${event.msg}`, {
            color: '#d45f00',
            size: 10,
            weight: 'bold',
            align: 'right',
            halo: true,
          });
          break;
        }
        case 'fault':
          if (!dense && roomFor(-1, y))
            painter.text(
              left,
              y,
              `⚠ ${event.fault} ${event.phase === 'begin' ? 'begins' : event.phase === 'end' ? 'ends' : ''}`,
              { color: '#a15c00', size: 10, weight: 'bold', halo: true },
            );
          break;
        case 'check':
          if (event.verdict === 'violation') {
            painter.text(left, y, truncate(`✖ VIOLATION ${event.requirement}: ${event.message}`, 90), {
              color: violationRed,
              size: 12,
              weight: 'bold',
              halo: true,
            });
          } else if (!dense && roomFor(-1, y)) {
            painter.text(left, y, truncate(`✓ ${event.requirement}`, 60), {
              color: '#2c7a2c',
              size: 10,
              weight: 'bold',
              halo: true,
            });
          }
          break;
        default:
          break;
      }
    }
    for (const [color, points] of dots) {
      for (let i = 0; i + 1 < points.length; i += 2)
        painter.circle(points[i] as number, points[i + 1] as number, dense ? 1.5 : 2.6, color);
    }
  }

  // Time gutter.
  painter.rect(0, headerPx, gutterPx, height - headerPx, '#f7f8fa');
  painter.segments([gutterPx, headerPx, gutterPx, height], '#d5d9de', 1);
  let lastY = -Infinity;
  let lastAtMs = -1;
  if (!dense) {
    for (let row = rowFirst; row < rowEnd; row++) {
      const event = model.events[layout.eventAt[row] as number] as TraceEvent;
      const y = yOf(row);
      if (event.atMs === lastAtMs || y - lastY < 13 || y < headerPx + 6) continue;
      painter.text(gutterPx - 6, y, `${event.atMs} ms`, { color: '#5a6270', size: 10, align: 'right' });
      lastY = y;
      lastAtMs = event.atMs;
    }
  } else {
    for (let y = headerPx + 14; y < height; y += 48) {
      const row = rowAtOrAfter(layout, (y - headerPx - ty) / k);
      if (row >= layout.rowCount) break;
      const event = model.events[layout.eventAt[row] as number] as TraceEvent;
      painter.text(gutterPx - 6, y, `${event.atMs} ms`, { color: '#5a6270', size: 10, align: 'right' });
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
