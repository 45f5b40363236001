/**
 * Orbit cameras around a scene for scenes without their own views: they look at a robust centre
 * (per-axis median of the Gaussian centres) from a ring slightly above it.
 */
import { lookAtCamera, type Camera } from '../../scene/camera.ts';
import type { GaussianScene } from '../../scene/gaussians.ts';

export interface OrbitOptions {
  width?: number;
  height?: number;
  /** Vertical field of view in degrees (default 50). */
  fovYDegrees?: number;
  /** Elevation of the ring above the centre, degrees (default 20). */
  elevationDegrees?: number;
  /** World up; default guessed by guessUpAxis. */
  up?: [number, number, number];
  /** Multiplies the distance chosen to frame the scene (default 1). */
  distanceScale?: number;
}

function quantile(sorted: Float64Array, q: number): number {
  const i = Math.min(sorted.length - 1, Math.max(0, Math.round(q * (sorted.length - 1))));
  return sorted[i]!;
}

/** A sample of at most `limit` row indices, evenly strided, so large scenes stay fast. */
function sampleRows(count: number, limit = 200_000): number[] {
  const step = Math.max(1, Math.floor(count / limit));
  const rows: number[] = [];
  for (let i = 0; i < count; i += step) rows.push(i);
  return rows;
}

/** Per-axis median of the centres and the 90th percentile distance to it (robust to floaters). */
export function robustSceneFrame(scene: GaussianScene): { center: [number, number, number]; radius: number } {
  const rows = sampleRows(scene.count);
  const center: [number, number, number] = [0, 0, 0];
  for (let a = 0; a < 3; a++) {
    const v = Float64Array.from(rows, (i) => scene.positions[3 * i + a]!).sort();
    center[a] = quantile(v, 0.5);
  }
  const d = Float64Array.from(rows, (i) =>
    Math.hypot(
      scene.positions[3 * i]! - center[0],
      scene.positions[3 * i + 1]! - center[1],
      scene.positions[3 * i + 2]! - center[2],
    ),
  ).sort();
  return { center, radius: Math.max(1e-3, quantile(d, 0.9)) };
}

/**
 * Guesses the world up vector. 3DGS scenes trained from COLMAP are usually y-down, which is the
 * default; when the spread along y is far below the others (a flat, z-up capture), +z is used.
 */
export function guessUpAxis(scene: GaussianScene): [number, number, number] {
  const rows = sampleRows(scene.count, 50_000);
  const spread = [0, 1, 2].map((a) => {
    const v = Float64Array.from(rows, (i) => scene.positions[3 * i + a]!).sort();
    return quantile(v, 0.9) - quantile(v, 0.1);
  });
  if (spread[2]! < 0.35 * Math.min(spread[0]!, spread[1]!)) return [0, 0, 1];
  return [0, -1, 0];
}

/** Camera i of n on the orbit ring (named orbit-i). */
export function orbitCamera(scene: GaussianScene, i: number, n: number, options: OrbitOptions = {}): Camera {
  const width = options.width ?? 800;
  const height = options.height ?? Math.round((width * 3) / 4);
  const fovY = ((options.fovYDegrees ?? 50) * Math.PI) / 180;
  const elevation = ((options.elevationDegrees ?? 20) * Math.PI) / 180;
  const up = options.up ?? guessUpAxis(scene);
  const { center, radius } = robustSceneFrame(scene);
  const fovMin = Math.min(fovY, 2 * Math.atan(Math.tan(fovY / 2) * (width / height)));
  const distance = ((radius / Math.sin(fovMin / 2)) * 0.9) * (options.distanceScale ?? 1);
  // Two axes orthogonal to up span the ring.
  const u = up;
  const helper: [number, number, number] = Math.abs(u[0]) < 0.9 ? [1, 0, 0] : [0, 1, 0];
  const dot = helper[0] * u[0] + helper[1] * u[1] + helper[2] * u[2];
  const e1 = [helper[0] - dot * u[0], helper[1] - dot * u[1], helper[2] - dot * u[2]];
  const l1 = Math.hypot(e1[0]!, e1[1]!, e1[2]!);
  const a = [e1[0]! / l1, e1[1]! / l1, e1[2]! / l1];
  const b = [u[1] * a[2]! - u[2] * a[1]!, u[2] * a[0]! - u[0] * a[2]!, u[0] * a[1]! - u[1] * a[0]!];
  const theta = (2 * Math.PI * i) / n;
  const ce = Math.cos(elevation);
  const se = Math.sin(elevation);
  const eye: [number, number, number] = [0, 0, 0];
  for (let k = 0; k < 3; k++) {
    eye[k] = center[k]! + distance * (ce * (Math.cos(theta) * a[k]! + Math.sin(theta) * b[k]!) + se * u[k]!);
  }
  return lookAtCamera(`orbit-${i}`, eye, center, up, width, height, fovY);
}

/** n cameras evenly spaced on the orbit ring. */
export function orbitCameras(scene: GaussianScene, n: number, options: OrbitOptions = {}): Camera[] {
  return Array.from({ length: n }, (_, i) => orbitCamera(scene, i, n, options));
}
