/**
 * A quality probe of trained features that needs no segmentation: the share of Gaussians whose
 * feature is closer, by cosine, to the mean (unit) feature of its own ground-truth object than to
 * the mean feature of any other object. Untrained random features score about 1 / objects.
 */
export function featureProbe(features: Float32Array, dim: number, objectIds: ArrayLike<number>): { share: number; objects: number } {
  const n = objectIds.length;
  const ids = [...new Set(Array.from(objectIds))].sort((a, b) => a - b);
  const slot = new Map(ids.map((id, i) => [id, i]));
  const means = new Float64Array(ids.length * dim);
  const unit = new Float32Array(n * dim);
  for (let g = 0; g < n; g++) {
    let norm = 0;
    for (let c = 0; c < dim; c++) norm += features[g * dim + c]! ** 2;
    const inv = 1 / Math.sqrt(norm + 1e-12);
    const o = slot.get(objectIds[g]!)! * dim;
    for (let c = 0; c < dim; c++) {
      const u = features[g * dim + c]! * inv;
      unit[g * dim + c] = u;
      means[o + c] = means[o + c]! + u;
    }
  }
  for (let k = 0; k < ids.length; k++) {
    let norm = 0;
    for (let c = 0; c < dim; c++) norm += means[k * dim + c]! ** 2;
    const inv = 1 / Math.sqrt(norm + 1e-24);
    for (let c = 0; c < dim; c++) means[k * dim + c]! *= inv;
  }
  let right = 0;
  for (let g = 0; g < n; g++) {
    const own = slot.get(objectIds[g]!)!;
    let best = -1;
    let bestScore = -Infinity;
    for (let k = 0; k < ids.length; k++) {
      let s = 0;
      for (let c = 0; c < dim; c++) s += unit[g * dim + c]! * means[k * dim + c]!;
      if (s > bestScore) {
        bestScore = s;
        best = k;
      }
    }
    if (best === own) right++;
  }
  return { share: n ? right / n : 0, objects: ids.length };
}
