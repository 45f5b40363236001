/**
 * What an evaluation is made of: prompts (as the synth generator writes them to prompts.json), the
 * data a segmentation method may use, and the pluggable method interface.
 */
import type { Camera } from '../../scene/camera.ts';
import type { GaussianScene } from '../../scene/gaussians.ts';
import type { Mask2D } from './mask2d.ts';
import type { BlendRasterizer } from './rasterizer.ts';

/** A click in continuous pixel coordinates of the prompt view (pixel (i, j) spans [i, i+1) x [j, j+1)). */
export interface PointPrompt {
  x: number;
  y: number;
  /** 1 = positive (inside the target), 0 = negative (on something else). */
  label: 0 | 1;
}

/** One target object and every form of prompt for it, all in the same view. */
export interface EvalPrompt {
  id: string;
  /** Ground-truth object id (the `object_id` PLY property and the label map value). */
  targetId: number;
  targetName: string;
  /** Camera name of the prompt view. */
  view: string;
  /** Target pixels in the prompt view. */
  visibleArea: number;
  /** One positive click deep inside the target, one negative on its most adjacent neighbour. */
  points: PointPrompt[];
  /** A polyline along the target's main axis, inside it. */
  scribble: [number, number][];
  /** Tight half-open box [x0, y0, x1, y1) around the target's visible pixels. */
  box: [number, number, number, number];
  /** Id of the neighbour the negative click is on (0 = background, -1 = no negative click). */
  negativeOn: number;
}

export interface PromptsFile {
  format: 'saga-studio-prompts';
  version: 1;
  prompts: EvalPrompt[];
}

export const PROMPT_KINDS = ['points', 'scribble', 'box', 'mask'] as const;
export type PromptKind = (typeof PROMPT_KINDS)[number];

/** The prompt as a method receives it: one kind only, as a user would give it. */
export type PromptInput =
  | { kind: 'points'; view: string; points: PointPrompt[] }
  | { kind: 'scribble'; view: string; points: PointPrompt[] }
  | { kind: 'box'; view: string; box: [number, number, number, number] }
  | { kind: 'mask'; view: string; mask: Mask2D };

/** Where a method finds 2D masks for a view (SAM's automatic masks, or the oracle's stand-in). */
export interface MaskSource {
  masksFor(view: string): Promise<Mask2D[]>;
}

/** Everything a method may use: no ground truth in here. */
export interface SegmentationContext {
  scene: GaussianScene;
  cameras: Camera[];
  rasterizer: BlendRasterizer;
  masks: MaskSource;
}

/** A way to turn a prompt into a selection of Gaussians; the eval harness runs each one on the same prompts. */
export interface SegmentationMethod {
  name: string;
  /** One line for the results table. */
  description: string;
  /** Per-Gaussian selection (1 = selected), length scene.count. */
  segment(context: SegmentationContext, prompt: PromptInput, signal?: AbortSignal): Promise<Uint8Array>;
}

export interface Progress {
  stage: string;
  done: number;
  total: number;
}
export type ProgressCallback = (p: Progress) => void;
