/**
 * Writing per-splat colours into the splat library's centre-and-colour texture, as pure functions on
 * its data (the viewport uploads the rows they report). @mkkellogg/gaussian-splats-3d keeps, per
 * splat, one RGBA32UI texel: the colour packed into the first uint (r | g << 8 | b << 16 | a << 24,
 * its rgbaArrayToInteger) and the centre's three floats as bits in the other three. Texel i is
 * splat i, rows of `rowTexels` texels. So a recolour rewrites one uint per splat and re-uploads
 * only the rows it touched, never the scene.
 */

/** Uint32 elements per splat in the texture data (one RGBA32UI texel). */
export const TEXEL_ELEMENTS = 4;

/** A span of texture data elements to upload, within one texture row (three.js Texture.addUpdateRange). */
export interface UpdateRange {
  start: number;
  count: number;
}

/**
 * Writes `colors` (8-bit RGBA per splat) into `texels`, the texture's uint32 data holding `splats`
 * splats (the rest is padding). Without `indices`
 * the colours are for splats `first`, `first` + 1, ...; with them, colour k is for splat indices[k]
 * (any order). Returns the ranges to upload: per texture row touched, the span from its first to its
 * last touched splat (one upload call per row, whatever the pattern inside it).
 */
export function writeSplatColors(
  texels: Uint32Array,
  rowTexels: number,
  splats: number,
  colors: Uint8Array,
  target: { first: number } | { indices: Uint32Array },
): UpdateRange[] {
  const n = colors.length >> 2;
  if (colors.length !== n * 4) throw new RangeError(`Splat colours come as 4 bytes (RGBA) per splat; got ${colors.length} bytes.`);
  const capacity = Math.min(splats, texels.length / TEXEL_ELEMENTS);
  // Little-endian uint32 of RGBA bytes is exactly the library's packing: no per-channel shifts.
  const packed = colors.byteOffset % 4 === 0 ? new Uint32Array(colors.buffer, colors.byteOffset, n) : new Uint32Array(colors.slice().buffer);
  if ('indices' in target) {
    const { indices } = target;
    if (indices.length !== n) throw new RangeError(`${indices.length} splat indices for ${n} colours.`);
    const rows = new Map<number, { lo: number; hi: number }>();
    for (let k = 0; k < n; k++) {
      const i = indices[k]!;
      if (i >= capacity) throw new RangeError(`Splat ${i} is past the ${capacity} splats shown.`);
      texels[i * TEXEL_ELEMENTS] = packed[k]!;
      const row = Math.floor(i / rowTexels);
      const span = rows.get(row);
      if (!span) rows.set(row, { lo: i, hi: i });
      else if (i < span.lo) span.lo = i;
      else if (i > span.hi) span.hi = i;
    }
    return [...rows.values()].sort((a, b) => a.lo - b.lo).map(({ lo, hi }) => ({ start: lo * TEXEL_ELEMENTS, count: (hi - lo + 1) * TEXEL_ELEMENTS }));
  }
  const { first } = target;
  if (!Number.isInteger(first) || first < 0 || first + n > capacity) throw new RangeError(`Splats ${first} to ${first + n - 1} are not all among the ${capacity} splats shown.`);
  for (let k = 0; k < n; k++) texels[(first + k) * TEXEL_ELEMENTS] = packed[k]!;
  return rowSpans(first, first + n, rowTexels);
}

/** Splats [from, to) cut at texture row ends: one range per row. */
export function rowSpans(from: number, to: number, rowTexels: number): UpdateRange[] {
  const ranges: UpdateRange[] = [];
  for (let lo = from; lo < to; ) {
    const hi = Math.min(to, (Math.floor(lo / rowTexels) + 1) * rowTexels);
    ranges.push({ start: lo * TEXEL_ELEMENTS, count: (hi - lo) * TEXEL_ELEMENTS });
    lo = hi;
  }
  return ranges;
}

