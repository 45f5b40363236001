/**
 * SAGA's two training losses (the paper's equations 5 to 10), as plain float64 loops: the reference
 * the training step's onnxruntime graph (step-graph.ts) is held to, and what the tests take finite
 * differences of. Conventions, fixed once here:
 *
 * SAM-guidance loss. For each mask k of the view, the prototype is the masked average of the
 * projected SAM features: proto_k = sum_c W[k, c] H[c], where H = phi(SAM features) per SAM grid
 * cell and W[k, c] is the share of mask k's pixels that fall in cell c (so each mask pixel takes the
 * feature of its cell: nearest upsampling of H to the mask grid). Each sampled pixel p of the
 * rendered feature map F gets the logit z = proto_k . F_p, and the loss is binary cross-entropy
 * with logits against the mask, averaged over masks and pixels:
 *   L_guidance = mean_{k,p} [ softplus(z) - y z ],  dL/dz = (sigmoid(z) - y) / (K P).
 * (The official code computes log(sigmoid + 1e-8); the logits form is the stable equivalent.)
 *
 * Correspondence loss. For sampled pixels i, j the target is the IoU of their mask sets,
 * |M_i & M_j| / |M_i | M_j|, and -1 where they share no mask (also where a pixel is in no mask);
 * the score is relu(cos(F_i, F_j)) as in the official code (the literal cosine collapsed small
 * objects' features in an independent implementation, see DESIGN.md):
 *   L_corr = -mean_{i,j} T_ij relu(cos_ij),  cos with norms sqrt(|F|^2 + 1e-12).
 * Both sums include i = j, as the official code's full matrix does.
 */

export const NORM_EPS = 1e-12;

export interface GuidanceInput {
  /** Projected SAM features per cell (C x D). */
  H: ArrayLike<number>;
  /** Mask-to-cell weights (K x C), each row summing to 1. */
  cellWeights: ArrayLike<number>;
  /** Rendered features at the sampled pixels (P x D). */
  F: ArrayLike<number>;
  /** 0/1 mask value of each mask at each sampled pixel (K x P). */
  targets: ArrayLike<number>;
  K: number;
  C: number;
  P: number;
  D: number;
}

export interface GuidanceResult {
  loss: number;
  /** dL/dH (C x D) and dL/dF (P x D). */
  dH: Float64Array;
  dF: Float64Array;
  /** The prototypes (K x D), for inspection. */
  prototypes: Float64Array;
}

export function guidanceLossReference(x: GuidanceInput): GuidanceResult {
  const { K, C, P, D } = x;
  const proto = new Float64Array(K * D);
  for (let k = 0; k < K; k++) {
    for (let c = 0; c < C; c++) {
      const w = x.cellWeights[k * C + c]!;
      if (w === 0) continue;
      for (let d = 0; d < D; d++) proto[k * D + d] = proto[k * D + d]! + w * x.H[c * D + d]!;
    }
  }
  const dProto = new Float64Array(K * D);
  const dF = new Float64Array(P * D);
  let loss = 0;
  const scale = 1 / (K * P);
  for (let k = 0; k < K; k++) {
    for (let p = 0; p < P; p++) {
      let z = 0;
      for (let d = 0; d < D; d++) z += proto[k * D + d]! * x.F[p * D + d]!;
      const y = x.targets[k * P + p]!;
      loss += Math.max(z, 0) + Math.log1p(Math.exp(-Math.abs(z))) - y * z;
      const dz = (1 / (1 + Math.exp(-z)) - y) * scale;
      for (let d = 0; d < D; d++) {
        dProto[k * D + d] = dProto[k * D + d]! + dz * x.F[p * D + d]!;
        dF[p * D + d] = dF[p * D + d]! + dz * proto[k * D + d]!;
      }
    }
  }
  const dH = new Float64Array(C * D);
  for (let k = 0; k < K; k++) {
    for (let c = 0; c < C; c++) {
      const w = x.cellWeights[k * C + c]!;
      if (w === 0) continue;
      for (let d = 0; d < D; d++) dH[c * D + d] = dH[c * D + d]! + w * dProto[k * D + d]!;
    }
  }
  return { loss: loss * scale, dH, dF, prototypes: proto };
}

export interface CorrespondenceInput {
  /** Rendered features at the sampled pixels (S x D). */
  F: ArrayLike<number>;
  /** 0/1: is sampled pixel s in mask k (S x K). */
  membership: ArrayLike<number>;
  S: number;
  K: number;
  D: number;
}

/** The correspondence target of two pixels from their mask memberships (see the file header). */
export function correspondenceTarget(membership: ArrayLike<number>, K: number, i: number, j: number): number {
  let inter = 0;
  let union = 0;
  for (let k = 0; k < K; k++) {
    const a = membership[i * K + k]!;
    const b = membership[j * K + k]!;
    if (a && b) inter++;
    if (a || b) union++;
  }
  return inter > 0 ? inter / union : -1;
}

export function correspondenceLossReference(x: CorrespondenceInput): { loss: number; dF: Float64Array } {
  const { S, K, D } = x;
  const norm = new Float64Array(S);
  const U = new Float64Array(S * D);
  for (let i = 0; i < S; i++) {
    let s = 0;
    for (let d = 0; d < D; d++) s += x.F[i * D + d]! ** 2;
    norm[i] = Math.sqrt(s + NORM_EPS);
    for (let d = 0; d < D; d++) U[i * D + d] = x.F[i * D + d]! / norm[i]!;
  }
  const scale = 1 / (S * S);
  let loss = 0;
  const dU = new Float64Array(S * D);
  for (let i = 0; i < S; i++) {
    for (let j = 0; j < S; j++) {
      let cos = 0;
      for (let d = 0; d < D; d++) cos += U[i * D + d]! * U[j * D + d]!;
      const t = correspondenceTarget(x.membership, K, i, j);
      loss -= t * Math.max(cos, 0);
      if (cos <= 0) continue;
      const g = -t * scale;
      for (let d = 0; d < D; d++) {
        dU[i * D + d] = dU[i * D + d]! + g * U[j * D + d]!;
        dU[j * D + d] = dU[j * D + d]! + g * U[i * D + d]!;
      }
    }
  }
  // Through the normalisation: dF = (dU - U (U . dU)) / norm.
  const dF = new Float64Array(S * D);
  for (let i = 0; i < S; i++) {
    let dot = 0;
    for (let d = 0; d < D; d++) dot += U[i * D + d]! * dU[i * D + d]!;
    for (let d = 0; d < D; d++) dF[i * D + d] = (dU[i * D + d]! - U[i * D + d]! * dot) / norm[i]!;
  }
  return { loss: loss * scale, dF };
}
