import { beforeAll, describe, expect, it } from 'vitest';
import { sharedScene, SCENES } from '../../../e2e/fixtures.ts';
import { Mulberry32 } from '../../common/random.ts';
import type { Camera } from '../../scene/camera.ts';
import type { GaussianScene } from '../../scene/gaussians.ts';
import { orbitCamera } from '../raster/orbit.ts';
import { forEachContribution, scaleCamera } from '../raster/reference.ts';
import { readInriaPlyForTest } from '../raster/test-scenes.ts';
import type { Mask2D } from './mask2d.ts';
import { PixelProbe } from './pixel-probe.ts';
import { viewThreshold } from './view-threshold.ts';

// Brute force: for every threshold that can give a different selection, render the selection's
// coverage from the reference rasterizer's blend (not the probe, not the critical-score sweep) and
// score it against the mask.

const W = 64;
const H = 48;

interface Blend {
  gaussians: number[][];
  weights: number[][];
  alpha: Float64Array;
}

function referenceBlend(scene: GaussianScene, camera: Camera): Blend {
  const gaussians: number[][] = Array.from({ length: W * H }, () => []);
  const weights: number[][] = Array.from({ length: W * H }, () => []);
  const alpha = new Float64Array(W * H);
  forEachContribution(scene, camera, {}, (pixel, g, w) => {
    gaussians[pixel]!.push(g);
    weights[pixel]!.push(w);
    alpha[pixel] = alpha[pixel]! + w;
  });
  return { gaussians, weights, alpha };
}

/**
 * Pixels covered by the Gaussians scoring above `threshold`: they carry at least half of the pixel's
 * blend. A pixel the scene does not cover at all is not covered by any selection.
 */
function coverage(blend: Blend, scores: Float32Array, threshold: number, pixels: Iterable<number>): Uint8Array {
  const out = new Uint8Array(W * H);
  for (const p of pixels) {
    const gs = blend.gaussians[p]!, ws = blend.weights[p]!;
    let selected = 0;
    for (let k = 0; k < gs.length; k++) if (scores[gs[k]!]! > threshold) selected += ws[k]!;
    if (blend.alpha[p]! > 0 && selected >= 0.5 * blend.alpha[p]!) out[p] = 1;
  }
  return out;
}

/** Whether view pixel p is inside the mask, which is stretched over the view (nearest mask pixel to the pixel's centre). */
function inside(mask: Mask2D, p: number): boolean {
  const mx = Math.min(mask.width - 1, Math.floor((((p % W) + 0.5) * mask.width) / W));
  const my = Math.min(mask.height - 1, Math.floor(((Math.floor(p / W) + 0.5) * mask.height) / H));
  return mask.data[my * mask.width + mx] !== 0;
}

/** The examined pixels at full density: the mask's box (in view pixels) grown by half its size on each side, clamped to the view. */
function examined(mask: Mask2D): number[] {
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (let q = 0; q < mask.width * mask.height; q++) {
    if (!mask.data[q]) continue;
    const x = q % mask.width, y = Math.floor(q / mask.width);
    x0 = Math.min(x0, x);
    y0 = Math.min(y0, y);
    x1 = Math.max(x1, x + 1);
    y1 = Math.max(y1, y + 1);
  }
  const sx = W / mask.width, sy = H / mask.height;
  [x0, x1, y0, y1] = [x0 * sx, x1 * sx, y0 * sy, y1 * sy];
  const gx = (x1 - x0) / 2, gy = (y1 - y0) / 2;
  const out: number[] = [];
  for (let y = Math.max(0, Math.floor(y0 - gy)); y < Math.min(H, Math.ceil(y1 + gy)); y++) {
    for (let x = Math.max(0, Math.floor(x0 - gx)); x < Math.min(W, Math.ceil(x1 + gx)); x++) out.push(y * W + x);
  }
  return out;
}

function iouAt(blend: Blend, scores: Float32Array, threshold: number, mask: Mask2D, pixels: number[]): number {
  const covered = coverage(blend, scores, threshold, pixels);
  let inter = 0;
  let union = 0;
  for (const p of pixels) {
    const m = inside(mask, p);
    if (covered[p] && m) inter++;
    if (covered[p] || m) union++;
  }
  return union === 0 ? 0 : inter / union;
}

/** Every threshold at or above `floor` that can select differently: the floor and midway between consecutive distinct scores. */
function candidateThresholds(scores: Float32Array, floor: number): number[] {
  const levels = [...new Set(Array.from(scores).filter((s) => Number.isFinite(s) && s > floor))].sort((a, b) => a - b);
  return [floor, ...levels.map((s, i) => (i + 1 < levels.length ? (s + levels[i + 1]!) / 2 : s + 1))];
}

