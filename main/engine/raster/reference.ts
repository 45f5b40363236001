/**
 * The reference Gaussian rasterizer: plain TypeScript loops, no GPU. Every WGSL kernel in
 * native-shaders/ is held to this file by tests, so it spells out each convention once:
 *
 * - Camera: OpenCV (x right, y down, z forward), x_cam = R x_world + t; u = fx x/z + cx.
 * - Pixel centres: pixel (px, py) covers [px, px+1) x [py, py+1) and is sampled at its centre
 *   (px + 0.5, py + 0.5), in the same continuous coordinates as cx, cy.
 * - Projection: EWA (J W Sigma W^T J^T) with the Jacobian's x/z, y/z clamped to the field of view
 *   widened by 0.3 tan(fov/2) on each side (gsplat; 1.3x the FOV for a centred principal point),
 *   +0.3 px^2 on the 2D covariance diagonal, Gaussians with z <= 0.2 culled.
 * - Radius: ceil(3 sqrt(lambda_max)); a Gaussian touches the 16x16 tiles in
 *   [floor((u-r)/16), ceil((u+r)/16)) x [floor((v-r)/16), ceil((v+r)/16)) clamped to the grid, and is
 *   only blended into pixels of those tiles (exactly as the GPU bins it).
 * - Order: front to back by camera-space z, ties by Gaussian index.
 * - Blend: raw = min(0.99, opacity exp(-0.5 d^T conic d)); raw <= 1/255 is skipped and
 *   alpha = raw min(1, (raw - 1/255) / (1/255)), i.e. 3DGS's alpha except a linear ramp to 0 over
 *   [1/255, 2/255]: a hard cut-off flips on float32-vs-float64 rounding of a raw alpha sitting at
 *   1/255 and then changes the pixel by up to 1/255 (seen: 2.7e-4 on the guitar); the ramp makes
 *   the output continuous there. If T (1 - alpha) < 1e-4 the pixel stops before that Gaussian;
 *   weight = alpha T.
 * - Outputs: colour = sum w c + T_final background; alpha = 1 - T_final;
 *   depth = sum w z (alpha-weighted camera z, divide by alpha for the expected depth);
 *   features = sum w f (no background).
 */
import { cameraCenter, type Camera } from '../../scene/camera.ts';
import { SH_C0, shRestPerChannel, type GaussianScene, type ShDegree } from '../../scene/gaussians.ts';

export const TILE_SIZE = 16;
export const NEAR_PLANE = 0.2;
export const ALPHA_MIN = 1 / 255;
export const ALPHA_MAX = 0.99;
export const TRANSMITTANCE_MIN = 1e-4;
export const LOW_PASS = 0.3;

export interface RenderOptions {
  width?: number;
  height?: number;
  background?: [number, number, number];
  /** Per-Gaussian features, N * featureDim row-major. */
  features?: Float32Array;
  featureDim?: number;
  /** Highest SH degree used for colour (defaults to the scene's). */
  shDegree?: number;
}

export interface RenderOutput {
  width: number;
  height: number;
  /** H * W * 3, row-major from the top-left pixel. */
  color: Float32Array;
  /** H * W: 1 - final transmittance. */
  alpha: Float32Array;
  /** H * W: sum of weight * camera z (not normalised by alpha). */
  depth: Float32Array;
  /** H * W * C when features were given. */
  features?: Float32Array;
}

/** A camera's intrinsics scaled to another output size (same field of view and principal point ratio). */
export function scaleCamera(camera: Camera, width?: number, height?: number): Camera {
  const w = width ?? (height !== undefined ? Math.round((camera.width * height) / camera.height) : camera.width);
  const h = height ?? (width !== undefined ? Math.round((camera.height * width) / camera.width) : camera.height);
  if (w === camera.width && h === camera.height) return camera;
  const sx = w / camera.width;
  const sy = h / camera.height;
  return { ...camera, width: w, height: h, fx: camera.fx * sx, fy: camera.fy * sy, cx: camera.cx * sx, cy: camera.cy * sy };
}

/** One Gaussian as seen by a camera (screen-space footprint), or undefined when culled. */
export interface ProjectedGaussian {
  u: number;
  v: number;
  /** Camera-space z. */
  depth: number;
  /** Inverse 2D covariance (a, b, c): power = -0.5 (a dx^2 + c dy^2) - b dx dy. */
  conicA: number;
  conicB: number;
  conicC: number;
  opacity: number;
  radius: number;
  tileMinX: number;
  tileMinY: number;
  tileMaxX: number;
  tileMaxY: number;
}

