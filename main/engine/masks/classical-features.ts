/**
 * Image features for SAGA's guidance loss when no SAM model is installed: a 256 x 64 x 64 map laid
 * out exactly like a SAM embedding (the 64 x 64 grid spans the image resized so its longest side is
 * 1024 and padded to a square; cells outside the image are zero), so the trainer treats both alike.
 *
 * Per cell (16 x 16 pixels of the 1024 frame, computed on the image resized to a 256 long side,
 * i.e. 4 x 4 samples per cell) a 20-number descriptor:
 *   0-2   mean R, G, B (0..1)
 *   3-5   standard deviation of R, G, B
 *   6     mean gradient magnitude of luminance
 *   7-10  gradient orientation histogram (4 bins over 0..pi, magnitude-weighted, normalised)
 *   11-13 mean R, G, B over the 3 x 3 cell neighbourhood (context)
 *   14-16 mean R, G, B over the 7 x 7 cell neighbourhood (wider context)
 *   17-18 cell centre x, y in the 1024 frame (0..1), weighted 0.25 so colour dominates
 *   19    constant 1 (lets the projection carry a bias)
 * then mapped to 256 dimensions with fixed random Fourier features, f = sqrt(2/256) cos(W d + b),
 * W ~ N(0, 1/s^2) with s = 0.25, b ~ U(0, 2 pi), from a seeded generator: every view and every run
 * uses the same projection, and dot products of features approximate a Gaussian kernel on the
 * descriptors, so similar-looking cells get similar features.
 */
import { longestSideShape, resizeChannels, type RgbImage } from './image.ts';
import { mulberry32 as prng } from '../../common/random.ts';

export const FEATURE_CHANNELS = 256;
export const FEATURE_GRID = 64;
const DESCRIPTOR = 20;
const SAMPLES_PER_CELL = 4;
const KERNEL_WIDTH = 0.25;
const SEED = 0x5a6a;


let projection: { W: Float32Array; b: Float32Array } | undefined;

/** The fixed random Fourier projection (FEATURE_CHANNELS x DESCRIPTOR and a phase per channel). */
export function featureProjection(): { W: Float32Array; b: Float32Array } {
  if (projection) return projection;
  const rand = prng(SEED);
  const W = new Float32Array(FEATURE_CHANNELS * DESCRIPTOR);
  for (let i = 0; i < W.length; i += 2) {
    // Box-Muller: two normals per two uniforms.
    const u = Math.max(rand(), 1e-12);
    const v = rand();
    const r = Math.sqrt(-2 * Math.log(u)) / KERNEL_WIDTH;
    W[i] = r * Math.cos(2 * Math.PI * v);
    if (i + 1 < W.length) W[i + 1] = r * Math.sin(2 * Math.PI * v);
  }
  const b = new Float32Array(FEATURE_CHANNELS);
  for (let i = 0; i < b.length; i++) b[i] = rand() * 2 * Math.PI;
  projection = { W, b };
  return projection;
}

