/**
 * Automatic mask generation ("segment everything"), after SAM's SamAutomaticMaskGenerator with
 * crop_n_layers = 0: a regular point grid, each point decoded with multimask output, masks kept
 * when predicted IoU >= pred_iou_thresh and stability score >= stability_score_thresh, then box NMS,
 * then small disconnected regions and holes removed (min_mask_region_area) with a second NMS that
 * prefers unchanged masks. Same parameter names and defaults as SAM, except min area 100 as SAGA v2
 * configures it (SAM's own default is 0).
 *
 * The math here is pure; the decoder is passed in.
 */
import { SagaError } from '../../contract/errors.ts';
import { longestSideShape } from './image.ts';
import { maskBox, packMask, unpackMask } from './storage.ts';

export interface AmgParams {
  pointsPerSide: number;
  /** Points decoded between filter passes (SAM's points_per_batch); bounds the logits held at once. */
  pointsPerBatch: number;
  predIouThresh: number;
  stabilityScoreThresh: number;
  stabilityScoreOffset: number;
  boxNmsThresh: number;
  /** Minimum region area in ORIGINAL image pixels (SAM's min_mask_region_area). */
  minMaskRegionArea: number;
  /** SAM's mask_threshold on logits. */
  maskThreshold: number;
}

export const AMG_DEFAULTS: AmgParams = {
  pointsPerSide: 32,
  pointsPerBatch: 64,
  predIouThresh: 0.88,
  stabilityScoreThresh: 0.95,
  stabilityScoreOffset: 1.0,
  boxNmsThresh: 0.7,
  minMaskRegionArea: 100,
  maskThreshold: 0.0,
};

/** One decoder result for one prompt point, as the generator consumes it. */
export interface PointDecoding {
  count: number;
  width: number;
  height: number;
  logits: Float32Array;
  iou: Float32Array;
}

/** Decodes one foreground point (original image coordinates) into multimask logits at `size`. */
export type PointDecoder = (x: number, y: number, size: { width: number; height: number }) => Promise<PointDecoding>;

export interface GeneratedMask {
  /** Bit-packed mask at the working size. */
  bits: Uint8Array;
  area: number;
  box: [number, number, number, number];
  predictedIou: number;
  stability: number;
  /** The grid point that produced it, original image coordinates. */
  point: [number, number];
}

/** SAM's build_point_grid: n x n points at cell centres of the unit square, x fastest. */
export function buildPointGrid(n: number): Float32Array {
  const out = new Float32Array(n * n * 2);
  const offset = 1 / (2 * n);
  for (let j = 0; j < n; j++) {
    for (let i = 0; i < n; i++) {
      const k = j * n + i;
      out[k * 2] = n === 1 ? 0.5 : offset + (i * (1 - 2 * offset)) / (n - 1);
      out[k * 2 + 1] = n === 1 ? 0.5 : offset + (j * (1 - 2 * offset)) / (n - 1);
    }
  }
  return out;
}

/**
 * SAM's calculate_stability_score: IoU between the masks binarised at threshold + offset and at
 * threshold - offset, for one logit map.
 */
export function stabilityScore(logits: Float32Array, threshold: number, offset: number): number {
  let inter = 0;
  let union = 0;
  const hi = threshold + offset;
  const lo = threshold - offset;
  for (let i = 0; i < logits.length; i++) {
    const v = logits[i]!;
    if (v > hi) inter++;
    if (v > lo) union++;
  }
  return union === 0 ? 0 : inter / union;
}

/** IoU of two inclusive-corner boxes, with torchvision's box_iou area convention (x1-x0)*(y1-y0). */
export function boxIou(a: readonly number[], b: readonly number[]): number {
  const areaA = (a[2]! - a[0]!) * (a[3]! - a[1]!);
  const areaB = (b[2]! - b[0]!) * (b[3]! - b[1]!);
  const iw = Math.max(0, Math.min(a[2]!, b[2]!) - Math.max(a[0]!, b[0]!));
  const ih = Math.max(0, Math.min(a[3]!, b[3]!) - Math.max(a[1]!, b[1]!));
  const inter = iw * ih;
  const union = areaA + areaB - inter;
  return union <= 0 ? 0 : inter / union;
}

