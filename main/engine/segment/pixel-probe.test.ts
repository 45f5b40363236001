import { describe, expect, it } from 'vitest';
import { sharedScene, SCENES } from '../../../e2e/fixtures.ts';
import { Mulberry32 } from '../../common/random.ts';
import { orbitCamera } from '../raster/orbit.ts';
import { renderReference, scaleCamera } from '../raster/reference.ts';
import { randomFeatures, readInriaPlyForTest } from '../raster/test-scenes.ts';
import { PixelProbe } from './pixel-probe.ts';

describe('pixel probe (features at a few pixels)', () => {
  it('equals the reference render at every requested pixel, in any order and with repeats', () => {
    const scene = readInriaPlyForTest(sharedScene(SCENES.inria));
    const C = 8;
    const features = randomFeatures(scene.count, C, 3);
    const probe = new PixelProbe(scene);
    for (const i of [0, 4]) {
      const camera = scaleCamera(orbitCamera(scene, i, 8, { width: 640, height: 480 }), 64, 48);
      const ref = renderReference(scene, camera, { features, featureDim: C });
      const r = new Mulberry32(i + 1);
      const pixels = [...Array.from({ length: 40 }, () => r.below(64 * 48)), 0, 64 * 48 - 1, 100, 100];
      const out = probe.render(camera, pixels, features, C, { contributions: true });
      pixels.forEach((p, j) => {
        for (let c = 0; c < C; c++) expect(out.features[j * C + c]).toBeCloseTo(ref.features![p * C + c]!, 5);
        expect(out.alpha[j]).toBeCloseTo(ref.alpha[p]!, 5);
        const w = out.contributions![j]!.weights.reduce((a, b) => a + b, 0);
        expect(w).toBeCloseTo(ref.alpha[p]!, 5);
      });
    }
  });
});
