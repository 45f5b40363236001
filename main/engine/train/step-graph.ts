/**
 * One training step's loss math as an ONNX graph run by onnxruntime's CPU kernels: the projection
 * MLP forward and backward, both losses and every gradient the step needs, in one call.
 *
 * Why onnxruntime: the step is a handful of dense products (4096 x 256 x 64 for the MLP, masks x
 * pixels x 32 for the guidance logits, pixels x pixels x 32 for the correspondences). Measured on
 * this 2-core machine, onnxruntime's kernels run them at 20-50 GMAC/s against 0.3 for plain
 * JavaScript loops, and it is already the app's SAM runtime. The graph computes exactly what
 * losses.ts and mlp.ts compute in float64 (tests hold them together); the gradients are written
 * out by hand because the standard onnxruntime build has no autodiff.
 *
 * Inputs: `sam` (cells x 256, float16 as prepared), `cellWeights` (masks x cells), `features`
 * (guidance pixels x D), `targets` (masks x guidance pixels, uint8), `guidanceScale` (1/(masks x
 * pixels)), `corrFeatures` (correspondence pixels x D), `membership` (correspondence pixels x
 * masks, uint8), `corrScale` (lambda / pixels^2), and the MLP parameters W1 .. b3.
 * Outputs: `lossGuidance`, `lossCorr` (unweighted), `dFeatures`, `dCorrFeatures`, and d<part> for
 * every MLP part. A step with a loss switched off uses a graph without that part.
 */
import * as ort from 'onnxruntime-node';
import { SagaError } from '../../contract/errors.ts';
import { GraphBuilder, type Value } from '../onnx/graph.ts';
import { DataType } from '../onnx/model-writer.ts';
import { LAYER_NORM_EPS, LEAKY_SLOPE, MLP_HIDDEN, mlpParts, SAM_CHANNELS, type MlpPartName } from './mlp.ts';
import { NORM_EPS } from './losses.ts';

export interface StepGraphOptions {
  dim: number;
  guidance: boolean;
  correspondence: boolean;
}

export interface StepInputs {
  /** SAM features of the view's cells, float16 bits (C x 256). Guidance only. */
  sam?: Uint16Array;
  cells?: number;
  /** Mask-to-cell weights (K x C). Guidance only. */
  cellWeights?: Float32Array;
  masks?: number;
  /** Rendered features at the guidance pixels (P x D) and their mask values (K x P). */
  features?: Float32Array;
  targets?: Uint8Array;
  pixels?: number;
  /** Rendered features at the correspondence pixels (S x D) and their masks (S x K). */
  corrFeatures?: Float32Array;
  membership?: Uint8Array;
  corrPixels?: number;
  /** Weight of the correspondence loss (lambda). */
  lambda: number;
  /** MLP parameters (flat, mlp.ts layout). Guidance only. */
  params?: Float32Array;
}

export interface StepOutputs {
  lossGuidance: number;
  lossCorr: number;
  /** dL/d(features) at the guidance pixels (P x D) and at the correspondence pixels (S x D). */
  dFeatures?: Float32Array;
  dCorrFeatures?: Float32Array;
  /** dL/d(MLP parameters), flat. */
  dParams?: Float32Array;
}

/** LayerNorm over the last axis, then LeakyReLU; returns what the backward pass needs. */
function normAct(g: GraphBuilder, z: Value, gamma: Value, beta: Value) {
  const mu = g.mean(z, [1]);
  const centred = g.sub(z, mu);
  const variance = g.mean(g.mul(centred, centred), [1]);
  const invStd = g.reciprocal(g.sqrt(g.add(variance, g.constant(LAYER_NORM_EPS))));
  const xhat = g.mul(centred, invStd);
  const a = g.leakyRelu(g.add(g.mul(xhat, gamma), beta), LEAKY_SLOPE);
  return { xhat, invStd, a };
}

