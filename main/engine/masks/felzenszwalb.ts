/**
 * The embedded default mask source: a region hierarchy in two steps.
 * 1. Felzenszwalb-Huttenlocher graph-based segmentation (IJCV 2004) at a fine scale k on the
 *    8-connected pixel graph (RGB distance weights after a Gaussian blur), small regions absorbed.
 * 2. Greedy agglomeration of adjacent regions, cheapest first, with cost = distance of mean colours
 *    + sizeWeight * (combined size / image size), like selective search's hierarchical grouping.
 *    Snapshots are taken when the region count falls to R0/2, R0/4, ... so level l+1's regions are
 *    unions of level l's: masks nest exactly from fine to coarse.
 * (Running FH itself at growing k leaks through soft edges: one ramp of anti-aliased pixels lets a
 * dark background swallow the whole view at the second scale; mean-colour merging does not.)
 *
 * Pure functions on typed arrays: the image comes in as interleaved RGB (0..255) floats.
 */

export interface HierarchyParams {
  /** FH scale k of the finest level (edge weights are RGB distances on the 0..255 scale). */
  k: number;
  /** Regions smaller than this fraction of the image are absorbed at the finest level. */
  minSizeFraction: number;
  /** Gaussian pre-smoothing sigma in pixels (FH use 0.8). */
  sigma: number;
  /** Number of levels, finest first; level l has about R0 / 2^l regions (at least 2). */
  levels: number;
  /** Weight of the size term in the merge cost, in RGB distance units per whole image. */
  sizeWeight: number;
}

/** Defaults tuned on rendered 3DGS views at the mask grid (~231 x 173 pixels). */
export const HIERARCHY_DEFAULTS: HierarchyParams = {
  k: 60,
  minSizeFraction: 0.001,
  sigma: 0.8,
  levels: 5,
  sizeWeight: 100,
};

/** Separable Gaussian blur of interleaved 3-channel data (clamped borders). */
export function gaussianBlurRgb(src: Float32Array, w: number, h: number, sigma: number): Float32Array {
  if (sigma <= 0) return src.slice();
  const radius = Math.ceil(sigma * 3);
  const kernel = new Float32Array(radius * 2 + 1);
  let sum = 0;
  for (let i = -radius; i <= radius; i++) {
    kernel[i + radius] = Math.exp(-(i * i) / (2 * sigma * sigma));
    sum += kernel[i + radius]!;
  }
  for (let i = 0; i < kernel.length; i++) kernel[i]! /= sum;
  const tmp = new Float32Array(src.length);
  const out = new Float32Array(src.length);
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        for (let k = -radius; k <= radius; k++) {
          const xx = Math.min(w - 1, Math.max(0, x + k));
          acc += kernel[k + radius]! * src[(y * w + xx) * 3 + c]!;
        }
        tmp[(y * w + x) * 3 + c] = acc;
      }
    }
  }
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      for (let c = 0; c < 3; c++) {
        let acc = 0;
        for (let k = -radius; k <= radius; k++) {
          const yy = Math.min(h - 1, Math.max(0, y + k));
          acc += kernel[k + radius]! * tmp[(yy * w + x) * 3 + c]!;
        }
        out[(y * w + x) * 3 + c] = acc;
      }
    }
  }
  return out;
}

/** 8-connected grid edges sorted by RGB distance: endpoints a, b and weight w. */
export function sortedGridEdges(rgb: Float32Array, w: number, h: number): { a: Uint32Array; b: Uint32Array; weight: Float32Array } {
  const max = w * h * 4;
  const ea = new Uint32Array(max);
  const eb = new Uint32Array(max);
  const ew = new Float32Array(max);
  let n = 0;
  const add = (p: number, q: number) => {
    const dr = rgb[p * 3]! - rgb[q * 3]!;
    const dg = rgb[p * 3 + 1]! - rgb[q * 3 + 1]!;
    const db = rgb[p * 3 + 2]! - rgb[q * 3 + 2]!;
    ea[n] = p;
    eb[n] = q;
    ew[n] = Math.sqrt(dr * dr + dg * dg + db * db);
    n++;
  };
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const p = y * w + x;
      if (x + 1 < w) add(p, p + 1);
      if (y + 1 < h) add(p, p + w);
      if (x + 1 < w && y + 1 < h) add(p, p + w + 1);
      if (x > 0 && y + 1 < h) add(p, p + w - 1);
    }
  }
  // Sort by weight through one Float64 key per edge (weight in the high part, index in the low
  // 23 bits): a native numeric sort, far faster than a comparator over objects.
  const keys = new Float64Array(n);
  for (let i = 0; i < n; i++) keys[i] = Math.round(ew[i]! * 1024) * 8388608 + i;
  keys.sort();
  const a = new Uint32Array(n);
  const b = new Uint32Array(n);
  const weight = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const e = keys[i]! % 8388608;
    a[i] = ea[e]!;
    b[i] = eb[e]!;
    weight[i] = ew[e]!;
  }
  return { a, b, weight };
}

