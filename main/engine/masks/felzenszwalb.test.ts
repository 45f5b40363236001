import { describe, expect, it } from 'vitest';
import { felzenszwalb, gaussianBlurRgb, hierarchyMasks, segmentHierarchy, HIERARCHY_DEFAULTS } from './felzenszwalb.ts';

/** 60x40: left half red-ish in two shades (top/bottom), right half blue, a green square inside the blue. */
function testImage() {
  const w = 60, h = 40;
  const rgb = new Float32Array(w * h * 3);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      let c: number[];
      if (x < 30) c = y < 20 ? [200, 40, 40] : [170, 50, 50];
      else if (x >= 40 && x < 50 && y >= 15 && y < 25) c = [30, 220, 30];
      else c = [30, 30, 200];
      rgb.set(c, (y * w + x) * 3);
    }
  }
  return { w, h, rgb };
}

describe('graph-based segmentation hierarchy', () => {
  it('finds the four flat regions at the finest level', () => {
    const { w, h, rgb } = testImage();
    const roots = felzenszwalb(gaussianBlurRgb(rgb, w, h, 0.8), w, h, 60, 20);
    const at = (x: number, y: number) => roots[y * w + x];
    expect(at(5, 5)).not.toBe(at(5, 35)); // the two red shades differ by ~33 RGB units: separate
    expect(at(5, 5)).toBe(at(25, 15));
    expect(at(45, 20)).not.toBe(at(35, 5));
    expect(at(35, 5)).toBe(at(55, 35));
    // Blur ramps may add thin boundary regions; the four flat regions hold nearly every pixel.
    const big = new Set([at(5, 5), at(5, 35), at(35, 5), at(45, 20)]);
    const inBig = roots.reduce((s, r) => s + (big.has(r) ? 1 : 0), 0);
    expect(inBig / (w * h)).toBeGreaterThan(0.8);
  });

  it('nests levels: each region at level l+1 is a union of regions at level l', () => {
    const { w, h, rgb } = testImage();
    const levels = segmentHierarchy(rgb, w, h, { ...HIERARCHY_DEFAULTS, minSizeFraction: 0.01 });
    expect(levels.length).toBeGreaterThanOrEqual(2);
    for (let l = 1; l < levels.length; l++) {
      const fine = levels[l - 1]!;
      const coarse = levels[l]!;
      expect(coarse.count).toBeLessThan(fine.count);
      const parentOf = new Map<number, number>();
      for (let p = 0; p < w * h; p++) {
        const f = fine.labels[p]!;
        const c = coarse.labels[p]!;
        if (!parentOf.has(f)) parentOf.set(f, c);
        expect(parentOf.get(f)).toBe(c);
      }
    }
    // The two reds merge before red merges with blue (mean-colour cost).
    const last = levels.at(-1)!;
    expect(last.labels[5 * w + 5]).toBe(last.labels[35 * w + 5]);
  });

  it('turns levels into masks without tiny, whole-image or repeated regions', () => {
    const { w, h, rgb } = testImage();
    const levels = segmentHierarchy(rgb, w, h, { ...HIERARCHY_DEFAULTS, minSizeFraction: 0.01 });
    const masks = hierarchyMasks(levels, w, h, 30);
    expect(masks.length).toBeGreaterThan(0);
    const seen = new Set<string>();
    for (const m of masks) {
      expect(m.area).toBeGreaterThanOrEqual(30);
      expect(m.area).toBeLessThanOrEqual(0.95 * w * h);
      expect(m.mask.reduce((s, v) => s + v, 0)).toBe(m.area);
      const key = m.mask.join('');
      expect(seen.has(key)).toBe(false);
      seen.add(key);
    }
    // The green square is a mask of its own (100 pixels) at the finest level.
    const green = masks.find((m) => m.mask[20 * w + 45] && m.area <= 140);
    expect(green?.level).toBe(0);
  });
});
