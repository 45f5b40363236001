/**
 * Pointer gestures on the viewport turned into segmentation prompts (the API's SegmentPrompt), as
 * pure functions: which selection mode the modifiers ask for, whether a press was a click or a
 * drag, a scribble stroke thinned to the points that matter, a box from a drag, a lasso outline
 * filled into a mask, and a prompt moved into a training view's pixels when the viewport sits at
 * that view. Coordinates are canvas pixels from the top-left, as the viewport's camera has them.
 */
import type { PromptPoint, SegmentPrompt, SelectionMode } from '../../main/contract/api.ts';
import type { Camera } from '../../main/scene/camera.ts';
import { canvasToViewPixel } from './viewport/camera-math.ts';

export type PromptTool = 'click' | 'scribble' | 'box' | 'mask' | 'sam';

export const PROMPT_TOOLS: readonly { tool: PromptTool; label: string }[] = [
  { tool: 'click', label: 'Click' },
  { tool: 'scribble', label: 'Scribble' },
  { tool: 'box', label: 'Box' },
  { tool: 'mask', label: 'Mask' },
  { tool: 'sam', label: 'SAM' },
];

/** The modifier keys of a pointer event (a PointerEvent has them as getters). */
export interface Modifiers {
  shiftKey: boolean;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
}

export interface CanvasPoint {
  x: number;
  y: number;
}

export interface CanvasSize {
  width: number;
  height: number;
}

/** A press that moved less than this many pixels before its release is a click, not a drag. */
export const CLICK_SLOP_PX = 4;
/** A scribble keeps a point once the pointer has moved this far from the last one kept. */
const STROKE_STEP_PX = 3;
/** Most points a scribble sends (the engine walks the polyline between them pixel by pixel). */
const MAX_STROKE_POINTS = 200;
/** A box or lasso smaller than this on either side is taken for a slip, not a prompt. */
const MIN_DRAG_SIDE_PX = 4;
/** The lasso's mask is at most this many pixels on its long side (the engine stretches it over the view). */
const MAX_MASK_SIDE = 512;

/** Shift adds, Ctrl (Cmd) subtracts, both keep what the two have in common; plain replaces. */
export function selectionMode(m: Modifiers): SelectionMode {
  const sub = m.ctrlKey || m.metaKey;
  if (m.shiftKey && sub) return 'intersect';
  if (m.shiftKey) return 'add';
  if (sub) return 'subtract';
  return 'replace';
}

export function isClick(down: CanvasPoint, up: CanvasPoint): boolean {
  return Math.hypot(up.x - down.x, up.y - down.y) < CLICK_SLOP_PX;
}

/** Inside [0, size) as the engine wants pixel coordinates (a release past the edge stays on it). */
function clampTo(p: CanvasPoint, size: CanvasSize): CanvasPoint {
  return { x: Math.min(Math.max(p.x, 0), size.width - 0.01), y: Math.min(Math.max(p.y, 0), size.height - 0.01) };
}

/** A click as a one-point prompt: positive, or negative with Alt. */
export function clickPoint(p: CanvasPoint, m: Modifiers, canvas: CanvasSize): PromptPoint {
  const q = clampTo(p, canvas);
  return { x: q.x, y: q.y, label: m.altKey ? 0 : 1 };
}

/** A scribble prompt from the pointer's path: thinned to steps of a few pixels, at most MAX_STROKE_POINTS. */
export function strokePrompt(path: readonly CanvasPoint[], canvas: CanvasSize): SegmentPrompt | null {
  if (path.length === 0) return null;
  // A stroke that never left the pixels around its start was a click.
  if (!path.some((p) => !isClick(path[0]!, p))) return null;
  const kept: CanvasPoint[] = [clampTo(path[0]!, canvas)];
  for (const p of path) {
    const q = clampTo(p, canvas);
    const last = kept[kept.length - 1]!;
    if (Math.hypot(q.x - last.x, q.y - last.y) >= STROKE_STEP_PX) kept.push(q);
  }
  const end = clampTo(path[path.length - 1]!, canvas);
  const last = kept[kept.length - 1]!;
  if (last.x !== end.x || last.y !== end.y) kept.push(end);
  // Evenly thinned beyond the limit; the first and last points stay.
  const points = kept.length <= MAX_STROKE_POINTS ? kept : Array.from({ length: MAX_STROKE_POINTS }, (_, i) => kept[Math.round((i * (kept.length - 1)) / (MAX_STROKE_POINTS - 1))]!);
  return { kind: 'scribble', points: points.map((p) => ({ x: p.x, y: p.y, label: 1 })) };
}

