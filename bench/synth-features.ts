/**
 * What the segmentation benches need of a generated scene (main/engine/synth): features that look
 * trained (a unit vector per object, a smaller one per part, noise), and clicks a user would make
 * (a random object's Gaussian, where it projects in a random camera).
 */
import type { Mulberry32 } from '../main/common/random.ts';
import type { SynthTruth } from '../main/engine/synth/generate.ts';
import type { GaussianScene } from '../main/scene/gaussians.ts';
import { normalizeRows } from '../main/engine/segment/kmeans.ts';
import type { Camera } from '../main/scene/camera.ts';

/** Raw (not unit) trained-like features, count x dim. */
export function trainedLikeFeatures(truth: SynthTruth, dim: number, random: Mulberry32): Float32Array {
  const count = truth.objectIds.length;
  const objects = truth.objects.length + 1;
  const parts = truth.partIds.reduce((a, b) => Math.max(a, b), 0) + 1;
  const objectFeature = normalizeRows(Float32Array.from({ length: objects * dim }, () => random.normal()), dim);
  const partFeature = Float32Array.from({ length: parts * dim }, () => random.normal() * 0.35);
  const features = new Float32Array(count * dim);
  for (let g = 0; g < count; g++) {
    const o = truth.objectIds[g]!;
    const p = truth.partIds[g]!;
    for (let k = 0; k < dim; k++) features[g * dim + k] = objectFeature[o * dim + k]! + partFeature[p * dim + k]! + 0.15 * random.normal();
  }
  return features;
}

/** A click on an object (not the floor), seen from one of `cameras`. */
export function objectClicker(scene: GaussianScene, truth: SynthTruth, cameras: readonly Camera[], random: Mulberry32): () => { camera: Camera; x: number; y: number } {
  const byObject = new Map<number, number[]>();
  for (let g = 0; g < scene.count; g++) {
    const o = truth.objectIds[g]!;
    if (o > 0) (byObject.get(o) ?? byObject.set(o, []).get(o)!).push(g);
  }
  const objectIds = [...byObject.keys()];
  return () => {
    for (;;) {
      const camera = cameras[random.below(cameras.length)]!;
      const members = byObject.get(objectIds[random.below(objectIds.length)]!)!;
      const g = members[random.below(members.length)]!;
      const R = camera.rotation, t = camera.translation;
      const px = scene.positions[3 * g]!, py = scene.positions[3 * g + 1]!, pz = scene.positions[3 * g + 2]!;
      const z = R[6]! * px + R[7]! * py + R[8]! * pz + t[2]!;
      const x = (camera.fx * (R[0]! * px + R[1]! * py + R[2]! * pz + t[0]!)) / z + camera.cx;
      const y = (camera.fy * (R[3]! * px + R[4]! * py + R[5]! * pz + t[1]!)) / z + camera.cy;
      if (z > 0.2 && x >= 0 && y >= 0 && x < camera.width && y < camera.height) return { camera, x, y };
    }
  };
}