/** Projects Gaussian i; `camera` must already have the output size. */
export function projectGaussian(scene: GaussianScene, i: number, camera: Camera): ProjectedGaussian | undefined {
  const R = camera.rotation;
  const t = camera.translation;
  const px = scene.positions[3 * i]!;
  const py = scene.positions[3 * i + 1]!;
  const pz = scene.positions[3 * i + 2]!;
  const x = R[0]! * px + R[1]! * py + R[2]! * pz + t[0]!;
  const y = R[3]! * px + R[4]! * py + R[5]! * pz + t[1]!;
  const z = R[6]! * px + R[7]! * py + R[8]! * pz + t[2]!;
  if (!(z > NEAR_PLANE)) return undefined;

  // 3D covariance Sigma = M M^T with M = Rq diag(s).
  let qw = scene.rotations[4 * i]!;
  let qx = scene.rotations[4 * i + 1]!;
  let qy = scene.rotations[4 * i + 2]!;
  let qz = scene.rotations[4 * i + 3]!;
  const qn = Math.hypot(qw, qx, qy, qz) || 1;
  qw /= qn; qx /= qn; qy /= qn; qz /= qn;
  const sx = Math.exp(scene.scales[3 * i]!);
  const sy = Math.exp(scene.scales[3 * i + 1]!);
  const sz = Math.exp(scene.scales[3 * i + 2]!);
  const r00 = 1 - 2 * (qy * qy + qz * qz), r01 = 2 * (qx * qy - qw * qz), r02 = 2 * (qx * qz + qw * qy);
  const r10 = 2 * (qx * qy + qw * qz), r11 = 1 - 2 * (qx * qx + qz * qz), r12 = 2 * (qy * qz - qw * qx);
  const r20 = 2 * (qx * qz - qw * qy), r21 = 2 * (qy * qz + qw * qx), r22 = 1 - 2 * (qx * qx + qy * qy);
  const m00 = r00 * sx, m01 = r01 * sy, m02 = r02 * sz;
  const m10 = r10 * sx, m11 = r11 * sy, m12 = r12 * sz;
  const m20 = r20 * sx, m21 = r21 * sy, m22 = r22 * sz;
  const s00 = m00 * m00 + m01 * m01 + m02 * m02;
  const s01 = m00 * m10 + m01 * m11 + m02 * m12;
  const s02 = m00 * m20 + m01 * m21 + m02 * m22;
  const s11 = m10 * m10 + m11 * m11 + m12 * m12;
  const s12 = m10 * m20 + m11 * m21 + m12 * m22;
  const s22 = m20 * m20 + m21 * m21 + m22 * m22;

  // Jacobian of the perspective projection at the clamped point (keeps off-screen Gaussians sane).
  const { fx, fy, cx, cy, width, height } = camera;
  const tanX = (0.5 * width) / fx;
  const tanY = (0.5 * height) / fy;
  const limXPos = (width - cx) / fx + 0.3 * tanX;
  const limXNeg = cx / fx + 0.3 * tanX;
  const limYPos = (height - cy) / fy + 0.3 * tanY;
  const limYNeg = cy / fy + 0.3 * tanY;
  const tx = z * Math.min(limXPos, Math.max(-limXNeg, x / z));
  const ty = z * Math.min(limYPos, Math.max(-limYNeg, y / z));
  const j00 = fx / z, j02 = -(fx * tx) / (z * z);
  const j11 = fy / z, j12 = -(fy * ty) / (z * z);
  // T = J W (2x3); cov2d = T Sigma T^T.
  const t00 = j00 * R[0]! + j02 * R[6]!, t01 = j00 * R[1]! + j02 * R[7]!, t02 = j00 * R[2]! + j02 * R[8]!;
  const t10 = j11 * R[3]! + j12 * R[6]!, t11 = j11 * R[4]! + j12 * R[7]!, t12 = j11 * R[5]! + j12 * R[8]!;
  const a0 = t00 * s00 + t01 * s01 + t02 * s02;
  const a1 = t00 * s01 + t01 * s11 + t02 * s12;
  const a2 = t00 * s02 + t01 * s12 + t02 * s22;
  const b0 = t10 * s00 + t11 * s01 + t12 * s02;
  const b1 = t10 * s01 + t11 * s11 + t12 * s12;
  const b2 = t10 * s02 + t11 * s12 + t12 * s22;
  const covA = a0 * t00 + a1 * t01 + a2 * t02 + LOW_PASS;
  const covB = a0 * t10 + a1 * t11 + a2 * t12;
  const covC = b0 * t10 + b1 * t11 + b2 * t12 + LOW_PASS;
  const det = covA * covC - covB * covB;
  if (!(det > 0)) return undefined;
  const mid = 0.5 * (covA + covC);
  const lambda = mid + Math.sqrt(Math.max(0.1, mid * mid - det));
  const radius = Math.ceil(3 * Math.sqrt(lambda));
  const u = (fx * x) / z + cx;
  const v = (fy * y) / z + cy;
  const tilesX = Math.ceil(width / TILE_SIZE);
  const tilesY = Math.ceil(height / TILE_SIZE);
  const clamp = (a: number, hi: number) => Math.min(hi, Math.max(0, a));
  const tileMinX = clamp(Math.floor((u - radius) / TILE_SIZE), tilesX);
  const tileMinY = clamp(Math.floor((v - radius) / TILE_SIZE), tilesY);
  const tileMaxX = clamp(Math.ceil((u + radius) / TILE_SIZE), tilesX);
  const tileMaxY = clamp(Math.ceil((v + radius) / TILE_SIZE), tilesY);
  if (tileMaxX <= tileMinX || tileMaxY <= tileMinY) return undefined;
  return {
    u, v, depth: z,
    conicA: covC / det, conicB: -covB / det, conicC: covA / det,
    opacity: 1 / (1 + Math.exp(-scene.opacities[i]!)),
    radius, tileMinX, tileMinY, tileMaxX, tileMaxY,
  };
}

