/**
 * The score threshold chosen so the selection, rendered in the prompt view, covers the prompt's 2D
 * mask best (highest IoU). The paper's adaptive thresholds (the mean of the positive scores for
 * points, mean + std for SAM prompts) lost badly to this on the evaluation suite (README).
 *
 * A pixel counts as covered when the selected Gaussians carry at least half of its blend (as the
 * evaluation renders a selection). Sorting a pixel's contributions by score, covered(tau) holds
 * exactly when tau is below one critical score per pixel, so the IoU of every threshold comes from
 * one sort of the pixels' critical scores: no rendering per candidate threshold.
 */
import type { Camera } from '../../scene/camera.ts';
import type { Mask2D } from './mask2d.ts';
import type { PixelProbe } from './pixel-probe.ts';

export interface ViewThresholdInput {
  probe: PixelProbe;
  camera: Camera;
  /** The prompt's 2D mask (any resolution; stretched over the view). */
  mask: Mask2D;
  /** Per Gaussian: the score it is selected by (-Infinity: never selected, e.g. beaten by a negative). */
  scores: Float32Array;
  /** Unit features and their size (the probe needs values to blend; only the weights are used). */
  unit: Float32Array;
  dim: number;
  /** Most pixels examined: a grid over the mask's box grown by half its size. */
  maxPixels?: number;
  /** Lowest threshold considered. */
  floor?: number;
  /**
   * Take the lowest threshold whose IoU is within `slack` of the best (default 0: the best, highest
   * first). Thresholds that tie in the prompt view differ in what it cannot see: the object's hidden
   * side scores a little lower than its visible one, so the lower of near-ties keeps more of it.
   */
  slack?: number;
}

export interface ViewThreshold {
  threshold: number;
  /** IoU of the selection's render with the mask at that threshold (on the examined pixels). */
  iou: number;
  pixels: number;
}

/** The examined pixels: a regular grid over the mask's box, grown by half its size, clamped to the view. */
function gridPixels(camera: Camera, mask: Mask2D, maxPixels: number): { pixels: number[]; inside: Uint8Array } {
  const { width: W, height: H } = camera;
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let my = 0; my < mask.height; my++) {
    for (let mx = 0; mx < mask.width; mx++) {
      if (!mask.data[my * mask.width + mx]) continue;
      x0 = Math.min(x0, mx);
      y0 = Math.min(y0, my);
      x1 = Math.max(x1, mx + 1);
      y1 = Math.max(y1, my + 1);
    }
  }
  if (x1 < 0) return { pixels: [], inside: new Uint8Array(0) };
  const sx = W / mask.width, sy = H / mask.height;
  const gx = (x1 - x0) * sx * 0.5, gy = (y1 - y0) * sy * 0.5;
  const bx0 = Math.max(0, Math.floor(x0 * sx - gx)), by0 = Math.max(0, Math.floor(y0 * sy - gy));
  const bx1 = Math.min(W, Math.ceil(x1 * sx + gx)), by1 = Math.min(H, Math.ceil(y1 * sy + gy));
  const step = Math.max(1, Math.ceil(Math.sqrt(((bx1 - bx0) * (by1 - by0)) / maxPixels)));
  const pixels: number[] = [];
  const inside: number[] = [];
  for (let y = by0; y < by1; y += step) {
    const my = Math.min(mask.height - 1, Math.floor(((y + 0.5) * mask.height) / H));
    for (let x = bx0; x < bx1; x += step) {
      const mx = Math.min(mask.width - 1, Math.floor(((x + 0.5) * mask.width) / W));
      pixels.push(y * W + x);
      inside.push(mask.data[my * mask.width + mx] ? 1 : 0);
    }
  }
  return { pixels, inside: Uint8Array.from(inside) };
}

export function viewThreshold(input: ViewThresholdInput): ViewThreshold | undefined {
  const { probe, camera, mask, scores } = input;
  const { pixels, inside } = gridPixels(camera, mask, input.maxPixels ?? 2000);
  if (pixels.length === 0) return undefined;
  const rendered = probe.render(camera, pixels, input.unit, input.dim, { contributions: true, weightsOnly: true });
  // Critical score per pixel: covered for every threshold below it (-Infinity: never covered).
  const critical = new Float64Array(pixels.length).fill(-Infinity);
  let maskPixels = 0;
  for (let j = 0; j < pixels.length; j++) {
    if (inside[j]) maskPixels++;
    const { gaussians, weights } = rendered.contributions![j]!;
    const alpha = rendered.alpha[j]!;
    if (!(alpha > 0)) continue;
    const order = Array.from(gaussians.keys()).sort((a, b) => scores[gaussians[b]!]! - scores[gaussians[a]!]!);
    let sum = 0;
    for (const k of order) {
      const s = scores[gaussians[k]!]!;
      if (s === -Infinity) break;
      sum += weights[k]!;
      if (sum >= 0.5 * alpha) {
        critical[j] = s;
        break;
      }
    }
  }
  if (maskPixels === 0) return undefined;
  // Sweep the thresholds from high to low: pixels become covered at their critical score.
  const order = Array.from(critical.keys()).filter((j) => critical[j] !== -Infinity).sort((a, b) => critical[b]! - critical[a]!);
  const floor = input.floor ?? 0;
  let hit = 0;
  let extra = 0;
  let best: ViewThreshold | undefined;
  const candidates: ViewThreshold[] = [];
  for (let i = 0; i < order.length; i++) {
    const j = order[i]!;
    if (inside[j]) hit++;
    else extra++;
    const tau = critical[j]!;
    if (tau <= floor) break;
    // Thresholds just below this pixel's critical score (and above the next one's) cover the same set.
    const next = i + 1 < order.length ? critical[order[i + 1]!]! : -Infinity;
    if (next === tau) continue;
    const iou = hit / (maskPixels + extra);
    const candidate = { threshold: Math.max(floor, (tau + Math.max(next, floor)) / 2), iou, pixels: pixels.length };
    candidates.push(candidate);
    if (!best || iou > best.iou) best = candidate;
  }
  const slack = input.slack ?? 0;
  if (!best || slack <= 0) return best;
  // Candidates run from high thresholds to low: the last one near enough to the best.
  for (let i = candidates.length - 1; i >= 0; i--) if (candidates[i]!.iou >= best.iou - slack) return candidates[i];
  return best;
}
