/**
 * The paper's "single view" baseline (SPIn-NeRF table, after SA3D): segment the prompt view in 2D,
 * then lift that one mask to the Gaussians that render into it. It needs no training, so it runs
 * before SAGA's features exist and is the floor that trained segmentation must beat.
 *
 * 2D step, from the view's automatic masks (SAM's, or the oracle's): the mask that the prompt picks
 * among them (segment/view-masks.ts); a mask prompt is used as it is; no mask, empty selection.
 * Lift: a Gaussian is selected when at least `share` (default one half) of its total blending weight
 * in the prompt view falls on pixels inside the mask. Gaussians the view does not see stay out: this
 * is the baseline's weakness in 3D (backs of objects, occluded parts).
 */
import type { Camera } from '../../scene/camera.ts';
import type { GaussianScene } from '../../scene/gaussians.ts';
import { SagaError } from '../../contract/errors.ts';
import type { Mask2D } from '../segment/mask2d.ts';
import { maskForBox, maskForPoints } from '../segment/view-masks.ts';
import type { BlendRasterizer } from './rasterizer.ts';
import type { PointPrompt, PromptInput, SegmentationContext, SegmentationMethod } from '../segment/types.ts';

/**
 * Per-Gaussian selection of the Gaussians whose blending weight in `camera` lies mostly inside `mask`
 * (share of weight inside >= `share`). The mask may have another resolution than the camera: it is
 * sampled at the nearest pixel.
 */
export function liftMask(scene: GaussianScene, camera: Camera, mask: Mask2D, rasterizer: BlendRasterizer, share = 0.5): Uint8Array {
  const W = camera.width, H = camera.height;
  const inside = new Uint8Array(W * H);
  for (let y = 0; y < H; y++) {
    const my = Math.min(mask.height - 1, Math.floor(((y + 0.5) * mask.height) / H));
    for (let x = 0; x < W; x++) {
      const mx = Math.min(mask.width - 1, Math.floor(((x + 0.5) * mask.width) / W));
      inside[y * W + x] = mask.data[my * mask.width + mx] ? 1 : 0;
    }
  }
  const total = new Float64Array(scene.count);
  const within = new Float64Array(scene.count);
  rasterizer.forEachContribution(scene, camera, (pixel, g, w) => {
    total[g]! += w;
    if (inside[pixel]) within[g]! += w;
  });
  const selected = new Uint8Array(scene.count);
  for (let g = 0; g < scene.count; g++) if (total[g]! > 0 && within[g]! >= share * total[g]!) selected[g] = 1;
  return selected;
}

/** Points of a prompt in the prompt view's pixel grid: scribbles are positive points. */
function promptPoints(prompt: PromptInput): PointPrompt[] {
  return prompt.kind === 'points' || prompt.kind === 'scribble' ? prompt.points : [];
}

export function findCamera(cameras: readonly Camera[], view: string): Camera {
  const camera = cameras.find((c) => c.name === view);
  if (!camera) throw new SagaError('BAD_ARGUMENT', `The prompt names view '${view}', which is not among the scene's ${cameras.length} cameras. Check prompts.json against cameras.json.`);
  return camera;
}

export function singleViewMethod(options: { share?: number } = {}): SegmentationMethod {
  const share = options.share ?? 0.5;
  return {
    name: 'single-view',
    description: "lift the prompt view's 2D mask to the Gaussians rendering into it (no training)",
    async segment(context: SegmentationContext, prompt: PromptInput, signal?: AbortSignal): Promise<Uint8Array> {
      const camera = findCamera(context.cameras, prompt.view);
      let mask: Mask2D | undefined;
      if (prompt.kind === 'mask') mask = prompt.mask;
      else {
        const masks = await context.masks.masksFor(prompt.view);
        mask = prompt.kind === 'box' ? maskForBox(masks, prompt.box) : maskForPoints(masks, promptPoints(prompt));
      }
      if (signal?.aborted) throw new SagaError('CANCELLED', 'Segmentation was cancelled.');
      if (!mask) return new Uint8Array(context.scene.count);
      return liftMask(context.scene, camera, mask, context.rasterizer, share);
    },
  };
}
