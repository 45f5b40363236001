/**
 * SAGA's prompt-to-selection (the paper's sections 3.4 and 3.5): queries from the rendered features
 * under the prompt, a score per Gaussian, a threshold, then 3D post-processing.
 *
 * - Points: the queries are the rendered features at the clicked pixels; a Gaussian's positive score
 *   is its highest cosine with a positive query, its negative score the same with the negatives; it
 *   is selected when the positive score beats the negative one and the threshold.
 * - Scribble and mask: spherical k-means (k = 5) over the rendered features under the stroke or mask
 *   gives the queries.
 * - Box (no SAM model): the automatic mask of the view whose bounding box best matches the box is
 *   used as a mask prompt; in a view without prepared masks, the box's inner half is.
 * Scores use the smoothed trained features (train/smoothing.ts), unit length.
 */
import { SagaError } from '../../contract/errors.ts';
import type { Camera } from '../../scene/camera.ts';
import type { GaussianScene } from '../../scene/gaussians.ts';
import { ballQueryGrow, regionGrow, statisticalFilter } from '../post/post-process.ts';
import type { SpatialIndex } from '../post/spatial-index.ts';
import { Mulberry32 } from '../../common/random.ts';
import { normalizeRows, sphericalKMeans } from './kmeans.ts';
import { boxIoU, maskBox, type Mask2D } from './mask2d.ts';
import type { PixelProbe } from './pixel-probe.ts';
import type { PointPrompt, Prompt } from './types.ts';
import { maskForBox, maskForPoints } from './view-masks.ts';
import { boxFeatureMask, featureMask } from './feature-mask.ts';
import { viewThreshold } from './view-threshold.ts';
import { viewCheck, type ViewCheckOptions, type ViewVotes } from './view-check.ts';

/** A box's feature-drawn object mask is taken when its bounding box fits the box at least this well (IoU). */
const BOX_FIT = 0.8;

/**
 * How the score threshold is chosen: 'view' (the render of the selection in the prompt view covers
 * the prompt's 2D mask best, view-threshold.ts; without a 2D mask, `fallback`), the paper's rule,
 * Otsu's split of the scores, or a fixed value.
 */
export type ThresholdRule = 'view' | 'paper' | 'otsu' | { fixed: number };

export interface PostOptions {
  /** Statistical filter (point and scribble prompts). */
  filter: boolean;
  /** Region growing from mask-validated seeds (mask and box prompts). */
  region: boolean;
  /**
   * Hysteresis: grow the selection through spatially connected Gaussians scoring within `extend`
   * below the threshold (0: off). Parts the prompt view does not show (backs, undersides) score a
   * little lower than what it shows; their connection to the selection decides.
   */
  extend: number;
  /** Ball-query growing. */
  grow: boolean;
  /**
   * Ball-query growing also when the multi-view check runs. Off by default: with the check, growing
   * changed the suite's 3D IoU by -0.9 to +0.2 per prompt kind (its sum not at all) and costs 35 ms
   * a click at 1M Gaussians; the check adds what growing would, on the views' evidence.
   */
  growWithViews: boolean;
  /** The multi-view check against the other training views' automatic masks (view-check.ts), when they are recorded. */
  views: boolean;
}

