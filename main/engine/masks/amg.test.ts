import { describe, expect, it } from 'vitest';
import {
  AMG_DEFAULTS,
  boxIou,
  boxNms,
  buildPointGrid,
  filterPointMasks,
  generateMasks,
  postprocessSmallRegions,
  removeSmallRegions,
  stabilityScore,
  type PointDecoding,
} from './amg.ts';
import { maskBox, packMask, unpackMask } from './storage.ts';

describe('point grid', () => {
  it('places n x n points at cell centres, x fastest, like SAM build_point_grid', () => {
    const g = buildPointGrid(4);
    expect(g.length).toBe(32);
    expect([g[0], g[1]]).toEqual([0.125, 0.125]);
    expect([g[2], g[3]]).toEqual([0.375, 0.125]);
    expect([g[8], g[9]]).toEqual([0.125, 0.375]);
    expect([g[30], g[31]]).toEqual([0.875, 0.875]);
  });
});

describe('stability score', () => {
  it('is |logit > t+o| / |logit > t-o|', () => {
    const logits = Float32Array.of(-2, -0.5, 0.5, 1.5, 3, 0.99);
    // > 1: 1.5, 3 -> 2 ; > -1: -0.5, 0.5, 1.5, 3, 0.99 -> 5
    expect(stabilityScore(logits, 0, 1)).toBeCloseTo(2 / 5, 12);
    expect(stabilityScore(Float32Array.of(-5, -5), 0, 1)).toBe(0);
  });
});

describe('box NMS', () => {
  it('uses torchvision box_iou area convention', () => {
    expect(boxIou([0, 0, 10, 10], [0, 0, 10, 10])).toBe(1);
    expect(boxIou([0, 0, 10, 10], [5, 0, 15, 10])).toBeCloseTo(50 / 150, 12);
    expect(boxIou([0, 0, 1, 1], [5, 5, 6, 6])).toBe(0);
  });
  it('keeps the best of overlapping boxes and every disjoint one', () => {
    const boxes = [
      [0, 0, 10, 10],
      [1, 0, 11, 10], // IoU with #0 = 90/110 = 0.818 > 0.7
      [5, 0, 15, 10], // IoU with #0 = 0.333, with #1 = 60/140
      [50, 50, 60, 60],
    ];
    expect(boxNms(boxes, [0.9, 0.95, 0.5, 0.1], 0.7)).toEqual([1, 2, 3]);
    expect(boxNms(boxes, [0.99, 0.95, 0.5, 0.1], 0.7)).toEqual([0, 2, 3]);
  });
});

describe('filtering one point', () => {
  // 4x4 image, three masks: sharp (stable), soft (unstable), sharp but low predicted IoU.
  const sharp = Float32Array.from({ length: 16 }, (_, i) => (i % 4 < 2 ? 5 : -5));
  const soft = Float32Array.from({ length: 16 }, (_, i) => (i % 4 < 2 ? 0.5 : -0.5));
  const d: PointDecoding = { count: 3, width: 4, height: 4, logits: new Float32Array([...sharp, ...soft, ...sharp]), iou: Float32Array.of(0.95, 0.99, 0.5) };
  it('drops masks under the IoU and stability thresholds', () => {
    const kept = filterPointMasks(d, AMG_DEFAULTS, [1, 1]);
    expect(kept).toHaveLength(1);
    expect(kept[0]!.predictedIou).toBeCloseTo(0.95, 6);
    expect(kept[0]!.stability).toBe(1);
    expect(kept[0]!.area).toBe(8);
    expect(kept[0]!.box).toEqual([0, 0, 1, 3]);
  });
  it('keeps everything non-empty when the thresholds are 0', () => {
    expect(filterPointMasks(d, { ...AMG_DEFAULTS, predIouThresh: 0, stabilityScoreThresh: 0 }, [1, 1])).toHaveLength(3);
  });
});

