/**
 * The multi-view check: the last phase of post-processing, which holds a selection to the automatic
 * masks of the other training views.
 *
 * The trained features decide each Gaussian from one prompt view; a part they render poorly (a thin
 * leg, a side the prompt view does not show) can fall out of the selection, and a neighbour whose
 * feature lies close can fall in. The training views' automatic masks (SAM's, or imported) see those
 * parts head on. For each checked view:
 *  1. the selection is rendered (each pixel's blend weight of selected Gaussians) and the view's
 *     automatic mask with the highest IoU with that render is taken as the object in this view; a
 *     view where no mask reaches `match` abstains (the object is hidden there, or no mask is right);
 *  2. every Gaussian the view blends gets that view's blend weight as "seen" and the part of it that
 *     falls inside the matched mask as "inside".
 * Over the views, a Gaussian seen enough is added when at least `add` of its weight fell inside the
 * matched masks, and dropped when less than `remove` did; the gap between the two is a hysteresis, so
 * the features keep the call wherever the views are split. Gaussians no view sees keep it too.
 * The check then runs again on its own answer, whose render matches the views' masks better, until a
 * pass changes nothing (at most `passes`).
 *
 * Rendering a view costs about as much as a frame on the CPU, so each checked view's blend is
 * recorded once per scene on a coarse grid (`buildViewVotes`: at most `maxPixels` pixels, weights of
 * at least `minWeight`), and a check replays the recordings. It replays only what can matter: the
 * selection's render in the box its centres span, each Gaussian's weight inside the matched mask's
 * box, and, for the selected Gaussians and those with weight inside, the view's recorded total. The
 * recording is the reference rasterizer's blend (raster/reference.ts: projection, front-to-back
 * order, alpha cut-offs, early stop) with each Gaussian cut at its 3-sigma box, binned in 4-pixel
 * cells so that a pixel walks only the Gaussians whose box holds it.
 */
import { scaleCamera } from '../../scene/cameras/math.ts';
import type { Camera } from '../../scene/camera.ts';
import type { GaussianScene } from '../../scene/gaussians.ts';
import { ALPHA_MAX, ALPHA_MIN, projectGaussian, TRANSMITTANCE_MIN } from '../raster/reference.ts';
import type { Mask2D } from './mask2d.ts';

/** A training view with its automatic masks (any grid: they are resampled to the recording's). */
export interface CheckView {
  camera: Camera;
  masks: readonly Mask2D[];
}

export interface ViewVoteOptions {
  /** At most this many views are recorded, spread evenly over the list. */
  maxViews: number;
  /** Each view is recorded at its aspect ratio with at most this many pixels. */
  maxPixels: number;
  /** Blend weights below this are not recorded (they add little and cost memory). */
  minWeight: number;
}

export const VIEW_VOTE_DEFAULTS: ViewVoteOptions = { maxViews: 16, maxPixels: 32_768, minWeight: 0.001 };

export interface ViewCheckOptions {
  /** A view takes part when its best mask's IoU with the rendered selection is at least this. */
  match: number;
  /** An unselected Gaussian joins when at least this share of its seen weight fell inside the matched masks. */
  add: number;
  /** A selected Gaussian leaves when less than this share did. */
  remove: number;
  /** Gaussians with less total blend weight than this over the matched views keep their call. */
  seen: number;
  /**
   * The check runs again on its own answer, which matches the views' masks better, until nothing
   * changes or this many passes have run.
   */
  passes: number;
}

/**
 * Measured on the evaluation suite (README, "Segmentation"). Around these values 3D IoU moves little:
 * match 0.2-0.4, add 0.3-0.5 and remove 0.1-0.3 stay within 1.6 points of it for every prompt kind
 * (2D mIoU within 2.4 for match, up to 4 for add and remove). Match 0.5 loses 3-9 points of 2D mIoU
 * and 0.7 loses 5-21 (fewer views take part when the features' first selection is poor).
 */
export const VIEW_CHECK_DEFAULTS: ViewCheckOptions = { match: 0.3, add: 0.4, remove: 0.2, seen: 0.05, passes: 3 };

/** One view's recorded blend on its grid, and its masks as bitsets on the same grid. */
interface VoteView {
  name: string;
  /** The view's camera at the grid's size. */
  camera: Camera;
  width: number;
  height: number;
  /** Pixel p's contributions are entries offsets[p] .. offsets[p + 1] - 1. */
  offsets: Uint32Array;
  gaussians: Uint32Array;
  weights: Float32Array;
  /** One bit per grid pixel (bit p & 31 of word p >> 5) per automatic mask. */
  masks: Uint32Array[];
  /** Each mask's pixel box on the grid: x0, y0, x1, y1 (inclusive; x0 > x1 when empty). */
  boxes: Int32Array;
  /** Each Gaussian's recorded weight summed over the whole view. */
  totals: Float32Array;
}

