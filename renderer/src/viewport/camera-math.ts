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

/**
 * The app's camera (OpenCV: x right, y down, z forward; x_cam = R x_world + t) of a viewer pose
 * drawn on a `width` x `height` canvas: what a prompt given on the canvas is segmented with. The
 * viewer draws with square pixels, a centred principal point and `fovYDegrees` vertically, so
 * fx = fy = height / (2 tan(fovY / 2)). The rotation's rows are the viewer's right, down (-up) and
 * forward (-back) axes in world coordinates, read off the quaternion.
 */
export function cameraFromPose(pose: ViewerPose, width: number, height: number, name = 'viewport'): Camera {
  const [qx, qy, qz, qw] = pose.quaternion;
  // Columns of the rotation matrix of q: the viewer's local x, y and z axes in world coordinates.
  const right: Vec3 = [1 - 2 * (qy * qy + qz * qz), 2 * (qx * qy + qz * qw), 2 * (qx * qz - qy * qw)];
  const up: Vec3 = [2 * (qx * qy - qz * qw), 1 - 2 * (qx * qx + qz * qz), 2 * (qy * qz + qx * qw)];
  const back: Vec3 = [2 * (qx * qz + qy * qw), 2 * (qy * qz - qx * qw), 1 - 2 * (qx * qx + qy * qy)];
  const rotation = [...right, -up[0], -up[1], -up[2], -back[0], -back[1], -back[2]];
  const p = pose.position;
  const translation = [0, 1, 2].map((r) => -(rotation[r * 3]! * p[0] + rotation[r * 3 + 1]! * p[1] + rotation[r * 3 + 2]! * p[2]));
  const f = height / (2 * Math.tan((pose.fovYDegrees * Math.PI) / 360));
  return { name, width, height, fx: f, fy: f, cx: width / 2, cy: height / 2, rotation, translation };
}

/**
 * Where a canvas pixel falls in a training view's image while the viewer sits at that view
 * (jumpToView: its pose and vertical field of view, on a canvas of another size and aspect). The
 * canvas pixel's ray in camera coordinates is ((x - W/2) / f, (y - H/2) / f, 1) with
 * f = H fy / view.height; the view's own intrinsics then place it.
 */
export function canvasToViewPixel(view: Camera, canvas: { width: number; height: number }, x: number, y: number): { x: number; y: number } {
  const f = (canvas.height * view.fy) / view.height;
  return { x: view.cx + (view.fx * (x - canvas.width / 2)) / f, y: view.cy + (view.fy * (y - canvas.height / 2)) / f };
}

