/**
 * Scenes for the rasterizer tests: a tiny reader for INRIA binary PLYs (float properties only),
 * so these tests do not depend on the full scene readers, and a seeded synthetic scene.
 */
import { readFileSync } from 'node:fs';
import { mulberry32 } from '../../common/random.ts';
import { createScene, type GaussianScene } from '../../scene/gaussians.ts';

export function readInriaPlyForTest(path: string): GaussianScene {
  const bytes = readFileSync(path);
  const headerEnd = bytes.indexOf('end_header\n');
  if (headerEnd < 0) throw new Error(`${path}: no PLY header`);
  const header = bytes.subarray(0, headerEnd).toString('latin1').split('\n');
  const count = Number(/element vertex (\d+)/.exec(header.join('\n'))![1]);
  const names = header.filter((l) => l.startsWith('property float ')).map((l) => l.slice('property float '.length).trim());
  const stride = names.length;
  const data = new Float32Array(bytes.buffer.slice(bytes.byteOffset + headerEnd + 11, bytes.byteOffset + headerEnd + 11 + count * stride * 4));
  const col = (n: string) => names.indexOf(n);
  const rest = names.filter((n) => n.startsWith('f_rest_')).length;
  const degree = rest === 45 ? 3 : rest === 24 ? 2 : rest === 9 ? 1 : 0;
  const scene = createScene(count, degree);
  for (let i = 0; i < count; i++) {
    const row = i * stride;
    for (let a = 0; a < 3; a++) {
      scene.positions[3 * i + a] = data[row + col('xyz'[a]!)]!;
      scene.scales[3 * i + a] = data[row + col(`scale_${a}`)]!;
      scene.sh0[3 * i + a] = data[row + col(`f_dc_${a}`)]!;
    }
    for (let a = 0; a < 4; a++) scene.rotations[4 * i + a] = data[row + col(`rot_${a}`)]!;
    scene.opacities[i] = data[row + col('opacity')]!;
    for (let k = 0; k < rest; k++) scene.shRest[i * rest + k] = data[row + col(`f_rest_${k}`)]!;
  }
  return scene;
}

/** A random blob of `count` Gaussians in a unit-ish ball with SH degree `degree`. */
export function syntheticScene(count: number, seed = 1, degree: 0 | 1 | 2 | 3 = 3): GaussianScene {
  const rnd = mulberry32(seed);
  const scene = createScene(count, degree);
  const rest = scene.shRest.length / Math.max(1, count);
  for (let i = 0; i < count; i++) {
    for (let a = 0; a < 3; a++) {
      scene.positions[3 * i + a] = (rnd() * 2 - 1) * 1.0;
      scene.scales[3 * i + a] = Math.log(0.01 + 0.06 * rnd());
      scene.sh0[3 * i + a] = (rnd() * 2 - 1) * 1.5;
    }
    for (let a = 0; a < 4; a++) scene.rotations[4 * i + a] = rnd() * 2 - 1;
    scene.opacities[i] = (rnd() * 2 - 1) * 3;
    for (let k = 0; k < rest; k++) scene.shRest[i * rest + k] = (rnd() * 2 - 1) * 0.3;
  }
  return scene;
}

export function randomFeatures(count: number, dim: number, seed = 7): Float32Array {
  const rnd = mulberry32(seed);
  return Float32Array.from({ length: count * dim }, () => rnd() * 2 - 1);
}

/** Largest |a - b| over two arrays of the same length (tests hold GPU results to the reference with it). */
export function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`Lengths differ: ${a.length} vs ${b.length}`);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

/** Largest |a - b| relative to the largest |b| (gradients span orders of magnitude, so per-element ratios blow up near 0). */
export function relativeError(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let scale = 0;
  for (let i = 0; i < b.length; i++) scale = Math.max(scale, Math.abs(b[i]!));
  return maxAbsDiff(a, b) / scale;
}
