/**
 * The SAM-based prompt against plain references: the cells under a mask and their shares, the
 * query rule (the masked average accepted at 90% coverage of SAM's mask, k-means below it), the
 * mean + std threshold, and the whole prompt on a two-object scene whose projection MLP is built
 * by hand so that phi tells the objects apart.
 */
import { describe, expect, it } from 'vitest';
import { Mulberry32 } from '../../common/random.ts';
import { createScene } from '../../scene/gaussians.ts';
import type { Camera } from '../../scene/camera.ts';
import { buildSpatialIndex } from '../post/spatial-index.ts';
import { MLP_HIDDEN, mlpForwardReference, mlpPart, mlpSize, SAM_CHANNELS } from '../train/mlp.ts';
import { normalizeRows } from './kmeans.ts';
import type { Mask2D } from './mask2d.ts';
import { PixelProbe } from './pixel-probe.ts';
import { sagaSegment } from './saga.ts';
import { maskCells, meanPlusStd, projectCells, samQueries, samSegment, type SamFeatureGrid } from './sam-prompt.ts';

const DIM = 32;

function dot(a: ArrayLike<number>, ai: number, b: ArrayLike<number>, bi: number, dim: number): number {
  let s = 0;
  for (let c = 0; c < dim; c++) s += a[ai * dim + c]! * b[bi * dim + c]!;
  return s;
}

describe('maskCells', () => {
  it('lists the embedding cells under the mask with each one\'s share of its pixels', () => {
    // A 128 x 64 image fills 1024 x 512 of the frame: a 16-pixel cell of the frame is a 2 x 2 block of image pixels.
    const grid: SamFeatureGrid = { data: new Float32Array(0), channels: 256, height: 64, width: 64, frame: { size: 1024, width: 1024, height: 512 } };
    const mask: Mask2D = { width: 128, height: 64, data: new Uint8Array(128 * 64) };
    for (let y = 4; y < 20; y++) for (let x = 10; x < 30; x++) mask.data[y * 128 + x] = 1;
    const { cells, weights } = maskCells(mask, grid);
    const expected = new Map<number, number>();
    for (let y = 4; y < 20; y++) for (let x = 10; x < 30; x++) {
      const cell = Math.floor(y / 2) * 64 + Math.floor(x / 2);
      expected.set(cell, (expected.get(cell) ?? 0) + 1 / (16 * 20));
    }
    expect([...cells]).toEqual([...expected.keys()].sort((a, b) => a - b));
    cells.forEach((c, i) => expect(weights[i]).toBeCloseTo(expected.get(c)!, 12));
  });
});

describe('samQueries', () => {
  // Two groups of cells around two feature centres; the mask's weight is 70% on the first.
  const r = new Mulberry32(3);
  const groups = [Array.from({ length: DIM }, (_, c) => (c === 0 ? 5 : 0)), Array.from({ length: DIM }, (_, c) => (c === 1 ? 5 : 0))];
  const cellFeatures = new Float32Array(20 * DIM);
  const weights = new Float64Array(20);
  for (let i = 0; i < 20; i++) {
    const g = i < 10 ? 0 : 1;
    for (let c = 0; c < DIM; c++) cellFeatures[i * DIM + c] = groups[g]![c]! + (r.next() - 0.5) * 0.2;
    weights[i] = (g === 0 ? 0.7 : 0.3) / 10;
  }
  const average = new Float64Array(DIM);
  for (let i = 0; i < 20; i++) for (let c = 0; c < DIM; c++) average[c] = average[c]! + weights[i]! * cellFeatures[i * DIM + c]!;
  /** 100 rendered features of which `inside` agree with the average (positive product) and the rest oppose it. */
  const rendered = (inside: number) => {
    const out = new Float32Array(100 * DIM);
    for (let i = 0; i < 100; i++) for (let c = 0; c < DIM; c++) out[i * DIM + c] = (i < inside ? 1 : -1) * average[c]! * (0.5 + r.next());
    return out;
  };

  it('accepts the masked average when the temporary mask covers 90% of the mask', () => {
    const q = samQueries({ cellFeatures, weights, rendered: rendered(90), dim: DIM });
    expect(q.rule).toBe('mask-average');
    expect(q.coverage).toBeCloseTo(0.9, 12);
    expect(q.queries.length).toBe(DIM);
    for (let c = 0; c < DIM; c++) expect(q.queries[c]).toBeCloseTo(average[c]!, 5);
  });

  it('falls back to k-means over the projected SAM features below 90%', () => {
    const q = samQueries({ cellFeatures, weights, rendered: rendered(89), dim: DIM, clusters: 2 });
    expect(q.rule).toBe('kmeans');
    expect(q.coverage).toBeCloseTo(0.89, 12);
    expect(q.queries.length).toBe(2 * DIM);
    // Each centre is the weighted mean of one group (plain reference), in some order.
    const means = [0, 1].map((g) => {
      const m = new Float64Array(DIM);
      for (let i = g * 10; i < g * 10 + 10; i++) for (let c = 0; c < DIM; c++) m[c] = m[c]! + cellFeatures[i * DIM + c]! / 10;
      return m;
    });
    const first = q.queries[0]! > q.queries[1]! ? 0 : 1;
    for (let j = 0; j < 2; j++) {
      const m = means[j === 0 ? first : 1 - first]!;
      for (let c = 0; c < DIM; c++) expect(q.queries[j * DIM + c]).toBeCloseTo(m[c]!, 5);
    }
  });
});

