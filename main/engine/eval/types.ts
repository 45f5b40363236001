/**
 * What an evaluation is made of: prompts made from the ground truth (as the synth generator writes
 * them to prompts.json). The prompt and method types themselves are in engine/segment/types.ts.
 */
import type { PointPrompt } from '../segment/types.ts';

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

export interface Progress {
  stage: string;
  done: number;
  total: number;
}
export type ProgressCallback = (p: Progress) => void;
