/**
 * Pure camera math for the viewport: converting the project's OpenCV cameras (x right, y down,
 * z forward; x_cam = R x_world + t) into a viewer pose (three.js: x right, y up, looking down -z),
 * frustum outlines for drawing training views, robust scene bounds for framing, and picking.
 * No three.js here so it can be tested and reused by any viewport implementation.
 */
import type { Camera } from '../../../main/scene/camera.ts';
import { cameraCenter, fieldOfView } from '../../../main/scene/camera.ts';

export type Vec3 = [number, number, number];

/** A viewer pose: position, unit quaternion (x, y, z, w) in three.js camera convention, vertical FOV. */
export interface ViewerPose {
  position: Vec3;
  quaternion: [number, number, number, number];
  fovYDegrees: number;
}

export interface Bounds {
  min: Vec3;
  max: Vec3;
}

function row(R: number[], i: number): Vec3 {
  return [R[i * 3]!, R[i * 3 + 1]!, R[i * 3 + 2]!];
}

/** Quaternion (x, y, z, w) of a rotation matrix given by its three columns. */
export function quaternionFromBasis(x: Vec3, y: Vec3, z: Vec3): [number, number, number, number] {
  const [m00, m10, m20] = x;
  const [m01, m11, m21] = y;
  const [m02, m12, m22] = z;
  const trace = m00 + m11 + m22;
  // Branch on the largest diagonal term to keep the square root well away from zero.
  if (trace > 0) {
    const s = 0.5 / Math.sqrt(trace + 1);
    return [(m21 - m12) * s, (m02 - m20) * s, (m10 - m01) * s, 0.25 / s];
  }
  if (m00 > m11 && m00 > m22) {
    const s = 2 * Math.sqrt(1 + m00 - m11 - m22);
    return [0.25 * s, (m01 + m10) / s, (m02 + m20) / s, (m21 - m12) / s];
  }
  if (m11 > m22) {
    const s = 2 * Math.sqrt(1 + m11 - m00 - m22);
    return [(m01 + m10) / s, 0.25 * s, (m12 + m21) / s, (m02 - m20) / s];
  }
  const s = 2 * Math.sqrt(1 + m22 - m00 - m11);
  return [(m02 + m20) / s, (m12 + m21) / s, 0.25 * s, (m10 - m01) / s];
}

/**
 * The viewer pose that sees what a training camera saw. The rows of R are the camera axes in
 * world coordinates; three.js cameras look down -z with y up, so y and z flip.
 */
export function poseFromCamera(cam: Camera): ViewerPose {
  const R = cam.rotation;
  const x = row(R, 0);
  const yDown = row(R, 1);
  const zForward = row(R, 2);
  const y: Vec3 = [-yDown[0], -yDown[1], -yDown[2]];
  const z: Vec3 = [-zForward[0], -zForward[1], -zForward[2]];
  return {
    position: cameraCenter(cam),
    quaternion: quaternionFromBasis(x, y, z),
    fovYDegrees: (fieldOfView(cam).fovY * 180) / Math.PI,
  };
}

/** World position of pixel (u, v) at depth `depth` in front of the camera: X = R^T (x_cam - t). */
export function unprojectPixel(cam: Camera, u: number, v: number, depth: number): Vec3 {
  const R = cam.rotation;
  const t = cam.translation;
  const xc = ((u - cam.cx) / cam.fx) * depth - t[0]!;
  const yc = ((v - cam.cy) / cam.fy) * depth - t[1]!;
  const zc = depth - t[2]!;
  return [
    R[0]! * xc + R[3]! * yc + R[6]! * zc,
    R[1]! * xc + R[4]! * yc + R[7]! * zc,
    R[2]! * xc + R[5]! * yc + R[8]! * zc,
  ];
}

/**
 * Line segments (pairs of points, 6 floats per segment) outlining a camera's frustum: four edges
 * from the centre to the image corners at `depth`, the image rectangle, and a small triangle on
 * the image's top edge so "up" is readable.
 */
export function frustumSegments(cam: Camera, depth: number): Float32Array {
  const c = cameraCenter(cam);
  const w = cam.width;
  const h = cam.height;
  const tl = unprojectPixel(cam, 0, 0, depth);
  const tr = unprojectPixel(cam, w, 0, depth);
  const br = unprojectPixel(cam, w, h, depth);
  const bl = unprojectPixel(cam, 0, h, depth);
  const tipL = unprojectPixel(cam, w * 0.35, 0, depth);
  const tipR = unprojectPixel(cam, w * 0.65, 0, depth);
  const tip = unprojectPixel(cam, w * 0.5, -h * 0.15, depth);
  const pairs: Vec3[] = [c, tl, c, tr, c, br, c, bl, tl, tr, tr, br, br, bl, bl, tl, tipL, tip, tip, tipR];
  const out = new Float32Array(pairs.length * 3);
  pairs.forEach((p, i) => out.set(p, i * 3));
  return out;
}

/**
 * The world "up" suggested by the training cameras: photographers hold cameras roughly level, so
 * the mean of their image-up directions (-y rows of R) is a good up. Falls back to -y, the usual
 * up of COLMAP-derived 3DGS scenes, when there are no cameras.
 */
export function upFromCameras(cams: readonly Camera[]): Vec3 {
  let x = 0;
  let y = 0;
  let z = 0;
  for (const cam of cams) {
    const r = row(cam.rotation, 1);
    x -= r[0];
    y -= r[1];
    z -= r[2];
  }
  const len = Math.hypot(x, y, z);
  if (cams.length === 0 || len < 1e-6) return [0, -1, 0];
  return [x / len, y / len, z / len];
}

