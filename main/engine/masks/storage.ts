/**
 * How prepared views sit in the project cache, and the pure encodings they use.
 *
 * cache/prepare/<view-key>/
 *   masks.bin      K masks, each bit-packed row-major at maskWidth x maskHeight (bit i of the mask is
 *                  byte i>>3, bit i&7, LSB first), masks stored back to back, each ceil(w*h/8) bytes.
 *   features.f16   C x H x W image features as IEEE float16, little-endian (256 x 64 x 64 for SAM).
 *   manifest.json  ViewManifest; written LAST and atomically, so its presence means the view is done.
 *
 * Mask resolution: SAGA v1 stores masks at 200 x 200. We keep the view's aspect ratio and the same
 * pixel budget: the mask grid has about 200*200 = 40,000 pixels (800x600 -> 231x173), never more
 * pixels than the image. Trainers read maskWidth/maskHeight from the manifest.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomicSync } from '../../common/atomic-write.ts';
import { SagaError } from '../../contract/errors.ts';

export const MASK_PIXEL_BUDGET = 200 * 200;
/** The feature map's file in a view's folder (ViewManifest.features.file). */
export const FEATURES_FILE = 'features.f16';
export const MANIFEST_VERSION = 1;

export type MaskSource = 'sam' | 'auto' | 'imported';

export interface MaskInfo {
  /** Pixels inside, at mask resolution. */
  area: number;
  /**
   * Coarseness level: 0 finest. Auto masks: the segmentation scale index (masks nest from level l
   * into level l+1). SAM masks: 0 (SAM gives no order; SAGA derives scale from 3D extent).
   * Imported: the <k> of masks/<stem>/<k>.png.
   */
  level: number;
  /** Bounding box x0, y0, x1, y1 at mask resolution, inclusive. */
  box: [number, number, number, number];
  /** SAM only: predicted IoU and stability score. */
  predictedIou?: number;
  stability?: number;
}

export interface ViewManifest {
  version: number;
  view: string;
  source: MaskSource;
  /** Model id for SAM, the folder for imported masks, the algorithm name for auto. */
  sourceDetail: string;
  /** Identifies the inputs so a changed image or option recomputes the view on resume. */
  inputKey: string;
  image: { path: string; width: number; height: number };
  maskWidth: number;
  maskHeight: number;
  masks: MaskInfo[];
  /**
   * C x H x W feature map. Like a SAM embedding it spans the image resized so its longest side is
   * `frame.size` (1024) and padded bottom/right to a square: cell (i, j) covers frame pixels
   * [16j, 16j+16) x [16i, 16i+16); the image occupies frame.width x frame.height of the frame, so
   * image pixel (x, y) lies in frame pixel (x * frame.width / image.width, y * frame.height / image.height).
   */
  features: {
    file: string;
    channels: number;
    height: number;
    width: number;
    dtype: 'float16';
    kind: 'sam-embedding' | 'classical';
    frame: { size: number; width: number; height: number };
  } | null;
  elapsedMs: number;
}

/** The mask grid for an image: same aspect ratio, about MASK_PIXEL_BUDGET pixels, never upscaled. */
export function maskGridSize(width: number, height: number, budget = MASK_PIXEL_BUDGET): { width: number; height: number } {
  const s = Math.min(1, Math.sqrt(budget / (width * height)));
  return { width: Math.max(1, Math.round(width * s)), height: Math.max(1, Math.round(height * s)) };
}

export function packedMaskBytes(width: number, height: number): number {
  return (width * height + 7) >> 3;
}

/** Packs a 0/1 (or zero/non-zero) mask into bits, LSB first. */
export function packMask(mask: ArrayLike<number>, out = new Uint8Array((mask.length + 7) >> 3)): Uint8Array {
  out.fill(0);
  for (let i = 0; i < mask.length; i++) if (mask[i]) out[i >> 3]! |= 1 << (i & 7);
  return out;
}

export function unpackMask(bits: Uint8Array, count: number, out = new Uint8Array(count)): Uint8Array {
  for (let i = 0; i < count; i++) out[i] = (bits[i >> 3]! >> (i & 7)) & 1;
  return out;
}

