/**
 * Tile binning on the CPU, for CPU WebGPU implementations (lavapipe, SwiftShader), where it is
 * several times faster than the bitonic sort's dozens of dispatches; real GPUs keep the GPU path.
 * The order matches the GPU sort's: by (tile, depth), ties by Gaussian index.
 */

const RADIX = 1 << 11;

/** Gives the host's event loop a turn between passes (Dawn must not see a blocked loop for long). */
export type YieldFn = () => Promise<void>;

/**
 * Tile binning on the CPU from the projected Gaussians (read back from the GPU): sorts the visible
 * Gaussians once by depth (stable radix on the float bits, so ties go by index), then fills each
 * tile's list in that order with a counting pass. Needs 4 bytes per tile entry instead of 16 and
 * no padding, which keeps large views within one storage binding.
 * `mean` holds u, v, depth, opacity and `conic` a, b, c, radius per Gaussian (4 floats each); the
 * tile rectangle is computed with the same float32 steps as tileRect() in the WGSL.
 */
export async function binTilesOnCpu(
  mean: Float32Array,
  conic: Float32Array,
  touched: Uint32Array,
  tilesX: number,
  tilesY: number,
  yieldFn?: YieldFn,
): Promise<{ ids: Uint32Array<ArrayBuffer>; ranges: Uint32Array<ArrayBuffer>; total: number }> {
  const n = touched.length;
  let visible = 0;
  for (let i = 0; i < n; i++) if (touched[i]! > 0) visible++;
  let order = new Uint32Array(visible);
  let depth = new Uint32Array(visible);
  const meanBits = new Uint32Array(mean.buffer, mean.byteOffset, mean.length);
  for (let i = 0, k = 0; i < n; i++) {
    if (touched[i]! > 0) {
      order[k] = i;
      depth[k++] = meanBits[i * 4 + 2]!;
    }
  }
  let order2 = new Uint32Array(visible);
  let depth2 = new Uint32Array(visible);
  const histogram = new Uint32Array(RADIX);
  for (const [shift, bits] of [[0, 11], [11, 11], [22, 10]] as const) {
    const mask = (1 << bits) - 1;
    histogram.fill(0);
    for (let i = 0; i < visible; i++) histogram[(depth[i]! >>> shift) & mask]!++;
    let sum = 0;
    for (let d = 0; d <= mask; d++) {
      const c = histogram[d]!;
      histogram[d] = sum;
      sum += c;
    }
    for (let i = 0; i < visible; i++) {
      const at = histogram[(depth[i]! >>> shift) & mask]!++;
      order2[at] = order[i]!;
      depth2[at] = depth[i]!;
    }
    [order, order2] = [order2, order];
    [depth, depth2] = [depth2, depth];
  }
  if (yieldFn && visible > 200_000) await yieldFn();
  const f = Math.fround;
  const rect = new Uint16Array(visible * 4);
  const tiles = tilesX * tilesY;
  const counts = new Uint32Array(tiles + 1);
  for (let k = 0; k < visible; k++) {
    const i = order[k]!;
    const u = mean[i * 4]!;
    const v = mean[i * 4 + 1]!;
    const r = conic[i * 4 + 3]!;
    const x0 = Math.min(tilesX, Math.max(0, Math.floor(f(u - r) / 16)));
    const y0 = Math.min(tilesY, Math.max(0, Math.floor(f(v - r) / 16)));
    const x1 = Math.min(tilesX, Math.max(0, Math.ceil(f(u + r) / 16)));
    const y1 = Math.min(tilesY, Math.max(0, Math.ceil(f(v + r) / 16)));
    rect[k * 4] = x0; rect[k * 4 + 1] = y0; rect[k * 4 + 2] = x1; rect[k * 4 + 3] = y1;
    for (let ty = y0; ty < y1; ty++) for (let tx = x0; tx < x1; tx++) counts[ty * tilesX + tx]!++;
  }
  const ranges = new Uint32Array(tiles * 2);
  const cursor = new Uint32Array(tiles);
  let total = 0;
  for (let t = 0; t < tiles; t++) {
    ranges[t * 2] = total;
    cursor[t] = total;
    total += counts[t]!;
    ranges[t * 2 + 1] = total;
  }
  if (yieldFn && total > 2_000_000) await yieldFn();
  const ids = new Uint32Array(Math.max(1, total));
  for (let k = 0; k < visible; k++) {
    const i = order[k]!;
    const x0 = rect[k * 4]!, y0 = rect[k * 4 + 1]!, x1 = rect[k * 4 + 2]!, y1 = rect[k * 4 + 3]!;
    for (let ty = y0; ty < y1; ty++) for (let tx = x0; tx < x1; tx++) ids[cursor[ty * tilesX + tx]!++] = i;
  }
  return { ids, ranges, total };
}
