/**
 * Turning render outputs into pictures: RGB(A) 8-bit buffers, PNG files (written to a temporary
 * name, then renamed), and a 3-channel view of per-Gaussian features by PCA.
 */
import { writeAll, writeFileAtomic } from '../../common/atomic-write.ts';
import { encodeRgbPng } from '../../common/png.ts';

/** Float RGB (H*W*3, 0..1) to 8-bit RGB with rounding and clamping. */
export function toRgb8(color: Float32Array): Uint8Array {
  const out = new Uint8Array(color.length);
  for (let i = 0; i < color.length; i++) out[i] = Math.max(0, Math.min(255, Math.round(color[i]! * 255)));
  return out;
}

export async function writePng(path: string, color: Float32Array, width: number, height: number): Promise<void> {
  const bytes = encodeRgbPng(toRgb8(color), width, height);
  await writeFileAtomic(path, (file) => writeAll(file, bytes));
}

/**
 * Projects N x C features onto their top 3 principal components (power iteration with deflation
 * on the C x C covariance) and rescales each component to [0, 1] by its 1st and 99th percentiles,
 * so a feature map rendered from the result is viewable as colour.
 */
export function featuresToPcaColors(features: Float32Array, count: number, dim: number): Float32Array {
  const mean = new Float64Array(dim);
  for (let i = 0; i < count; i++) for (let c = 0; c < dim; c++) mean[c] = mean[c]! + features[i * dim + c]!;
  for (let c = 0; c < dim; c++) mean[c] = mean[c]! / Math.max(1, count);
  const cov = new Float64Array(dim * dim);
  const step = Math.max(1, Math.floor(count / 100_000));
  for (let i = 0; i < count; i += step) {
    for (let a = 0; a < dim; a++) {
      const da = features[i * dim + a]! - mean[a]!;
      for (let b = a; b < dim; b++) cov[a * dim + b] = cov[a * dim + b]! + da * (features[i * dim + b]! - mean[b]!);
    }
  }
  for (let a = 0; a < dim; a++) for (let b = 0; b < a; b++) cov[a * dim + b] = cov[b * dim + a]!;
  const components: Float64Array[] = [];
  for (let k = 0; k < Math.min(3, dim); k++) {
    let v = Float64Array.from({ length: dim }, (_, c) => 1 + 0.1 * Math.sin(c + k));
    for (let it = 0; it < 100; it++) {
      const next = new Float64Array(dim);
      for (let a = 0; a < dim; a++) {
        let s = 0;
        for (let b = 0; b < dim; b++) s += cov[a * dim + b]! * v[b]!;
        next[a] = s;
      }
      for (const u of components) {
        let d = 0;
        for (let c = 0; c < dim; c++) d += next[c]! * u[c]!;
        for (let c = 0; c < dim; c++) next[c] = next[c]! - d * u[c]!;
      }
      const norm = Math.hypot(...next) || 1;
      v = next.map((x) => x / norm);
    }
    components.push(v);
  }
  const out = new Float32Array(count * 3);
  components.forEach((u, k) => {
    const proj = new Float32Array(count);
    for (let i = 0; i < count; i++) {
      let s = 0;
      for (let c = 0; c < dim; c++) s += (features[i * dim + c]! - mean[c]!) * u[c]!;
      proj[i] = s;
    }
    const sorted = proj.slice().sort();
    const lo = sorted[Math.floor(0.01 * (count - 1))]!;
    const hi = sorted[Math.floor(0.99 * (count - 1))]!;
    const range = hi - lo || 1;
    for (let i = 0; i < count; i++) out[i * 3 + k] = Math.max(0, Math.min(1, (proj[i]! - lo) / range));
  });
  return out;
}
