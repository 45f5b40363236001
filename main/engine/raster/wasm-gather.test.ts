/**
 * The WebAssembly training kernels against plain loops on random lists: forward, backward (also
 * after another view's backward, which must leave no stale rows), Adam, feature widths that are
 * not one 32-channel block, and memory reuse after views are released. The whole path through the
 * rasterizer is held to reference.ts in rasterizer.test.ts.
 */
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { nodeKernelHelpers } from '../../host/kernel-threads.ts';
import { loadShaderFromDisk } from '../gpu/node-shaders.ts';
import { mulberry32 } from '../../common/random.ts';
import { lazyAdamReference } from './reference.ts';
import { maxAbsDiff, randomFeatures } from './test-scenes.ts';
import { WasmFeatureGather } from './wasm-gather.ts';

interface Lists {
  offsets: Uint32Array;
  entries: Uint32Array;
  gaussians: Uint32Array;
  weights: Float32Array;
}

/** Random per-pixel lists over `count` Gaussians (some pixels empty). */
function randomLists(pixels: number, count: number, seed: number): Lists {
  const rnd = mulberry32(seed);
  const offsets = new Uint32Array(pixels + 1);
  const gaussians: number[] = [];
  const weights: number[] = [];
  for (let p = 0; p < pixels; p++) {
    const n = rnd() < 0.1 ? 0 : Math.floor(rnd() * 12);
    for (let k = 0; k < n; k++) {
      gaussians.push(Math.floor(rnd() * count));
      weights.push(rnd());
    }
    offsets[p + 1] = gaussians.length;
  }
  const entries = new Uint32Array(2 * gaussians.length);
  const w = Float32Array.from(weights);
  const bits = new Uint32Array(w.buffer);
  for (let e = 0; e < gaussians.length; e++) {
    entries[2 * e] = gaussians[e]!;
    entries[2 * e + 1] = bits[e]!;
  }
  return { offsets, entries, gaussians: Uint32Array.from(gaussians), weights: w };
}

function forwardLoops(l: Lists, features: Float32Array, dim: number): Float64Array {
  const pixels = l.offsets.length - 1;
  const out = new Float64Array(pixels * dim);
  for (let p = 0; p < pixels; p++) {
    for (let e = l.offsets[p]!; e < l.offsets[p + 1]!; e++) {
      for (let c = 0; c < dim; c++) out[p * dim + c] = out[p * dim + c]! + l.weights[e]! * features[l.gaussians[e]! * dim + c]!;
    }
  }
  return out;
}

function backwardLoops(l: Lists, grad: Float32Array, count: number, dim: number): Float64Array {
  const out = new Float64Array(count * dim);
  for (let p = 0; p < l.offsets.length - 1; p++) {
    for (let e = l.offsets[p]!; e < l.offsets[p + 1]!; e++) {
      for (let c = 0; c < dim; c++) out[l.gaussians[e]! * dim + c] = out[l.gaussians[e]! * dim + c]! + l.weights[e]! * grad[p * dim + c]!;
    }
  }
  return out;
}

