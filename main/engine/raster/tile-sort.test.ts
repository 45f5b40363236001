import { describe, expect, it } from 'vitest';
import { seededRandom } from './test-scenes.ts';
import { sortTileKeys } from './tile-sort.ts';

describe('sortTileKeys', () => {
  it('orders by tile, then depth bits, then Gaussian index (stable), like the GPU sort', async () => {
    const rnd = seededRandom(3);
    const n = 5000;
    const keys = new Uint32Array(n * 4);
    for (let i = 0; i < n; i++) {
      keys[i * 4] = Math.floor(rnd() * 300);
      // Few distinct depths so ties are common; bit patterns of positive floats.
      keys[i * 4 + 1] = new Uint32Array(Float32Array.of(0.5 + Math.floor(rnd() * 20) * 0.37).buffer)[0]!;
      keys[i * 4 + 2] = i;
    }
    const sorted = await sortTileKeys(keys, n, 300);
    const expected = Array.from({ length: n }, (_, i) => [keys[i * 4]!, keys[i * 4 + 1]!, keys[i * 4 + 2]!] as const).sort(
      (a, b) => a[0] - b[0] || a[1] - b[1] || a[2] - b[2],
    );
    expected.forEach(([t, d, g], i) => {
      expect([sorted[i * 4], sorted[i * 4 + 1], sorted[i * 4 + 2]]).toEqual([t, d, g]);
    });
  });
});