/** The inverse of canvasToViewPixel: the canvas pixel showing a view pixel. */
export function viewToCanvasPixel(view: Camera, canvas: { width: number; height: number }, x: number, y: number): { x: number; y: number } {
  const f = (canvas.height * view.fy) / view.height;
  return { x: canvas.width / 2 + (f * (x - view.cx)) / view.fx, y: canvas.height / 2 + (f * (y - view.cy)) / view.fy };
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

/** The corners of a camera's drawn frustum: its centre, then the image corners at `depth` (tl, tr, br, bl). */
export function frustumCorners(cam: Camera, depth: number): [Vec3, Vec3, Vec3, Vec3, Vec3] {
  return [
    cameraCenter(cam),
    unprojectPixel(cam, 0, 0, depth),
    unprojectPixel(cam, cam.width, 0, depth),
    unprojectPixel(cam, cam.width, cam.height, depth),
    unprojectPixel(cam, 0, cam.height, depth),
  ];
}

/**
 * Line segments (pairs of points, 6 floats per segment) outlining a camera's frustum: four edges
 * from the centre to the image corners at `depth`, the image rectangle, and a small triangle on
 * the image's top edge so "up" is readable.
 */
export function frustumSegments(cam: Camera, depth: number): Float32Array {
  const [c, tl, tr, br, bl] = frustumCorners(cam, depth);
  const w = cam.width;
  const h = cam.height;
  const tipL = unprojectPixel(cam, w * 0.35, 0, depth);
  const tipR = unprojectPixel(cam, w * 0.65, 0, depth);
  const tip = unprojectPixel(cam, w * 0.5, -h * 0.15, depth);
  const pairs: Vec3[] = [c, tl, c, tr, c, br, c, bl, tl, tr, tr, br, br, bl, bl, tl, tipL, tip, tip, tipR];
  const out = new Float32Array(pairs.length * 3);
  pairs.forEach((p, i) => out.set(p, i * 3));
  return out;
}

/**
 * The up of the 3DGS convention: scenes trained by the INRIA code from COLMAP (and most tools that
 * follow it) keep the cameras' OpenCV axes, so the world's y points down.
 */
export const GAUSSIAN_SPLATTING_UP: Vec3 = [0, -1, 0];

/**
 * The world "up" suggested by the training cameras: photographers hold cameras roughly level, so
 * the mean of their image-up directions (-y rows of R) is a good up. Falls back to the 3DGS
 * convention when there are no cameras (or they cancel out).
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
  if (cams.length === 0 || len < 1e-6) return [...GAUSSIAN_SPLATTING_UP];
  return [x / len, y / len, z / len];
}

/** The up a scene is shown with: its cameras' (or the 3DGS convention's), turned over when `flipped`. */
export function sceneUp(cams: readonly Camera[], flipped: boolean): Vec3 {
  const up = upFromCameras(cams);
  return flipped ? [-up[0], -up[1], -up[2]] : up;
}

export interface RobustBoundsOptions {
  /** Share of the (opacity) mass kept along each axis, centred: 0.9 drops 5% on each side. */
  mass?: number;
  /** Each side then grows by this share of the kept width, so a subject's thin ends stay in view. */
  pad?: number;
  /** At most this many evenly strided rows are read. */
  maxSamples?: number;
}

/**
 * Bounds of the bulk of the scene: per axis, the central `mass` of the Gaussian centres weighted
 * by opacity, grown by `pad` of its width to the outermost centres inside that window. Trained scenes carry
 * far backgrounds, floaters and faint haze; their full extent would leave the subject tiny or put
 * the camera inside it. Weighting by opacity lets faint Gaussians (a third of a typical INRIA
 * scene's are under 0.1) count for little; the pad brings back what the cut trims off a compact
 * subject (the guitar's tuning pegs fall outside its central 90%).
 * `centers` is xyz interleaved; `opacities` (0..1, one per centre) may be omitted for equal weights.
 */
export function robustBounds(centers: Float32Array, opacities?: Float32Array, options: RobustBoundsOptions = {}): Bounds {
  const { mass = 0.9, pad = 0.1, maxSamples = 50_000 } = options;
  const n = Math.floor(centers.length / 3);
  if (n === 0) return { min: [-1, -1, -1], max: [1, 1, 1] };
  const stride = Math.max(1, Math.floor(n / maxSamples));
  const m = Math.ceil(n / stride);
  const weights = new Float64Array(m);
  for (let k = 0; k < m; k++) weights[k] = Math.max(0, opacities?.[k * stride] ?? 1);
  let total = weights.reduce((a, w) => a + w, 0);
  // A scene of fully transparent Gaussians still has a place: weigh them equally.
  if (!(total > 0)) {
    weights.fill(1);
    total = m;
  }
  const values = new Float64Array(m);
  const scratch = new Float64Array(m);
  const min: Vec3 = [0, 0, 0];
  const max: Vec3 = [0, 0, 0];
  for (let a = 0; a < 3; a++) {
    for (let k = 0; k < m; k++) values[k] = centers[k * stride * 3 + a]!;
    scratch.set(weights);
    // Selection, not sorting: both arrays are reordered, which the scan below does not mind.
    const lo = weightedSelect(values, scratch, ((1 - mass) / 2) * total);
    const hi = weightedSelect(values, scratch, (1 - (1 - mass) / 2) * total);
    // The extent of the centres inside the padded window: the subject's ends, not empty space.
    const grow = (hi - lo) * pad;
    let first = hi;
    let last = lo;
    for (let k = 0; k < m; k++) {
      const v = values[k]!;
      if (v >= lo - grow && v < first) first = v;
      if (v <= hi + grow && v > last) last = v;
    }
    min[a] = first;
    max[a] = last;
  }
  return { min, max };
}

/**
 * The weighted quantile: the smallest value whose cumulative weight (of it and every smaller
 * value) reaches `target`. Quickselect with a three-way partition, so O(n) on average where a
 * sort would be O(n log n) through a comparator (tens of times slower on 50k centres). Reorders
 * `values` and `weights` together.
 */
function weightedSelect(values: Float64Array, weights: Float64Array, target: number): number {
  let lo = 0;
  let hi = values.length - 1;
  // Weight of the values known to lie below [lo, hi].
  let below = 0;
  const swap = (i: number, j: number) => {
    const v = values[i]!;
    values[i] = values[j]!;
    values[j] = v;
    const w = weights[i]!;
    weights[i] = weights[j]!;
    weights[j] = w;
  };
  while (lo < hi) {
    const pivot = values[(lo + hi) >> 1]!;
    let lt = lo;
    let i = lo;
    let gt = hi;
    while (i <= gt) {
      const v = values[i]!;
      if (v < pivot) swap(lt++, i++);
      else if (v > pivot) swap(i, gt--);
      else i++;
    }
    let less = 0;
    for (let k = lo; k < lt; k++) less += weights[k]!;
    let equal = 0;
    for (let k = lt; k <= gt; k++) equal += weights[k]!;
    if (lt > lo && below + less >= target) hi = lt - 1;
    else if (below + less + equal >= target || gt >= hi) return pivot;
    else {
      below += less + equal;
      lo = gt + 1;
    }
  }
  return values[lo]!;
}

/** Half the diagonal of `bounds`: the scene's size for speeds, clip planes and frustum sizes. */
export function boundsRadius(bounds: Bounds): number {
  return Math.max(1e-3, Math.hypot(bounds.max[0] - bounds.min[0], bounds.max[1] - bounds.min[1], bounds.max[2] - bounds.min[2]) / 2);
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
  const radius = boundsRadius(bounds);
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

/** How far above the horizon a first view looks down at the scene (a ground plane reads as one). */
const FIRST_VIEW_ELEVATION_DEGREES = 15;

/**
 * A first view of a freshly opened scene: look across the scene along the horizontal world axis in
 * which its bulk is thinnest (ignoring the axis closest to `up`), so the subject shows its broadest
 * side rather than its edge, from slightly above. Returns the unit direction from the camera
 * towards the scene.
 */
export function initialViewDirection(bounds: Bounds, up: Vec3): Vec3 {
  const extent = [bounds.max[0] - bounds.min[0], bounds.max[1] - bounds.min[1], bounds.max[2] - bounds.min[2]];
  const upAxis = [0, 1, 2].reduce((best, a) => (Math.abs(up[a]!) > Math.abs(up[best]!) ? a : best), 0);
  const candidates = [0, 1, 2].filter((a) => a !== upAxis);
  const axis = candidates.reduce((best, a) => (extent[a]! < extent[best]! ? a : best), candidates[0]!);
  const across: Vec3 = [0, 0, 0];
  across[axis] = 1;
  // Level the axis against `up` (which need not be a world axis), then tilt down towards the scene.
  const u = normalize(up, GAUSSIAN_SPLATTING_UP);
  const level = normalize(
    [across[0] - dot(across, u) * u[0], across[1] - dot(across, u) * u[1], across[2] - dot(across, u) * u[2]],
    across,
  );
  const e = (FIRST_VIEW_ELEVATION_DEGREES * Math.PI) / 180;
  return normalize(
    [level[0] * Math.cos(e) - u[0] * Math.sin(e), level[1] * Math.cos(e) - u[1] * Math.sin(e), level[2] * Math.cos(e) - u[2] * Math.sin(e)],
    level,
  );
}

/** A frustum as drawn on screen: its corners in pixels (centre first), and its centre's distance from the viewer. */
export interface ScreenFrustum {
  corners: readonly (readonly [number, number])[];
  distance: number;
}

/**
 * The frustum drawn under pixel (x, y): inside the outline of its projected corners, or within
 * `tolerance` pixels of it. Where several qualify (a ring of cameras overlaps on screen), the one
 * nearest to the viewer wins, as it is drawn in front. Null entries (frusta behind the viewer or
 * hidden) are skipped. Returns the index, or -1.
 */
export function pickFrustum(frusta: readonly (ScreenFrustum | null)[], x: number, y: number, tolerance: number): number {
  let best = -1;
  let bestDistance = Number.POSITIVE_INFINITY;
  frusta.forEach((f, i) => {
    if (!f) return;
    if (distanceToConvexHull(convexHull(f.corners), x, y) > tolerance) return;
    if (f.distance < bestDistance) {
      bestDistance = f.distance;
      best = i;
    }
  });
  return best;
}

/** The convex hull of screen points, in order around it (Andrew's monotone chain). */
function convexHull(points: readonly (readonly [number, number])[]): [number, number][] {
  const p = [...points].map((q): [number, number] => [q[0], q[1]]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);
  if (p.length < 3) return p;
  const turn = (o: [number, number], a: [number, number], b: [number, number]) => (a[0] - o[0]) * (b[1] - o[1]) - (a[1] - o[1]) * (b[0] - o[0]);
  const lower: [number, number][] = [];
  for (const q of p) {
    while (lower.length >= 2 && turn(lower[lower.length - 2]!, lower[lower.length - 1]!, q) <= 0) lower.pop();
    lower.push(q);
  }
  const upper: [number, number][] = [];
  for (const q of [...p].reverse()) {
    while (upper.length >= 2 && turn(upper[upper.length - 2]!, upper[upper.length - 1]!, q) <= 0) upper.pop();
    upper.push(q);
  }
  return [...lower.slice(0, -1), ...upper.slice(0, -1)];
}

/** 0 inside the convex polygon `hull` (in hull order), else the distance to its nearest edge. */
function distanceToConvexHull(hull: readonly [number, number][], x: number, y: number): number {
  if (hull.length === 0) return Number.POSITIVE_INFINITY;
  let inside = hull.length >= 3;
  let nearest = Number.POSITIVE_INFINITY;
  let sign = 0;
  for (let i = 0; i < hull.length; i++) {
    const [ax, ay] = hull[i]!;
    const [bx, by] = hull[(i + 1) % hull.length]!;
    const side = Math.sign((bx - ax) * (y - ay) - (by - ay) * (x - ax));
    if (side !== 0) {
      if (sign === 0) sign = side;
      else if (side !== sign) inside = false;
    }
    const len2 = (bx - ax) ** 2 + (by - ay) ** 2;
    const t = len2 === 0 ? 0 : Math.max(0, Math.min(1, ((x - ax) * (bx - ax) + (y - ay) * (by - ay)) / len2));
    nearest = Math.min(nearest, Math.hypot(x - (ax + t * (bx - ax)), y - (ay + t * (by - ay))));
  }
  return inside ? 0 : nearest;
}