/**
 * Area-downsamples a binary mask: an output pixel is inside when at least half of the source area
 * it covers is inside (fractional coverage of boundary source pixels counted).
 */
export function downsampleMask(mask: ArrayLike<number>, w: number, h: number, tw: number, th: number): Uint8Array {
  const out = new Uint8Array(tw * th);
  if (tw === w && th === h) {
    for (let i = 0; i < out.length; i++) out[i] = mask[i] ? 1 : 0;
    return out;
  }
  const sx = w / tw;
  const sy = h / th;
  for (let oy = 0; oy < th; oy++) {
    const y0 = oy * sy;
    const y1 = y0 + sy;
    for (let ox = 0; ox < tw; ox++) {
      const x0 = ox * sx;
      const x1 = x0 + sx;
      let inside = 0;
      for (let y = Math.floor(y0); y < Math.min(h, Math.ceil(y1)); y++) {
        const wy = Math.min(y + 1, y1) - Math.max(y, y0);
        for (let x = Math.floor(x0); x < Math.min(w, Math.ceil(x1)); x++) {
          if (mask[y * w + x]) inside += wy * (Math.min(x + 1, x1) - Math.max(x, x0));
        }
      }
      out[oy * tw + ox] = inside * 2 >= sx * sy ? 1 : 0;
    }
  }
  return out;
}