/** Greedy NMS: indices kept, highest score first; a box is dropped when IoU > thresh with a kept one. */
export function boxNms(boxes: readonly (readonly number[])[], scores: ArrayLike<number>, iouThresh: number): number[] {
  const order = Array.from({ length: boxes.length }, (_, i) => i).sort((a, b) => scores[b]! - scores[a]! || a - b);
  const kept: number[] = [];
  for (const i of order) {
    if (kept.every((k) => boxIou(boxes[i]!, boxes[k]!) <= iouThresh)) kept.push(i);
  }
  return kept;
}

/**
 * SAM's remove_small_regions: in 'holes' mode fills background components smaller than
 * `areaThresh`; in 'islands' mode removes foreground components smaller than it (keeping the
 * largest if all are small). 4-connectivity for holes and 8 for islands is what OpenCV's default
 * (8) gives for both; we use 8 for both. Returns the new mask and whether it changed.
 */
export function removeSmallRegions(mask: Uint8Array, w: number, h: number, areaThresh: number, mode: 'holes' | 'islands'): { mask: Uint8Array; changed: boolean } {
  const target = mode === 'holes' ? 0 : 1;
  const labels = new Int32Array(w * h).fill(-1);
  const sizes: number[] = [];
  const stack = new Int32Array(w * h);
  for (let start = 0; start < w * h; start++) {
    if (labels[start] !== -1 || (mask[start] ? 1 : 0) !== target) continue;
    const id = sizes.length;
    let size = 0;
    let top = 0;
    stack[top++] = start;
    labels[start] = id;
    while (top > 0) {
      const p = stack[--top]!;
      size++;
      const px = p % w;
      const py = (p - px) / w;
      for (let dy = -1; dy <= 1; dy++) {
        const ny = py + dy;
        if (ny < 0 || ny >= h) continue;
        for (let dx = -1; dx <= 1; dx++) {
          const nx = px + dx;
          if ((dx === 0 && dy === 0) || nx < 0 || nx >= w) continue;
          const q = ny * w + nx;
          if (labels[q] === -1 && (mask[q] ? 1 : 0) === target) {
            labels[q] = id;
            stack[top++] = q;
          }
        }
      }
    }
    sizes.push(size);
  }
  const small = sizes.map((s) => s < areaThresh);
  if (!small.some(Boolean)) return { mask, changed: false };
  if (mode === 'islands' && small.every(Boolean)) {
    // Keep the largest island rather than deleting the mask outright, as SAM does.
    let best = 0;
    sizes.forEach((s, i) => {
      if (s > sizes[best]!) best = i;
    });
    small[best] = false;
  }
  const out = new Uint8Array(w * h);
  for (let i = 0; i < w * h; i++) {
    const inside = mask[i] ? 1 : 0;
    const l = labels[i]!;
    out[i] = l >= 0 && small[l] ? 1 - inside : inside;
  }
  return { mask: out, changed: true };
}

/**
 * The size masks are decoded at: the original size up to 1024 on the long side, otherwise the
 * 1024-long-side size (the resolution SAM's decoder works at anyway), to bound memory on big views.
 */
export function amgWorkingSize(width: number, height: number): { width: number; height: number } {
  return Math.max(width, height) <= 1024 ? { width, height } : longestSideShape(width, height, 1024);
}

/**
 * Filters one point's multimask output: keeps masks passing the predicted-IoU and stability
 * thresholds and having at least one pixel. Pure; used by generateMasks and unit-tested directly.
 */
