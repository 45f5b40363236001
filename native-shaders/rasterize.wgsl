// Front-to-back blending per 16x16 tile (one workgroup per tile, one thread per pixel), 3DGS style:
// Gaussians of the tile are staged in workgroup memory 256 at a time.
//  - `rasterize` blends a vec4 payload per Gaussian (colour + depth, or 4 feature channels) and
//    writes, per pixel, the blended payload, the final transmittance and the contribution count.
//  - `collect` re-runs the same blend and writes every (Gaussian, weight) contribution into the
//    pixel's slice of a list (training cache), counting contributions per Gaussian as well.
// Pixel (x, y) is sampled at (x + 0.5, y + 0.5); see main/engine/raster/reference.ts.

struct Params {
  size: vec4<u32>,    // width, height, tilesX, tilesY
  band: vec4<u32>,    // first pixel, end pixel (collect: the band written), 0, 0
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> ranges: array<vec2<u32>>;
@group(0) @binding(2) var<storage, read> keys: array<vec4<u32>>;
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

const ALPHA_MIN: f32 = 1.0 / 255.0;
const ALPHA_MAX: f32 = 0.99;
const T_MIN: f32 = 1e-4;

var<workgroup> sharedId: array<u32, 256>;
var<workgroup> sharedMean: array<vec4<f32>, 256>;
var<workgroup> sharedConic: array<vec4<f32>, 256>;
var<workgroup> sharedPayload: array<vec4<f32>, 256>;
var<workgroup> doneCount: atomic<u32>;
var<workgroup> allDone: u32;

@compute @workgroup_size(16, 16)
fn rasterize(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>,
             @builtin(local_invocation_index) lid: u32) {
  let tile = wid.y * params.size.z + wid.x;
  let px = wid.x * 16u + lid3.x;
  let py = wid.y * 16u + lid3.y;
  let inside = px < params.size.x && py < params.size.y;
  let sample = vec2<f32>(f32(px) + 0.5, f32(py) + 0.5);
  let range = ranges[tile];
  var T = 1.0;
  var acc = vec4<f32>(0.0);
  var count = 0u;
  var done = !inside;
  if (lid == 0u) { atomicStore(&doneCount, 0u); }
  workgroupBarrier();
  if (done) { atomicAdd(&doneCount, 1u); }
  var start = range.x;
  loop {
    workgroupBarrier();
    if (lid == 0u) { allDone = atomicLoad(&doneCount); }
    let finished = workgroupUniformLoad(&allDone);
    if (start >= range.y || finished == 256u) { break; }
    let k = start + lid;
    if (k < range.y) {
      let g = keys[k].z;
      sharedId[lid] = g;
      sharedMean[lid] = projMean[g];
      sharedConic[lid] = projConic[g];
      sharedPayload[lid] = payload[g];
    }
    workgroupBarrier();
    let n = min(256u, range.y - start);
    if (!done) {
      for (var b = 0u; b < n; b++) {
        let m = sharedMean[b];
        let c = sharedConic[b];
        let d = m.xy - sample;
        let power = -0.5 * (c.x * d.x * d.x + c.z * d.y * d.y) - c.y * d.x * d.y;
        if (power > 0.0) { continue; }
        let alpha = min(ALPHA_MAX, m.w * exp(power));
        if (alpha < ALPHA_MIN) { continue; }
        let nextT = T * (1.0 - alpha);
        if (nextT < T_MIN) { done = true; break; }
        acc += (alpha * T) * sharedPayload[b];
        count++;
        T = nextT;
      }
      if (done) { atomicAdd(&doneCount, 1u); }
    }
    start += 256u;
  }
  if (inside) {
    let p = py * params.size.x + px;
    outPayload[p] = acc;
    outTransmittance[p] = T;
    outCount[p] = count;
  }
}

@compute @workgroup_size(16, 16)
fn collect(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_id) lid3: vec3<u32>,
           @builtin(local_invocation_index) lid: u32) {
  let tile = wid.y * params.size.z + wid.x;
  let px = wid.x * 16u + lid3.x;
  let py = wid.y * 16u + lid3.y;
  let p = py * params.size.x + px;
  let inside = px < params.size.x && py < params.size.y && p >= params.band.x && p < params.band.y;
  let sample = vec2<f32>(f32(px) + 0.5, f32(py) + 0.5);
  let range = ranges[tile];
  var T = 1.0;
  var done = !inside;
  var slot = 0u;
  if (inside) { slot = pixelOffsets[p - params.band.x]; }
  if (lid == 0u) { atomicStore(&doneCount, 0u); }
  workgroupBarrier();
  if (done) { atomicAdd(&doneCount, 1u); }
  var start = range.x;
  loop {
    workgroupBarrier();
    if (lid == 0u) { allDone = atomicLoad(&doneCount); }
    let finished = workgroupUniformLoad(&allDone);
    if (start >= range.y || finished == 256u) { break; }
    let k = start + lid;
    if (k < range.y) {
      let g = keys[k].z;
      sharedId[lid] = g;
      sharedMean[lid] = projMean[g];
      sharedConic[lid] = projConic[g];
    }
    workgroupBarrier();
    let n = min(256u, range.y - start);
    if (!done) {
      for (var b = 0u; b < n; b++) {
        let m = sharedMean[b];
        let c = sharedConic[b];
        let d = m.xy - sample;
        let power = -0.5 * (c.x * d.x * d.x + c.z * d.y * d.y) - c.y * d.x * d.y;
        if (power > 0.0) { continue; }
        let alpha = min(ALPHA_MAX, m.w * exp(power));
        if (alpha < ALPHA_MIN) { continue; }
        let nextT = T * (1.0 - alpha);
        if (nextT < T_MIN) { done = true; break; }
        let g = sharedId[b];
        entries[slot] = vec2<u32>(g, bitcast<u32>(alpha * T));
        atomicAdd(&gaussianCounts[g], 1u);
        slot++;
        T = nextT;
      }
      if (done) { atomicAdd(&doneCount, 1u); }
    }
    start += 256u;
  }
}
