/**
 * The Gaussian scene model: a structure of arrays, one row per Gaussian. Row i is the i-th vertex
 * of the source file; code that reorders rows must keep the permutation.
 */

export type ShDegree = 0 | 1 | 2 | 3;

/** Scalar types of PLY properties, by their canonical PLY names. */
export type PlyScalarType = 'char' | 'uchar' | 'short' | 'ushort' | 'int' | 'uint' | 'float' | 'double';

export type ScalarArray =
  | Int8Array
  | Uint8Array
  | Int16Array
  | Uint16Array
  | Int32Array
  | Uint32Array
  | Float32Array
  | Float64Array;

/** A per-Gaussian property the model has no field for (normals, feature vectors, labels...), kept by name. */
export interface ExtraProperty {
  name: string;
  type: PlyScalarType;
  data: ScalarArray;
}

export type SceneFormat = 'ply' | 'compressed-ply' | 'splat' | 'spz';

export interface GaussianScene {
  count: number;
  /** x, y, z per Gaussian (3N). */
  positions: Float32Array;
  /** Log of the per-axis standard deviations (3N), as 3DGS stores them. */
  scales: Float32Array;
  /** Quaternion w, x, y, z per Gaussian (4N), as stored (may be unnormalised). */
  rotations: Float32Array;
  /** Opacity logits (N): alpha = sigmoid(opacity). */
  opacities: Float32Array;
  shDegree: ShDegree;
  /** Degree-0 SH coefficients r, g, b (3N): colour = 0.5 + SH_C0 * sh0. */
  sh0: Float32Array;
  /**
   * Higher-order SH coefficients, N * 3 * (shCoeffsPerChannel(shDegree)) floats, per Gaussian in the
   * INRIA `f_rest_*` order: all red coefficients, then green, then blue.
   */
  shRest: Float32Array;
  extras: ExtraProperty[];
  /** Where the scene came from; writers may use `plyProperties` to reproduce the source layout. */
  source?: {
    format: SceneFormat;
    path?: string;
    /** The PLY vertex properties in file order, when read from an INRIA PLY. */
    plyProperties?: { name: string; type: PlyScalarType }[];
    /** Set when read with `nonFinite: 'report'`: Gaussians holding NaN/Inf values (firstRow -1 if none). */
    nonFinite?: { count: number; firstRow: number };
    /** SPZ only: the scene was trained with antialiasing (Mip-Splatting style). */
    antialiased?: boolean;
  };
}

/** Zeroth-order SH basis constant: colour = 0.5 + SH_C0 * f_dc. */
export const SH_C0 = 0.28209479177387814;

/** Number of non-DC SH coefficients per colour channel for a degree. */
export function shRestPerChannel(degree: ShDegree): number {
  return (degree + 1) * (degree + 1) - 1;
}

/** The SH degree implied by a count of non-DC coefficients per channel, or undefined if none fits. */
export function shDegreeFromRestPerChannel(n: number): ShDegree | undefined {
  switch (n) {
    case 0: return 0;
    case 3: return 1;
    case 8: return 2;
    case 15: return 3;
    default: return undefined;
  }
}

/** An empty-valued scene of `count` Gaussians with the given SH degree (unit quaternions). */
export function createScene(count: number, shDegree: ShDegree = 0): GaussianScene {
  const rotations = new Float32Array(count * 4);
  for (let i = 0; i < count; i++) rotations[i * 4] = 1;
  return {
    count,
    positions: new Float32Array(count * 3),
    scales: new Float32Array(count * 3),
    rotations,
    opacities: new Float32Array(count),
    shDegree,
    sh0: new Float32Array(count * 3),
    shRest: new Float32Array(count * 3 * shRestPerChannel(shDegree)),
    extras: [],
  };
}

export function sigmoid(x: number): number {
  return 1 / (1 + Math.exp(-x));
}

export function logit(p: number): number {
  return Math.log(p / (1 - p));
}

/** Axis-aligned bounds of the Gaussian centres. */
export function sceneBounds(scene: GaussianScene): { min: [number, number, number]; max: [number, number, number] } {
  const min: [number, number, number] = [Infinity, Infinity, Infinity];
  const max: [number, number, number] = [-Infinity, -Infinity, -Infinity];
  const p = scene.positions;
  for (let i = 0; i < scene.count; i++) {
    for (let a = 0; a < 3; a++) {
      const v = p[i * 3 + a]!;
      if (v < min[a]!) min[a] = v;
      if (v > max[a]!) max[a] = v;
    }
  }
  return { min, max };
}