export interface ViewVotes {
  /** Gaussians in the scene the votes were recorded for, and their centres. */
  count: number;
  positions: Float32Array;
  views: VoteView[];
}

/** At most `max` of `items`, spread evenly (the first is always kept). */
export function spreadPick<T>(items: readonly T[], max: number): T[] {
  if (items.length <= max) return items.slice();
  return Array.from({ length: max }, (_, i) => items[Math.floor((i * items.length) / max)]!);
}

function maskBits(mask: Mask2D, width: number, height: number): Uint32Array {
  const bits = new Uint32Array(Math.ceil((width * height) / 32));
  for (let y = 0; y < height; y++) {
    const my = Math.min(mask.height - 1, Math.floor(((y + 0.5) * mask.height) / height));
    for (let x = 0; x < width; x++) {
      const mx = Math.min(mask.width - 1, Math.floor(((x + 0.5) * mask.width) / width));
      if (mask.data[my * mask.width + mx]) {
        const p = y * width + x;
        bits[p >>> 5]! |= 1 << (p & 31);
      }
    }
  }
  return bits;
}

/** Side of the square pixel cells a recording bins Gaussians in. */
const CELL = 4;

/**
 * The blend of `camera` (at its own size): per pixel, the Gaussians with a weight (alpha times
 * transmittance) of at least `minWeight`, front to back.
 */
export function recordBlend(scene: GaussianScene, camera: Camera, minWeight: number): { offsets: Uint32Array; gaussians: Uint32Array; weights: Float32Array } {
  const { width, height } = camera;
  const cellsX = Math.ceil(width / CELL);
  const cellsY = Math.ceil(height / CELL);
  // Project every Gaussian once; keep its footprint and its range of cells.
  const U: number[] = [], V: number[] = [], A: number[] = [], B: number[] = [], C: number[] = [], O: number[] = [], D: number[] = [], G: number[] = [];
  const X0: number[] = [], X1: number[] = [], Y0: number[] = [], Y1: number[] = [];
  for (let i = 0; i < scene.count; i++) {
    const p = projectGaussian(scene, i, camera);
    if (!p) continue;
    const x0 = Math.max(0, Math.floor((p.u - p.radius) / CELL)), x1 = Math.min(cellsX - 1, Math.floor((p.u + p.radius) / CELL));
    const y0 = Math.max(0, Math.floor((p.v - p.radius) / CELL)), y1 = Math.min(cellsY - 1, Math.floor((p.v + p.radius) / CELL));
    if (x0 > x1 || y0 > y1) continue;
    U.push(p.u); V.push(p.v); A.push(p.conicA); B.push(p.conicB); C.push(p.conicC); O.push(p.opacity); D.push(p.depth); G.push(i);
    X0.push(x0); X1.push(x1); Y0.push(y0); Y1.push(y1);
  }
  const m = G.length;
  // Front to back (ties by Gaussian index), then into each cell's list in that order.
  const order = Array.from({ length: m }, (_, k) => k).sort((a, b) => D[a]! - D[b]! || G[a]! - G[b]!);
  const start = new Uint32Array(cellsX * cellsY + 1);
  for (let k = 0; k < m; k++) for (let y = Y0[k]!; y <= Y1[k]!; y++) for (let x = X0[k]!; x <= X1[k]!; x++) start[y * cellsX + x + 1]!++;
  for (let c = 0; c < cellsX * cellsY; c++) start[c + 1]! += start[c]!;
  const lists = new Uint32Array(start[cellsX * cellsY]!);
  const cursor = start.slice(0, cellsX * cellsY);
  for (const k of order) for (let y = Y0[k]!; y <= Y1[k]!; y++) for (let x = X0[k]!; x <= X1[k]!; x++) lists[cursor[y * cellsX + x]!++] = k;
  const offsets = new Uint32Array(width * height + 1);
  let gaussians = new Uint32Array(1 << 16);
  let weights = new Float32Array(1 << 16);
  let n = 0;
  for (let py = 0; py < height; py++) {
    for (let px = 0; px < width; px++) {
      const cell = ((py / CELL) | 0) * cellsX + ((px / CELL) | 0);
      const sx = px + 0.5, sy = py + 0.5;
      let T = 1;
      for (let j = start[cell]!; j < start[cell + 1]!; j++) {
        const k = lists[j]!;
        const dx = U[k]! - sx, dy = V[k]! - sy;
        const power = -0.5 * (A[k]! * dx * dx + C[k]! * dy * dy) - B[k]! * dx * dy;
        if (power > 0) continue;
        const raw = Math.min(ALPHA_MAX, O[k]! * Math.exp(power));
        if (raw <= ALPHA_MIN) continue;
        const a = raw * Math.min(1, (raw - ALPHA_MIN) / ALPHA_MIN);
        const next = T * (1 - a);
        if (next < TRANSMITTANCE_MIN) break;
        const w = a * T;
        T = next;
        if (w < minWeight) continue;
        if (n === gaussians.length) {
          const g2 = new Uint32Array(2 * n); g2.set(gaussians); gaussians = g2;
          const w2 = new Float32Array(2 * n); w2.set(weights); weights = w2;
        }
        gaussians[n] = G[k]!;
        weights[n++] = w;
      }
      offsets[py * width + px + 1] = n;
    }
  }
  return { offsets, gaussians: gaussians.slice(0, n), weights: weights.slice(0, n) };
}

