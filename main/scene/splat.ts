/**
 * antimatter15 `.splat`: no header, 32 bytes per Gaussian: position (3 x float32), linear scale
 * (3 x float32), RGBA (4 x uint8, colour = 0.5 + SH_C0 * f_dc, alpha = sigmoid(opacity)) and a
 * rotation quaternion w x y z as uint8 (q * 128 + 128). No higher SH: the degree is 0.
 */
import { SagaError } from '../contract/errors.ts';
import { type GaussianScene, SH_C0, createScene, sigmoid } from './gaussians.ts';
import { alphaByteToLogit } from './compressed-ply.ts';
import { type ReadOptions, checkSplatCount, where } from './read-options.ts';

export const SPLAT_RECORD_BYTES = 32;

/** Decodes a whole `.splat` held in memory. */
export function decodeSplat(bytes: Uint8Array, options: ReadOptions | undefined, path: string | undefined): GaussianScene {
  if (bytes.length % SPLAT_RECORD_BYTES !== 0) {
    throw new SagaError(
      'SIZE_MISMATCH',
      `${where(path)}a .splat file is a whole number of 32-byte records, but this one has ${bytes.length.toLocaleString('en-US')} bytes (${bytes.length % SPLAT_RECORD_BYTES} left over). It is truncated or not a .splat file; copy or export it again.`,
      { path, size: bytes.length },
    );
  }
  const n = bytes.length / SPLAT_RECORD_BYTES;
  checkSplatCount(n, options, path);
  const scene = createScene(n, 0);
  const { positions, scales, rotations, opacities, sh0 } = scene;
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
  for (let i = 0; i < n; i++) {
    const o = i * SPLAT_RECORD_BYTES;
    positions[i * 3] = dv.getFloat32(o, true);
    positions[i * 3 + 1] = dv.getFloat32(o + 4, true);
    positions[i * 3 + 2] = dv.getFloat32(o + 8, true);
    scales[i * 3] = Math.log(dv.getFloat32(o + 12, true));
    scales[i * 3 + 1] = Math.log(dv.getFloat32(o + 16, true));
    scales[i * 3 + 2] = Math.log(dv.getFloat32(o + 20, true));
    sh0[i * 3] = (bytes[o + 24]! / 255 - 0.5) / SH_C0;
    sh0[i * 3 + 1] = (bytes[o + 25]! / 255 - 0.5) / SH_C0;
    sh0[i * 3 + 2] = (bytes[o + 26]! / 255 - 0.5) / SH_C0;
    opacities[i] = alphaByteToLogit(bytes[o + 27]!);
    const w = (bytes[o + 28]! - 128) / 128;
    const x = (bytes[o + 29]! - 128) / 128;
    const y = (bytes[o + 30]! - 128) / 128;
    const z = (bytes[o + 31]! - 128) / 128;
    const len = Math.hypot(w, x, y, z);
    // All-128 bytes encode a zero quaternion; the identity is the only sensible reading.
    if (len > 0) {
      rotations[i * 4] = w / len;
      rotations[i * 4 + 1] = x / len;
      rotations[i * 4 + 2] = y / len;
      rotations[i * 4 + 3] = z / len;
    }
  }
  scene.source = { format: 'splat', path };
  return scene;
}

function toByte(v: number): number {
  // NaN maps to 0 rather than poisoning the record.
  return v >= 255 ? 255 : v > 0 ? Math.round(v) : 0;
}

/** Encodes a scene as `.splat` records (row order kept; higher SH and extras are dropped by the format). */
export function encodeSplat(scene: GaussianScene): Uint8Array {
  const n = scene.count;
  if (n === 0) throw new SagaError('EMPTY_SCENE', 'The scene has no Gaussians left to save. Undo the deletion or keep at least one splat.');
  const out = new Uint8Array(n * SPLAT_RECORD_BYTES);
  const dv = new DataView(out.buffer);
  const { positions, scales, rotations, opacities, sh0 } = scene;
  for (let i = 0; i < n; i++) {
    const o = i * SPLAT_RECORD_BYTES;
    dv.setFloat32(o, positions[i * 3]!, true);
    dv.setFloat32(o + 4, positions[i * 3 + 1]!, true);
    dv.setFloat32(o + 8, positions[i * 3 + 2]!, true);
    dv.setFloat32(o + 12, Math.exp(scales[i * 3]!), true);
    dv.setFloat32(o + 16, Math.exp(scales[i * 3 + 1]!), true);
    dv.setFloat32(o + 20, Math.exp(scales[i * 3 + 2]!), true);
    out[o + 24] = toByte((0.5 + SH_C0 * sh0[i * 3]!) * 255);
    out[o + 25] = toByte((0.5 + SH_C0 * sh0[i * 3 + 1]!) * 255);
    out[o + 26] = toByte((0.5 + SH_C0 * sh0[i * 3 + 2]!) * 255);
    out[o + 27] = toByte(sigmoid(opacities[i]!) * 255);
    const w = rotations[i * 4]!, x = rotations[i * 4 + 1]!, y = rotations[i * 4 + 2]!, z = rotations[i * 4 + 3]!;
    const len = Math.hypot(w, x, y, z) || 1;
    out[o + 28] = toByte((w / len) * 128 + 128);
    out[o + 29] = toByte((x / len) * 128 + 128);
    out[o + 30] = toByte((y / len) * 128 + 128);
    out[o + 31] = toByte((z / len) * 128 + 128);
  }
  return out;
}
