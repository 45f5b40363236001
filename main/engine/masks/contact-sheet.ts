/**
 * A contact sheet of prepared masks for people to eyeball: one row per view, the view image then
 * one tile per mask level. Tile l shows the partition at level l: every mask of level <= l, the
 * coarsest one on top (auto masks are stored once, at the finest level where they appear), each
 * mask keeping one colour across tiles; pixels under no mask are dimmed.
 */
import type { RgbImage } from './image.ts';

export interface SheetRow {
  /** The view at mask-grid resolution. */
  image: RgbImage;
  masks: { level: number; mask: Uint8Array }[];
}

function colour(i: number): [number, number, number] {
  // Golden-angle hues: neighbouring indices get very different colours.
  const h = (i * 137.508) % 360;
  const f = (n: number) => {
    const k = (n + h / 60) % 6;
    return Math.round(255 * (0.85 - 0.6 * Math.max(0, Math.min(k, 4 - k, 1))));
  };
  return [f(5), f(3), f(1)];
}

export function maskContactSheet(rows: SheetRow[], gap = 2): RgbImage {
  const levels = [...new Set(rows.flatMap((r) => r.masks.map((m) => m.level)))].sort((a, b) => a - b);
  const tileW = Math.max(1, ...rows.map((r) => r.image.width));
  const tileH = Math.max(1, ...rows.map((r) => r.image.height));
  const cols = 1 + levels.length;
  const width = cols * tileW + (cols - 1) * gap;
  const height = rows.length * tileH + Math.max(0, rows.length - 1) * gap;
  const data = new Uint8Array(width * height * 3).fill(255);
  rows.forEach((row, r) => {
    const { image } = row;
    const put = (col: number, x: number, y: number, rgb: ArrayLike<number>) => {
      const o = ((r * (tileH + gap) + y) * width + col * (tileW + gap) + x) * 3;
      data[o] = rgb[0]!;
      data[o + 1] = rgb[1]!;
      data[o + 2] = rgb[2]!;
    };
    for (let y = 0; y < image.height; y++) for (let x = 0; x < image.width; x++) put(0, x, y, image.data.subarray((y * image.width + x) * 3));
    levels.forEach((level, li) => {
      const ms = row.masks.map((m, index) => ({ ...m, index })).filter((m) => m.level <= level);
      ms.sort((a, b) => b.level - a.level || a.index - b.index);
      for (let y = 0; y < image.height; y++) {
        for (let x = 0; x < image.width; x++) {
          const p = y * image.width + x;
          const hit = ms.find((m) => m.mask[p]);
          const k = hit ? hit.index : -1;
          const base = image.data.subarray(p * 3);
          if (k < 0) put(li + 1, x, y, [base[0]! >> 2, base[1]! >> 2, base[2]! >> 2]);
          else {
            const c = colour(k);
            put(li + 1, x, y, [(c[0] * 3 + base[0]!) >> 2, (c[1] * 3 + base[1]!) >> 2, (c[2] * 3 + base[2]!) >> 2]);
          }
        }
      }
    });
  });
  return { width, height, data };
}
