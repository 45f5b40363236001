/**
 * The selection hint: a flat overlay that shows a segmentation answer within a few tens of
 * milliseconds, while the splat renderer (hundreds of milliseconds a frame on a software GPU)
 * draws the tinted splats. Each selected splat's centre is projected with the viewport's camera and
 * drawn as a tinted square about its projected size; splats hidden behind others are left out by a
 * coarse depth buffer of the opaque splats' centres. Pure: it writes RGBA pixels, the viewport puts
 * them on a 2D canvas over its own.
 */

/** The overlay is tested for occlusion in cells of this many pixels a side. */
export const HINT_CELL_PX = 4;
/** Splats at least this opaque (of 255) hide what lies behind their centre's cell. */
const OCCLUDER_ALPHA = 96;
/** A selected splat this far behind its cell's nearest occluder, as a share of the scene's radius (or of its own depth, if more), is hidden. */
const DEPTH_SLACK = 0.03;
/** Drawn squares reach at least 1 and at most this many pixels from the centre pixel (3 to 13 pixels a side). */
const MAX_DOT_PX = 6;

export interface HintScene {
  /** xyz per splat, in the coordinates the camera's matrices take. */
  centers: Float32Array;
  /** RGBA per splat; alpha (the opacity) decides which splats hide others. */
  colors: Uint8Array;
  /** Each splat's largest standard deviation in world units (splatRadii), for the dot size. */
  radii: Float32Array;
  count: number;
  /** The scene's radius, which scales the depth slack. */
  radius: number;
}

export interface HintCamera {
  /** Projection times view (column-major 4x4, three.js elements; OpenGL clip space). */
  viewProjection: ArrayLike<number>;
  /** The projection's [1][1] entry: 1 / tan(vertical field of view / 2). */
  focalY: number;
  width: number;
  height: number;
}

/** Reused between hints: the depth cells and the nearest occluder per cell. */
export interface HintScratch {
  depth: Float32Array;
}

/**
 * Draws the splats whose bit is set in `selected` (bit i & 7 of byte i >> 3) into `pixels` (RGBA,
 * `width` x `height`, cleared first) in `tint` at `alpha`. Returns how many splats were drawn and
 * how many pixels they tinted.
 */
export function drawSelectionHint(
  scene: HintScene,
  camera: HintCamera,
  selected: Uint8Array,
  pixels: Uint32Array,
  tint: readonly [number, number, number],
  alpha = 150,
  scratch?: HintScratch,
): { drawn: number; tinted: number; scratch: HintScratch } {
  const { width, height } = camera;
  const m = camera.viewProjection;
  const cols = Math.ceil(width / HINT_CELL_PX);
  const rows = Math.ceil(height / HINT_CELL_PX);
  const cells = cols * rows;
  const depth = scratch && scratch.depth.length >= cells ? scratch.depth : new Float32Array(cells);
  depth.fill(Infinity, 0, cells);
  pixels.fill(0);
  const { centers, colors, radii, count } = scene;
  const m0 = m[0]!, m1 = m[1]!, m3 = m[3]!, m4 = m[4]!, m5 = m[5]!, m7 = m[7]!, m8 = m[8]!, m9 = m[9]!, m11 = m[11]!, m12 = m[12]!, m13 = m[13]!, m15 = m[15]!;
  const halfW = width / 2;
  const halfH = height / 2;

  // The nearest opaque centre per cell.
  for (let i = 0; i < count; i++) {
    if (colors[i * 4 + 3]! < OCCLUDER_ALPHA) continue;
    const x = centers[i * 3]!, y = centers[i * 3 + 1]!, z = centers[i * 3 + 2]!;
    const w = m3 * x + m7 * y + m11 * z + m15;
    if (w <= 0) continue;
    const px = ((m0 * x + m4 * y + m8 * z + m12) / w + 1) * halfW;
    const py = (1 - (m1 * x + m5 * y + m9 * z + m13) / w) * halfH;
    if (px < 0 || py < 0 || px >= width || py >= height) continue;
    const cell = Math.floor(py / HINT_CELL_PX) * cols + Math.floor(px / HINT_CELL_PX);
    if (w < depth[cell]!) depth[cell] = w;
  }

  const colour = ((alpha & 255) << 24) | ((tint[2] & 255) << 16) | ((tint[1] & 255) << 8) | (tint[0] & 255);
  const focalPx = camera.focalY * halfH;
  const slack = DEPTH_SLACK * scene.radius;
  let drawn = 0;
  let tinted = 0;
  for (let byte = 0; byte < selected.length; byte++) {
    const b = selected[byte]!;
    if (b === 0) continue;
    for (let bit = 0; bit < 8; bit++) {
      if (!(b & (1 << bit))) continue;
      const i = (byte << 3) + bit;
      if (i >= count) break;
      const x = centers[i * 3]!, y = centers[i * 3 + 1]!, z = centers[i * 3 + 2]!;
      const w = m3 * x + m7 * y + m11 * z + m15;
      if (w <= 0) continue;
      const px = ((m0 * x + m4 * y + m8 * z + m12) / w + 1) * halfW;
      const py = (1 - (m1 * x + m5 * y + m9 * z + m13) / w) * halfH;
      if (px < 0 || py < 0 || px >= width || py >= height) continue;
      const cell = Math.floor(py / HINT_CELL_PX) * cols + Math.floor(px / HINT_CELL_PX);
      if (w > depth[cell]! + Math.max(slack, DEPTH_SLACK * w)) continue;
      const r = Math.min(MAX_DOT_PX, Math.max(1, Math.round((radii[i]! * focalPx) / w)));
      const x0 = Math.max(0, Math.floor(px) - r), x1 = Math.min(width, Math.floor(px) + r + 1);
      const y0 = Math.max(0, Math.floor(py) - r), y1 = Math.min(height, Math.floor(py) + r + 1);
      for (let row = y0; row < y1; row++) {
        for (let p = row * width + x0, end = row * width + x1; p < end; p++) {
          if (pixels[p] === 0) tinted++;
          pixels[p] = colour;
        }
      }
      drawn++;
    }
  }
  return { drawn, tinted, scratch: { depth } };
}

/**
 * Each splat's largest standard deviation from its 3D covariance (6 per splat: xx, xy, xz, yy, yz,
 * zz, as the splat library keeps them; as IEEE half-float bit patterns when `halfFloat`): the
 * square root of the largest diagonal entry, within a factor of sqrt(3) of the true largest axis
 * and enough for a dot's size.
 */
export function splatRadii(covariances: ArrayLike<number>, count: number, halfFloat = false): Float32Array {
  const radii = new Float32Array(count);
  const value = halfFloat ? fromHalf : (v: number) => v;
  for (let i = 0; i < count; i++) {
    const c = i * 6;
    radii[i] = Math.sqrt(Math.max(value(covariances[c]!), value(covariances[c + 3]!), value(covariances[c + 5]!), 0));
  }
  return radii;
}

/** The number an IEEE 754 half-float bit pattern stands for. */
export function fromHalf(bits: number): number {
  const sign = bits & 0x8000 ? -1 : 1;
  const exponent = (bits >> 10) & 0x1f;
  const fraction = bits & 0x3ff;
  if (exponent === 0) return sign * fraction * 2 ** -24;
  if (exponent === 31) return fraction ? NaN : sign * Infinity;
  return sign * (1 + fraction / 1024) * 2 ** (exponent - 15);
}