export interface SagaOptions {
  /** The threshold rule of box and mask prompts. */
  threshold: ThresholdRule;
  /**
   * The threshold rule of clicks and scribbles. Measured on the suite (README): a fixed 0.7 gives
   * points 69.8 3D IoU / 66.0 2D mIoU against 63.0 / 71.7 for 'view' (scribbles 63.0 / 52.6 against
   * 52.3 / 57.0), the only rule that clears the single-view baseline by 15 points in 3D.
   */
  clickThreshold: ThresholdRule;
  /** The threshold when the rule is 'view' and the prompt has no 2D mask (a click in a view without masks). */
  fallback: number;
  /**
   * Point and scribble prompts in a view with automatic masks: take the queries from the 2D mask the
   * prompt picks (k-means, as a mask prompt) instead of from the clicked pixels alone.
   */
  pointQueriesFromMask: boolean;
  post: PostOptions;
  /** K-means clusters for scribble and mask prompts. */
  clusters: number;
  /** Most prompt pixels rendered for k-means. */
  maxPromptPixels: number;
  /** Most pixels of the prompt view rendered to choose the 'view' threshold. */
  viewPixels: number;
  /**
   * With the 'view' rule, a box no automatic mask fills: draw its 2D mask from the rendered features
   * (feature-mask.ts) instead of taking the box's inner half.
   */
  featureMask: boolean;
  /** The view threshold takes the lowest threshold within this much IoU of the best (view-threshold.ts). */
  viewSlack: number;
  /** Highest threshold the 'view' rule may choose. */
  viewCap: number;
  /** The multi-view check's rules that differ from VIEW_CHECK_DEFAULTS (view-check.ts fills in the rest). */
  viewCheck: Partial<ViewCheckOptions>;
}

export const SAGA_DEFAULTS: SagaOptions = {
  threshold: 'view',
  clickThreshold: { fixed: 0.7 },
  fallback: 0.7,
  pointQueriesFromMask: false,
  // Measured per phase on the evaluation suite (README, "Segmentation"): the statistical filter
  // lowers 3D IoU for points and scribbles (it drops thin parts: legs, stands, shelf boards), so it
  // is available but off; hysteresis growth (extend) and the multi-view check raise it for every
  // kind, and ball-query growing does where the check cannot run (no prepared views recorded).
  post: { filter: false, region: true, extend: 0.1, grow: true, growWithViews: false, views: true },
  clusters: 5,
  maxPromptPixels: 256,
  viewPixels: 2000,
  featureMask: true,
  viewSlack: 0,
  viewCap: 1,
  viewCheck: {},
};

/** Every post-processing phase off: the thresholded selection as it is. */
export const NO_POST: PostOptions = { filter: false, region: false, extend: 0, grow: false, growWithViews: false, views: false };

export interface SagaInput {
  scene: GaussianScene;
  /** The camera the prompt was given in, at the prompt's pixel size. */
  camera: Camera;
  prompt: Prompt;
  /** Unit trained features (count x dim). */
  unit: Float32Array;
  dim: number;
  probe: PixelProbe;
  index: SpatialIndex;
  /** The view's automatic masks (box prompts without SAM), when it is a prepared training view. */
  viewMasks?: readonly Mask2D[];
  /** The training views' recorded blends and masks, for the multi-view check (view-check.ts). */
  viewVotes?: ViewVotes;
  /** Highest cosine of each Gaussian with the queries: the SIMD kernel (wasm-score.ts); default the plain loop. */
  scorer?: (queries: Float32Array) => Float32Array;
  options?: Partial<SagaOptions>;
}

export interface SagaResult {
  selection: Uint8Array;
  /** Milliseconds per phase: queries, scoring, threshold, filter, region, grow. */
  timings: Record<string, number>;
  threshold: number;
  queries: number;
}

function pixelOf(camera: Camera, p: PointPrompt): number {
  const x = Math.floor(p.x);
  const y = Math.floor(p.y);
  if (!(x >= 0 && y >= 0 && x < camera.width && y < camera.height)) {
    throw new SagaError('BAD_ARGUMENT', `The point (${p.x}, ${p.y}) is outside the ${camera.width}x${camera.height} view. Click inside the image.`, { x: p.x, y: p.y });
  }
  return y * camera.width + x;
}

/** Pixels along a polyline (one per pixel step), without repeats. */
function strokePixels(camera: Camera, points: readonly PointPrompt[]): number[] {
  const seen = new Set<number>();
  const add = (x: number, y: number) => seen.add(pixelOf(camera, { x, y, label: 1 }));
  points.forEach((p, i) => {
    add(p.x, p.y);
    const q = points[i + 1];
    if (!q) return;
    const steps = Math.ceil(Math.hypot(q.x - p.x, q.y - p.y));
    for (let s = 1; s < steps; s++) add(p.x + ((q.x - p.x) * s) / steps, p.y + ((q.y - p.y) * s) / steps);
  });
  return [...seen];
}

