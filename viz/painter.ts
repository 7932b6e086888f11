/**
 * Two painters with one interface: a canvas painter for the screen (fast, batched strokes) and
 * an SVG painter for the "export SVG" button. The renderer (draw.ts) speaks only this interface,
 * so the exported SVG is exactly the current view.
 *
 * Painters know nothing about traces; they draw lines, shapes and text.
 */

export interface TextStyle {
  readonly color: string;
  readonly size?: number;
  readonly align?: 'left' | 'center' | 'right';
  readonly weight?: 'normal' | 'bold';
  readonly italic?: boolean;
  /** A light outline behind the text, to keep it legible over lines. */
  readonly halo?: boolean;
}

export interface Painter {
  /** Many segments with one stroke style: [x1, y1, x2, y2, ...]. */
  segments(points: ArrayLike<number>, color: string, width: number, dash?: readonly number[]): void;
  /** Many filled triangles with one colour: [x1, y1, x2, y2, x3, y3, ...]. */
  triangles(points: readonly number[], color: string): void;
  rect(x: number, y: number, width: number, height: number, fill: string, stroke?: string, radius?: number): void;
  circle(x: number, y: number, radius: number, fill: string | null, stroke?: string): void;
  text(x: number, y: number, text: string, style: TextStyle): void;
  /** Width of `text` in pixels at `size`. */
  measure(text: string, size: number, weight?: 'normal' | 'bold'): number;
  /**
   * Draws `draw`'s output as one layer, which a painter may keep and draw again, without calling
   * `draw`, for as long as `key` stays the same (the canvas keeps one bitmap; SVG just draws).
   * Returns false when `draw` was not called.
   */
  layer?(key: string, draw: (painter: Painter) => void): boolean;
  /**
   * Draws a layer as `layer` would, without showing it, and keeps it until `prepare` is called
   * with another key (other layers do not push it out): the fitted view's, drawn in idle time so
   * that a fit shows at once. Does nothing when that layer is kept already.
   */
  prepare?(key: string, draw: (painter: Painter) => void): void;
  /** Whether the layer of `key` is kept (`layer` would not call its `draw`). */
  hasLayer?(key: string): boolean;
  /** Forgets every kept layer (a canvas may keep their bitmaps' memory to draw the next ones in). */
  dropLayers?(): void;
  /**
   * For painters that take raster images (a canvas): the device pixel ratio and the size in
   * device pixels of what they draw on.
   */
  pixelSize?(): { readonly ratio: number; readonly width: number; readonly height: number };
  /** Puts RGBA device pixels (`pixelSize`'s width and height) at the origin, replacing what was there. */
  putPixels?(pixels: Uint8ClampedArray<ArrayBuffer>): void;
}

const fontFamily = 'system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif';

function font(size: number, weight: 'normal' | 'bold' = 'normal', italic = false): string {
  return `${italic ? 'italic ' : ''}${weight === 'bold' ? '600 ' : ''}${size}px ${fontFamily}`;
}

export class CanvasPainter implements Painter {
  private readonly widths = new Map<string, number>();
  /** Kept layers by key, least recently used first: the prepared one and one other. */
  private readonly layers = new Map<string, HTMLCanvasElement>();
  private preparedKey = '';
  /** Canvases of dropped layers, drawn into again rather than allocated anew. */
  private readonly spare: HTMLCanvasElement[] = [];

  constructor(private readonly context: CanvasRenderingContext2D) {}

  segments(points: ArrayLike<number>, color: string, width: number, dash: readonly number[] = []): void {
    if (points.length === 0) return;
    const context = this.context;
    context.beginPath();
    // Two loops, each over one kind of array, so that each stays monomorphic (a fitted frame's
    // buffers are Float64Arrays, everything else plain arrays).
    if (points instanceof Float64Array) {
      for (let i = 0; i + 3 < points.length; i += 4) {
        context.moveTo(points[i] as number, points[i + 1] as number);
        context.lineTo(points[i + 2] as number, points[i + 3] as number);
      }
    } else {
      for (let i = 0; i + 3 < points.length; i += 4) {
        context.moveTo(points[i] as number, points[i + 1] as number);
        context.lineTo(points[i + 2] as number, points[i + 3] as number);
      }
    }
    context.strokeStyle = color;
    context.lineWidth = width;
    context.setLineDash(dash as number[]);
    context.stroke();
    context.setLineDash([]);
  }