export function filterPointMasks(d: PointDecoding, p: AmgParams, point: [number, number]): GeneratedMask[] {
  const plane = d.width * d.height;
  const out: GeneratedMask[] = [];
  const bin = new Uint8Array(plane);
  for (let m = 0; m < d.count; m++) {
    const iou = d.iou[m]!;
    if (p.predIouThresh > 0 && iou < p.predIouThresh) continue;
    const logits = d.logits.subarray(m * plane, (m + 1) * plane);
    const stability = stabilityScore(logits, p.maskThreshold, p.stabilityScoreOffset);
    if (p.stabilityScoreThresh > 0 && stability < p.stabilityScoreThresh) continue;
    let area = 0;
    for (let i = 0; i < plane; i++) {
      const v = logits[i]! > p.maskThreshold ? 1 : 0;
      bin[i] = v;
      area += v;
    }
    if (area === 0) continue;
    out.push({ bits: packMask(bin), area, box: maskBox(bin, d.width, d.height), predictedIou: iou, stability, point });
  }
  return out;
}

/**
 * Removes small holes and islands from each mask (areas in working-size pixels), then NMS again
 * preferring masks that did not change, as SAM's postprocess_small_regions does.
 */
export function postprocessSmallRegions(masks: GeneratedMask[], w: number, h: number, minArea: number, nmsThresh: number): GeneratedMask[] {
  if (minArea <= 0 || masks.length === 0) return masks;
  const fixed: GeneratedMask[] = [];
  const scores: number[] = [];
  for (const m of masks) {
    const bin = unpackMask(m.bits, w * h);
    const a = removeSmallRegions(bin, w, h, minArea, 'holes');
    const b = removeSmallRegions(a.mask, w, h, minArea, 'islands');
    const changed = a.changed || b.changed;
    let area = 0;
    for (let i = 0; i < b.mask.length; i++) area += b.mask[i]!;
    fixed.push(changed ? { ...m, bits: packMask(b.mask), area, box: maskBox(b.mask, w, h) } : m);
    scores.push(changed ? 0 : 1);
  }
  return boxNms(fixed.map((m) => m.box), scores, nmsThresh).map((i) => fixed[i]!).filter((m) => m.area > 0);
}

export interface AmgProgress {
  done: number;
  total: number;
}

/**
 * Segment everything in one view. `decode` runs the prompt decoder for one point. Returns masks at
 * the working size (see amgWorkingSize), sorted by predicted IoU like SAM's output after NMS.
 */
export async function generateMasks(
  decode: PointDecoder,
  imageWidth: number,
  imageHeight: number,
  params: Partial<AmgParams> = {},
  options: { signal?: AbortSignal; onProgress?: (p: AmgProgress) => void } = {},
): Promise<{ masks: GeneratedMask[]; width: number; height: number }> {
  const p = { ...AMG_DEFAULTS, ...params };
  const size = amgWorkingSize(imageWidth, imageHeight);
  const grid = buildPointGrid(p.pointsPerSide);
  const total = grid.length / 2;
  const candidates: GeneratedMask[] = [];
  for (let start = 0; start < total; start += p.pointsPerBatch) {
    const end = Math.min(total, start + p.pointsPerBatch);
    for (let k = start; k < end; k++) {
      if (options.signal?.aborted) throw new SagaError('CANCELLED', 'Mask generation was cancelled.');
      const x = grid[k * 2]! * imageWidth;
      const y = grid[k * 2 + 1]! * imageHeight;
      const d = await decode(x, y, size);
      candidates.push(...filterPointMasks(d, p, [x, y]));
    }
    options.onProgress?.({ done: end, total });
  }
  const kept = boxNms(candidates.map((c) => c.box), candidates.map((c) => c.predictedIou), p.boxNmsThresh).map((i) => candidates[i]!);
  const minArea = (p.minMaskRegionArea * size.width * size.height) / (imageWidth * imageHeight);
  const masks = postprocessSmallRegions(kept, size.width, size.height, minArea, p.boxNmsThresh);
  masks.sort((a, b) => b.predictedIou - a.predictedIou);
  return { masks, ...size };
}