/** Camera pixels whose nearest mask pixel is inside (the mask may have another resolution). */
export function maskPixels(camera: Camera, mask: Mask2D): number[] {
  const out: number[] = [];
  const { width: W, height: H } = camera;
  for (let y = 0; y < H; y++) {
    const my = Math.min(mask.height - 1, Math.floor(((y + 0.5) * mask.height) / H));
    for (let x = 0; x < W; x++) {
      const mx = Math.min(mask.width - 1, Math.floor(((x + 0.5) * mask.width) / W));
      if (mask.data[my * mask.width + mx]) out.push(y * W + x);
    }
  }
  return out;
}

/** At most `max` of `pixels`, drawn evenly with a fixed seed (the same prompt gives the same queries). */
export function subsample(pixels: number[], max: number): number[] {
  if (pixels.length <= max) return pixels;
  const r = new Mulberry32(pixels.length);
  const copy = pixels.slice();
  for (let i = 0; i < max; i++) {
    const j = i + r.below(copy.length - i);
    [copy[i], copy[j]] = [copy[j]!, copy[i]!];
  }
  return copy.slice(0, max);
}

/** The mask of a box prompt without SAM (see the file header). */
export function boxMask(camera: Camera, box: readonly number[], viewMasks: readonly Mask2D[] | undefined): { mask: Mask2D; automatic: boolean } {
  const [x0, y0, x1, y1] = box as [number, number, number, number];
  if (!(x1 > x0 && y1 > y0)) throw new SagaError('BAD_ARGUMENT', `The box (${x0}, ${y0}, ${x1}, ${y1}) is empty or inverted: give x0 < x1 and y0 < y1.`, { box });
  if (x1 <= 0 || y1 <= 0 || x0 >= camera.width || y0 >= camera.height) {
    throw new SagaError('BAD_ARGUMENT', `The box (${x0}, ${y0}, ${x1}, ${y1}) lies outside the ${camera.width}x${camera.height} view.`, { box });
  }
  // The automatic masks may be on another grid than the camera's pixels.
  const grid = viewMasks?.[0];
  const best = grid ? maskForBox(viewMasks!, [x0 * grid.width / camera.width, y0 * grid.height / camera.height, x1 * grid.width / camera.width, y1 * grid.height / camera.height]) : undefined;
  const b = best ? maskBox(best) : undefined;
  if (best && b && boxIoU([b[0] * camera.width / best.width, b[1] * camera.height / best.height, b[2] * camera.width / best.width, b[3] * camera.height / best.height], box) >= 0.5) return { mask: best, automatic: true };
  const data = new Uint8Array(camera.width * camera.height);
  const cx = (x0 + x1) / 2, cy = (y0 + y1) / 2, hw = (x1 - x0) / 4, hh = (y1 - y0) / 4;
  for (let y = Math.max(0, Math.floor(cy - hh)); y < Math.min(camera.height, Math.ceil(cy + hh)); y++) {
    for (let x = Math.max(0, Math.floor(cx - hw)); x < Math.min(camera.width, Math.ceil(cx + hw)); x++) data[y * camera.width + x] = 1;
  }
  return { mask: { width: camera.width, height: camera.height, data }, automatic: false };
}

/** The automatic mask a point or scribble prompt picks (view-masks.ts), in the masks' own grid. */
function viewMaskFor(camera: Camera, masks: readonly Mask2D[], points: readonly PointPrompt[]): Mask2D | undefined {
  const m = masks[0]!;
  const sx = m.width / camera.width, sy = m.height / camera.height;
  return maskForPoints(masks, points.map((p) => ({ x: p.x * sx, y: p.y * sy, label: p.label })));
}

