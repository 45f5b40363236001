import { describe, expect, it } from 'vitest';
import { Mulberry32 } from '../../common/random.ts';
import { loadShaderFromDisk } from '../gpu/node-shaders.ts';
import { normalizeRows } from './kmeans.ts';
import { maxScores } from './saga.ts';
import { ScoreKernel } from './wasm-score.ts';

describe('SIMD scoring', () => {
  it('matches the plain loop within the int8 quantisation, for 1 to 7 queries', async () => {
    const r = new Mulberry32(4);
    const n = 5003;
    const unit = normalizeRows(Float32Array.from({ length: n * 32 }, () => r.normal()), 32);
    const kernel = await ScoreKernel.create(loadShaderFromDisk);
    kernel.setFeatures(unit, 32);
    for (const q of [1, 3, 7]) {
      const queries = normalizeRows(Float32Array.from({ length: q * 32 }, () => r.normal()), 32);
      const fast = kernel.maxScores(queries);
      const plain = maxScores(unit, 32, queries);
      let worst = 0;
      for (let g = 0; g < n; g++) worst = Math.max(worst, Math.abs(fast[g]! - plain[g]!));
      expect(worst).toBeLessThan(0.02);
    }
    expect(kernel.maxScores(new Float32Array(0))[0]).toBe(-Infinity);
    // A feature equal to the query scores (almost exactly) 1.
    const same = kernel.maxScores(unit.slice(32 * 10, 32 * 11));
    expect(same[10]).toBeGreaterThan(0.99);
  });
});
