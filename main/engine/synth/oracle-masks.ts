/**
 * An oracle that stands in for SAM's automatic mask generator on synthetic views. SAM's masks are
 * what SAGA trains from, and what the single-view baseline lifts, so the oracle copies their habits:
 *
 * - several granularities per view: parts, whole objects, groups of touching objects, and pieces of
 *   the background (floor fragments);
 * - the granularity at which an object is found changes from view to view (parts in one, the whole
 *   object in the next, both in a third);
 * - ragged boundaries: every mask of a view is cut from the same randomly warped label map, so the
 *   boundary is off by a pixel or two, yet masks stay exactly nested (part inside object inside group);
 * - misses (a mask dropped) and merges (two touching objects returned as one mask).
 *
 * The family of masks of a view is laminar: any two are nested or disjoint. Each mask keeps what it
 * was meant to cover, so its noise can be measured against the clean label maps.
 */
import { createRandom, hashSeed, type Random } from './random.ts';
import { BACKGROUND_ID, type SynthObject, type SynthPart } from './generate.ts';
import { maskIoU } from '../segment/mask2d.ts';

export interface OracleMaskOptions {
  seed: number;
  /** Per view and object: probability the object is found as parts only / object only; else both (nested). */
  partsOnly: number;
  objectOnly: number;
  /** Per view, probability that a cluster of touching objects also gets one mask. */
  group: number;
  /** Number of floor fragments per view (0 = none). */
  backgroundFragments: number;
  /** Probability each mask is dropped. */
  miss: number;
  /** Probability that an object is merged with a touching neighbour into one mask (per view, per touching pair). */
  merge: number;
  /** Amplitude of the boundary warp in pixels (0 = exact boundaries). */
  boundaryJitter: number;
  /** Correlation length of the warp in pixels: larger = smoother, blobbier boundary errors. */
  jitterScale: number;
  /** Masks smaller than this many pixels are dropped, as SAM's min_mask_region_area does. */
  minArea: number;
}

export const DEFAULT_ORACLE_OPTIONS: OracleMaskOptions = {
  seed: 0,
  partsOnly: 0.25,
  objectOnly: 0.4,
  group: 0.5,
  backgroundFragments: 3,
  miss: 0.08,
  merge: 0.12,
  boundaryJitter: 1.5,
  jitterScale: 5,
  minArea: 12,
};

/** Exact (noise-free) settings: every object at every granularity, exact boundaries, nothing missed or merged. */
export const EXACT_ORACLE_OPTIONS: OracleMaskOptions = {
  seed: 0,
  partsOnly: 0,
  objectOnly: 0,
  group: 1,
  backgroundFragments: 0,
  miss: 0,
  merge: 0,
  boundaryJitter: 0,
  jitterScale: 5,
  minArea: 1,
};

export type OracleMaskKind = 'part' | 'object' | 'merged' | 'group' | 'background';

export interface OracleMask {
  kind: OracleMaskKind;
  /** Part ids for 'part'; object ids for 'object', 'merged' and 'group'; [] for 'background'. */
  ids: number[];
  /** width * height, 1 = inside. */
  data: Uint8Array;
  area: number;
  /** IoU of this mask with the clean region it stands for (1 = no boundary noise). */
  iouWithTruth: number;
}

export interface OracleView {
  name: string;
  width: number;
  height: number;
  objectLabels: Uint16Array;
  partLabels: Uint16Array;
}

/** Bilinear value noise on a grid of `scale`-pixel cells: a smooth random field in [-1, 1]. */
function smoothField(rng: Random, width: number, height: number, scale: number): Float32Array {
  const gw = Math.ceil(width / scale) + 2;
  const gh = Math.ceil(height / scale) + 2;
  const grid = new Float32Array(gw * gh);
  for (let i = 0; i < grid.length; i++) grid[i] = rng.uniform(-1, 1);
  const out = new Float32Array(width * height);
  for (let y = 0; y < height; y++) {
    const gy = y / scale;
    const y0 = Math.floor(gy), fy = gy - y0;
    for (let x = 0; x < width; x++) {
      const gx = x / scale;
      const x0 = Math.floor(gx), fx = gx - x0;
      const a = grid[y0 * gw + x0]!, b = grid[y0 * gw + x0 + 1]!;
      const c = grid[(y0 + 1) * gw + x0]!, d = grid[(y0 + 1) * gw + x0 + 1]!;
      out[y * width + x] = (a * (1 - fx) + b * fx) * (1 - fy) + (c * (1 - fx) + d * fx) * fy;
    }
  }
  return out;
}

