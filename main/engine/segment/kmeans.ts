/**
 * Spherical k-means over unit feature vectors: the paper's queries for scribble and mask prompts
 * (section 3.4, k = 5 by default): a dense prompt becomes a few query features instead of one per
 * pixel. k-means++ seeding from a seeded generator, so a prompt always gives the same queries.
 */
import { Mulberry32 } from '../../common/random.ts';

/** Unit vectors of `values` (n x dim); zero rows stay zero. */
export function normalizeRows(values: Float32Array, dim: number): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length / dim; i++) {
    let s = 0;
    for (let c = 0; c < dim; c++) s += values[i * dim + c]! ** 2;
    if (s === 0) continue;
    const inv = 1 / Math.sqrt(s);
    for (let c = 0; c < dim; c++) out[i * dim + c] = values[i * dim + c]! * inv;
  }
  return out;
}

/**
 * Up to k cluster centres (unit vectors, k x dim) of the unit rows of `points` (n x dim), by cosine.
 * Fewer when there are fewer distinct points. `seed` makes it repeatable.
 */
export function sphericalKMeans(points: Float32Array, dim: number, k: number, seed = 1, iterations = 20): Float32Array {
  const n = points.length / dim;
  if (n === 0) return new Float32Array(0);
  const r = new Mulberry32(seed);
  const kk = Math.min(k, n);
  const centres = new Float32Array(kk * dim);
  // k-means++: the next seed is drawn with probability proportional to its distance (1 - cos) to the nearest seed.
  const nearest = new Float64Array(n).fill(Infinity);
  let first = r.below(n);
  let used = 0;
  for (; used < kk; used++) {
    centres.set(points.subarray(first * dim, first * dim + dim), used * dim);
    let total = 0;
    for (let i = 0; i < n; i++) {
      let dot = 0;
      for (let c = 0; c < dim; c++) dot += points[i * dim + c]! * centres[used * dim + c]!;
      nearest[i] = Math.min(nearest[i]!, Math.max(0, 1 - dot));
      total += nearest[i]!;
    }
    if (total <= 1e-12) {
      used++;
      break;
    }
    let target = r.next() * total;
    first = n - 1;
    for (let i = 0; i < n; i++) {
      target -= nearest[i]!;
      if (target <= 0) {
        first = i;
        break;
      }
    }
  }
  const m = used;
  const assign = new Int32Array(n);
  for (let it = 0; it < iterations; it++) {
    let changed = false;
    for (let i = 0; i < n; i++) {
      let best = 0;
      let bestDot = -Infinity;
      for (let j = 0; j < m; j++) {
        let dot = 0;
        for (let c = 0; c < dim; c++) dot += points[i * dim + c]! * centres[j * dim + c]!;
        if (dot > bestDot) {
          bestDot = dot;
          best = j;
        }
      }
      if (assign[i] !== best || it === 0) changed = changed || assign[i] !== best;
      assign[i] = best;
    }
    const sums = new Float64Array(m * dim);
    for (let i = 0; i < n; i++) for (let c = 0; c < dim; c++) sums[assign[i]! * dim + c] = sums[assign[i]! * dim + c]! + points[i * dim + c]!;
    for (let j = 0; j < m; j++) {
      let s = 0;
      for (let c = 0; c < dim; c++) s += sums[j * dim + c]! ** 2;
      // An empty cluster keeps its centre.
      if (s === 0) continue;
      const inv = 1 / Math.sqrt(s);
      for (let c = 0; c < dim; c++) centres[j * dim + c] = sums[j * dim + c]! * inv;
    }
    if (!changed && it > 0) break;
  }
  return centres.slice(0, m * dim);
}

/**
 * Up to k cluster centres (k x dim) of the rows of `points` (n x dim) by Euclidean distance, each
 * row counted `weights[i]` times (default once): the SAM-based prompt's queries, which are scored
 * by dot product, so a centre keeps its length. k-means++ seeding from `seed`, then Lloyd steps.
 */
export function weightedKMeans(points: Float32Array, dim: number, k: number, weights?: ArrayLike<number>, seed = 1, iterations = 30): Float32Array {
  const n = points.length / dim;
  if (n === 0) return new Float32Array(0);
  const w = (i: number) => (weights ? weights[i]! : 1);
  const r = new Mulberry32(seed);
  const kk = Math.min(k, n);
  const centres = new Float32Array(kk * dim);
  const dist2 = (i: number, j: number) => {
    let s = 0;
    for (let c = 0; c < dim; c++) s += (points[i * dim + c]! - centres[j * dim + c]!) ** 2;
    return s;
  };
  // k-means++: the next seed is drawn with probability proportional to weight x squared distance to the nearest seed.
  let total = 0;
  for (let i = 0; i < n; i++) total += w(i);
  let target = r.next() * total;
  let first = n - 1;
  for (let i = 0; i < n; i++) if ((target -= w(i)) <= 0) { first = i; break; }
  const nearest = new Float64Array(n).fill(Infinity);
  let used = 0;
  for (; used < kk; used++) {
    centres.set(points.subarray(first * dim, first * dim + dim), used * dim);
    let sum = 0;
    for (let i = 0; i < n; i++) {
      nearest[i] = Math.min(nearest[i]!, dist2(i, used));
      sum += w(i) * nearest[i]!;
    }
    if (sum <= 1e-12) {
      used++;
      break;
    }
    target = r.next() * sum;
    first = n - 1;
    for (let i = 0; i < n; i++) if ((target -= w(i) * nearest[i]!) <= 0) { first = i; break; }
  }
  const m = used;
  const assign = new Int32Array(n).fill(-1);
  for (let it = 0; it < iterations; it++) {
    let changed = false;
    for (let i = 0; i < n; i++) {
      let best = 0;
      let bestD = Infinity;
      for (let j = 0; j < m; j++) {
        const d = dist2(i, j);
        if (d < bestD) {
          bestD = d;
          best = j;
        }
      }
      if (assign[i] !== best) changed = true;
      assign[i] = best;
    }
    if (!changed) break;
    const sums = new Float64Array(m * dim);
    const mass = new Float64Array(m);
    for (let i = 0; i < n; i++) {
      const j = assign[i]!;
      mass[j] = mass[j]! + w(i);
      for (let c = 0; c < dim; c++) sums[j * dim + c] = sums[j * dim + c]! + w(i) * points[i * dim + c]!;
    }
    // An empty cluster keeps its centre.
    for (let j = 0; j < m; j++) if (mass[j]! > 0) for (let c = 0; c < dim; c++) centres[j * dim + c] = sums[j * dim + c]! / mass[j]!;
  }
  return centres.slice(0, m * dim);
}
