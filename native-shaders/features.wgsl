// The feature part of a training step on a cached view: weights (alpha * T) were collected once
// per view, so the forward and backward passes are plain gathers over those lists. Channels are
// stored in blocks of GPI vec4 groups per item (GPI = 8 holds 32 channels: plain row-major), and
// one invocation sums a whole block, so each list is walked once per block.
// GPI is substituted by the host before compiling (a private array needs a constant size).

const GPI: u32 = __GPI__u;

// Both are deterministic: each output is summed by one invocation in a
// fixed order over its list (see `transpose` for the one source of run-to-run variation).

struct Params {
  count: vec4<u32>,   // items (pixels in band, or Gaussians), rowThreads, accumulate (backward), 0
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> offsets: array<u32>;        // items + 1
@group(0) @binding(2) var<storage, read> entries: array<vec2<u32>>;  // index, weight bits
@group(0) @binding(3) var<storage, read> values: array<vec4<f32>>;   // one block: index * GPI + group
@group(0) @binding(4) var<storage, read_write> result: array<vec4<f32>>;

// The weighted sum over one item's list, a block of GPI vec4 groups: every gather's inner loop, so
// all of them add in the same order and agree to the bit.
fn weightedSum(item: u32) -> array<vec4<f32>, __GPI__> {
  var acc: array<vec4<f32>, __GPI__>;
  let end = offsets[item + 1u];
  for (var e = offsets[item]; e < end; e++) {
    let entry = entries[e];
    let w = bitcast<f32>(entry.y);
    let base = entry.x * GPI;
    for (var q = 0u; q < GPI; q++) { acc[q] += w * values[base + q]; }
  }
  return acc;
}

@compute @workgroup_size(64)
fn gather(@builtin(global_invocation_id) gid: vec3<u32>) {
  let item = gid.x + gid.y * params.count.y;
  if (item >= params.count.x) { return; }
  var acc = weightedSum(item);
  let out = item * GPI;
  if (params.count.z != 0u) {
    for (var q = 0u; q < GPI; q++) { acc[q] += result[out + q]; }
  }
  for (var q = 0u; q < GPI; q++) { result[out + q] = acc[q]; }
}

// Builds the per-Gaussian (transposed) lists from the per-pixel lists, one thread per pixel with a
// per-Gaussian cursor. The order inside a Gaussian's list depends on thread timing, so backward
// sums may differ in the last float bits between runs (about 1e-7 relative).
@group(0) @binding(5) var<storage, read> pixelOffsets: array<u32>;
@group(0) @binding(6) var<storage, read> pixelEntries: array<vec2<u32>>;
@group(0) @binding(7) var<storage, read_write> cursors: array<atomic<u32>>;
@group(0) @binding(8) var<storage, read_write> gaussianEntries: array<vec2<u32>>;

@compute @workgroup_size(64)
fn transpose(@builtin(global_invocation_id) gid: vec3<u32>) {
  let p = gid.x + gid.y * params.count.y;
  if (p >= params.count.x) { return; }
  let end = pixelOffsets[p + 1u];
  for (var e = pixelOffsets[p]; e < end; e++) {
    let entry = pixelEntries[e];
    let slot = atomicAdd(&cursors[entry.x], 1u);
    gaussianEntries[slot] = vec2<u32>(p, entry.y);
  }
}

// The same gather with one invocation per (item, channel): the SIMD lanes of a CPU implementation
// then share one list (no divergence between long and short lists) and read consecutive floats of
// one feature row. Used for the cached training path.
@group(0) @binding(9) var<storage, read> valuesFlat: array<f32>;
@group(0) @binding(10) var<storage, read_write> resultFlat: array<f32>;

@compute @workgroup_size(64)
fn gatherChannels(@builtin(global_invocation_id) gid: vec3<u32>) {
  let channels = GPI * 4u;
  let flat = gid.x + gid.y * params.count.y;
  let item = flat / channels;
  let lane = flat % channels;
  if (item >= params.count.x) { return; }
  var acc = 0.0;
  let end = offsets[item + 1u];
  for (var e = offsets[item]; e < end; e++) {
    let entry = entries[e];
    acc += bitcast<f32>(entry.y) * valuesFlat[entry.x * channels + lane];
  }
  let out = item * channels + lane;
  if (params.count.z != 0u) { acc += resultFlat[out]; }
  resultFlat[out] = acc;
}

// `gather` over a subset of items in a given order (backward: only Gaussians with contributions,
// longest lists first, so the SIMD lanes of a CPU implementation get lists of similar length).
// Always accumulates: the host clears the result first.
@group(0) @binding(11) var<storage, read> itemOrder: array<u32>;

@compute @workgroup_size(64)
fn gatherOrdered(@builtin(global_invocation_id) gid: vec3<u32>) {
  let k = gid.x + gid.y * params.count.y;
  if (k >= params.count.x) { return; }
  let item = itemOrder[k];
  var acc = weightedSum(item);
  let out = item * GPI;
  for (var q = 0u; q < GPI; q++) { result[out + q] += acc[q]; }
}

// `gatherOrdered` reading its values from an rgba32float texture instead of a storage buffer:
// lavapipe fetches a texel's 4 channels per lane in one go, where a storage load of a vec4 at a
// per-lane address costs a load per channel and lane (measured 1.4-1.9x faster on the backward
// gather). Texel of (item, group) = params.count.w + item * GPI + group, in rows of TEX_WIDTH
// texels (a multiple of GPI, so one item's groups share a row).
const TEX_WIDTH: u32 = 8192u;
@group(0) @binding(15) var valuesTexture: texture_2d<f32>;

// weightedSum with the values read from the texture.
fn weightedSumTexture(item: u32) -> array<vec4<f32>, __GPI__> {
  var acc: array<vec4<f32>, __GPI__>;
  let end = offsets[item + 1u];
  for (var e = offsets[item]; e < end; e++) {
    let entry = entries[e];
    let w = bitcast<f32>(entry.y);
    let texel = params.count.w + entry.x * GPI;
    let x = texel % TEX_WIDTH;
    let y = texel / TEX_WIDTH;
    for (var q = 0u; q < GPI; q++) { acc[q] += w * textureLoad(valuesTexture, vec2<u32>(x + q, y), 0); }
  }
  return acc;
}

@compute @workgroup_size(64)
fn gatherOrderedTexture(@builtin(global_invocation_id) gid: vec3<u32>) {
  let k = gid.x + gid.y * params.count.y;
  if (k >= params.count.x) { return; }
  let item = itemOrder[k];
  var acc = weightedSumTexture(item);
  let out = item * GPI;
  for (var q = 0u; q < GPI; q++) { result[out + q] += acc[q]; }
}

// `gather` (forward, per pixel) reading the features from the texture copy of the feature buffer
// (same texel layout as gatherOrderedTexture). Never accumulates.
@compute @workgroup_size(64)
fn gatherTexture(@builtin(global_invocation_id) gid: vec3<u32>) {
  let item = gid.x + gid.y * params.count.y;
  if (item >= params.count.x) { return; }
  var acc = weightedSumTexture(item);
  let out = item * GPI;
  for (var q = 0u; q < GPI; q++) { result[out + q] = acc[q]; }
}