/** Rendered unit features at `pixels`, dropping pixels the scene barely covers. */
function queriesAt(input: SagaInput, pixels: number[]): Float32Array {
  const { probe, camera, unit, dim } = input;
  const rendered = probe.render(camera, pixels, unit, dim);
  const rows: number[] = [];
  for (let j = 0; j < pixels.length; j++) if (rendered.alpha[j]! >= 0.5) rows.push(j);
  const out = new Float32Array(rows.length * dim);
  rows.forEach((j, k) => out.set(rendered.features.subarray(j * dim, j * dim + dim), k * dim));
  return normalizeRows(out, dim);
}

/** Highest cosine of each Gaussian's unit feature with any query (-Infinity without queries). */
export function maxScores(unit: Float32Array, dim: number, queries: Float32Array): Float32Array {
  const n = unit.length / dim;
  const q = queries.length / dim;
  const out = new Float32Array(n).fill(-Infinity);
  for (let g = 0; g < n; g++) {
    let best = -Infinity;
    for (let j = 0; j < q; j++) {
      let s = 0;
      for (let c = 0; c < dim; c++) s += unit[g * dim + c]! * queries[j * dim + c]!;
      if (s > best) best = s;
    }
    out[g] = best;
  }
  return out;
}

/** The score threshold: the paper's (mean of the positive scores), Otsu's split of their histogram, or a fixed value. */
export function chooseThreshold(rule: ThresholdRule, positive: Float32Array): number {
  if (typeof rule === 'object') return rule.fixed;
  let sum = 0;
  let n = 0;
  for (const s of positive) if (Number.isFinite(s)) { sum += s; n++; }
  if (n === 0) return Infinity;
  if (rule === 'paper') return sum / n;
  // Otsu over 256 bins of [-1, 1].
  const bins = new Float64Array(256);
  for (const s of positive) if (Number.isFinite(s)) bins[Math.min(255, Math.max(0, Math.floor(((s + 1) / 2) * 256)))]!++;
  let total = 0;
  for (let b = 0; b < 256; b++) total += b * bins[b]!;
  let wB = 0, sumB = 0, best = 0, bestVar = -1;
  for (let b = 0; b < 256; b++) {
    wB += bins[b]!;
    if (wB === 0) continue;
    const wF = n - wB;
    if (wF === 0) break;
    sumB += b * bins[b]!;
    const between = wB * wF * (sumB / wB - (total - sumB) / wF) ** 2;
    if (between > bestVar) {
      bestVar = between;
      best = b;
    }
  }
  return ((best + 1) / 256) * 2 - 1;
}

/** Selected Gaussians whose centre projects inside `mask` in `camera`. */
export function projectInside(scene: GaussianScene, camera: Camera, mask: Mask2D, selection: Uint8Array): Uint8Array {
  const R = camera.rotation;
  const t = camera.translation;
  const out = new Uint8Array(selection.length);
  for (let g = 0; g < selection.length; g++) {
    if (!selection[g]) continue;
    const px = scene.positions[3 * g]!, py = scene.positions[3 * g + 1]!, pz = scene.positions[3 * g + 2]!;
    const z = R[6]! * px + R[7]! * py + R[8]! * pz + t[2]!;
    if (!(z > 0)) continue;
    const u = (camera.fx * (R[0]! * px + R[1]! * py + R[2]! * pz + t[0]!)) / z + camera.cx;
    const v = (camera.fy * (R[3]! * px + R[4]! * py + R[5]! * pz + t[1]!)) / z + camera.cy;
    if (!(u >= 0 && v >= 0 && u < camera.width && v < camera.height)) continue;
    const mx = Math.min(mask.width - 1, Math.floor((u * mask.width) / camera.width));
    const my = Math.min(mask.height - 1, Math.floor((v * mask.height) / camera.height));
    if (mask.data[my * mask.width + mx]) out[g] = 1;
  }
  return out;
}

/** Milliseconds per phase: `lap(name)` records the time since the previous lap (or the start). */
export function phaseTimer(): { timings: Record<string, number>; lap: (phase: string) => void } {
  const timings: Record<string, number> = {};
  let t = performance.now();
  return {
    timings,
    lap: (phase) => {
      const now = performance.now();
      timings[phase] = now - t;
      t = now;
    },
  };
}