const SH_C1 = 0.4886025119029199;
const SH_C2 = [1.0925484305920792, -1.0925484305920792, 0.31539156525252005, -1.0925484305920792, 0.5462742152960396];
const SH_C3 = [
  -0.5900435899266435, 2.890611442640554, -0.4570457994644658, 0.3731763325901154, -0.4570457994644658,
  1.445305721320277, -0.5900435899266435,
];

/** The real SH basis (3DGS order, without the DC term) for a unit direction, up to `degree`. */
export function shBasis(degree: number, x: number, y: number, z: number): number[] {
  const b: number[] = [];
  if (degree < 1) return b;
  b.push(-SH_C1 * y, SH_C1 * z, -SH_C1 * x);
  if (degree < 2) return b;
  const xx = x * x, yy = y * y, zz = z * z, xy = x * y, yz = y * z, xz = x * z;
  b.push(SH_C2[0]! * xy, SH_C2[1]! * yz, SH_C2[2]! * (2 * zz - xx - yy), SH_C2[3]! * xz, SH_C2[4]! * (xx - yy));
  if (degree < 3) return b;
  b.push(
    SH_C3[0]! * y * (3 * xx - yy),
    SH_C3[1]! * xy * z,
    SH_C3[2]! * y * (4 * zz - xx - yy),
    SH_C3[3]! * z * (2 * zz - 3 * xx - 3 * yy),
    SH_C3[4]! * x * (4 * zz - xx - yy),
    SH_C3[5]! * z * (xx - yy),
    SH_C3[6]! * x * (xx - 3 * yy),
  );
  return b;
}

/** View-dependent colour of Gaussian i seen from `eye` (3DGS: SH + 0.5, clamped at 0). */
export function gaussianColor(scene: GaussianScene, i: number, eye: [number, number, number], degree: number): [number, number, number] {
  const d = Math.min(degree, scene.shDegree);
  const restPer = shRestPerChannel(scene.shDegree);
  let dx = scene.positions[3 * i]! - eye[0];
  let dy = scene.positions[3 * i + 1]! - eye[1];
  let dz = scene.positions[3 * i + 2]! - eye[2];
  const n = Math.hypot(dx, dy, dz) || 1;
  dx /= n; dy /= n; dz /= n;
  const basis = shBasis(d, dx, dy, dz);
  const out: [number, number, number] = [0, 0, 0];
  for (let c = 0; c < 3; c++) {
    let v = SH_C0 * scene.sh0[3 * i + c]! + 0.5;
    const base = i * 3 * restPer + c * restPer;
    for (let k = 0; k < basis.length; k++) v += basis[k]! * scene.shRest[base + k]!;
    out[c] = Math.max(0, v);
  }
  return out;
}

/**
 * Visits every (pixel, Gaussian, blending weight alpha*T) of the front-to-back blend, pixel by pixel
 * (row-major), and within a pixel front to back. `pixel` indexes the output image (y * width + x)
 * at options.width/height. Stops each pixel exactly where the renderer does.
 */
