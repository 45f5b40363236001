import { describe, expect, it } from 'vitest';
import { rowSpans, TEXEL_ELEMENTS, writeSplatColors } from './splat-texture.ts';

/** A texture of `rows` rows of `width` texels, each texel's centre words set so overwrites show. */
function texture(width: number, rows: number): Uint32Array {
  const t = new Uint32Array(width * rows * TEXEL_ELEMENTS);
  for (let i = 0; i < width * rows; i++) t.fill(0xc0ffee, i * TEXEL_ELEMENTS + 1, i * TEXEL_ELEMENTS + 4);
  return t;
}
const colourAt = (t: Uint32Array, i: number) => {
  const v = t[i * TEXEL_ELEMENTS]!;
  return [v & 255, (v >>> 8) & 255, (v >>> 16) & 255, v >>> 24];
};

describe('writing splat colours into the library texture', () => {
  it("packs RGBA as the library's rgbaArrayToInteger does and leaves the centres alone", () => {
    const t = texture(4, 2);
    const colors = Uint8Array.of(1, 2, 3, 4, 250, 251, 252, 253);
    writeSplatColors(t, 4, 8, colors, { first: 3 });
    expect(t[3 * TEXEL_ELEMENTS]).toBe(1 + (2 << 8) + (3 << 16) + 4 * 2 ** 24);
    expect(colourAt(t, 4)).toEqual([250, 251, 252, 253]);
    for (let i = 0; i < 8; i++) expect(Array.from(t.subarray(i * 4 + 1, i * 4 + 4))).toEqual([0xc0ffee, 0xc0ffee, 0xc0ffee]);
    expect(t[0]).toBe(0);
  });

  it('reports one upload range per texture row touched', () => {
    const t = texture(4, 3);
    // Splats 3..8 of rows of 4: the end of row 0, all of row 1, the start of row 2.
    const ranges = writeSplatColors(t, 4, 12, new Uint8Array(6 * 4).fill(9), { first: 3 });
    expect(ranges).toEqual([{ start: 12, count: 4 }, { start: 16, count: 16 }, { start: 32, count: 4 }]);
    expect(rowSpans(0, 12, 4)).toHaveLength(3);
  });

  it('writes scattered splats by index, spanning each touched row from its first to its last', () => {
    const t = texture(4, 3);
    const indices = Uint32Array.of(9, 1, 2, 11);
    const colors = new Uint8Array(16);
    indices.forEach((_, k) => colors.fill(10 + k, k * 4, k * 4 + 4));
    const ranges = writeSplatColors(t, 4, 12, colors, { indices });
    expect(colourAt(t, 9)).toEqual([10, 10, 10, 10]);
    expect(colourAt(t, 1)).toEqual([11, 11, 11, 11]);
    expect(colourAt(t, 11)).toEqual([13, 13, 13, 13]);
    expect(ranges).toEqual([{ start: 4, count: 8 }, { start: 36, count: 12 }]);
  });

  it('reads colours at any byte offset, and refuses splats the scene does not have', () => {
    const t = texture(4, 2);
    const bytes = new Uint8Array(9);
    bytes.set([7, 8, 9, 10], 1);
    writeSplatColors(t, 4, 8, bytes.subarray(1, 5), { first: 0 });
    expect(colourAt(t, 0)).toEqual([7, 8, 9, 10]);
    expect(() => writeSplatColors(t, 4, 6, new Uint8Array(8), { first: 5 })).toThrow(RangeError);
    expect(() => writeSplatColors(t, 4, 6, new Uint8Array(4), { indices: Uint32Array.of(6) })).toThrow(/past the 6/);
    expect(() => writeSplatColors(t, 4, 6, new Uint8Array(6), { first: 0 })).toThrow(/4 bytes/);
  });
});
