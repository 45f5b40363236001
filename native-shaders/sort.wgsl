// Bitonic sort of (tile, depth bits, Gaussian) keys, ascending in that order. The Gaussian index is
// part of the key, so the result is fully deterministic (ties in depth go by index, as in the
// reference). The length is a power of two >= 512; padding keys are all-ones and sort last.
// Steps whose partner distance j < 512 run in workgroup memory (`local`), the others globally.

struct Step {
  k: u32,        // size of the bitonic sequences being merged; 0 = sort each 512-block fully
  j: u32,        // partner distance for the global step
  rowThreads: u32,
  pad: u32,
}

@group(0) @binding(0) var<uniform> step: Step;
@group(0) @binding(1) var<storage, read_write> keys: array<vec4<u32>>;

fn greater(a: vec4<u32>, b: vec4<u32>) -> bool {
  if (a.x != b.x) { return a.x > b.x; }
  if (a.y != b.y) { return a.y > b.y; }
  return a.z > b.z;
}

@compute @workgroup_size(256)
fn globalStep(@builtin(global_invocation_id) gid: vec3<u32>) {
  let t = gid.x + gid.y * step.rowThreads;
  // Thread t handles the pair (i, i + j) where i skips the upper halves of each 2j block.
  let j = step.j;
  let i = (t / j) * 2u * j + (t % j);
  let l = i + j;
  if (l >= arrayLength(&keys)) { return; }
  let a = keys[i];
  let b = keys[l];
  let ascending = (i & step.k) == 0u;
  if (greater(a, b) == ascending) {
    keys[i] = b;
    keys[l] = a;
  }
}

var<workgroup> block: array<vec4<u32>, 512>;

@compute @workgroup_size(256)
fn localSteps(@builtin(workgroup_id) wid: vec3<u32>, @builtin(local_invocation_index) lid: u32,
              @builtin(num_workgroups) nwg: vec3<u32>) {
  let base = (wid.x + wid.y * nwg.x) * 512u;
  if (base >= arrayLength(&keys)) { return; }
  block[lid] = keys[base + lid];
  block[lid + 256u] = keys[base + lid + 256u];
  workgroupBarrier();
  var kStart = step.k;
  var kEnd = step.k;
  if (step.k == 0u) { kStart = 2u; kEnd = 512u; }
  for (var k = kStart; k <= kEnd; k = k * 2u) {
    var j = min(k / 2u, 256u);
    loop {
      let i = (lid / j) * 2u * j + (lid % j);
      let l = i + j;
      let a = block[i];
      let b = block[l];
      let ascending = ((base + i) & k) == 0u;
      if (greater(a, b) == ascending) {
        block[i] = b;
        block[l] = a;
      }
      workgroupBarrier();
      if (j == 1u) { break; }
      j = j / 2u;
    }
  }
  keys[base + lid] = block[lid];
  keys[base + lid + 256u] = block[lid + 256u];
}
