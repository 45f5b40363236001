/**
 * Prompts and segmentation methods: what a user gives (clicks, a scribble, a box, a 2D mask) in a
 * view, and the interface every way of turning that into a selection of Gaussians implements (SAGA
 * and the single-view baseline; the evaluation runs them side by side).
 */
import type { Camera } from '../../scene/camera.ts';
import type { GaussianScene } from '../../scene/gaussians.ts';
import type { BlendRasterizer } from '../eval/rasterizer.ts';
import type { SpatialIndex } from '../post/spatial-index.ts';
import type { Mask2D } from './mask2d.ts';
import type { PixelProbe } from './pixel-probe.ts';

/** A click in continuous pixel coordinates of the prompt view (pixel (i, j) spans [i, i+1) x [j, j+1)). */
export interface PointPrompt {
  x: number;
  y: number;
  /** 1 = positive (inside the target), 0 = negative (on something else). */
  label: 0 | 1;
}

export const PROMPT_KINDS = ['points', 'scribble', 'box', 'mask'] as const;
export type PromptKind = (typeof PROMPT_KINDS)[number];

/** A prompt of one kind, in the pixel coordinates of the view it was given in. */
export type Prompt =
  | { kind: 'points'; points: PointPrompt[] }
  | { kind: 'scribble'; points: PointPrompt[] }
  | { kind: 'box'; box: [number, number, number, number] }
  | { kind: 'mask'; mask: Mask2D };

/** A prompt given in a named view of the scene (a training view). */
export type PromptInput = Prompt & { view: string };

/** Where a method finds the automatic 2D masks of a training view (SAM's, or the oracle's stand-in). */
export interface ViewMasks {
  masksFor(view: string): Promise<Mask2D[]>;
}

/** Trained features as segmentation uses them: smoothed (train/smoothing.ts) and unit length. */
export interface SegmentFeatures {
  /** count x dim, each row of length 1 (or 0). */
  features: Float32Array;
  dim: number;
}

/** Everything a method may use: no ground truth in here. */
export interface SegmentationContext {
  scene: GaussianScene;
  cameras: Camera[];
  /** Every blending weight of a view (the baseline lifts 2D masks with it). */
  rasterizer: BlendRasterizer;
  masks: ViewMasks;
  /** Trained features by training variant ('full', 'no-corr', 'no-guidance'); absent before training. */
  trained?: Map<string, SegmentFeatures>;
  /** The scene's spatial index (post-processing), and the sparse renderer of features at pixels. */
  index?: SpatialIndex;
  probe?: PixelProbe;
}

/** A way to turn a prompt into a selection of Gaussians; the eval harness runs each one on the same prompts. */
export interface SegmentationMethod {
  name: string;
  /** One line for the results table. */
  description: string;
  /** Makes what the method keeps per scene (SAGA: the recorded views), before any prompt is timed. */
  prepare?(context: SegmentationContext): Promise<void>;
  /** Per-Gaussian selection (1 = selected), length scene.count. */
  segment(context: SegmentationContext, prompt: PromptInput, signal?: AbortSignal): Promise<Uint8Array>;
}
