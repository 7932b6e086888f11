/**
 * The overview strip: the whole trace squeezed into the strip's height (event density per
 * pixel, violations in red, faults in orange) with a d3 brush showing, and moving, the part of
 * the trace the main view shows. Dragging the brush pans; brushing a new range zooms to it; a
 * click centres the main view on that point.
 *
 * It draws from the layout only and owns no view state: `show` reflects the main view, and
 * `onBrush` reports what the user asked for.
 */
import * as d3 from 'd3';
import type { Layout } from './layout.js';
import type { Model } from './model.js';

export class Overview {
  private readonly brush: d3.BrushBehavior<unknown>;
  private readonly brushGroup: d3.Selection<SVGGElement, unknown, null, undefined>;
  private moving = false;
  private height = 0;
  private totalBase = 1;

  constructor(
    private readonly canvas: HTMLCanvasElement,
    svg: SVGSVGElement,
    private readonly onBrush: (baseTop: number, baseBottom: number) => void,
    private readonly onClick: (base: number) => void,
  ) {
    this.brush = d3.brushY<unknown>();
    this.brushGroup = d3.select(svg).append('g').attr('class', 'brush');
    this.brush.on('brush end', (event) => {
      if (this.moving || event.sourceEvent === null || event.sourceEvent === undefined) return;
      if (event.selection === null) {
        // A click without a drag clears a d3 brush: read it as "go there".
        if (event.type !== 'end') return;
        const [, y] = d3.pointer(event.sourceEvent, svg);
        this.onClick((Math.max(0, Math.min(this.height, y)) / this.height) * this.totalBase);
        return;
      }
      const [top, bottom] = event.selection;
      this.onBrush((top / this.height) * this.totalBase, (bottom / this.height) * this.totalBase);
    });
  }

  /** Redraws the density for a new layout (after loading or filtering). */
  draw(model: Model, layout: Layout): void {
    const width = this.canvas.clientWidth;
    const height = this.canvas.clientHeight;
    this.height = height;
    this.totalBase = layout.totalBase;
    const ratio = window.devicePixelRatio || 1;
    this.canvas.width = Math.round(width * ratio);
    this.canvas.height = Math.round(height * ratio);
    const context = this.canvas.getContext('2d');
    if (context === null) return;
    context.setTransform(ratio, 0, 0, ratio, 0, 0);
    context.fillStyle = '#f3f5f8';
    context.fillRect(0, 0, width, height);
    const bins = new Float64Array(Math.max(1, Math.ceil(height)));
    for (let row = 0; row < layout.rowCount; row++) {
      const bin = Math.min(bins.length - 1, Math.floor(((layout.yBase[row] as number) / layout.totalBase) * height));
      bins[bin] = (bins[bin] as number) + 1;
    }
    let max = 16; // A floor, so that a short trace reads as sparse rather than as full bars.
    for (const count of bins) max = Math.max(max, count);
    context.fillStyle = '#8aa1bd';
    for (let bin = 0; bin < bins.length; bin++) {
      const count = bins[bin] as number;
      if (count === 0) continue;
      const length = (Math.log1p(count) / Math.log1p(max)) * (width - 6);
      context.fillRect(3, bin, Math.max(1, length), 1);
    }
    const mark = (index: number, color: string, thickness: number) => {
      const row = layout.rowOf[index] as number;
      if (row < 0) return;
      context.fillStyle = color;
      context.fillRect(
        0,
        ((layout.yBase[row] as number) / layout.totalBase) * height - thickness / 2,
        width,
        thickness,
      );
    };
    for (const fault of model.faults) mark(fault.from, 'rgba(255, 140, 0, 0.7)', 1);
    for (const index of model.violations) mark(index, '#d62728', 3);
    this.brush.extent([
      [0, 0],
      [width, height],
    ]);
    this.brushGroup.call(this.brush);
  }

  /** Moves the brush to the main view's range, without reporting it back. */
  show(baseTop: number, baseBottom: number): void {
    if (this.height === 0) return;
    const top = Math.max(0, (baseTop / this.totalBase) * this.height);
    const bottom = Math.min(this.height, Math.max(top + 2, (baseBottom / this.totalBase) * this.height));
    this.moving = true;
    this.brush.move(this.brushGroup, [top, bottom]);
    this.moving = false;
  }
}
