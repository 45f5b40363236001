/**
 * The decisions behind the editing UI's requests, as pure functions: what a click in the viewport
 * asks the segmenter (a new point, or an Alt+click's negative point added to the last click in the
 * same camera), what a refused save asks the person (replace a file, or the project's source scene),
 * and where a save is suggested to go.
 */
import type { PromptPoint, SegmentPrompt, SelectionMode } from '../../main/contract/api.ts';
import type { SagaErrorData } from '../../main/contract/errors.ts';
import type { Camera } from '../../main/scene/camera.ts';
import { clickPoint, selectionMode, type CanvasPoint, type Modifiers } from './prompt-gesture.ts';

/** The last click prompt, so an Alt+click adds a negative point to it (in the same camera). */
export interface LastClick {
  points: PromptPoint[];
  camera: Camera;
  mode: SelectionMode;
  /** A SAM click (the SAM tool): its negative points go to SAM's decoder too. */
  sam: boolean;
}

export interface ClickRequest {
  prompt: SegmentPrompt;
  mode: SelectionMode;
  /** What to remember as the last click once the request is answered (null: forget it). */
  remember: LastClick | null;
}

/**
 * A click at canvas point `at` with `modifiers`, seen by `camera` (with `sam`, a SAM prompt: the SAM
 * tool's click). A plain click is a positive point
 * (Shift adds, Ctrl subtracts). Alt makes it negative: added to the last click's points when the
 * camera has not moved since (the same object, minus what was under the pointer); without a last
 * click in this camera, a negative point alone says nothing to select, so the object under the
 * pointer is taken away from the selection instead.
 */
export function clickRequest(at: CanvasPoint, modifiers: Modifiers, camera: Camera, last: LastClick | null, sam = false): ClickRequest {
  const point = clickPoint(at, modifiers, camera);
  const prompt = (points: PromptPoint[]): SegmentPrompt => ({ kind: 'points', points, ...(sam ? { sam: true } : {}) });
  if (point.label === 0 && last && last.sam === sam && sameCamera(last.camera, camera)) {
    const points = [...last.points, point];
    return { prompt: prompt(points), mode: last.mode, remember: { points, camera, mode: last.mode, sam } };
  }
  if (point.label === 0) return { prompt: prompt([{ ...point, label: 1 }]), mode: 'subtract', remember: null };
  const mode = selectionMode(modifiers);
  return { prompt: prompt([point]), mode, remember: { points: [point], camera, mode, sam } };
}

/** Whether two cameras have the same pose, intrinsics and size (the viewport did not move). */
export function sameCamera(a: Camera, b: Camera): boolean {
  if (a.width !== b.width || a.height !== b.height || a.fx !== b.fx || a.fy !== b.fy || a.cx !== b.cx || a.cy !== b.cy) return false;
  for (let i = 0; i < 9; i++) if (a.rotation[i] !== b.rotation[i]) return false;
  for (let i = 0; i < 3; i++) if (a.translation[i] !== b.translation[i]) return false;
  return true;
}

/** What to ask before saving again, for a save the backend refused; null when asking cannot help. */
export interface SaveConfirmation {
  title: string;
  message: string;
  yes: string;
  /** The parameter that says yes to the backend. */
  grant: 'overwrite' | 'replaceSource';
}

export function saveConfirmation(error: SagaErrorData, already: { overwrite?: boolean; replaceSource?: boolean }): SaveConfirmation | null {
  if (error.code !== 'FILE_EXISTS') return null;
  if (error.details?.['source'] === true) {
    return already.replaceSource ? null : { title: 'Replace the source scene?', message: error.message, yes: 'Replace the source scene', grant: 'replaceSource' };
  }
  return already.overwrite ? null : { title: 'Replace the file?', message: error.message, yes: 'Replace it', grant: 'overwrite' };
}

/**
 * The file a save is suggested to go to: `<project folder>/<project name>-edited.ply`, or
 * `-<layer name>.ply` for a layer, with characters that are awkward in file names replaced.
 */
export function suggestedSavePath(projectDir: string, projectName: string, layerName?: string): string {
  const safe = (s: string) => s.trim().replace(/[^\w.-]+/g, '_').replace(/^[._]+/, '') || 'scene';
  const folder = projectDir.replace(/[\\/]+$/, '');
  const separator = projectDir.includes('\\') && !projectDir.includes('/') ? '\\' : '/';
  return `${folder}${separator}${safe(projectName)}-${layerName !== undefined ? safe(layerName) : 'edited'}.ply`;
}
