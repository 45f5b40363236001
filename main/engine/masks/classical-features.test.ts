import { describe, expect, it } from 'vitest';
import { classicalFeatures, FEATURE_CHANNELS, FEATURE_GRID } from './classical-features.ts';

function image(w: number, h: number, colourAt: (x: number, y: number) => number[]) {
  const data = new Uint8Array(w * h * 3);
  for (let y = 0; y < h; y++) for (let x = 0; x < w; x++) data.set(colourAt(x, y), (y * w + x) * 3);
  return { width: w, height: h, data };
}

const cell = (f: Float32Array, cx: number, cy: number) => Array.from({ length: FEATURE_CHANNELS }, (_, k) => f[k * FEATURE_GRID * FEATURE_GRID + cy * FEATURE_GRID + cx]!);
const dot = (a: number[], b: number[]) => a.reduce((s, v, i) => s + v * b[i]!, 0);

describe('classical image features', () => {
  it('lays out 256 x 64 x 64 like a SAM embedding, zero in the padding', () => {
    const f = classicalFeatures(image(400, 200, () => [100, 150, 200]));
    expect(f.length).toBe(FEATURE_CHANNELS * FEATURE_GRID * FEATURE_GRID);
    // 400x200 -> the image covers the top 32 of 64 cell rows.
    expect(cell(f, 10, 10).some((v) => v !== 0)).toBe(true);
    expect(cell(f, 10, 40).every((v) => v === 0)).toBe(true);
  });

  it('gives similar cells similar features and different colours different features, deterministically', () => {
    const img = image(256, 256, (x) => (x < 128 ? [200, 30, 30] : [30, 30, 200]));
    const f = classicalFeatures(img);
    const a1 = cell(f, 5, 30);
    const a2 = cell(f, 8, 34);
    const b = cell(f, 55, 30);
    // Random Fourier features: the dot product approximates a Gaussian kernel, about 1 for equal descriptors.
    expect(dot(a1, a1)).toBeGreaterThan(0.8);
    expect(dot(a1, a2)).toBeGreaterThan(0.7);
    expect(dot(a1, b)).toBeLessThan(0.3);
    expect(Buffer.from(classicalFeatures(img).buffer).equals(Buffer.from(f.buffer))).toBe(true);
  });
});
