import { describe, expect, it } from 'vitest';
import { mulberry32 } from '../../common/random.ts';
import { binTilesOnCpu } from './tile-sort.ts';

describe('binTilesOnCpu', () => {
  it('lists every overlapping Gaussian per tile, by depth then index, like the GPU sort', async () => {
    const rnd = mulberry32(3);
    const n = 3000;
    const tilesX = 8;
    const tilesY = 6;
    const mean = new Float32Array(n * 4);
    const conic = new Float32Array(n * 4);
    const touched = new Uint32Array(n);
    for (let i = 0; i < n; i++) {
      mean[i * 4] = rnd() * 140 - 6;
      mean[i * 4 + 1] = rnd() * 110 - 6;
      mean[i * 4 + 2] = 1 + Math.floor(rnd() * 40) * 0.25; // many equal depths: ties by index
      conic[i * 4 + 3] = Math.ceil(rnd() * 20);
      touched[i] = rnd() < 0.9 ? 1 : 0; // the GPU marks culled Gaussians with 0
    }
    const { ids, ranges, total } = await binTilesOnCpu(mean, conic, touched, tilesX, tilesY);
    let expectedTotal = 0;
    for (let t = 0; t < tilesX * tilesY; t++) {
      const tx = t % tilesX;
      const ty = Math.floor(t / tilesX);
      const expected: number[] = [];
      for (let i = 0; i < n; i++) {
        if (!touched[i]) continue;
        const r = conic[i * 4 + 3]!;
        const x0 = Math.max(0, Math.floor((mean[i * 4]! - r) / 16));
        const x1 = Math.min(tilesX, Math.ceil((mean[i * 4]! + r) / 16));
        const y0 = Math.max(0, Math.floor((mean[i * 4 + 1]! - r) / 16));
        const y1 = Math.min(tilesY, Math.ceil((mean[i * 4 + 1]! + r) / 16));
        if (tx >= x0 && tx < x1 && ty >= y0 && ty < y1) expected.push(i);
      }
      expected.sort((a, b) => mean[a * 4 + 2]! - mean[b * 4 + 2]! || a - b);
      expectedTotal += expected.length;
      expect(Array.from(ids.subarray(ranges[t * 2]!, ranges[t * 2 + 1]!))).toEqual(expected);
    }
    expect(total).toBe(expectedTotal);
    expect(total).toBeGreaterThan(n);
  });
});
