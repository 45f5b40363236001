/**
 * A k-d tree over Gaussian centres, built once per scene: k nearest neighbours (feature smoothing,
 * the statistical filter) and ball queries (region growing, ball-query growing) in SAGA's 3D
 * post-processing (the paper's section 3.5).
 *
 * Layout: a permutation of the points, split recursively at the median of the widest axis of each
 * node's bounding box, with nodes in an implicit array (node i's children are 2i+1 and 2i+2) and
 * leaves of at most LEAF points. Positions are copied in tree order so a leaf's points are
 * contiguous in memory. About 40 bytes per point.
 */

const LEAF = 16;

export interface SpatialIndex {
  readonly count: number;
  /** Tree order -> point index. */
  readonly order: Uint32Array;
  /** Positions in tree order (x, y, z). */
  readonly points: Float32Array;
  /** Per node: first and end position in tree order, split axis (-1 for a leaf), and bounds. */
  readonly start: Uint32Array;
  readonly end: Uint32Array;
  readonly axis: Int8Array;
  /** min x, y, z, max x, y, z per node. */
  readonly bounds: Float32Array;
}

/** Builds the tree over `positions` (x, y, z per point), optionally only the points where `include` is non-zero. */
export function buildSpatialIndex(positions: Float32Array, include?: Uint8Array): SpatialIndex {
  const n = positions.length / 3;
  let count = 0;
  for (let i = 0; i < n; i++) if (!include || include[i]) count++;
  const order = new Uint32Array(count);
  for (let i = 0, k = 0; i < n; i++) if (!include || include[i]) order[k++] = i;
  const leaves = Math.max(1, Math.ceil(count / LEAF));
  let nodes = 1;
  while (nodes < 2 * leaves) nodes *= 2;
  nodes = Math.max(1, nodes - 1);
  const start = new Uint32Array(nodes);
  const end = new Uint32Array(nodes);
  const axis = new Int8Array(nodes).fill(-2);
  const bounds = new Float32Array(nodes * 6);
  const keys = new Float32Array(count);
  // Iterative build: a stack of (node, from, to).
  const stack: number[] = [0, 0, count];
  while (stack.length) {
    const to = stack.pop()!;
    const from = stack.pop()!;
    const node = stack.pop()!;
    start[node] = from;
    end[node] = to;
    let x0 = Infinity, y0 = Infinity, z0 = Infinity, x1 = -Infinity, y1 = -Infinity, z1 = -Infinity;
    for (let k = from; k < to; k++) {
      const p = order[k]! * 3;
      const x = positions[p]!, y = positions[p + 1]!, z = positions[p + 2]!;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
      if (z < z0) z0 = z;
      if (z > z1) z1 = z;
    }
    bounds.set([x0, y0, z0, x1, y1, z1], node * 6);
    const left = 2 * node + 1;
    if (to - from <= LEAF || left + 1 >= nodes) {
      axis[node] = -1;
      continue;
    }
    const a = x1 - x0 >= y1 - y0 && x1 - x0 >= z1 - z0 ? 0 : y1 - y0 >= z1 - z0 ? 1 : 2;
    axis[node] = a;
    const mid = (from + to) >> 1;
    for (let k = from; k < to; k++) keys[k] = positions[order[k]! * 3 + a]!;
    select(order, keys, from, to - 1, mid);
    stack.push(left, from, mid, left + 1, mid, to);
  }
  const points = new Float32Array(count * 3);
  for (let k = 0; k < count; k++) {
    const p = order[k]! * 3;
    points[3 * k] = positions[p]!;
    points[3 * k + 1] = positions[p + 1]!;
    points[3 * k + 2] = positions[p + 2]!;
  }
  return { count, order, points, start, end, axis, bounds };
}

/** Quickselect on keys[from..to] (inclusive) carrying `order`, so that position k holds the k-th smallest. */
function select(order: Uint32Array, keys: Float32Array, from: number, to: number, k: number): void {
  let lo = from;
  let hi = to;
  while (hi > lo) {
    const pivot = keys[(lo + hi) >> 1]!;
    let i = lo;
    let j = hi;
    while (i <= j) {
      while (keys[i]! < pivot) i++;
      while (keys[j]! > pivot) j--;
      if (i <= j) {
        const tk = keys[i]!; keys[i] = keys[j]!; keys[j] = tk;
        const to2 = order[i]!; order[i] = order[j]!; order[j] = to2;
        i++;
        j--;
      }
    }
    if (k <= j) hi = j;
    else if (k >= i) lo = i;
    else return;
  }
}

