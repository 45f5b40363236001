/** Small random inputs of one training step, for the loss and graph tests. */
import { Mulberry32 } from '../../../common/random.ts';
import { encodeFloat16, decodeFloat16 } from '../../masks/storage.ts';
import { initMlp } from '../mlp.ts';

export interface StepProblem {
  dim: number;
  cells: number;
  masks: number;
  pixels: number;
  corrPixels: number;
  params: Float32Array;
  /** SAM features as float16 bits, and the same values as floats. */
  sam: Uint16Array;
  samFloat: Float32Array;
  cellWeights: Float32Array;
  features: Float32Array;
  targets: Uint8Array;
  corrFeatures: Float32Array;
  membership: Uint8Array;
}

export function randomStepProblem(o: { seed: number; cells: number; masks: number; pixels: number; corrPixels: number; dim: number }): StepProblem {
  const r = new Mulberry32(o.seed);
  const params = initMlp(o.dim, () => r.next());
  const sam = encodeFloat16(Float32Array.from({ length: o.cells * 256 }, () => r.normal() * 0.5));
  // Each mask covers a random non-empty set of cells, weighted by how many of its pixels fall there.
  const cellWeights = new Float32Array(o.masks * o.cells);
  for (let k = 0; k < o.masks; k++) {
    let total = 0;
    for (let c = 0; c < o.cells; c++) {
      const w = r.next() < 0.4 || c === k % o.cells ? 1 + r.below(5) : 0;
      cellWeights[k * o.cells + c] = w;
      total += w;
    }
    for (let c = 0; c < o.cells; c++) cellWeights[k * o.cells + c]! /= total;
  }
  return {
    ...o,
    params,
    sam,
    samFloat: decodeFloat16(sam),
    cellWeights,
    features: Float32Array.from({ length: o.pixels * o.dim }, () => r.normal()),
    targets: Uint8Array.from({ length: o.masks * o.pixels }, () => (r.next() < 0.4 ? 1 : 0)),
    corrFeatures: Float32Array.from({ length: o.corrPixels * o.dim }, () => r.normal()),
    membership: Uint8Array.from({ length: o.corrPixels * o.masks }, () => (r.next() < 0.35 ? 1 : 0)),
  };
}
