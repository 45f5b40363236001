/**
 * The training losses' float64 references against central finite differences: the guidance loss
 * through the projection MLP (parameters, rendered features) and the correspondence loss.
 */
import { describe, expect, it } from 'vitest';
import { Mulberry32 } from '../../common/random.ts';
import { correspondenceLossReference, correspondenceTarget, guidanceLossReference } from './losses.ts';
import { initMlp, mlpBackwardReference, mlpForwardReference, mlpParts, SAM_CHANNELS } from './mlp.ts';
import { randomStepProblem } from './testing/step-problem.ts';

const H = 1e-5;

function central(f: (x: Float64Array) => number, x: Float64Array, i: number): number {
  const keep = x[i]!;
  x[i] = keep + H;
  const plus = f(x);
  x[i] = keep - H;
  const minus = f(x);
  x[i] = keep;
  return (plus - minus) / (2 * H);
}

function expectClose(analytic: number, numeric: number): void {
  expect(Math.abs(analytic - numeric)).toBeLessThanOrEqual(1e-6 + 1e-4 * Math.abs(numeric));
}

describe('SAGA losses (float64 references)', () => {
  it('guidance loss: gradients of the MLP parameters and of the rendered features match finite differences', () => {
    const p = randomStepProblem({ seed: 3, cells: 12, masks: 4, pixels: 9, corrPixels: 6, dim: 5 });
    const params = Float64Array.from(p.params);
    const loss = (theta: Float64Array, F: ArrayLike<number> = p.features) => {
      const fwd = mlpForwardReference(theta, p.dim, p.samFloat, p.cells);
      return guidanceLossReference({ H: fwd.out, cellWeights: p.cellWeights, F, targets: p.targets, K: p.masks, C: p.cells, P: p.pixels, D: p.dim }).loss;
    };
    const fwd = mlpForwardReference(params, p.dim, p.samFloat, p.cells);
    const g = guidanceLossReference({ H: fwd.out, cellWeights: p.cellWeights, F: p.features, targets: p.targets, K: p.masks, C: p.cells, P: p.pixels, D: p.dim });
    expect(g.loss).toBeGreaterThan(0);
    const dParams = mlpBackwardReference(params, p.dim, fwd, g.dH);
    // A few entries of every part, LayerNorm scales and shifts included.
    for (const part of mlpParts(p.dim)) {
      for (const k of [0, Math.floor(part.length / 2), part.length - 1]) {
        const i = part.offset + k;
        expectClose(dParams[i]!, central((t) => loss(t), params, i));
      }
    }
    const F = Float64Array.from(p.features);
    for (const i of [0, 7, F.length - 1]) expectClose(g.dF[i]!, central((f) => loss(params, f), F, i));
  });

  it('correspondence loss: the gradient matches finite differences, and the target is the IoU of mask sets (-1 when disjoint)', () => {
    const p = randomStepProblem({ seed: 4, cells: 4, masks: 5, pixels: 4, corrPixels: 7, dim: 6 });
    const F = Float64Array.from(p.corrFeatures);
    const loss = (f: Float64Array) => correspondenceLossReference({ F: f, membership: p.membership, S: p.corrPixels, K: p.masks, D: p.dim }).loss;
    const r = correspondenceLossReference({ F, membership: p.membership, S: p.corrPixels, K: p.masks, D: p.dim });
    for (let i = 0; i < F.length; i += 5) expectClose(r.dF[i]!, central(loss, F, i));
    const m = Uint8Array.from([1, 1, 0, /* */ 0, 1, 1, /* */ 0, 0, 0]);
    expect(correspondenceTarget(m, 3, 0, 1)).toBeCloseTo(1 / 3);
    expect(correspondenceTarget(m, 3, 0, 0)).toBe(1);
    expect(correspondenceTarget(m, 3, 0, 2)).toBe(-1);
    expect(correspondenceTarget(m, 3, 2, 2)).toBe(-1);
  });

  it('the MLP starts from PyTorch defaults: unit LayerNorm scales, zero shifts, bounded weights', () => {
    const random = new Mulberry32(1);
    const params = initMlp(32, () => random.next());
    const bound = 1 / Math.sqrt(SAM_CHANNELS);
    const w1 = mlpParts(32).find((x) => x.name === 'W1')!;
    expect(params.subarray(w1.offset, w1.offset + w1.length).every((v) => Math.abs(v) <= bound)).toBe(true);
    const g1 = mlpParts(32).find((x) => x.name === 'g1')!;
    expect(params.subarray(g1.offset, g1.offset + g1.length).every((v) => v === 1)).toBe(true);
  });
});