/** Union-find over pixels with component size and internal difference (max MST edge). */
class Forest {
  readonly parent: Int32Array;
  readonly size: Int32Array;
  readonly internal: Float32Array;
  constructor(n: number) {
    this.parent = new Int32Array(n);
    for (let i = 0; i < n; i++) this.parent[i] = i;
    this.size = new Int32Array(n).fill(1);
    this.internal = new Float32Array(n);
  }
  find(x: number): number {
    let r = x;
    while (this.parent[r] !== r) r = this.parent[r]!;
    while (this.parent[x] !== r) {
      const next = this.parent[x]!;
      this.parent[x] = r;
      x = next;
    }
    return r;
  }
  union(a: number, b: number, w: number): void {
    if (this.size[a]! < this.size[b]!) [a, b] = [b, a];
    this.parent[b] = a;
    this.size[a]! += this.size[b]!;
    this.internal[a] = Math.max(w, this.internal[a]!, this.internal[b]!);
  }
}

/** A segmentation level: a compact label per pixel (0..count-1) and each label's size. */
export interface SegmentationLevel {
  labels: Int32Array;
  count: number;
  sizes: Int32Array;
}

/** Fine FH segmentation: a root pixel per pixel (union-find roots). */
export function felzenszwalb(smooth: Float32Array, w: number, h: number, k: number, minSize: number): Int32Array {
  const n = w * h;
  const edges = sortedGridEdges(smooth, w, h);
  const forest = new Forest(n);
  const m = edges.a.length;
  for (let i = 0; i < m; i++) {
    const ra = forest.find(edges.a[i]!);
    const rb = forest.find(edges.b[i]!);
    if (ra === rb) continue;
    const wgt = edges.weight[i]!;
    if (wgt <= Math.min(forest.internal[ra]! + k / forest.size[ra]!, forest.internal[rb]! + k / forest.size[rb]!)) forest.union(ra, rb, wgt);
  }
  for (let i = 0; i < m; i++) {
    const ra = forest.find(edges.a[i]!);
    const rb = forest.find(edges.b[i]!);
    if (ra !== rb && (forest.size[ra]! < minSize || forest.size[rb]! < minSize)) forest.union(ra, rb, edges.weight[i]!);
  }
  const roots = new Int32Array(n);
  for (let p = 0; p < n; p++) roots[p] = forest.find(p);
  return roots;
}

function compactLabels(ids: Int32Array, n: number): SegmentationLevel {
  const map = new Map<number, number>();
  const labels = new Int32Array(n);
  for (let p = 0; p < n; p++) {
    let l = map.get(ids[p]!);
    if (l === undefined) {
      l = map.size;
      map.set(ids[p]!, l);
    }
    labels[p] = l;
  }
  const sizes = new Int32Array(map.size);
  for (let p = 0; p < n; p++) sizes[labels[p]!]!++;
  return { labels, count: map.size, sizes };
}

/**
 * Segments an RGB image (interleaved floats 0..255) into nested levels, fine to coarse.
 * Level l+1's regions are unions of level l's regions.
 */
