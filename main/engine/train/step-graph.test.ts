/**
 * The training step's onnxruntime graph against the float64 references of mlp.ts and losses.ts:
 * losses and every gradient, with each loss alone and both together; and the same inputs give the
 * same outputs bit for bit (training is seedable).
 */
import { afterAll, describe, expect, it } from 'vitest';
import { correspondenceLossReference, guidanceLossReference } from './losses.ts';
import { mlpBackwardReference, mlpForwardReference } from './mlp.ts';
import { StepGraph, type StepInputs } from './step-graph.ts';
import { randomStepProblem, type StepProblem } from './testing/step-problem.ts';

function maxRelative(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0;
  let diff = 0;
  for (let i = 0; i < a.length; i++) {
    scale = Math.max(scale, Math.abs(b[i]!));
    diff = Math.max(diff, Math.abs(a[i]! - b[i]!));
  }
  return diff / Math.max(scale, 1e-12);
}

function inputs(p: StepProblem, lambda = 1): StepInputs {
  return {
    sam: p.sam, cells: p.cells, cellWeights: p.cellWeights, masks: p.masks, features: p.features, targets: p.targets, pixels: p.pixels,
    corrFeatures: p.corrFeatures, membership: p.membership, corrPixels: p.corrPixels, lambda, params: p.params,
  };
}

const graphs: StepGraph[] = [];
afterAll(async () => {
  for (const g of graphs) await g.close();
});

describe('training step graph (onnxruntime) vs the float64 references', () => {
  const p = randomStepProblem({ seed: 7, cells: 96, masks: 11, pixels: 300, corrPixels: 64, dim: 32 });
  const fwd = mlpForwardReference(p.params, p.dim, p.samFloat, p.cells);
  const guidance = guidanceLossReference({ H: fwd.out, cellWeights: p.cellWeights, F: p.features, targets: p.targets, K: p.masks, C: p.cells, P: p.pixels, D: p.dim });
  const dParams = mlpBackwardReference(p.params, p.dim, fwd, guidance.dH);
  const corr = correspondenceLossReference({ F: p.corrFeatures, membership: p.membership, S: p.corrPixels, K: p.masks, D: p.dim });

  it('computes both losses and all gradients', async () => {
    const graph = await StepGraph.create({ dim: 32, guidance: true, correspondence: true }, 2);
    graphs.push(graph);
    const lambda = 0.7;
    const out = await graph.run(inputs(p, lambda));
    expect(out.lossGuidance).toBeCloseTo(guidance.loss, 5);
    expect(out.lossCorr).toBeCloseTo(corr.loss, 5);
    expect(maxRelative(out.dFeatures!, guidance.dF)).toBeLessThan(1e-4);
    expect(maxRelative(out.dParams!, dParams)).toBeLessThan(1e-4);
    expect(maxRelative(out.dCorrFeatures!, corr.dF.map((v) => v * lambda))).toBeLessThan(1e-4);
    // Same inputs, same thread count: the same bits.
    const again = await graph.run(inputs(p, lambda));
    expect(Buffer.from(again.dParams!.buffer).equals(Buffer.from(out.dParams!.buffer))).toBe(true);
    expect(Buffer.from(again.dCorrFeatures!.buffer).equals(Buffer.from(out.dCorrFeatures!.buffer))).toBe(true);
  });

  it('runs each loss alone (the ablations)', async () => {
    const onlyGuidance = await StepGraph.create({ dim: 32, guidance: true, correspondence: false }, 1);
    const onlyCorr = await StepGraph.create({ dim: 32, guidance: false, correspondence: true }, 1);
    graphs.push(onlyGuidance, onlyCorr);
    const g = await onlyGuidance.run(inputs(p));
    expect(g.lossGuidance).toBeCloseTo(guidance.loss, 5);
    expect(g.dCorrFeatures).toBeUndefined();
    const c = await onlyCorr.run({ corrFeatures: p.corrFeatures, membership: p.membership, corrPixels: p.corrPixels, lambda: 1 });
    expect(c.lossCorr).toBeCloseTo(corr.loss, 5);
    expect(c.dParams).toBeUndefined();
    await expect(StepGraph.create({ dim: 32, guidance: false, correspondence: false }, 1)).rejects.toThrow(/at least one loss/);
  });
});
