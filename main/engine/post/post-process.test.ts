import { describe, expect, it } from 'vitest';
import { Mulberry32 } from '../../common/random.ts';
import { createScene, type GaussianScene } from '../../scene/gaussians.ts';
import { ballQueryGrow, GROW_PERCENTILE, MAX_FILTER_K, MIN_OPACITY, regionGrow, statisticalFilter } from './post-process.ts';
import { buildSpatialIndex } from './spatial-index.ts';

// Brute force throughout: every distance by a plain double-precision loop over all pairs, so the
// k-d tree and the code's bookkeeping are checked, not reused.

function cloud(n: number, seed: number, clustered: boolean): Float32Array {
  const r = new Mulberry32(seed);
  const p = new Float32Array(n * 3);
  for (let i = 0; i < n; i++) {
    // Clustered: a few blobs of different density plus far stragglers, as a noisy selection looks.
    const c = clustered ? (r.below(4) - 1.5) * 4 : 0;
    const s = clustered ? 0.2 + r.below(3) * 0.4 : 1;
    const far = clustered && r.next() < 0.05;
    p[3 * i] = c + r.normal() * s + (far ? 10 * r.normal() : 0);
    p[3 * i + 1] = r.normal() * s + (far ? 10 * r.normal() : 0);
    p[3 * i + 2] = r.normal() * s;
  }
  return p;
}

function randomSelection(n: number, fraction: number, seed: number): Uint8Array {
  const r = new Mulberry32(seed);
  return Uint8Array.from({ length: n }, () => (r.next() < fraction ? 1 : 0));
}

function distance(p: Float32Array, a: number, b: number): number {
  return Math.hypot(p[3 * a]! - p[3 * b]!, p[3 * a + 1]! - p[3 * b + 1]!, p[3 * a + 2]! - p[3 * b + 2]!);
}

function members(selection: Uint8Array): number[] {
  const out: number[] = [];
  selection.forEach((v, i) => v && out.push(i));
  return out;
}

/** Distances from `g` to every other member, ascending. */
function sortedDistances(p: Float32Array, g: number, set: number[]): Float64Array {
  const d = new Float64Array(set.length - 1);
  let m = 0;
  for (const h of set) if (h !== g) d[m++] = distance(p, g, h);
  return d.sort();
}

/** The paper's statistical filter with the documented cap on k: the kept members, k, each member's mean distance and the limit. */
function bruteFilter(p: Float32Array, selection: Uint8Array): { kept: number[]; k: number; mean: number[]; limit: number } {
  const set = members(selection);
  const n = set.length;
  if (n < 3) return { kept: set, k: 0, mean: [], limit: Infinity };
  const k = Math.min(MAX_FILTER_K, Math.round(Math.sqrt(n)), n - 1);
  const mean = set.map((g) => sortedDistances(p, g, set).subarray(0, k).reduce((a, b) => a + b, 0) / k);
  const mu = mean.reduce((a, b) => a + b, 0) / n;
  const sigma = Math.sqrt(mean.reduce((a, b) => a + (b - mu) ** 2, 0) / n);
  const limit = mu + sigma;
  return { kept: set.filter((_, j) => mean[j]! <= limit), k, mean, limit };
}

/** Nearest-neighbour distance of each member within the set. */
function nearestWithin(p: Float32Array, set: number[]): number[] {
  return set.map((g) => {
    let best = Infinity;
    for (const h of set) if (h !== g) best = Math.min(best, distance(p, g, h));
    return best;
  });
}

/** The q-quantile as the code's doc describes it: the value at rank floor(q (m - 1)) of the m finite values, ascending. */
function lowerQuantile(values: number[], q: number): number {
  const v = values.filter(Number.isFinite).sort((a, b) => a - b);
  return v[Math.floor(q * (v.length - 1))]!;
}

