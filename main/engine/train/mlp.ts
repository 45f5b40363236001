/**
 * The SAM projection MLP of SAGA (phi in the paper's equation 4), as the official v1 code builds it:
 * Linear(256, 64) -> LayerNorm(64) -> LeakyReLU -> Linear(64, 64) -> LayerNorm(64) -> LeakyReLU
 * -> Linear(64, D). It maps each cell's 256-channel SAM image feature to the D-dimensional space
 * of the Gaussian features, so that mask prototypes can be compared with rendered features.
 *
 * Parameters live in one Float32Array (so one Adam and one checkpoint array serve them all), laid
 * out as MLP_PARTS says: weights are [in, out] row-major (y = x W + b). This file is the plain
 * float64 reference of the forward and backward pass; the training step runs the same math in
 * onnxruntime (step-graph.ts), and tests hold the two together.
 */
import type { Uniform } from '../../common/random.ts';

export const SAM_CHANNELS = 256;
export const MLP_HIDDEN = 64;
/** PyTorch's defaults for LeakyReLU and LayerNorm, which the official code uses. */
export const LEAKY_SLOPE = 0.01;
export const LAYER_NORM_EPS = 1e-5;

export type MlpPartName = 'W1' | 'b1' | 'g1' | 'be1' | 'W2' | 'b2' | 'g2' | 'be2' | 'W3' | 'b3';

export interface MlpPart {
  name: MlpPartName;
  shape: number[];
  offset: number;
  length: number;
}

/** Where each parameter sits in the flat array, for output dimension `dim`. */
export function mlpParts(dim: number): MlpPart[] {
  const shapes: [MlpPartName, number[]][] = [
    ['W1', [SAM_CHANNELS, MLP_HIDDEN]], ['b1', [MLP_HIDDEN]], ['g1', [MLP_HIDDEN]], ['be1', [MLP_HIDDEN]],
    ['W2', [MLP_HIDDEN, MLP_HIDDEN]], ['b2', [MLP_HIDDEN]], ['g2', [MLP_HIDDEN]], ['be2', [MLP_HIDDEN]],
    ['W3', [MLP_HIDDEN, dim]], ['b3', [dim]],
  ];
  let offset = 0;
  return shapes.map(([name, shape]) => {
    const length = shape.reduce((a, b) => a * b, 1);
    const part = { name, shape, offset, length };
    offset += length;
    return part;
  });
}

export function mlpSize(dim: number): number {
  const parts = mlpParts(dim);
  const last = parts[parts.length - 1]!;
  return last.offset + last.length;
}

/** A view of one parameter inside the flat array. */
export function mlpPart(params: Float32Array | Float64Array, dim: number, name: MlpPartName): Float32Array | Float64Array {
  const p = mlpParts(dim).find((x) => x.name === name)!;
  return params.subarray(p.offset, p.offset + p.length);
}

/**
 * PyTorch's default initialisation: Linear weights and biases uniform in +-1/sqrt(fan_in),
 * LayerNorm scale 1 and shift 0.
 */
export function initMlp(dim: number, random: Uniform): Float32Array {
  const params = new Float32Array(mlpSize(dim));
  for (const p of mlpParts(dim)) {
    const view = params.subarray(p.offset, p.offset + p.length);
    if (p.name.startsWith('g')) view.fill(1);
    else if (p.name.startsWith('be')) view.fill(0);
    else {
      const fanIn = p.name === 'W1' || p.name === 'b1' ? SAM_CHANNELS : MLP_HIDDEN;
      const bound = 1 / Math.sqrt(fanIn);
      for (let i = 0; i < view.length; i++) view[i] = (random() * 2 - 1) * bound;
    }
  }
  return params;
}

interface LayerCache {
  /** Pre-normalisation activations z, normalised xhat, 1/std per row, post-LeakyReLU output a. */
  z: Float64Array;
  xhat: Float64Array;
  invStd: Float64Array;
  a: Float64Array;
}

export interface MlpForward {
  /** n x dim outputs. */
  out: Float64Array;
  input: ArrayLike<number>;
  n: number;
  layers: [LayerCache, LayerCache];
}

function linear(x: ArrayLike<number>, n: number, inDim: number, W: ArrayLike<number>, b: ArrayLike<number>, outDim: number): Float64Array {
  const y = new Float64Array(n * outDim);
  for (let i = 0; i < n; i++) {
    for (let o = 0; o < outDim; o++) {
      let s = b[o]!;
      for (let k = 0; k < inDim; k++) s += x[i * inDim + k]! * W[k * outDim + o]!;
      y[i * outDim + o] = s;
    }
  }
  return y;
}

