// Feature maps straight from the tile lists (no cached weights): the blend of rasterize.wgsl with a
// payload of GPI vec4 channel groups per Gaussian, so one pass renders a whole block of channels
// (32 channels for GPI = 8) instead of re-blending per group. GPI is substituted by the host, which
// also prepends blend.wgsl.

const GPI: u32 = __GPI__u;

struct Params {
  size: vec4<u32>,    // width, height, tilesX, tilesY
  band: vec4<u32>,    // unused here (same layout as rasterize.wgsl)
  window: vec4<u32>,  // first sorted entry bound to sortedIds, first tile row of this dispatch
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> ranges: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read> sortedIds: array<u32>;   // Gaussian of each sorted tile entry
@group(0) @binding(3) var<storage, read> projMean: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> projConic: array<vec4<f32>>;
@group(0) @binding(5) var<storage, read> payload: array<vec4<f32>>;       // Gaussian * GPI + group
@group(0) @binding(6) var<storage, read_write> outPayload: array<vec4<f32>>; // pixel * GPI + group

@compute @workgroup_size(16, 16)
fn rasterizeFeatures(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let px = wid.x * 16u + lid3.x;
  let tileY = wid.y + params.window.y;
  let py = tileY * 16u + lid3.y;
  if (px >= params.size.x || py >= params.size.y) { return; }
  let range = ranges[tileY * params.size.z + wid.x];
  let sample = vec2<f32>(f32(px) + 0.5, f32(py) + 0.5);
  var T = 1.0;
  var acc: array<vec4<f32>, __GPI__>;
  for (var k = range.x; k < range.y; k++) {
    let g = sortedIds[k - params.window.x];
    let alpha = blendAlpha(projMean[g], projConic[g], sample);
    if (alpha <= 0.0) { continue; }
    let nextT = T * (1.0 - alpha);
    if (nextT < T_MIN) { break; }
    let w = alpha * T;
    for (var q = 0u; q < GPI; q++) { acc[q] += w * payload[g * GPI + q]; }
    T = nextT;
  }
  let p = py * params.size.x + px;
  for (var q = 0u; q < GPI; q++) { outPayload[p * GPI + q] = acc[q]; }
}
