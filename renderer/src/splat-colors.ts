/**
 * The colours the viewport draws splats with, worked out from the scene's own colours (8-bit RGBA
 * per splat, Viewport.sceneColors) as pure functions. Display modes and, later, per-splat edit state
 * (hidden, selected, layer colours) each become one function here; the viewport only uploads.
 */

/**
 * The Features display mode: each splat in its feature colour (8-bit RGB per splat, from
 * 'project.featureColors') with its own opacity, so faint splats stay faint and the scene keeps
 * its shape.
 */
export function featureDisplayColors(scene: Uint8Array, featureRgb: Uint8Array): Uint8Array {
  const n = scene.length >> 2;
  if (featureRgb.length !== n * 3) {
    throw new RangeError(`The trained features are for ${Math.floor(featureRgb.length / 3)} Gaussians, but the viewport shows ${n}.`);
  }
  const out = new Uint8Array(n * 4);
  for (let i = 0, j = 0, k = 0; i < n; i++, j += 3, k += 4) {
    out[k] = featureRgb[j]!;
    out[k + 1] = featureRgb[j + 1]!;
    out[k + 2] = featureRgb[j + 2]!;
    out[k + 3] = scene[k + 3]!;
  }
  return out;
}
