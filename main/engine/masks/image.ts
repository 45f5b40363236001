/**
 * View images for mask preparation: decoding (PNG, JPEG) to 8-bit RGB, and resampling.
 * Pure functions on typed arrays; the caller reads the file bytes.
 */
import jpeg from 'jpeg-js';
import { decodePng, encodeRgbPng as encodeRgb8Png, expandPalette, isPng } from '../../common/png.ts';
import { SagaError } from '../../contract/errors.ts';

/** An 8-bit RGB image, row-major, 3 bytes per pixel. */
export interface RgbImage {
  width: number;
  height: number;
  data: Uint8Array;
}

/** Largest image we decode: 64 megapixels keeps one decoded view under 200 MB. */
const MAX_PIXELS = 64 * 1024 * 1024;

function isJpeg(bytes: Uint8Array): boolean {
  return bytes.length > 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff;
}

/**
 * Decodes PNG (any bit depth, grey, palette, alpha) or baseline/progressive JPEG to RGB. Alpha is
 * composited over black, the background 3DGS renders use. Throws BAD_IMAGE naming the file.
 */
export function decodeImage(bytes: Uint8Array, path: string): RgbImage {
  const bad = (why: string, cause?: unknown) =>
    new SagaError(
      'BAD_IMAGE',
      `The image ${path} cannot be read (${why}). Replace it with a valid PNG or JPEG, or remove the view.`,
      { path },
      { cause },
    );
  if (isPng(bytes)) {
    let png;
    try {
      png = decodePng(bytes);
    } catch (e) {
      throw bad(e instanceof Error ? e.message : String(e), e);
    }
    if (png.width * png.height > MAX_PIXELS) throw bad(`${png.width}x${png.height} is larger than 64 megapixels`);
    const { data, channels } = expandPalette(png);
    const n = png.width * png.height;
    if (data.length < n * channels) throw bad('pixel data is shorter than the header says');
    // Palette entries are 8-bit whatever the index depth; only direct samples scale with png.depth.
    const maxValue = png.palette ? 255 : png.depth === 16 ? 65535 : (1 << png.depth) - 1;
    const out = new Uint8Array(n * 3);
    for (let i = 0; i < n; i++) {
      const base = i * channels;
      let r: number, g: number, b: number;
      if (channels >= 3) {
        r = data[base]!;
        g = data[base + 1]!;
        b = data[base + 2]!;
      } else {
        r = g = b = data[base]!;
      }
      const hasAlpha = channels === 2 || channels === 4;
      const a = hasAlpha ? data[base + channels - 1]! / maxValue : 1;
      const s = (255 / maxValue) * a;
      out[i * 3] = Math.round(r * s);
      out[i * 3 + 1] = Math.round(g * s);
      out[i * 3 + 2] = Math.round(b * s);
    }
    return { width: png.width, height: png.height, data: out };
  }
  if (isJpeg(bytes)) {
    let img;
    try {
      img = jpeg.decode(bytes, { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: 1024, maxResolutionInMP: 64 });
    } catch (e) {
      throw bad(e instanceof Error ? e.message : String(e), e);
    }
    return { width: img.width, height: img.height, data: new Uint8Array(img.data.buffer, img.data.byteOffset, img.width * img.height * 3) };
  }
  throw bad(bytes.length === 0 ? 'the file is empty' : 'it is neither PNG nor JPEG');
}

/** Encodes RGB to PNG bytes (for contact sheets and test images). */
export function encodeRgbPng(img: RgbImage): Uint8Array {
  return encodeRgb8Png(img.data, img.width, img.height);
}

/**
 * Per-output-sample weights of a separable triangle (bilinear) filter whose support widens with
 * the downscale factor, the way PIL's BILINEAR resize works (SAM's ResizeLongestSide goes through
 * PIL): downscaling averages every source pixel instead of skipping pixels.
 */
function filterTaps(srcSize: number, dstSize: number): { start: Int32Array; count: Int32Array; weights: Float32Array; maxTaps: number } {
  const scale = srcSize / dstSize;
  const support = Math.max(1, scale);
  const maxTaps = Math.ceil(support) * 2 + 1;
  const start = new Int32Array(dstSize);
  const count = new Int32Array(dstSize);
  const weights = new Float32Array(dstSize * maxTaps);
  for (let o = 0; o < dstSize; o++) {
    const centre = (o + 0.5) * scale;
    const lo = Math.max(0, Math.floor(centre - support));
    const hi = Math.min(srcSize, Math.ceil(centre + support));
    let total = 0;
    let n = 0;
    for (let s = lo; s < hi && n < maxTaps; s++, n++) {
      const w = Math.max(0, 1 - Math.abs((s + 0.5 - centre) / support));
      weights[o * maxTaps + n] = w;
      total += w;
    }
    if (total > 0) for (let k = 0; k < n; k++) weights[o * maxTaps + k]! /= total;
    start[o] = lo;
    count[o] = n;
  }
  return { start, count, weights, maxTaps };
}

/**
 * Resamples an interleaved float or byte image with `channels` channels to dstW x dstH using the
 * widened triangle filter. Returns float values in the source's range.
 */
export function resizeChannels(
  src: ArrayLike<number>,
  srcW: number,
  srcH: number,
  channels: number,
  dstW: number,
  dstH: number,
): Float32Array {
  const tx = filterTaps(srcW, dstW);
  const ty = filterTaps(srcH, dstH);
  // Horizontal pass first: srcH rows of dstW samples.
  const mid = new Float32Array(srcH * dstW * channels);
  for (let y = 0; y < srcH; y++) {
    const row = y * srcW;
    for (let x = 0; x < dstW; x++) {
      const s0 = tx.start[x]!;
      const n = tx.count[x]!;
      const wBase = x * tx.maxTaps;
      for (let c = 0; c < channels; c++) {
        let acc = 0;
        for (let k = 0; k < n; k++) acc += tx.weights[wBase + k]! * src[(row + s0 + k) * channels + c]!;
        mid[(y * dstW + x) * channels + c] = acc;
      }
    }
  }
  const out = new Float32Array(dstW * dstH * channels);
  for (let y = 0; y < dstH; y++) {
    const s0 = ty.start[y]!;
    const n = ty.count[y]!;
    const wBase = y * ty.maxTaps;
    for (let x = 0; x < dstW; x++) {
      for (let c = 0; c < channels; c++) {
        let acc = 0;
        for (let k = 0; k < n; k++) acc += ty.weights[wBase + k]! * mid[((s0 + k) * dstW + x) * channels + c]!;
        out[(y * dstW + x) * channels + c] = acc;
      }
    }
  }
  return out;
}

/** SAM's ResizeLongestSide.get_preprocess_shape: the size after scaling the longest side to `target`. */
export function longestSideShape(width: number, height: number, target: number): { width: number; height: number } {
  const scale = target / Math.max(width, height);
  return { width: Math.floor(width * scale + 0.5), height: Math.floor(height * scale + 0.5) };
}
