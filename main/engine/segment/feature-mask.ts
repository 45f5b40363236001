/**
 * The prompt's 2D mask from the rendered features themselves, for a view without automatic masks
 * (the viewport's free camera, a view not prepared): the view-consistent threshold needs a 2D mask
 * to agree with, and there is none to pick.
 *
 * On a coarse grid over the region (the whole view for clicks, the box for a box), each pixel's
 * rendered feature is scored against the queries (highest cosine; pixels closer to a negative query
 * drop out, as do pixels the scene barely covers); Otsu's split of those scores separates the
 * object from the rest, and the connected parts that hold a positive click (or, for a box, the
 * largest inside it) are the mask. The grid covers the whole view, so the mask stretches over it as
 * automatic masks do.
 */
import type { Camera } from '../../scene/camera.ts';
import type { Mask2D } from './mask2d.ts';
import type { PixelProbe } from './pixel-probe.ts';

/** Queries at least this close (cosine) to the box's chosen query are taken as parts of its object. */
const PART_COSINE = 0.5;

export interface FeatureMaskInput {
  probe: PixelProbe;
  camera: Camera;
  unit: Float32Array;
  dim: number;
  /** Unit queries (q x dim), and negative ones (may be empty). */
  positive: Float32Array;
  negative: Float32Array;
  /** Pixel box [x0, y0, x1, y1) to look in (clamped to the view). */
  region: readonly [number, number, number, number];
  /** Clicked pixels (x, y) whose connected parts make the mask; none: the largest part. */
  seeds: readonly (readonly [number, number])[];
  /** Most pixels rendered (default 2000). */
  maxPixels?: number;
}

/** Otsu's split of scores in [-1, 1] over 128 bins: the threshold between the two classes. */
export function otsuSplit(scores: ArrayLike<number>): number | undefined {
  const bins = new Float64Array(128);
  let n = 0;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (!Number.isFinite(s)) continue;
    bins[Math.min(127, Math.max(0, Math.floor(((s + 1) / 2) * 128)))]!++;
    n++;
  }
  if (n < 2) return undefined;
  let total = 0;
  for (let b = 0; b < 128; b++) total += b * bins[b]!;
  let w0 = 0, sum0 = 0, best = -1, bestVar = -1;
  for (let b = 0; b < 127; b++) {
    w0 += bins[b]!;
    sum0 += b * bins[b]!;
    const w1 = n - w0;
    if (w0 === 0 || w1 === 0) continue;
    const between = w0 * w1 * (sum0 / w0 - (total - sum0) / w1) ** 2;
    if (between > bestVar) {
      bestVar = between;
      best = b;
    }
  }
  return best < 0 ? undefined : ((best + 1) / 128) * 2 - 1;
}

function maxDot(v: Float32Array, at: number, queries: Float32Array, dim: number): number {
  let best = -Infinity;
  for (let q = 0; q < queries.length; q += dim) {
    let s = 0;
    for (let c = 0; c < dim; c++) s += v[at + c]! * queries[q + c]!;
    if (s > best) best = s;
  }
  return best;
}

interface ScoredGrid {
  gw: number;
  gh: number;
  /** Grid cell of each rendered pixel. */
  cells: number[];
  /** Unit rendered features of the rendered pixels (n x dim); rows of barely covered pixels are zero. */
  features: Float32Array;
  covered: Uint8Array;
}