  triangles(points: readonly number[], color: string): void {
    if (points.length === 0) return;
    const context = this.context;
    context.beginPath();
    for (let i = 0; i + 5 < points.length; i += 6) {
      context.moveTo(points[i] as number, points[i + 1] as number);
      context.lineTo(points[i + 2] as number, points[i + 3] as number);
      context.lineTo(points[i + 4] as number, points[i + 5] as number);
      context.closePath();
    }
    context.fillStyle = color;
    context.fill();
  }

  rect(x: number, y: number, width: number, height: number, fill: string, stroke?: string, radius = 0): void {
    const context = this.context;
    context.beginPath();
    if (radius > 0) context.roundRect(x, y, width, height, radius);
    else context.rect(x, y, width, height);
    context.fillStyle = fill;
    context.fill();
    if (stroke !== undefined) {
      context.strokeStyle = stroke;
      context.lineWidth = 1;
      context.stroke();
    }
  }

  circle(x: number, y: number, radius: number, fill: string | null, stroke?: string): void {
    const context = this.context;
    context.beginPath();
    context.arc(x, y, radius, 0, Math.PI * 2);
    if (fill !== null) {
      context.fillStyle = fill;
      context.fill();
    }
    if (stroke !== undefined) {
      context.strokeStyle = stroke;
      context.lineWidth = 1.2;
      context.stroke();
    }
  }

  text(x: number, y: number, text: string, style: TextStyle): void {
    const context = this.context;
    context.font = font(style.size ?? 11, style.weight, style.italic);
    context.textAlign = style.align ?? 'left';
    context.textBaseline = 'middle';
    if (style.halo === true) {
      context.lineJoin = 'round';
      context.strokeStyle = 'rgba(255,255,255,0.92)';
      context.lineWidth = 3.5;
      context.strokeText(text, x, y);
    }
    context.fillStyle = style.color;
    context.fillText(text, x, y);
  }

  private fullKey(key: string): string {
    const { width, height } = this.context.canvas;
    return `${width}x${height} ${key}`;
  }

  /** Draws a layer into a canvas of its own: a new one, or the least recently used one that is not the prepared layer. */
  private drawLayer(fullKey: string, draw: (painter: Painter) => void): HTMLCanvasElement {
    const context = this.context;
    const { width, height } = context.canvas;
    let layer: HTMLCanvasElement | undefined;
    if (this.layers.size >= 2)
      for (const [key, canvas] of this.layers)
        if (key !== this.preparedKey) {
          this.layers.delete(key);
          layer = canvas;
          break;
        }
    layer ??= this.spare.pop() ?? document.createElement('canvas');
    const layerContext = layer.getContext('2d') as CanvasRenderingContext2D;
    if (layer.width !== width || layer.height !== height) {
      layer.width = width;
      layer.height = height;
    } else {
      layerContext.setTransform(1, 0, 0, 1, 0, 0);
      layerContext.clearRect(0, 0, width, height);
    }
    layerContext.setTransform(context.getTransform());
    draw(new CanvasPainter(layerContext));
    this.layers.set(fullKey, layer);
    return layer;
  }

  layer(key: string, draw: (painter: Painter) => void): boolean {
    const context = this.context;
    const fullKey = this.fullKey(key);
    let layer = this.layers.get(fullKey);
    const fresh = layer === undefined;
    if (layer === undefined) layer = this.drawLayer(fullKey, draw);
    else {
      this.layers.delete(fullKey);
      this.layers.set(fullKey, layer);
    }
    context.save();
    context.setTransform(1, 0, 0, 1, 0, 0);
    context.drawImage(layer, 0, 0);
    context.restore();
    return fresh;
  }

  prepare(key: string, draw: (painter: Painter) => void): void {
    const fullKey = this.fullKey(key);
    if (this.layers.has(fullKey)) {
      this.preparedKey = fullKey;
      return;
    }
    this.layers.delete(this.preparedKey);
    this.preparedKey = '';
    this.drawLayer(fullKey, draw);
    this.preparedKey = fullKey;
  }

  hasLayer(key: string): boolean {
    return this.layers.has(this.fullKey(key));
  }

  dropLayers(): void {
    for (const canvas of this.layers.values()) if (this.spare.length < 2) this.spare.push(canvas);
    this.layers.clear();
    this.preparedKey = '';
  }