describe('statistical filter against brute force', () => {
  const cases = [
    { name: 'random, small selection (k = round(sqrt n))', n: 1500, fraction: 0.25, clustered: false },
    { name: 'random, large selection (k capped)', n: 1600, fraction: 0.9, clustered: false },
    { name: 'clustered with stragglers', n: 3000, fraction: 0.5, clustered: true },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const p = cloud(c.n, c.n + (c.clustered ? 1 : 0), c.clustered);
      const selection = randomSelection(c.n, c.fraction, 5);
      const expected = bruteFilter(p, selection);
      if (c.fraction < 0.5) expect(expected.k).toBe(Math.round(Math.sqrt(members(selection).length)));
      else expect(expected.k).toBe(MAX_FILTER_K);
      const out = statisticalFilter(p, selection);
      // Never adds, and never touches what was not selected.
      out.forEach((v, i) => expect(v <= selection[i]!).toBe(true));
      // The k-d tree stores squared distances as float32: a mean within 1e-6 of the limit may fall
      // either way. None does on these clouds, so the selections must agree exactly.
      const close = expected.mean.filter((m) => Math.abs(m - expected.limit) < 1e-6 * expected.limit).length;
      expect(close).toBe(0);
      expect(members(out)).toEqual(expected.kept);
      // The filter did something: stragglers exist in every cloud above.
      expect(expected.kept.length).toBeLessThan(members(selection).length);
      expect(expected.kept.length).toBeGreaterThan(members(selection).length / 2);
    });
  }

  for (const [cloudSize, k] of [[359, 20], [1500, MAX_FILTER_K]] as const) {
    it(`uses exactly k = ${k} neighbours (${cloudSize + 2 * k + 1} members)`, () => {
      // Two tight far groups: one of k points (its k-th neighbour is across the scene: dropped) and
      // one of k + 1 (all k neighbours inside it: kept). k - 1 or k + 1 neighbours would flip one.
      const n = cloudSize + 2 * k + 1;
      expect(Math.min(MAX_FILTER_K, Math.round(Math.sqrt(n)))).toBe(k);
      const p = new Float32Array(n * 3);
      p.set(cloud(cloudSize, 9, false));
      const r = new Mulberry32(4);
      for (let i = cloudSize; i < n; i++) {
        const x = i < cloudSize + k ? 100 : -100;
        p.set([x + r.normal() * 0.01, r.normal() * 0.01, r.normal() * 0.01], 3 * i);
      }
      const all = new Uint8Array(n).fill(1);
      const out = statisticalFilter(p, all);
      const expected = bruteFilter(p, all);
      expect(expected.k).toBe(k);
      expect(members(out)).toEqual(expected.kept);
      for (let i = cloudSize; i < n; i++) expect(out[i]).toBe(i < cloudSize + k ? 0 : 1);
    });
  }

  it('leaves selections of fewer than 3 unchanged and handles 3 (k = 2)', () => {
    const p = cloud(50, 2, false);
    for (const picks of [[], [4], [4, 9]]) {
      const s = new Uint8Array(50);
      for (const i of picks) s[i] = 1;
      expect(members(statisticalFilter(p, s))).toEqual(picks);
    }
    const line = new Float32Array(50 * 3);
    // Three members on a line at 0, 1 and 10: mean distances (1+10)/2, (1+9)/2, (10+9)/2.
    line.set([0, 0, 0], 0);
    line.set([1, 0, 0], 3);
    line.set([10, 0, 0], 6);
    const s = new Uint8Array(50);
    s[0] = s[1] = s[2] = 1;
    const expected = bruteFilter(line, s);
    expect(expected.kept).toEqual([0, 1]);
    expect(members(statisticalFilter(line, s))).toEqual(expected.kept);
  });
});

function sceneOf(p: Float32Array, seed: number): GaussianScene {
  const scene = createScene(p.length / 3);
  scene.positions.set(p);
  const r = new Mulberry32(seed);
  // Logits over [-4, 4]: about a third fall below the opacity floor of growing.
  for (let i = 0; i < scene.count; i++) scene.opacities[i] = (r.next() * 2 - 1) * 4;
  return scene;
}

function bruteBallGrow(scene: GaussianScene, selection: Uint8Array, radius: number, exclude?: Uint8Array): number[] {
  const p = scene.positions;
  const set = members(selection);
  const lo = [Infinity, Infinity, Infinity];
  const hi = [-Infinity, -Infinity, -Infinity];
  for (const g of set) {
    for (let a = 0; a < 3; a++) {
      lo[a] = Math.min(lo[a]!, p[3 * g + a]!);
      hi[a] = Math.max(hi[a]!, p[3 * g + a]!);
    }
  }
  const pad = lo.map((l, a) => (hi[a]! - l) * 0.05);
  const out = new Set(set);
  for (let h = 0; h < scene.count; h++) {
    if (out.has(h) || exclude?.[h]) continue;
    if (1 / (1 + Math.exp(-scene.opacities[h]!)) < MIN_OPACITY) continue;
    let inBox = true;
    for (let a = 0; a < 3; a++) if (p[3 * h + a]! < lo[a]! - pad[a]! || p[3 * h + a]! > hi[a]! + pad[a]!) inBox = false;
    if (!inBox) continue;
    if (set.some((g) => distance(p, g, h) <= radius)) out.add(h);
  }
  return [...out].sort((a, b) => a - b);
}

