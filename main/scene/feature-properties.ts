/**
 * Per-Gaussian feature vectors as extra PLY properties: `f_feat_0 .. f_feat_{D-1}` (floats), as the
 * official SAGA code's contrastive_feature_point_cloud.ply stores them. Written by export-features
 * and saving with features; read by `render --features pca` (which also accepts feat_* names).
 */
import type { GaussianScene } from './gaussians.ts';

const FEATURE_NAME = /^(?:f_)?feat(?:ure)?_(\d+)$/;

/** Whether a PLY property holds a feature channel (f_feat_k, feat_k, feature_k). */
export function isFeatureProperty(name: string): boolean {
  return FEATURE_NAME.test(name);
}

export function featurePropertyName(channel: number): string {
  return `f_feat_${channel}`;
}

/** The scene's feature properties as N x D row-major floats, ordered by channel; undefined when it has none. */
export function sceneFeatures(scene: GaussianScene): { features: Float32Array; dim: number } | undefined {
  const props = scene.extras
    .map((e) => ({ e, m: FEATURE_NAME.exec(e.name) }))
    .filter((x) => x.m)
    .sort((a, b) => Number(a.m![1]) - Number(b.m![1]));
  if (props.length === 0) return undefined;
  const dim = props.length;
  const features = new Float32Array(scene.count * dim);
  props.forEach(({ e }, c) => {
    for (let i = 0; i < scene.count; i++) features[i * dim + c] = Number(e.data[i]);
  });
  return { features, dim };
}

/**
 * The scene with `features` (N x D row-major) as its feature properties, replacing any it had; the
 * other properties are shared, not copied.
 */
export function withFeatureProperties(scene: GaussianScene, features: Float32Array, dim: number): GaussianScene {
  const n = scene.count;
  const channels = Array.from({ length: dim }, (_, c) => {
    const data = new Float32Array(n);
    for (let i = 0; i < n; i++) data[i] = features[i * dim + c]!;
    return { name: featurePropertyName(c), type: 'float' as const, data };
  });
  return { ...scene, extras: [...scene.extras.filter((e) => !isFeatureProperty(e.name)), ...channels] };
}