/** Back through LeakyReLU and LayerNorm: dz, dgamma, dbeta. */
function normActBack(g: GraphBuilder, layer: { xhat: Value; invStd: Value; a: Value }, da: Value, gamma: Value) {
  const slope = g.where(g.greater(layer.a, g.constant(0)), g.constant(1), g.constant(LEAKY_SLOPE));
  const dy = g.mul(da, slope);
  const dGamma = g.sum(g.mul(dy, layer.xhat), [0], false);
  const dBeta = g.sum(dy, [0], false);
  const dxhat = g.mul(dy, gamma);
  const m1 = g.mean(dxhat, [1]);
  const m2 = g.mean(g.mul(dxhat, layer.xhat), [1]);
  const dz = g.mul(layer.invStd, g.sub(g.sub(dxhat, m1), g.mul(layer.xhat, m2)));
  return { dz, dGamma, dBeta };
}

export function buildStepGraph(options: StepGraphOptions): Uint8Array {
  const { dim: D } = options;
  const F32 = DataType.FLOAT;
  const g = new GraphBuilder('saga-training-step');
  if (options.guidance) {
    const p: Record<MlpPartName, Value> = {} as Record<MlpPartName, Value>;
    for (const part of mlpParts(D)) p[part.name] = g.input(part.name, F32, part.shape);
    const x = g.toFloat(g.input('sam', DataType.FLOAT16, ['cells', SAM_CHANNELS]));
    const l1 = normAct(g, g.add(g.matmul(x, p.W1), p.b1), p.g1, p.be1);
    const l2 = normAct(g, g.add(g.matmul(l1.a, p.W2), p.b2), p.g2, p.be2);
    const H = g.add(g.matmul(l2.a, p.W3), p.b3);
    const W = g.input('cellWeights', F32, ['masks', 'cells']);
    const proto = g.matmul(W, H);
    const F = g.input('features', F32, ['pixels', D]);
    const Z = g.matmulTB(proto, F);
    const Y = g.toFloat(g.input('targets', DataType.UINT8, ['masks', 'pixels']));
    // softplus(z) - y z, stably: relu(z) + log(1 + exp(-|z|)) - y z.
    const bce = g.sub(g.add(g.relu(Z), g.log(g.add(g.constant(1), g.exp(g.neg(g.abs(Z)))))), g.mul(Y, Z));
    g.output(g.meanAll(bce), 'lossGuidance', F32, []);
    const dZ = g.mul(g.sub(g.sigmoid(Z), Y), g.input('guidanceScale', F32, []));
    g.output(g.matmulTA(dZ, proto), 'dFeatures', F32, ['pixels', D]);
    const dH = g.matmulTA(W, g.matmul(dZ, F));
    g.output(g.matmulTA(l2.a, dH), 'dW3', F32, [MLP_HIDDEN, D]);
    g.output(g.sum(dH, [0], false), 'db3', F32, [D]);
    const b2 = normActBack(g, l2, g.matmulTB(dH, p.W3), p.g2);
    g.output(b2.dGamma, 'dg2', F32, [MLP_HIDDEN]);
    g.output(b2.dBeta, 'dbe2', F32, [MLP_HIDDEN]);
    g.output(g.matmulTA(l1.a, b2.dz), 'dW2', F32, [MLP_HIDDEN, MLP_HIDDEN]);
    g.output(g.sum(b2.dz, [0], false), 'db2', F32, [MLP_HIDDEN]);
    const b1 = normActBack(g, l1, g.matmulTB(b2.dz, p.W2), p.g1);
    g.output(b1.dGamma, 'dg1', F32, [MLP_HIDDEN]);
    g.output(b1.dBeta, 'dbe1', F32, [MLP_HIDDEN]);
    g.output(g.matmulTA(x, b1.dz), 'dW1', F32, [SAM_CHANNELS, MLP_HIDDEN]);
    g.output(g.sum(b1.dz, [0], false), 'db1', F32, [MLP_HIDDEN]);
  }
  if (options.correspondence) {
    const Fs = g.input('corrFeatures', F32, ['corrPixels', D]);
    const B = g.toFloat(g.input('membership', DataType.UINT8, ['corrPixels', 'corrMasks']));
    const norm = g.sqrt(g.add(g.sum(g.mul(Fs, Fs), [1]), g.constant(NORM_EPS)));
    const U = g.div(Fs, norm);
    const cos = g.matmulTB(U, U);
    const inter = g.matmulTB(B, B);
    const count = g.sum(B, [1]);
    const union = g.sub(g.add(count, g.transpose(count)), inter);
    const T = g.where(g.greater(inter, g.constant(0)), g.div(inter, g.op('Max', [union, g.constant(1)])), g.constant(-1));
    g.output(g.neg(g.meanAll(g.mul(T, g.relu(cos)))), 'lossCorr', F32, []);
    // dL/dcos = -T [cos > 0] lambda / S^2; symmetric, so dU = 2 dcos U.
    const active = g.toFloat(g.greater(cos, g.constant(0)));
    const dCos = g.mul(g.neg(g.mul(T, active)), g.input('corrScale', F32, []));
    const dU = g.mul(g.matmul(dCos, U), g.constant(2));
    const dot = g.sum(g.mul(U, dU), [1]);
    g.output(g.div(g.sub(dU, g.mul(U, dot)), norm), 'dCorrFeatures', F32, ['corrPixels', D]);
  }
  return g.encode();
}

