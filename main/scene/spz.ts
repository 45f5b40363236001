/**
 * Niantic `.spz` (versions 2 to 4, one gzip stream): a 16-byte header (magic 'NGSP', version,
 * count, SH degree, fractional bits, flags) then attribute blocks: positions (24-bit fixed point),
 * alphas, colours, scales, rotations (v2: first three bytes xyz; v3+: smallest-three in 32 bits)
 * and SH (coefficient-major, channel-inner).
 *
 * SPZ stores right-up-back (RUB, OpenGL) axes while 3DGS PLY uses right-down-front (RDF, OpenCV):
 * converting flips y and z of positions, the quaternion's y and z, and the SH coefficients whose
 * basis function is odd in y or z — the same flips the reference library (nianticlabs/spz) applies.
 */
import { gunzipSync, gzipSync } from 'node:zlib';
import { SagaError } from '../contract/errors.ts';
import { type GaussianScene, type ShDegree, createScene, shRestPerChannel, sigmoid } from './gaussians.ts';
import { alphaByteToLogit } from './compressed-ply.ts';
import { type ReadOptions, checkSplatCount, where } from './read-options.ts';

const SPZ_MAGIC = 0x5053474e; // 'NGSP' little endian
const HEADER_BYTES = 16;
const FLAG_ANTIALIASED = 0x1;
const FLAG_EXTENSIONS = 0x2;
/** The SPZ reference loader refuses more points than this; so do we (it also bounds gunzip output). */
const MAX_SPZ_POINTS = 10_000_000;
const COLOR_SCALE = 0.15;

/** Per-axis sign changes between RUB and RDF (x kept, y and z flipped). */
const FLIP = { x: 1, y: -1, z: -1 } as const;
const FLIP_POS = [FLIP.x, FLIP.y, FLIP.z];
/** Quaternion x, y, z signs: a reflection pair acts on the vector part as (y*z, x*z, x*y). */
const FLIP_QUAT = [FLIP.y * FLIP.z, FLIP.x * FLIP.z, FLIP.x * FLIP.y];
/** Sign of each real SH basis function (degree 1..3, 15 per channel) under the axis flips. */
const FLIP_SH = (() => {
  const { x, y, z } = FLIP;
  return [y, z, x, x * y, y * z, 1, x * z, 1, y, x * y * z, y, z, x, z, x];
})();

export function isGzip(bytes: Uint8Array): boolean {
  return bytes.length >= 2 && bytes[0] === 0x1f && bytes[1] === 0x8b;
}

function inflate(bytes: Uint8Array, path: string | undefined): Uint8Array {
  try {
    return gunzipSync(bytes, { maxOutputLength: HEADER_BYTES + MAX_SPZ_POINTS * 65 + (1 << 20) });
  } catch (e) {
    const code = e instanceof Error && 'code' in e ? String(e.code) : '';
    if (code === 'ERR_BUFFER_TOO_LARGE' || e instanceof RangeError) {
      throw new SagaError('TOO_LARGE', `${where(path)}the .spz file unpacks to more data than ${MAX_SPZ_POINTS.toLocaleString('en-US')} Gaussians can hold. It is corrupt or too large for this app.`, { path });
    }
    const message = e instanceof Error ? e.message : String(e);
    if (/unexpected end/i.test(message)) {
      throw new SagaError('TRUNCATED', `${where(path)}the .spz file is truncated (its compressed data ends early). Copy or download it again.`, { path });
    }
    throw new SagaError('BAD_HEADER', `${where(path)}the .spz file's compressed data is corrupt (${message}). Copy or export it again.`, { path });
  }
}