/** Scores on a grid of `levels` steps (ties included), so the candidate thresholds are few and exhaustive. */
function quantize(x: number, levels: number): number {
  return Math.round(x * levels) / levels;
}

let scene: GaussianScene;
let probe: PixelProbe;
let unit: Float32Array;

beforeAll(() => {
  scene = readInriaPlyForTest(sharedScene(SCENES.inria));
  probe = new PixelProbe(scene);
  // The probe blends these; viewThreshold only reads the weights.
  unit = new Float32Array(scene.count);
});

/** A disc given in view pixels, drawn on a mask grid `scale` times the view's size. */
function discMask(cx: number, cy: number, r: number, scale = 1): Mask2D {
  const w = Math.round(W * scale), h = Math.round(H * scale);
  const data = new Uint8Array(w * h);
  for (let q = 0; q < w * h; q++) if (Math.hypot(((q % w) + 0.5) / scale - cx, (Math.floor(q / w) + 0.5) / scale - cy) < r) data[q] = 1;
  return { width: w, height: h, data };
}

describe('view threshold against brute-force rendering of every threshold', () => {
  const cases = [
    { name: 'random scores, disc mask', view: 0, floor: undefined, spatial: false },
    { name: 'scores that follow the scene, mask of a true part, floor 0.3', view: 4, floor: 0.3, spatial: true },
    { name: 'random scores, mask on a grid 2.5 times finer than the view, floor 0.5', view: 0, floor: 0.5, spatial: false, maskScale: 2.5 },
    { name: 'random scores, mask on a grid 0.4 times the view', view: 4, floor: undefined, spatial: false, maskScale: 0.4 },
  ];
  const blends = new Map<number, Blend>();
  cases.forEach((c, caseIndex) => {
    it(c.name, () => {
      const camera = scaleCamera(orbitCamera(scene, c.view, 8, { width: 640, height: 480 }), W, H);
      // One reference blend per view, shared by the cases in that view.
      const blend = blends.get(c.view) ?? referenceBlend(scene, camera);
      blends.set(c.view, blend);
      const r = new Mulberry32(caseIndex + 1);
      const scores = new Float32Array(scene.count);
      let mask: Mask2D;
      if (c.spatial) {
        // A "true" object: the Gaussians on one side of the scene's median x. Scores rise across the
        // boundary, with noise, and the mask is the object's own render.
        const xs = Array.from({ length: scene.count }, (_, g) => scene.positions[3 * g]!).sort((a, b) => a - b);
        const median = xs[xs.length >> 1]!;
        const spread = xs[Math.floor(xs.length * 0.75)]! - xs[Math.floor(xs.length * 0.25)]!;
        const truth = new Float32Array(scene.count);
        for (let g = 0; g < scene.count; g++) {
          const x = scene.positions[3 * g]!;
          truth[g] = x < median ? 1 : 0;
          scores[g] = quantize(0.5 - 0.4 * Math.tanh((x - median) / (0.2 * spread)) + 0.15 * r.normal(), 50);
        }
        mask = { width: W, height: H, data: coverage(blend, truth, 0.5, Array.from({ length: W * H }, (_, p) => p)) };
      } else {
        for (let g = 0; g < scene.count; g++) scores[g] = r.next() < 0.1 ? -Infinity : quantize(r.next(), 40);
        mask = discMask(W / 2 + 3, H / 2 - 2, 11, c.maskScale);
      }
      const pixels = examined(mask);
      const chosen = viewThreshold({ probe, camera, mask, scores, unit, dim: 1, maxPixels: W * H, floor: c.floor });
      expect(chosen).toBeDefined();
      // Full density: every pixel of the grown box was examined.
      expect(chosen!.pixels).toBe(pixels.length);
      const floor = c.floor ?? 0;
      let best = -1;
      for (const t of candidateThresholds(scores, floor)) best = Math.max(best, iouAt(blend, scores, t, mask, pixels));
      expect(Math.abs(chosen!.iou - best)).toBeLessThanOrEqual(1e-9);
      expect(chosen!.threshold).toBeGreaterThanOrEqual(floor);
      expect(Math.abs(iouAt(blend, scores, chosen!.threshold, mask, pixels) - best)).toBeLessThanOrEqual(1e-9);
      // A non-trivial optimum: some coverage, not a perfect match.
      expect(best).toBeGreaterThan(0.05);
      expect(best).toBeLessThan(1);
    });
  });

  it('returns undefined for an empty mask', () => {
    const camera = scaleCamera(orbitCamera(scene, 0, 8, { width: 640, height: 480 }), W, H);
    const mask = { width: W, height: H, data: new Uint8Array(W * H) };
    expect(viewThreshold({ probe, camera, mask, scores: new Float32Array(scene.count), unit, dim: 1 })).toBeUndefined();
  });
});