function normAct(z: Float64Array, n: number, g: ArrayLike<number>, be: ArrayLike<number>): LayerCache {
  const H = MLP_HIDDEN;
  const xhat = new Float64Array(n * H);
  const a = new Float64Array(n * H);
  const invStd = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let mean = 0;
    for (let h = 0; h < H; h++) mean += z[i * H + h]!;
    mean /= H;
    let variance = 0;
    for (let h = 0; h < H; h++) variance += (z[i * H + h]! - mean) ** 2;
    variance /= H;
    const inv = 1 / Math.sqrt(variance + LAYER_NORM_EPS);
    invStd[i] = inv;
    for (let h = 0; h < H; h++) {
      const x = (z[i * H + h]! - mean) * inv;
      xhat[i * H + h] = x;
      const y = x * g[h]! + be[h]!;
      a[i * H + h] = y > 0 ? y : LEAKY_SLOPE * y;
    }
  }
  return { z, xhat, invStd, a };
}

/** Forward pass of `n` input rows (n x 256, row-major). */
export function mlpForwardReference(params: Float32Array | Float64Array, dim: number, input: ArrayLike<number>, n: number): MlpForward {
  const P = (name: MlpPartName) => mlpPart(params, dim, name);
  const l1 = normAct(linear(input, n, SAM_CHANNELS, P('W1'), P('b1'), MLP_HIDDEN), n, P('g1'), P('be1'));
  const l2 = normAct(linear(l1.a, n, MLP_HIDDEN, P('W2'), P('b2'), MLP_HIDDEN), n, P('g2'), P('be2'));
  const out = linear(l2.a, n, MLP_HIDDEN, P('W3'), P('b3'), dim);
  return { out, input, n, layers: [l1, l2] };
}

/**
 * Gradient of the parameters (flat, same layout) given dLoss/dOut (n x dim). The input (SAM
 * features) is data, so no gradient is returned for it.
 */
export function mlpBackwardReference(params: Float32Array | Float64Array, dim: number, fwd: MlpForward, dOut: ArrayLike<number>): Float64Array {
  const H = MLP_HIDDEN;
  const { n } = fwd;
  const grad = new Float64Array(mlpSize(dim));
  const G = (name: MlpPartName) => mlpPart(grad, dim, name) as Float64Array;
  const P = (name: MlpPartName) => mlpPart(params, dim, name);
  // y = x W + b: dW = x^T dy, db = sum dy, dx = dy W^T.
  const linearBack = (x: ArrayLike<number>, inDim: number, W: ArrayLike<number>, outDim: number, dy: ArrayLike<number>, dW: Float64Array, db: Float64Array): Float64Array => {
    const dx = new Float64Array(n * inDim);
    for (let i = 0; i < n; i++) {
      for (let o = 0; o < outDim; o++) {
        const d = dy[i * outDim + o]!;
        db[o] = db[o]! + d;
        for (let k = 0; k < inDim; k++) {
          dW[k * outDim + o] = dW[k * outDim + o]! + x[i * inDim + k]! * d;
          dx[i * inDim + k] = dx[i * inDim + k]! + d * W[k * outDim + o]!;
        }
      }
    }
    return dx;
  };
  // Through LeakyReLU and LayerNorm back to the pre-normalisation activations.
  const normActBack = (c: LayerCache, da: Float64Array, g: ArrayLike<number>, dg: Float64Array, dbe: Float64Array): Float64Array => {
    const dz = new Float64Array(n * H);
    const dxhat = new Float64Array(H);
    for (let i = 0; i < n; i++) {
      let sumD = 0;
      let sumDX = 0;
      for (let h = 0; h < H; h++) {
        const x = c.xhat[i * H + h]!;
        // LeakyReLU's slope: the output is positive exactly where its input was.
        const dy = da[i * H + h]! * (c.a[i * H + h]! > 0 ? 1 : LEAKY_SLOPE);
        dg[h] = dg[h]! + dy * x;
        dbe[h] = dbe[h]! + dy;
        dxhat[h] = dy * g[h]!;
        sumD += dxhat[h]!;
        sumDX += dxhat[h]! * x;
      }
      const inv = c.invStd[i]!;
      for (let h = 0; h < H; h++) {
        dz[i * H + h] = (inv / H) * (H * dxhat[h]! - sumD - c.xhat[i * H + h]! * sumDX);
      }
    }
    return dz;
  };
  const [l1, l2] = fwd.layers;
  const da2 = linearBack(l2.a, H, P('W3'), dim, dOut, G('W3'), G('b3'));
  const dz2 = normActBack(l2, da2, P('g2'), G('g2'), G('be2'));
  const da1 = linearBack(l1.a, H, P('W2'), H, dz2, G('W2'), G('b2'));
  const dz1 = normActBack(l1, da1, P('g1'), G('g1'), G('be1'));
  linearBack(fwd.input, SAM_CHANNELS, P('W1'), H, dz1, G('W1'), G('b1'));
  return grad;
}