/** Inclusive bounding box of a 0/1 mask, or [0,0,-1,-1] when empty. */
export function maskBox(mask: ArrayLike<number>, w: number, h: number): [number, number, number, number] {
  let x0 = w, y0 = h, x1 = -1, y1 = -1;
  for (let y = 0; y < h; y++) {
    for (let x = 0; x < w; x++) {
      if (!mask[y * w + x]) continue;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  return x1 < 0 ? [0, 0, -1, -1] : [x0, y0, x1, y1];
}

// ---- float16 ------------------------------------------------------------------------------------

const f32 = new Float32Array(1);
const u32 = new Uint32Array(f32.buffer);

/** IEEE 754 half from a float, round-to-nearest-even, with overflow to infinity and subnormals. */
export function toHalf(v: number): number {
  f32[0] = v;
  const x = u32[0]!;
  const sign = (x >>> 16) & 0x8000;
  const exp = (x >>> 23) & 0xff;
  let mant = x & 0x7fffff;
  if (exp === 0xff) return sign | 0x7c00 | (mant ? 0x200 : 0);
  const e = exp - 127 + 15;
  if (e >= 0x1f) return sign | 0x7c00;
  if (e <= 0) {
    if (e < -10) return sign;
    mant |= 0x800000;
    const shift = 14 - e;
    let half = mant >> shift;
    const rem = mant & ((1 << shift) - 1);
    const mid = 1 << (shift - 1);
    if (rem > mid || (rem === mid && half & 1)) half++;
    return sign | half;
  }
  let half = sign | (e << 10) | (mant >> 13);
  const rem = mant & 0x1fff;
  if (rem > 0x1000 || (rem === 0x1000 && half & 1)) half++;
  return half;
}

export function fromHalf(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const mant = h & 0x3ff;
  if (exp === 0) return sign * mant * 2 ** -24;
  if (exp === 0x1f) return mant ? NaN : sign * Infinity;
  return sign * (1 + mant / 1024) * 2 ** (exp - 15);
}

export function encodeFloat16(values: Float32Array): Uint16Array {
  const out = new Uint16Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = toHalf(values[i]!);
  return out;
}

export function decodeFloat16(halfs: Uint16Array): Float32Array {
  const out = new Float32Array(halfs.length);
  for (let i = 0; i < halfs.length; i++) out[i] = fromHalf(halfs[i]!);
  return out;
}

// ---- files --------------------------------------------------------------------------------------

/** A file-system-safe, unique folder name for a view. */
export function viewKey(index: number, name: string): string {
  const safe = name.replace(/[^A-Za-z0-9._-]+/g, '_').slice(0, 80) || 'view';
  return `${String(index).padStart(4, '0')}-${safe}`;
}

export function viewDir(cacheDir: string, key: string): string {
  return join(cacheDir, 'prepare', key);
}

export function readManifest(dir: string): ViewManifest | undefined {
  const path = join(dir, 'manifest.json');
  if (!existsSync(path)) return undefined;
  try {
    const m = JSON.parse(readFileSync(path, 'utf8')) as ViewManifest;
    return m.version === MANIFEST_VERSION ? m : undefined;
  } catch (e) {
    // A damaged manifest means the view must be prepared again; the caller recomputes it.
    if (e instanceof SyntaxError) return undefined;
    throw e;
  }
}

/** Writes one prepared view: masks and features first, the manifest last. */
export function writePreparedView(
  dir: string,
  manifest: Omit<ViewManifest, 'version'>,
  packedMasks: Uint8Array[],
  features: Uint16Array | null,
): ViewManifest {
  mkdirSync(dir, { recursive: true });
  rmSync(join(dir, 'manifest.json'), { force: true });
  const stride = packedMaskBytes(manifest.maskWidth, manifest.maskHeight);
  const all = new Uint8Array(stride * packedMasks.length);
  packedMasks.forEach((m, i) => all.set(m.subarray(0, stride), i * stride));
  writeFileAtomicSync(join(dir, 'masks.bin'), all);
  // A view prepared again without features (another mask source) must not keep the old ones: a
  // trainer finding features.f16 beside a manifest that names none would be reading another run.
  if (features) writeFileAtomicSync(join(dir, FEATURES_FILE), new Uint8Array(features.buffer, features.byteOffset, features.byteLength));
  else rmSync(join(dir, FEATURES_FILE), { force: true });
  const full: ViewManifest = { version: MANIFEST_VERSION, ...manifest };
  writeFileAtomicSync(join(dir, 'manifest.json'), JSON.stringify(full, null, 1));
  return full;
}

/** Every finished prepared view in a cache folder, in view-key order (for the trainer). */
export function listPreparedViews(cacheDir: string): { key: string; dir: string; manifest: ViewManifest }[] {
  const root = join(cacheDir, 'prepare');
  if (!existsSync(root)) return [];
  return readdirSync(root)
    .sort()
    .flatMap((key) => {
      const dir = join(root, key);
      const manifest = readManifest(dir);
      return manifest ? [{ key, dir, manifest }] : [];
    });
}

/** Reads a prepared view's masks (bit-packed, one Uint8Array view per mask). */
export function readPreparedMasks(dir: string, m: ViewManifest): Uint8Array[] {
  const bytes = new Uint8Array(readFileSync(join(dir, 'masks.bin')));
  const stride = packedMaskBytes(m.maskWidth, m.maskHeight);
  if (bytes.length !== stride * m.masks.length) {
    throw new SagaError('PROJECT_CORRUPT', `The prepared masks in ${dir} are damaged. Prepare the views again, recomputing the prepared ones, to rebuild them.`, { dir });
  }
  return m.masks.map((_, i) => bytes.subarray(i * stride, (i + 1) * stride));
}

/** Reads a prepared view's features as float16 bits, C x H x W (little-endian on disk). */
export function readPreparedFeatureBits(dir: string, m: ViewManifest): Uint16Array | null {
  if (!m.features) return null;
  const bytes = readFileSync(join(dir, m.features.file));
  const n = m.features.channels * m.features.height * m.features.width;
  if (bytes.length !== n * 2) {
    throw new SagaError('PROJECT_CORRUPT', `The prepared features in ${dir} are damaged. Prepare the views again, recomputing the prepared ones, to rebuild them.`, { dir });
  }
  const halfs = new Uint16Array(n);
  for (let i = 0; i < n; i++) halfs[i] = bytes[i * 2]! | (bytes[i * 2 + 1]! << 8);
  return halfs;
}

/** Reads a prepared view's features as float32 C x H x W. */
export function readPreparedFeatures(dir: string, m: ViewManifest): Float32Array | null {
  const halfs = readPreparedFeatureBits(dir, m);
  return halfs ? decodeFloat16(halfs) : null;
}
