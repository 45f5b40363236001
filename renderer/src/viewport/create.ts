/**
 * The one place that picks the splat library. Swapping @mkkellogg/gaussian-splats-3d for another
 * renderer (e.g. Spark) means a new Viewport implementation and this line, nothing else.
 */
import { Splats3dViewport } from './splats3d-viewport.ts';
import type { Viewport } from './viewport.ts';

export interface ViewportTarget {
  container: HTMLElement;
  canvas: HTMLCanvasElement;
  keyTarget: Window;
}

export function createViewport(target: ViewportTarget): Viewport {
  return new Splats3dViewport(target);
}