/** Decodes a `.spz` held in memory into a scene in PLY (RDF) axes. */
export function decodeSpz(bytes: Uint8Array, options: ReadOptions | undefined, path: string | undefined): GaussianScene {
  if (!isGzip(bytes)) {
    const dv0 = new DataView(bytes.buffer, bytes.byteOffset, bytes.length);
    if (bytes.length >= 8 && dv0.getUint32(0, true) === SPZ_MAGIC) {
      throw new SagaError('UNSUPPORTED_FORMAT', `${where(path)}this .spz uses the newer uncompressed-header container (version ${dv0.getUint32(4, true)}, ZSTD streams), which this app cannot read yet. Export it as a gzip .spz (version 2 or 3) or as a PLY.`, { path });
    }
    throw new SagaError('BAD_HEADER', `${where(path)}this is not a .spz file (no gzip signature). Check the file and its extension.`, { path });
  }
  const data = inflate(bytes, path);
  if (data.length < HEADER_BYTES) {
    throw new SagaError('TRUNCATED', `${where(path)}the .spz data is shorter than its 16-byte header. Copy or export the file again.`, { path });
  }
  const dv = new DataView(data.buffer, data.byteOffset, data.length);
  if (dv.getUint32(0, true) !== SPZ_MAGIC) {
    throw new SagaError('BAD_HEADER', `${where(path)}the unpacked .spz does not start with the 'NGSP' magic. It is not a Niantic .spz file.`, { path });
  }
  const version = dv.getUint32(4, true);
  const n = dv.getUint32(8, true);
  const shDegree = dv.getUint8(12);
  const fractionalBits = dv.getUint8(13);
  const flags = dv.getUint8(14);
  if (version < 2 || version > 4) {
    throw new SagaError('UNSUPPORTED_FORMAT', `${where(path)}.spz version ${version} is not supported (versions 2 to 4 are). Re-export it with a current SPZ tool.`, { path, version });
  }
  if (shDegree > 3) {
    throw new SagaError('UNSUPPORTED_FORMAT', `${where(path)}the .spz has SH degree ${shDegree}; this app handles degrees 0 to 3. Re-export it with SH degree 3 or less.`, { path, shDegree });
  }
  if (flags & FLAG_EXTENSIONS) {
    throw new SagaError('UNSUPPORTED_FORMAT', `${where(path)}the .spz uses format extensions (such as custom SH quantisation) that this app cannot read yet. Export it without extensions or as a PLY.`, { path });
  }
  if (fractionalBits > 23) {
    throw new SagaError('BAD_HEADER', `${where(path)}the .spz declares ${fractionalBits} fractional position bits (at most 23 fit in 24 bits). The file is corrupt.`, { path });
  }
  if (n > MAX_SPZ_POINTS) {
    throw new SagaError('TOO_LARGE', `${where(path)}the .spz declares ${n.toLocaleString('en-US')} Gaussians, more than the ${MAX_SPZ_POINTS.toLocaleString('en-US')} the format allows. The file is corrupt.`, { path });
  }
  const perChannel = shRestPerChannel(shDegree as ShDegree);
  const rotBytes = version >= 3 ? 4 : 3;
  const expected = HEADER_BYTES + n * (9 + 1 + 3 + 3 + rotBytes + perChannel * 3);
  if (data.length < expected) {
    throw new SagaError('TRUNCATED', `${where(path)}the .spz declares ${n.toLocaleString('en-US')} Gaussians but holds only ${data.length.toLocaleString('en-US')} of the ${expected.toLocaleString('en-US')} bytes they need. Copy or export it again.`, { path });
  }
  if (data.length > expected) {
    throw new SagaError('SIZE_MISMATCH', `${where(path)}the .spz holds ${(data.length - expected).toLocaleString('en-US')} bytes more than its ${n.toLocaleString('en-US')} Gaussians need. The header count is wrong or the file is corrupt.`, { path });
  }
  checkSplatCount(n, options, path);

  const scene = createScene(n, shDegree as ShDegree);
  const { positions, scales, rotations, opacities, sh0, shRest } = scene;
  let off = HEADER_BYTES;
  const posOff = off; off += n * 9;
  const alphaOff = off; off += n;
  const colorOff = off; off += n * 3;
  const scaleOff = off; off += n * 3;
  const rotOff = off; off += n * rotBytes;
  const shOff = off;
  const posScale = 1 / (1 << fractionalBits);
  for (let i = 0; i < n * 3; i++) {
    const b = posOff + i * 3;
    let fixed = data[b]! | (data[b + 1]! << 8) | (data[b + 2]! << 16);
    if (fixed & 0x800000) fixed |= ~0xffffff; // sign-extend 24 bits
    positions[i] = FLIP_POS[i % 3]! * fixed * posScale;
  }
  for (let i = 0; i < n * 3; i++) scales[i] = data[scaleOff + i]! / 16 - 10;
  for (let i = 0; i < n; i++) opacities[i] = alphaByteToLogit(data[alphaOff + i]!);
  for (let i = 0; i < n * 3; i++) sh0[i] = (data[colorOff + i]! / 255 - 0.5) / COLOR_SCALE;
  const q = [0, 0, 0, 0]; // x y z w, the SPZ order
  for (let i = 0; i < n; i++) {
    if (rotBytes === 3) {
      const b = rotOff + i * 3;
      q[0] = data[b]! / 127.5 - 1;
      q[1] = data[b + 1]! / 127.5 - 1;
      q[2] = data[b + 2]! / 127.5 - 1;
      q[3] = Math.sqrt(Math.max(0, 1 - (q[0]! * q[0]! + q[1]! * q[1]! + q[2]! * q[2]!)));
    } else {
      let comp = dv.getUint32(rotOff + i * 4, true);
      const largest = comp >>> 30;
      let sum = 0;
      for (let j = 3; j >= 0; j--) {
        if (j === largest) continue;
        const mag = comp & 511;
        const negative = (comp >>> 9) & 1;
        comp >>>= 10;
        const v = (Math.SQRT1_2 * mag) / 511;
        q[j] = negative ? -v : v;
        sum += v * v;
      }
      q[largest] = Math.sqrt(Math.max(0, 1 - sum));
    }
    rotations[i * 4] = q[3]!;
    rotations[i * 4 + 1] = FLIP_QUAT[0]! * q[0]!;
    rotations[i * 4 + 2] = FLIP_QUAT[1]! * q[1]!;
    rotations[i * 4 + 3] = FLIP_QUAT[2]! * q[2]!;
  }
  if (perChannel > 0) {
    const restStride = perChannel * 3;
    for (let i = 0; i < n; i++) {
      const src = shOff + i * restStride;
      const dst = i * restStride;
      for (let j = 0; j < perChannel; j++) {
        const sign = FLIP_SH[j]!;
        for (let c = 0; c < 3; c++) {
          shRest[dst + c * perChannel + j] = (sign * (data[src + j * 3 + c]! - 128)) / 128;
        }
      }
    }
  }
  scene.source = { format: 'spz', path, antialiased: (flags & FLAG_ANTIALIASED) !== 0 };
  return scene;
}