describe('small regions', () => {
  it('fills small holes and removes small islands', () => {
    const w = 8, h = 8;
    const m = new Uint8Array(64);
    for (let y = 0; y < 6; y++) for (let x = 0; x < 6; x++) m[y * w + x] = 1;
    m[2 * w + 2] = 0; // one-pixel hole
    m[7 * w + 7] = 1; // one-pixel island
    const holes = removeSmallRegions(m, w, h, 3, 'holes');
    expect(holes.changed).toBe(true);
    expect(holes.mask[2 * w + 2]).toBe(1);
    const islands = removeSmallRegions(holes.mask, w, h, 3, 'islands');
    expect(islands.changed).toBe(true);
    expect(islands.mask[7 * w + 7]).toBe(0);
    expect(islands.mask.reduce((a, b) => a + b, 0)).toBe(36);
    expect(removeSmallRegions(islands.mask, w, h, 3, 'islands').changed).toBe(false);
  });
  it('prefers unchanged masks in the second NMS', () => {
    const w = 8, h = 8;
    const a = new Uint8Array(64);
    for (let i = 0; i < 32; i++) a[i] = 1;
    const b = a.slice();
    b[63] = 1; // an island: b changes, a does not; after the fix they are equal
    const mk = (bin: Uint8Array, iou: number) => ({ bits: packMask(bin), area: bin.reduce((s, v) => s + v, 0), box: maskBox(bin, w, h), predictedIou: iou, stability: 1, point: [0, 0] as [number, number] });
    const out = postprocessSmallRegions([mk(b, 0.99), mk(a, 0.9)], w, h, 4, 0.7);
    expect(out).toHaveLength(1);
    expect(out[0]!.predictedIou).toBe(0.9);
    expect(Array.from(unpackMask(out[0]!.bits, 64))).toEqual(Array.from(a));
  });
});

describe('generateMasks', () => {
  it('decodes every grid point and merges duplicates with NMS', async () => {
    // A fake decoder for a 64x48 image with two flat regions (left/right halves): every point
    // returns the half it falls in (stable, IoU 0.95), a soft mask and a low-IoU mask.
    const W = 64, H = 48;
    const calls: [number, number][] = [];
    const decode = async (x: number, y: number, size: { width: number; height: number }): Promise<PointDecoding> => {
      calls.push([x, y]);
      expect(size).toEqual({ width: W, height: H });
      const plane = W * H;
      const logits = new Float32Array(plane * 3);
      for (let i = 0; i < plane; i++) {
        const left = i % W < W / 2;
        const inside = left === x < W / 2;
        logits[i] = inside ? 10 : -10;
        logits[plane + i] = inside ? 0.2 : -0.2;
        logits[2 * plane + i] = 10;
      }
      return { count: 3, width: W, height: H, logits, iou: Float32Array.of(0.95, 0.95, 0.3) };
    };
    const progress: number[] = [];
    const { masks } = await generateMasks(decode, W, H, { pointsPerSide: 4, pointsPerBatch: 5 }, { onProgress: (p) => progress.push(p.done) });
    expect(calls).toHaveLength(16);
    expect(progress).toEqual([5, 10, 15, 16]);
    expect(masks).toHaveLength(2);
    expect(masks.map((m) => m.area)).toEqual([(W * H) / 2, (W * H) / 2]);
    const boxes = masks.map((m) => m.box[0]).sort((a, b) => a - b);
    expect(boxes).toEqual([0, W / 2]);
  });
  it('stops with CANCELLED when aborted', async () => {
    const ac = new AbortController();
    ac.abort();
    const decode = async (): Promise<PointDecoding> => ({ count: 0, width: 1, height: 1, logits: new Float32Array(0), iou: new Float32Array(0) });
    await expect(generateMasks(decode, 10, 10, {}, { signal: ac.signal })).rejects.toMatchObject({ code: 'CANCELLED' });
  });
});
