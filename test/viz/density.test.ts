import { describe, expect, it } from 'vitest';
import { DenseRaster, denseAlpha } from '../../viz/density.js';

const colors = ['#ff0000', '#0000ff', '#00ff00'];

/** RGBA of pixel (x, y). */
function pixel(image: Uint8ClampedArray, width: number, x: number, y: number): [number, number, number, number] {
  const at = (y * width + x) * 4;
  return [image[at] as number, image[at + 1] as number, image[at + 2] as number, image[at + 3] as number];
}

function coveredRows(image: Uint8ClampedArray, width: number, height: number): number[] {
  const rows: number[] = [];
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      if (pixel(image, width, x, y)[3] > 0) {
        rows.push(y);
        break;
      }
  return rows;
}

describe('DenseRaster', () => {
  it('draws a flat line as one row of pixels from end to end, at the dense opacity', () => {
    const raster = new DenseRaster(40, 10, colors, 1);
    raster.line(5, 4.3, 30, 4.3, 0);
    const image = raster.finish();
    expect(coveredRows(image, 40, 10)).toEqual([4]);
    expect(pixel(image, 40, 5, 4)).toEqual([255, 0, 0, Math.round(denseAlpha * 255)]);
    expect(pixel(image, 40, 29, 4)[3]).toBeGreaterThan(0);
    expect(pixel(image, 40, 4, 4)[3]).toBe(0);
    expect(pixel(image, 40, 30, 4)[3]).toBe(0);
  });

  it('covers every row a slanted or steep line crosses, in one connected staircase', () => {
    for (const [xa, ya, xb, yb] of [
      [2, 1.2, 37, 8.7],
      [20, 0.5, 21, 9.5],
      [30, 9.2, 3, 0.4],
    ] as const) {
      const raster = new DenseRaster(40, 10, colors, 1);
      raster.line(xa, ya, xb, yb, 1);
      const image = raster.finish();
      const rows = coveredRows(image, 40, 10);
      expect(rows).toEqual(
        Array.from(
          { length: Math.floor(Math.max(ya, yb)) - Math.floor(Math.min(ya, yb)) + 1 },
          (_, i) => i + Math.floor(Math.min(ya, yb)),
        ),
      );
      // Each row's span touches the next row's (no gap in the staircase).
      const spanOf = (y: number): [number, number] => {
        const xs = Array.from({ length: 40 }, (_, x) => x).filter((x) => pixel(image, 40, x, y)[3] > 0);
        return [Math.min(...xs), Math.max(...xs)];
      };
      for (let i = 0; i + 1 < rows.length; i++) {
        const [a1, a2] = spanOf(rows[i] as number);
        const [b1, b2] = spanOf(rows[i + 1] as number);
        expect(a1 <= b2 + 1 && b1 <= a2 + 1, `rows ${rows[i]} and ${rows[i + 1]}`).toBe(true);
      }
    }
  });

  it('takes a colour once however many of its lines cover a pixel, and composes colours in their order', () => {
    const raster = new DenseRaster(20, 4, colors, 1);
    raster.line(0, 1.5, 19, 1.5, 0);
    raster.line(0, 1.5, 19, 1.5, 0);
    raster.line(10, 1.5, 19, 1.5, 1);
    const image = raster.finish();
    expect(pixel(image, 20, 5, 1)).toEqual([255, 0, 0, Math.round(denseAlpha * 255)]);
    const alpha = denseAlpha + denseAlpha * (1 - denseAlpha);
    const red = Math.round((255 * denseAlpha * (1 - denseAlpha)) / alpha);
    const blue = Math.round((255 * denseAlpha) / alpha);
    expect(pixel(image, 20, 15, 1)).toEqual([red, 0, blue, Math.round(alpha * 255)]);
  });

  it('draws lines as thick as the device pixel ratio, clipped to the image, and reuses the pixels it is given', () => {
    const raster = new DenseRaster(20, 6, colors, 2);
    raster.line(-10, 3, 40, 3, 2);
    raster.line(3, -5, 3.2, -1, 2); // Above the image: nothing.
    const first = raster.finish();
    expect(coveredRows(first, 20, 6)).toEqual([2, 3]);
    expect(pixel(first, 20, 0, 2)[3]).toBeGreaterThan(0);
    expect(pixel(first, 20, 19, 3)[3]).toBeGreaterThan(0);
    const again = new DenseRaster(20, 6, colors, 2);
    again.line(0, 0.9, 0.2, 0.9, 0); // A line shorter than a pixel still shows as one (two at this ratio).
    const second = again.finish(first);
    expect(second).toBe(first);
    expect(coveredRows(second, 20, 6)).toEqual([0, 1]);
    expect(pixel(second, 20, 0, 0)[0]).toBe(255);
  });

  it('shows every line in every row it crosses and nothing outside the lines (random lines, fixed seeds)', () => {
    const failures: string[] = [];
    for (let seed = 1; seed <= 40; seed++) {
      let state = seed;
      const random = (): number => (state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32;
      const width = 60;
      const height = 30;
      const raster = new DenseRaster(width, height, colors, 1);
      const lines: [number, number, number, number][] = [];
      for (let i = 0; i < 8; i++) {
        const line: [number, number, number, number] = [
          random() * width,
          random() * height,
          random() * width,
          random() * height,
        ];
        lines.push(line);
        raster.line(...line, Math.floor(random() * colors.length));
      }
      const image = raster.finish();
      for (const [xa, ya, xb, yb] of lines)
        for (let y = Math.floor(Math.min(ya, yb)); y <= Math.floor(Math.max(ya, yb)); y++) {
          const left = Math.floor(Math.min(xa, xb)) - 1;
          const right = Math.ceil(Math.max(xa, xb)) + 1;
          let seen = false;
          for (let x = Math.max(0, left); x < Math.min(width, right); x++) seen ||= pixel(image, width, x, y)[3] > 0;
          if (!seen) failures.push(`seed ${seed}: row ${y} of line ${[xa, ya, xb, yb].join(',')} is empty`);
        }
      for (let y = 0; y < height; y++)
        for (let x = 0; x < width; x++) {
          if (pixel(image, width, x, y)[3] === 0) continue;
          const near = lines.some(
            ([xa, ya, xb, yb]) =>
              x >= Math.floor(Math.min(xa, xb)) - 1 &&
              x <= Math.ceil(Math.max(xa, xb)) &&
              y >= Math.floor(Math.min(ya, yb)) - 1 &&
              y <= Math.ceil(Math.max(ya, yb)),
          );
          if (!near) failures.push(`seed ${seed}: pixel ${x},${y} is far from every line`);
        }
    }
    expect(failures).toEqual([]);
  });

  it('gives the same pixels whichever way it caches composed colours (array, hash table, none), and in slices', () => {
    // 12 colours cache in an array, 24 in a hash table, 40 compose every run; the lines use the
    // first 12 only, so the three pictures must be identical, pixel for pixel.
    const palette = (count: number): string[] =>
      Array.from(
        { length: count },
        (_, i) => `#${((i * 0x2f4a1b + 0x103050) & 0xffffff).toString(16).padStart(6, '0')}`,
      );
    const draw = (raster: DenseRaster): void => {
      let state = 7;
      const random = (): number => (state = (state * 1103515245 + 12345) >>> 0) / 2 ** 32;
      for (let i = 0; i < 300; i++)
        raster.line(random() * 80, random() * 40, random() * 80, random() * 40, Math.floor(random() * 12));
    };
    const images = [12, 24, 40].map((count) => {
      const raster = new DenseRaster(80, 40, palette(count), 1);
      draw(raster);
      return Array.from(raster.finish());
    });
    expect(images[1]).toEqual(images[0]);
    expect(images[2]).toEqual(images[0]);
    const sliced = new DenseRaster(80, 40, palette(24), 1);
    draw(sliced);
    sliced.start();
    for (let row = 0; row < 40; row += 7) sliced.rows(row, Math.min(40, row + 7));
    expect(Array.from(sliced.result())).toEqual(images[0]);
    expect(images[0]?.some((value) => value > 0)).toBe(true);
  });

  it('refuses colours it cannot compose', () => {
    expect(() => new DenseRaster(4, 4, ['rgba(1, 2, 3, 0.5)'], 1)).toThrow(/#rrggbb/);
  });
});