/** Squared distance from (x, y, z) to node's box. */
function boxDistance2(index: SpatialIndex, node: number, x: number, y: number, z: number): number {
  const b = index.bounds;
  const o = node * 6;
  const dx = x < b[o]! ? b[o]! - x : x > b[o + 3]! ? x - b[o + 3]! : 0;
  const dy = y < b[o + 1]! ? b[o + 1]! - y : y > b[o + 4]! ? y - b[o + 4]! : 0;
  const dz = z < b[o + 2]! ? b[o + 2]! - z : z > b[o + 5]! ? z - b[o + 5]! : 0;
  return dx * dx + dy * dy + dz * dz;
}

/** Reusable buffers for k-nearest queries (one per thread of work). */
export class KnnQuery {
  /** The result of the last query: point indices and squared distances, nearest first. */
  readonly indices: Uint32Array;
  readonly distances2: Float32Array;
  found = 0;
  private readonly stack = new Int32Array(256);

  constructor(
    private readonly index: SpatialIndex,
    readonly k: number,
  ) {
    this.indices = new Uint32Array(k);
    this.distances2 = new Float32Array(k);
  }

  /** The k points nearest to (x, y, z) (fewer if the index holds fewer). */
  near(x: number, y: number, z: number): number {
    const { index, k, indices, distances2, stack } = this;
    let found = 0;
    let worst = Infinity;
    let top = 0;
    stack[top++] = 0;
    while (top > 0) {
      const node = stack[--top]!;
      if (node >= index.axis.length || index.axis[node] === -2) continue;
      if (found === k && boxDistance2(index, node, x, y, z) >= worst) continue;
      const a = index.axis[node]!;
      if (a === -1) {
        for (let t = index.start[node]!; t < index.end[node]!; t++) {
          const dx = index.points[3 * t]! - x;
          const dy = index.points[3 * t + 1]! - y;
          const dz = index.points[3 * t + 2]! - z;
          const d = dx * dx + dy * dy + dz * dz;
          if (found < k || d < worst) {
            // Insertion into the sorted result.
            let i = found < k ? found++ : k - 1;
            while (i > 0 && distances2[i - 1]! > d) {
              distances2[i] = distances2[i - 1]!;
              indices[i] = indices[i - 1]!;
              i--;
            }
            distances2[i] = d;
            indices[i] = index.order[t]!;
            if (found === k) worst = distances2[k - 1]!;
          }
        }
        continue;
      }
      // Visit the nearer child first (pushed last).
      const left = 2 * node + 1;
      const split = index.points[3 * index.start[left + 1]! + a];
      const q = a === 0 ? x : a === 1 ? y : z;
      if (split !== undefined && q >= split) {
        stack[top++] = left;
        stack[top++] = left + 1;
      } else {
        stack[top++] = left + 1;
        stack[top++] = left;
      }
    }
    this.found = found;
    return found;
  }
}

/**
 * Calls `visit(point)` for every indexed point within `radius` of (x, y, z) (inclusive). Returns
 * how many were visited.
 */
export function ballQuery(index: SpatialIndex, x: number, y: number, z: number, radius: number, visit: (point: number) => void, stack = new Int32Array(256)): number {
  const r2 = radius * radius;
  let top = 0;
  let visited = 0;
  stack[top++] = 0;
  while (top > 0) {
    const node = stack[--top]!;
    if (node >= index.axis.length || index.axis[node] === -2) continue;
    if (boxDistance2(index, node, x, y, z) > r2) continue;
    if (index.axis[node] === -1) {
      for (let t = index.start[node]!; t < index.end[node]!; t++) {
        const dx = index.points[3 * t]! - x;
        const dy = index.points[3 * t + 1]! - y;
        const dz = index.points[3 * t + 2]! - z;
        if (dx * dx + dy * dy + dz * dz <= r2) {
          visit(index.order[t]!);
          visited++;
        }
      }
      continue;
    }
    stack[top++] = 2 * node + 1;
    stack[top++] = 2 * node + 2;
  }
  return visited;
}

/** Bytes the index holds (for the memory budget). */
export function spatialIndexBytes(index: SpatialIndex): number {
  return index.order.byteLength + index.points.byteLength + index.start.byteLength + index.end.byteLength + index.axis.byteLength + index.bounds.byteLength;
}