/** Records the blend of each checked view once (see the file comment). Views without masks are skipped. */
export function buildViewVotes(scene: GaussianScene, views: readonly CheckView[], options: Partial<ViewVoteOptions> = {}): ViewVotes {
  const o = { ...VIEW_VOTE_DEFAULTS, ...options };
  const out: VoteView[] = [];
  for (const view of spreadPick(views.filter((v) => v.masks.length > 0), o.maxViews)) out.push(recordView(scene, view, o));
  return { count: scene.count, positions: scene.positions, views: out };
}

function recordView(scene: GaussianScene, view: CheckView, o: ViewVoteOptions): VoteView {
  const { camera } = view;
  const s = Math.min(1, Math.sqrt(o.maxPixels / (camera.width * camera.height)));
  const width = Math.max(1, Math.round(camera.width * s));
  const height = Math.max(1, Math.round(camera.height * s));
  const grid = scaleCamera(camera, width, height);
  const blend = recordBlend(scene, grid, o.minWeight);
  const masks = view.masks.map((m) => maskBits(m, width, height));
  const boxes = new Int32Array(4 * masks.length);
  masks.forEach((bits, k) => {
    let x0 = width, y0 = height, x1 = -1, y1 = -1;
    for (let p = 0; p < width * height; p++) {
      if (!((bits[p >>> 5]! >>> (p & 31)) & 1)) continue;
      const x = p % width, y = (p / width) | 0;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
    boxes.set([x0, y0, x1, y1], 4 * k);
  });
  const totals = new Float32Array(scene.count);
  for (let k = 0; k < blend.gaussians.length; k++) totals[blend.gaussians[k]!]! += blend.weights[k]!;
  return { name: camera.name, camera: grid, width, height, ...blend, masks, boxes, totals };
}

/** Bytes the recordings hold. */
export function viewVotesBytes(votes: ViewVotes): number {
  let bytes = 0;
  for (const v of votes.views) bytes += v.offsets.byteLength + v.gaussians.byteLength + v.weights.byteLength + v.totals.byteLength + v.boxes.byteLength + v.masks.reduce((a, m) => a + m.byteLength, 0);
  return bytes;
}

function popcount(x: number): number {
  x -= (x >>> 1) & 0x55555555;
  x = (x & 0x33333333) + ((x >>> 2) & 0x33333333);
  return (((x + (x >>> 4)) & 0x0f0f0f0f) * 0x01010101) >>> 24;
}

export interface ViewCheckResult {
  selection: Uint8Array;
  /** Views whose masks matched the selection in the last pass (the rest abstained). */
  matched: number;
  /** Gaussians added and removed, over all passes. */
  added: number;
  removed: number;
  passes: number;
}

/**
 * Holds `selection` to the recorded views' masks (see the file comment), pass after pass. Gaussians
 * set in `exclude` (closer to a negative click than to the object) are never added.
 */
export function viewCheck(votes: ViewVotes, selection: Uint8Array, options: Partial<ViewCheckOptions> = {}, exclude?: Uint8Array): ViewCheckResult {
  const o = { ...VIEW_CHECK_DEFAULTS, ...options };
  const result: ViewCheckResult = { selection, matched: 0, added: 0, removed: 0, passes: 0 };
  while (result.passes < o.passes) {
    const pass = checkOnce(votes, result.selection, o, exclude);
    result.passes++;
    result.selection = pass.selection;
    result.matched = pass.matched;
    result.added += pass.added;
    result.removed += pass.removed;
    if (pass.added + pass.removed === 0) break;
  }
  return result;
}

/** Selected centres projected per view to find where the selection can render: at most this many. */
const REGION_SAMPLES = 4096;

/**
 * The grid box where the selection can render in `view`: the box of (a spread sample of) the
 * selected centres, widened by a quarter of its size and 4 pixels for the splats' extent; undefined
 * when no centre lands in the view.
 */
function selectionRegion(view: VoteView, positions: Float32Array, selected: Uint32Array): [number, number, number, number] | undefined {
  const { camera } = view;
  const R = camera.rotation, t = camera.translation;
  const step = Math.max(1, Math.floor(selected.length / REGION_SAMPLES));
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let j = 0; j < selected.length; j += step) {
    const g = selected[j]!;
    const px = positions[3 * g]!, py = positions[3 * g + 1]!, pz = positions[3 * g + 2]!;
    const z = R[6]! * px + R[7]! * py + R[8]! * pz + t[2]!;
    if (!(z > 0)) continue;
    const u = (camera.fx * (R[0]! * px + R[1]! * py + R[2]! * pz + t[0]!)) / z + camera.cx;
    const v = (camera.fy * (R[3]! * px + R[4]! * py + R[5]! * pz + t[1]!)) / z + camera.cy;
    if (u < x0) x0 = u;
    if (u > x1) x1 = u;
    if (v < y0) y0 = v;
    if (v > y1) y1 = v;
  }
  if (!(x1 >= x0)) return undefined;
  const padX = 4 + 0.25 * (x1 - x0), padY = 4 + 0.25 * (y1 - y0);
  const box: [number, number, number, number] = [
    Math.max(0, Math.floor(x0 - padX)), Math.max(0, Math.floor(y0 - padY)),
    Math.min(view.width - 1, Math.ceil(x1 + padX)), Math.min(view.height - 1, Math.ceil(y1 + padY)),
  ];
  return box[0] <= box[2] && box[1] <= box[3] ? box : undefined;
}