export function segmentHierarchy(rgb: Float32Array, w: number, h: number, params: HierarchyParams = HIERARCHY_DEFAULTS): SegmentationLevel[] {
  const n = w * h;
  const smooth = gaussianBlurRgb(rgb, w, h, params.sigma);
  const fine = compactLabels(felzenszwalb(smooth, w, h, params.k, Math.max(1, Math.round(params.minSizeFraction * n))), n);
  const R = fine.count;
  // Region statistics and adjacency (4-connected).
  const sum = new Float64Array(R * 3);
  const size = new Float64Array(R);
  for (let p = 0; p < n; p++) {
    const r = fine.labels[p]!;
    size[r]!++;
    for (let c = 0; c < 3; c++) sum[r * 3 + c]! += rgb[p * 3 + c]!;
  }
  const adj: Set<number>[] = Array.from({ length: R }, () => new Set<number>());
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      const a = fine.labels[y * w + x]!;
      if (x + 1 < w) {
        const b = fine.labels[y * w + x + 1]!;
        if (a !== b) (adj[a]!.add(b), adj[b]!.add(a));
      }
      if (y + 1 < h) {
        const b = fine.labels[(y + 1) * w + x]!;
        if (a !== b) (adj[a]!.add(b), adj[b]!.add(a));
      }
    }
  }
  const parent = Int32Array.from({ length: R }, (_, i) => i);
  const find = (x: number): number => {
    while (parent[x] !== x) {
      parent[x] = parent[parent[x]!]!;
      x = parent[x]!;
    }
    return x;
  };
  const cost = (a: number, b: number) => {
    let d = 0;
    for (let c = 0; c < 3; c++) {
      const diff = sum[a * 3 + c]! / size[a]! - sum[b * 3 + c]! / size[b]!;
      d += diff * diff;
    }
    return Math.sqrt(d) + (params.sizeWeight * (size[a]! + size[b]!)) / n;
  };
  const levels: SegmentationLevel[] = [fine];
  let active = R;
  for (let l = 1; l < params.levels; l++) {
    const target = Math.max(2, Math.ceil(R / 2 ** l));
    if (active <= target) break;
    while (active > target) {
      let best = Infinity;
      let ba = -1;
      let bb = -1;
      for (let a = 0; a < R; a++) {
        if (parent[a] !== a) continue;
        for (const b of adj[a]!) {
          if (b <= a) continue;
          const c = cost(a, b);
          if (c < best) {
            best = c;
            ba = a;
            bb = b;
          }
        }
      }
      if (ba < 0) break; // disconnected leftovers: nothing adjacent to merge
      // Merge bb into ba.
      parent[bb] = ba;
      size[ba]! += size[bb]!;
      for (let c = 0; c < 3; c++) sum[ba * 3 + c]! += sum[bb * 3 + c]!;
      for (const nb of adj[bb]!) {
        adj[nb]!.delete(bb);
        if (nb !== ba) {
          adj[nb]!.add(ba);
          adj[ba]!.add(nb);
        }
      }
      adj[ba]!.delete(bb);
      adj[bb]!.clear();
      active--;
    }
    const ids = new Int32Array(n);
    for (let p = 0; p < n; p++) ids[p] = find(fine.labels[p]!);
    levels.push(compactLabels(ids, n));
  }
  return levels;
}

export interface LevelMask {
  level: number;
  /** 0/1 per pixel. */
  mask: Uint8Array;
  area: number;
}

/**
 * Masks from a hierarchy: every region at every level, except regions smaller than
 * `minArea` pixels, regions covering more than `maxCoverage` of the image (the whole view is no
 * object), and regions identical to one at the level below (kept once, at the finer level).
 */
export function hierarchyMasks(levels: SegmentationLevel[], w: number, h: number, minArea: number, maxCoverage = 0.95): LevelMask[] {
  const n = w * h;
  const out: LevelMask[] = [];
  levels.forEach((lv, l) => {
    const prev = l > 0 ? levels[l - 1] : undefined;
    const firstPixel = new Int32Array(lv.count).fill(-1);
    for (let p = 0; p < n; p++) if (firstPixel[lv.labels[p]!] === -1) firstPixel[lv.labels[p]!] = p;
    const keep = new Int32Array(lv.count).fill(-1);
    const chosen: number[] = [];
    for (let r = 0; r < lv.count; r++) {
      const size = lv.sizes[r]!;
      if (size < minArea || size > maxCoverage * n) continue;
      // Nesting means a region of equal size containing the same pixel is the same region.
      if (prev && prev.sizes[prev.labels[firstPixel[r]!]!] === size) continue;
      keep[r] = chosen.length;
      chosen.push(r);
    }
    const masks = chosen.map(() => new Uint8Array(n));
    for (let p = 0; p < n; p++) {
      const k = keep[lv.labels[p]!]!;
      if (k >= 0) masks[k]![p] = 1;
    }
    chosen.forEach((r, i) => out.push({ level: l, mask: masks[i]!, area: lv.sizes[r]! }));
  });
  return out;
}
