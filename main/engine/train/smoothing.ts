/**
 * Feature smoothing over spatial neighbours, as the official v2 code does when it renders and saves
 * features: each Gaussian's feature becomes the mean of the unit features of its k nearest
 * Gaussians (itself included). Gaussians that no view saw well keep features near their random
 * start; their neighbours' trained features replace that noise, and single outliers inside an
 * object are pulled back to it. Measured on the evaluation suite (README): the feature probe rises
 * from about 0.78 to 0.92 with k = 16.
 */
import { KnnQuery, type SpatialIndex } from '../post/spatial-index.ts';

export const SMOOTHING_NEIGHBOURS = 16;

/** Smoothed features (count x dim) from raw trained ones, over `index` (built on the scene's centres). */
export function smoothFeatures(features: Float32Array, dim: number, index: SpatialIndex, k = SMOOTHING_NEIGHBOURS): Float32Array {
  const n = features.length / dim;
  const unit = new Float32Array(features.length);
  for (let g = 0; g < n; g++) {
    let s = 0;
    for (let c = 0; c < dim; c++) s += features[g * dim + c]! ** 2;
    const inv = 1 / Math.sqrt(s + 1e-12);
    for (let c = 0; c < dim; c++) unit[g * dim + c] = features[g * dim + c]! * inv;
  }
  const out = new Float32Array(features.length);
  const query = new KnnQuery(index, k);
  // In tree order: consecutive queries touch the same leaves.
  for (let t = 0; t < index.count; t++) {
    const g = index.order[t]!;
    const found = query.near(index.points[3 * t]!, index.points[3 * t + 1]!, index.points[3 * t + 2]!);
    const o = g * dim;
    for (let j = 0; j < found; j++) {
      const h = query.indices[j]! * dim;
      for (let c = 0; c < dim; c++) out[o + c]! += unit[h + c]!;
    }
    for (let c = 0; c < dim; c++) out[o + c]! /= found;
  }
  return out;
}