/**
 * Bounds of the bulk of the scene: per-axis quantiles of (a sample of) the Gaussian centres.
 * Trained scenes carry far-away floaters; framing their full extent leaves the subject tiny.
 * `centers` is xyz interleaved; at most `maxSamples` evenly strided rows are read.
 */
export function robustBounds(centers: Float32Array, lowQuantile = 0.05, highQuantile = 0.95, maxSamples = 50_000): Bounds {
  const n = Math.floor(centers.length / 3);
  if (n === 0) return { min: [-1, -1, -1], max: [1, 1, 1] };
  const stride = Math.max(1, Math.floor(n / maxSamples));
  const m = Math.ceil(n / stride);
  const axis = new Float32Array(m);
  const min: Vec3 = [0, 0, 0];
  const max: Vec3 = [0, 0, 0];
  for (let a = 0; a < 3; a++) {
    let k = 0;
    for (let i = 0; i < n; i += stride) axis[k++] = centers[i * 3 + a]!;
    const sorted = axis.subarray(0, k).sort();
    min[a] = sorted[Math.floor(lowQuantile * (k - 1))]!;
    max[a] = sorted[Math.ceil(highQuantile * (k - 1))]!;
  }
  return { min, max };
}

/**
 * Where to put a camera (vertical field of view `fovYDegrees`, width/height `aspect`, world `up`)
 * looking along `viewDir` so the box `bounds` just fits the view: each corner of the box must lie
 * inside both half-angles. Tighter than a bounding sphere, which leaves thin subjects small.
 */
export function frameBounds(
  bounds: Bounds,
  viewDir: Vec3,
  fovYDegrees: number,
  aspect: number,
  up: Vec3 = [0, -1, 0],
): { position: Vec3; target: Vec3; radius: number } {
  const target: Vec3 = [
    (bounds.min[0] + bounds.max[0]) / 2,
    (bounds.min[1] + bounds.max[1]) / 2,
    (bounds.min[2] + bounds.max[2]) / 2,
  ];
  const radius = Math.max(
    1e-3,
    Math.hypot(bounds.max[0] - bounds.min[0], bounds.max[1] - bounds.min[1], bounds.max[2] - bounds.min[2]) / 2,
  );
  const f = normalize(viewDir, [0, 0, 1]);
  let r = cross(f, up);
  if (Math.hypot(...r) < 1e-6) r = cross(f, Math.abs(f[0]) < 0.9 ? [1, 0, 0] : [0, 1, 0]);
  r = normalize(r, [1, 0, 0]);
  const u = cross(r, f);
  const tanY = Math.tan((fovYDegrees * Math.PI) / 360);
  const tanX = tanY * aspect;
  let distance = 0;
  for (let c = 0; c < 8; c++) {
    const p: Vec3 = [c & 1 ? bounds.max[0] : bounds.min[0], c & 2 ? bounds.max[1] : bounds.min[1], c & 4 ? bounds.max[2] : bounds.min[2]];
    const d: Vec3 = [p[0] - target[0], p[1] - target[1], p[2] - target[2]];
    const along = dot(d, f);
    distance = Math.max(distance, along + Math.abs(dot(d, r)) / tanX, along + Math.abs(dot(d, u)) / tanY);
  }
  // A small margin so the subject does not touch the edges.
  distance = Math.max(distance * 1.05, radius * 1e-2);
  const position: Vec3 = [target[0] - f[0] * distance, target[1] - f[1] * distance, target[2] - f[2] * distance];
  return { position, target, radius };
}

function dot(a: Vec3, b: Vec3): number {
  return a[0] * b[0] + a[1] * b[1] + a[2] * b[2];
}

function cross(a: Vec3, b: Vec3): Vec3 {
  return [a[1] * b[2] - a[2] * b[1], a[2] * b[0] - a[0] * b[2], a[0] * b[1] - a[1] * b[0]];
}

function normalize(a: Vec3, fallback: Vec3): Vec3 {
  const l = Math.hypot(a[0], a[1], a[2]);
  return l < 1e-12 ? fallback : [a[0] / l, a[1] / l, a[2] / l];
}

/**
 * A first view of a freshly opened scene: look along the world axis in which the bulk of the scene
 * is thinnest (ignoring the axis closest to `up`), so the subject shows its broadest side rather
 * than its edge. Returns the unit direction from the camera towards the scene.
 */
export function initialViewDirection(bounds: Bounds, up: Vec3): Vec3 {
  const extent = [bounds.max[0] - bounds.min[0], bounds.max[1] - bounds.min[1], bounds.max[2] - bounds.min[2]];
  const upAxis = [0, 1, 2].reduce((best, a) => (Math.abs(up[a]!) > Math.abs(up[best]!) ? a : best), 0);
  const candidates = [0, 1, 2].filter((a) => a !== upAxis);
  const axis = candidates.reduce((best, a) => (extent[a]! < extent[best]! ? a : best), candidates[0]!);
  const dir: Vec3 = [0, 0, 0];
  dir[axis] = 1;
  return dir;
}

/** Index of the screen point nearest to (x, y) within `maxDistance` pixels, or -1. Points behind the camera are NaN. */
export function pickNearestScreenPoint(points: readonly (readonly [number, number])[], x: number, y: number, maxDistance: number): number {
  let best = -1;
  let bestD = maxDistance;
  points.forEach(([px, py], i) => {
    const d = Math.hypot(px - x, py - y);
    if (d <= bestD) {
      bestD = d;
      best = i;
    }
  });
  return best;
}
