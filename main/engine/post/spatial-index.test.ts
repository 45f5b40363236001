import { describe, expect, it } from 'vitest';
import { Mulberry32 } from '../../common/random.ts';
import { ballQuery, buildSpatialIndex, KnnQuery } from './spatial-index.ts';

function cloud(n: number, seed: number, clustered = false): Float32Array {
  const r = new Mulberry32(seed);
  const p = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    // Clustered clouds stress uneven density, as real 3DGS scenes have.
    const c = clustered ? (r.below(5) - 2) * 3 : 0;
    const s = clustered ? 0.1 + r.below(3) * 0.5 : 1;
    p[3 * i] = c + r.normal() * s;
    p[3 * i + 1] = r.normal() * s;
    p[3 * i + 2] = clustered && r.next() < 0.1 ? r.next() * 50 : r.normal() * s;
  }
  return p;
}

function brute(p: Float32Array, x: number, y: number, z: number): { i: number; d: number }[] {
  const out = [];
  for (let i = 0; i < p.length / 3; i++) out.push({ i, d: (p[3 * i]! - x) ** 2 + (p[3 * i + 1]! - y) ** 2 + (p[3 * i + 2]! - z) ** 2 });
  return out.sort((a, b) => a.d - b.d || a.i - b.i);
}

describe('spatial index (k-d tree) against brute force', () => {
  for (const [n, clustered] of [[1, false], [17, false], [5000, false], [5000, true]] as const) {
    it(`k nearest and ball queries on ${n} ${clustered ? 'clustered' : 'random'} points`, () => {
      const p = cloud(n, 3 + n, clustered);
      const index = buildSpatialIndex(p);
      expect(index.count).toBe(n);
      const r = new Mulberry32(9);
      for (const k of [1, 8, 16]) {
        const q = new KnnQuery(index, k);
        for (let t = 0; t < 40; t++) {
          const i = r.below(n);
          const [x, y, z] = t % 2 ? [p[3 * i]!, p[3 * i + 1]!, p[3 * i + 2]!] : [r.normal(), r.normal(), r.normal()];
          const found = q.near(x, y, z);
          const expected = brute(p, x, y, z).slice(0, k);
          expect(found).toBe(Math.min(k, n));
          // Same distances, nearest first (ties may list other points).
          for (let j = 0; j < found; j++) expect(q.distances2[j]).toBeCloseTo(expected[j]!.d, 4);
          const radius = 0.3 + r.next();
          const hits: number[] = [];
          ballQuery(index, x, y, z, radius, (h) => hits.push(h));
          expect(hits.sort((a, b) => a - b)).toEqual(brute(p, x, y, z).filter((e) => e.d <= radius * radius).map((e) => e.i).sort((a, b) => a - b));
        }
      }
    });
  }

  it('indexes only the included points', () => {
    const p = cloud(300, 1);
    const include = Uint8Array.from({ length: 300 }, (_, i) => (i % 3 === 0 ? 1 : 0));
    const index = buildSpatialIndex(p, include);
    expect(index.count).toBe(100);
    const q = new KnnQuery(index, 5);
    q.near(0, 0, 0);
    for (const i of q.indices) expect(i % 3).toBe(0);
  });
});