/** Label map resampled through a smooth random displacement: one warp per view keeps masks nested. */
export function warpLabels(labels: Uint16Array, width: number, height: number, dx: Float32Array, dy: Float32Array): Uint16Array {
  const out = new Uint16Array(labels.length);
  for (let y = 0; y < height; y++) {
    for (let x = 0; x < width; x++) {
      const i = y * width + x;
      const sx = Math.min(width - 1, Math.max(0, Math.round(x + dx[i]!)));
      const sy = Math.min(height - 1, Math.max(0, Math.round(y + dy[i]!)));
      out[i] = labels[sy * width + sx]!;
    }
  }
  return out;
}

/** Connected clusters of objects joined by `touches`, as lists of object ids. */
export function touchingClusters(objects: SynthObject[]): number[][] {
  const parent = new Map<number, number>();
  const find = (a: number): number => {
    let r = a;
    while (parent.get(r) !== r) r = parent.get(r)!;
    parent.set(a, r);
    return r;
  };
  for (const o of objects) parent.set(o.id, o.id);
  for (const o of objects) for (const t of o.touches) if (parent.has(t)) parent.set(find(o.id), find(t));
  const clusters = new Map<number, number[]>();
  for (const o of objects) {
    const r = find(o.id);
    clusters.set(r, [...(clusters.get(r) ?? []), o.id]);
  }
  return [...clusters.values()].filter((c) => c.length > 1);
}

function regionOf(labels: Uint16Array, ids: ReadonlySet<number>): Uint8Array {
  const out = new Uint8Array(labels.length);
  for (let i = 0; i < labels.length; i++) if (ids.has(labels[i]!)) out[i] = 1;
  return out;
}

/**
 * The oracle's masks for one view, sorted by decreasing area (as SAGA's preprocessing orders SAM's).
 * The random stream depends only on (options.seed, viewIndex), so views are independent.
 */