export function sagaSegment(input: SagaInput): SagaResult {
  const o: SagaOptions = { ...SAGA_DEFAULTS, ...input.options, post: { ...SAGA_DEFAULTS.post, ...input.options?.post } };
  const { scene, camera, prompt, unit, dim } = input;
  const { timings, lap } = phaseTimer();
  let positive: Float32Array;
  let negative: Float32Array = new Float32Array(0);
  /** The prompt's 2D mask: given, from the box, or picked among the view's automatic masks. */
  let mask: Mask2D | undefined;
  /** Mask and box prompts: region growing validates seeds against their mask. */
  let dense = false;
  /** Whether `mask` is the user's or one of the view's automatic masks (not a stand-in). */
  let automatic = true;
  if (prompt.kind === 'points' || prompt.kind === 'scribble') {
    const pos = prompt.points.filter((p) => p.label === 1);
    const neg = prompt.points.filter((p) => p.label === 0);
    if (pos.length === 0) throw new SagaError('BAD_ARGUMENT', `A ${prompt.kind === 'points' ? 'point prompt' : 'scribble'} needs at least one point on the object to select.`);
    for (const p of prompt.points) pixelOf(camera, p);
    // The view's automatic mask under the prompt: only the 'view' rule and mask-based queries use it.
    const wantsMask = o.clickThreshold === 'view' || o.pointQueriesFromMask;
    mask = wantsMask && input.viewMasks?.length ? viewMaskFor(camera, input.viewMasks, prompt.points) : undefined;
    automatic = mask !== undefined;
    const strokes = (points: PointPrompt[]) => (prompt.kind === 'points' ? points.map((p) => pixelOf(camera, p)) : subsample(strokePixels(camera, points), o.maxPromptPixels));
    if (mask && o.pointQueriesFromMask) positive = sphericalKMeans(queriesAt(input, subsample(maskPixels(camera, mask), o.maxPromptPixels)), dim, o.clusters);
    else positive = prompt.kind === 'points' ? queriesAt(input, strokes(pos)) : sphericalKMeans(queriesAt(input, strokes(pos)), dim, o.clusters);
    if (neg.length) negative = prompt.kind === 'points' ? queriesAt(input, strokes(neg)) : sphericalKMeans(queriesAt(input, strokes(neg)), dim, o.clusters);
  } else {
    if (prompt.kind === 'mask') mask = prompt.mask;
    else ({ mask, automatic } = boxMask(camera, prompt.box, input.viewMasks));
    dense = true;
    const pixels = maskPixels(camera, mask);
    if (pixels.length === 0) throw new SagaError('BAD_ARGUMENT', 'The mask prompt is empty: paint the object to select.');
    positive = sphericalKMeans(queriesAt(input, subsample(pixels, o.maxPromptPixels)), dim, o.clusters);
  }
  // A box no automatic mask fills (a free camera, an unprepared view): of the box's k-means queries,
  // the one whose 2D mask drawn from the rendered features fills the box best is the object, and the
  // threshold agrees with that mask rather than with the box's inner half. Clicks and scribbles keep the
  // fixed fallback there: feature masks cost them (points 50.5 against 69.8).
  if (!automatic && prompt.kind === 'box' && o.threshold === 'view' && o.featureMask && positive.length > 0) {
    const chosen = boxFeatureMask({ probe: input.probe, camera, unit, dim, positive, negative, region: prompt.box, maxPixels: o.viewPixels });
    if (chosen && chosen.fit >= BOX_FIT) {
      mask = chosen.mask;
      positive = chosen.query;
    } else {
      // No one object fills the box: everything the box's queries find in it.
      mask = featureMask({ probe: input.probe, camera, unit, dim, positive, negative, region: prompt.box, seeds: [], maxPixels: o.viewPixels }) ?? mask;
    }
  }
  lap('queries');
  const n = scene.count;
  let selection: Uint8Array = new Uint8Array(n);
  if (positive.length === 0) {
    // The prompt fell where the scene renders nothing: nothing to select.
    return { selection, timings, threshold: Infinity, queries: 0 };
  }
  const score = input.scorer ?? ((queries: Float32Array) => maxScores(unit, dim, queries));
  const pos = score(positive);
  const neg = negative.length ? score(negative) : undefined;
  lap('score');
  // A Gaussian is a candidate when its positive score beats its negative one; the threshold does the rest.
  const effective = neg ? pos.map((p, g) => (p > neg[g]! ? p : -Infinity)) : pos;
  let threshold: number;
  const rule = dense ? o.threshold : o.clickThreshold;
  if (rule === 'view') {
    const chosen = mask ? viewThreshold({ probe: input.probe, camera, mask, scores: effective, unit, dim, maxPixels: o.viewPixels, slack: o.viewSlack }) : undefined;
    threshold = chosen ? Math.min(chosen.threshold, o.viewCap) : o.fallback;
  } else {
    threshold = chooseThreshold(rule, pos);
  }
  for (let g = 0; g < n; g++) if (effective[g]! > threshold) selection[g] = 1;
  lap('threshold');
  const exclude = neg ? Uint8Array.from(pos, (p, g) => (p > neg[g]! ? 0 : 1)) : undefined;
  selection = postProcess({ scene, camera, index: input.index, selection, scores: effective, threshold, mask: dense ? mask : undefined, post: o.post, ...(exclude ? { exclude } : {}), ...(input.viewVotes ? { viewVotes: input.viewVotes, viewCheck: o.viewCheck } : {}), lap });
  return { selection, timings, threshold, queries: positive.length / dim + negative.length / dim };
}