/** Per-cell descriptors (DESCRIPTOR x cells), and which cells lie inside the image. */
export function cellDescriptors(img: RgbImage): { desc: Float32Array; valid: Uint8Array; cellsX: number; cellsY: number } {
  const G = FEATURE_GRID;
  const frame = longestSideShape(img.width, img.height, G * SAMPLES_PER_CELL);
  const rw = Math.max(1, frame.width);
  const rh = Math.max(1, frame.height);
  const px = resizeChannels(img.data, img.width, img.height, 3, rw, rh);
  const cellsX = Math.ceil(rw / SAMPLES_PER_CELL);
  const cellsY = Math.ceil(rh / SAMPLES_PER_CELL);
  const desc = new Float32Array(DESCRIPTOR * G * G);
  const valid = new Uint8Array(G * G);
  const lum = new Float32Array(rw * rh);
  for (let i = 0; i < rw * rh; i++) lum[i] = (0.299 * px[i * 3]! + 0.587 * px[i * 3 + 1]! + 0.114 * px[i * 3 + 2]!) / 255;
  const meanRgb = new Float32Array(G * G * 3);
  for (let cy = 0; cy < cellsY; cy++) {
    for (let cx = 0; cx < cellsX; cx++) {
      const cell = cy * G + cx;
      valid[cell] = 1;
      let n = 0;
      const s = [0, 0, 0];
      const s2 = [0, 0, 0];
      let gradSum = 0;
      const hist = [0, 0, 0, 0];
      for (let y = cy * SAMPLES_PER_CELL; y < Math.min(rh, (cy + 1) * SAMPLES_PER_CELL); y++) {
        for (let x = cx * SAMPLES_PER_CELL; x < Math.min(rw, (cx + 1) * SAMPLES_PER_CELL); x++) {
          const i = y * rw + x;
          for (let c = 0; c < 3; c++) {
            const v = px[i * 3 + c]! / 255;
            s[c]! += v;
            s2[c]! += v * v;
          }
          const gx = lum[y * rw + Math.min(rw - 1, x + 1)]! - lum[y * rw + Math.max(0, x - 1)]!;
          const gy = lum[Math.min(rh - 1, y + 1) * rw + x]! - lum[Math.max(0, y - 1) * rw + x]!;
          const mag = Math.hypot(gx, gy);
          gradSum += mag;
          let ang = Math.atan2(gy, gx);
          if (ang < 0) ang += Math.PI;
          hist[Math.min(3, Math.floor((ang / Math.PI) * 4))]! += mag;
          n++;
        }
      }
      const d = cell * DESCRIPTOR;
      for (let c = 0; c < 3; c++) {
        const mean = s[c]! / n;
        desc[d + c] = mean;
        desc[d + 3 + c] = Math.sqrt(Math.max(0, s2[c]! / n - mean * mean));
        meanRgb[cell * 3 + c] = mean;
      }
      desc[d + 6] = gradSum / n;
      const hs = hist.reduce((a, v) => a + v, 0) || 1;
      for (let k = 0; k < 4; k++) desc[d + 7 + k] = hist[k]! / hs;
      desc[d + 17] = (0.25 * (cx + 0.5)) / G;
      desc[d + 18] = (0.25 * (cy + 0.5)) / G;
      desc[d + 19] = 1;
    }
  }
  // Neighbourhood colour means over valid cells.
  for (let cy = 0; cy < cellsY; cy++) {
    for (let cx = 0; cx < cellsX; cx++) {
      const d = (cy * G + cx) * DESCRIPTOR;
      for (const [radius, offset] of [
        [1, 11],
        [3, 14],
      ] as const) {
        const acc = [0, 0, 0];
        let n = 0;
        for (let y = Math.max(0, cy - radius); y <= Math.min(cellsY - 1, cy + radius); y++) {
          for (let x = Math.max(0, cx - radius); x <= Math.min(cellsX - 1, cx + radius); x++) {
            for (let c = 0; c < 3; c++) acc[c]! += meanRgb[(y * G + x) * 3 + c]!;
            n++;
          }
        }
        for (let c = 0; c < 3; c++) desc[d + offset + c] = acc[c]! / n;
      }
    }
  }
  return { desc, valid, cellsX, cellsY };
}

/** The 256 x 64 x 64 classical feature map (channel-major, like a SAM embedding). */
export function classicalFeatures(img: RgbImage): Float32Array {
  const G = FEATURE_GRID;
  const { desc, valid } = cellDescriptors(img);
  const { W, b } = featureProjection();
  const out = new Float32Array(FEATURE_CHANNELS * G * G);
  const norm = Math.sqrt(2 / FEATURE_CHANNELS);
  for (let cell = 0; cell < G * G; cell++) {
    if (!valid[cell]) continue;
    const d = cell * DESCRIPTOR;
    for (let k = 0; k < FEATURE_CHANNELS; k++) {
      let acc = b[k]!;
      const wk = k * DESCRIPTOR;
      for (let j = 0; j < DESCRIPTOR; j++) acc += W[wk + j]! * desc[d + j]!;
      out[k * G * G + cell] = norm * Math.cos(acc);
    }
  }
  return out;
}