describe('ball-query growing against brute force', () => {
  for (const clustered of [false, true]) {
    it(`${clustered ? 'clustered' : 'random'} cloud: radius from the selection's nearest neighbours, opacity floor, grown box`, () => {
      const n = 3000;
      const p = cloud(n, 40 + (clustered ? 1 : 0), clustered);
      const scene = sceneOf(p, 7);
      const index = buildSpatialIndex(p);
      // A compact selection (one blob or a slab of the cloud), so the box and radius both bind.
      const selection = new Uint8Array(n);
      for (let i = 0; i < n; i++) if (p[3 * i]! < (clustered ? -1 : -0.3) && (i % 3 !== 0)) selection[i] = 1;
      const set = members(selection);
      const radius = lowerQuantile(nearestWithin(p, set), GROW_PERCENTILE);
      const out = ballQueryGrow(scene, selection, { index });
      expect(out.radius).toBeCloseTo(radius, 6);
      const expected = bruteBallGrow(scene, selection, radius);
      expect(members(out.selection)).toEqual(expected);
      // The test means something: growth added Gaussians, and the opacity floor and box turned some away.
      expect(expected.length).toBeGreaterThan(set.length);
      const unbounded = members(new Uint8Array(n).map((_, h) => (selection[h] || set.some((g) => distance(p, g, h) <= radius) ? 1 : 0)));
      expect(unbounded.length).toBeGreaterThan(expected.length);
    });
  }

  it('uses a given radius, and leaves selections of fewer than 2 alone', () => {
    const n = 2000;
    const p = cloud(n, 12, false);
    const scene = sceneOf(p, 3);
    const index = buildSpatialIndex(p);
    const selection = randomSelection(n, 0.05, 8);
    const out = ballQueryGrow(scene, selection, { index, radius: 0.2 });
    expect(out.radius).toBe(0.2);
    expect(members(out.selection)).toEqual(bruteBallGrow(scene, selection, 0.2));
    const one = new Uint8Array(n);
    one[17] = 1;
    expect(members(ballQueryGrow(scene, one, { index }).selection)).toEqual([17]);
  });

  it('never adds excluded Gaussians (those a negative click claims), and keeps excluded members', () => {
    const n = 2000;
    const p = cloud(n, 13, false);
    const scene = sceneOf(p, 4);
    const index = buildSpatialIndex(p);
    const selection = randomSelection(n, 0.05, 9);
    const exclude = randomSelection(n, 0.3, 10);
    const out = ballQueryGrow(scene, selection, { index, radius: 0.25, exclude });
    const expected = bruteBallGrow(scene, selection, 0.25, exclude);
    expect(members(out.selection)).toEqual(expected);
    // Excluding changed the result (members stay even when excluded).
    expect(expected.length).toBeLessThan(bruteBallGrow(scene, selection, 0.25).length);
    for (const g of members(selection)) expect(out.selection[g]).toBe(1);
  });
});

/** Equation 13: from the seeds, repeatedly add candidates within dMax of anything grown, until nothing changes. */
function bruteRegionGrow(p: Float32Array, candidates: Uint8Array, seeds: Uint8Array, dMax: number): number[] {
  const grown = new Uint8Array(candidates.length);
  for (const g of members(seeds)) grown[g] = 1;
  for (let changed = true; changed; ) {
    changed = false;
    const current = members(grown);
    for (let h = 0; h < candidates.length; h++) {
      if (!candidates[h] || grown[h]) continue;
      if (current.some((g) => distance(p, g, h) <= dMax)) {
        grown[h] = 1;
        changed = true;
      }
    }
  }
  return members(grown);
}

describe('region growing against brute force', () => {
  for (const clustered of [false, true]) {
    for (const quantile of [1, 0.95]) {
      it(`${clustered ? 'clustered' : 'random'} cloud, radius at quantile ${quantile} of the seeds' nearest-neighbour distances`, () => {
        const n = 2500;
        const p = cloud(n, 70 + (clustered ? 1 : 0), clustered);
        const candidates = randomSelection(n, 0.5, 21);
        // Seeds: candidates near one spot (mask-validated Gaussians are a compact subset of the selection).
        const seeds = new Uint8Array(n);
        const cx = clustered ? -6 : 0;
        for (let i = 0; i < n; i++) if (candidates[i] && Math.hypot(p[3 * i]! - cx, p[3 * i + 1]!, p[3 * i + 2]!) < 0.6) seeds[i] = 1;
        const seedSet = members(seeds);
        expect(seedSet.length).toBeGreaterThan(10);
        const dMax = lowerQuantile(nearestWithin(p, seedSet), quantile);
        const out = regionGrow(p, candidates, seeds, quantile);
        const expected = bruteRegionGrow(p, candidates, seeds, dMax);
        expect(members(out)).toEqual(expected);
        // It grew beyond the seeds and stopped short of every candidate.
        expect(expected.length).toBeGreaterThan(seedSet.length);
        expect(expected.length).toBeLessThan(members(candidates).length);
      });
    }
  }

  it('keeps seeds outside the candidates, and does not grow from fewer than 2 seeds', () => {
    const n = 600;
    const p = cloud(n, 5, false);
    const candidates = randomSelection(n, 0.5, 2);
    const outside = members(candidates.map((v) => 1 - v)).slice(0, 2);
    const seeds = new Uint8Array(n);
    for (const g of outside) seeds[g] = 1;
    const dMax = lowerQuantile(nearestWithin(p, outside), 1);
    expect(members(regionGrow(p, candidates, seeds))).toEqual(bruteRegionGrow(p, candidates, seeds, dMax));
    const one = new Uint8Array(n);
    one[outside[0]!] = 1;
    expect(members(regionGrow(p, candidates, one))).toEqual([outside[0]]);
  });
});