export function forEachContribution(
  scene: GaussianScene,
  camera: Camera,
  options: RenderOptions,
  visit: (pixel: number, gaussian: number, weight: number) => void,
): void {
  blend(scene, scaleCamera(camera, options.width, options.height), (pixel, g, w) => visit(pixel, g, w));
}

/**
 * Camera-space z in float32 arithmetic, evaluated as the GPU does (products, then sums in order),
 * used only as the sort key so that the blend order matches the GPU's for near-equal depths.
 */
export function float32Depth(scene: GaussianScene, i: number, cam: Camera): number {
  const f = Math.fround;
  const R = cam.rotation;
  const x = f(scene.positions[3 * i]!), y = f(scene.positions[3 * i + 1]!), z = f(scene.positions[3 * i + 2]!);
  const d = f(f(f(f(R[6]!) * x) + f(f(R[7]!) * y)) + f(f(R[8]!) * z));
  return f(d + f(cam.translation[2]!));
}

/** Projected Gaussians sorted front to back, binned per tile; calls `visit` per contribution and `finish` per pixel. */
function blend(
  scene: GaussianScene,
  cam: Camera,
  visit: (pixel: number, gaussian: number, weight: number, p: ProjectedGaussian) => void,
  finish?: (pixel: number, transmittance: number) => void,
): void {
  const { width, height } = cam;
  const projected: (ProjectedGaussian | undefined)[] = new Array(scene.count);
  const order: number[] = [];
  for (let i = 0; i < scene.count; i++) {
    const p = projectGaussian(scene, i, cam);
    projected[i] = p;
    if (p) order.push(i);
  }
  // Sort on float32 depths, as the GPU does: Gaussians whose depths differ below float32
  // precision then tie and go by index in both implementations.
  const key = new Float32Array(scene.count);
  for (const i of order) key[i] = float32Depth(scene, i, cam);
  order.sort((a, b) => key[a]! - key[b]! || a - b);
  const tilesX = Math.ceil(width / TILE_SIZE);
  const tilesY = Math.ceil(height / TILE_SIZE);
  const tileLists: number[][] = Array.from({ length: tilesX * tilesY }, () => []);
  for (const i of order) {
    const p = projected[i]!;
    for (let ty = p.tileMinY; ty < p.tileMaxY; ty++) {
      for (let tx = p.tileMinX; tx < p.tileMaxX; tx++) tileLists[ty * tilesX + tx]!.push(i);
    }
  }
  for (let py = 0; py < height; py++) {
    for (let px = 0; px < width; px++) {
      const list = tileLists[Math.floor(py / TILE_SIZE) * tilesX + Math.floor(px / TILE_SIZE)]!;
      const pixel = py * width + px;
      const T = blendPixel(list, projected, px + 0.5, py + 0.5, (i, w, p) => visit(pixel, i, w, p));
      finish?.(pixel, T);
    }
  }
}

/**
 * The blend of one pixel sampled at (sx, sy): `list` holds the Gaussians binned to its tile, front
 * to back. Calls `visit` with each blending weight; returns the final transmittance.
 */
export function blendPixel(
  list: readonly number[],
  projected: readonly (ProjectedGaussian | undefined)[],
  sx: number,
  sy: number,
  visit: (gaussian: number, weight: number, p: ProjectedGaussian) => void,
): number {
  let T = 1;
  for (const i of list) {
    const p = projected[i]!;
    const dx = p.u - sx;
    const dy = p.v - sy;
    const power = -0.5 * (p.conicA * dx * dx + p.conicC * dy * dy) - p.conicB * dx * dy;
    if (power > 0) continue;
    const raw = Math.min(ALPHA_MAX, p.opacity * Math.exp(power));
    if (raw <= ALPHA_MIN) continue;
    // Continuous cut-off (see the header): GPU and reference agree even when raw ~ 1/255.
    const alpha = raw * Math.min(1, (raw - ALPHA_MIN) / ALPHA_MIN);
    const nextT = T * (1 - alpha);
    if (nextT < TRANSMITTANCE_MIN) break;
    visit(i, alpha * T, p);
    T = nextT;
  }
  return T;
}

