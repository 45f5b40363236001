import { describe, expect, it } from 'vitest';
import { featureDisplayColors } from './splat-colors.ts';

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