  pixelSize(): { ratio: number; width: number; height: number } {
    const { canvas } = this.context;
    return { ratio: this.context.getTransform().a, width: canvas.width, height: canvas.height };
  }

  putPixels(pixels: Uint8ClampedArray<ArrayBuffer>): void {
    const { width, height } = this.context.canvas;
    this.context.putImageData(new ImageData(pixels, width, height), 0, 0);
  }

  measure(text: string, size: number, weight: 'normal' | 'bold' = 'normal'): number {
    const key = `${size}${weight}${text}`;
    let width = this.widths.get(key);
    if (width === undefined) {
      this.context.font = font(size, weight);
      width = this.context.measureText(text).width;
      if (this.widths.size > 20_000) this.widths.clear(); // Bounded cache: labels repeat, but a long session should not grow it forever.
      this.widths.set(key, width);
    }
    return width;
  }
}

function escapeXml(text: string): string {
  return text.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c] as string);
}

const round = (value: number): string => (Math.round(value * 10) / 10).toString();

/** Collects the drawing as SVG elements; `toString` gives a standalone document. */
export class SvgPainter implements Painter {
  private readonly parts: string[] = [];

  constructor(
    private readonly width: number,
    private readonly height: number,
    private readonly measurer: Painter,
  ) {}

  segments(points: ArrayLike<number>, color: string, width: number, dash: readonly number[] = []): void {
    if (points.length === 0) return;
    let d = '';
    for (let i = 0; i + 3 < points.length; i += 4)
      d += `M${round(points[i] as number)} ${round(points[i + 1] as number)}L${round(points[i + 2] as number)} ${round(points[i + 3] as number)}`;
    const dashAttribute = dash.length > 0 ? ` stroke-dasharray="${dash.join(' ')}"` : '';
    this.parts.push(`<path d="${d}" stroke="${color}" stroke-width="${width}" fill="none"${dashAttribute}/>`);
  }

  triangles(points: readonly number[], color: string): void {
    if (points.length === 0) return;
    let d = '';
    for (let i = 0; i + 5 < points.length; i += 6)
      d += `M${round(points[i] as number)} ${round(points[i + 1] as number)}L${round(points[i + 2] as number)} ${round(points[i + 3] as number)}L${round(points[i + 4] as number)} ${round(points[i + 5] as number)}Z`;
    this.parts.push(`<path d="${d}" fill="${color}"/>`);
  }

  rect(x: number, y: number, width: number, height: number, fill: string, stroke?: string, radius = 0): void {
    const strokeAttribute = stroke === undefined ? '' : ` stroke="${stroke}"`;
    this.parts.push(
      `<rect x="${round(x)}" y="${round(y)}" width="${round(width)}" height="${round(height)}" rx="${radius}" fill="${fill}"${strokeAttribute}/>`,
    );
  }

  circle(x: number, y: number, radius: number, fill: string | null, stroke?: string): void {
    const strokeAttribute = stroke === undefined ? '' : ` stroke="${stroke}" stroke-width="1.2"`;
    this.parts.push(
      `<circle cx="${round(x)}" cy="${round(y)}" r="${radius}" fill="${fill ?? 'none'}"${strokeAttribute}/>`,
    );
  }

  text(x: number, y: number, text: string, style: TextStyle): void {
    const anchor = style.align === 'center' ? 'middle' : style.align === 'right' ? 'end' : 'start';
    const halo =
      style.halo === true ? ' stroke="#fff" stroke-width="3.5" paint-order="stroke" stroke-linejoin="round"' : '';
    const weight = style.weight === 'bold' ? ' font-weight="600"' : '';
    const italic = style.italic === true ? ' font-style="italic"' : '';
    this.parts.push(
      `<text x="${round(x)}" y="${round(y)}" dominant-baseline="central" text-anchor="${anchor}" font-size="${style.size ?? 11}" fill="${style.color}"${weight}${italic}${halo}>${escapeXml(text)}</text>`,
    );
  }

  measure(text: string, size: number, weight?: 'normal' | 'bold'): number {
    return this.measurer.measure(text, size, weight);
  }

  toString(): string {
    return (
      `<svg xmlns="http://www.w3.org/2000/svg" width="${this.width}" height="${this.height}" viewBox="0 0 ${this.width} ${this.height}" font-family='${fontFamily}'>\n` +
      `<rect width="100%" height="100%" fill="#fff"/>\n${this.parts.join('\n')}\n</svg>\n`
    );
  }
}