function toUint8(x: number): number {
  return x >= 255 ? 255 : x > 0 ? Math.round(x) : 0;
}

function quantizeSh(x: number, bucket: number): number {
  let q = Math.round(x * 128) + 128;
  q = Math.floor((q + bucket / 2) / bucket) * bucket;
  return q < 0 ? 0 : q > 255 ? 255 : q;
}

/**
 * Encodes a scene as a version 3 `.spz` (gzip; smallest-three rotations; 5-bit degree-1 and 4-bit
 * higher SH buckets, the reference encoder's defaults). Extras are dropped by the format.
 */
export function encodeSpz(scene: GaussianScene): Uint8Array {
  const n = scene.count;
  if (n === 0) throw new SagaError('EMPTY_SCENE', 'The scene has no Gaussians left to save. Undo the deletion or keep at least one splat.');
  if (n > MAX_SPZ_POINTS) throw new SagaError('TOO_LARGE', `A .spz file holds at most ${MAX_SPZ_POINTS.toLocaleString('en-US')} Gaussians; this scene has ${n.toLocaleString('en-US')}. Save it as a PLY instead.`);
  const perChannel = shRestPerChannel(scene.shDegree);
  const restStride = perChannel * 3;
  const fractionalBits = 12;
  const out = new Uint8Array(HEADER_BYTES + n * (9 + 1 + 3 + 3 + 4 + restStride));
  const dv = new DataView(out.buffer);
  dv.setUint32(0, SPZ_MAGIC, true);
  dv.setUint32(4, 3, true);
  dv.setUint32(8, n, true);
  out[12] = scene.shDegree;
  out[13] = fractionalBits;
  out[14] = scene.source?.antialiased ? FLAG_ANTIALIASED : 0;
  let off = HEADER_BYTES;
  const posOff = off; off += n * 9;
  const alphaOff = off; off += n;
  const colorOff = off; off += n * 3;
  const scaleOff = off; off += n * 3;
  const rotOff = off; off += n * 4;
  const shOff = off;
  const limit = (1 << 23) - 1;
  for (let i = 0; i < n * 3; i++) {
    let fixed = Math.round(FLIP_POS[i % 3]! * scene.positions[i]! * (1 << fractionalBits));
    // Out-of-range or NaN positions clamp instead of wrapping around to the other side.
    fixed = fixed > limit ? limit : fixed < -limit ? -limit : fixed || 0;
    const b = posOff + i * 3;
    out[b] = fixed & 0xff;
    out[b + 1] = (fixed >> 8) & 0xff;
    out[b + 2] = (fixed >> 16) & 0xff;
  }
  for (let i = 0; i < n * 3; i++) out[scaleOff + i] = toUint8((scene.scales[i]! + 10) * 16);
  for (let i = 0; i < n; i++) out[alphaOff + i] = toUint8(sigmoid(scene.opacities[i]!) * 255);
  for (let i = 0; i < n * 3; i++) out[colorOff + i] = toUint8(scene.sh0[i]! * (COLOR_SCALE * 255) + 0.5 * 255);
  const q = [0, 0, 0, 0];
  for (let i = 0; i < n; i++) {
    const r = scene.rotations;
    const w = r[i * 4]!, x = r[i * 4 + 1]!, y = r[i * 4 + 2]!, z = r[i * 4 + 3]!;
    const len = Math.hypot(w, x, y, z) || 1;
    q[0] = (FLIP_QUAT[0]! * x) / len;
    q[1] = (FLIP_QUAT[1]! * y) / len;
    q[2] = (FLIP_QUAT[2]! * z) / len;
    q[3] = w / len;
    let largest = 0;
    for (let j = 1; j < 4; j++) if (Math.abs(q[j]!) > Math.abs(q[largest]!)) largest = j;
    const negate = q[largest]! < 0 ? 1 : 0;
    let comp = largest;
    for (let j = 0; j < 4; j++) {
      if (j === largest) continue;
      const negbit = (q[j]! < 0 ? 1 : 0) ^ negate;
      const mag = Math.min(511, Math.floor((511 * Math.abs(q[j]!)) / Math.SQRT1_2 + 0.5));
      comp = (comp << 10) | (negbit << 9) | mag;
    }
    dv.setUint32(rotOff + i * 4, comp >>> 0, true);
  }
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < perChannel; j++) {
      const bucket = j < 3 ? 8 : 16;
      const sign = FLIP_SH[j]!;
      for (let c = 0; c < 3; c++) {
        out[shOff + i * restStride + j * 3 + c] = quantizeSh(sign * scene.shRest[i * restStride + c * perChannel + j]!, bucket);
      }
    }
  }
  return gzipSync(out);
}
