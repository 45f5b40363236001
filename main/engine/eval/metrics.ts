/**
 * Scores of a selection against the ground truth, as the paper's tables report them:
 * - 3D IoU over Gaussians: selected vs the Gaussians whose object id is the target;
 * - per held-out view (NVOS style): the selection's rendered mask vs the label map, as IoU and pixel
 *   accuracy, averaged over views (mIoU, mAcc).
 */
import type { Camera } from '../../scene/camera.ts';
import type { GaussianScene } from '../../scene/gaussians.ts';
import type { BlendRasterizer } from './rasterizer.ts';

/** IoU of a per-Gaussian selection with the Gaussians of object `target`; 1 when both are empty. */
export function gaussianIoU(selected: Uint8Array, objectIds: Int32Array, target: number): number {
  let inter = 0;
  let union = 0;
  for (let i = 0; i < selected.length; i++) {
    const s = selected[i] !== 0;
    const t = objectIds[i] === target;
    if (s && t) inter++;
    if (s || t) union++;
  }
  return union === 0 ? 1 : inter / union;
}

/** Expected 3D IoU of a uniformly random selection of the same size: the chance level a method must beat. */
export function chanceGaussianIoU(selectedCount: number, targetCount: number, total: number): number {
  const inter = (selectedCount * targetCount) / total;
  const union = selectedCount + targetCount - inter;
  return union <= 0 ? 1 : inter / union;
}

/**
 * The selection's mask in a view: pixels where the selected Gaussians carry more than half of the
 * blend. The blend is the full scene's, so occluders hide the selection exactly as they hide the
 * object in the label map (rendering the subset alone would count occluded parts as visible).
 * Several selections are scored in one pass: returns one mask per selection.
 */
export function selectionMasks(
  scene: GaussianScene,
  camera: Camera,
  selections: Uint8Array[],
  rasterizer: BlendRasterizer,
  threshold = 0.5,
): Uint8Array[] {
  const P = selections.length;
  const pixels = camera.width * camera.height;
  const weight = new Float32Array(P * pixels);
  // Per Gaussian, which selections hold it, as a list: most Gaussians are in none or one.
  const holders: number[][] = new Array(scene.count);
  for (let g = 0; g < scene.count; g++) {
    let list: number[] | undefined;
    for (let p = 0; p < P; p++) if (selections[p]![g]) (list ??= []).push(p);
    if (list) holders[g] = list;
  }
  rasterizer.forEachContribution(scene, camera, (pixel, g, w) => {
    const list = holders[g];
    if (!list) return;
    for (const p of list) weight[p * pixels + pixel]! += w;
  });
  return selections.map((_, p) => {
    const m = new Uint8Array(pixels);
    for (let i = 0; i < pixels; i++) if (weight[p * pixels + i]! > threshold) m[i] = 1;
    return m;
  });
}

/** IoU and pixel accuracy of a predicted mask against `labels == target`; IoU is undefined when both are empty. */
export function maskScores(predicted: Uint8Array, labels: Uint16Array, target: number): { iou: number | undefined; accuracy: number } {
  let inter = 0, union = 0, correct = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = predicted[i] !== 0;
    const t = labels[i] === target;
    if (p && t) inter++;
    if (p || t) union++;
    if (p === t) correct++;
  }
  return { iou: union === 0 ? undefined : inter / union, accuracy: correct / labels.length };
}

export function mean(values: readonly number[]): number {
  return values.length === 0 ? NaN : values.reduce((s, v) => s + v, 0) / values.length;
}