/** Renders a grid (covering the view) at the cells whose centre lies in the region. */
function renderGrid(input: Omit<FeatureMaskInput, 'positive' | 'negative' | 'seeds'>): ScoredGrid | undefined {
  const { probe, camera, unit, dim } = input;
  const { width: W, height: H } = camera;
  const x0 = Math.max(0, Math.floor(input.region[0])), y0 = Math.max(0, Math.floor(input.region[1]));
  const x1 = Math.min(W, Math.ceil(input.region[2])), y1 = Math.min(H, Math.ceil(input.region[3]));
  if (!(x1 > x0 && y1 > y0)) return undefined;
  const step = Math.max(1, Math.ceil(Math.sqrt(((x1 - x0) * (y1 - y0)) / (input.maxPixels ?? 2000))));
  const gw = Math.ceil(W / step), gh = Math.ceil(H / step);
  const cells: number[] = [];
  const pixels: number[] = [];
  for (let my = 0; my < gh; my++) {
    const y = Math.min(H - 1, Math.floor(((my + 0.5) * H) / gh));
    if (y < y0 || y >= y1) continue;
    for (let mx = 0; mx < gw; mx++) {
      const x = Math.min(W - 1, Math.floor(((mx + 0.5) * W) / gw));
      if (x < x0 || x >= x1) continue;
      cells.push(my * gw + mx);
      pixels.push(y * W + x);
    }
  }
  if (pixels.length === 0) return undefined;
  const rendered = probe.render(camera, pixels, unit, dim);
  const features = rendered.features;
  const covered = new Uint8Array(pixels.length);
  for (let j = 0; j < pixels.length; j++) {
    // Pixels the scene barely covers say little about any object (edges against empty space: kept).
    if (!(rendered.alpha[j]! > 0.2)) continue;
    let norm = 0;
    for (let c = 0; c < dim; c++) norm += features[j * dim + c]! ** 2;
    if (!(norm > 0)) continue;
    const inv = 1 / Math.sqrt(norm);
    for (let c = 0; c < dim; c++) features[j * dim + c] = features[j * dim + c]! * inv;
    covered[j] = 1;
  }
  return { gw, gh, cells, features, covered };
}

/** Per rendered pixel: highest cosine with `positive`, -Infinity where uncovered or a negative wins. */
function gridScores(grid: ScoredGrid, dim: number, positive: Float32Array, negative: Float32Array): Float32Array {
  const scores = new Float32Array(grid.cells.length).fill(-Infinity);
  for (let j = 0; j < grid.cells.length; j++) {
    if (!grid.covered[j]) continue;
    const p = maxDot(grid.features, j * dim, positive, dim);
    if (negative.length && maxDot(grid.features, j * dim, negative, dim) >= p) continue;
    scores[j] = p;
  }
  return scores;
}

/** Connected parts (8-neighbours: thin parts one cell wide still connect) of the cells above Otsu's split. */
function parts(grid: ScoredGrid, scores: Float32Array): { part: Int32Array; sizes: number[] } | undefined {
  const { gw, gh } = grid;
  const split = otsuSplit(scores);
  if (split === undefined) return undefined;
  const on = new Uint8Array(gw * gh);
  for (let j = 0; j < grid.cells.length; j++) if (scores[j]! > split) on[grid.cells[j]!] = 1;
  const part = new Int32Array(gw * gh).fill(-1);
  const sizes: number[] = [];
  const stack: number[] = [];
  for (let c = 0; c < on.length; c++) {
    if (!on[c] || part[c]! >= 0) continue;
    const id = sizes.length;
    let size = 0;
    part[c] = id;
    stack.push(c);
    while (stack.length) {
      const k = stack.pop()!;
      size++;
      const kx = k % gw, ky = (k - kx) / gw;
      for (let dy = -1; dy <= 1; dy++) {
        for (let dx = -1; dx <= 1; dx++) {
          const nx = kx + dx, ny = ky + dy;
          if (nx < 0 || ny < 0 || nx >= gw || ny >= gh) continue;
          const nk = ny * gw + nx;
          if (on[nk] && part[nk]! < 0) {
            part[nk] = id;
            stack.push(nk);
          }
        }
      }
    }
    sizes.push(size);
  }
  return sizes.length ? { part, sizes } : undefined;
}

function maskOf(grid: ScoredGrid, part: Int32Array, keep: Set<number>): Mask2D {
  const data = new Uint8Array(grid.gw * grid.gh);
  for (let c = 0; c < data.length; c++) if (part[c]! >= 0 && keep.has(part[c]!)) data[c] = 1;
  return { width: grid.gw, height: grid.gh, data };
}

export function featureMask(input: FeatureMaskInput): Mask2D | undefined {
  const { camera, dim } = input;
  const { width: W, height: H } = camera;
  const grid = renderGrid(input);
  if (!grid) return undefined;
  const { gw, gh } = grid;
  const found = parts(grid, gridScores(grid, dim, input.positive, input.negative));
  if (!found) return undefined;
  const { part, sizes } = found;
  const keep = new Set<number>();
  for (const [sx, sy] of input.seeds) {
    // The part under the click, or the nearest within two cells (a click on an edge).
    const cx = Math.min(gw - 1, Math.floor((sx * gw) / W)), cy = Math.min(gh - 1, Math.floor((sy * gh) / H));
    let hit = -1;
    for (let r = 0; r <= 2 && hit < 0; r++) {
      for (let dy = -r; dy <= r && hit < 0; dy++) {
        for (let dx = -r; dx <= r && hit < 0; dx++) {
          const nx = cx + dx, ny = cy + dy;
          if (nx >= 0 && ny >= 0 && nx < gw && ny < gh && part[ny * gw + nx]! >= 0) hit = part[ny * gw + nx]!;
        }
      }
    }
    if (hit >= 0) keep.add(hit);
  }
  if (input.seeds.length === 0) keep.add(sizes.indexOf(Math.max(...sizes)));
  if (keep.size === 0) return undefined;
  return maskOf(grid, part, keep);
}

