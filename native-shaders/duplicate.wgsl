// Writes one sort entry per (tile, Gaussian) overlap: key (tile, depth bits), value Gaussian index.
// Depths are > 0, so their IEEE bits order like the values.

struct Params {
  size: vec4<u32>,    // width, height, tilesX, tilesY
  count: vec4<u32>,   // Gaussians, sort length (padded), 0, 0
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> projMean: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> projConic: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read> tilesTouched: array<u32>;
@group(0) @binding(4) var<storage, read> offsets: array<u32>;   // exclusive prefix sum of tilesTouched
@group(0) @binding(5) var<storage, read_write> keys: array<vec4<u32>>; // tile, depth bits, Gaussian, 0

const TILE: f32 = 16.0;

fn tileRect(u: f32, v: f32, radius: f32) -> vec4<u32> {
  let tiles = vec2<f32>(f32(params.size.z), f32(params.size.w));
  let lo = clamp(floor((vec2<f32>(u, v) - radius) / TILE), vec2<f32>(0.0), tiles);
  let hi = clamp(ceil((vec2<f32>(u, v) + radius) / TILE), vec2<f32>(0.0), tiles);
  return vec4<u32>(u32(lo.x), u32(lo.y), u32(hi.x), u32(hi.y));
}

@compute @workgroup_size(256)
fn duplicate(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= params.count.x) { return; }
  if (tilesTouched[i] == 0u) { return; }
  let m = projMean[i];
  let rect = tileRect(m.x, m.y, projConic[i].w);
  var o = offsets[i];
  let depthBits = bitcast<u32>(m.z);
  for (var ty = rect.y; ty < rect.w; ty++) {
    for (var tx = rect.x; tx < rect.z; tx++) {
      keys[o] = vec4<u32>(ty * params.size.z + tx, depthBits, i, 0u);
      o++;
    }
  }
}

// Per-tile [start, end) ranges in the sorted entries.
@group(0) @binding(6) var<storage, read_write> ranges: array<vec2<u32>>;

@compute @workgroup_size(256)
fn tileRanges(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  let total = params.count.y;
  if (i >= total) { return; }
  let tile = keys[i].x;
  if (i == 0u || keys[i - 1u].x != tile) { ranges[tile].x = i; }
  if (i + 1u == total || keys[i + 1u].x != tile) { ranges[tile].y = i + 1u; }
}

// Fills the padding after the real entries with keys that sort last.
@compute @workgroup_size(256)
fn padKeys(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = params.count.y + gid.x + gid.y * nwg.x * 256u;
  if (i >= arrayLength(&keys)) { return; }
  keys[i] = vec4<u32>(0xffffffffu, 0xffffffffu, 0xffffffffu, 0u);
}

// The Gaussian of each sorted entry, as the blend kernels read it (4 bytes per entry).
@group(0) @binding(7) var<storage, read_write> sortedIds: array<u32>;

@compute @workgroup_size(256)
fn extractIds(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let i = gid.x + gid.y * nwg.x * 256u;
  if (i >= params.count.y) { return; }
  sortedIds[i] = keys[i].z;
}
