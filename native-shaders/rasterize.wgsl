// Front-to-back blending per 16x16 tile (one workgroup per tile, one thread per pixel), 3DGS style.
//  - `rasterize` blends a vec4 payload per Gaussian (colour + depth, or 4 feature channels) and
//    writes, per pixel, the blended payload, the final transmittance and the contribution count.
//  - `collect` re-runs the same blend and writes every (Gaussian, weight) contribution into the
//    pixel's slice of a list (training cache), counting contributions per Gaussian as well.
// Pixel (x, y) is sampled at (x + 0.5, y + 0.5); see main/engine/raster/reference.ts. The host
// prepends blend.wgsl (ALPHA_MIN, ALPHA_MAX, T_MIN, conicPower, blendAlpha).

struct Params {
  size: vec4<u32>,    // width, height, tilesX, tilesY
  band: vec4<u32>,    // first pixel, end pixel (collect: the band written); payload stride, offset (rasterize)
  window: vec4<u32>,  // first sorted entry bound to sortedIds, first tile row of this dispatch
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> ranges: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read> sortedIds: array<u32>;   // Gaussian of each sorted tile entry
@group(0) @binding(3) var<storage, read> projMean: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read> projConic: array<vec4<f32>>;
// rasterize only
@group(0) @binding(5) var<storage, read> payload: array<vec4<f32>>;
@group(0) @binding(6) var<storage, read_write> outPayload: array<vec4<f32>>;
@group(0) @binding(7) var<storage, read_write> outTransmittance: array<f32>;
@group(0) @binding(8) var<storage, read_write> outCount: array<u32>;
// collect only
@group(0) @binding(9) var<storage, read> pixelOffsets: array<u32>;        // per pixel in band, relative
@group(0) @binding(10) var<storage, read_write> entries: array<vec2<u32>>; // Gaussian, weight bits
@group(0) @binding(11) var<storage, read_write> gaussianCounts: array<atomic<u32>>;

// No workgroup staging: on CPU implementations (lavapipe, SwiftShader) "shared" memory is just
// memory and barriers are expensive, while the tile's list stays hot in the CPU caches because all
// pixels of a tile read it. Each invocation walks its tile's list and stops on its own.

@compute @workgroup_size(16, 16)
fn rasterize(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let px = wid.x * 16u + lid3.x;
  let tileY = wid.y + params.window.y;
  let py = tileY * 16u + lid3.y;
  if (px >= params.size.x || py >= params.size.y) { return; }
  let range = ranges[tileY * params.size.z + wid.x];
  let sample = vec2<f32>(f32(px) + 0.5, f32(py) + 0.5);
  var T = 1.0;
  var acc = vec4<f32>(0.0);
  var count = 0u;
  for (var k = range.x; k < range.y; k++) {
    let g = sortedIds[k - params.window.x];
    let alpha = blendAlpha(projMean[g], projConic[g], sample);
    if (alpha <= 0.0) { continue; }
    let nextT = T * (1.0 - alpha);
    if (nextT < T_MIN) { break; }
    acc += (alpha * T) * payload[g * params.band.z + params.band.w];
    count++;
    T = nextT;
  }
  let p = py * params.size.x + px;
  outPayload[p * params.band.z + params.band.w] = acc;
  outTransmittance[p] = T;
  outCount[p] = count;
}

@compute @workgroup_size(16, 16)
fn collect(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>) {
  let px = wid.x * 16u + lid3.x;
  let tileY = wid.y + params.window.y;
  let py = tileY * 16u + lid3.y;
  let p = py * params.size.x + px;
  if (px >= params.size.x || py >= params.size.y || p < params.band.x || p >= params.band.y) { return; }
  let range = ranges[tileY * params.size.z + wid.x];
  let sample = vec2<f32>(f32(px) + 0.5, f32(py) + 0.5);
  var T = 1.0;
  var slot = pixelOffsets[p - params.band.x];
  for (var k = range.x; k < range.y; k++) {
    let g = sortedIds[k - params.window.x];
    let alpha = blendAlpha(projMean[g], projConic[g], sample);
    if (alpha <= 0.0) { continue; }
    let nextT = T * (1.0 - alpha);
    if (nextT < T_MIN) { break; }
    entries[slot] = vec2<u32>(g, bitcast<u32>(alpha * T));
    atomicAdd(&gaussianCounts[g], 1u);
    slot++;
    T = nextT;
  }
}
