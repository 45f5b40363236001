// Per-Gaussian projection (EWA splatting, 3DGS / gsplat conventions) and tile duplication.
// Conventions are documented in main/engine/raster/reference.ts, which these kernels must match.

struct View {
  r0: vec4<f32>,      // row 0 of R (xyz), t.x (w)
  r1: vec4<f32>,
  r2: vec4<f32>,
  focal: vec4<f32>,   // fx, fy, cx, cy
  eye: vec4<f32>,     // camera centre in world space
  size: vec4<u32>,    // width, height, tilesX, tilesY
  chunk: vec4<u32>,   // first Gaussian of this chunk, Gaussians in chunk, SH degree used, SH rest per channel
}

@group(0) @binding(0) var<uniform> view: View;
// 14 floats per Gaussian: position xyz, log-scale xyz, quaternion wxyz, opacity logit, sh0 rgb.
@group(0) @binding(1) var<storage, read> gaussians: array<f32>;
@group(0) @binding(2) var<storage, read> shRest: array<f32>;
@group(0) @binding(3) var<storage, read_write> projMean: array<vec4<f32>>;   // u, v, depth, opacity
@group(0) @binding(4) var<storage, read_write> projConic: array<vec4<f32>>;  // conic a, b, c, radius
@group(0) @binding(5) var<storage, read_write> projColor: array<vec4<f32>>;  // r, g, b, depth
@group(0) @binding(6) var<storage, read_write> tilesTouched: array<u32>;

const TILE: f32 = 16.0;
const NEAR: f32 = 0.2;
const LOW_PASS: f32 = 0.3;

const SH_C0: f32 = 0.28209479177387814;
const SH_C1: f32 = 0.4886025119029199;

fn tileRect(u: f32, v: f32, radius: f32) -> vec4<u32> {
  let tiles = vec2<f32>(f32(view.size.z), f32(view.size.w));
  let lo = clamp(floor((vec2<f32>(u, v) - radius) / TILE), vec2<f32>(0.0), tiles);
  let hi = clamp(ceil((vec2<f32>(u, v) + radius) / TILE), vec2<f32>(0.0), tiles);
  return vec4<u32>(u32(lo.x), u32(lo.y), u32(hi.x), u32(hi.y));
}

fn shColor(local: u32, dir: vec3<f32>, sh0: vec3<f32>) -> vec3<f32> {
  var c = SH_C0 * sh0 + vec3<f32>(0.5);
  let degree = view.chunk.z;
  let per = view.chunk.w;
  if (degree == 0u) { return max(c, vec3<f32>(0.0)); }
  let x = dir.x; let y = dir.y; let z = dir.z;
  var basis: array<f32, 15>;
  basis[0] = -SH_C1 * y; basis[1] = SH_C1 * z; basis[2] = -SH_C1 * x;
  var used = 3u;
  if (degree >= 2u) {
    let xx = x * x; let yy = y * y; let zz = z * z;
    basis[3] = 1.0925484305920792 * x * y;
    basis[4] = -1.0925484305920792 * y * z;
    basis[5] = 0.31539156525252005 * (2.0 * zz - xx - yy);
    basis[6] = -1.0925484305920792 * x * z;
    basis[7] = 0.5462742152960396 * (xx - yy);
    used = 8u;
    if (degree >= 3u) {
      basis[8] = -0.5900435899266435 * y * (3.0 * xx - yy);
      basis[9] = 2.890611442640554 * x * y * z;
      basis[10] = -0.4570457994644658 * y * (4.0 * zz - xx - yy);
      basis[11] = 0.3731763325901154 * z * (2.0 * zz - 3.0 * xx - 3.0 * yy);
      basis[12] = -0.4570457994644658 * x * (4.0 * zz - xx - yy);
      basis[13] = 1.445305721320277 * z * (xx - yy);
      basis[14] = -0.5900435899266435 * x * (xx - 3.0 * yy);
      used = 15u;
    }
  }
  let base = local * 3u * per;
  for (var k = 0u; k < used; k++) {
    c += basis[k] * vec3<f32>(shRest[base + k], shRest[base + per + k], shRest[base + 2u * per + k]);
  }
  return max(c, vec3<f32>(0.0));
}