function checkOnce(votes: ViewVotes, selection: Uint8Array, o: ViewCheckOptions, exclude: Uint8Array | undefined): Omit<ViewCheckResult, 'passes'> {
  const n = selection.length;
  const inside = new Float32Array(n);
  const matchedViews: VoteView[] = [];
  let count = 0;
  for (let g = 0; g < n; g++) count += selection[g]!;
  const selected = new Uint32Array(count);
  for (let g = 0, k = 0; g < n; g++) if (selection[g]) selected[k++] = g;
  let matched = 0;
  for (const view of votes.views) {
    const { offsets, gaussians, weights, width } = view;
    const region = selectionRegion(view, votes.positions, selected);
    if (!region) continue;
    // The selection's render on the grid, as a bitset: pixels more than half covered by it.
    const rendered = new Uint32Array(Math.ceil((width * view.height) / 32));
    let renderedArea = 0;
    for (let y = region[1]; y <= region[3]; y++) {
      for (let p = y * width + region[0]; p <= y * width + region[2]; p++) {
        let cover = 0;
        for (let k = offsets[p]!; k < offsets[p + 1]!; k++) if (selection[gaussians[k]!]) cover += weights[k]!;
        if (cover > 0.5) {
          rendered[p >>> 5]! |= 1 << (p & 31);
          renderedArea++;
        }
      }
    }
    if (renderedArea === 0) continue;
    let best = -1;
    let bestIoU = 0;
    view.masks.forEach((mask, m) => {
      let inter = 0;
      let union = 0;
      for (let w = 0; w < rendered.length; w++) {
        inter += popcount(rendered[w]! & mask[w]!);
        union += popcount(rendered[w]! | mask[w]!);
      }
      const iou = union ? inter / union : 0;
      if (iou > bestIoU) {
        bestIoU = iou;
        best = m;
      }
    });
    if (best < 0 || bestIoU < o.match) continue;
    matched++;
    const mask = view.masks[best]!;
    // Only Gaussians inside the matched mask can join, and only selected ones can leave: the pixels
    // of the mask's box and of the selection's region hold all of them.
    matchedViews.push(view);
    // Each Gaussian's weight inside the mask: all of it lies in the mask's box.
    const b = view.boxes;
    for (let y = b[4 * best + 1]!; y <= b[4 * best + 3]!; y++) {
      for (let p = y * width + b[4 * best]!; p <= y * width + b[4 * best + 2]!; p++) {
        if (!((mask[p >>> 5]! >>> (p & 31)) & 1)) continue;
        for (let k = offsets[p]!; k < offsets[p + 1]!; k++) inside[gaussians[k]!]! += weights[k]!;
      }
    }
  }
  const out = selection.slice();
  let added = 0;
  let removed = 0;
  if (matched === 0) return { selection: out, matched, added, removed };
  for (let g = 0; g < n; g++) {
    // Only a selected Gaussian can leave and only one with weight inside a mask can join; what the
    // matched views saw of it is their recorded totals.
    if (!selection[g] && inside[g] === 0) continue;
    let seen = 0;
    for (const v of matchedViews) seen += v.totals[g]!;
    if (seen < o.seen) continue;
    const share = inside[g]! / seen;
    if (selection[g]) {
      if (share < o.remove) {
        out[g] = 0;
        removed++;
      }
    } else if (share >= o.add && !exclude?.[g]) {
      out[g] = 1;
      added++;
    }
  }
  return { selection: out, matched, added, removed };
}