/** Renders colour, alpha, depth and (optionally) a C-channel feature map. */
export function renderReference(scene: GaussianScene, camera: Camera, options: RenderOptions = {}): RenderOutput {
  const cam = scaleCamera(camera, options.width, options.height);
  const { width, height } = cam;
  const bg = options.background ?? [0, 0, 0];
  const degree = options.shDegree ?? scene.shDegree;
  const eye = cameraCenter(cam);
  const colors = new Map<number, [number, number, number]>();
  const color = new Float32Array(width * height * 3);
  const alpha = new Float32Array(width * height);
  const depth = new Float32Array(width * height);
  const C = options.featureDim ?? 0;
  const feats = options.features;
  if (feats && (C <= 0 || feats.length !== scene.count * C)) {
    throw new RangeError(`features must hold count * featureDim = ${scene.count} * ${C} values, got ${feats.length}`);
  }
  const outFeatures = feats ? new Float32Array(width * height * C) : undefined;
  // Accumulate in doubles per pixel, then store (the GPU accumulates in f32; the gap is far below 1e-4).
  let acc = [0, 0, 0];
  let accDepth = 0;
  const accF = new Float64Array(C);
  blend(
    scene,
    cam,
    (pixel, i, w, p) => {
      let c = colors.get(i);
      if (!c) {
        c = gaussianColor(scene, i, eye, degree as ShDegree);
        colors.set(i, c);
      }
      acc[0]! += w * c[0];
      acc[1]! += w * c[1];
      acc[2]! += w * c[2];
      accDepth += w * p.depth;
      if (feats) for (let k = 0; k < C; k++) accF[k] = accF[k]! + w * feats[i * C + k]!;
    },
    (pixel, T) => {
      color[pixel * 3] = acc[0]! + T * bg[0];
      color[pixel * 3 + 1] = acc[1]! + T * bg[1];
      color[pixel * 3 + 2] = acc[2]! + T * bg[2];
      alpha[pixel] = 1 - T;
      depth[pixel] = accDepth;
      if (outFeatures) {
        for (let k = 0; k < C; k++) outFeatures[pixel * C + k] = accF[k]!;
        accF.fill(0);
      }
      acc = [0, 0, 0];
      accDepth = 0;
    },
  );
  return { width, height, color, alpha, depth, features: outFeatures };
}

/**
 * Gradient of a loss with respect to the per-Gaussian features, given dLoss/dFeatureMap (H*W*C).
 * The feature map is linear in the features (weights depend only on frozen geometry), so
 * dL/df_i = sum over pixels of weight_i(pixel) * dL/dF(pixel).
 */
export function backwardReference(
  scene: GaussianScene,
  camera: Camera,
  options: RenderOptions,
  gradFeatures: Float32Array,
): Float32Array {
  const cam = scaleCamera(camera, options.width, options.height);
  const C = options.featureDim ?? (options.features ? options.features.length / scene.count : 0);
  if (!(C > 0) || gradFeatures.length !== cam.width * cam.height * C) {
    throw new RangeError(`gradFeatures must hold height * width * featureDim values (featureDim ${C})`);
  }
  const grad = new Float64Array(scene.count * C);
  blend(scene, cam, (pixel, i, w) => {
    for (let k = 0; k < C; k++) grad[i * C + k] = grad[i * C + k]! + w * gradFeatures[pixel * C + k]!;
  });
  return Float32Array.from(grad);
}

/**
 * One step of the engine's lazy Adam on per-Gaussian features (count x dim, row-major), in place
 * in float64: torch.optim.Adam's update, except that each group of four channels of a row (the
 * kernels' vec4 lanes: channels 0-3, 4-7, ...) whose gradient is all zero is left alone, value
 * and moments, as torch.optim.SparseAdam leaves the rows a sparse gradient does not hold.
 */
export function lazyAdamReference(
  params: Float64Array,
  grad: ArrayLike<number>,
  m: Float64Array,
  v: Float64Array,
  t: number,
  dim: number,
  options: { lr: number; beta1?: number; beta2?: number; eps?: number },
): void {
  const b1 = options.beta1 ?? 0.9;
  const b2 = options.beta2 ?? 0.999;
  const eps = options.eps ?? 1e-8;
  for (let row = 0; row * dim < params.length; row++) {
    for (let from = row * dim; from < (row + 1) * dim; from += 4) {
      const to = Math.min(from + 4, (row + 1) * dim);
      let reached = false;
      for (let k = from; k < to; k++) reached ||= grad[k] !== 0;
      if (!reached) continue;
      for (let k = from; k < to; k++) {
        const g = grad[k]!;
        m[k] = b1 * m[k]! + (1 - b1) * g;
        v[k] = b2 * v[k]! + (1 - b2) * g * g;
        params[k] = params[k]! - (options.lr * (m[k]! / (1 - b1 ** t))) / (Math.sqrt(v[k]! / (1 - b2 ** t)) + eps);
      }
    }
  }
}