@compute @workgroup_size(256)
fn project(@builtin(global_invocation_id) gid: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>) {
  let local = gid.x + gid.y * nwg.x * 256u;
  if (local >= view.chunk.y) { return; }
  let i = view.chunk.x + local;
  tilesTouched[i] = 0u;
  let b = local * 14u;
  let p = vec3<f32>(gaussians[b], gaussians[b + 1u], gaussians[b + 2u]);
  let x = dot(view.r0.xyz, p) + view.r0.w;
  let y = dot(view.r1.xyz, p) + view.r1.w;
  let z = dot(view.r2.xyz, p) + view.r2.w;
  if (!(z > NEAR)) { return; }
  var q = vec4<f32>(gaussians[b + 6u], gaussians[b + 7u], gaussians[b + 8u], gaussians[b + 9u]);
  let qn = length(q);
  if (qn > 0.0) { q = q / qn; } else { q = vec4<f32>(1.0, 0.0, 0.0, 0.0); }
  let qw = q.x; let qx = q.y; let qy = q.z; let qz = q.w;
  let s = exp(vec3<f32>(gaussians[b + 3u], gaussians[b + 4u], gaussians[b + 5u]));
  // Rows of the rotation matrix times the scales (M = R diag(s)).
  let m0 = vec3<f32>(1.0 - 2.0 * (qy * qy + qz * qz), 2.0 * (qx * qy - qw * qz), 2.0 * (qx * qz + qw * qy)) * s;
  let m1 = vec3<f32>(2.0 * (qx * qy + qw * qz), 1.0 - 2.0 * (qx * qx + qz * qz), 2.0 * (qy * qz - qw * qx)) * s;
  let m2 = vec3<f32>(2.0 * (qx * qz - qw * qy), 2.0 * (qy * qz + qw * qx), 1.0 - 2.0 * (qx * qx + qy * qy)) * s;
  let s00 = dot(m0, m0); let s01 = dot(m0, m1); let s02 = dot(m0, m2);
  let s11 = dot(m1, m1); let s12 = dot(m1, m2); let s22 = dot(m2, m2);

  let fx = view.focal.x; let fy = view.focal.y; let cx = view.focal.z; let cy = view.focal.w;
  let width = f32(view.size.x); let height = f32(view.size.y);
  let tanX = 0.5 * width / fx;
  let tanY = 0.5 * height / fy;
  let limXPos = (width - cx) / fx + 0.3 * tanX;
  let limXNeg = cx / fx + 0.3 * tanX;
  let limYPos = (height - cy) / fy + 0.3 * tanY;
  let limYNeg = cy / fy + 0.3 * tanY;
  let tx = z * min(limXPos, max(-limXNeg, x / z));
  let ty = z * min(limYPos, max(-limYNeg, y / z));
  let j00 = fx / z; let j02 = -(fx * tx) / (z * z);
  let j11 = fy / z; let j12 = -(fy * ty) / (z * z);
  let t0 = j00 * view.r0.xyz + j02 * view.r2.xyz;
  let t1 = j11 * view.r1.xyz + j12 * view.r2.xyz;
  let a = vec3<f32>(dot(t0, vec3<f32>(s00, s01, s02)), dot(t0, vec3<f32>(s01, s11, s12)), dot(t0, vec3<f32>(s02, s12, s22)));
  let bb = vec3<f32>(dot(t1, vec3<f32>(s00, s01, s02)), dot(t1, vec3<f32>(s01, s11, s12)), dot(t1, vec3<f32>(s02, s12, s22)));
  let covA = dot(a, t0) + LOW_PASS;
  let covB = dot(a, t1);
  let covC = dot(bb, t1) + LOW_PASS;
  let det = covA * covC - covB * covB;
  if (!(det > 0.0)) { return; }
  let mid = 0.5 * (covA + covC);
  let lambda = mid + sqrt(max(0.1, mid * mid - det));
  let radius = ceil(3.0 * sqrt(lambda));
  let u = fx * x / z + cx;
  let v = fy * y / z + cy;
  let rect = tileRect(u, v, radius);
  if (rect.z <= rect.x || rect.w <= rect.y) { return; }
  let opacity = 1.0 / (1.0 + exp(-gaussians[b + 10u]));
  projMean[i] = vec4<f32>(u, v, z, opacity);
  projConic[i] = vec4<f32>(covC / det, -covB / det, covA / det, radius);
  let dir = normalize(p - view.eye.xyz);
  let color = shColor(local, dir, vec3<f32>(gaussians[b + 11u], gaussians[b + 12u], gaussians[b + 13u]));
  projColor[i] = vec4<f32>(color, z);
  tilesTouched[i] = (rect.z - rect.x) * (rect.w - rect.y);
}