export interface PostInput {
  scene: GaussianScene;
  camera: Camera;
  index: SpatialIndex;
  /** The thresholded selection. */
  selection: Uint8Array;
  /** Each Gaussian's score and the threshold it was cut at (hysteresis growth). */
  scores: Float32Array;
  threshold: number;
  /** Mask and SAM prompts: the 2D mask that validates region-growing seeds; without it, the statistical filter runs. */
  mask: Mask2D | undefined;
  post: PostOptions;
  /**
   * Gaussians growing must leave out: those closer to a negative query than to every positive one,
   * so growing does not undo a negative click.
   */
  exclude?: Uint8Array;
  /** The training views' recorded blends and masks (the multi-view check runs when given and `post.views` is on). */
  viewVotes?: ViewVotes;
  viewCheck?: Partial<ViewCheckOptions>;
  /** Records the time of the phase that just ended. */
  lap: (phase: string) => void;
}

/** The 3D post-processing of section 3.5 on a thresholded selection, phase by phase as `post` switches them. */
export function postProcess(x: PostInput): Uint8Array {
  const { scene, camera, mask, post, lap } = x;
  const n = scene.count;
  let selection = x.selection;
  if (mask && post.region) {
    selection = regionGrow(scene.positions, selection, projectInside(scene, camera, mask, selection));
    lap('region');
  } else if (!mask && post.filter) {
    selection = statisticalFilter(scene.positions, selection);
    lap('filter');
  }
  if (post.extend > 0) {
    const candidates = new Uint8Array(n);
    for (let g = 0; g < n; g++) if (x.scores[g]! > x.threshold - post.extend) candidates[g] = 1;
    selection = regionGrow(scene.positions, candidates, selection, 0.95);
    lap('extend');
  }
  const checked = post.views && x.viewVotes !== undefined && x.viewVotes.count === n;
  if (post.grow && (!checked || post.growWithViews)) {
    selection = ballQueryGrow(scene, selection, { index: x.index, ...(x.exclude ? { exclude: x.exclude } : {}) }).selection;
    lap('grow');
  }
  if (checked) {
    selection = viewCheck(x.viewVotes!, selection, x.viewCheck, x.exclude).selection;
    lap('views');
  }
  return selection;
}
