// The per-Gaussian alpha of the front-to-back blend, shared by rasterize.wgsl (colour, collect) and
// rasterize-features.wgsl: the host prepends this file to both, so the rendered images and the
// cached training weights use the same arithmetic to the bit. Mirrors `blend` in
// main/engine/raster/reference.ts. Pixel (x, y) is sampled at (x + 0.5, y + 0.5).

// Alphas fade linearly to 0 over [ALPHA_MIN, 2 ALPHA_MIN] instead of a hard cut-off, so float32
// rounding of an alpha at 1/255 cannot drop a whole Gaussian (reference.ts, "Blend").
const ALPHA_MIN: f32 = 1.0 / 255.0;
const ALPHA_MAX: f32 = 0.99;
const T_MIN: f32 = 1e-4;

fn conicPower(m: vec4<f32>, c: vec4<f32>, sample: vec2<f32>) -> f32 {
  let d = m.xy - sample;
  return -0.5 * (c.x * d.x * d.x + c.z * d.y * d.y) - c.y * d.x * d.y;
}

// The alpha a Gaussian blends with at `sample`, or 0 when it is skipped: outside its ellipse's
// falloff (power > 0) or at most ALPHA_MIN.
fn blendAlpha(m: vec4<f32>, conic: vec4<f32>, sample: vec2<f32>) -> f32 {
  let power = conicPower(m, conic, sample);
  if (power > 0.0) { return 0.0; }
  let raw = min(ALPHA_MAX, m.w * exp(power));
  if (raw <= ALPHA_MIN) { return 0.0; }
  return raw * min(1.0, (raw - ALPHA_MIN) / ALPHA_MIN);
}
