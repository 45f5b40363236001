import { describe, expect, it } from 'vitest';
import { sharedScene, SCENES } from '../../../e2e/fixtures.ts';
import { backwardReference, forEachContribution, renderReference } from './reference.ts';
import { orbitCamera } from './orbit.ts';
import { randomFeatures, readInriaPlyForTest, syntheticScene } from './test-scenes.ts';

describe('reference rasterizer', () => {
  const scene = readInriaPlyForTest(sharedScene(SCENES.inria));

  it('renders a real scene with coverage, colours in range and consistent contributions', () => {
    const camera = orbitCamera(scene, 0, 8, { width: 64, height: 48 });
    const out = renderReference(scene, camera, { background: [0, 0, 0] });
    let covered = 0;
    for (let p = 0; p < out.alpha.length; p++) if (out.alpha[p]! > 0.5) covered++;
    expect(covered).toBeGreaterThan(out.alpha.length * 0.2);
    // Alpha equals the sum of blending weights (1 - T = sum alpha_i T_i).
    const sumW = new Float64Array(64 * 48);
    forEachContribution(scene, camera, {}, (pixel, _g, w) => {
      sumW[pixel] = sumW[pixel]! + w;
    });
    let maxDiff = 0;
    for (let p = 0; p < sumW.length; p++) maxDiff = Math.max(maxDiff, Math.abs(sumW[p]! - out.alpha[p]!));
    expect(maxDiff).toBeLessThan(1e-5);
  });

  it('backward matches finite differences of the feature map', () => {
    const synth = syntheticScene(300, 3, 1);
    const camera = orbitCamera(synth, 1, 5, { width: 40, height: 30 });
    const C = 3;
    const features = randomFeatures(synth.count, C, 11);
    const grad = randomFeatures(40 * 30, C, 12);
    const opts = { features, featureDim: C };
    const g = backwardReference(synth, camera, opts, grad);
    const loss = (f: Float32Array) => {
      const out = renderReference(synth, camera, { features: f, featureDim: C });
      let s = 0;
      for (let k = 0; k < grad.length; k++) s += out.features![k]! * grad[k]!;
      return s;
    };
    let checked = 0;
    for (let i = 0; i < synth.count && checked < 6; i += 17) {
      if (Math.abs(g[i * C]!) < 1e-2) continue;
      const h = 1e-2;
      const fp = features.slice();
      fp[i * C] = features[i * C]! + h;
      const fm = features.slice();
      fm[i * C] = features[i * C]! - h;
      const fd = (loss(fp) - loss(fm)) / (2 * h);
      expect(Math.abs(fd - g[i * C]!) / Math.abs(fd)).toBeLessThan(1e-3);
      checked++;
    }
    expect(checked).toBeGreaterThan(2);
  });
});
