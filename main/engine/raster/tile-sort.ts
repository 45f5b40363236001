/**
 * Sorting tile entries on the CPU: an LSD radix sort of (tile, depth bits, Gaussian) keys.
 * On CPU WebGPU implementations (lavapipe, SwiftShader) this is several times faster than the
 * bitonic sort's dozens of dispatches; on real GPUs the rasterizer keeps the GPU sort.
 * Entries arrive in Gaussian order and the sort is stable, so ties in (tile, depth) go by Gaussian
 * index, exactly like the GPU sort's third key.
 */

const DIGIT_BITS = 11;
const RADIX = 1 << DIGIT_BITS;

/** Gives the host's event loop a turn between passes (Dawn must not see a blocked loop for long). */
export type YieldFn = () => Promise<void>;

/**
 * Sorts `count` entries of `keys` (4 u32 per entry: tile, depth bits, Gaussian, 0) ascending by
 * (tile, depth) and returns them as a new array of the same layout.
 */
export async function sortTileKeys(keys: Uint32Array, count: number, tileCount: number, yieldFn?: YieldFn): Promise<Uint32Array<ArrayBuffer>> {
  // Keys travel with the permutation (reads stay sequential; random reads through an index array
  // were 20x slower here).
  let tile = new Uint32Array(count);
  let depth = new Uint32Array(count);
  let gaussian = new Uint32Array(count);
  for (let i = 0; i < count; i++) {
    tile[i] = keys[i * 4]!;
    depth[i] = keys[i * 4 + 1]!;
    gaussian[i] = keys[i * 4 + 2]!;
  }
  let tile2 = new Uint32Array(count);
  let depth2 = new Uint32Array(count);
  let gaussian2 = new Uint32Array(count);
  const histogram = new Uint32Array(RADIX);
  const tileBits = Math.max(1, Math.ceil(Math.log2(Math.max(2, tileCount))));
  // Passes from least to most significant: depth bits 0-10, 11-21, 22-31, then the tile.
  const passes: { onTile: boolean; shift: number; bits: number }[] = [
    { onTile: false, shift: 0, bits: 11 },
    { onTile: false, shift: 11, bits: 11 },
    { onTile: false, shift: 22, bits: 10 },
  ];
  for (let shift = 0; shift < tileBits; shift += DIGIT_BITS) passes.push({ onTile: true, shift, bits: Math.min(DIGIT_BITS, tileBits - shift) });
  for (const { onTile, shift, bits } of passes) {
    const mask = (1 << bits) - 1;
    const source = onTile ? tile : depth;
    histogram.fill(0);
    for (let i = 0; i < count; i++) histogram[(source[i]! >>> shift) & mask]!++;
    let sum = 0;
    for (let d = 0; d <= mask; d++) {
      const c = histogram[d]!;
      histogram[d] = sum;
      sum += c;
    }
    for (let i = 0; i < count; i++) {
      const at = histogram[(source[i]! >>> shift) & mask]!++;
      tile2[at] = tile[i]!;
      depth2[at] = depth[i]!;
      gaussian2[at] = gaussian[i]!;
    }
    [tile, tile2] = [tile2, tile];
    [depth, depth2] = [depth2, depth];
    [gaussian, gaussian2] = [gaussian2, gaussian];
    if (yieldFn && count > 1_000_000) await yieldFn();
  }
  const out = new Uint32Array(count * 4);
  for (let i = 0; i < count; i++) {
    out[i * 4] = tile[i]!;
    out[i * 4 + 1] = depth[i]!;
    out[i * 4 + 2] = gaussian[i]!;
  }
  return out;
}