/** A box prompt from a drag's two corners (any order), clipped to the canvas. */
export function boxPrompt(a: CanvasPoint, b: CanvasPoint, canvas: CanvasSize): SegmentPrompt | null {
  const x0 = Math.max(0, Math.min(a.x, b.x));
  const y0 = Math.max(0, Math.min(a.y, b.y));
  const x1 = Math.min(canvas.width, Math.max(a.x, b.x));
  const y1 = Math.min(canvas.height, Math.max(a.y, b.y));
  if (x1 - x0 < MIN_DRAG_SIDE_PX || y1 - y0 < MIN_DRAG_SIDE_PX) return null;
  return { kind: 'box', box: [x0, y0, x1, y1] };
}

/**
 * A mask prompt from a lasso: the closed outline filled (even-odd rule, pixel centres) into a mask
 * of the canvas's aspect, at most MAX_MASK_SIDE pixels on its long side.
 */
export function lassoPrompt(path: readonly CanvasPoint[], canvas: CanvasSize): SegmentPrompt | null {
  if (path.length < 3) return null;
  const xs = path.map((p) => p.x);
  const ys = path.map((p) => p.y);
  if (Math.max(...xs) - Math.min(...xs) < MIN_DRAG_SIDE_PX || Math.max(...ys) - Math.min(...ys) < MIN_DRAG_SIDE_PX) return null;
  const scale = Math.min(1, MAX_MASK_SIDE / Math.max(canvas.width, canvas.height));
  const width = Math.max(1, Math.round(canvas.width * scale));
  const height = Math.max(1, Math.round(canvas.height * scale));
  const sx = width / canvas.width;
  const sy = height / canvas.height;
  const data = new Uint8Array(width * height);
  const crossings: number[] = [];
  let inside = 0;
  for (let row = 0; row < height; row++) {
    const y = row + 0.5;
    crossings.length = 0;
    for (let i = 0; i < path.length; i++) {
      const a = path[i]!;
      const b = path[(i + 1) % path.length]!;
      const ay = a.y * sy;
      const by = b.y * sy;
      // Half-open in y, so a vertex on the scanline counts once.
      if ((ay <= y && by > y) || (by <= y && ay > y)) crossings.push(a.x * sx + ((y - ay) / (by - ay)) * (b.x - a.x) * sx);
    }
    crossings.sort((p, q) => p - q);
    for (let k = 0; k + 1 < crossings.length; k += 2) {
      const from = Math.max(0, Math.ceil(crossings[k]! - 0.5));
      const to = Math.min(width - 1, Math.floor(crossings[k + 1]! - 0.5));
      for (let x = from; x <= to; x++) data[row * width + x] = 1;
      if (to >= from) inside += to - from + 1;
    }
  }
  return inside === 0 ? null : { kind: 'mask', width, height, data };
}

/**
 * The prompt in a training view's pixels, for a viewport sitting exactly at that view (then the
 * request can name the view, and the view's prepared masks help). Null when part of the prompt
 * falls outside the view's image (the canvas may show more than the view did), or for a mask
 * (its pixels are stretched over the whole canvas, not over the view).
 */
export function promptInView(prompt: SegmentPrompt, canvas: CanvasSize, view: Camera): SegmentPrompt | null {
  const inside = (p: CanvasPoint) => p.x >= 0 && p.y >= 0 && p.x < view.width && p.y < view.height;
  const move = (p: PromptPoint): PromptPoint | null => {
    const q = canvasToViewPixel(view, canvas, p.x, p.y);
    return inside(q) ? { x: q.x, y: q.y, label: p.label } : null;
  };
  switch (prompt.kind) {
    case 'points':
    case 'scribble': {
      const points = prompt.points.map(move);
      // Spread, so a SAM prompt stays one.
      return points.every((p): p is PromptPoint => p !== null) ? { ...prompt, points } : null;
    }
    case 'box': {
      const [x0, y0, x1, y1] = prompt.box;
      const a = canvasToViewPixel(view, canvas, x0, y0);
      const b = canvasToViewPixel(view, canvas, x1, y1);
      if (a.x < 0 || a.y < 0 || b.x > view.width || b.y > view.height || !(b.x > a.x && b.y > a.y)) return null;
      return { ...prompt, box: [a.x, a.y, b.x, b.y] };
    }
    case 'mask':
      return null;
  }
}
