/**
 * Views of a synthetic scene and their ground truth: orbit cameras around the scene's focus, and per
 * view the rendered image plus object and part label maps taken from the same blend as the image.
 */
import { lookAtCamera, type Camera } from '../../scene/camera.ts';
import type { GaussianScene } from '../../scene/gaussians.ts';
import type { BlendRasterizer } from '../eval/rasterizer.ts';
import type { Random } from './random.ts';
import { BACKGROUND_ID, type SynthTruth } from './generate.ts';

export interface SynthViewOptions {
  views: number;
  width: number;
  height: number;
  /** Vertical field of view in degrees (default 55). */
  fovYDegrees?: number;
}

/**
 * Cameras on a ring around the focus, alternating between a low and a high elevation so that objects
 * occlude each other differently from view to view (and the oracle's granularity has something to
 * vary over). Azimuths are evenly spaced with a little seeded jitter.
 */
export function synthCameras(truth: SynthTruth, options: SynthViewOptions, rng: Random): Camera[] {
  const { views, width, height } = options;
  const fov = ((options.fovYDegrees ?? 55) * Math.PI) / 180;
  const aspectFov = Math.min(fov, 2 * Math.atan((Math.tan(fov / 2) * width) / height));
  // Frame the furniture tightly: floor clutter at the rim may be cut off, as in real captures.
  const distance = (truth.radius / Math.sin(aspectFov / 2)) * 0.78;
  const cameras: Camera[] = [];
  const start = rng.uniform(0, 2 * Math.PI);
  for (let i = 0; i < views; i++) {
    const azimuth = start + (2 * Math.PI * i) / views + rng.uniform(-0.15, 0.15);
    const elevation = ((i % 2 === 0 ? 22 : 40) + rng.uniform(-4, 4)) * (Math.PI / 180);
    const d = distance * rng.uniform(0.95, 1.08);
    const eye: [number, number, number] = [
      truth.focus[0] + d * Math.cos(elevation) * Math.cos(azimuth),
      truth.focus[1] + d * Math.cos(elevation) * Math.sin(azimuth),
      truth.focus[2] + d * Math.sin(elevation),
    ];
    cameras.push(lookAtCamera(viewName(i), eye, truth.focus, [0, 0, 1], width, height, fov));
  }
  return cameras;
}

export function viewName(i: number): string {
  return `view_${String(i).padStart(3, '0')}`;
}

export interface TruthView {
  camera: Camera;
  /** H*W*3 in 0..1. */
  color: Float32Array;
  alpha: Float32Array;
  /** Object id per pixel (0 = background: floor or nothing). */
  objectLabels: Uint16Array;
  /** Part id per pixel (0 = background). */
  partLabels: Uint16Array;
}

/**
 * Per pixel, the label whose Gaussians carry the largest summed blending weight, where the
 * background's weight is the floor's plus the transmittance left at the end (so a pixel that is
 * mostly empty is background). Pure: takes ids and a contribution stream.
 */
export function labelMapsFromBlend(
  pixelCount: number,
  objectIds: Int32Array,
  partIds: Int32Array,
  forEach: (visit: (pixel: number, gaussian: number, weight: number) => void) => void,
): { objectLabels: Uint16Array; partLabels: Uint16Array } {
  let maxObject = 0;
  let maxPart = 0;
  for (let i = 0; i < objectIds.length; i++) {
    if (objectIds[i]! > maxObject) maxObject = objectIds[i]!;
    if (partIds[i]! > maxPart) maxPart = partIds[i]!;
  }
  const objectW = new Float64Array(maxObject + 1);
  const partW = new Float64Array(maxPart + 1);
  const objectLabels = new Uint16Array(pixelCount);
  const partLabels = new Uint16Array(pixelCount);
  let current = -1;
  let total = 0;
  const argmaxWithBackground = (w: Float64Array): number => {
    const background = w[0]! + Math.max(0, 1 - total);
    let best = 0;
    let bestW = background;
    for (let k = 1; k < w.length; k++) if (w[k]! > bestW) { bestW = w[k]!; best = k; }
    return best;
  };
  const flush = () => {
    if (current < 0) return;
    objectLabels[current] = argmaxWithBackground(objectW);
    partLabels[current] = argmaxWithBackground(partW);
    objectW.fill(0);
    partW.fill(0);
    total = 0;
  };
  forEach((pixel, g, w) => {
    if (pixel !== current) { flush(); current = pixel; }
    objectW[objectIds[g]!]! += w;
    partW[partIds[g]!]! += w;
    total += w;
  });
  flush();
  return { objectLabels, partLabels };
}

export const SYNTH_BACKGROUND: [number, number, number] = [0.86, 0.88, 0.91];

export function renderTruthView(scene: GaussianScene, truth: SynthTruth, camera: Camera, rasterizer: BlendRasterizer): TruthView {
  const { color, alpha } = rasterizer.renderImage(scene, camera, SYNTH_BACKGROUND);
  const { objectLabels, partLabels } = labelMapsFromBlend(camera.width * camera.height, truth.objectIds, truth.partIds, (visit) =>
    rasterizer.forEachContribution(scene, camera, visit),
  );
  return { camera, color, alpha, objectLabels, partLabels };
}

/** Pixel count per label id (index = id). */
export function labelAreas(labels: Uint16Array, maxId: number): Uint32Array {
  const areas = new Uint32Array(maxId + 1);
  for (let i = 0; i < labels.length; i++) {
    const l = labels[i]!;
    if (l <= maxId) areas[l]!++;
  }
  return areas;
}

export { BACKGROUND_ID };