/**
 * A box prompt without automatic masks: of the queries (k-means over the box), the one whose 2D
 * mask (its parts that lie in the box, on a grid over the box grown by a quarter: the background
 * goes on past the box, the object does not) matches the box best, by the IoU of their bounding
 * box with the box, as the automatic mask that best fills a box is chosen. Returns that mask and
 * the queries of the object: the chosen one and those close to it in feature space (its parts),
 * and how well the mask's bounding box fits the box (IoU).
 */
export function boxFeatureMask(input: Omit<FeatureMaskInput, 'seeds'>): { mask: Mask2D; query: Float32Array; fit: number } | undefined {
  const { camera, dim } = input;
  const [bx0, by0, bx1, by1] = input.region;
  // Rendered around the box too: the background goes on past the box, the object does not.
  const gx = 0.25 * (bx1 - bx0), gy = 0.25 * (by1 - by0);
  const grid = renderGrid({ ...input, region: [bx0 - gx, by0 - gy, bx1 + gx, by1 + gy] });
  if (!grid) return undefined;
  const { gw, gh } = grid;
  let best: { mask: Mask2D; query: Float32Array; iou: number } | undefined;
  const sx = camera.width / gw, sy = camera.height / gh;
  const insideBox = (c: number) => {
    const cx = ((c % gw) + 0.5) * sx, cy = (Math.floor(c / gw) + 0.5) * sy;
    return cx >= bx0 && cx < bx1 && cy >= by0 && cy < by1;
  };
  const masks: { mask: Mask2D; query: Float32Array }[] = [];
  for (let q = 0; q < input.positive.length; q += dim) {
    const query = input.positive.slice(q, q + dim);
    const found = parts(grid, gridScores(grid, dim, query, input.negative));
    if (!found) continue;
    // The parts that lie (mostly) in the box: an object's pieces, not the background around it.
    const inside = new Array<number>(found.sizes.length).fill(0);
    for (let c = 0; c < found.part.length; c++) if (found.part[c]! >= 0 && insideBox(c)) inside[found.part[c]!]!++;
    const keep = new Set<number>();
    found.sizes.forEach((size, id) => {
      if (inside[id]! >= 0.8 * size) keep.add(id);
    });
    if (keep.size === 0) continue;
    let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
    for (let c = 0; c < found.part.length; c++) {
      if (!keep.has(found.part[c]!)) continue;
      const cx = c % gw, cy = (c - cx) / gw;
      x0 = Math.min(x0, cx); y0 = Math.min(y0, cy); x1 = Math.max(x1, cx + 1); y1 = Math.max(y1, cy + 1);
    }
    const ix = Math.max(0, Math.min(x1 * sx, bx1) - Math.max(x0 * sx, bx0));
    const iy = Math.max(0, Math.min(y1 * sy, by1) - Math.max(y0 * sy, by0));
    const inter = ix * iy;
    const union = (x1 - x0) * sx * (y1 - y0) * sy + (bx1 - bx0) * (by1 - by0) - inter;
    const iou = union > 0 ? inter / union : 0;
    const mask = maskOf(grid, found.part, keep);
    masks.push({ mask, query });
    if (!best || iou > best.iou) best = { mask, query, iou };
  }
  if (!best) return undefined;
  // The object's other queries (its parts, which k-means splits apart): those close to the chosen
  // one in feature space. Other objects in the box (a mug on the table) and the background are not.
  const queries: number[] = [];
  for (const m of masks) {
    let cos = 0;
    for (let c = 0; c < dim; c++) cos += m.query[c]! * best.query[c]!;
    if (m.query === best.query || cos >= PART_COSINE) queries.push(...m.query);
  }
  return { mask: best.mask, query: Float32Array.from(queries), fit: best.iou };
}