/** A loaded step graph; `run` computes one step's losses and gradients. */
export class StepGraph {
  private constructor(
    private readonly session: ort.InferenceSession,
    readonly options: StepGraphOptions,
  ) {}

  /** `threads`: onnxruntime's intra-op threads (the same count gives the same results). */
  static async create(options: StepGraphOptions, threads: number): Promise<StepGraph> {
    if (!options.guidance && !options.correspondence) {
      throw new SagaError('BAD_ARGUMENT', 'Training needs at least one loss: do not switch off both the guidance and the correspondence loss.');
    }
    const session = await ort.InferenceSession.create(buildStepGraph(options), {
      executionProviders: ['cpu'],
      intraOpNumThreads: threads,
      interOpNumThreads: 1,
      executionMode: 'sequential',
      graphOptimizationLevel: 'all',
    });
    return new StepGraph(session, options);
  }

  async run(x: StepInputs): Promise<StepOutputs> {
    const { dim: D } = this.options;
    const feeds: Record<string, ort.Tensor> = {};
    if (this.options.guidance) {
      const { sam, cells, cellWeights, masks, features, targets, pixels, params } = x;
      if (!sam || !cells || !cellWeights || !masks || !features || !targets || !pixels || !params) {
        throw new SagaError('INTERNAL', 'A guidance step needs SAM features, cell weights, features, targets and parameters.');
      }
      feeds.sam = new ort.Tensor('float16', sam, [cells, SAM_CHANNELS]);
      feeds.cellWeights = new ort.Tensor('float32', cellWeights, [masks, cells]);
      feeds.features = new ort.Tensor('float32', features, [pixels, D]);
      feeds.targets = new ort.Tensor('uint8', targets, [masks, pixels]);
      feeds.guidanceScale = new ort.Tensor('float32', Float32Array.of(1 / (masks * pixels)), []);
      for (const part of mlpParts(D)) feeds[part.name] = new ort.Tensor('float32', params.subarray(part.offset, part.offset + part.length), part.shape);
    }
    if (this.options.correspondence) {
      const { corrFeatures, membership, corrPixels } = x;
      if (!corrFeatures || !membership || !corrPixels) throw new SagaError('INTERNAL', 'A correspondence step needs features and mask memberships.');
      feeds.corrFeatures = new ort.Tensor('float32', corrFeatures, [corrPixels, D]);
      feeds.membership = new ort.Tensor('uint8', membership, [corrPixels, membership.length / corrPixels]);
      feeds.corrScale = new ort.Tensor('float32', Float32Array.of(x.lambda / (corrPixels * corrPixels)), []);
    }
    const out = await this.session.run(feeds);
    const value = (name: string) => out[name]!.data as Float32Array;
    const result: StepOutputs = { lossGuidance: 0, lossCorr: 0 };
    if (this.options.guidance) {
      result.lossGuidance = value('lossGuidance')[0]!;
      result.dFeatures = value('dFeatures');
      const dParams = new Float32Array(x.params!.length);
      for (const part of mlpParts(D)) dParams.set(value(`d${part.name}`), part.offset);
      result.dParams = dParams;
    }
    if (this.options.correspondence) {
      result.lossCorr = value('lossCorr')[0]!;
      result.dCorrFeatures = value('dCorrFeatures');
    }
    return result;
  }

  async close(): Promise<void> {
    await this.session.release();
  }
}
