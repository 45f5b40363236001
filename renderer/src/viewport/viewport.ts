/**
 * What the UI needs from a splat viewport. The implementation today wraps
 * @mkkellogg/gaussian-splats-3d (unmaintained); keeping the UI on this interface lets us swap in
 * another renderer (e.g. Spark) without touching components. Splat index i is always PLY row i.
 */
import type { Camera } from '../../../main/scene/camera.ts';
import type { Vec3 } from './camera-math.ts';

export interface FrameStats {
  /** Milliseconds of script for the last rendered frame (update + issuing the draw), CPU side. */
  cpuMs: number;
  /**
   * Milliseconds since the previous frame when frames are drawn back to back (while the view
   * moves): the real frame time, GPU included. Null for a lone redraw.
   */
  intervalMs: number | null;
  /** Frames rendered since the viewport was created. */
  frames: number;
}

/** A click (no drag) of the left button on the canvas that did not pick a training camera. */
export interface CanvasClick {
  /** Canvas pixels from the top-left, as camera() has them. */
  x: number;
  y: number;
  shiftKey: boolean;
  ctrlKey: boolean;
  metaKey: boolean;
  altKey: boolean;
}

export interface LoadOptions {
  url: string;
  format: 'ply' | 'splat';
  signal?: AbortSignal;
  onProgress?: (percent: number) => void;
  /** The world up to show the scene with (camera-math sceneUp). */
  up: Vec3;
  /** The scene's training views, drawn as frusta from the first frame on. */
  views?: readonly Camera[];
  /** Open at this training view; without it, the bulk of the scene is framed. */
  startView?: number;
}

export interface Viewport {
  /**
   * Replaces the shown scene and its views; resolves once every splat is loaded and the first
   * frame, already from the start pose, is drawn.
   */
  load(options: LoadOptions): Promise<{ splatCount: number }>;
  /** Removes the shown scene and its views. */
  clear(): Promise<void>;
  /** Number of splats currently shown (0 with no scene). */
  splatCount(): number;
  /** Moves the camera so the bulk of the scene fills the view. */
  frameScene(): void;
  /** Shows the scene with another world up (the flip), keeping what the camera looks at. */
  setUp(up: Vec3): void;
  setViewsVisible(visible: boolean): void;
  /** Jumps to the pose of training view `index` (of the views given to load) and marks it. */
  jumpToView(index: number): void;
  /** A click on a drawn frustum jumped to its view. */
  onViewPicked(listener: (index: number) => void): void;
  onFrame(listener: (stats: FrameStats) => void): void;
  /** A click on the scene (not on a training camera, not a drag): the prompt tools' click. */
  onClick(listener: (click: CanvasClick) => void): void;
  /**
   * The camera the canvas shows now, in the app's convention (main/scene/camera.ts: OpenCV, pixel
   * coordinates of the canvas at its drawing size): what a prompt on the canvas is segmented in.
   */
  camera(): Camera;
  /** The training view (index given to load) the camera sits exactly at, or null once it moved. */
  atView(): number | null;
  /** A pointer position (clientX, clientY) in canvas pixels, as camera() counts them. */
  canvasPoint(clientX: number, clientY: number): { x: number; y: number };
  /** Left drags draw prompts (the caller listens on the canvas) instead of orbiting; right still pans. */
  setPromptDrags(on: boolean): void;
  /**
   * Resolves once a frame drawn after this call has finished on the GPU (at once while paused or
   * empty): how long a change took to show, without blocking the page on the GPU.
   */
  whenDrawn(): Promise<void>;
  /** The viewport broke outside any call (e.g. the graphics context was lost): a sentence to show. */
  onFailure(listener: (message: string) => void): void;
  /**
   * The scene's own colours as loaded: 8-bit RGBA per splat (alpha is the opacity), PLY row order.
   * Empty with no scene. The base that display modes and per-splat state are worked out from.
   */
  sceneColors(): Uint8Array;
  /**
   * Draws splats in other colours without reloading the scene: 8-bit RGBA per splat, alpha 0 hides
   * one. Without `indices`, `colors` covers splats 0, 1, ... (or from `first`); with them, colour k
   * is splat indices[k]. Only what changed goes to the GPU (at most the texture rows touched), so
   * per-splat state (hidden, selected, layer colours) can be shown this way after every edit.
   */
  setSplatColors(colors: Uint8Array, target?: { first: number } | { indices: Uint32Array }): void;
  /**
   * Shows `selected` (a bitset: bit i & 7 of byte i >> 3 is splat i) at once as a flat tinted
   * overlay of the splats' centres, in `tint`, before the splats themselves are recoloured (a frame
   * of the splat renderer takes hundreds of milliseconds on a software GPU). Resolves once the
   * overlay is on screen, with the number of splats it shows. It follows the camera until the
   * splats are recoloured (setSplatColors) or `dropSelectionHint` is called; the next frame then
   * takes it away.
   */
  showSelectionHint(selected: Uint8Array, tint: readonly [number, number, number]): Promise<number>;
  /** The splats show the selection now (or it is abandoned): the hint goes with the next frame. */
  dropSelectionHint(): void;
  /** Stops drawing (screenshots, background windows); `resume` redraws at once. */
  pause(): void;
  resume(): void;
  readonly canvas: HTMLCanvasElement;
  dispose(): Promise<void>;
}
