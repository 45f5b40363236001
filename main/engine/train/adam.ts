/**
 * Adam for the projection MLP's parameters (a few tens of thousands of values, so plain loops).
 * The Gaussian features have their own Adam in the engine (WGSL or WebAssembly): the same update
 * and defaults as torch.optim.Adam, but lazy (features whose gradient is zero are left alone, see
 * raster/reference.ts lazyAdamReference).
 */
export interface AdamOptions {
  lr: number;
  beta1?: number;
  beta2?: number;
  eps?: number;
}

export interface AdamState {
  m: Float32Array;
  v: Float32Array;
  step: number;
}

export function adamState(size: number): AdamState {
  return { m: new Float32Array(size), v: new Float32Array(size), step: 0 };
}

/** One step on `params` in place from `grad`. */
export function adamStep(params: Float32Array, grad: ArrayLike<number>, state: AdamState, options: AdamOptions): void {
  const b1 = options.beta1 ?? 0.9;
  const b2 = options.beta2 ?? 0.999;
  const eps = options.eps ?? 1e-8;
  const t = ++state.step;
  const c1 = 1 - b1 ** t;
  const c2 = 1 - b2 ** t;
  const { m, v } = state;
  for (let i = 0; i < params.length; i++) {
    const g = grad[i]!;
    m[i] = b1 * m[i]! + (1 - b1) * g;
    v[i] = b2 * v[i]! + (1 - b2) * g * g;
    params[i] = params[i]! - (options.lr * (m[i]! / c1)) / (Math.sqrt(v[i]! / c2) + eps);
  }
}