export function oracleMasksForView(
  view: OracleView,
  viewIndex: number,
  objects: SynthObject[],
  parts: SynthPart[],
  options: OracleMaskOptions = DEFAULT_ORACLE_OPTIONS,
): OracleMask[] {
  const { width: W, height: H } = view;
  const rng = createRandom(hashSeed(options.seed, viewIndex + 1));
  // Object regions are unions of part regions (not the separate object argmax), so that part masks
  // sit exactly inside object masks even where a pixel's part and object winners disagree.
  const partToObject = new Uint16Array(parts.reduce((m, p) => Math.max(m, p.id), 0) + 1);
  for (const p of parts) partToObject[p.id] = p.objectId;
  const objectsOfParts = (labels: Uint16Array) => labels.map((p) => partToObject[p] ?? BACKGROUND_ID);
  let partLabels = view.partLabels;
  let objectLabels = objectsOfParts(partLabels);
  if (options.boundaryJitter > 0) {
    const scale = Math.max(1, options.jitterScale);
    const dx = smoothField(rng, W, H, scale);
    const dy = smoothField(rng, W, H, scale);
    for (let i = 0; i < dx.length; i++) { dx[i] = dx[i]! * options.boundaryJitter; dy[i] = dy[i]! * options.boundaryJitter; }
    partLabels = warpLabels(partLabels, W, H, dx, dy);
    objectLabels = objectsOfParts(partLabels);
  }
  const visible = new Set<number>();
  for (let i = 0; i < view.objectLabels.length; i++) visible.add(view.objectLabels[i]!);
  visible.delete(BACKGROUND_ID);

  const out: OracleMask[] = [];
  const emit = (kind: OracleMaskKind, ids: number[], partLevel: boolean) => {
    const set = new Set(ids);
    const data = regionOf(partLevel ? partLabels : objectLabels, set);
    let area = 0;
    for (let i = 0; i < data.length; i++) area += data[i]!;
    if (area < options.minArea) return;
    const clean = regionOf(partLevel ? view.partLabels : view.objectLabels, set);
    out.push({ kind, ids, data, area, iouWithTruth: maskIoU(data, clean) });
  };

  // Merges first, so a merged object is not also returned on its own at object level.
  const merged = new Set<number>();
  const byId = new Map(objects.map((o) => [o.id, o]));
  for (const o of objects) {
    if (!visible.has(o.id)) continue;
    for (const t of o.touches) {
      if (!visible.has(t) || merged.has(o.id) || merged.has(t) || !byId.has(t)) continue;
      if (rng.chance(options.merge)) {
        merged.add(o.id);
        merged.add(t);
        if (!rng.chance(options.miss)) emit('merged', [t, o.id].sort((a, b) => a - b), false);
      }
    }
  }

  for (const o of objects) {
    if (!visible.has(o.id)) continue;
    const r = rng.next();
    const level = r < options.partsOnly ? 'parts' : r < options.partsOnly + options.objectOnly ? 'object' : 'both';
    const own = parts.filter((p) => p.objectId === o.id);
    const wantParts = own.length > 1 && level !== 'object';
    // An object with a single part, or found "as parts" while merged, still shows up at object level.
    const wantObject = !merged.has(o.id) && (level !== 'parts' || own.length <= 1);
    if (wantObject && !rng.chance(options.miss)) emit('object', [o.id], false);
    if (wantParts) for (const p of own) if (!rng.chance(options.miss)) emit('part', [p.id], true);
  }

  for (const cluster of touchingClusters(objects)) {
    const seen = cluster.filter((id) => visible.has(id));
    if (seen.length < 2) continue;
    if (rng.chance(options.group) && !rng.chance(options.miss)) emit('group', seen.sort((a, b) => a - b), false);
  }

  if (options.backgroundFragments > 0) {
    // Floor fragments: Voronoi cells of random sites, restricted to the (warped) background.
    const k = options.backgroundFragments;
    const sites = Array.from({ length: k }, () => [rng.uniform(0, W), rng.uniform(0, H)] as const);
    const cell = new Int32Array(W * H).fill(-1);
    for (let y = 0; y < H; y++) {
      for (let x = 0; x < W; x++) {
        const i = y * W + x;
        if (objectLabels[i] !== BACKGROUND_ID) continue;
        let best = 0, bestD = Infinity;
        sites.forEach(([sx, sy], s) => {
          const d = (sx - x) ** 2 + (sy - y) ** 2;
          if (d < bestD) { bestD = d; best = s; }
        });
        cell[i] = best;
      }
    }
    for (let s = 0; s < k; s++) {
      if (rng.chance(options.miss)) continue;
      const data = new Uint8Array(W * H);
      let area = 0;
      for (let i = 0; i < data.length; i++) if (cell[i] === s) { data[i] = 1; area++; }
      if (area < options.minArea) continue;
      // A fragment has no clean counterpart; its noise is how much of it lies off the true background.
      let onBackground = 0;
      for (let i = 0; i < data.length; i++) if (data[i] && view.objectLabels[i] === BACKGROUND_ID) onBackground++;
      out.push({ kind: 'background', ids: [], data, area, iouWithTruth: onBackground / area });
    }
  }
  return out.sort((a, b) => b.area - a.area);
}

/** Mean IoU with the clean truth per mask kind, and overall (background fragments excluded). */
export function oracleNoiseSummary(masks: OracleMask[]): { overall: number; count: number; byKind: Partial<Record<OracleMaskKind, { meanIoU: number; count: number }>> } {
  const byKind: Partial<Record<OracleMaskKind, { meanIoU: number; count: number }>> = {};
  let sum = 0, count = 0;
  for (const m of masks) {
    const k = (byKind[m.kind] ??= { meanIoU: 0, count: 0 });
    k.meanIoU += m.iouWithTruth;
    k.count++;
    if (m.kind !== 'background') { sum += m.iouWithTruth; count++; }
  }
  for (const k of Object.values(byKind)) k.meanIoU /= Math.max(1, k.count);
  return { overall: count ? sum / count : 1, count, byKind };
}
