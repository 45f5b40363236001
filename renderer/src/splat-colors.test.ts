import { describe, expect, it } from 'vitest';
import { DISPLAY_DELETED, DISPLAY_SELECTED, DISPLAY_SHOWN } from '../../main/contract/display-state.ts';
import { SELECTION_TINT, composeSplatColors, featureDisplayColors, layerTints, type EditLook } from './splat-colors.ts';

describe('Features display colours', () => {
  it("take each splat's feature colour and keep its own opacity", () => {
    const scene = Uint8Array.of(10, 20, 30, 255, 40, 50, 60, 7);
    const rgb = Uint8Array.of(200, 100, 0, 1, 2, 3);
    expect(Array.from(featureDisplayColors(scene, rgb))).toEqual([200, 100, 0, 255, 1, 2, 3, 7]);
  });

  it('refuse features for another number of splats', () => {
    expect(() => featureDisplayColors(new Uint8Array(8), new Uint8Array(9))).toThrow(/3 Gaussians, but the viewport shows 2/);
  });
});

describe('edit state on the splats', () => {
  const base = Uint8Array.of(100, 100, 100, 200, 0, 0, 0, 50, 255, 255, 255, 255, 10, 20, 30, 40);
  const look = (display: number[], layers: number[], tintLayers = true): EditLook => ({
    display: Uint8Array.from(display),
    layers: Uint16Array.from(layers),
    tints: layerTints([{ id: 2, colour: '#0000ff' }, { id: 3, colour: '#000000' }, { id: 4, colour: 'red' }]),
    tintLayers,
  });
  const S = DISPLAY_SHOWN;

  it('leaves shown splats without a layer or selection as they are, and hides the rest (alpha 0)', () => {
    const out = composeSplatColors(base, look([S, 0, DISPLAY_DELETED, S], [0, 0, 0, 0]));
    expect([...out]).toEqual([100, 100, 100, 200, 0, 0, 0, 0, 255, 255, 255, 0, 10, 20, 30, 40]);
  });

  it("pulls a layer's splats towards its colour (black too), keeping their opacity; unknown colours do not tint", () => {
    const out = composeSplatColors(base, look([S, S, S, S], [2, 3, 9, 4]));
    expect([...out.subarray(0, 4)]).toEqual([100 + ((0 - 100) * 110 >> 8), 100 + ((0 - 100) * 110 >> 8), 100 + ((255 - 100) * 110 >> 8), 200]);
    expect(out[2]).toBeGreaterThan(out[0]!);
    expect([...out.subarray(4, 8)]).toEqual([0, 0, 0, 50]);
    expect([...out.subarray(8, 12)]).toEqual([255, 255, 255, 255]);
    expect([...out.subarray(12, 16)]).toEqual([10, 20, 30, 40]);
  });

  it('tints the selection over the layer colour; without layer tints (Features mode) the selection still shows', () => {
    const sel = S | DISPLAY_SELECTED;
    const withLayers = composeSplatColors(base, look([sel, S, S, S], [2, 0, 0, 0]));
    const without = composeSplatColors(base, look([sel, S, S, S], [2, 0, 0, 0], false));
    const [tr, tg, tb] = SELECTION_TINT;
    expect([...without.subarray(0, 4)]).toEqual([100 + (((tr - 100) * 170) >> 8), 100 + (((tg - 100) * 170) >> 8), 100 + (((tb - 100) * 170) >> 8), 200]);
    expect(withLayers[2]).toBeGreaterThan(without[2]!);
    const plain = composeSplatColors(base, look([S, S, S, S], [2, 0, 0, 0], false));
    expect([...plain.subarray(0, 4)]).toEqual([100, 100, 100, 200]);
  });

  it('colours only the given splats, in the given order', () => {
    const all = composeSplatColors(base, look([S, 0, S | DISPLAY_SELECTED, S], [0, 0, 2, 0]));
    const some = composeSplatColors(base, look([S, 0, S | DISPLAY_SELECTED, S], [0, 0, 2, 0]), Uint32Array.of(2, 1));
    expect([...some]).toEqual([...all.subarray(8, 12), ...all.subarray(4, 8)]);
  });
});