describe('WebAssembly feature gathers', () => {
  const cores = availableParallelism();
  it.each([
    [32, 0], [16, 0], [40, 0], [32, 1], [40, 2],
  ])('forward and backward match plain loops with %i channels and %i helper threads', async (dim, helpers) => {
    // Helpers come from the machine's other cores: there are none to test on a single core.
    if (helpers > 0 && cores < 2) return;
    const gather = await WasmFeatureGather.create(loadShaderFromDisk, helpers ? { helpers: nodeKernelHelpers(helpers) } : {});
    expect(gather.threads).toBe(1 + Math.min(helpers, cores - 1));
    const count = 500;
    const pixels = 300;
    const features = randomFeatures(count, dim, 1);
    gather.setFeatures(features, count, dim);
    const a = randomLists(pixels, count, 2);
    const b = randomLists(pixels, count, 3);
    const viewA = gather.addView(pixels, a.offsets, a.entries);
    const viewB = gather.addView(pixels, b.offsets, b.entries);
    expect(viewA.contributions).toBe(a.gaussians.length);
    expect(maxAbsDiff(gather.forward(viewA), forwardLoops(a, features, dim))).toBeLessThan(1e-5);
    expect(maxAbsDiff(gather.forward(viewB), forwardLoops(b, features, dim))).toBeLessThan(1e-5);

    const gradA = randomFeatures(pixels, dim, 4);
    gather.backward(viewA, gradA);
    expect(maxAbsDiff(gather.readGradients(), backwardLoops(a, gradA, count, dim))).toBeLessThan(1e-5);
    // View B's gradient alone: rows only view A touched must have been cleared.
    const gradB = randomFeatures(pixels, dim, 5);
    gather.backward(viewB, gradB);
    expect(maxAbsDiff(gather.readGradients(), backwardLoops(b, gradB, count, dim))).toBeLessThan(1e-5);
    gather.destroy();
  });

  it('runs lazy Adam as the plain reference does, and new features reset the optimiser', async () => {
    const gather = await WasmFeatureGather.create(loadShaderFromDisk, { helpers: nodeKernelHelpers(1) });
    const count = 64;
    const dim = 32;
    const features = randomFeatures(count, dim, 6);
    gather.setFeatures(features, count, dim);
    // Only Gaussians 0 to 47 are in view A's lists, and only 0 to 23 in view B's.
    const lists = randomLists(40, 48, 7);
    const view = gather.addView(40, lists.offsets, lists.entries);
    const small = randomLists(40, 24, 8);
    const viewB = gather.addView(40, small.offsets, small.entries);
    const lr = 0.01;
    const m = new Float64Array(count * dim);
    const v = new Float64Array(count * dim);
    const expected = Float64Array.from(features);
    let beforeB: Float32Array = new Float32Array(0);
    for (let t = 1; t <= 3; t++) {
      const grad = randomFeatures(40, dim, 10 + t);
      gather.backward(t === 2 ? viewB : view, grad);
      const g = gather.readGradients();
      if (t === 2) beforeB = gather.readFeatures();
      expect(gather.adamStep({ lr, eps: 1e-8 })).toBe(t);
      lazyAdamReference(expected, g, m, v, t, dim, { lr, eps: 1e-8 });
      // Lazy: at the step on view B, Gaussians 24 to 47 (moments from step 1, no gradient now) stay
      // where they are; a dense Adam would move them on their momentum.
      if (t === 2) expect(gather.readFeatures().subarray(24 * dim, 48 * dim)).toEqual(beforeB.subarray(24 * dim, 48 * dim));
    }
    expect(maxAbsDiff(gather.readFeatures(), expected)).toBeLessThan(1e-6);
    // Gaussians 48 to 63, which no listed pixel reaches, keep their features and zero moments.
    const after = gather.readFeatures();
    const state = gather.readAdamState();
    expect(after.subarray(48 * dim)).toEqual(features.subarray(48 * dim));
    expect(state.m.subarray(48 * dim).every((x) => x === 0) && state.v.subarray(48 * dim).every((x) => x === 0)).toBe(true);
    expect(maxAbsDiff(after.subarray(0, 48 * dim), features.subarray(0, 48 * dim))).toBeGreaterThan(1e-3);
    gather.setFeatures(features, count, dim);
    gather.backward(view, randomFeatures(40, dim, 20));
    expect(gather.adamStep({ lr })).toBe(1);
    gather.destroy();
  });

  it('reuses the memory of released views and refuses them afterwards', async () => {
    const gather = await WasmFeatureGather.create(loadShaderFromDisk);
    const count = 2000;
    gather.setFeatures(randomFeatures(count, 32, 8), count, 32);
    const lists = randomLists(5000, count, 9);
    const first = gather.addView(5000, lists.offsets, lists.entries);
    gather.forward(first);
    gather.releaseView(first);
    const reserved = gather.memoryBytes;
    for (let k = 0; k < 5; k++) {
      const view = gather.addView(5000, lists.offsets, lists.entries);
      gather.forward(view);
      gather.releaseView(view);
    }
    expect(gather.memoryBytes).toBe(reserved);
    expect(() => gather.forward(first)).toThrow(/released/);
    // A view of the previous scene is refused once the scene changes (its rows would be out of range).
    const old = gather.addView(5000, lists.offsets, lists.entries);
    gather.setCount(count - 1);
    expect(() => gather.forward(old)).toThrow(/another scene/);
    expect(() => gather.forward(gather.addView(5000, lists.offsets, lists.entries))).toThrow(/outside the scene|Set features/);
    expect(() => gather.addView(10, new Uint32Array(3), new Uint32Array(0))).toThrow(/Malformed/);
  });
});