describe('meanPlusStd', () => {
  it('is the mean plus the population standard deviation of the finite scores', () => {
    const r = new Mulberry32(9);
    const scores = Float32Array.from({ length: 1000 }, (_, i) => (i % 97 === 0 ? -Infinity : r.next() * 3 - 1));
    const finite = [...scores].filter(Number.isFinite);
    const mean = finite.reduce((a, b) => a + b, 0) / finite.length;
    const std = Math.sqrt(finite.reduce((a, b) => a + (b - mean) ** 2, 0) / finite.length);
    expect(meanPlusStd(scores)).toBeCloseTo(mean + std, 6);
    expect(meanPlusStd(new Float32Array([-Infinity]))).toBe(Infinity);
  });
});

describe('samSegment', () => {
  /**
   * phi by hand: SAM channel 0 drives the first hidden layer with +v or -v (v = +1 on the first half
   * of the units, -1 on the second); LayerNorm keeps only its sign, so every cell maps to one of two
   * features, qA (channel 0 > 0) or qB (< 0), which W3 puts on different output channels.
   */
  function handMlp(): Float32Array {
    const params = new Float32Array(mlpSize(DIM));
    const W1 = mlpPart(params, DIM, 'W1');
    for (let h = 0; h < MLP_HIDDEN; h++) W1[h] = h < MLP_HIDDEN / 2 ? 1 : -1;
    const W2 = mlpPart(params, DIM, 'W2');
    for (let h = 0; h < MLP_HIDDEN; h++) W2[h * MLP_HIDDEN + h] = 1;
    mlpPart(params, DIM, 'g1').fill(1);
    mlpPart(params, DIM, 'g2').fill(1);
    const W3 = mlpPart(params, DIM, 'W3');
    for (let h = 0; h < MLP_HIDDEN; h++) for (let d = 0; d < DIM; d++) W3[h * DIM + d] = (h < MLP_HIDDEN / 2) === (d < DIM / 2) ? 0.1 : 0;
    return params;
  }

  it('selects the object under SAM\'s mask: the masked average accepted, dot-product scores over mean + std, region growing from the mask', () => {
    const mlp = handMlp();
    const input = new Float32Array(2 * SAM_CHANNELS);
    input[0] = 1;
    input[SAM_CHANNELS] = -1;
    const phi = Float32Array.from(mlpForwardReference(mlp, DIM, input, 2).out);
    const unitPhi = normalizeRows(phi, DIM);
    // Object A (100 Gaussians) around x = -0.5, object B (500) around x = +0.5, seen from z = -3.
    const r = new Mulberry32(11);
    const nA = 100, nB = 500;
    const scene = createScene(nA + nB, 0);
    const unit = new Float32Array((nA + nB) * DIM);
    for (let g = 0; g < nA + nB; g++) {
      const isA = g < nA;
      const cx = isA ? -0.5 : 0.5;
      const radius = isA ? 0.2 : 0.3;
      for (let a = 0; a < 3; a++) {
        scene.positions[3 * g + a] = (a === 0 ? cx : 0) + (r.next() * 2 - 1) * radius;
        scene.scales[3 * g + a] = Math.log(0.04);
      }
      scene.rotations[4 * g] = 1;
      scene.opacities[g] = 4;
      unit.set(unitPhi.subarray(isA ? 0 : DIM, isA ? DIM : 2 * DIM), g * DIM);
    }
    const camera: Camera = { name: 'front', width: 128, height: 64, fx: 120, fy: 120, cx: 64, cy: 32, rotation: [1, 0, 0, 0, 1, 0, 0, 0, 1], translation: [0, 0, 3] };
    // The image fills 1024 x 512 of the frame; channel 0 is +1 on the cells left of its middle (cell 32).
    const grid: SamFeatureGrid = { data: new Float32Array(SAM_CHANNELS * 64 * 64), channels: SAM_CHANNELS, height: 64, width: 64, frame: { size: 1024, width: 1024, height: 512 } };
    for (let y = 0; y < 64; y++) for (let x = 0; x < 64; x++) grid.data[y * 64 + x] = x < 32 ? 1 : -1;
    // SAM's mask: a disc around object A's image (u = 120 * -0.5 / 3 + 64 = 44).
    const samMask: Mask2D = { width: 128, height: 64, data: new Uint8Array(128 * 64) };
    for (let y = 0; y < 64; y++) for (let x = 0; x < 128; x++) if ((x + 0.5 - 44) ** 2 + (y + 0.5 - 32) ** 2 < 14 ** 2) samMask.data[y * 128 + x] = 1;
    const result = samSegment({ scene, camera, samMask, grid, mlp, unit, dim: DIM, probe: new PixelProbe(scene), index: buildSpatialIndex(scene.positions) });
    expect(result.rule).toBe('mask-average');
    expect(result.coverage).toBeGreaterThanOrEqual(0.9);
    expect(result.queries).toBe(1);
    // The threshold is mean + std of the dot products with the query (plain reference).
    const query = projectCells(grid, [0], mlp, DIM);
    const scores = Array.from({ length: nA + nB }, (_, g) => dot(unit, g, query, 0, DIM));
    expect(result.threshold).toBeCloseTo(meanPlusStd(scores), 4);
    let inA = 0, inB = 0;
    for (let g = 0; g < nA + nB; g++) if (result.selection[g]) (g < nA ? inA++ : inB++);
    expect(inA).toBeGreaterThanOrEqual(0.95 * nA);
    expect(inB).toBe(0);
    for (const phase of ['queries', 'score', 'threshold', 'region', 'grow']) expect(result.timings[phase]).toBeGreaterThanOrEqual(0);
    // An empty SAM mask selects nothing, without an error.
    const none = samSegment({ scene, camera, samMask: { width: 128, height: 64, data: new Uint8Array(128 * 64) }, grid, mlp, unit, dim: DIM, probe: new PixelProbe(scene), index: buildSpatialIndex(scene.positions) });
    expect(none.selection.some((v) => v !== 0)).toBe(false);
    expect(none.rule).toBe('empty');
    // The same mask as a plain mask prompt (saga.ts) goes through the same post-processing.
    const masked = sagaSegment({ scene, camera, prompt: { kind: 'mask', mask: samMask }, unit, dim: DIM, probe: new PixelProbe(scene), index: buildSpatialIndex(scene.positions), options: { threshold: 'paper' } });
    let maskA = 0, maskB = 0;
    for (let g = 0; g < nA + nB; g++) if (masked.selection[g]) (g < nA ? maskA++ : maskB++);
    expect(maskA).toBeGreaterThanOrEqual(0.95 * nA);
    expect(maskB).toBe(0);
    expect(masked.timings.region).toBeGreaterThanOrEqual(0);
  });
});
