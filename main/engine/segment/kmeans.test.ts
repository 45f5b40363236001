import { describe, expect, it } from 'vitest';
import { Mulberry32 } from '../../common/random.ts';
import { normalizeRows, sphericalKMeans } from './kmeans.ts';

function norm(v: Float32Array, i: number, dim: number): number {
  let s = 0;
  for (let c = 0; c < dim; c++) s += v[i * dim + c]! ** 2;
  return Math.sqrt(s);
}

function dot(a: Float32Array, i: number, b: Float32Array, j: number, dim: number): number {
  let s = 0;
  for (let c = 0; c < dim; c++) s += a[i * dim + c]! * b[j * dim + c]!;
  return s;
}

/** `perCluster` noisy unit vectors around each of `k` random unit directions, shuffled; with the true cluster of each row. */
function clusters(k: number, perCluster: number, dim: number, noise: number, seed: number): { points: Float32Array; truth: number[]; directions: Float32Array } {
  const r = new Mulberry32(seed);
  const directions = normalizeRows(Float32Array.from({ length: k * dim }, () => r.normal()), dim);
  const truth = Array.from({ length: k * perCluster }, (_, i) => i % k);
  const raw = new Float32Array(truth.length * dim);
  truth.forEach((t, i) => {
    for (let c = 0; c < dim; c++) raw[i * dim + c] = directions[t * dim + c]! + noise * r.normal();
  });
  return { points: normalizeRows(raw, dim), truth, directions };
}

describe('normalizeRows', () => {
  it('scales each row to length 1, keeps its direction, and leaves zero rows zero', () => {
    const dim = 5;
    const r = new Mulberry32(2);
    const values = Float32Array.from({ length: 20 * dim }, () => r.normal() * 3);
    values.fill(0, 7 * dim, 8 * dim);
    const out = normalizeRows(values, dim);
    for (let i = 0; i < 20; i++) {
      if (i === 7) {
        expect(Array.from(out.subarray(7 * dim, 8 * dim))).toEqual([0, 0, 0, 0, 0]);
        continue;
      }
      expect(norm(out, i, dim)).toBeCloseTo(1, 6);
      // Same direction: the cosine with the input row is 1.
      expect(dot(out, i, values, i, dim) / norm(values, i, dim)).toBeCloseTo(1, 6);
    }
  });
});

describe('sphericalKMeans', () => {
  it('returns k unit centres that recover well-separated clusters', () => {
    const dim = 16;
    const k = 5;
    const { points, truth, directions } = clusters(k, 60, dim, 0.15, 11);
    const centres = sphericalKMeans(points, dim, k);
    expect(centres.length).toBe(k * dim);
    for (let j = 0; j < k; j++) expect(norm(centres, j, dim)).toBeCloseTo(1, 5);
    // Each centre sits on its own true direction.
    const matched = new Set<number>();
    for (let j = 0; j < k; j++) {
      let best = -1;
      let bestDot = -Infinity;
      for (let t = 0; t < k; t++) {
        const d = dot(centres, j, directions, t, dim);
        if (d > bestDot) {
          bestDot = d;
          best = t;
        }
      }
      expect(bestDot).toBeGreaterThan(0.97);
      matched.add(best);
    }
    expect(matched.size).toBe(k);
    // And assigning each point to its nearest centre gives back the true partition.
    const label = new Map<number, number>();
    truth.forEach((t, i) => {
      let best = 0;
      for (let j = 1; j < k; j++) if (dot(points, i, centres, j, dim) > dot(points, i, centres, best, dim)) best = j;
      if (!label.has(t)) label.set(t, best);
      expect(best).toBe(label.get(t));
    });
    expect(new Set(label.values()).size).toBe(k);
  });

  it('is deterministic for a seed', () => {
    const dim = 8;
    const { points } = clusters(4, 50, dim, 0.6, 3);
    const a = sphericalKMeans(points, dim, 5, 7);
    const b = sphericalKMeans(points.slice(), dim, 5, 7);
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(a.length).toBe(5 * dim);
  });

  it('gives fewer centres when there are fewer points or fewer distinct points than k', () => {
    const dim = 4;
    expect(sphericalKMeans(new Float32Array(0), dim, 5).length).toBe(0);
    const { points } = clusters(3, 1, dim, 0, 5);
    expect(sphericalKMeans(points, dim, 5).length).toBe(3 * dim);
    // Thirty copies of two directions: two centres, one on each.
    const two = new Float32Array(30 * dim);
    for (let i = 0; i < 30; i++) two.set(i % 2 ? [1, 0, 0, 0] : [0, 0, 1, 0], i * dim);
    const centres = sphericalKMeans(two, dim, 5);
    expect(centres.length).toBe(2 * dim);
    const found = [0, 1].map((j) => Array.from(centres.subarray(j * dim, j * dim + dim))).sort();
    expect(found).toEqual([[0, 0, 1, 0], [1, 0, 0, 0]]);
  });
});
