// Adam on the per-Gaussian features, in place on the GPU (SAGA trains only the features; geometry is
// frozen). Elementwise over the feature layout, so padding stays zero (its gradient is zero).
// One invocation per vec4 (the layout is whole vec4 groups): on lavapipe each storage access at a
// per-lane address has a per-lane cost, so 4 floats per access is cheaper than 1.

struct Params {
  lr: f32,
  beta1: f32,
  beta2: f32,
  eps: f32,
  correction1: f32,   // 1 - beta1^t
  correction2: f32,   // 1 - beta2^t
  count: u32,         // vec4 groups in the buffers
  rowThreads: u32,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read_write> features: array<vec4<f32>>;
@group(0) @binding(2) var<storage, read> gradients: array<vec4<f32>>;
@group(0) @binding(3) var<storage, read_write> moment1: array<vec4<f32>>;
@group(0) @binding(4) var<storage, read_write> moment2: array<vec4<f32>>;

@compute @workgroup_size(256)
fn adamStep(@builtin(global_invocation_id) gid: vec3<u32>) {
  let i = gid.x + gid.y * params.rowThreads;
  if (i >= params.count) { return; }
  let g = gradients[i];
  // Lazy, as the CPU kernel (feature-gather.wat): a vec4 the step's pixels did not reach keeps its
  // value and moments.
  if (all(g == vec4<f32>(0.0))) { return; }
  let m = params.beta1 * moment1[i] + (1.0 - params.beta1) * g;
  let v = params.beta2 * moment2[i] + (1.0 - params.beta2) * g * g;
  moment1[i] = m;
  moment2[i] = v;
  // torch's update with the bias corrections folded into scalars: one division per vec4, not three.
  let step = params.lr / params.correction1;
  features[i] = features[i] - step * m / (sqrt(v * (1.0 / params.correction2)) + params.eps);
}
